"""``fsrouter transcript show``: a call's story from its transcript, one line per frame.

    +0.000 s  app  connect
    +0.001 s  fs   channel data: 325625e5... 1000 -> socket_async, created 2026-11-30 19:21:02 UTC, async full
    +0.021 s  fs   reply +OK
    +0.042 s  fs   CHANNEL_EXECUTE answer [Application-UUID 6c1f...]
    +2.114 s  fs   CHANNEL_EXECUTE_COMPLETE playback -> FILE PLAYED
"""

from __future__ import annotations

from datetime import datetime, timezone

from fsrouter.errors import EslProtocolError
from fsrouter.esl import names as N
from fsrouter.replay.transcript import APP, Transcript

#: Event headers worth a place on the timeline, in this order.
KEY_HEADERS = ("Application-Data", "Application-Response", "Hangup-Cause", "DTMF-Digit",
               "Other-Leg-Unique-ID", "Channel-State")
#: Variables that tell a bridge's or a digit collection's outcome.
KEY_VARIABLES = ("originate_disposition", "DIALSTATUS", "read_result", "record_seconds")


def render(transcript: Transcript, *, width: int = 160) -> str:
    """The whole timeline as text (header summary first)."""
    h = transcript.header
    out = [f"{transcript.name}: {h.get('description') or ''}".rstrip(),
           f"  recorded {h.get('recorded_at', '?')} by {h.get('app', '?')}, peer {h.get('peer', '?')}"
           + (f", line {h['line']}" if h.get("line") else "")
           + (f", config {h['config_version']}" if h.get("config_version") else "")]
    for entry in transcript.entries:
        text = describe_app(entry.frame) if entry.direction == APP else describe_fs(entry.frame)
        line = f"{entry.t:+9.3f} s  {entry.direction:<3}  {text}"
        if entry.note:
            line += f"   # {entry.note}"
        out.append(line if len(line) <= width else line[: width - 3] + "...")
    if transcript.eof is not None:
        out.append(f"{transcript.eof.t:+9.3f} s  {transcript.eof.direction:<3}  closes the connection")
    else:
        out.append("          (the transcript ends here without an end-of-connection line)")
    return "\n".join(out)


def describe_app(frame) -> str:
    command = (frame.command or "").strip()
    headers = {k.lower(): v for k, v in frame.headers.items()}
    if command.startswith("sendmsg"):
        what = headers.get("call-command", "?")
        if what == "execute":
            arg = frame.body.decode("utf-8", "replace") if frame.body else headers.get("execute-app-arg")
            text = f"execute {headers.get('execute-app-name', '?')}" + (f" {arg}" if arg else "")
            if headers.get("event-uuid"):
                text += f" [Event-UUID {headers['event-uuid']}]"
            return text
        if what == "hangup":
            return f"hangup {headers.get('hangup-cause', '')}".rstrip()
        return f"sendmsg {what}"
    return command or "(empty command)"


def describe_fs(frame) -> str:
    ctype = frame.content_type
    if ctype == N.ContentType.COMMAND_REPLY:
        if frame.headers.get(N.Header.EVENT_NAME) == N.EventName.CHANNEL_DATA:
            return _channel_data(frame)
        return f"reply {frame.reply_text}"
    if ctype == N.ContentType.API_RESPONSE:
        body = frame.text().rstrip("\n").replace("\n", " | ")
        return f"api response {body[:80]!r}"
    if ctype == N.ContentType.DISCONNECT_NOTICE:
        disposition = frame.headers.get(N.Header.CONTENT_DISPOSITION, "?")
        linger = frame.headers.get("Linger-Time")
        return f"disconnect notice ({disposition}" + (f", Linger-Time {linger})" if linger else ")")
    if ctype in (N.ContentType.EVENT_PLAIN, N.ContentType.EVENT_JSON):
        try:
            event = frame.event()
        except EslProtocolError as exc:
            return f"unreadable event: {exc}"
        parts = [event.name or "?"]
        if event.get("Application"):
            parts.append(event.get("Application"))
        for name in KEY_HEADERS:
            value = event.get(name)
            if value and not (name == "Channel-State" and event.name != N.EventName.CHANNEL_STATE):
                parts.append(f"{name}={value}")
        if event.name == N.EventName.CHANNEL_EXECUTE_COMPLETE:
            parts += [f"{v}={event.variable(v)}" for v in KEY_VARIABLES
                      if event.variable(v) and event.get("Application") in ("bridge", "play_and_get_digits", "record")]
        if event.get(N.Header.APPLICATION_UUID):
            parts.append(f"[Application-UUID {event.get(N.Header.APPLICATION_UUID)}]")
        return " ".join(parts)
    return f"{ctype or 'frame without Content-Type'} ({len(frame.raw)} bytes)"


def _channel_data(frame) -> str:
    data = frame.event()
    created = data.get(N.Header.CALLER_CHANNEL_CREATED_TIME) or ""
    when = (datetime.fromtimestamp(int(created) / 1e6, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            if created.isdigit() and int(created) else "?")
    return (f"channel data: {data.get(N.Header.UNIQUE_ID)} {data.get(N.Header.CALLER_CALLER_ID_NUMBER)} -> "
            f"{data.get(N.Header.CALLER_DESTINATION_NUMBER)}, created {when}, "
            f"{data.get('Socket-Mode', '?')} {data.get('Control', '?')}")
