"""The call API the flow engine drives: one method per dptools application.

Every method runs one application through ``sendmsg execute`` and returns when its own
CHANNEL_EXECUTE_COMPLETE arrives; success is read from that event's variables, never from
the ``+OK`` reply (FreeSWITCH always answers ``+OK`` to sendmsg). Every method raises
``CallHungUp`` once the channel is gone and ``EslTimeout`` when FreeSWITCH stays silent.

dptools reference: https://developer.signalwire.com/freeswitch/FreeSWITCH-Explained/Modules/mod-dptools/
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from fsrouter.errors import CallHungUp, EslTimeout
from fsrouter.esl import Event
from fsrouter.esl import names as N
from fsrouter.session.connection import SUBSCRIBED_EVENTS, EslConnection

#: Extra seconds allowed on top of an application's own time limit before giving up on it.
GRACE_S = 15.0

_NOT_ANSWERED = {
    # originate_disposition / hangup cause -> the fallback-relevant outcome
    "NO_ANSWER": "no_answer",
    "NO_USER_RESPONSE": "no_answer",
    "ORIGINATOR_CANCEL": "no_answer",
    "ALLOTTED_TIMEOUT": "no_answer",
    "USER_BUSY": "busy",
    "CALL_REJECTED": "rejected",
    "USER_NOT_REGISTERED": "unreachable",
    "SUBSCRIBER_ABSENT": "unreachable",
    "UNALLOCATED_NUMBER": "unreachable",
    "NO_ROUTE_DESTINATION": "unreachable",
    "DESTINATION_OUT_OF_ORDER": "unreachable",
    "NETWORK_OUT_OF_ORDER": "unreachable",
    "NORMAL_TEMPORARY_FAILURE": "unreachable",
    "RECOVERY_ON_TIMER_EXPIRE": "unreachable",
}


@dataclass(frozen=True)
class BridgeResult:
    """What one ``bridge`` did, from FreeSWITCH's variables (PROTOCOL-NOTES §5).

    outcome: "answered" | "no_answer" | "busy" | "rejected" | "unreachable" | "failed";
    disposition: ``originate_disposition``; dialstatus: ``DIALSTATUS``;
    cause: ``originate_failed_cause`` or ``last_bridge_hangup_cause``;
    other_leg_uuid: the B leg's Unique-ID when it answered.
    """

    outcome: str
    disposition: str | None
    dialstatus: str | None
    cause: str | None
    other_leg_uuid: str | None = None

    @property
    def answered(self) -> bool:
        return self.outcome == "answered"


def classify_bridge(complete: Event, bridged_uuid: str | None) -> BridgeResult:
    """Read a bridge's CHANNEL_EXECUTE_COMPLETE into a BridgeResult."""
    disposition = complete.variable(N.Var.ORIGINATE_DISPOSITION)
    dialstatus = complete.variable(N.Var.DIALSTATUS)
    failed = complete.variable(N.Var.ORIGINATE_FAILED_CAUSE)
    last = complete.variable(N.Var.LAST_BRIDGE_HANGUP_CAUSE)
    if bridged_uuid or disposition == "SUCCESS" or dialstatus == "SUCCESS":
        return BridgeResult("answered", disposition, dialstatus, last,
                            bridged_uuid or complete.variable(N.Var.BRIDGE_UUID))
    cause = failed or disposition or last
    outcome = _NOT_ANSWERED.get(cause or "", "failed")
    return BridgeResult(outcome, disposition, dialstatus, cause)


def arrival_time(raw: str | None) -> datetime:
    """``Caller-Channel-Created-Time`` (µs since the epoch, a decimal string) as an aware UTC
    datetime; now for a missing, non-numeric or implausible value (before 1971, after 9000)."""
    if raw and raw.isascii() and raw.isdigit():
        micros = int(raw)
        if 31_536_000_000_000 <= micros <= 221_845_392_000_000_000:
            return datetime.fromtimestamp(micros / 1e6, tz=timezone.utc)
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class RecordResult:
    """A finished ``record``: path as given; duration_s from ``record_ms`` / 1000, else
    ``record_seconds`` (None if unknown); caller_hung_up: the caller ended it by hanging up."""

    path: str
    duration_s: float | None
    caller_hung_up: bool = False


@dataclass(frozen=True)
class RecordingStats:
    """A stopped ``record_session``: size_bytes (``record_file_size``) and duration_s
    (``record_ms`` / 1000, else ``record_seconds``); None when FreeSWITCH did not say."""

    size_bytes: int | None
    duration_s: float | None


def recording_stats(event: Event | None) -> RecordingStats:
    """Read the recording variables FreeSWITCH sets when a recording stops (capture 04)."""
    if event is None:
        return RecordingStats(None, None)

    def number(name: str) -> float | None:
        raw = event.variable(name)
        try:
            return float(raw) if raw not in (None, "", "_undef_") else None
        except ValueError:
            return None

    size = number(N.Var.RECORD_FILE_SIZE)
    ms = number(N.Var.RECORD_MS)
    seconds = number(N.Var.RECORD_SECONDS)
    return RecordingStats(None if size is None else int(size), ms / 1000 if ms is not None else seconds)


class Call:
    """One live call on an outbound socket, after ``connect``.

    conn: the started EslConnection; data: the channel data from the connect reply;
    execute_timeout_s: upper bound in seconds for applications without a time of their own.
    """

    def __init__(self, conn: EslConnection, data: Event, *, execute_timeout_s: float = 3600.0):
        self.conn = conn
        self.data = data
        self.execute_timeout_s = execute_timeout_s
        self._var_seq = itertools.count(1)
        self._created_at = arrival_time(data.get(N.Header.CALLER_CHANNEL_CREATED_TIME))

    # ------------------------------------------------------------ channel facts
    @property
    def uuid(self) -> str | None:
        """The controlled channel's Unique-ID (see ``channel_uuid``)."""
        return self.conn.channel_uuid

    @property
    def destination(self) -> str:
        """The dialed number, FreeSWITCH header ``Caller-Destination-Number``."""
        return self.data.get(N.Header.CALLER_DESTINATION_NUMBER) or ""

    @property
    def caller(self) -> str:
        """The caller's number, ``Caller-Caller-ID-Number``."""
        return self.data.get(N.Header.CALLER_CALLER_ID_NUMBER) or ""

    @property
    def created_at(self) -> datetime:
        """Arrival time (UTC) from ``Caller-Channel-Created-Time`` (µs since the epoch);
        when that is missing or not a plausible time, the moment the call was handed over."""
        return self._created_at

    def variable(self, name: str) -> str | None:
        """A channel variable as it was when the call was handed over (``variable_<name>``)."""
        return self.data.variable(name)

    @property
    def is_up(self) -> bool:
        return self.conn.is_up

    @property
    def hangup_cause(self) -> str | None:
        return self.conn.hangup_cause

    @property
    def connection_lost(self) -> str | None:
        """Why FreeSWITCH's socket went away before any hangup was seen (``socket_closed``,
        ``socket_error``...), None otherwise: the caller may not have hung up at all."""
        return self.conn.lost

    @property
    def hangup_requested(self) -> str | None:
        """The cause of this side's own ``hangup`` once sent (its events may still be on their way)."""
        return self.conn.hangup_requested

    # ------------------------------------------------------------ applications
    def execute(self, app: str, arg: str | None = None, *, timeout_s: float | None = None) -> Event:
        """Run any dptools application; returns its CHANNEL_EXECUTE_COMPLETE event."""
        return self.conn.execute(app, arg, timeout_s=timeout_s or self.execute_timeout_s)

    def answer(self) -> None:
        """dptools ``answer``."""
        self.execute("answer")

    def set(self, name: str, value: str) -> None:
        """dptools ``set``: a channel variable on this leg."""
        self.execute("set", f"{name}={value}")

    def playback(self, path: str) -> str:
        """dptools ``playback``; returns Application-Response (``FILE PLAYED``, ``FILE NOT FOUND``...)."""
        return self.execute("playback", path).get(N.Header.APPLICATION_RESPONSE) or ""

    def play_and_get_digits(self, prompt: str, *, min_digits: int = 1, max_digits: int = 1,
                            tries: int = 1, timeout_s: float = 5.0, terminators: str = "#",
                            invalid_prompt: str = "silence_stream://250", regex: str = r"\d+",
                            digit_timeout_s: float | None = None) -> str | None:
        """dptools ``play_and_get_digits``: plays ``prompt`` (a key press stops it) and collects DTMF.

        timeout_s: seconds to wait for the first digit after the prompt; digit_timeout_s:
        seconds between digits (default timeout_s). Returns the digits, or None on
        timeout / no valid input. A fresh variable name per request, because FreeSWITCH
        leaves an old result in place when the next one times out (PROTOCOL-NOTES §4).
        """
        var = f"fsrouter_digits_{next(self._var_seq)}"
        arg = " ".join([
            str(min_digits), str(max_digits), str(tries), str(int(timeout_s * 1000)),
            terminators or "none", prompt, invalid_prompt, var, regex,
            str(int((digit_timeout_s or timeout_s) * 1000)),
        ])
        limit = tries * (timeout_s + max_digits * (digit_timeout_s or timeout_s)) + GRACE_S + 600
        done = self.execute("play_and_get_digits", arg, timeout_s=limit)
        value = done.variable(var)
        return value if value and value != "_undef_" else None

    def bridge(self, dial_string: str, *, ring_time_s: float,
               on_answer: Callable[[str | None], None] | None = None) -> BridgeResult:
        """dptools ``bridge`` to ``dial_string``; returns once the bridge ends.

        ring_time_s bounds the ringing (the dial string should carry it, e.g.
        ``{originate_timeout=20}``); on_answer(b_leg_uuid) is called as the event is dispatched
        when CHANNEL_BRIDGE arrives, so the flow knows who answered even if the caller
        hangs up during the conversation. The caller's leg must have
        ``continue_on_fail=true`` and ``hangup_after_bridge=false`` set, or a failed
        bridge hangs the caller up (PROTOCOL-NOTES §5).
        """
        bridged: list[str | None] = []

        def on_bridge(event: Event) -> None:
            other = event.get(N.Header.OTHER_LEG_UNIQUE_ID) or event.get(N.Header.BRIDGE_B_UNIQUE_ID)
            bridged.append(other)
            if on_answer is not None:
                on_answer(other)

        unsubscribe = self.subscribe(N.EventName.CHANNEL_BRIDGE, on_bridge)
        try:
            done = self.execute("bridge", dial_string, timeout_s=self.execute_timeout_s + ring_time_s)
        finally:
            unsubscribe()
        return classify_bridge(done, bridged[0] if bridged else None)

    def record(self, path: str, *, max_s: int, silence_threshold: int = 200, silence_hits_s: int = 3) -> RecordResult:
        """dptools ``record``: blocking recording of the caller into ``path``, at most ``max_s`` seconds.

        A caller who hangs up ends the recording, and FreeSWITCH keeps the file: that is
        how most voice messages end. CHANNEL_HANGUP comes before the application's
        completion (PROTOCOL-NOTES §7), so the completion is waited for past the hangup:
        its figures are this recording's own (CHANNEL_HANGUP_COMPLETE's may be a
        ``record_session``'s, stopped at the hangup). The result then has
        ``caller_hung_up=True`` (length None if no completion came); the caller decides
        what to keep before the call unwinds. raises EslTimeout after ``max_s`` + GRACE_S s.
        """
        try:
            done = self.conn.execute("record", f"{path} {max_s} {silence_threshold} {silence_hits_s}",
                                     timeout_s=max_s + GRACE_S, past_hangup=True)
        except CallHungUp:  # the channel ended without the completion
            return RecordResult(path, None, caller_hung_up=True)
        return RecordResult(path, recording_stats(done).duration_s, caller_hung_up=not self.conn.is_up)

    def record_session(self, path: str) -> None:
        """dptools ``record_session``: record the whole call (both directions) into ``path``.

        Returns at once (capture 04); the recording runs until ``stop_record_session`` or
        hangup. Its size and length are known only when it stops: read them with
        :func:`recording_stats` from stop_record_session's COMPLETE or CHANNEL_HANGUP_COMPLETE.
        """
        self.execute("record_session", path)

    def stop_record_session(self, path: str) -> RecordingStats:
        """dptools ``stop_record_session``; returns the stopped recording's size and length."""
        return recording_stats(self.execute("stop_record_session", path))

    def subscribe(self, event_name: str, handler: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``handler(event)``, as frames are dispatched, for every ``event_name`` event of this
        channel; returns the function that unsubscribes. ValueError for a name outside
        ``SUBSCRIBED_EVENTS``: the opening asks FreeSWITCH not to send the others
        (``nixevent``), or myevents never did (PROTOCOL-NOTES §6).

        The handler runs in whichever greenlet is reading the socket (usually the call's own,
        inside one of its waits). An Exception it raises is logged and the call goes on; it
        must not wait on this call (it would wait for itself) nor let a BaseException of
        its own (a gevent.Timeout it started) escape, which would surface in that wait."""
        if event_name not in SUBSCRIBED_EVENTS:
            raise ValueError(f"{event_name!r} is not among the events a call receives: {sorted(SUBSCRIBED_EVENTS)}")
        self.conn.register_handle(event_name, handler)

        def unsubscribe() -> None:
            try:
                self.conn.unregister_handle(event_name, handler)
            except ValueError:
                pass
        return unsubscribe

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """Hang the channel up with ``cause`` (sendmsg hangup); no-op if already down."""
        self.conn.hangup(cause)

    def end(self, cause: str = "NORMAL_CLEARING", *, timeout_s: float = 10.0) -> Event | None:
        """Hang up if still up, then wait up to ``timeout_s`` for the channel to be torn down.

        Returns CHANNEL_HANGUP_COMPLETE (cause, times, every variable) when it came, else None.
        Never raises for a call that is already gone.
        """
        try:
            self.conn.hangup(cause)
        except (CallHungUp, EslTimeout):
            pass
        self.conn.wait_ended(timeout_s)
        return self.conn.hangup_complete

    def getvar(self, name: str) -> str | None:
        """``api uuid_getvar``: a variable's current raw value, None when unset (``_undef_``)."""
        value = self.conn.api(f"uuid_getvar {self.uuid} {name}").rstrip("\n")
        return None if value in ("_undef_", "") or value.startswith("-ERR") else value
