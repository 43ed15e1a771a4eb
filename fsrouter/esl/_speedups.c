/*
 * fsrouter.esl._speedups: the two steps of reading FreeSWITCH's byte stream that every
 * frame and every event a call reads go through, in C. Optional: setup.py builds it
 * when a C compiler is there; fsrouter.esl keeps the same steps in Python and uses them
 * when this module is not built or FSROUTER_PURE_PYTHON is set.
 *
 * - is_regular_head: the form check of a header block (headblock.is_regular_head_py).
 *   An event-plain body is ~3 KB of "Name: value" lines; Python checks its form with
 *   bytes.translate and two searches, ~3 us a block; here one pass, 16 bytes at a time
 *   with SSE2, ~0.9 us.
 * - short_frames: FrameParser.feed's fast path, the frames whose head is one of the two
 *   two-line shapes (an event's Content-Length/Content-Type, a reply's
 *   Content-Type/Reply-Text: 13 of a reference call's 16 frames), cut out in a row
 *   without a regular-expression match and four Python calls each.
 *
 * tests/test_esl_speedups.py checks that both give what the Python code gives, on every
 * captured block and stream and on mutations of them (benchmarks/RESULTS.md: gains).
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

/* Whether s[i:size] starts with the string literal lit. */
#define STARTS(s, i, size, lit) \
    ((size) - (i) >= (Py_ssize_t)sizeof(lit) - 1 && memcmp((s) + (i), (lit), sizeof(lit) - 1) == 0)

/* The end of a run of bytes other than "\r", "\n" (and ":" when no_colon) from p[i]. */
static Py_ssize_t
run_end(const unsigned char *p, Py_ssize_t i, Py_ssize_t n, int no_colon)
{
    while (i < n && p[i] != '\n' && p[i] != '\r' && !(no_colon && p[i] == ':'))
        i++;
    return i;
}

/* parser._SHORT_HEAD matched at p[i:]: the end of its head (after the blank line), or -1;
 * ctype_start and ctype_end give its Content-Type value, length the event's
 * Content-Length (-1 for a reply). The two shapes, exactly as the pattern has them:
 *   Content-Length: <1-15 digits>\nContent-Type: <not CR LF :>*\n\n
 *   Content-Type: <not CR LF :>*\nReply-Text: <not CR LF>*\n\n */
static Py_ssize_t
short_head(const unsigned char *p, Py_ssize_t i, Py_ssize_t n, Py_ssize_t *ctype_start,
           Py_ssize_t *ctype_end, long long *length)
{
    if (STARTS(p, i, n, "Content-Length: ")) {
        Py_ssize_t j = i + 16, digits = 0;
        long long value = 0;
        while (j < n && p[j] >= '0' && p[j] <= '9' && digits < 16) {
            value = value * 10 + (p[j] - '0');
            j++;
            digits++;
        }
        if (digits < 1 || digits > 15 || !STARTS(p, j, n, "\nContent-Type: "))
            return -1;
        *ctype_start = j + 15;
        *ctype_end = run_end(p, *ctype_start, n, 1);
        if (!STARTS(p, *ctype_end, n, "\n\n"))
            return -1;
        *length = value;
        return *ctype_end + 2;
    }
    if (STARTS(p, i, n, "Content-Type: ")) {
        *ctype_start = i + 14;
        *ctype_end = run_end(p, *ctype_start, n, 1);
        if (!STARTS(p, *ctype_end, n, "\nReply-Text: "))
            return -1;
        Py_ssize_t text_end = run_end(p, *ctype_end + 13, n, 0);
        if (!STARTS(p, text_end, n, "\n\n"))
            return -1;
        *length = -1;
        return text_end + 2;
    }
    return -1;
}

/* A limit argument as a Py_ssize_t in *value (an int too large for one: PY_SSIZE_T_MAX,
 * which no buffer reaches, so comparisons come out as with the int itself); 0 when it is
 * not an int. */
static int
limit_arg(PyObject *arg, Py_ssize_t *value)
{
    if (!PyLong_Check(arg))
        return 0;
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(arg, &overflow);
    if (overflow > 0 || v > PY_SSIZE_T_MAX)
        *value = PY_SSIZE_T_MAX;
    else if (overflow < 0 || v < -PY_SSIZE_T_MAX)
        *value = -PY_SSIZE_T_MAX;
    else
        *value = (Py_ssize_t)v;
    return 1;
}

/* parser.FrameParser.feed's fast path, for as many frames as it takes in a row. */
static PyObject *
short_frames(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    Py_ssize_t pos, max_header_bytes, max_body_bytes;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "short_frames(buf, pos, max_header_bytes, max_body_bytes)");
        return NULL;
    }
    pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    if (!limit_arg(args[2], &max_header_bytes) || !limit_arg(args[3], &max_body_bytes))
        return Py_BuildValue("([]n)", pos);  /* a limit that is not an int: the Python path decides */
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *p = (const unsigned char *)view.buf;
    const Py_ssize_t n = view.len;
    PyObject *frames = PyList_New(0);
    if (frames == NULL || pos < 0 || pos > n)
        goto fail;
    while (pos < n) {
        Py_ssize_t i = pos;
        while (i < n && (p[i] == '\r' || p[i] == '\n'))  /* blank lines between frames */
            i++;
        pos = i;
        if (i >= n)
            break;
        Py_ssize_t ctype_start, ctype_end;
        long long length;
        Py_ssize_t head_end = short_head(p, i, n, &ctype_start, &ctype_end, &length);
        if (head_end < 0 || head_end - i - 2 > max_header_bytes)
            break;
        const long long body = length > 0 ? length : 0;
        if (body > (long long)max_body_bytes || body > (long long)(n - head_end))
            break;  /* over the limit, or not all here yet: the Python path decides */
        Py_ssize_t end = head_end + (Py_ssize_t)body;
        PyObject *frame = Py_BuildValue("(y#ny#)", (const char *)p + i, end - i, head_end - i,
                                        (const char *)p + ctype_start, ctype_end - ctype_start);
        if (frame == NULL)
            goto fail;
        int failed = PyList_Append(frames, frame);
        Py_DECREF(frame);
        if (failed < 0)
            goto fail;
        pos = end;
    }
    PyBuffer_Release(&view);
    PyObject *result = Py_BuildValue("(Nn)", frames, pos);
    return result;
fail:
    Py_XDECREF(frames);
    PyBuffer_Release(&view);
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "short_frames: pos out of range");
    return NULL;
}

static PyMethodDef methods[] = {
    {"is_regular_head", is_regular_head, METH_O,
     "is_regular_head(head: bytes) -> bool\n\n"
     "True when every line of head is 'Name: value' with exactly one colon and one space\n"
     "(in that order), no name is empty, and there is no blank line, NUL or\n"
     "'Content-Length:'. fsrouter.esl.headblock.is_regular_head_py, in one pass in C."},
    {"short_frames", (PyCFunction)(void (*)(void))short_frames, METH_FASTCALL,
     "short_frames(buf, pos, max_header_bytes, max_body_bytes) -> (frames, pos)\n\n"
     "From buf[pos:], the frames with one of parser._SHORT_HEAD's two-line heads that\n"
     "have arrived whole and within the limits, each as (raw: bytes, body_offset: int,\n"
     "content_type: bytes), blank lines before each skipped; stops at the first other\n"
     "one, whose start is the pos returned (FrameParser.feed's fast path, in C)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "fsrouter.esl._speedups",
    "The header-block form check and the frame parser's fast path in C (optional: "
    "fsrouter.esl has both in Python).", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    STRUCTURE[0] = STRUCTURE['\n'] = STRUCTURE[' '] = STRUCTURE[':'] = 1;
    return PyModule_Create(&module);
}
