"""Replay one transcript against the engine: act as FreeSWITCH, check every command.

The player dials the engine like FreeSWITCH's ``socket`` application and walks the
transcript in order: a recorded ``fs`` frame is sent (ids bound so far substituted, see
:mod:`fsrouter.replay.normalize`), a recorded ``app`` frame is awaited from the engine and
compared with what the engine sent. The first difference ends the replay as
``diverged``, with the frame number, the file line, the reason and a unified diff. At
the recorded end the engine must close the connection and send nothing more.

The engine's waits are event-driven, so a replay takes milliseconds; ``wait_s`` only
bounds how long the player waits for a command the engine never sends (a divergence).
The engine's clock (``clock``, a ReplayClock) is the recorded call's arrival
(``Caller-Channel-Created-Time``, or ``at``) plus the transcript's ``t``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

import gevent
from gevent import socket

from fsrouter.errors import EslProtocolError
from fsrouter.esl import FrameParser
from fsrouter.esl import names as N
from fsrouter.replay.faults import Fault, StandIn, is_dtmf, without_digits
from fsrouter.replay.fsframes import Channel, nixevent_types
from fsrouter.replay.normalize import Normalizer
from fsrouter.replay.transcript import APP, FS, Transcript

_CREATED = ("Caller-Channel-Created-Time", "Channel-Channel-Created-Time",
            "Caller-Profile-Created-Time", "Channel-Profile-Created-Time")
_APP_UUID = re.compile(rb"^Application-UUID: (\S+)$", re.M)
#: A reply's outer Content-Type, on any line of its header block.
_REPLY_HEAD = re.compile(rb"^Content-Type: (?:command/reply|api/response)$", re.M)


def _head_end(raw: bytes) -> int:
    end = raw.find(b"\n\n")
    return len(raw) if end < 0 else end


@dataclass
class Divergence:
    """Where a replay left the recording: frame (1-based, all frames), line (in the file),
    expected (recorded command text or a description), got (the engine's, None: nothing),
    reason, diff (unified, may be empty)."""

    frame: int
    line: int
    expected: str
    got: str | None
    reason: str
    diff: str = ""

    def render(self) -> str:
        text = f"frame {self.frame} (line {self.line}): {self.reason}"
        if self.diff:
            text += "\n" + self.diff
        elif self.got is None:
            text += "\n--- recorded\n" + _first_lines(self.expected)
        return text


@dataclass
class ReplayResult:
    """The outcome of one transcript.

    status: "ok" | "diverged" | "error"; commands: engine commands matched; call_uuid;
    divergence (None when ok); note: what else happened (fault, prefix-only transcript);
    produced: (t, direction, raw) as replayed (``--update`` writes it).
    """

    name: str
    status: str
    commands: int = 0
    call_uuid: str | None = None
    divergence: Divergence | None = None
    note: str = ""
    route: list = field(default_factory=list)
    produced: list = field(default_factory=list)


def _first_lines(text: str, n: int = 6) -> str:
    lines = text.rstrip("\n").split("\n")
    return "\n".join(lines[:n]) + ("\n..." if len(lines) > n else "")


def describe(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class Player:
    """Plays ``transcript`` against the engine at ``address`` (see module doc).

    recorded_paths / replay_paths: folders on each side (normalize); at: replay as if the
    call arrived at this aware datetime; fault: a Fault to inject; update: keep going past
    differing commands (same shape only) to re-bless the app side.
    """

    def __init__(self, transcript: Transcript, address: tuple[str, int], *, clock, recorded_paths=None,
                 replay_paths=None, at: datetime | None = None, fault: Fault | None = None,
                 update: bool = False, wait_s: float = 2.0):
        self.t = transcript
        self.address = address
        self.clock = clock
        self.norm = Normalizer(dict(recorded_paths or {}), dict(replay_paths or {}))
        self.at = at
        self.fault = fault
        self.update = update
        self.wait_s = wait_s
        self.parser = FrameParser(commands=True)
        self.inbox: list = []
        self.sock = None
        self.engine_closed = False
        self.open_executes: list[str] = []
        self.unreplied: list = []
        self.lingering = False
        self.nixed: set[str] = set()  # event types the engine took back (nixevent): the stand-in sends none
        self.produced: list[tuple[float, str, bytes]] = []
        self.result = ReplayResult(transcript.name, "ok")

    # ------------------------------------------------------------------ running
    def run(self) -> ReplayResult:
        data = self.t.connect_data()
        self.result.call_uuid = data.get(N.Header.UNIQUE_ID) if data is not None else None
        self._start_clock(data)
        try:
            self.sock = socket.create_connection(self.address)
            # small frames back to back: without this Nagle + delayed ACK cost ~40 ms per command
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            return self._error(f"cannot reach the engine at {self.address}: {exc}")
        try:
            self._play(data)
        except EslProtocolError as exc:
            self._error(f"the engine sent bytes that are not an ESL frame: {exc}")
        finally:
            self.sock.close()
        self.result.produced = self.produced
        return self.result

    def _start_clock(self, data) -> None:
        raw = data.get(N.Header.CALLER_CHANNEL_CREATED_TIME) if data is not None else None
        recorded = (datetime.fromtimestamp(int(raw) / 1e6, tz=timezone.utc)
                    if raw and raw.isdigit() and int(raw) > 0 else None)
        base = self.at or recorded or datetime.now(timezone.utc)
        if self.at is not None and raw and raw.isdigit():
            new = str(int(self.at.timestamp() * 1e6))
            self.norm.bind(raw, new)  # every *-Created-Time header now says `at`
        self.clock.start(base)

    def _play(self, data) -> None:
        entries = self.t.entries[: self.t.eof_at] if self.t.eof_at is not None else self.t.entries
        fault = self.fault
        if fault is not None and fault.kind == "disconnect-mid-frame" and fault.frame is None:
            fs_numbers = [i for i, e in enumerate(entries, 1) if e.direction == FS][1:]
            fault = Fault(fault.kind, fs_numbers[len(fs_numbers) // 2] if fs_numbers else 1)
            self.fault = fault
        if fault is not None and fault.frame is not None and fault.frame > len(entries):
            raise ValueError(f"--fault {fault}: frame {fault.frame} is beyond this transcript's "
                             f"{len(entries)} frames")
        for number, entry in enumerate(entries, 1):
            if fault is not None and fault.frame is not None and number >= fault.frame and entry.direction == FS:
                if fault.kind == "hangup-at":
                    return self._take_over(data, number, hangup=True)
                if fault.kind == "disconnect-mid-frame":
                    raw = self.norm.outgoing(entry.raw)
                    self._send(raw[: max(1, len(raw) // 2)], entry.t, record=False)
                    self.result.note = f"fault {fault}: connection broken {len(raw) // 2} bytes into frame {number}"
                    return
            if entry.direction == FS:
                raw = entry.raw
                if fault is not None and fault.kind == "drop-dtmf":
                    if is_dtmf(raw):
                        continue
                    raw = without_digits(raw)
                if not self._send(self.norm.outgoing(raw), entry.t):
                    return self._diverged(number, entry.line, describe(entry.raw), None,
                                          "the engine closed the connection before FreeSWITCH's frame")
                continue
            got = self._next_command()
            if got is None:
                why = ("the engine closed the connection" if self.engine_closed
                       else f"the engine sent nothing within {self.wait_s:g} s")
                return self._diverged(number, entry.line, describe(entry.raw), None,
                                      f"{why}; recorded: {_summary(entry.frame)}")
            match = self.norm.compare(entry.raw, got.raw)
            self._note_command(got)
            self.produced.append((entry.t, APP, got.raw))
            if not match.ok:
                if fault is not None:
                    self.result.note = (f"fault {fault}: the call left the recording at frame {number} "
                                        f"({_summary(got)} instead of {_summary(entry.frame)})")
                    return self._take_over(data, number, hangup=False, pending=[got])
                if self.update and self.norm.bind_positions(entry.raw, got.raw):
                    self.result.note = self.result.note or f"re-blessed from frame {number}"
                    self.result.commands += 1
                    continue
                ours, recorded = _summary(got), _summary(entry.frame)
                headline = f"{ours}: {match.reason}" if ours == recorded else \
                    f"{ours} instead of {recorded} ({match.reason})"
                return self._diverged(number, entry.line, describe(entry.raw), describe(got.raw), headline,
                                      match.diff)
            self.result.commands += 1
        if self.t.eof is None:
            self.result.note = "transcript ends without an eof line (a recording cut short): checked up to its end"
            return
        extra = self._next_command()
        if extra is not None:
            return self._diverged(len(entries) + 1, 0, "<end of the connection>", describe(extra.raw),
                                  f"the engine sent {_summary(extra)} after the recorded end")
        if not self.engine_closed and self.t.eof.direction == APP:
            self._diverged(len(entries) + 1, 0, "<the engine closes the connection>", None,
                           f"the engine kept the connection open for {self.wait_s:g} s")

    # ------------------------------------------------------------------ faults
    def _take_over(self, data, number: int, *, hangup: bool, pending=()) -> None:
        """Leave the recording at frame ``number``; StandIn answers until the engine ends the call."""
        created = data.get(N.Header.CALLER_CHANNEL_CREATED_TIME) if data is not None else None
        channel = Channel(self.result.call_uuid or "", data.get(N.Header.CALLER_CALLER_ID_NUMBER) or "",
                          data.get(N.Header.CALLER_DESTINATION_NUMBER) or "",
                          int(created) if created and created.isdigit() else 0)
        stand_in = StandIn(channel, lingering=self.lingering, open_executes=self.open_executes, nixed=self.nixed)
        waiting = [f for f in self.unreplied if not pending or f is not pending[0]]
        if waiting:  # FreeSWITCH answers every command, also on a channel going down
            self._send(b"".join(stand_in.reply(f) for f in waiting), self.clock.t)
        if hangup:
            self.result.note = f"fault {self.fault}: the caller hung up at frame {number}"
            self._send(b"".join(stand_in.hangup("NORMAL_CLEARING")), self.clock.t)
        queue = list(pending)
        commands = 0
        with gevent.Timeout(self.wait_s * 5, False):
            while not stand_in.closed:
                frame = queue.pop(0) if queue else self._next_command()
                if frame is None:
                    break
                commands += 1
                reply = stand_in.answer(frame)
                self._note_command(frame)
                if not self._send(b"".join(reply), self.clock.t):
                    break
        if not stand_in.closed and not self.engine_closed:
            self.result.status = "diverged"
            self.result.divergence = Divergence(number, 0, "<the engine ends the call>", None,
                                                f"after fault {self.fault} the engine did not end the call")
        self.result.note += f"; the engine then sent {commands} more command(s) and ended the call"

    # ------------------------------------------------------------------ wire
    def _send(self, raw: bytes, t: float, *, record: bool = True) -> bool:
        self.clock.at(t)
        if self.unreplied and _REPLY_HEAD.search(raw, 0, _head_end(raw)):  # the connect reply's is line ~100
            self.unreplied.pop(0)
        if record:
            self.produced.append((t, FS, raw))
            for u in _APP_UUID.findall(raw):
                if u.decode() in self.open_executes:
                    self.open_executes.remove(u.decode())
        try:
            self.sock.sendall(raw)
        except OSError:
            self.engine_closed = True
            return False
        return True

    def _note_command(self, frame) -> None:
        self.unreplied.append(frame)
        headers = {k.lower(): v for k, v in frame.headers.items()}
        if headers.get("call-command") == "execute" and headers.get("event-uuid"):
            self.open_executes.append(headers["event-uuid"])
        if (frame.command or "").startswith("linger"):
            self.lingering = True
        if (frame.command or "").startswith("nixevent "):
            self.nixed |= nixevent_types(frame.command.partition(" ")[2])

    def _next_command(self):
        """The engine's next command frame; None if it closed or sent nothing within wait_s."""
        while not self.inbox:
            if self.engine_closed:
                return None
            data = None
            with gevent.Timeout(self.wait_s, False):
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    data = b""
            if data is None:
                return None
            if not data:
                self.engine_closed = True
                return None
            self.inbox.extend(self.parser.feed(data))
        return self.inbox.pop(0)

    # ------------------------------------------------------------------ outcomes
    def _diverged(self, number: int, line: int, expected: str, got: str | None, reason: str, diff: str = "") -> None:
        self.result.status = "diverged"
        self.result.divergence = Divergence(number, line, expected, got, reason, diff)

    def _error(self, message: str) -> ReplayResult:
        self.result.status = "error"
        self.result.note = message
        return self.result


def _summary(frame) -> str:
    """``sendmsg execute bridge``, ``api uuid_getvar``, ``linger``: what a command is, in a few words."""
    command = (frame.command or "").strip()
    headers = {k.lower(): v for k, v in frame.headers.items()}
    if command.startswith("sendmsg"):
        what = headers.get("call-command", "?")
        if what == "execute":
            return f"sendmsg execute {headers.get('execute-app-name', '?')}"
        return f"sendmsg {what}"
    if command.startswith("nixevent"):
        return "nixevent"
    return " ".join(command.split()[:2]) or "(empty command)"
