"""One outbound event-socket connection: framing, replies, events, executes, hangup.

Built on greenswitch's ``OutboundSession`` (its handler registry and vocabulary), with a
thin layer that fixes what it gets wrong for a call-routing engine:

* greenswitch URL-decodes a whole header block before splitting it and decodes bodies as
  UTF-8 (a ``%0A`` in a value or one non-UTF-8 byte breaks the frame): framing here is
  ``fsrouter.esl.FrameParser`` (bytes in, frames out; values decoded one by one).
* greenswitch matches an execute's completion by application *name*
  (``current_application``); here completion is the CHANNEL_EXECUTE_COMPLETE whose
  ``Application-UUID`` equals the ``Event-UUID`` we sent (PROTOCOL-NOTES §4).
* greenswitch waits without timeouts, writes without a lock and polls its event queue
  every second in a second greenlet; here every wait has a timeout in seconds, replies are
  matched FIFO under one writer lock, and the greenlet that waits reads the socket itself
  (see "Who reads the socket" below), so a call costs one greenlet, not three.
* a hangup or a disconnect fails every pending wait with ``CallHungUp``.

Who reads the socket: a greenlet that waits for a reply, an execute's completion or the
hangup reads and dispatches frames itself until what it waits for has come (one greenlet
switch per batch of frames, no hand-over to a reader greenlet). A second greenlet that
waits meanwhile blocks on its own event; when the reading greenlet is done and others
still wait, a reader greenlet takes over for the rest of the call. ``start()`` asks for
that reader greenlet from the beginning (for users that wait in many greenlets at once).
Frames that arrive while no one waits stay in the socket until the next wait; ``is_up``
first takes in whatever has already arrived. Just before each read (which may block and
hand the event loop on) the reading greenlet calls ``before_read``, if given: the call
server accepts waiting calls there (see ``fsrouter.session.server``).

Source: https://developer.signalwire.com/freeswitch/FreeSWITCH-Explained/Modules/mod_event_socket_1048924/
"""

from __future__ import annotations

from collections import deque
from random import getrandbits as _getrandbits
from time import monotonic as _monotonic
from typing import Callable, Sequence

import gevent
import gevent.event
import gevent.lock
from gevent import getcurrent as _getcurrent
from gevent.hub import get_hub as _get_hub
from greenswitch.esl import OutboundSession

from fsrouter.errors import CallHungUp, EslCommandRefused, EslProtocolError, EslTimeout
from fsrouter.esl import Event, Frame, FrameParser, commands
from fsrouter.esl import names as N

#: Observer of raw frames: ``observer(direction, raw_bytes)`` with direction "fs" or "app".
FrameObserver = Callable[[str, bytes], None]

_RECV_BYTES = 65536
#: Seconds an application's completion is waited for after CHANNEL_HANGUP (execute's
#: past_hangup): FreeSWITCH sends it within ~20 ms (PROTOCOL-NOTES §7, §9).
PAST_HANGUP_S = 5.0
#: FreeSWITCH's reply to a sendmsg it takes, byte for byte (every capture): compared whole
#: before asking the frame (~0.05 us against ~0.7 us for Frame.is_ok).
_OK_REPLY = b"Content-Type: command/reply\nReply-Text: +OK\n\n"

#: Events the connection itself acts on; others are parsed only when a handler wants them.
_PARSED_EVENTS = frozenset({
    N.EventName.CHANNEL_EXECUTE_COMPLETE, N.EventName.CHANNEL_HANGUP, N.EventName.CHANNEL_HANGUP_COMPLETE,
})
# Names read for every frame, bound once (a class attribute costs a lookup per use).
_REPLY_TYPES = (N.ContentType.COMMAND_REPLY, N.ContentType.API_RESPONSE)
_EVENT_TYPES = (N.ContentType.EVENT_PLAIN, N.ContentType.EVENT_JSON)
_DISCONNECT_NOTICE = N.ContentType.DISCONNECT_NOTICE
_EXECUTE_COMPLETE = N.EventName.CHANNEL_EXECUTE_COMPLETE
_HANGUP = N.EventName.CHANNEL_HANGUP
_HANGUP_COMPLETE = N.EventName.CHANNEL_HANGUP_COMPLETE
_ANSWER = N.EventName.CHANNEL_ANSWER


_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))  # version and variant bits of a 128-bit int
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_uuid() -> str:
    """A random (version 4) UUID string, for Event-UUIDs and ids of our own.

    Same form as ``str(uuid.uuid4())`` at a third of its cost: these ids only need to be
    unique per channel (an execute's completion is found by them, PROTOCOL-NOTES §4), not
    unguessable, so they come from ``random`` (seeded from os.urandom) rather than a
    syscall per id.
    """
    h = "%032x" % ((_getrandbits(128) & _V4_CLEAR) | _V4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def channel_uuid(data: Event) -> str:
    """The controlled channel's id from the connect reply: ``Unique-ID``, else the same id
    under ``Channel-Unique-ID`` / ``Caller-Unique-ID`` / ``variable_uuid``, else a fresh
    one (so the call still gets a record; FreeSWITCH always sends ``Unique-ID``)."""
    for header in (N.Header.UNIQUE_ID, "Channel-Unique-ID", "Caller-Unique-ID", "variable_uuid"):
        value = data.get(header)
        if value:
            return value
    return "fsrouter-" + new_uuid()


#: The channel events a call is delivered (``Call.subscribe`` accepts only these): what
#: the connection acts on (_PARSED_EVENTS), CHANNEL_ANSWER, the bridge pair and DTMF.
SUBSCRIBED_EVENTS = frozenset(_PARSED_EVENTS | {
    N.EventName.CHANNEL_ANSWER, N.EventName.CHANNEL_BRIDGE, N.EventName.CHANNEL_UNBRIDGE, N.EventName.DTMF,
})
#: The rest of ``myevents``'s fixed list (names.MYEVENTS_TYPES), which no flow reads. A call
#: got four of them (CHANNEL_PARK, CHANNEL_UNPARK, two CHANNEL_STATE) plus a CHANNEL_EXECUTE
#: per application, each ~3 KB that FreeSWITCH serialises and fsrouter receives and frames.
UNREAD_EVENTS = tuple(name for name in N.MYEVENTS_TYPES if name not in SUBSCRIBED_EVENTS)
#: An outbound call's opening, pipelined by ``EslConnection.open``: the channel data,
#: the channel's own events less UNREAD_EVENTS, and the events after hangup
#: (PROTOCOL-NOTES §7). Without ``full`` FreeSWITCH refuses ``nixevent`` and ``linger``
#: (``-ERR command not found``): the call goes on, with every myevents type.
OPENING = (commands.connect(), commands.myevents(), commands.nixevent(*UNREAD_EVENTS), commands.linger())
#: The opening before fsrouter sent ``nixevent``: recordings made with it replay with it.
OPENING_WITHOUT_NIXEVENT = (commands.connect(), commands.myevents(), commands.linger())


class _ReadDeadline(BaseException):
    """Thrown into a greenlet whose inline read reached its wait's deadline (see _recv)."""


class _Slot:
    """One awaited reply or completion: filled by whoever dispatches frames, read by its
    waiter. ``event`` (a gevent Event) exists only while a waiter blocks on it passively."""

    __slots__ = ("value", "error", "done", "event")

    def __init__(self):
        self.value = None
        self.error: BaseException | None = None
        self.done = False
        self.event: gevent.event.Event | None = None

    def set(self, value) -> None:
        self.value = value
        self.done = True
        if self.event is not None:
            self.event.set()

    def set_exception(self, error: BaseException) -> None:
        self.error = error
        self.done = True
        if self.event is not None:
            self.event.set()

    def is_done(self) -> bool:
        return self.done

    def wait(self, timeout_s: float | None) -> None:
        if self.event is None:
            self.event = gevent.event.Event()
        self.event.wait(timeout_s)

    def result(self):
        if self.error is not None:
            raise self.error
        return self.value


class EslConnection(OutboundSession):
    """The controlled channel's socket, as FreeSWITCH's ``socket`` application hands it over.

    sock: a connected (gevent) socket; log: a structlog logger (bound by the caller);
    new_id: factory of Event-UUIDs (inject a deterministic one for replay);
    reply_timeout_s: seconds to wait for a command/reply or api/response;
    observer: optional FrameObserver, told every frame in both directions (QA recorder);
    before_read: optional ``before_read()``, called by the greenlet that reads this socket
    just before each read (it must not block, and what it raises is logged, not raised).
    """

    # Set on few calls or late in a call: class defaults keep them out of every held
    # call's instance dict (memory per parked call, benchmarks/RESULTS.md).
    hangup_requested: str | None = None  # the cause this side's hangup asked for
    lost: str | None = None  # why the socket went before any hangup (see _gone)
    sync_mode = False  # Socket-Mode: static (no async): a reply waits for its app
    _hung_up_at: float | None = None  # time.monotonic() of the hangup
    _lasting: frozenset[str] | set[str] = frozenset()  # executes awaited past the hangup (a set once used)

    def __init__(self, sock, *, log, new_id: Callable[[], str] = new_uuid,
                 reply_timeout_s: float = 5.0, observer: FrameObserver | None = None,
                 before_read: Callable[[], None] | None = None):
        # greenswitch's ESLProtocol.__init__ also builds an event Queue and an auth Event
        # for its own reader loop, which is replaced here: only its handler registry is kept.
        self.event_handlers = {}
        self._lingering = False
        self.sock = sock
        self.connected = True
        self.channel_data: Event | None = None  # the connect reply's channel data
        self.expected_events = {}
        self._outbound_connected = False
        self.log = log
        self.new_id = new_id
        self.reply_timeout_s = reply_timeout_s
        self.observer = observer
        self.before_read = before_read
        self.channel_uuid: str | None = None
        self.hangup_cause: str | None = None
        self.hangup_event: Event | None = None
        self.hangup_complete: Event | None = None
        self.answered = False
        self._parser = FrameParser()
        self._write_lock = gevent.lock.Semaphore()
        self._replies: deque[_Slot] = deque()
        self._executes: dict[str, _Slot] = {}
        self._hung_up = gevent.event.Event()
        self._ended = gevent.event.Event()  # HANGUP_COMPLETE, a disconnect notice, or the socket gone
        self._closed = gevent.event.Event()
        self._reader: gevent.Greenlet | None = None
        self._reading = False  # a greenlet is reading the socket inline (see _await)
        self._passive = 0  # greenlets blocked on an event while another one reads
        self._inbox: deque[Frame] = deque()  # frames parsed and not yet routed (see _dispatch)

    @property
    def session_data(self) -> dict[str, str] | None:
        """greenswitch's name for the channel data: every header of the connect reply,
        url-decoded (parsed on first use), or None before ``connect``."""
        return None if self.channel_data is None else self.channel_data.headers

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> gevent.Greenlet:
        """Read the socket in a reader greenlet of its own from now on (until the socket
        closes), for users that wait in several greenlets at once; without it, waiting
        greenlets read inline. Returns the reader greenlet.

        raises RuntimeError while a greenlet is reading inline (two greenlets must never
        read one socket): call it before the first wait.
        """
        if self._reader is None and self._reading:
            raise RuntimeError("EslConnection.start() while a greenlet reads the socket inline")
        if self._reader is None:
            self._reader = gevent.spawn(self.receive_events)
            self._reader.link_exception(self._reader_crashed)
        return self._reader

    def _reader_crashed(self, greenlet) -> None:
        self.log.error("esl_reader_crashed", error=repr(greenlet.exception))
        self._gone("reader_crashed")

    @property
    def is_up(self) -> bool:
        """True while the controlled channel has not hung up and the socket is open
        (frames that already arrived are taken in first)."""
        if not self._hung_up.is_set():
            self._take_arrived()
        return not self._hung_up.is_set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def wait_closed(self, timeout_s: float) -> bool:
        """Wait until FreeSWITCH's final disconnect or socket close; True if it came."""
        return self._await(self._closed.is_set, self._closed.wait, timeout_s)

    def close(self) -> None:
        """Close the socket (idempotent) and fail whatever still waits."""
        if not self._closed.is_set():
            self._gone("closed")
        try:
            self.sock.close()
        except OSError:
            pass
        if self._reader is not None and self._reader is not gevent.getcurrent():
            self._reader.kill(block=False)

    # ----------------------------------------------------------------- reading
    def _await(self, ready: Callable[[], bool], block: Callable[[float | None], object],
               timeout_s: float | None) -> bool:
        """Wait until ``ready()`` or ``timeout_s`` seconds (None: no limit); True if ready.

        Reads and dispatches frames in this greenlet when nobody else reads the socket;
        otherwise blocks with ``block(timeout_s)`` (an event's wait) while the reading
        greenlet dispatches, and takes over the reading if that greenlet stops first.
        A timeout of 0 still takes in what has already arrived.
        """
        if ready():
            return True
        if timeout_s is not None and timeout_s <= 0:
            self._take_arrived()
            return ready()
        deadline = None if timeout_s is None else _monotonic() + timeout_s
        while True:
            if self._reader is None and not self._reading and not self._closed.is_set():
                self._read_until(ready, deadline)
            else:
                remaining = None if deadline is None else deadline - _monotonic()
                if remaining is not None and remaining <= 0:
                    return ready()
                self._passive += 1
                try:
                    block(remaining)
                finally:
                    self._passive -= 1
            if ready():
                return True
            if self._closed.is_set() or (deadline is not None and _monotonic() >= deadline):
                return ready()

    def _read_until(self, ready: Callable[[], bool], deadline: float | None) -> None:
        """Inline reading: recv and dispatch until ready(), the deadline or the socket's end."""
        self._reading = True
        try:
            while not ready() and not self._closed.is_set():
                timeout = None if deadline is None else deadline - _monotonic()
                if timeout is not None and timeout <= 0 and not self._inbox:
                    return
                try:
                    if not self._take_in(self._recv, self.sock, timeout):
                        return
                except _ReadDeadline:
                    return
            if self._closed.is_set():  # a final disconnect notice: nothing more will come
                self._socket_gone("disconnected")
        finally:
            self._stop_reading()

    def _take_in(self, recv: Callable[..., bytes], *args) -> bool:
        """One step of any reader: route the frames an interrupted reader left in the inbox,
        else ``recv(*args)`` and route what it gives. False once the socket is gone or a
        frame ended the call (the socket is then closed); BlockingIOError and
        _ReadDeadline from ``recv`` pass through to the caller."""
        if self._inbox:
            data = b""
        else:
            if self.before_read is not None:
                self._call_before_read()
            try:
                data = recv(*args)
            except BlockingIOError:
                raise
            except OSError as exc:
                self.log.info("esl_socket_error", error=str(exc))
                self._socket_gone("socket_error")
                return False
            if not data:
                self._socket_gone("socket_closed")
                return False
        if not self._dispatch(data):
            self._socket_gone("frame_rejected")
            return False
        return True

    def _call_before_read(self) -> None:
        try:
            self.before_read()
        except Exception as exc:  # the server's business must not end this call
            self.log.error("before_read_failed", error=repr(exc))

    def _stop_reading(self) -> None:
        self._reading = False
        if self._passive and self._reader is None and not self._closed.is_set():
            self.start()  # others still wait: a reader greenlet reads for them

    @staticmethod
    def _recv(sock, timeout_s: float | None) -> bytes:
        """One recv that gives up with _ReadDeadline after ``timeout_s`` seconds (None: no limit).

        A bare libev timer that throws into this greenlet, as gevent.Timeout does. Not the
        socket's own timeout: that is shared with writes (a large write in another greenlet
        would inherit a read's deadline), and it builds a gevent.Timeout object per
        blocking read, ~4 % of a reference call's instructions (callgrind).
        """
        if timeout_s is None:
            return sock.recv(_RECV_BYTES)
        timer = _get_hub().loop.timer(timeout_s)
        timer.start(_getcurrent().throw, _ReadDeadline)
        try:
            return sock.recv(_RECV_BYTES)
        finally:
            timer.close()

    def _take_arrived(self) -> None:
        """Dispatch whatever has already arrived, without blocking or yielding (inline
        mode only). Reads gevent's underlying non-blocking OS socket (``_sock``) so the
        socket's timeout, which writes use, is never touched; a plain socket is skipped."""
        if self._reader is not None or self._reading or self._closed.is_set():
            return
        os_sock = getattr(self.sock, "_sock", None)
        if os_sock is None:
            return
        self._reading = True
        try:
            while not self._closed.is_set():
                try:
                    if not self._take_in(os_sock.recv, _RECV_BYTES):
                        return
                except BlockingIOError:
                    return
            self._socket_gone("disconnected")
        finally:
            self._stop_reading()

    def _dispatch(self, data: bytes) -> bool:
        """Feed ``data`` to the parser and route every frame it completes, in order; False
        when a malformed frame (EslProtocolError) or a bug in routing ends this call.

        Frames wait in ``_inbox`` until routed: a reader interrupted in a handler (killed,
        or its wait timed out) leaves the rest for the next reader instead of losing them.
        """
        inbox = self._inbox
        try:
            if data:
                inbox.extend(self._parser.feed(data))
            while inbox:
                self.handle_frame(inbox.popleft())
        except EslProtocolError as exc:  # a bad frame or event body ends this call, cleanly
            self.log.warning("frame_rejected", error=str(exc), buffered_bytes=self._parser.buffered)
            return False
        except Exception as exc:
            self.log.error("esl_reader_crashed", error=repr(exc))
            return False
        return True

    def _socket_gone(self, why: str) -> None:
        self._gone(why)
        try:
            self.sock.close()
        except OSError:
            pass

    def receive_events(self) -> None:
        """Reader loop of ``start()``: socket bytes -> FrameParser -> dispatch, in its own
        greenlet, until the socket is gone. Killed (GreenletExit from a handler, or a kill)
        it still ends the call, so no wait is left without a reader."""
        try:
            while not self._closed.is_set() and self._take_in(self.sock.recv, _RECV_BYTES):
                pass
        finally:
            self._socket_gone("reader_stopped" if not self._closed.is_set() else "disconnected")

    def handle_frame(self, frame: Frame) -> None:
        """Route one frame: replies to their waiter (FIFO), events to handlers, notices.

        raises EslProtocolError for a malformed event body (the reader then ends the call).
        """
        if self.observer is not None:
            self.observer("fs", frame.raw)
        ctype = frame.content_type
        if ctype in _EVENT_TYPES:
            name = frame.event_name()
            if name == _ANSWER:
                self.answered = True
            handlers = self.event_handlers
            if (name not in _PARSED_EVENTS or (name == _EXECUTE_COMPLETE and not self._executes)
                    ) and not (handlers and (handlers.get(name) or handlers.get("*"))):
                # nobody reads it (the socket application's own completion, at hangup, is
                # one): skip parsing ~100 url-encoded headers
                return
            self.handle_event(frame.event())  # EslProtocolError: see receive_events
        elif ctype in _REPLY_TYPES:
            if self._replies:
                self._replies.popleft().set(frame)
            else:
                self.log.warning("unexpected_reply", content_type=ctype)
        elif ctype == _DISCONNECT_NOTICE:
            disposition = frame.headers.get(N.Header.CONTENT_DISPOSITION)
            self.log.debug("disconnect_notice", disposition=disposition)
            self._lingering = disposition == N.Disposition.LINGER
            self._hangup_seen(self.hangup_cause)
            self._ended.set()
            if disposition != N.Disposition.LINGER:
                self._closed.set()
        else:
            self.log.debug("frame_ignored", content_type=ctype)

    def handle_event(self, event: Event) -> None:  # greenswitch name, our event type
        # routed by the event's own Event-Name (the last one, as in its dict), not the
        # frame's quick look at the first: they differ on odd input (a repeated name)
        name = event.name
        if name == _EXECUTE_COMPLETE:
            waiter = self._executes.pop(event.get(N.Header.APPLICATION_UUID, ""), None)
            if waiter is not None:
                waiter.set(event)
        elif name == _HANGUP:
            self.hangup_event = event
            self._hangup_seen(event.get(N.Header.HANGUP_CAUSE))
        elif name == _HANGUP_COMPLETE:
            self.hangup_complete = event
            self._hangup_seen(event.get(N.Header.HANGUP_CAUSE))
            self._ended.set()
        handlers = self.event_handlers
        if handlers:
            for handler in handlers.get(name) or handlers.get("*") or ():
                self._safe_exec_handler(handler, event)

    def _safe_exec_handler(self, handler, event) -> None:
        try:
            handler(event)
        except Exception as exc:  # a handler's bug must not kill the reader
            self.log.error("event_handler_failed", handler=getattr(handler, "__name__", repr(handler)),
                           event_name=event.name, error=repr(exc))

    def _hangup_seen(self, cause: str | None) -> None:
        if cause and not self.hangup_cause:
            self.hangup_cause = cause
        if self._hung_up.is_set():
            return
        self._hung_up_at = _monotonic()
        self._hung_up.set()
        self._fail_executes(lasting_too=False)

    def _fail_executes(self, *, lasting_too: bool) -> None:
        """Fail the executes still waiting with CallHungUp: at the hangup all but the
        ``past_hangup`` ones, whose completion comes after CHANNEL_HANGUP (their own wait
        gives up PAST_HANGUP_S after it); once the socket is gone those too."""
        if not self._executes:
            return
        exc = CallHungUp(self.channel_uuid, self.hangup_cause)
        kept = {} if lasting_too else {u: w for u, w in self._executes.items() if u in self._lasting}
        failed, self._executes = self._executes, kept
        for event_uuid, waiter in failed.items():
            if event_uuid not in kept:
                waiter.set_exception(exc)

    def _gone(self, why: str) -> None:
        """The socket is gone: fail every wait (replies too). Gone before any hangup was
        seen, the channel's fate is unknown: ``lost`` keeps why (``socket_closed``...)."""
        if not self._hung_up.is_set() and self.lost is None:
            self.lost = why
        self.connected = False
        self._hangup_seen(self.hangup_cause)
        self._ended.set()
        self._fail_executes(lasting_too=True)
        self._closed.set()
        if self._replies:
            exc = CallHungUp(self.channel_uuid, self.hangup_cause or None)
            while self._replies:
                self._replies.popleft().set_exception(exc)

    # ----------------------------------------------------------------- writing
    def send_raw(self, data: bytes, *, timeout_s: float | None = None, already_sent: bool = False) -> Frame:
        """Write one command and wait for its reply frame (command/reply or api/response).

        Replies are matched FIFO: the waiter is queued under the writer lock, in the same
        order the bytes go out. already_sent: the bytes went out before this connection
        existed (the server writes the opening at accept time); only wait for the reply.
        raises CallHungUp if the socket is gone, EslTimeout after ``timeout_s`` (default
        ``reply_timeout_s``) seconds.
        """
        if self._closed.is_set():
            raise CallHungUp(self.channel_uuid, self.hangup_cause)
        waiter = _Slot()
        with self._write_lock:
            self._replies.append(waiter)
            if not already_sent:
                self._write(data)
        if self.observer is not None:
            self.observer("app", data)
        return self._reply(waiter, self.reply_timeout_s if timeout_s is None else timeout_s)

    def send_pipelined(self, outgoing: Sequence[bytes], *, timeout_s: float | None = None,
                       already_sent: bool = False) -> list[Frame]:
        """Write the ``outgoing`` commands in one go, then wait for their replies; returns them in order.

        FreeSWITCH reads a socket application's commands one at a time from its socket
        (mod_event_socket's ``read_packet``) and answers each before reading the next, so
        a command need not wait for the previous one's reply: one write and one wake-up
        for the lot instead of a round trip each. Only for commands whose replies decide
        nothing about the next ones. already_sent, raises: as ``send_raw``, with
        ``timeout_s`` for each reply in turn.
        """
        timeout = self.reply_timeout_s if timeout_s is None else timeout_s
        return [self._reply(waiter, timeout) for waiter in self._pipeline(outgoing, already_sent)]

    def _pipeline(self, outgoing: Sequence[bytes], already_sent: bool) -> list[_Slot]:
        """Queue a waiter for each command and write them all at once; the waiters, in order."""
        if self._closed.is_set():
            raise CallHungUp(self.channel_uuid, self.hangup_cause)
        waiters = [_Slot() for _ in outgoing]
        with self._write_lock:
            self._replies.extend(waiters)
            if not already_sent:
                self._write(b"".join(outgoing))
        if self.observer is not None:
            for data in outgoing:
                self.observer("app", data)
        return waiters

    def _reply(self, waiter: _Slot, timeout_s: float) -> Frame:
        """The reply ``waiter`` is queued for; EslTimeout after ``timeout_s`` seconds."""
        if not self._await(waiter.is_done, waiter.wait, timeout_s):
            raise EslTimeout("reply", timeout_s, self.channel_uuid)
        return waiter.result()

    def _write(self, data: bytes) -> None:
        """Write ``data`` whole (the caller holds the writer lock); CallHungUp if the socket is gone.

        send, not sendall: gevent's sendall asks the kernel for SO_SNDBUF and chunks, on
        every call; a command almost always goes out whole.
        """
        try:
            sent = self.sock.send(data)
            if sent < len(data):
                self.sock.sendall(data[sent:])
        except OSError:
            self._gone("write_failed")
            raise CallHungUp(self.channel_uuid, self.hangup_cause) from None

    def send(self, data: str):  # greenswitch's signature, kept for its helpers
        return self.send_raw((data + "\n\n").encode())

    def connect(self, *, already_sent: bool = False) -> Event:
        """Send ``connect`` (unless ``already_sent``); returns the channel data (an Event,
        values URL-decoded)."""
        return self._take_channel_data(self.send_raw(commands.connect(), already_sent=already_sent))

    def open(self, *, already_sent: bool = False, opening: Sequence[bytes] = OPENING) -> Event:
        """``opening`` (``connect``, ``myevents``, ``nixevent``, ``linger``) pipelined (see
        ``send_pipelined``): the opening of every outbound call, written at once (unless
        ``already_sent``: its bytes went out before this connection existed). Returns the
        channel data, as ``connect``; the channel is known (``channel_uuid``, ``log``)
        from the connect reply on, before the other replies (an ``-ERR`` among them, as
        without ``full``, ends nothing)."""
        connect, *others = self._pipeline(opening, already_sent)
        data = self._take_channel_data(self._reply(connect, self.reply_timeout_s))
        for waiter in others:
            self._reply(waiter, self.reply_timeout_s)
        return data

    def _take_channel_data(self, reply: Frame) -> Event:
        """The connect reply's channel data, kept; ``log`` gets the call's ``call_uuid``."""
        data = reply.event()
        self.channel_data = data
        self.channel_uuid = channel_uuid(data)
        if data.get(N.Header.SOCKET_MODE) == "static":
            self.sync_mode = True
        self.log = self.log.bind(call_uuid=self.channel_uuid)
        if data.get(N.Header.UNIQUE_ID) is None:
            self.log.warning("connect_reply_without_unique_id")
        self._outbound_connected = True
        return data

    def myevents(self) -> None:
        self.send_raw(commands.myevents())

    def linger(self, timeout=None) -> None:
        self.send_raw(commands.linger(timeout))

    def execute(self, app: str, arg: str | None = None, *, timeout_s: float, past_hangup: bool = False) -> Event:
        """Run a dptools application and wait for its CHANNEL_EXECUTE_COMPLETE.

        The completion is the event whose ``Application-UUID`` equals the fresh
        ``Event-UUID`` sent with the command. raises CallHungUp when the channel hangs up
        first, EslTimeout after ``timeout_s`` seconds, EslCommandRefused when FreeSWITCH
        answers the command with ``-ERR`` (nothing runs, so no completion would come).
        past_hangup: FreeSWITCH sends the application's completion after CHANNEL_HANGUP
        (PROTOCOL-NOTES §7), with the figures it set as it stopped (``record``'s length):
        wait for it up to PAST_HANGUP_S seconds after the hangup (or until the socket is
        gone), and raise CallHungUp only then.
        In sync mode (``Socket-Mode: static``, PROTOCOL-NOTES §8) FreeSWITCH holds the
        reply until the application ends, so the reply is waited for as long as the app.
        """
        if self._hung_up.is_set():
            raise CallHungUp(self.channel_uuid, self.hangup_cause)
        event_uuid = self.new_id()
        waiter = _Slot()
        self._executes[event_uuid] = waiter
        if past_hangup:
            if not isinstance(self._lasting, set):
                self._lasting = set()
            self._lasting.add(event_uuid)
        try:
            reply = self.send_raw(commands.execute(app, arg, event_uuid),
                                  timeout_s=timeout_s if self.sync_mode else None)
            if reply.raw != _OK_REPLY and not reply.is_ok:  # nothing will run: no completion will come
                raise EslCommandRefused(f"execute {app}", reply.reply_text)
            if past_hangup:
                self._await_past_hangup(waiter, app, timeout_s)
            elif not self._await(waiter.is_done, waiter.wait, timeout_s):
                raise EslTimeout(f"{app} completion", timeout_s, self.channel_uuid)
            return waiter.result()
        finally:
            self._executes.pop(event_uuid, None)
            if past_hangup:
                self._lasting.discard(event_uuid)

    def _await_past_hangup(self, waiter: _Slot, app: str, timeout_s: float) -> None:
        """Wait for ``waiter`` up to ``timeout_s`` seconds, and no longer than PAST_HANGUP_S
        after the hangup: in slices, since a read waits for its own deadline."""
        end = _monotonic() + timeout_s
        while not waiter.is_done():
            now = _monotonic()
            if self._closed.is_set() or (self._hung_up_at is not None and now >= self._hung_up_at + PAST_HANGUP_S):
                raise CallHungUp(self.channel_uuid, self.hangup_cause)
            if now >= end:
                raise EslTimeout(f"{app} completion", timeout_s, self.channel_uuid)
            self._await(waiter.is_done, waiter.wait, min(end - now, PAST_HANGUP_S))

    call_command = execute  # greenswitch's name for the same job

    def api(self, command: str, *, timeout_s: float | None = None) -> str:
        """Run an ``api`` command (needs ``full`` socket mode); returns the body text."""
        return self.send_raw(commands.api(command), timeout_s=timeout_s).text()

    def hangup(self, cause: str) -> None:
        """Ask FreeSWITCH to hang the channel up with ``cause`` (does not wait; the
        hangup events follow up to ~20 ms after the reply). ``hangup_requested`` keeps
        the cause from then on; a second hangup sends nothing (the first one's events are
        on their way)."""
        if not self._hung_up.is_set() and self.hangup_requested is None:
            self.send_raw(commands.hangup(cause))
            self.hangup_requested = cause

    def wait_hangup(self, timeout_s: float) -> bool:
        """Wait for CHANNEL_HANGUP (or the socket to go); True if it came in time."""
        return self._await(self._hung_up.is_set, self._hung_up.wait, timeout_s)

    def wait_ended(self, timeout_s: float) -> bool:
        """Wait for CHANNEL_HANGUP_COMPLETE, the linger notice or the socket to go.

        In sync mode FreeSWITCH never sends HANGUP_COMPLETE but does send the linger
        notice (PROTOCOL-NOTES §7), so this returns in every mode. True if it came in time.
        """
        return self._await(self._ended.is_set, self._ended.wait, timeout_s)

    def exit(self, *, timeout_s: float) -> None:
        """Send ``exit`` and wait up to ``timeout_s`` for FreeSWITCH to close."""
        if self._closed.is_set():
            return
        try:
            self.send_raw(commands.exit(), timeout_s=timeout_s)
        except (CallHungUp, EslTimeout):
            return
        self.wait_closed(timeout_s)

    def stop(self) -> None:
        self.close()


__all__ = ["OPENING", "OPENING_WITHOUT_NIXEVENT", "SUBSCRIBED_EVENTS", "UNREAD_EVENTS", "EslConnection", "FrameObserver"]
