"""The one framing authority of fsrouter: bytes in, whole :class:`Frame` objects out.

The parser does no I/O, so a live socket, a replayed transcript and a test all feed it
the same way (gunicorn's unreader idea). Framing rules (PROTOCOL-NOTES §1, checked
against every capture in ``shared/esl-sessions``):

- A frame is a header block ended by the first blank line, then ``Content-Length``
  bytes of body (none without the header). Lines end with ``\\n``; a ``\\r\\n`` from a
  peer is tolerated. Each line is ``Name: value`` split at the first colon, one space
  after it dropped (``Name:value`` is accepted); a line without a colon is an error.
- Content-Length is looked up ignoring case (applications send ``content-length``),
  counts bytes, and must be a decimal integer ``<= max_body_bytes``.
- Header order varies (an event starts with Content-Length, the connect reply with
  ``Event-Name``): nothing depends on the first line.
- Blank lines between frames are skipped, as mod_event_socket itself does.
- Frames with an unknown Content-Type frame the same way.

Cost: a frame with a two-line head (events, command replies: most of a call's frames)
that arrives whole is framed by one compiled pattern match (``_SHORT_HEAD``), or by the
C helper's ``short_frames`` for a run of them when it is built, its head kept raw and
split only if someone asks (``Frame.from_short_head``); any other
frame costs one ``bytes.find`` for the blank line, no per-byte loop; an incomplete
frame is never rescanned from its start (the search resumes where it stopped, and once
the header block is parsed only the body length is awaited). Events are not parsed
here: :meth:`Frame.event` does that on demand; nor is a large regular header block (the
connect reply's ~100 headers, see LAZY_HEAD_BYTES), which the Frame splits on demand.
"""

from __future__ import annotations

import re

from fsrouter.errors import EslProtocolError

from .frame import Frame
from .headblock import SPEEDUPS, find_blank_line, is_regular_head, parse_content_length

__all__ = ["FrameParser"]

_CONTENT_LENGTH = "content-length"

#: Header blocks larger than this (the ~100-header connect reply) that are regular, one
#: colon a line and no Content-Length, are kept raw and split only if someone asks.
LAZY_HEAD_BYTES = 1024


#: The two-line heads most frames have (PROTOCOL-NOTES §1), framed without splitting:
#: an event's ``Content-Length: N`` / ``Content-Type: T`` and a reply's
#: ``Content-Type: T`` / ``Reply-Text: R``, ended by ``\n\n``. Anything else (a ``\r``,
#: a third line, a colon in T) goes through the general parse, which gives the same
#: result for these shapes (tests/test_esl_parser.py compares the two).
_SHORT_HEAD = re.compile(
    rb"(?:Content-Length: ([0-9]{1,15})\nContent-Type: ([^\r\n:]*)"
    rb"|Content-Type: ([^\r\n:]*)\nReply-Text: ([^\r\n]*))\n\n")


#: The fast path below in C (fsrouter.esl._speedups), or None: the frames whose head
#: _SHORT_HEAD matches and that arrived whole and within the limits, in a row, handed back
#: as (raw, body_offset, content_type) for Frame.from_short_head; it stops at the first
#: other frame and the loop below takes over there, exactly as without it.
_C_SHORT_FRAMES = getattr(SPEEDUPS, "short_frames", None)
_from_short_head = Frame.from_short_head


class FrameParser:
    """Incremental ESL frame parser: ``feed(bytes) -> list[Frame]``.

    Limits (each breach raises :class:`~fsrouter.errors.EslProtocolError`):
    ``max_header_bytes`` bytes in one header block, ``max_headers`` header lines in one
    block, ``max_body_bytes`` for a Content-Length (16 MiB, the limit FreeSWITCH 1.11.2
    itself enforces).

    ``commands=True`` parses what an *application* sends (fake FreeSWITCH, replay): the
    first line of each frame is the command (``connect``, ``api status``, ``sendmsg``),
    kept in :attr:`Frame.command` and not taken as a header.

    After an EslProtocolError the parser is unusable: every later ``feed`` raises again.
    The stream has lost its framing, so the caller ends the call.
    """

    __slots__ = (
        "max_header_bytes",
        "max_headers",
        "max_body_bytes",
        "commands",
        "_buf",
        "_scan",
        "_pending",
        "_error",
    )

    def __init__(
        self,
        *,
        max_header_bytes: int = 65536,
        max_headers: int = 2048,
        max_body_bytes: int = 16 * 1024 * 1024,
        commands: bool = False,
    ):
        for name, value in (
            ("max_header_bytes", max_header_bytes),
            ("max_headers", max_headers),
            ("max_body_bytes", max_body_bytes),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, not {value!r}")
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.max_body_bytes = max_body_bytes
        self.commands = commands
        self._buf = bytearray()
        # Where to resume the blank-line search, relative to the start of the current frame.
        self._scan = 0
        # Once the current frame's header block is parsed:
        # (headers or None, lazy head or None, command, body_offset, frame_size).
        self._pending: tuple[dict[str, str] | None, bytes | None, str | None, int, int] | None = None
        self._error: EslProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes held, waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        """Add ``data`` (any chunk of the stream) and return the frames it completes, in order.

        Partial input stays buffered for the next call. Raises EslProtocolError, naming
        what is wrong, on malformed input or a breached limit; the parser is then unusable.
        """
        if self._error is not None:
            raise EslProtocolError(f"parser is unusable after an earlier error: {self._error}")
        buf = self._buf
        if type(data) is not bytes:  # a bytearray or memoryview chunk: framed from a copy
            data = bytes(data)
        if buf:
            buf += data
        else:
            buf = data  # nothing held: frame straight from the chunk (bytes), one copy a frame
        frames: list[Frame] = []
        pos = 0
        size = len(buf)
        short_head = _SHORT_HEAD.match if not self.commands else None
        c_short_frames = _C_SHORT_FRAMES if short_head is not None and self.max_headers >= 2 else None
        try:
            while pos < size:
                pending = self._pending
                if pending is None:
                    if self._scan == 0:
                        if c_short_frames is not None:
                            whole, pos = c_short_frames(buf, pos, self.max_header_bytes, self.max_body_bytes)
                            if whole:
                                frames.extend([_from_short_head(*f) for f in whole])
                            if pos >= size:
                                break
                        while pos < size and buf[pos] in b"\r\n":  # blank lines between frames
                            pos += 1
                        if pos >= size:
                            break
                        if short_head is not None and (m := short_head(buf, pos)) is not None:
                            frame_end = self._short_frame_end(m, pos, size)
                            if frame_end:  # whole, within the limits: no headers dict, no pending tuple
                                raw = buf[pos:frame_end] if buf is data else bytes(buf[pos:frame_end])
                                head_end = m.end()
                                frames.append(Frame.from_short_head(
                                    raw, head_end - pos, m.group(2) if m.start(1) >= 0 else m.group(3)))
                                pos = frame_end
                                continue
                            pending = self._short_head(m, pos)
                    if pending is None:
                        end, sep = find_blank_line(buf, pos + self._scan)
                        if end < 0:
                            # The separator may begin in the last 2 bytes: resume the search there.
                            if size - pos > self.max_header_bytes + 2:
                                raise EslProtocolError(
                                    f"header block exceeds max_header_bytes ({self.max_header_bytes})"
                                    " without a blank line"
                                )
                            self._scan = max(0, size - pos - 2)
                            break
                        if end - pos > self.max_header_bytes:
                            raise EslProtocolError(
                                f"header block of {end - pos} bytes exceeds max_header_bytes"
                                f" ({self.max_header_bytes})"
                            )
                        pending = self._parse_head(buf, pos, end, sep)
                        self._scan = 0
                headers, head, command, body_offset, frame_size = pending
                if size - pos < frame_size:
                    self._pending = pending  # the body is still to come
                    break
                self._pending = None
                raw = bytes(buf[pos : pos + frame_size])
                frames.append(Frame(headers, raw[body_offset:], raw, command=command, head=head))
                pos += frame_size
        except EslProtocolError as exc:
            self._error = exc
            raise
        finally:
            if buf is data:
                self._buf = bytearray(data[pos:]) if pos < size else bytearray()  # a partial frame, or nothing
            elif pos:
                del buf[:pos]
        return frames

    def _short_frame_end(self, m, pos: int, size: int) -> int:
        """Where the frame whose two-line head _SHORT_HEAD matched ends, when it has
        arrived whole and is within every limit; 0 otherwise (``_short_head`` then
        decides, and raises for a breached limit)."""
        head_end = m.end()
        start = m.start(1)
        end = head_end if start < 0 else head_end + int(m.group(1))  # 1-15 plain digits (the pattern)
        if (end > size or end - head_end > self.max_body_bytes or head_end - pos - 2 > self.max_header_bytes
                or self.max_headers < 2):
            return 0
        return end

    def _short_head(self, m, pos: int) -> tuple[dict[str, str], None, None, int, int] | None:
        """The pending-frame tuple of a two-line head matched by _SHORT_HEAD: the headers,
        body offset and size the general parse gives for that block (None: over the
        header limit, which the general parse then reports)."""
        body_offset = m.end() - pos
        if body_offset - 2 > self.max_header_bytes or self.max_headers < 2:
            return None
        digits, ctype, reply_ctype, reply_text = m.groups()
        if digits is not None:
            length = digits.decode("ascii")
            size = int(digits)  # 1-15 plain digits (the pattern)
            if size > self.max_body_bytes:
                parse_content_length(length, self.max_body_bytes)  # raises, naming the limit
            return ({"Content-Length": length, "Content-Type": ctype.decode("utf-8", "replace")},
                    None, None, body_offset, body_offset + size)
        return ({"Content-Type": reply_ctype.decode("utf-8", "replace"),
                 "Reply-Text": reply_text.decode("utf-8", "replace")}, None, None, body_offset, body_offset)

    def _parse_head(
        self, buf: bytearray, pos: int, end: int, sep: int
    ) -> tuple[dict[str, str] | None, bytes | None, str | None, int, int]:
        """Parse the header block ``buf[pos:end]``; return the pending-frame tuple."""
        if end - pos > LAZY_HEAD_BYTES and not self.commands:
            head = bytes(buf[pos:end])
            # a block of n bytes has at most (n + 1) // 2 lines: count them only when that can matter
            if (((end - pos + 1) // 2 < self.max_headers or head.count(b"\n") < self.max_headers) and b"\r" not in head
                    and b"ength" not in head and b"ENGTH" not in head and is_regular_head(head)):
                body_offset = end - pos + sep  # no Content-Length: no body
                return None, head, None, body_offset, body_offset
        if buf.startswith(b"Content-Length: ", pos) and not self.commands:
            event = self._event_head(buf, pos, end, sep)
            if event is not None:
                return event
        text = buf[pos:end].decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            if text.endswith("\r"):  # the block ended with "\r\n\r\n"
                text = text[:-1]
        lines = text.split("\n")
        command = lines.pop(0) if self.commands else None
        if len(lines) > self.max_headers:
            raise EslProtocolError(
                f"frame has {len(lines)} header lines, more than max_headers ({self.max_headers})"
            )
        if not lines:
            headers: dict[str, str] = {}
        else:
            try:  # fast path: every line is "Name: value", names non-empty, colon-free, unique
                headers = dict(line.split(": ", 1) for line in lines)
                if len(headers) != len(lines) or "" in headers or (
                        text.count(":") != len(lines) and ":" in "".join(headers)):  # one colon a line: none in a name
                    raise ValueError
            except ValueError:
                headers = _parse_lines(lines)
        # most frames (replies, the 110-header connect reply) have no body: one substring
        # test before looking at every name
        lengths = ([v for k, v in headers.items() if len(k) == 14 and k.lower() == _CONTENT_LENGTH]
                   if "ength" in text or "ENGTH" in text else [])
        body_size = 0
        if lengths:
            if len(lengths) > 1 and len({v.strip(" \t") for v in lengths}) > 1:
                raise EslProtocolError(f"conflicting Content-Length headers: {lengths!r}")
            body_size = parse_content_length(lengths[0], self.max_body_bytes)
        body_offset = end - pos + sep
        return headers, None, command, body_offset, body_offset + body_size

    def _event_head(self, buf: bytearray, pos: int, end: int, sep: int):
        """The head every FreeSWITCH event frame has (PROTOCOL-NOTES §1), read without
        splitting: ``Content-Length: N`` then ``Content-Type: T``, two lines, N plain
        digits. Returns the pending-frame tuple, or None for anything else (the general
        parse then decides, with the same result for this shape)."""
        nl = buf.find(b"\n", pos, end)
        if (nl < 0 or buf.find(b"\n", nl + 1, end) >= 0 or not buf.startswith(b"Content-Type: ", nl + 1)
                or self.max_headers < 2):
            return None
        digits = bytes(buf[pos + 16:nl]).decode("ascii", "replace")
        ctype = bytes(buf[nl + 15:end])
        if not digits.isdigit() or b"\r" in ctype or b":" in ctype:
            return None
        size = parse_content_length(digits, self.max_body_bytes)
        headers = {"Content-Length": digits, "Content-Type": ctype.decode("utf-8", "replace")}
        body_offset = end - pos + sep
        return headers, None, None, body_offset, body_offset + size


def _parse_lines(lines: list[str]) -> dict[str, str]:
    """Header lines one by one: split at the first colon, drop one space after it.

    Raises EslProtocolError for a line without a colon, an empty name, or a repeated
    Content-Length with a different value (ambiguous framing).
    """
    headers: dict[str, str] = {}
    for line in lines:
        i = line.find(":")
        if i <= 0:
            what = "without a colon" if i < 0 else "with an empty name"
            raise EslProtocolError(f"header line {what}: {line[:80]!r}")
        name = line[:i]
        value = line[i + 2 :] if line.startswith(" ", i + 1) else line[i + 1 :]
        old = headers.get(name)
        if old is not None and len(name) == 14 and name.lower() == _CONTENT_LENGTH:
            if old.strip(" \t") != value.strip(" \t"):
                raise EslProtocolError(f"conflicting Content-Length headers: {[old, value]!r}")
        headers[name] = value
    return headers
