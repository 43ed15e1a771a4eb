"""Protocol replay: a transcript of another application, driven through fsrouter's session layer.

The captures in ``shared/esl-sessions`` were made by a probe application, not by
fsrouter, so fsrouter's call flow cannot match them command for command (its first
``execute`` is its own greeting, not the probe's tone). What can be replayed is the
conversation itself: the player plays FreeSWITCH with the recorded ``fs`` frames, and on
the other end of a socket pair fsrouter's :class:`~fsrouter.session.connection.EslConnection`
sends the probe's recorded commands at the recorded points (after as many FreeSWITCH
frames as the probe had seen). It then checks what the session layer made of it:

* every FreeSWITCH frame came out of the session's parser byte for byte, in order;
* every reply was matched to its command (FIFO) and is the recorded reply;
* every ``execute`` with an Event-UUID saw its CHANNEL_EXECUTE_COMPLETE by Application-UUID;
* the hangup cause and how the connection ended (linger notice, goodbye, close).
"""

from __future__ import annotations

import gevent
import gevent.event
from gevent import socket

from fsrouter.errors import FsrouterError
from fsrouter.esl import FrameParser
from fsrouter.esl import names as N
from fsrouter.log import get_logger
from fsrouter.replay.player import Divergence, ReplayResult, describe
from fsrouter.replay.transcript import APP, FS, Transcript
from fsrouter.session.connection import EslConnection

_REPLIES = (N.ContentType.COMMAND_REPLY, N.ContentType.API_RESPONSE)


def is_fsrouter_transcript(transcript: Transcript) -> bool:
    """True when fsrouter's recorder wrote it (the header's ``app`` starts with "fsrouter")."""
    return str(transcript.header.get("app", "")).startswith("fsrouter")


def replay_protocol(transcript: Transcript, *, wait_s: float = 2.0) -> ReplayResult:
    """Drive ``transcript`` through EslConnection as described in the module doc."""
    result = ReplayResult(transcript.name, "ok")
    end = transcript.eof_at if transcript.eof_at is not None else len(transcript.entries)
    entries = transcript.entries
    fs_side, app_side = socket.socketpair()
    seen: list[bytes] = []
    progress = gevent.event.Event()

    def observe(direction: str, raw: bytes) -> None:
        if direction == FS:
            seen.append(raw)
            progress.set()

    conn = EslConnection(app_side, log=get_logger(component="replay"), observer=observe, reply_timeout_s=wait_s)
    completed: set[str] = set()
    conn.register_handle(N.EventName.CHANNEL_EXECUTE_COMPLETE,
                         lambda ev: completed.add(ev.get(N.Header.APPLICATION_UUID) or ""))
    conn.start()
    player = gevent.spawn(_play_fs, entries[:end], transcript.eof, fs_side, wait_s)
    sends: list[tuple[int, gevent.Greenlet]] = []
    fs_count = 0
    try:
        for number, entry in enumerate(entries, 1):
            if entry.direction == FS:
                fs_count += 1
                continue
            if number > end:  # written after FreeSWITCH had closed (capture 15)
                sends.append((number, gevent.spawn(_send, conn, entry.raw, wait_s)))
                continue
            if not _wait_seen(seen, progress, fs_count, wait_s):
                break
            sends.append((number, gevent.spawn(_send, conn, entry.raw, wait_s)))
        if transcript.eof is not None and transcript.eof.direction == APP:
            _wait_seen(seen, progress, fs_count, wait_s)
            conn.close()
        gevent.joinall([g for _, g in sends], timeout=wait_s * 2)
        player.join(timeout=wait_s * 2)
        conn.wait_closed(wait_s)
    finally:
        conn.close()
        fs_side.close()
    problem = player.value if player.successful() else f"player failed: {player.exception!r}"
    recorded_fs = [e.raw for e in entries[:end] if e.direction == FS]
    replies = [e.raw for e in entries[:end] if e.direction == FS and e.frame.content_type in _REPLIES]
    if problem is None and seen != recorded_fs[: len(seen)]:
        first = next(i for i, (a, b) in enumerate(zip(seen, recorded_fs)) if a != b)
        problem = (first + 1, "the session's parser gave a different frame than FreeSWITCH sent")
    if problem is None and len(seen) < len(recorded_fs):
        problem = (len(seen) + 1, f"the session saw {len(seen)} of {len(recorded_fs)} FreeSWITCH frames")
    matched = unanswered = 0
    for number, greenlet in sends:
        if isinstance(greenlet.value, Exception) or not greenlet.successful():
            unanswered += 1
            continue
        if matched < len(replies) and greenlet.value.raw != replies[matched] and problem is None:
            problem = (number, "the session matched a different reply to this command (FIFO broken)")
        matched += 1
    sent_ids = [_event_uuid(e) for e in entries[:end] if e.direction == APP]
    executes = [u for u in sent_ids if u]
    done = sum(1 for u in executes if u in completed)
    if isinstance(problem, tuple):
        number, reason = problem
        line = entries[number - 1].line if 0 < number <= len(entries) else 0
        result.status = "diverged"
        result.divergence = Divergence(number, line, describe(entries[number - 1].raw) if number <= len(entries)
                                       else "", None, reason)
    elif isinstance(problem, str):
        result.status = "error"
        result.note = problem
    ending = ("disconnect notice" if conn.closed else "open") if transcript.eof is None else (
        f"closed by {transcript.eof.direction}")
    result.commands = matched
    data = transcript.connect_data()
    result.call_uuid = conn.channel_uuid or (data.get(N.Header.UNIQUE_ID) if data is not None else None)
    result.note = (result.note + "; " if result.note else "") + (
        f"protocol replay (recorded by {transcript.header.get('app', 'another application')}): "
        f"{len(seen)} FreeSWITCH frames parsed, {matched} replies matched FIFO"
        + (f", {unanswered} command(s) unanswered" if unanswered else "")
        + f", {done}/{len(executes)} executes completed by Application-UUID"
        + f", hangup {conn.hangup_cause or 'none'}"
        + (", CHANNEL_HANGUP_COMPLETE seen" if conn.hangup_complete is not None else "")
        + f", connection {ending}")
    return result


def _send(conn: EslConnection, raw: bytes, wait_s: float):
    """One command through the session; its reply Frame, or the FsrouterError it ended with."""
    try:
        return conn.send_raw(raw, timeout_s=wait_s)
    except FsrouterError as exc:
        return exc


def _event_uuid(entry) -> str | None:
    headers = {k.lower(): v for k, v in entry.frame.headers.items()}
    return headers.get("event-uuid") if headers.get("call-command") == "execute" else None


def _wait_seen(seen: list, progress: gevent.event.Event, count: int, wait_s: float) -> bool:
    """Wait until the session has seen ``count`` FreeSWITCH frames (event-driven)."""
    with gevent.Timeout(wait_s, False):
        while len(seen) < count:
            progress.clear()
            progress.wait()
    return len(seen) >= count


def _play_fs(entries, eof, sock, wait_s: float):
    """FreeSWITCH's side: send fs frames, receive and check app frames; None or (frame, reason)."""
    parser = FrameParser(commands=True)
    inbox: list = []
    for number, entry in enumerate(entries, 1):
        if entry.direction == FS:
            try:
                sock.sendall(entry.raw)
            except OSError:
                return (number, "the session closed the connection before this FreeSWITCH frame")
            continue
        while not inbox:
            data = None
            with gevent.Timeout(wait_s, False):
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
            if not data:
                return (number, "the session did not send this command")
            inbox.extend(parser.feed(data))
        got = inbox.pop(0)
        if got.raw != entry.raw:
            return (number, "the command went out different from the recording")
    if eof is not None and eof.direction == FS:
        sock.close()
    return None


__all__ = ["replay_protocol", "is_fsrouter_transcript"]
