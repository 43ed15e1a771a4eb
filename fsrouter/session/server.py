"""The outbound event-socket server: one greenlet per call, bounded, drained on stop.

FreeSWITCH's dialplan ``socket`` application connects here once per call. Accepting is
event-driven (gevent ``StreamServer`` on libev): greenswitch's own ``OutboundESLServer``
sleeps 0.1 s whenever no connection is waiting, which costs ~100 ms of call setup.

A new call must not wait behind the calls in progress: until ``connect`` is sent, the
caller's channel sits in the ``socket`` application (post-dial silence). The listening
socket is served first in each turn of the event loop (libev priority), but under load
one turn resumes every call whose frames arrived, and lasts as long as all of them take.
So each call's greenlet also accepts: just before it reads its own socket again, it
calls ``accept`` on the listening socket, non-blocking, if the listening socket was last
served ``accept_poll_s`` (1 ms) or more ago, and sends the opening to each connection it
finds: ``connect``, ``myevents``, ``nixevent`` and ``linger`` in one write (FreeSWITCH
reads and answers them one at a time; ``EslConnection.open``), three round trips fewer
than waiting for each reply. Greenlets that read no call socket (the
call-record writer, callbacks) do not, so this shortens the wait rather than bounding
it. With 200 calls in flight the benchmark's setup p99 (connect() -> the opening's
arrival, stamped by the kernel) is 6-9 ms on a shared 2-core machine
(benchmarks/RESULTS.md).
"""

from __future__ import annotations

from time import monotonic as _monotonic
from typing import Callable, Sequence

import gevent
import gevent.pool
from gevent.server import StreamServer

from fsrouter.errors import CallHungUp, EslProtocolError, EslTimeout
from fsrouter.esl import commands
from fsrouter.session.call import Call
from fsrouter.session.connection import OPENING, EslConnection, FrameObserver, new_uuid

#: Refused calls handed back at once: at least this many exchanges in flight (else 4 x max_calls).
REFUSALS_MIN = 1000
#: Seconds a refusal waits for each reply: a real FreeSWITCH answers in well under 1 ms.
REFUSAL_TIMEOUT_S = 1.0
#: Seconds a call cut at shutdown gets, beyond its teardown's own waits (a command reply
#: and the hangup), to write its call record.
RECORD_GRACE_S = 5.0
#: Seconds after the listening socket was last served from which a call's greenlet,
#: about to read its socket, accepts waiting calls itself (see the module docstring).
ACCEPT_POLL_S = 0.001

#: The flow's entry point: ``handle_call(call, log)``; it owns the call until it returns.
CallHandler = Callable[[Call, object], None]


class _AcceptFirstServer(StreamServer):
    """A StreamServer whose listening socket is served before the calls' sockets in each
    loop iteration (libev priority 2), and also by ``accept_waiting`` from the calls'
    greenlets: a busy engine still sends a new call's ``connect`` promptly, so
    FreeSWITCH's caller does not wait behind calls already in progress.

    accept_poll_s: seconds since the listening socket was last served after which
    ``accept_waiting`` accepts.
    """

    def __init__(self, *args, accept_poll_s: float = ACCEPT_POLL_S, **kwargs):
        super().__init__(*args, **kwargs)
        self.accept_poll_s = accept_poll_s
        self._accept_due = 0.0  # time.monotonic() from which accept_waiting accepts

    def start_accepting(self):
        if self._watcher is None:
            self._watcher = self.loop.io(self.socket.fileno(), 1, priority=2)
            self._watcher.start(self._accept_now)

    def _accept_now(self) -> None:
        self._accept_due = _monotonic() + self.accept_poll_s
        self._do_read()  # StreamServer's: accept until none waits (EAGAIN), hand each on

    def accept_waiting(self) -> None:
        """Accept the connections waiting now, unless the listening socket was served in
        the last ``accept_poll_s`` seconds or the server is not accepting. Never blocks."""
        if self._watcher is not None and _monotonic() >= self._accept_due:
            self._accept_now()


class CallServer:
    """Accepts outbound-socket connections and runs ``handle_call`` for each.

    listen: (host, port), port 0 for an ephemeral one; max_calls: concurrent calls, over
    it a new call is handed back (``connect``, ``resume``, ``exit``) so FreeSWITCH's
    dialplan falls through to the next engine or the backup route;
    timeouts in seconds: reply_timeout_s (command replies), execute_timeout_s (apps with
    no time of their own), hangup_timeout_s (teardown); log: a structlog logger;
    new_id: Event-UUID factory; observer_for(sock) -> FrameObserver | None (QA recorder);
    accept_poll_s: seconds after which a call's greenlet, about to read, accepts waiting
    calls (module docstring); opening: the commands written at accept (``OPENING``; a
    replay of a recording made without ``nixevent`` sets ``OPENING_WITHOUT_NIXEVENT``).
    """

    def __init__(self, listen: tuple[str, int], handle_call: CallHandler, *, log,
                 max_calls: int = 1000, reply_timeout_s: float = 5.0,
                 execute_timeout_s: float = 3600.0, hangup_timeout_s: float = 10.0,
                 new_id: Callable[[], str] = new_uuid,
                 observer_for: Callable[[object], FrameObserver | None] | None = None,
                 accept_poll_s: float = ACCEPT_POLL_S, opening: Sequence[bytes] = OPENING):
        self.handle_call = handle_call
        self.log = log
        self.max_calls = max_calls
        self.reply_timeout_s = reply_timeout_s
        self.execute_timeout_s = execute_timeout_s
        self.hangup_timeout_s = hangup_timeout_s
        self.new_id = new_id
        self.observer_for = observer_for
        self.opening = opening  # the property keeps its bytes joined
        self.calls = gevent.pool.Group()
        # Calls not yet over. The Group drops a finished greenlet only in a later loop
        # callback, and calls' greenlets accept in between (module docstring): counting the
        # Group would refuse a call for room a finished one still seemed to hold.
        self._live: set[gevent.Greenlet] = set()
        self._refusals = gevent.pool.Group()  # short exchanges handing refused calls back
        self._stopping = False
        self._server = _AcceptFirstServer(listen, self._serve_connection, spawn=self._spawn, backlog=1024,
                                          accept_poll_s=accept_poll_s)

    @property
    def opening(self) -> tuple[bytes, ...]:
        """The commands written to each new call at accept (see ``EslConnection.open``)."""
        return self._opening

    @opening.setter
    def opening(self, commands_: Sequence[bytes]) -> None:
        self._opening = tuple(commands_)
        self._opening_bytes = b"".join(self._opening)

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Bind and start accepting (returns at once)."""
        self._server.start()
        self.log.info("server_listening", host=self.address[0], port=self.address[1],
                      max_calls=self.max_calls)

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port)."""
        return self._server.address[:2]

    @property
    def active_calls(self) -> int:
        """Calls in progress: accepted and not yet done with their connection."""
        return len(self._live)

    def stop(self, drain_timeout_s: float = 30.0) -> int:
        """Stop accepting, let calls finish for up to ``drain_timeout_s`` seconds, then end the rest.

        A call cut short still hangs up and writes its record: the cut waits for that up
        to reply_timeout_s + hangup_timeout_s + RECORD_GRACE_S seconds (the teardown's own
        waits), so a switch slow to confirm the hangup does not cost the record.
        Returns the number of calls that had to be cut short.
        """
        self._stopping = True
        self._server.close()
        self.log.info("server_draining", active_calls=len(self.calls), drain_timeout_s=drain_timeout_s)
        self.calls.join(timeout=drain_timeout_s)
        left = len(self._live)
        if left:
            self.log.warning("server_drain_timeout", calls_cut=left)
            self.calls.kill(timeout=self.reply_timeout_s + self.hangup_timeout_s + RECORD_GRACE_S)
        self._refusals.kill(timeout=1.0)
        self.log.info("server_stopped")
        return left

    # ------------------------------------------------------------------ calls
    def _spawn(self, func, handle, close, args):
        """StreamServer's spawn hook: ``func(handle, close, (sock, address))`` in our call group,
        or, over ``max_calls`` / while stopping, hand the call back to FreeSWITCH."""
        if self._stopping or len(self._live) >= self.max_calls:
            reason = "stopping" if self._stopping else "max_calls"
            self.log.warning("call_refused", reason=reason, active_calls=len(self._live), peer=args[1][0])
            if len(self._refusals) >= max(4 * self.max_calls, REFUSALS_MIN):  # a flood: do not even talk
                close(*args)
                return None
            return self._refusals.spawn(func, self._refuse, close, args)
        try:  # the opening goes out at accept time: setup latency is accept latency
            # (~300 bytes into a fresh socket's empty send buffer: never a partial write,
            # and a send here must not wait, as it may run in the event loop itself)
            opening = self._opening_bytes
            if args[0].send(opening) != len(opening):
                raise OSError("opening not written whole")
        except OSError as exc:  # the caller hung up (FreeSWITCH reset the socket) before the accept
            self.log.info("call_gone_at_accept", peer=f"{args[1][0]}:{args[1][1]}", error=str(exc))
            close(*args)
            return None
        greenlet = self.calls.spawn(func, handle, close, args)
        self._live.add(greenlet)
        greenlet.rawlink(self._live.discard)  # killed before it ran: _serve_connection never ends
        greenlet.link_exception(self._call_crashed)
        return greenlet

    def _refuse(self, sock, address) -> None:
        """Give the call back to FreeSWITCH's dialplan: ``connect``, ``resume``, ``exit``.

        Closing the socket alone is not enough: without ``resume`` (or the channel variable
        ``socket_resume=true``) FreeSWITCH hangs the caller up when the socket app returns
        (PROTOCOL-NOTES §7); with it, the dialplan goes on to the next engine or the backup.
        """
        conn = EslConnection(sock, log=self.log, new_id=self.new_id, reply_timeout_s=min(self.reply_timeout_s, REFUSAL_TIMEOUT_S))
        try:
            conn.connect()
            conn.send_raw(commands.resume())
            conn.exit(timeout_s=min(self.hangup_timeout_s, REFUSAL_TIMEOUT_S))
        except (CallHungUp, EslTimeout, EslProtocolError) as exc:
            self.log.info("call_refusal_incomplete", error=str(exc))
        finally:
            conn.close()

    def _call_crashed(self, greenlet) -> None:
        self.log.error("call_greenlet_crashed", error=repr(greenlet.exception))

    def _serve_connection(self, sock, address) -> None:
        """One call from ``connect`` to ``exit``; never lets an error reach the server."""
        conn = EslConnection(sock, log=self.log.bind(peer=f"{address[0]}:{address[1]}"), new_id=self.new_id,
                             reply_timeout_s=self.reply_timeout_s,
                             observer=self.observer_for(sock) if self.observer_for else None,
                             before_read=self._server.accept_waiting)
        # No conn.start(): this greenlet reads the socket itself whenever it waits.
        # conn.log: bound to the peer, and to the call_uuid from the connect reply on.
        try:
            data = conn.open(already_sent=True, opening=self.opening)  # written by _spawn
            self.handle_call(Call(conn, data, execute_timeout_s=self.execute_timeout_s), conn.log)
            conn.exit(timeout_s=self.hangup_timeout_s)
        except CallHungUp:
            conn.log.info("call_gone_before_flow", hangup_cause=conn.hangup_cause)
        except (EslTimeout, EslProtocolError) as exc:
            conn.log.warning("call_session_failed", error=str(exc), error_code=exc.code)
        except gevent.GreenletExit:
            conn.log.warning("call_cut_by_shutdown")
            raise
        except Exception:
            conn.log.exception("call_session_crashed")
        finally:
            conn.close()
            self._live.discard(gevent.getcurrent())  # room for the next call from now on
