"""Frames as a real FreeSWITCH 1.11 writes them, for the fake FreeSWITCH and the benchmark.

Shapes follow ``shared/esl-sessions`` (PROTOCOL-NOTES §1-§3): events are
``Content-Length: N\\nContent-Type: text/event-plain\\n\\n`` + a body of url-encoded
``Name: value`` lines ending in a blank line; the connect reply is a command/reply shaped
like an event whose ``Reply-Text`` is ``%2BOK%0A``.
"""

from __future__ import annotations

import time
from importlib import resources

from fsrouter.esl.names import EventName

#: Bytes FreeSWITCH leaves as they are in header values (PROTOCOL-NOTES §2).
_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,/()*!$'~-_.")
_ENC = {b: (chr(b) if b in _SAFE else "%%%02X" % b) for b in range(256)}


def fs_encode(value: str) -> str:
    """Percent-encode a header value the way FreeSWITCH's switch_url_encode does (uppercase hex)."""
    raw = value.encode("utf-8")
    if all(b in _SAFE for b in raw):
        return value
    return "".join(_ENC[b] for b in raw)


def _load_channel_data() -> list[tuple[str, str]]:
    text = resources.files("fsrouter.replay").joinpath("data/channel_data.txt").read_text()
    pairs = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition(": ")
            pairs.append((name, value))
    return pairs


_TEMPLATE = _load_channel_data()
_EVENT_LEVEL = {"Event-Name", "Core-UUID", "FreeSWITCH-Hostname", "FreeSWITCH-Switchname",
                "FreeSWITCH-IPv4", "FreeSWITCH-IPv6", "Event-Date-Local", "Event-Date-GMT",
                "Event-Date-Timestamp", "Event-Calling-File", "Event-Calling-Function",
                "Event-Calling-Line-Number", "Event-Sequence"}


class Channel:
    """The fake's view of the controlled channel: identity, state and variables.

    uuid: Unique-ID; caller / destination: numbers; created_us: Caller-Channel-Created-Time
    (µs since the epoch); variables: channel variables (plain values, encoded on output).
    """

    def __init__(self, uuid: str, caller: str, destination: str, created_us: int,
                 variables: dict[str, str] | None = None):
        self.uuid = uuid
        self.caller = caller
        self.destination = destination
        self.created_us = created_us
        self.answered_us = 0
        self.state = "CS_EXECUTE"
        self.answer_state = "ringing"
        self.sequence = 1000
        self.variables: dict[str, str] = {"uuid": uuid, "call_uuid": uuid, "direction": "inbound"}
        self.variables.update(variables or {})
        substitutions = {
            "Unique-ID": uuid, "Channel-Unique-ID": uuid, "Caller-Unique-ID": uuid,
            "Channel-Call-UUID": uuid,
            "Caller-Caller-ID-Number": caller, "Channel-Caller-ID-Number": caller,
            "Caller-Orig-Caller-ID-Number": caller, "Channel-Orig-Caller-ID-Number": caller,
            "Caller-ANI": caller, "Channel-ANI": caller,
            "Caller-Destination-Number": destination, "Channel-Destination-Number": destination,
            "Caller-Channel-Created-Time": str(created_us), "Channel-Channel-Created-Time": str(created_us),
            "Caller-Profile-Created-Time": str(created_us), "Channel-Profile-Created-Time": str(created_us),
        }
        self._static = []
        for name, value in _TEMPLATE:
            if name.startswith("variable_") or name in _EVENT_LEVEL:
                continue
            self._static.append((name, fs_encode(substitutions[name]) if name in substitutions else value))
        self._core = dict((n, v) for n, v in _TEMPLATE if n in _EVENT_LEVEL)

    def _event_level(self, name: str) -> list[str]:
        self.sequence += 1
        now_us = int(time.time() * 1e6)
        return [
            f"Event-Name: {name}", f"Core-UUID: {self._core['Core-UUID']}",
            f"FreeSWITCH-Hostname: {self._core['FreeSWITCH-Hostname']}",
            f"FreeSWITCH-Switchname: {self._core['FreeSWITCH-Switchname']}",
            f"FreeSWITCH-IPv4: {self._core['FreeSWITCH-IPv4']}", f"FreeSWITCH-IPv6: {self._core['FreeSWITCH-IPv6']}",
            f"Event-Date-Timestamp: {now_us}", f"Event-Sequence: {self.sequence}",
        ]

    def _channel_lines(self) -> list[str]:
        lines = []
        for name, value in self._static:
            if name == "Channel-State":
                value = self.state
            elif name in ("Answer-State",):
                value = self.answer_state
            elif name in ("Caller-Channel-Answered-Time", "Channel-Channel-Answered-Time"):
                value = str(self.answered_us)
            lines.append(f"{name}: {value}")
        return lines

    def data_lines(self, name: str, extra: dict[str, str] | None = None) -> list[str]:
        """All lines of an event body (without the final blank line)."""
        lines = self._event_level(name) + self._channel_lines()
        lines += [f"{k}: {fs_encode(v)}" for k, v in (extra or {}).items()]
        lines += [f"variable_{k}: {fs_encode(v)}" for k, v in self.variables.items()]
        return lines

    def connect_reply(self, *, async_mode: bool = True, full: bool = True) -> bytes:
        """The reply to ``connect``: channel data + command/reply tail (PROTOCOL-NOTES §1)."""
        lines = self.data_lines("CHANNEL_DATA")
        lines += ["Content-Type: command/reply", "Reply-Text: %2BOK%0A",
                  f"Socket-Mode: {'async' if async_mode else 'static'}",
                  f"Control: {'full' if full else 'single-channel'}"]
        return ("\n".join(lines) + "\n\n").encode()

    def event(self, name: str, extra: dict[str, str] | None = None) -> bytes:
        """One ``text/event-plain`` frame for this channel."""
        body = ("\n".join(self.data_lines(name, extra)) + "\n\n").encode()
        return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body


def command_reply(text: str) -> bytes:
    return f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode()


def api_response(body: str) -> bytes:
    data = body.encode()
    return b"Content-Type: api/response\nContent-Length: %d\n\n" % len(data) + data


def disconnect_notice(uuid: str, *, linger: bool, channel_name: str = "loopback/socket_async-b",
                      linger_time: int = -1) -> bytes:
    """``text/disconnect-notice``: the linger notice, or the final goodbye."""
    if linger:
        return (f"Content-Type: text/disconnect-notice\nControlled-Session-UUID: {uuid}\n"
                f"Content-Disposition: linger\nChannel-Name: {channel_name}\nLinger-Time: {linger_time}\n"
                "Content-Length: 0\n\n").encode()
    body = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
    return (f"Content-Type: text/disconnect-notice\nControlled-Session-UUID: {uuid}\n"
            f"Content-Disposition: disconnect\nContent-Length: {len(body)}\n\n").encode() + body


#: Event type names mod_event_socket knows (switch_name_event), as fsrouter spells them.
EVENT_TYPES = frozenset(v for k, v in vars(EventName).items() if k.isupper() and v != EventName.ALL)
_EVENT_TYPES_CI = {name.upper(): name for name in EVENT_TYPES}


def nixevent_types(args: str) -> set[str]:
    """The event types a ``nixevent`` with these arguments takes back, as mod_event_socket
    reads them: names matched ignoring case, ``ALL`` for every type, unknown names
    skipped (none known: FreeSWITCH replies ``-ERR no keywords supplied``)."""
    names = args.split()
    if any(n.upper() == EventName.ALL for n in names):
        return set(EVENT_TYPES)
    return {_EVENT_TYPES_CI[n.upper()] for n in names if n.upper() in _EVENT_TYPES_CI}


def nixevent_reply(names: set[str]) -> bytes:
    """FreeSWITCH's reply to a ``nixevent`` that took back ``names`` (nixevent_types)."""
    return command_reply("+OK events nixed" if names else "-ERR no keywords supplied")
