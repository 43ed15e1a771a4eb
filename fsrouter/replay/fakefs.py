"""A fake FreeSWITCH: dials the engine over a real TCP socket and plays the switch's side.

It behaves like the real FreeSWITCH 1.11 of ``shared/esl-sessions`` (PROTOCOL-NOTES): it
sends nothing before ``connect``; sends no event type taken back with ``nixevent`` (as
mod_event_socket does: ``+OK events nixed``); answers ``sendmsg`` with ``+OK`` at once (async mode) and
then streams CHANNEL_EXECUTE / CHANNEL_EXECUTE_COMPLETE carrying ``Application-UUID`` = the
``Event-UUID`` received; a failed bridge without ``continue_on_fail`` hangs the caller up;
with bare ``linger`` it never closes by itself and waits for ``exit``. What the other side
does (who answers, digits pressed, when the caller hangs up) comes from a ``Scenario``.
"""

from __future__ import annotations

import re
import time
import uuid as uuidlib

import gevent
from gevent import socket

from fsrouter.esl import FrameParser
from fsrouter.replay.scenario import Executed, Scenario
from fsrouter.replay.fsframes import (Channel, api_response, command_reply, disconnect_notice, nixevent_reply,
                                      nixevent_types)

#: Scenario outcomes for an endpoint -> (originate_disposition, DIALSTATUS, last_bridge_hangup_cause)
OUTCOMES = {
    "no_answer": ("NO_ANSWER", "NOANSWER", "NO_ANSWER"),
    "busy": ("USER_BUSY", "BUSY", "USER_BUSY"),
    "not_registered": ("USER_NOT_REGISTERED", "USER_NOT_REGISTERED", None),
    "rejected": ("CALL_REJECTED", "CALL_REJECTED", "CALL_REJECTED"),
    "no_user_response": ("NO_USER_RESPONSE", "NO_USER_RESPONSE", "NO_USER_RESPONSE"),
}
_FAIL_PRIORITY = ["busy", "rejected", "no_user_response", "no_answer", "not_registered"]
_LEG = re.compile(r"(?:\[(?P<vars>[^\]]*)\])?(?P<endpoint>[^,|\[]+)")


class FakeFreeSwitch:
    """Plays one call against the engine at ``address``; ``run()`` returns when the socket closes.

    After the run: ``commands`` (every frame the engine sent, parsed), ``executed``
    (Executed list), ``hangup_cause``, ``closed_by`` ("app" | "fs"), ``resumed`` (the
    engine sent ``resume``: the dialplan goes on after the socket app), ``transcript``
    (list of (t_s, "fs"|"app", raw bytes)).
    """

    def __init__(self, scenario: Scenario | None = None, *, exit_timeout_s: float = 5.0):
        self.scenario = scenario or Scenario()
        s = self.scenario
        created = s.created_us or int(time.time() * 1e6)
        self.channel = Channel(s.uuid, s.caller, s.destination, created, s.variables)
        self.exit_timeout_s = exit_timeout_s
        self.commands = []
        self.executed: list[Executed] = []
        self.hangup_cause: str | None = None
        self.closed_by: str | None = None
        self.resumed = False
        self.transcript: list[tuple[float, str, bytes]] = []
        self._digits = list(s.digits)
        self._sock = None
        self._t0 = 0.0
        self._lingering = False
        self._hung_up = False
        self._parked = False
        self._hangup_armed = s.hangup_during
        self._session_recording: str | None = None
        self.nixed: set[str] = set()  # event types the engine took back with nixevent

    # ------------------------------------------------------------------ running
    def run(self, address: tuple[str, int], *, timeout_s: float = 30.0) -> "FakeFreeSwitch":
        """Connect, play the call, return when either side closed; gevent.Timeout after
        ``timeout_s`` seconds (the connect included), OSError when the connect fails."""
        parser = FrameParser(commands=True)
        try:
            with gevent.Timeout(timeout_s):  # one deadline for the connect and the call
                self._sock = socket.create_connection(address)
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle + delayed-ACK stalls
                self._t0 = time.monotonic()
                while True:
                    data = self._sock.recv(65536)
                    if not data:
                        self.closed_by = self.closed_by or "app"
                        break
                    frames = parser.feed(data)
                    for frame in frames:  # they arrived together (a pipelined opening): recorded so
                        self.transcript.append((self._t(), "app", frame.raw))
                        self.commands.append(frame)
                    for frame in frames:  # then answered one by one, as FreeSWITCH reads them
                        if not self._command(frame):
                            return self
        finally:
            if self._sock is not None:
                self._sock.close()
        return self

    def _t(self) -> float:
        return round(time.monotonic() - self._t0, 6)

    def _send(self, *frames: bytes) -> None:
        frames = tuple(raw for raw in frames if raw)  # b"": an event the engine nixed
        for raw in frames:
            self.transcript.append((self._t(), "fs", raw))
        self._sock.sendall(b"".join(frames))

    def _event(self, name: str, **extra: str) -> bytes:
        """The event frame, or b"" (not sent) for a type the engine took back with nixevent."""
        if name in self.nixed:
            return b""
        return self.channel.event(name, extra)

    # ------------------------------------------------------------------ commands
    def _command(self, frame) -> bool:
        """Answer one command; False once the connection is over."""
        cmd = (frame.command or "").strip()
        word, _, rest = cmd.partition(" ")
        if word == "connect":
            self._send(self.channel.connect_reply())
        elif word == "myevents":
            self._send(command_reply("+OK Events Enabled"))
        elif word == "nixevent":  # names match ignoring case (switch_name_event); ALL: every type
            names = nixevent_types(rest)
            self.nixed |= names
            self._send(nixevent_reply(names))
        elif word == "linger":
            self._lingering = True
            self._send(command_reply(f"+OK will linger {rest} seconds" if rest else "+OK will linger"))
        elif word == "resume":  # the dialplan goes on when the socket closes
            self.resumed = True
            self._send(command_reply("+OK"))
        elif word == "nolinger":
            self._lingering = False
            self._send(command_reply("+OK will not linger"))
        elif word == "api":
            self._send(api_response(self._api(rest)))
        elif word == "exit":
            self._send(command_reply("+OK bye"), disconnect_notice(self.channel.uuid, linger=False))
            self.closed_by = "fs"
            return False
        elif word == "sendmsg":
            refused = self.scenario.refused_app
            if refused and {k.lower(): v for k, v in frame.headers.items()}.get("execute-app-name") == refused:
                self._send(command_reply(f"-ERR invalid session id [{self.channel.uuid}]"))
            else:
                self._send(command_reply("+OK"))
                self._sendmsg(frame)
        else:
            self._send(command_reply("-ERR command not found"))
        if self._hung_up and not self._lingering:
            self._send(disconnect_notice(self.channel.uuid, linger=False))
            self.closed_by = "fs"
            return False
        return True

    def _api(self, command: str) -> str:
        parts = command.split()
        if len(parts) == 3 and parts[0] == "uuid_getvar":
            if parts[1] != self.channel.uuid or self._hung_up:
                return "-ERR No such channel!\n"
            return self.channel.variables.get(parts[2], "_undef_")
        return f"-ERR {parts[0] if parts else ''} Command not found!\n"

    def _sendmsg(self, frame) -> None:
        headers = {k.lower(): v for k, v in frame.headers.items()}
        if self._hung_up:
            return
        command = headers.get("call-command")
        if command == "hangup":
            if self.scenario.hangup_delay_s:  # commands sent meanwhile are read after the teardown
                gevent.sleep(self.scenario.hangup_delay_s)
            self._teardown(headers.get("hangup-cause") or "NORMAL_CLEARING")
            return
        if command != "execute":
            return
        app = headers.get("execute-app-name", "")
        arg = frame.body.decode() if frame.body else headers.get("execute-app-arg")
        event_uuid = headers.get("event-uuid")
        self.executed.append(Executed(app, arg, event_uuid))
        if not self._parked:
            self._parked = True
            self._send(self._event("CHANNEL_PARK"))
        handler = self._apps.get(app)
        if handler is None and app not in _SIMPLE_APPS:
            self._teardown("DESTINATION_OUT_OF_ORDER")  # unknown application (capture 03)
            return
        base = {"Application": app, "Application-UUID": event_uuid or str(uuidlib.uuid4())}
        if arg is not None:
            base["Application-Data"] = arg
        self.channel.variables["current_application"] = app
        self._send(self._event("CHANNEL_EXECUTE", **base))
        if self.scenario.hangup_on_execute == len(self.executed):
            self._caller_hangup(base, "PLAYBACK ERROR" if app == "playback" else "_none_")
            return
        if handler is None:
            self._send(self._event("CHANNEL_EXECUTE_COMPLETE", **base, **{"Application-Response": "_none_"}))
        else:
            handler(self, arg or "", base)

    def _caller_hangs_up_during(self, app: str) -> bool:
        if self._hangup_armed == app:
            self._hangup_armed = None
            return True
        return False

    # ------------------------------------------------------------------ applications
    def _app_answer(self, arg, base) -> None:
        self.channel.answer_state = "answered"
        self.channel.answered_us = int(time.time() * 1e6)
        self._send(self._event("CHANNEL_ANSWER"),
                   self._event("CHANNEL_EXECUTE_COMPLETE", **base, **{"Application-Response": "_none_"}))

    def _app_set(self, arg, base) -> None:
        name, _, value = arg.partition("=")
        self.channel.variables[name] = value
        self._complete(base)

    _app_export = _app_set

    def _app_multiset(self, arg, base) -> None:
        for pair in arg.split():
            name, _, value = pair.partition("=")
            self.channel.variables[name] = value
        self._complete(base)

    def _complete(self, base, response: str = "_none_") -> None:
        self._send(self._event("CHANNEL_EXECUTE_COMPLETE", **base, **{"Application-Response": response}))

    def _app_playback(self, arg, base) -> None:
        if self._caller_hangs_up_during("playback"):
            self._caller_hangup(base, "PLAYBACK ERROR")
            return
        if self.scenario.playback_s:
            gevent.sleep(self.scenario.playback_s)
        self._complete(base, "FILE PLAYED")

    def _app_play_and_get_digits(self, arg, base) -> None:
        parts = arg.split()
        var, regex = parts[7], parts[8]
        digits = self._digits.pop(0) if self._digits else ""
        dtmf = [self._event("DTMF", **{"DTMF-Digit": d, "DTMF-Duration": "2000", "DTMF-Source": "RTP"})
                for d in digits]
        if self._caller_hangs_up_during("play_and_get_digits"):
            self._send(*dtmf)
            self._caller_hangup(base, "_none_")
            return
        value = digits.rstrip(parts[4]) if parts[4] != "none" else digits
        if value and re.fullmatch(regex, value):
            self.channel.variables[var] = value
            self.channel.variables["read_result"] = "success"
        else:
            self.channel.variables.pop(var, None)
            if value:
                self.channel.variables[f"{var}_invalid"] = value
            self.channel.variables["read_result"] = "success" if value else "failure"
        self._send(*dtmf)
        self._complete(base)

    def _app_record(self, arg, base) -> None:
        seconds = self.scenario.record_seconds  # set when the recording ends, however it ends
        self.channel.variables.update({"record_seconds": str(seconds), "record_ms": str(seconds * 1000),
                                       "record_samples": str(seconds * 8000)})
        if self._caller_hangs_up_during("record"):  # the caller ends the message by hanging up
            self._caller_hangup(base, "_none_")
            return
        self._complete(base)

    def _app_bridge(self, arg, base) -> None:
        dial = re.sub(r"^\{[^}]*\}", "", arg)
        legs = []
        for group in dial.split("|"):
            for m in _LEG.finditer(group):
                leg_vars = dict(p.partition("=")[::2] for p in (m.group("vars") or "").split(",") if p)
                legs.append((m.group("endpoint").strip(), leg_vars.get("origination_uuid")))
        outcomes = [(self.scenario.endpoints.get(ep, "no_answer"), ep, leg) for ep, leg in legs]
        winner = next((o for o in outcomes if o[0] == "answer"), None)
        v = self.channel.variables
        for name in ("originate_failed_cause", "bridge_hangup_cause"):
            v.pop(name, None)
        if winner is None:
            if self._caller_hangs_up_during("ringing"):
                self._caller_hangup(base, "_none_")
                return
            kinds = {o[0] for o in outcomes}
            kind = next((k for k in _FAIL_PRIORITY if k in kinds), "no_answer")
            disposition, dialstatus, last = OUTCOMES[kind]
            v.update({"originate_disposition": disposition, "DIALSTATUS": dialstatus,
                      "originate_failed_cause": disposition})
            if last:
                v["last_bridge_hangup_cause"] = last
            self._complete(base)
            if v.get("continue_on_fail") != "true":
                self._teardown(disposition)  # capture 21: FS hangs the caller up itself
            return
        other = winner[2] or str(uuidlib.uuid4())
        bridge = {"Bridge-A-Unique-ID": self.channel.uuid, "Bridge-B-Unique-ID": other,
                  "Other-Type": "originatee", "Other-Leg-Unique-ID": other,
                  "Other-Leg-Destination-Number": winner[1].rsplit("/", 1)[-1]}
        v.update({"bridge_uuid": other, "last_bridge_to": other, "signal_bond": other})
        self._send(self._event("CHANNEL_BRIDGE", **bridge))
        if self.scenario.transfer_to:
            other = str(uuidlib.uuid4())
            bridge = {**bridge, "Bridge-B-Unique-ID": other, "Other-Leg-Unique-ID": other,
                      "Other-Leg-Destination-Number": self.scenario.transfer_to}
            v.update({"bridge_uuid": other, "last_bridge_to": other, "signal_bond": other})
            self._send(self._event("CHANNEL_BRIDGE", **bridge))
        if self._caller_hangs_up_during("bridge"):
            self._send(self._event("CHANNEL_UNBRIDGE", **bridge))
            self._caller_hangup(base, "_none_")
            return
        if self.scenario.talk_s:
            gevent.sleep(self.scenario.talk_s)
        v.update({"originate_disposition": "SUCCESS", "DIALSTATUS": "SUCCESS",
                  "last_bridge_hangup_cause": "NORMAL_CLEARING", "bridge_hangup_cause": "NORMAL_CLEARING"})
        self._send(self._event("CHANNEL_UNBRIDGE", **bridge))
        self._complete(base)
        if v.get("hangup_after_bridge", "false") == "true":
            self._teardown("NORMAL_CLEARING")

    def _app_record_session(self, arg, base) -> None:
        """Returns at once (capture 04); the recording's figures are set when it stops."""
        self._session_recording = arg.strip()
        self._complete(base)

    def _app_stop_record_session(self, arg, base) -> None:
        self._stop_session_recording()
        self._complete(base)

    def _stop_session_recording(self) -> None:
        """Set record_* as FreeSWITCH does when a record_session stops (capture 04) and write the file."""
        path, self._session_recording = self._session_recording, None
        if path is None:
            return
        ms = self.scenario.session_record_ms
        samples = ms * 8
        channels = 2 if self.channel.variables.get("RECORD_STEREO") == "true" else 1
        size = 44 + samples * 2 * channels
        self.channel.variables.update({"record_file_size": str(size), "record_samples": str(samples),
                                       "record_seconds": str(ms // 1000), "record_ms": str(ms),
                                       "record_completion_cause": "success-maxtime"})
        try:
            with open(path, "wb") as wav:
                wav.write(b"RIFF" + bytes(size - 4))
        except OSError:
            pass  # the real switch may not share our file system either

    def _app_hangup(self, arg, base) -> None:
        self._teardown(arg.strip() or "NORMAL_CLEARING")

    #: dptools application -> emulation (explicit registry; anything else in _SIMPLE_APPS just completes)
    _apps = {
        "answer": _app_answer, "set": _app_set, "export": _app_export, "multiset": _app_multiset,
        "playback": _app_playback, "play_and_get_digits": _app_play_and_get_digits,
        "record": _app_record, "bridge": _app_bridge, "hangup": _app_hangup,
        "record_session": _app_record_session, "stop_record_session": _app_stop_record_session,
    }

    # ------------------------------------------------------------------ hangup
    def _caller_hangup(self, base, response: str) -> None:
        """The caller hangs up mid-application: CHANNEL_HANGUP comes before the COMPLETE (notes §7)."""
        cause = self.scenario.caller_cause
        self.channel.variables["sip_hangup_disposition"] = "recv_bye"
        self._send(self._event("CHANNEL_HANGUP", **{"Hangup-Cause": cause}))
        self._complete(base, response)
        self._teardown(cause, announced=True)

    def _teardown(self, cause: str, *, announced: bool = False) -> None:
        if self._hung_up:
            return
        self._hung_up = True
        self.hangup_cause = cause
        self.channel.variables["hangup_cause"] = cause
        frames = [] if announced else [self._event("CHANNEL_HANGUP", **{"Hangup-Cause": cause})]
        self.channel.state = "CS_HANGUP"
        frames += [
            self._event("CHANNEL_UNPARK"),
            self._event("CHANNEL_EXECUTE_COMPLETE", Application="socket",
                        **{"Application-UUID": str(uuidlib.uuid4()), "Application-Response": "_none_"}),
            self._event("CHANNEL_STATE", **{"Hangup-Cause": cause}),
        ]
        self.channel.state = "CS_REPORTING"
        self._stop_session_recording()  # the media bug closes at hangup: figures in HANGUP_COMPLETE
        frames += [self._event("CHANNEL_STATE", **{"Hangup-Cause": cause}),
                   self._event("CHANNEL_HANGUP_COMPLETE", **{"Hangup-Cause": cause})]
        if self._lingering:
            frames.append(disconnect_notice(self.channel.uuid, linger=True))
        self._send(*frames)


_SIMPLE_APPS = {"sleep", "ring_ready", "pre_answer", "stop_record_session", "record_session",
                "break", "transfer", "unset", "log", "park"}
