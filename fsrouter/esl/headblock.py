"""Header blocks as text: where one ends, how its values decode, and how one header is
found without splitting the block (the lazy lookups of :mod:`fsrouter.esl.frame`).

No I/O and no frames here: bytes and str in, values out. Value encoding: PROTOCOL-NOTES §2
(see :mod:`fsrouter.esl.frame`).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from urllib.parse import unquote

from fsrouter.errors import EslProtocolError

__all__ = ["SPEEDUPS", "find_blank_line", "get_ci", "is_regular_head", "parse_content_length", "peek",
           "split_head", "unquote_cached", "unquote_values"]


# A compiled search for "\n\n" scans a header block about 3x faster than bytes.find,
# whose two-byte search stops at every "\n" (benchmarks/RESULTS.md).
_LF_LF = re.compile(rb"\n\n").search


def find_blank_line(buf: bytes | bytearray, start: int = 0) -> tuple[int, int]:
    """Find the end of a header block in ``buf`` from ``start``.

    Returns ``(index, length)``: ``index`` is where the blank-line separator starts (the
    header block is ``buf[..:index]``) and ``length`` its size in bytes (2 for ``\\n\\n``,
    3 for ``\\n\\r\\n``, which covers ``\\r\\n\\r\\n``), or ``(-1, 0)`` when there is none yet.
    """
    m = _LF_LF(buf, start)
    i = m.start() if m is not None else -1
    stop = len(buf) if i < 0 else i + 1
    # "\n\r\n" can only come first where a "\r" does: one memchr rules it out (FreeSWITCH
    # writes no "\r"), so the usual block costs one scan, not two
    if buf.find(b"\r", start, stop) >= 0:
        j = buf.find(b"\n\r\n", start, stop)
        if j >= 0:
            return j, 3
    if i >= 0:
        return i, 2
    return -1, 0


def parse_content_length(value: str, limit: int, where: str = "Content-Length") -> int:
    """Validate a Content-Length value: a decimal count of bytes, ``0 <= n <= limit``.

    Raises EslProtocolError naming the problem (not a number, negative, over the limit).
    """
    v = value.strip(" \t")
    if v[:1] == "-" and v[1:].isascii() and v[1:].isdigit():
        raise EslProtocolError(f"{where} is negative: {value!r}")
    if not (v.isascii() and v.isdigit()):
        raise EslProtocolError(f"{where} is not a decimal number of bytes: {value!r}")
    if len(v) > 15 or int(v) > limit:
        raise EslProtocolError(f"{where} {v} exceeds the limit of {limit} bytes")
    return int(v)


def get_ci(headers: dict[str, str], name: str) -> str | None:
    """``headers[name]``, else the first header whose name matches ignoring case."""
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        size = len(name)
        for key, val in headers.items():
            if len(key) == size and key.lower() == lower:
                return val
    return value


# urllib.parse.unquote, memoized: encoded values repeat across the events of a call and
# across calls (Event-Date-* within a second, FreeSWITCH-IPv6, the socket app's data,
# caller names), and a hit costs ~0.1 us against ~2 us. Bounded; a pure function.
unquote_cached = lru_cache(maxsize=16384)(unquote)


def unquote_values(headers: dict[str, str]) -> dict[str, str]:
    """Percent-decode, in place, every value that contains a ``%``; returns ``headers``."""
    for key, value in headers.items():
        if "%" in value:
            headers[key] = unquote_cached(value)
    return headers


#: header name -> the bytes peek searches for, built once per name
_NEEDLES: dict[str, bytes] = {}


def peek(head: bytes, key: str, *, decode: bool = True) -> str | None:
    """The value of header ``key`` in a well-formed header block, or None; url-decoded
    unless ``decode`` is false. The last occurrence wins, as in a dict built from the lines."""
    needle = _NEEDLES.get(key)
    if needle is None:
        needle = ("\n" + key + ": ").encode()
        if len(_NEEDLES) < 4096:  # header names a call reads: a few dozen
            _NEEDLES[key] = needle
    i = head.rfind(needle)
    if i >= 0:
        start = i + len(needle)
    elif head.startswith(needle[1:]):
        start = len(needle) - 1
    else:
        return None
    end = head.find(b"\n", start)
    raw = head[start:end] if end >= 0 else head[start:]
    value = raw.decode("utf-8", "replace").rstrip("\r")
    return unquote_cached(value) if decode and "%" in value else value


def split_head(head: bytes) -> dict[str, str]:
    """``Name: value`` lines -> dict (values still url-encoded)."""
    text = head.decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    try:  # fast path: FS always writes "Name: value" (a ":" in a value is encoded as %3A)
        headers = dict(line.split(": ", 1) for line in lines)
        if "" in headers or ":" in "".join(headers):
            raise ValueError
    except ValueError:  # the slow path splits at the first colon, or names the bad line
        headers = _parse_lines_tolerant(lines)
    return headers


#: The most lines a regular block may have (more: parsed eagerly, where max_headers applies).
REGULAR_MAX_LINES = 8193
#: Bytes deleted to leave a header block's structure: all but NUL, "\n", ":" and " ".
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in (0, 10, 32, 58))
#: The structure of a regular block: ": " on the first line, then "\n: " on each next one.
_REGULAR_MARKS = b": " + b"\n: " * (REGULAR_MAX_LINES - 1)
#: A line that starts with its colon: an empty name (a compiled search: ~2x bytes.find here).
_EMPTY_NAME = re.compile(rb"\n:").search


def is_regular_head_py(head: bytes) -> bool:
    """True when every line of ``head`` is ``Name: value`` with exactly one colon and one
    space (the separator), no name is empty, and there is no blank line, NUL or
    Content-Length: the form a lazy :class:`Event` (or :class:`Frame`) may scan, where a
    header's line is found by ``"\nName: "`` and a miss means the header is absent.
    FreeSWITCH percent-encodes values (``:`` and spaces too, PROTOCOL-NOTES §2), so its
    events and connect replies are regular; anything else is parsed eagerly.

    One translate, one compiled search and one compare in C, no per-line Python work.
    The colon and the space are counted per line, not required to be adjacent: a
    ``Name:x y`` line passes (FreeSWITCH never writes one: it encodes the space).
    """
    if b"Content-Length:" in head or head.startswith(b":") or _EMPTY_NAME(head) is not None:
        return False
    marks = head.translate(None, _NOT_STRUCTURE)
    return len(marks) % 3 == 2 and marks == _REGULAR_MARKS[:len(marks)]


def _speedups():
    """fsrouter.esl._speedups (C, built at install when a compiler is there), or None when
    it is not built or FSROUTER_PURE_PYTHON is set to anything but "" or "0"."""
    if os.environ.get("FSROUTER_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from fsrouter.esl import _speedups as module
    except ImportError:
        return None
    return module


#: The C module in use, or None: this module's pure-Python functions then serve.
SPEEDUPS = _speedups()
#: is_regular_head_py's answer for every input (tests/test_esl_speedups.py), one pass in C:
#: ~1 us on a 3 KB event against ~3 us (benchmarks/RESULTS.md).
is_regular_head = SPEEDUPS.is_regular_head if SPEEDUPS is not None else is_regular_head_py


def _parse_lines_tolerant(lines: list[str]) -> dict[str, str]:
    """Slow path of event parsing: accepts ``Name:value`` and skips empty lines."""
    headers: dict[str, str] = {}
    for line in lines:
        if not line:
            continue
        i = line.find(":")
        if i <= 0:
            raise EslProtocolError(f"event body line has no 'Name: value' form: {line[:80]!r}")
        headers[line[:i]] = line[i + 2 :] if line.startswith(" ", i + 1) else line[i + 1 :]
    return headers
