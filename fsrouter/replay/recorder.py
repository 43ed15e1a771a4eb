"""The QA session recorder: every call's ESL conversation, byte-exact, as a transcript file.

``settings.yaml`` ``qa.record_sessions: DIR`` (and ``qa.sample``, and per line
``qa.record``) turns it on; each recorded call goes to
``DIR/<YYYY-MM-DD>/<call uuid>.esl.jsonl`` (UTC date of ``Caller-Channel-Created-Time``),
format ``shared/esl-sessions/README.md``, with a header naming the fsrouter version, the
line and the config's content hash.

Off the call's path: the session's FrameObserver only appends to a queue; one writer
greenlet appends them to the file in batches (open, write, close), so a crash mid-call
leaves a valid prefix. A call is never failed by recording: a write error
(disk full, folder gone) is logged once as ``session_recording_failed``, that call's
transcript is dropped and the server keeps serving (``session_recording_resumed`` is
logged when a later write works again).

Until the connect reply arrives the line is not known, so a session's first frames are
held in memory; then it is decided whether the call is recorded at all.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import gevent
import gevent.event
import gevent.queue

from fsrouter import __version__
from fsrouter.errors import EslProtocolError
from fsrouter.esl import Frame, FrameParser
from fsrouter.esl import names as N
from fsrouter.replay.transcript import FS, SUFFIX, eof_line, frame_line, header_line

_CLOSE = object()


def sampled(call_uuid: str, ratio: float) -> bool:
    """Whether a call is in a ``ratio`` (0..1) sample; stable for a uuid (sha1 of it)."""
    if ratio >= 1:
        return True
    if ratio <= 0:
        return False
    digest = hashlib.sha1(call_uuid.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < ratio


class SessionRecorder:
    """Writes transcripts for the calls its policy accepts.

    catalog: () -> the current flow Catalog (settings.qa, line lookup, version); log: a
    structlog logger; clock: () -> time.monotonic-like seconds (for ``t``);
    employee_status: () -> {employee: status} written into each header, so a replay rings
    the same employees (``routing.skip_absent``).
    ``observer_for(sock)`` is CallServer's hook; ``close()`` drains the queue.
    """

    def __init__(self, catalog: Callable[[], object], *, log, clock: Callable[[], float] = time.monotonic,
                 employee_status: Callable[[], dict[str, str]] | None = None):
        self.catalog = catalog
        self.log = log
        self.clock = clock
        self.employee_status = employee_status
        self._queue: gevent.queue.Queue = gevent.queue.Queue()
        self._failing = False
        self._writer = gevent.spawn(self._write_loop)
        self._writer.link_exception(self._writer_crashed)

    # ----------------------------------------------------------------- the call side
    def observer_for(self, sock) -> Callable[[str, bytes], None] | None:
        """A FrameObserver for one new connection, or None when recording is off."""
        if self.catalog().config.settings.qa.record_sessions is None:
            return None
        return _Session(self, self.clock()).observe

    def _enqueue(self, item) -> None:
        self._queue.put_nowait(item)

    # ----------------------------------------------------------------- the writer side
    def drain(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued so far is on disk; True if done within ``timeout_s`` s."""
        done = gevent.event.Event()
        self._queue.put(done)
        return done.wait(timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        """Write what is queued (up to ``timeout_s`` s), then stop the writer greenlet."""
        self._queue.put(_CLOSE)
        self._writer.join(timeout=timeout_s)
        self._writer.kill(block=False)

    def _writer_crashed(self, greenlet) -> None:
        self.log.error("session_recorder_crashed", error=repr(greenlet.exception))

    def _write_loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            by_session: dict[int, tuple[_Session, list[str]]] = {}
            closing = False
            markers: list[gevent.event.Event] = []
            for item in batch:
                if item is _CLOSE:
                    closing = True
                    continue
                if isinstance(item, gevent.event.Event):
                    markers.append(item)
                    continue
                session, what = item  # a ready line, or (t, direction, raw) formatted here
                text = what if isinstance(what, str) else frame_line(*what)
                by_session.setdefault(id(session), (session, []))[1].append(text)
            for session, texts in by_session.values():
                self._append(session, "".join(texts))
            for marker in markers:
                marker.set()
            if closing:
                return

    def _append(self, session: "_Session", text: str) -> None:
        """Append one batch to the session's file (opened and closed per batch: no handle
        outlives a write, whichever side ends the connection)."""
        if session.failed:
            return
        try:
            session.path.parent.mkdir(parents=True, exist_ok=True)
            with session.path.open("a", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        except OSError as exc:
            session.failed = True
            if not self._failing:
                self._failing = True
                self.log.error("session_recording_failed", path=str(session.path), error=str(exc),
                               call_uuid=session.call_uuid)
        else:
            if self._failing:
                self._failing = False
                self.log.info("session_recording_resumed", path=str(session.path))


class _Session:
    """One connection's recording: buffers until the connect reply names the call."""

    def __init__(self, recorder: SessionRecorder, t0: float):
        self.recorder = recorder
        self.t0 = t0
        self.held: list[tuple[float, str, bytes]] = []
        self.decided = False
        self.recording = False
        self.failed = False
        self.done = False
        self.path: Path | None = None
        self.call_uuid: str | None = None

    def observe(self, direction: str, raw: bytes) -> None:
        """The FrameObserver: never raises, never blocks."""
        try:
            self._observe(direction, raw)
        except Exception as exc:  # recording must never fail a call
            self.decided, self.recording = True, False
            self.recorder.log.error("session_recording_failed", error=repr(exc))

    def _observe(self, direction: str, raw: bytes) -> None:
        t = self.recorder.clock() - self.t0
        if not self.decided:
            self.held.append((t, direction, raw))
            if direction == FS:
                self._decide(raw)
            return
        if self.recording and not self.done:
            self.recorder._enqueue((self, (t, direction, raw)))
            if direction == FS and _is_goodbye(raw):  # FreeSWITCH closes right after it
                self.done = True
                self.recorder._enqueue((self, eof_line(t, FS)))

    def _decide(self, raw: bytes) -> None:
        self.decided = True
        catalog = self.recorder.catalog()
        try:
            data = _parse(raw).event()
        except (EslProtocolError, ValueError):
            data = None
        settings = catalog.config.settings
        uuid = data.get(N.Header.UNIQUE_ID) if data is not None else None
        if data is None or not uuid:
            self.recorder.log.warning("session_not_recorded", reason="no channel data in the first frame")
            return
        number = data.variable(N.Var.FSROUTER_NUMBER) or data.get(N.Header.CALLER_DESTINATION_NUMBER) or ""
        line = catalog.line_for(number)
        if (line is not None and not line.qa.record) or not sampled(uuid, settings.qa.sample):
            return
        self.recording = True
        self.call_uuid = uuid
        created = _created(data.get(N.Header.CALLER_CHANNEL_CREATED_TIME))
        safe = re.sub(r"[^0-9A-Za-z-]", "_", uuid)  # the uuid comes from the peer: never a path
        self.path = Path(settings.qa.record_sessions) / f"{created:%Y-%m-%d}" / f"{safe}{SUFFIX}"
        folders = settings.folders
        header = {
            "recorded_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "peer": data.get("FreeSWITCH-Hostname") or "FreeSWITCH",
            "description": f"fsrouter call {uuid} to {number or '?'} (line {line.id if line else 'unknown'})",
            "app": f"fsrouter {__version__}",
            "fsrouter_version": __version__,
            "call_uuid": uuid,
            "line": line.id if line else None,
            "config_version": catalog.version,
            "config": str(catalog.config.root),
            "paths": {"config": str(catalog.config.root), "voicemail": str(folders.voicemail),
                      "recordings": str(folders.recordings), "sounds": str(folders.sounds)},
        }
        if self.recorder.employee_status is not None:  # replay sets the same (skip_absent)
            try:
                header["employee_status"] = self.recorder.employee_status()
            except Exception as exc:  # the store may be down: the transcript is still worth having
                self.recorder.log.warning("session_employee_status_unknown", error=repr(exc))
        enqueue = self.recorder._enqueue
        enqueue((self, header_line(header)))
        for held in self.held:
            enqueue((self, held))
        self.held = []


def _parse(raw: bytes) -> Frame:
    frames = FrameParser().feed(raw)
    if len(frames) != 1:
        raise ValueError("not one frame")
    return frames[0]


def _is_goodbye(raw: bytes) -> bool:
    return raw.startswith(b"Content-Type: text/disconnect-notice") and b"Content-Disposition: disconnect" in raw


def _created(raw: str | None) -> datetime:
    if raw and raw.isdigit() and int(raw) > 0:
        return datetime.fromtimestamp(int(raw) / 1e6, tz=timezone.utc)
    return datetime.now(timezone.utc)
