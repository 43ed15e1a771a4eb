"""One ESL message (:class:`Frame`) and the event it may carry (:class:`Event`).

A frame is what :class:`fsrouter.esl.parser.FrameParser` cuts out of the byte stream:
outer headers exactly as on the wire, then ``Content-Length`` bytes of body. Frames are
cheap to make: the event inside a frame is parsed only when :meth:`Frame.event` is
called, and then cached.

Value encoding (PROTOCOL-NOTES §2): the values of an event-plain body and of the connect
reply are percent-encoded by FreeSWITCH; everything else (outer headers, ordinary
Reply-Text, api/response bodies, disconnect notices, event-json) is raw. Decoding is
plain percent-decoding as UTF-8 (``urllib.parse.unquote``, invalid bytes replaced,
``+`` stays ``+``), done per value after the body is split into lines. FreeSWITCH does
not encode a literal ``%XX`` with two uppercase hex digits, so the encoding cannot
always be reversed: a variable set to ``literal %41`` arrives as ``literal%20%41`` and
decodes to ``literal A``. Read such values with ``api uuid_getvar``, which returns the
raw value.
"""

from __future__ import annotations

import json
from functools import lru_cache
from urllib.parse import unquote

from fsrouter.errors import EslProtocolError

from .names import ContentType, EventName, Header

__all__ = ["Event", "Frame", "find_blank_line", "is_regular_head", "parse_content_length"]

_EVENT_PLAIN = ContentType.EVENT_PLAIN
_EVENT_JSON = ContentType.EVENT_JSON
_COMMAND_REPLY = ContentType.COMMAND_REPLY
_API_RESPONSE = ContentType.API_RESPONSE


def find_blank_line(buf: bytes | bytearray, start: int = 0) -> tuple[int, int]:
    """Find the end of a header block in ``buf`` from ``start``.

    Returns ``(index, length)``: ``index`` is where the blank-line separator starts (the
    header block is ``buf[..:index]``) and ``length`` its size in bytes (2 for ``\\n\\n``,
    3 for ``\\n\\r\\n``, which covers ``\\r\\n\\r\\n``), or ``(-1, 0)`` when there is none yet.
    """
    i = buf.find(b"\n\n", start)
    j = buf.find(b"\n\r\n", start, len(buf) if i < 0 else i + 1)
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


def _get_ci(headers: dict[str, str], name: str) -> str | None:
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
_unquote = lru_cache(maxsize=16384)(unquote)


def _unquote_values(headers: dict[str, str]) -> dict[str, str]:
    """Percent-decode, in place, every value that contains a ``%``; returns ``headers``."""
    for key, value in headers.items():
        if "%" in value:
            headers[key] = _unquote(value)
    return headers


class Event:
    """A FreeSWITCH event: ``headers`` (values url-decoded) and its own inner ``body``.

    ``body`` is ``None`` unless the event carries one (BACKGROUND_JOB: the api result, as
    raw bytes). Channel variables are headers named ``variable_<name>``.

    A text/event-plain event holds ~100 url-encoded headers of which a call usually reads
    two or three, so it is parsed lazily: ``get`` of the first few names scans the raw
    header block for that one line; ``headers`` (or more lookups) parses it all. The
    block's form is checked when the event is built (one ``Name: value`` per line), so a
    malformed event still fails at ``Frame.event()``.
    """

    __slots__ = ("_headers", "body", "_head", "_peeks_left")

    def __init__(self, headers: dict[str, str] | None = None, body: bytes | None = None, *,
                 head: bytes | None = None, max_peeks: int | None = None):
        self._headers = headers if headers is not None or head is not None else {}
        self.body = body
        self._head = head
        self._peeks_left = _MAX_PEEKS if max_peeks is None else max_peeks

    @property
    def headers(self) -> dict[str, str]:
        """Every header, url-decoded (parsed on first use)."""
        headers = self._headers
        if headers is None:
            headers = self._headers = _unquote_values(_split_head(self._head))
            self._head = None
        return headers

    @property
    def name(self) -> str | None:
        """The ``Event-Name`` header (``CHANNEL_EXECUTE_COMPLETE``, ...), or None."""
        return self.get(Header.EVENT_NAME)

    def get(self, key: str, default: str | None = None) -> str | None:
        """A header value (exact name), or ``default``."""
        if self._headers is None and self._peeks_left:
            self._peeks_left -= 1
            value = _peek(self._head, key)  # the head is regular: a miss is an absent header
            return default if value is None else value
        return self.headers.get(key, default)

    def __getitem__(self, key: str) -> str:
        return self.headers[key]

    def __contains__(self, key: object) -> bool:
        return key in self.headers

    def variable(self, name: str, default: str | None = None) -> str | None:
        """Channel variable ``name`` (the ``variable_<name>`` header), or ``default``."""
        return self.get("variable_" + name, default)

    def __repr__(self) -> str:
        body = f", body={len(self.body)} bytes" if self.body is not None else ""
        return f"<Event {self.name} {len(self.headers)} headers{body}>"


#: Single-header lookups served by scanning before an event is parsed whole.
_MAX_PEEKS = 6


#: Lookups in the connect reply's channel data served by scanning (a call makes ~a dozen).
CONNECT_REPLY_PEEKS = 24


def _peek(head: bytes, key: str, *, decode: bool = True) -> str | None:
    """The value of header ``key`` in a well-formed header block, or None; url-decoded
    unless ``decode`` is false. The last occurrence wins, as in a dict built from the lines."""
    needle = ("\n" + key + ": ").encode()
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
    return _unquote(value) if decode and "%" in value else value


def _split_head(head: bytes) -> dict[str, str]:
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


#: Bytes deleted to leave a header block's structure: all but NUL, "\n", ":" and " ".
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in (0, 10, 32, 58))
#: The structure of a regular block: ": " on the first line, then "\n: " on each next one.
_REGULAR_MARKS = b": " + b"\n: " * 8192


def is_regular_head(head: bytes) -> bool:
    """True when every line of ``head`` is ``Name: value`` with exactly one colon and one
    space (the separator), no name is empty, and there is no blank line, NUL or
    Content-Length: the form a lazy :class:`Event` (or :class:`Frame`) may scan, where a
    header's line is found by ``"\nName: "`` and a miss means the header is absent.
    FreeSWITCH percent-encodes values (``:`` and spaces too, PROTOCOL-NOTES §2), so its
    events and connect replies are regular; anything else is parsed eagerly.

    One translate and one compare in C, no per-line Python work.
    """
    if b"Content-Length:" in head or b"\n: " in head or head.startswith(b": "):
        return False
    marks = head.translate(None, _NOT_STRUCTURE)
    return len(marks) % 3 == 2 and marks == _REGULAR_MARKS[:len(marks)]


def _parse_event_plain(body: bytes) -> Event:
    """Parse a text/event-plain body: ``Name: value`` lines, a blank line, and when the
    event has ``Content-Length: M``, M bytes of inner body (BACKGROUND_JOB, capture 16)."""
    if b"Content-Length:" not in body:  # the usual event: headers, then the blank line ending it
        head = body.rstrip(b"\r\n")
        if is_regular_head(head):
            return Event(head=head)
    end, sep = find_blank_line(body)
    head = body[:end] if end >= 0 else body.rstrip(b"\r\n")
    if is_regular_head(head):
        return Event(head=head)
    headers = _unquote_values(_split_head(head))
    inner = None
    length = headers.get(Header.CONTENT_LENGTH)
    if length is not None:
        size = parse_content_length(length, len(body), "event inner Content-Length")
        start = end + sep if end >= 0 else len(body)
        inner = body[start : start + size]
        if len(inner) != size:
            raise EslProtocolError(
                f"event inner Content-Length {size} but only {len(inner)} bytes follow its headers"
            )
    return Event(headers, inner)


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


def _json_value(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # an array header; the plain form is ARRAY::a|:b
        return "ARRAY::" + "|:".join(v if isinstance(v, str) else json.dumps(v) for v in value)
    return json.dumps(value)


def _parse_event_json(body: bytes) -> Event:
    """Parse a text/event-json body: one JSON object; ``_body`` becomes the inner body."""
    try:
        obj = json.loads(body)
    except ValueError as exc:
        raise EslProtocolError(f"text/event-json body is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise EslProtocolError(f"text/event-json body is a JSON {type(obj).__name__}, not an object")
    inner = obj.pop("_body", None)
    headers = {str(k): _json_value(v) for k, v in obj.items()}
    return Event(headers, None if inner is None else _json_value(inner).encode("utf-8"))


class Frame:
    """One ESL message as received: outer ``headers``, ``body`` and the exact ``raw`` bytes.

    - ``headers``: outer headers in wire order, values exactly as sent (not url-decoded).
    - ``body``: exactly Content-Length bytes (``b""`` when there is none).
    - ``raw``: header block + blank line + body, byte for byte (blank lines *between*
      frames are skipped by the parser and belong to no frame).
    - ``command``: the command line of a frame an application sent (``"api status"``,
      ``"sendmsg"``) when parsed with ``FrameParser(commands=True)``; None otherwise.

    Immutable in practice: do not modify ``headers``. Built by the parser; building one
    by hand with ``raw=None`` renders ``raw`` from the parts (the caller supplies the
    Content-Length header when there is a body).

    ``head`` instead of ``headers`` (``headers=None``): the raw header block of a large,
    regular block (:func:`is_regular_head`, one colon a line: the ~100-header connect
    reply). It is split into ``headers`` on first use only; the few headers a call reads
    before that are found by scanning the block.
    """

    __slots__ = ("_headers", "_head", "body", "raw", "command", "_content_type", "_event")

    def __init__(
        self,
        headers: dict[str, str] | None,
        body: bytes = b"",
        raw: bytes | None = None,
        *,
        command: str | None = None,
        head: bytes | None = None,
    ):
        self._headers = headers
        self._head = head
        self.body = body
        self.command = command
        if headers is None:
            if head is None or raw is None:
                raise ValueError("a Frame needs headers, or its raw head and raw bytes")
            ct = _peek(head, Header.CONTENT_TYPE, decode=False)
            self._content_type = ct if ct is not None else _get_ci(self.headers, Header.CONTENT_TYPE)
        else:
            ct = headers.get(Header.CONTENT_TYPE)
            self._content_type = ct if ct is not None else _get_ci(headers, Header.CONTENT_TYPE)
        if raw is None:
            lines = [command] if command is not None else []
            lines.extend(f"{k}: {v}" for k, v in headers.items())
            raw = ("\n".join(lines) + "\n\n").encode("utf-8") + body
        self.raw = raw
        self._event: Event | None = None

    @property
    def headers(self) -> dict[str, str]:
        """Outer headers in wire order, values exactly as sent (split on first use for a
        lazy head)."""
        headers = self._headers
        if headers is None:
            headers = self._headers = _split_head(self._head)
        return headers

    def _header(self, name: str) -> str | None:
        """One outer header by exact name, raw; a lazy head is scanned, not split."""
        if self._headers is None:
            return _peek(self._head, name, decode=False)
        return self._headers.get(name)

    @property
    def content_type(self) -> str | None:
        """The Content-Type header (found ignoring case: apps send ``content-type``)."""
        return self._content_type

    def _is_connect_reply(self) -> bool:
        return (
            self._content_type == _COMMAND_REPLY
            and self._header(Header.EVENT_NAME) == EventName.CHANNEL_DATA
        )

    @property
    def reply_text(self) -> str | None:
        """Reply-Text of a command/reply, raw (``+OK will linger``, a getvar value ...).

        The connect reply (a command/reply carrying ``Event-Name: CHANNEL_DATA``) has
        url-encoded values, so its ``%2BOK%0A`` is returned decoded: ``"+OK\\n"``.
        """
        text = self._header(Header.REPLY_TEXT)
        if text is None:
            text = _get_ci(self.headers, Header.REPLY_TEXT)
        if text is not None and "%" in text and self._is_connect_reply():
            return _unquote(text)
        return text

    @property
    def is_ok(self) -> bool:
        """True when the reply says ``+OK``: Reply-Text, or the body of an api/response."""
        if self._content_type == _API_RESPONSE:
            return self.body.startswith(b"+OK")
        text = self.reply_text
        return text is not None and text.startswith("+OK")

    def text(self) -> str:
        """The body decoded as UTF-8, invalid bytes replaced (api/response results are raw text)."""
        return self.body.decode("utf-8", "replace")

    def event_name(self) -> str | None:
        """The Event-Name of an event-bearing frame, found without parsing the whole event.

        Cheap: most events a call receives are only dispatched by name. None for frames
        that carry no event (or no Event-Name).
        """
        if self._event is None and self._content_type == _EVENT_PLAIN:
            body = self.body
            start = 0 if body.startswith(b"Event-Name: ") else body.find(b"\nEvent-Name: ") + 1
            if start or body.startswith(b"Event-Name: "):
                start += 12
                end = body.find(b"\n", start)
                name = body[start:end if end >= 0 else len(body)].decode("ascii", "replace").rstrip("\r")
                return name if "%" not in name else self.event().name
            return None
        try:
            return self.event().name
        except EslProtocolError:
            return None

    def event(self) -> Event:
        """The event this frame carries, parsed on the first call and cached.

        text/event-plain: the body's url-encoded header lines (+ inner body);
        text/event-json: the JSON object; the connect reply: its own headers, url-decoded.
        Raises EslProtocolError for any other frame, or a malformed event body.
        """
        event = self._event
        if event is None:
            ct = self._content_type
            if ct == _EVENT_PLAIN:
                event = _parse_event_plain(self.body)
            elif ct == _EVENT_JSON:
                event = _parse_event_json(self.body)
            elif self._is_connect_reply():
                if self._headers is None:  # a call reads a dozen of its ~100 headers
                    event = Event(head=self._head, max_peeks=CONNECT_REPLY_PEEKS)
                else:
                    event = Event(_unquote_values(dict(self._headers)))
            else:
                raise EslProtocolError(f"a frame of Content-Type {ct!r} carries no event")
            self._event = event
        return event

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return self.raw == other.raw and self.command == other.command

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        what = self.command if self.command is not None else self._content_type
        text = self.headers.get(Header.REPLY_TEXT)
        extra = f" {text[:40]!r}" if text is not None and not self._is_connect_reply() else ""
        return f"<Frame {what}{extra} {len(self.raw)} bytes>"
