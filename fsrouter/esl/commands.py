"""Serializers for the commands an outbound-socket application sends to FreeSWITCH.

Each function returns the exact bytes to write: the command line, header lines, and
the blank line (``\\n\\n``), or the body after it. Byte for byte they match what the
probe sent in ``shared/esl-sessions`` (captures 01, 02, 13, 14, 16), so a replay can
compare what we send with what was recorded.

Safety: a command, header name or value with CR, LF or NUL raises ValueError: a line
break would let a value add its own header or a whole second command on the wire
(command injection), and FreeSWITCH, a C program, cuts a value at NUL. The only way to
send multi-line data is a body (see :func:`execute`).

Commands: https://developer.signalwire.com/freeswitch/FreeSWITCH-Explained/Modules/mod_event_socket_1048924
"""

from __future__ import annotations

from .names import ContentType, Header

__all__ = [
    "api",
    "auth",
    "bgapi",
    "connect",
    "event",
    "execute",
    "exit",
    "filter",
    "getvar",
    "hangup",
    "linger",
    "myevents",
    "nixevent",
    "noevents",
    "nolinger",
    "sendmsg",
]

# An execute-app-arg longer than this (in UTF-8 bytes) goes in a body. Older
# mod_event_socket builds read a header block into a fixed 2048-byte buffer.
ARG_HEADER_MAX_BYTES = 2048

_EVENT_FORMATS = ("plain", "json", "xml")


def _check(what: str, value: str) -> str:
    """Return ``value`` if it is a str holding no CR, LF or NUL; else raise."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\n" in value or "\r" in value or "\0" in value:
        raise ValueError(f"{what} contains CR, LF or NUL (command injection on the wire): {value!r}")
    return value


def _word(what: str, value: str) -> str:
    """A non-empty token without whitespace (app name, event name, header name)."""
    _check(what, value)
    if not value or len(value.split()) != 1 or value.strip() != value:
        raise ValueError(f"{what} must be a non-empty word without spaces: {value!r}")
    return value


def _nonempty(what: str, value: str) -> str:
    _check(what, value)
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value


def _line(text: str) -> bytes:
    return (text + "\n\n").encode("utf-8")


def auth(password: str) -> bytes:
    """``auth <password>``: the inbound socket's answer to ``auth/request`` (FS replies
    ``+OK accepted`` or ``-ERR invalid``). The bytes hold the secret: never log them."""
    return _line("auth " + _nonempty("password", password))


def connect() -> bytes:
    """``connect``: the first command on an outbound socket; FS answers with the connect reply."""
    return b"connect\n\n"


def myevents(fmt: str = "plain") -> bytes:
    """``myevents [json|xml]``: this channel's events (``b"myevents\\n\\n"`` for plain)."""
    if fmt not in _EVENT_FORMATS:
        raise ValueError(f"event format must be one of {_EVENT_FORMATS}, not {fmt!r}")
    return b"myevents\n\n" if fmt == "plain" else _line(f"myevents {fmt}")


def linger(seconds: int | None = None) -> bytes:
    """``linger [seconds]``: keep the socket open after hangup; without ``seconds`` FS
    never closes it itself (Linger-Time -1) and the app must send :func:`exit`."""
    if seconds is None:
        return b"linger\n\n"
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 1:
        raise ValueError(f"linger seconds must be a positive int, not {seconds!r}")
    return _line(f"linger {seconds}")


def nolinger() -> bytes:
    """``nolinger``: close the socket as soon as the channel is down."""
    return b"nolinger\n\n"


def resume() -> bytes:
    """``resume``: when the socket closes, FreeSWITCH carries on with the dialplan
    instead of hanging up (the same as channel variable ``socket_resume=true``)."""
    return b"resume\n\n"


def exit() -> bytes:  # noqa: A001 - the ESL command is called exit
    """``exit``: FS replies ``+OK bye``, sends the goodbye notice and closes."""
    return b"exit\n\n"


def event(fmt: str, *names: str) -> bytes:
    """``event <plain|json|xml> NAME...``, e.g. ``event("plain", "ALL")``; a CUSTOM
    subclass is one more name (``event("plain", "CUSTOM", "my::sub")``)."""
    if fmt not in _EVENT_FORMATS:
        raise ValueError(f"event format must be one of {_EVENT_FORMATS}, not {fmt!r}")
    if not names:
        raise ValueError("event needs at least one event name")
    return _line(" ".join(["event", fmt, *(_word("event name", n) for n in names)]))


def nixevent(*names: str) -> bytes:
    """``nixevent NAME...``: stop receiving these event types, keep the others (after
    ``myevents``, its list less these; the uuid filter stays). FreeSWITCH replies
    ``+OK events nixed``, or ``-ERR no keywords supplied`` when no name is an event type
    (mod_event_socket's ``nixevent``). On an outbound socket without ``full`` it is
    refused as ``linger`` is (``-ERR command not found``, PROTOCOL-NOTES §3) and every
    subscribed type keeps coming."""
    if not names:
        raise ValueError("nixevent needs at least one event name")
    return _line(" ".join(["nixevent", *(_word("event name", n) for n in names)]))


def noevents() -> bytes:
    """``noevents``: stop all event subscriptions."""
    return b"noevents\n\n"


def filter(header: str, value: str) -> bytes:  # noqa: A001 - the ESL command is called filter
    """``filter <header> <value>``: only events whose ``header`` equals ``value`` pass."""
    return _line(f"filter {_word('filter header', header)} {_nonempty('filter value', value)}")


def api(command: str) -> bytes:
    """``api <command>``: run an API command; the result is an api/response body."""
    return _line("api " + _nonempty("api command", command))


def bgapi(command: str, job_uuid: str | None = None) -> bytes:
    """``bgapi <command>`` with an optional ``Job-UUID`` header (our id for the job);
    the result comes as a BACKGROUND_JOB event with that Job-UUID, if subscribed."""
    text = "bgapi " + _nonempty("bgapi command", command)
    if job_uuid is not None:
        text += f"\n{Header.JOB_UUID}: {_nonempty('job_uuid', job_uuid)}"
    return _line(text)


def getvar(name: str) -> bytes:
    """``getvar <name>``: the raw value comes back in Reply-Text (unset: ``-ERR ...``)."""
    return _line("getvar " + _word("variable name", name))


def sendmsg(
    headers: dict[str, str], uuid: str | None = None, *, body: bytes | None = None
) -> bytes:
    """``sendmsg [uuid]`` with ``headers`` in the given order and an optional ``body``
    (``content-type: text/plain`` and ``content-length`` are then added, lowercase)."""
    lines = ["sendmsg" if uuid is None else "sendmsg " + _word("uuid", uuid)]
    for name, value in headers.items():
        if ":" in _word("header name", name):
            raise ValueError(f"header name contains a colon: {name!r}")
        lines.append(f"{name}: {_check('header value ' + name, value)}")
    if body is None:
        return _line("\n".join(lines))
    if not isinstance(body, (bytes, bytearray)):
        raise TypeError(f"body must be bytes, not {type(body).__name__}")
    lines.append(f"{Header.CONTENT_TYPE_LOWER}: {ContentType.TEXT_PLAIN}")
    lines.append(f"{Header.CONTENT_LENGTH_LOWER}: {len(body)}")
    return _line("\n".join(lines)) + bytes(body)


def execute(
    app: str,
    arg: str | None,
    event_uuid: str,
    *,
    event_lock: bool = False,
    loops: int | None = None,
    uuid: str | None = None,
    arg_in_body: bool = False,
) -> bytes:
    """``sendmsg`` ``call-command: execute`` of dptools application ``app``.

    Header order as in the captures: call-command, execute-app-name, execute-app-arg,
    Event-UUID, then event-lock (``event_lock=True``) and loops (``loops=N``, N >= 1).
    ``event_uuid`` is our id for this run: it comes back as ``Application-UUID`` in
    CHANNEL_EXECUTE and CHANNEL_EXECUTE_COMPLETE. ``arg`` None or "" sends no argument.
    An ``arg`` holding CR or LF, longer than ARG_HEADER_MAX_BYTES, or with
    ``arg_in_body=True`` goes in a ``content-type: text/plain`` body (capture 14).
    Raises ValueError on CR/LF/NUL in any header value, or NUL in ``arg``.
    """
    headers = {
        Header.CALL_COMMAND: "execute",
        Header.EXECUTE_APP_NAME: _word("application name", app),
    }
    body = None
    if arg:
        if not isinstance(arg, str):
            raise TypeError(f"arg must be a str, not {type(arg).__name__}")
        if "\0" in arg:
            raise ValueError(f"application argument contains NUL: {arg!r}")
        data = arg.encode("utf-8")
        if arg_in_body or "\n" in arg or "\r" in arg or len(data) > ARG_HEADER_MAX_BYTES:
            body = data
        else:
            headers[Header.EXECUTE_APP_ARG] = arg
    headers[Header.EVENT_UUID] = _word("event_uuid", event_uuid)
    if event_lock:
        headers[Header.EVENT_LOCK] = "true"
    if loops is not None:
        if not isinstance(loops, int) or isinstance(loops, bool) or loops < 1:
            raise ValueError(f"loops must be a positive int, not {loops!r}")
        headers[Header.LOOPS] = str(loops)
    if body is None and uuid is None:  # the usual execute: every name ours, every value checked above
        return _line("sendmsg\n" + "\n".join([f"{name}: {value}" for name, value in headers.items()]))
    return sendmsg(headers, uuid, body=body)


def hangup(cause: str, uuid: str | None = None) -> bytes:
    """``sendmsg`` ``call-command: hangup`` with ``hangup-cause: <cause>`` (a HangupCause)."""
    return sendmsg(
        {Header.CALL_COMMAND: "hangup", Header.HANGUP_CAUSE_LOWER: _word("hangup cause", cause)},
        uuid,
    )
