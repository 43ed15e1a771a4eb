"""Faults ``fsrouter replay --fault`` injects, and the stand-in FreeSWITCH that takes over after one.

``hangup-at=N``: instead of the recorded frame N the caller hangs up (CHANNEL_HANGUP, the
open application's COMPLETE, the teardown events, the linger notice);
``drop-dtmf``: DTMF events never arrive and ``play_and_get_digits`` gets no input;
``disconnect-mid-frame[=N]``: the connection breaks halfway through frame N (default: the
middle FreeSWITCH frame). Once the call leaves the recording, :class:`StandIn` answers the
engine the way FreeSWITCH would (PROTOCOL-NOTES §3, §7) so the call can end; the replay
then checks that the engine ended it cleanly and wrote its record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from fsrouter.replay.fsframes import (Channel, api_response, command_reply, disconnect_notice, nixevent_reply,
                                      nixevent_types)
from fsrouter.replay.normalize import fix_content_length

KINDS = ("hangup-at", "drop-dtmf", "disconnect-mid-frame")


@dataclass(frozen=True)
class Fault:
    """kind: one of KINDS; frame: 1-based frame number (None: not given)."""

    kind: str
    frame: int | None = None

    def __str__(self) -> str:
        return f"{self.kind}={self.frame}" if self.frame is not None else self.kind


def parse_fault(text: str) -> Fault:
    """``hangup-at=N`` | ``drop-dtmf`` | ``disconnect-mid-frame[=N]``; ValueError otherwise."""
    kind, sep, value = text.partition("=")
    if kind not in KINDS:
        raise ValueError(f"unknown fault {text!r}: one of hangup-at=N, drop-dtmf, disconnect-mid-frame[=N]")
    if kind == "drop-dtmf":
        if sep:
            raise ValueError("drop-dtmf takes no value")
        return Fault(kind)
    if not sep:
        if kind == "hangup-at":
            raise ValueError("hangup-at needs a frame number: hangup-at=N")
        return Fault(kind)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{kind}: frame number must be a positive integer, got {value!r}")
    return Fault(kind, int(value))


_DTMF = re.compile(rb"^Event-Name: DTMF$", re.M)
_PAGD = re.compile(rb"^Application: play_and_get_digits$", re.M)
_APP_DATA = re.compile(rb"^Application-Data: (.*)$", re.M)


def is_dtmf(raw: bytes) -> bool:
    return raw.startswith(b"Content-Length") and _DTMF.search(raw) is not None


def without_digits(raw: bytes) -> bytes:
    """A play_and_get_digits CHANNEL_EXECUTE_COMPLETE as if no key had been pressed."""
    if b"Event-Name: CHANNEL_EXECUTE_COMPLETE" not in raw or not _PAGD.search(raw):
        return raw
    data = _APP_DATA.search(raw)
    parts = unquote(data.group(1).decode()).split() if data else []
    if len(parts) < 8:
        return raw
    var = parts[7].encode()
    lines = [ln for ln in raw.split(b"\n") if not ln.startswith(b"variable_" + var + b":")
             and not ln.startswith(b"variable_" + var + b"_invalid:")]
    lines = [b"variable_read_result: failure" if ln.startswith(b"variable_read_result:") else ln for ln in lines]
    return fix_content_length(b"\n".join(lines))


class StandIn:
    """Plays FreeSWITCH for the rest of a call once it left the recording.

    channel: fsrouter.replay.fsframes.Channel of the call; lingering: the engine asked for
    ``linger``; open_executes: Event-UUIDs sent and not yet completed; nixed: event types
    the engine took back with ``nixevent`` (never sent, as by FreeSWITCH).
    """

    def __init__(self, channel: Channel, *, lingering: bool, open_executes: list[str],
                 nixed: set[str] | frozenset[str] = frozenset()):
        self.channel = channel
        self.lingering = lingering
        self.open = list(open_executes)
        self.nixed = set(nixed)
        self.hung_up = False
        self.closed = False

    def _event(self, name: str, extra: dict | None = None) -> list[bytes]:
        """[the event frame], or [] for a type the engine nixed."""
        return [] if name in self.nixed else [self.channel.event(name, extra or {})]

    def hangup(self, cause: str = "NORMAL_CLEARING") -> list[bytes]:
        """The caller hangs up now: HANGUP, each open app's COMPLETE, teardown, linger notice."""
        if self.hung_up:
            return []
        self.hung_up = True
        ch = self.channel
        frames = self._event("CHANNEL_HANGUP", {"Hangup-Cause": cause})
        for u in self.open:
            frames += self._event("CHANNEL_EXECUTE_COMPLETE", {"Application-UUID": u, "Application-Response": "_none_"})
        self.open = []
        ch.state = "CS_HANGUP"
        frames += self._event("CHANNEL_UNPARK") + self._event("CHANNEL_STATE", {"Hangup-Cause": cause})
        ch.state = "CS_REPORTING"
        frames += self._event("CHANNEL_HANGUP_COMPLETE", {"Hangup-Cause": cause})
        if self.lingering:
            frames.append(disconnect_notice(ch.uuid, linger=True))
        else:
            frames.append(disconnect_notice(ch.uuid, linger=False))
            self.closed = True
        return frames

    def reply(self, frame) -> bytes:
        """Just the reply to a command already sent (its effect, if any, was in the recording)."""
        if (frame.command or "").startswith("api"):
            return api_response("-ERR No such channel!\n" if self.hung_up else "_undef_")
        if (frame.command or "").startswith("nixevent"):
            return nixevent_reply(nixevent_types((frame.command or "").partition(" ")[2]))
        return command_reply("+OK")

    def answer(self, frame) -> list[bytes]:
        """FreeSWITCH's answer to one command after the recording was left."""
        word, _, rest = (frame.command or "").strip().partition(" ")
        headers = {k.lower(): v for k, v in frame.headers.items()}
        if word == "exit":
            self.closed = True
            return [command_reply("+OK bye"), disconnect_notice(self.channel.uuid, linger=False)]
        if word == "api":
            return [api_response("-ERR No such channel!\n" if self.hung_up else "_undef_")]
        if word == "linger":
            self.lingering = True
            return [command_reply("+OK will linger")]
        if word == "nixevent":
            names = nixevent_types(rest)
            self.nixed |= names
            return [nixevent_reply(names)]
        if word != "sendmsg":
            return [command_reply("+OK")]
        frames = [command_reply("+OK")]
        if self.hung_up:
            return frames
        command = headers.get("call-command")
        if command == "hangup":
            return frames + self.hangup(headers.get("hangup-cause") or "NORMAL_CLEARING")
        if command == "execute":
            app = headers.get("execute-app-name", "")
            base = {"Application": app, "Application-UUID": headers.get("event-uuid", "")}
            response = "FILE PLAYED" if app == "playback" else "_none_"
            if app == "bridge":  # nobody answers once the call has left the recording
                self.channel.variables.update({"originate_disposition": "NO_ANSWER", "DIALSTATUS": "NOANSWER",
                                               "originate_failed_cause": "NO_ANSWER"})
            if app == "hangup":
                return frames + self.hangup((headers.get("execute-app-arg") or "").strip() or "NORMAL_CLEARING")
            return (frames + self._event("CHANNEL_EXECUTE", base)
                    + self._event("CHANNEL_EXECUTE_COMPLETE", {**base, "Application-Response": response}))
        return frames
