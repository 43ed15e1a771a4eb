/*
 * fsrouter.esl._speedups: the form check of a header block, which every FreeSWITCH event
 * a call reads and its connect reply go through, in C. Optional: setup.py builds it when
 * a C compiler is there; fsrouter.esl.headblock keeps the same function in Python
 * (is_regular_head_py) and uses it when this module is not built or FSROUTER_PURE_PYTHON
 * is set. tests/test_esl_speedups.py checks that both answer alike.
 *
 * Why: an event-plain body is ~3 KB of "Name: value" lines. Python checks its form with
 * bytes.translate and two searches, ~3 us a block; a reference call checks five blocks
 * (benchmarks/RESULTS.md). Here it is one pass over the bytes, 16 at a time with SSE2.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#endif

/* The most lines a regular block may have: fsrouter.esl.headblock.REGULAR_MAX_LINES. */
#define REGULAR_MAX_LINES 8193

static const char CONTENT_LENGTH[] = "Content-Length:";

/* Whether p[0:n] holds "Content-Length:" (memmem is not in every C library). */
static int
has_content_length(const unsigned char *p, Py_ssize_t n)
{
    const Py_ssize_t m = sizeof(CONTENT_LENGTH) - 1;
    if (n < m)
        return 0;
    const unsigned char *at = p, *last = p + n - m;
    while (at <= last && (at = memchr(at, 'C', (size_t)(last - at) + 1)) != NULL) {
        if (memcmp(at, CONTENT_LENGTH, (size_t)m) == 0)
            return 1;
        at++;
    }
    return 0;
}

/* Bytes that give a header block its structure: NUL, "\n", " " and ":". */
static unsigned char STRUCTURE[256];

/* One structural byte of a header block, at p[i]: the state it leads to, or -1 when the
 * block is not regular. States: 0 in a name, 1 after its colon, 2 after the space (in
 * the value). *line_start is where the current line began; *lines counts them. */
static inline int
structure_step(int state, unsigned char c, Py_ssize_t i, Py_ssize_t *line_start, Py_ssize_t *lines)
{
    switch (c) {
    case ':':
        return state == 0 && i > *line_start ? 1 : -1;  /* one colon, after a name */
    case ' ':
        return state == 1 ? 2 : -1;  /* one space, after the colon */
    case '\n':
        if (state != 2 || ++*lines > REGULAR_MAX_LINES)
            return -1;
        *line_start = i + 1;
        return 0;
    default:  /* NUL */
        return -1;
    }
}

/* headblock.is_regular_head: every line is "Name: value" with one colon, then one space,
 * in that order; no name is empty; no blank line, no NUL, no "Content-Length:". */
static PyObject *
is_regular_head(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *p = (const unsigned char *)view.buf;
    const Py_ssize_t n = view.len;
    int state = n > 0 && !has_content_length(p, n) ? 0 : -1;
    Py_ssize_t line_start = 0, lines = 1, i = 0;
#if defined(__SSE2__) && defined(__GNUC__)
    /* 16 bytes at a time: a mask of the structural bytes, each handled in order */
    const __m128i newline = _mm_set1_epi8('\n'), space = _mm_set1_epi8(' '), colon = _mm_set1_epi8(':');
    const __m128i nul = _mm_setzero_si128();
    for (; state >= 0 && i + 16 <= n; i += 16) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        unsigned int mask = (unsigned int)_mm_movemask_epi8(_mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, newline), _mm_cmpeq_epi8(v, space)),
            _mm_or_si128(_mm_cmpeq_epi8(v, colon), _mm_cmpeq_epi8(v, nul))));
        while (mask && state >= 0) {
            const Py_ssize_t at = i + __builtin_ctz(mask);
            state = structure_step(state, p[at], at, &line_start, &lines);
            mask &= mask - 1;
        }
    }
#endif
    for (; state >= 0 && i < n; i++)
        if (STRUCTURE[p[i]])
            state = structure_step(state, p[i], i, &line_start, &lines);
    PyBuffer_Release(&view);
    return PyBool_FromLong(state == 2);  /* the last line is whole too */
}

static PyMethodDef methods[] = {
    {"is_regular_head", is_regular_head, METH_O,
     "is_regular_head(head: bytes) -> bool\n\n"
     "True when every line of head is 'Name: value' with exactly one colon and one space\n"
     "(in that order), no name is empty, and there is no blank line, NUL or\n"
     "'Content-Length:'. fsrouter.esl.headblock.is_regular_head_py, in one pass in C."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "fsrouter.esl._speedups",
    "C versions of fsrouter.esl.headblock's header-block scans (optional).", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    STRUCTURE[0] = STRUCTURE['\n'] = STRUCTURE[' '] = STRUCTURE[':'] = 1;
    return PyModule_Create(&module);
}
