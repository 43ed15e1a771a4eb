"""fsrouter's own connection to FreeSWITCH's inbound event socket (port 8021): ``bgapi originate``.

Written on ``fsrouter.esl`` (FrameParser, command serializers) rather than greenswitch's
``InboundESL``: that class parses with its own URL-decode-then-split reader, waits
without timeouts and does not reconnect; here every wait has a timeout in seconds,
replies are matched FIFO under one writer lock, ``bgapi`` results are matched by the
``Job-UUID`` we send (PROTOCOL-NOTES §3, capture 16), and the connection comes back with
backoff when FreeSWITCH restarts.

The password is sent once per connection in ``auth`` and appears in no log and no repr.
Source: https://developer.signalwire.com/freeswitch/FreeSWITCH-Explained/Modules/mod_event_socket_1048924
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable, Sequence

import gevent
import gevent.event
import gevent.lock
import gevent.queue
from gevent import socket

from fsrouter.errors import EslProtocolError, EslTimeout, EslUnavailable
from fsrouter.esl import Event, Frame, FrameParser, commands
from fsrouter.esl import names as N
from fsrouter.session.connection import new_uuid

#: Events the client subscribes to: bgapi results and the originated legs' fate.
EVENTS = (N.EventName.BACKGROUND_JOB, N.EventName.CHANNEL_BRIDGE, N.EventName.CHANNEL_HANGUP_COMPLETE)
#: Seconds to wait before reconnecting, one per failed try in a row (the last repeats).
BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

_RECV_BYTES = 65536
_LOST = None  # put into watchers' queues when the connection drops


@dataclass(frozen=True)
class OriginateResult:
    """What came of ``originate <agent> &bridge(<client>)``.

    outcome: "answered" (the client's leg was bridged to the agent), "agent_failed"
    (the agent's leg never answered), "client_failed" (the agent answered, the client
    did not), "unknown" (connection lost or no result in time); cause: a hangup cause
    (USER_BUSY, NO_ANSWER, ...) or what went wrong.
    """

    outcome: str
    cause: str | None = None

    @property
    def answered(self) -> bool:
        return self.outcome == "answered"


class InboundClient:
    """One long-lived inbound event-socket connection, reconnected with backoff.

    address: (host, port); password: for ``auth`` (never logged); log: structlog logger;
    new_id: Job-UUID / leg-uuid factory; reply_timeout_s / connect_timeout_s: seconds;
    backoff_s: delays between failed connection tries; sleep: ``gevent.sleep`` (tests
    inject one that records the delays).
    """

    def __init__(self, address: tuple[str, int], password: str, *, log,
                 new_id: Callable[[], str] = new_uuid, reply_timeout_s: float = 5.0,
                 connect_timeout_s: float = 5.0, backoff_s: Sequence[float] = BACKOFF_S,
                 sleep: Callable[[float], None] = gevent.sleep):
        self.address = address
        self.__password = password
        self.log = log
        self.new_id = new_id
        self.reply_timeout_s = reply_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.backoff_s = tuple(backoff_s)
        self._sleep = sleep
        self._sock = None
        self._write_lock = gevent.lock.Semaphore()
        self._replies: deque[gevent.event.AsyncResult] = deque()
        self._jobs: dict[str, gevent.event.AsyncResult] = {}
        self._watchers: dict[str, gevent.queue.Queue] = {}
        self._connected = gevent.event.Event()
        self._stopping = False
        self._greenlet: gevent.Greenlet | None = None
        self.connections = 0  # sessions established so far (1 = first, 2 = after one reconnect...)

    def __repr__(self) -> str:
        return f"<InboundClient {self.address[0]}:{self.address[1]} connected={self.connected}>"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> gevent.Greenlet:
        """Spawn the connection greenlet (connect, auth, subscribe, read; again on loss)."""
        self._greenlet = gevent.spawn(self._run)
        self._greenlet.link_exception(self._crashed)
        return self._greenlet

    def _crashed(self, greenlet) -> None:
        self.log.error("esl_inbound_crashed", error=repr(greenlet.exception))

    def stop(self) -> None:
        """Close the connection and stop reconnecting. Idempotent."""
        self._stopping = True
        self._close()
        if self._greenlet is not None:
            self._greenlet.kill(block=True, timeout=5)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        """True once authenticated and subscribed (within ``timeout_s`` seconds)."""
        return self._connected.wait(timeout_s)

    def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                sock = socket.create_connection(self.address, timeout=self.connect_timeout_s)
            except OSError as exc:
                failures = self._backoff(failures, "esl_inbound_connect_failed", error=str(exc))
                continue
            sock.settimeout(None)
            self._sock = sock
            established = False
            try:
                established = self._session(sock)
            except (OSError, EslProtocolError, EslTimeout) as exc:
                if not self._stopping:
                    self.log.warning("esl_inbound_session_failed", error=str(exc))
            finally:
                self._lost()
            if self._stopping:
                break
            failures = 0 if established else failures
            failures = self._backoff(failures, "esl_inbound_disconnected")

    def _backoff(self, failures: int, event: str, **fields) -> int:
        delay = self.backoff_s[min(failures, len(self.backoff_s) - 1)]
        self.log.warning(event, host=self.address[0], port=self.address[1], retry_in_s=delay, **fields)
        self._sleep(delay)
        return failures + 1

    # ------------------------------------------------------------------ one session
    def _session(self, sock) -> bool:
        """Handshake then read until the socket closes; True if the handshake succeeded."""
        parser = FrameParser()
        pending: deque[Frame] = deque()

        def next_frame() -> Frame:
            while not pending:
                with gevent.Timeout(self.reply_timeout_s, EslTimeout("handshake frame", self.reply_timeout_s)):
                    data = sock.recv(_RECV_BYTES)
                if not data:
                    raise OSError("FreeSWITCH closed the connection")
                pending.extend(parser.feed(data))
            return pending.popleft()

        hello = next_frame()
        if hello.content_type != N.ContentType.AUTH_REQUEST:
            raise EslProtocolError(f"expected auth/request, got {hello.content_type!r}")
        sock.sendall(commands.auth(self.__password))
        reply = next_frame()
        if not reply.is_ok:
            self.log.error("esl_inbound_auth_refused", host=self.address[0], port=self.address[1],
                           reply=reply.reply_text)
            return False
        sock.sendall(commands.event("plain", *EVENTS))
        if not next_frame().is_ok:
            raise EslProtocolError("event subscription refused")
        self.connections += 1
        self._connected.set()
        self.log.info("esl_inbound_connected", host=self.address[0], port=self.address[1],
                      connection=self.connections)
        for frame in pending:
            self._dispatch(frame)
        while True:
            data = sock.recv(_RECV_BYTES)
            if not data:
                return True
            for frame in parser.feed(data):
                self._dispatch(frame)

    def _dispatch(self, frame: Frame) -> None:
        ctype = frame.content_type
        if ctype in (N.ContentType.COMMAND_REPLY, N.ContentType.API_RESPONSE):
            if self._replies:
                self._replies.popleft().set(frame)
        elif ctype == N.ContentType.EVENT_PLAIN:
            event = frame.event()
            if event.name == N.EventName.BACKGROUND_JOB:
                waiter = self._jobs.pop(event.get(N.Header.JOB_UUID, ""), None)
                if waiter is not None:
                    waiter.set((event.body or b"").decode("utf-8", "replace"))
            else:
                queue = self._watchers.get(event.get(N.Header.UNIQUE_ID, ""))
                if queue is not None:
                    queue.put(event)
        elif ctype == N.ContentType.DISCONNECT_NOTICE:
            self.log.info("esl_inbound_disconnect_notice")

    def _lost(self) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        self._close()
        exc = EslUnavailable(f"inbound event socket {self.address[0]}:{self.address[1]} lost")
        while self._replies:
            self._replies.popleft().set_exception(exc)
        jobs, self._jobs = self._jobs, {}
        for waiter in jobs.values():
            waiter.set_exception(exc)
        for queue in self._watchers.values():
            queue.put(_LOST)
        if was_connected and not self._stopping:
            self.log.warning("esl_inbound_lost", host=self.address[0], port=self.address[1])

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    # ------------------------------------------------------------------ commands
    def _send(self, data: bytes) -> Frame:
        if not self._connected.is_set() or self._sock is None:
            raise EslUnavailable(f"inbound event socket {self.address[0]}:{self.address[1]} not connected")
        waiter = gevent.event.AsyncResult()
        with self._write_lock:
            self._replies.append(waiter)
            try:
                self._sock.sendall(data)
            except OSError as exc:
                self._replies.remove(waiter)
                raise EslUnavailable(f"write to the inbound event socket failed: {exc}") from None
        try:
            return waiter.get(timeout=self.reply_timeout_s)
        except gevent.Timeout:
            raise EslTimeout("bgapi reply", self.reply_timeout_s) from None

    def bgapi(self, command: str, *, timeout_s: float) -> str:
        """Run ``bgapi <command>`` and return its result, the BACKGROUND_JOB body (e.g.
        ``+OK <uuid>`` or ``-ERR USER_BUSY``). Raises EslUnavailable when not connected or
        the connection drops, EslTimeout after ``timeout_s`` seconds."""
        job_uuid = self.new_id()
        waiter = gevent.event.AsyncResult()
        self._jobs[job_uuid] = waiter
        try:
            reply = self._send(commands.bgapi(command, job_uuid))
            if not reply.is_ok:
                return reply.reply_text or "-ERR bgapi refused"
            return waiter.get(timeout=timeout_s)
        except gevent.Timeout:
            raise EslTimeout(f"BACKGROUND_JOB {job_uuid}", timeout_s) from None
        finally:
            self._jobs.pop(job_uuid, None)

    def originate(self, agent_dial: str, client_dial: str, *, leg_uuid: str, timeout_s: float) -> OriginateResult:
        """``bgapi originate <agent_dial> &bridge(<client_dial>)`` and follow the agent's leg.

        ``agent_dial`` must set ``origination_uuid=<leg_uuid>``: the leg's CHANNEL_BRIDGE
        means the client answered; its CHANNEL_HANGUP_COMPLETE without a bridge means the
        client did not (cause: originate_failed_cause, else Hangup-Cause). Waits at most
        ``timeout_s`` seconds in all; never raises for FreeSWITCH's side (see outcome).
        """
        queue: gevent.queue.Queue = gevent.queue.Queue()
        self._watchers[leg_uuid] = queue
        deadline = gevent.get_hub().loop.now() + timeout_s
        try:
            try:
                body = self.bgapi(f"originate {agent_dial} &bridge({client_dial})", timeout_s=timeout_s)
            except (EslUnavailable, EslTimeout) as exc:
                return OriginateResult("unknown", exc.code)
            if not body.startswith(N.Reply.OK):
                return OriginateResult("agent_failed", body.removeprefix(N.Reply.ERR).strip() or None)
            while True:
                remaining = deadline - gevent.get_hub().loop.now()
                try:
                    event: Event | None = queue.get(timeout=max(remaining, 0))
                except gevent.queue.Empty:
                    return OriginateResult("unknown", "no_result_in_time")
                if event is _LOST:
                    return OriginateResult("unknown", EslUnavailable.code)
                if event.name == N.EventName.CHANNEL_BRIDGE:
                    return OriginateResult("answered")
                if event.name == N.EventName.CHANNEL_HANGUP_COMPLETE:
                    cause = event.variable(N.Var.ORIGINATE_FAILED_CAUSE) or event.get(N.Header.HANGUP_CAUSE)
                    return OriginateResult("client_failed", cause)
        finally:
            self._watchers.pop(leg_uuid, None)
