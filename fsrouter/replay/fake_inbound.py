"""A fake FreeSWITCH inbound event socket (port 8021) for tests of ``bgapi originate``.

Behaves like the real one (PROTOCOL-NOTES §1 and §3, capture 16): greets every
connection with ``Content-Type: auth/request``; ``auth <password>`` gets ``+OK accepted``
or ``-ERR invalid`` and the socket closed; ``event plain ...`` gets ``+OK event listener
enabled plain``; ``bgapi`` gets ``+OK Job-UUID: <u>`` plus a ``Job-UUID`` header (the
one the client sent, else a new one), then a BACKGROUND_JOB event whose own body is the
api result. ``originate <agent> &bridge(<client>)`` is played from the scripted outcomes:
the agent's leg fails (``-ERR USER_BUSY``) or answers (``+OK <leg uuid>``); then the
client answers (CHANNEL_BRIDGE on the agent's leg, later its CHANNEL_HANGUP_COMPLETE) or
not (CHANNEL_HANGUP_COMPLETE with the failure as Hangup-Cause and originate_failed_cause).
"""

from __future__ import annotations

import re
import time
import uuid as uuidlib
from dataclasses import dataclass

import gevent
import gevent.event
from gevent.server import StreamServer

from fsrouter.esl import FrameParser
from fsrouter.replay.fsframes import command_reply, fs_encode

#: Scripted outcome -> hangup cause (what a failed leg reports).
CAUSES = {"busy": "USER_BUSY", "no_answer": "NO_ANSWER", "rejected": "CALL_REJECTED",
          "not_registered": "USER_NOT_REGISTERED", "unreachable": "NO_ROUTE_DESTINATION"}
_ORIGINATE = re.compile(r"^originate (?:\{(?P<avars>[^}]*)\})?(?P<agent>\S+) "
                        r"&bridge\((?:\{(?P<cvars>[^}]*)\})?(?P<client>[^)\s]+)\)$")
_CORE_UUID = "a2cd0dab-d667-45fe-afb5-01228bdb25dc"


@dataclass
class Originated:
    """One ``bgapi originate`` received: agent endpoint, client dial target (its last
    path element is the number), both legs' variables, and when (monotonic s)."""

    agent: str
    client: str
    agent_vars: dict
    client_vars: dict
    at_s: float

    @property
    def client_number(self) -> str:
        return self.client.rsplit("/", 1)[-1]


def _vars(text: str | None) -> dict:
    return dict(p.partition("=")[::2] for p in (text or "").split(",") if p)


def _event(name: str, headers: dict, body: bytes | None = None) -> bytes:
    lines = [f"Event-Name: {name}", f"Core-UUID: {_CORE_UUID}", "FreeSWITCH-Hostname: fs-test-01",
             f"Event-Date-Timestamp: {int(time.time() * 1e6)}"]
    lines += [f"{k}: {fs_encode(str(v))}" for k, v in headers.items()]
    if body is None:
        data = ("\n".join(lines) + "\n\n").encode()
    else:
        data = ("\n".join(lines) + f"\nContent-Length: {len(body)}\n\n").encode() + body
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(data) + data


class FakeInboundFreeSwitch:
    """Listens on 127.0.0.1 (ephemeral port unless given); ``address`` once started.

    password: what ``auth`` must send; clients: client number -> outcomes, one per
    originate in order ("answer" | "busy" | "no_answer" | "rejected" | ...; when the list
    runs out: "answer"); agents: endpoint -> outcome for every originate (default answer).
    After or during a run: ``originates`` (Originated list), ``auth_passwords`` (what was
    sent), ``connections`` (accepted so far), ``commands`` (command lines, auth hidden).
    """

    def __init__(self, password: str = "ClueCon", *, clients: dict | None = None,
                 agents: dict | None = None, port: int = 0):
        self.password = password
        self.clients = {k: list(v) for k, v in (clients or {}).items()}
        self.agents = dict(agents or {})
        self.originates: list[Originated] = []
        self.auth_passwords: list[str] = []
        self.commands: list[str] = []
        self.connections = 0
        self._port = port
        self._server: StreamServer | None = None
        self._socks: set = set()
        self._changed = gevent.event.Event()

    # ------------------------------------------------------------------ control
    def start(self) -> "FakeInboundFreeSwitch":
        self._server = StreamServer(("127.0.0.1", self._port), self._handle)
        self._server.start()
        self._port = self._server.address[1]
        return self

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self._port)

    def stop(self) -> None:
        """Stop listening and drop every connection (FreeSWITCH going down)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for sock in list(self._socks):
            try:
                sock.close()
            except OSError:
                pass
        self._socks.clear()

    def restart(self) -> None:
        """Stop, then listen again on the same port (FreeSWITCH restarted)."""
        self.stop()
        self.start()

    def wait_for(self, predicate, timeout_s: float = 10.0) -> bool:
        """Wait until ``predicate(self)`` is true; re-checked whenever something happens."""
        with gevent.Timeout(timeout_s, False):
            while not predicate(self):
                self._changed.clear()
                self._changed.wait()
            return True
        return predicate(self)

    def _note(self) -> None:
        self._changed.set()

    # ------------------------------------------------------------------ one connection
    def _handle(self, sock, address) -> None:
        self._socks.add(sock)
        self.connections += 1
        self._note()
        parser = FrameParser(commands=True)
        try:
            sock.sendall(b"Content-Type: auth/request\n\n")
            authed = False
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                for frame in parser.feed(data):
                    command = (frame.command or "").strip()
                    word, _, rest = command.partition(" ")
                    self.commands.append("auth ***" if word == "auth" else command)
                    if word == "auth":
                        self.auth_passwords.append(rest)
                        if rest != self.password:
                            sock.sendall(command_reply("-ERR invalid"))
                            return
                        authed = True
                        sock.sendall(command_reply("+OK accepted"))
                    elif not authed:
                        sock.sendall(command_reply("-ERR command not found"))
                    elif word == "event":
                        sock.sendall(command_reply(f"+OK event listener enabled {rest.split()[0]}"))
                    elif word == "bgapi":
                        job = frame.headers.get("Job-UUID") or str(uuidlib.uuid4())
                        sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK Job-UUID: %s\n"
                                     b"Job-UUID: %s\n\n" % (job.encode(), job.encode()))
                        self._bgapi(sock, job, rest)
                    else:
                        sock.sendall(command_reply("-ERR command not found"))
                    self._note()
        except OSError:
            return
        finally:
            self._socks.discard(sock)
            sock.close()
            self._note()

    def _bgapi(self, sock, job: str, command: str) -> None:
        match = _ORIGINATE.match(command)
        name, _, arg = command.partition(" ")
        frames = []
        if match is None:
            result = f"-ERR {name} Command not found!\n"
        else:
            call = Originated(match["agent"], match["client"], _vars(match["avars"]), _vars(match["cvars"]),
                              time.monotonic())
            self.originates.append(call)
            leg = call.agent_vars.get("origination_uuid") or str(uuidlib.uuid4())
            agent = self.agents.get(call.agent, "answer")
            if agent != "answer":
                cause = CAUSES[agent]
                result = f"-ERR {cause}\n"
                frames.append(_event("CHANNEL_HANGUP_COMPLETE", {"Unique-ID": leg, "Hangup-Cause": cause}))
            else:
                result = f"+OK {leg}\n"
                outcomes = self.clients.get(call.client_number, [])
                client = outcomes.pop(0) if outcomes else "answer"
                if client == "answer":
                    other = str(uuidlib.uuid4())
                    frames.append(_event("CHANNEL_BRIDGE", {"Unique-ID": leg, "Bridge-A-Unique-ID": leg,
                                                            "Bridge-B-Unique-ID": other,
                                                            "Other-Leg-Unique-ID": other}))
                    frames.append(_event("CHANNEL_HANGUP_COMPLETE", {"Unique-ID": leg,
                                                                     "Hangup-Cause": "NORMAL_CLEARING"}))
                else:
                    cause = CAUSES[client]
                    frames.append(_event("CHANNEL_HANGUP_COMPLETE", {
                        "Unique-ID": leg, "Hangup-Cause": cause, "variable_originate_failed_cause": cause,
                        "variable_originate_disposition": cause}))
        job_event = _event("BACKGROUND_JOB", {"Job-UUID": job, "Job-Command": name, "Job-Command-Arg": arg},
                           result.encode())
        try:
            sock.sendall(job_event + b"".join(frames))
        except OSError:
            pass
        self._note()
