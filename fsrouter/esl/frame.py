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

from fsrouter.errors import EslProtocolError

from .headblock import (find_blank_line, get_ci, is_regular_head, parse_content_length, peek, split_head,
                        unquote_cached, unquote_values)
from .names import ContentType, EventName, Header

__all__ = ["Event", "Frame"]

_EVENT_PLAIN = ContentType.EVENT_PLAIN
_EVENT_JSON = ContentType.EVENT_JSON
_COMMAND_REPLY = ContentType.COMMAND_REPLY
_API_RESPONSE = ContentType.API_RESPONSE
#: Content-Type values as they come on the wire -> the str, decoded once.
_CONTENT_TYPES = {v.encode(): v for k, v in vars(ContentType).items() if k.isupper()}


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
            headers = self._headers = unquote_values(split_head(self._head))
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
            value = peek(self._head, key)  # the head is regular: a miss is an absent header
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


def _parse_event_plain(body: bytes) -> Event:
    """Parse a text/event-plain body: ``Name: value`` lines, a blank line, and when the
    event has ``Content-Length: M``, M bytes of inner body (BACKGROUND_JOB, capture 16)."""
    head = body.rstrip(b"\r\n")
    if is_regular_head(head):  # the usual event: no blank line but the last, no inner body
        return Event(head=head)
    end, sep = find_blank_line(body)
    if end >= 0:
        head = body[:end]
    headers = unquote_values(split_head(head))
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
            ct = peek(head, Header.CONTENT_TYPE, decode=False)
            self._content_type = ct if ct is not None else get_ci(self.headers, Header.CONTENT_TYPE)
        else:
            ct = headers.get(Header.CONTENT_TYPE)
            self._content_type = ct if ct is not None else get_ci(headers, Header.CONTENT_TYPE)
        if raw is None:
            lines = [command] if command is not None else []
            lines.extend(f"{k}: {v}" for k, v in headers.items())
            raw = ("\n".join(lines) + "\n\n").encode("utf-8") + body
        self.raw = raw
        self._event: Event | None = None

    @classmethod
    def from_short_head(cls, raw: bytes, body_offset: int, content_type: bytes) -> Frame:
        """A frame whose two-line head (``Content-Length``/``Content-Type`` of an event,
        ``Content-Type``/``Reply-Text`` of a reply: most frames) the parser matched whole:
        ``raw`` is the whole frame, ``body_offset`` where its body starts (after the blank
        line), ``content_type`` the Content-Type value's bytes. The head is kept raw and
        split only if someone asks for ``headers``; the same frame as the general parse
        gives (tests/test_esl_parser.py compares them)."""
        frame = cls.__new__(cls)
        frame._headers = None
        frame._head = raw[:body_offset - 2]
        frame.body = raw[body_offset:]
        frame.raw = raw
        frame.command = None
        ct = _CONTENT_TYPES.get(content_type)
        frame._content_type = ct if ct is not None else content_type.decode("utf-8", "replace")
        frame._event = None
        return frame

    @property
    def headers(self) -> dict[str, str]:
        """Outer headers in wire order, values exactly as sent (split on first use for a
        lazy head)."""
        headers = self._headers
        if headers is None:
            headers = self._headers = split_head(self._head)
        return headers

    def _header(self, name: str) -> str | None:
        """One outer header by exact name, raw; a lazy head is scanned, not split."""
        if self._headers is None:
            return peek(self._head, name, decode=False)
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
            text = get_ci(self.headers, Header.REPLY_TEXT)
        if text is not None and "%" in text and self._is_connect_reply():
            return unquote_cached(text)
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
                    event = Event(unquote_values(dict(self._headers)))
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
