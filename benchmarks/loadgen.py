"""A lean load generator: FreeSWITCH's side of many outbound-socket calls in one process.

Each call connects to the server under test and answers its commands the way a real
FreeSWITCH 1.11 does on the wire (``../shared/esl-sessions``, PROTOCOL-NOTES §1-§7):
nothing before ``connect``; the connect reply (channel data, ~4 KB, 110 url-encoded
headers); ``+OK`` at once to every ``sendmsg`` (async mode), then CHANNEL_PARK (first
execute), CHANNEL_EXECUTE and CHANNEL_EXECUTE_COMPLETE carrying ``Application-UUID`` = the
``Event-UUID`` received (a random one when none was sent); CHANNEL_ANSWER inside answer;
at hangup CHANNEL_HANGUP, UNPARK, the socket app's own COMPLETE, two CHANNEL_STATEs,
CHANNEL_HANGUP_COMPLETE and the linger notice; ``+OK bye``, the goodbye notice and a close
on ``exit``.

Unlike ``fsrouter.replay.fakefs`` (one object and ~10 freshly built events per call) every
frame here is built once per process with ``fsrouter.replay.fsframes.Channel`` around
placeholder uuids and templated per call with ``bytes.replace``; commands are parsed only
as far as needed. Differences from a real switch, all in the generator's favour of speed
and none visible to the server's logic: events come at once (FreeSWITCH polls its queue
every 20 ms), ``Event-Date-Timestamp`` / ``Event-Sequence`` repeat between calls, and a
bridge to a member who does not answer fails at once (NO_ANSWER) instead of after
``originate_timeout``.

``run_load()`` is the entry point of a generator process (see ``run.py``).
"""

from __future__ import annotations

import itertools
import re
import socket as stdsocket
import struct
import time
import random

import gevent
import gevent.event
import gevent.lock
import gevent.pool
from gevent import socket

from fsrouter.replay.fsframes import Channel, command_reply, disconnect_notice

CALL_PH = "0c0c0c0c-0000-4000-8000-00000000c411"
APP_PH = "0a0a0a0a-0000-4000-8000-0000000000a9"
LEG_PH = "0b0b0b0b-0000-4000-8000-0000000000b1"
_CALL, _APP, _LEG = CALL_PH.encode(), APP_PH.encode(), LEG_PH.encode()
_EVENT_HEAD = b"Content-Length: %d\nContent-Type: text/event-plain\n\n"
_ORIGINATION_UUID = re.compile(rb"origination_uuid=([0-9a-fA-F-]{36})")
_NO_ANSWER = {"originate_disposition": "NO_ANSWER", "DIALSTATUS": "NOANSWER",
              "originate_failed_cause": "NO_ANSWER", "last_bridge_hangup_cause": "NO_ANSWER"}
_ANSWERED = {"originate_disposition": "SUCCESS", "DIALSTATUS": "SUCCESS",
             "last_bridge_hangup_cause": "NORMAL_CLEARING", "bridge_hangup_cause": "NORMAL_CLEARING",
             "bridge_uuid": LEG_PH, "last_bridge_to": LEG_PH, "signal_bond": LEG_PH}


# Setup latency is read off the kernel: the first command's arrival time, stamped as it
# reaches this socket (SO_TIMESTAMPNS, Linux; CLOCK_REALTIME), minus time.time_ns() just
# before connect(). The generator's own clock would add its wake-up: with 200 calls in
# flight one Python process takes several ms to come back to a socket whose command has
# long arrived, which a real switch (a thread blocked in recv per call) does not.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # also the control message's type
_STAMP = struct.Struct("qq")  # struct timespec
_stamping: list = []  # one socket kept open with stamping on (see stamp_arrivals)


def stamp_arrivals(sock) -> bool:
    """Ask the kernel to stamp what arrives at ``sock``; False where it cannot.

    The kernel stamps packets only while some socket asks for it, and turns that on and
    off lazily: one socket of this process keeps asking, so the first command of a call
    made right after another call's close is stamped too, and the first time it waits
    (up to 0.5 s, before any call is timed) until a datagram to itself comes stamped.
    """
    try:
        if not _stamping:
            _stamping.append(_stamping_keeper())
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        return True
    except OSError:
        return False


def _stamping_keeper() -> stdsocket.socket:
    """A TCP connection to itself whose receiving end asks for stamps, tried until a byte
    sent over it arrives stamped (for TCP the kernel reports only stamps it took on arrival)."""
    with stdsocket.create_server(("127.0.0.1", 0)) as listener:
        sender = stdsocket.create_connection(listener.getsockname())
        keeper, _ = listener.accept()
    with sender:
        keeper.setsockopt(stdsocket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        keeper.settimeout(1.0)
        for _ in range(50):
            sender.sendall(b".")
            _, ancillary, _, _ = keeper.recvmsg(16, 64)
            if any(kind == SO_TIMESTAMPNS for _, kind, _ in ancillary):
                break
            time.sleep(0.01)  # blocks the generator: no call has started its clock yet
    return keeper


def send_all(sock, data: bytes) -> None:
    """``data`` written whole: one ``send`` almost always does it. gevent's ``sendall``
    asks the kernel for SO_SNDBUF and arms a timeout on every call (10 getsockopt a
    call); the generator's CPU is what the floor's figure is limited by, so it is kept
    lean."""
    sent = sock.send(data)
    if sent < len(data):
        sock.sendall(data[sent:])


def new_id() -> bytes:
    """A version-4 UUID as bytes, from ``random`` (no syscall: ids only need to differ)."""
    h = "%032x" % ((random.getrandbits(128) & _V4_CLEAR) | _V4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".encode()


_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


def first_arrival(sock) -> tuple[int, bool, bytes]:
    """The first bytes from ``sock``: (arrival in time.time_ns(), stamped, bytes); the
    arrival is the kernel's stamp when ``stamped``, else the time recvmsg returned."""
    data, ancillary, _, _ = sock.recvmsg(65536, 64)
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= _STAMP.size:
            sec, nsec = _STAMP.unpack_from(payload)
            if sec or nsec:
                return sec * 1_000_000_000 + nsec, True, data
    return time.time_ns(), False, data


class Frames:
    """Every frame of a call, built once with placeholder uuids (CALL_PH, APP_PH, LEG_PH).

    Event bodies are cached by (event name, application, extra headers, variables), so a
    process builds each distinct event once however many calls it plays.
    """

    def __init__(self, destination: str, caller: str):
        self.channel = Channel(CALL_PH, caller, destination, int(time.time() * 1e6),
                               {"continue_on_fail": "true", "hangup_after_bridge": "false"})
        self.connect = self.channel.connect_reply()
        self.ok = command_reply("+OK")
        self.replies = {b"myevents": command_reply("+OK Events Enabled"),
                        b"linger": command_reply("+OK will linger"),
                        b"nolinger": command_reply("+OK will not linger"),
                        b"nixevent": command_reply("+OK events nixed"),
                        b"event": command_reply("+OK event listener enabled plain"),
                        b"filter": command_reply("+OK filter added. [Unique-ID]=[%s]" % CALL_PH)}
        self.unknown = command_reply("-ERR command not found")
        self.bye = command_reply("+OK bye") + disconnect_notice(CALL_PH, linger=False)
        self.linger_notice = disconnect_notice(CALL_PH, linger=True)
        self._bodies: dict[tuple, bytes] = {}
        self.teardown = self._teardown()

    def body(self, name: str, app: str | None = None, extra: tuple = (), variables: tuple = (),
             answered: bool = True, state: str = "CS_EXECUTE") -> bytes:
        key = (name, app, extra, variables, answered, state)
        body = self._bodies.get(key)
        if body is None:
            ch = self.channel
            saved = dict(ch.variables)
            ch.answer_state, ch.answered_us, ch.state = ("answered" if answered else "ringing"), 0, state
            if app:
                ch.variables["current_application"] = app
            ch.variables.update(variables)
            body = ("\n".join(ch.data_lines(name, dict(extra))) + "\n\n").encode()
            ch.variables = saved
            self._bodies[key] = body
        return body

    def execute_events(self, app: str, arg: str, response: str = "_none_", variables: tuple = (),
                       before_complete: tuple = ()) -> tuple[bytes, bytes]:
        """(CHANNEL_EXECUTE, CHANNEL_EXECUTE_COMPLETE) bodies for one run of ``app``."""
        base = (("Application", app), ("Application-UUID", APP_PH)) + ((("Application-Data", arg),) if arg else ())
        answered = app != "answer"
        execute = self.body("CHANNEL_EXECUTE", app, base, answered=answered)
        complete = self.body("CHANNEL_EXECUTE_COMPLETE", app, base + (("Application-Response", response),),
                             variables)
        return execute, complete

    def _teardown(self) -> list[tuple[bytes, bytes]]:
        cause = (("Hangup-Cause", "NORMAL_CLEARING"),)
        hangup_vars = (("hangup_cause", "NORMAL_CLEARING"),)
        socket_done = (("Application", "socket"), ("Application-UUID", "5a5a5a5a-0000-4000-8000-00000000050c"),
                       ("Application-Response", "_none_"))
        return [(b"CHANNEL_HANGUP", self.body("CHANNEL_HANGUP", None, cause, hangup_vars, state="CS_HANGUP")),
                (b"CHANNEL_UNPARK", self.body("CHANNEL_UNPARK", None, (), hangup_vars, state="CS_HANGUP")),
                (b"CHANNEL_EXECUTE_COMPLETE", self.body("CHANNEL_EXECUTE_COMPLETE", "socket", socket_done,
                                                        hangup_vars, state="CS_HANGUP")),
                (b"CHANNEL_STATE", self.body("CHANNEL_STATE", None, cause, hangup_vars, state="CS_HANGUP")),
                (b"CHANNEL_STATE", self.body("CHANNEL_STATE", None, cause, hangup_vars, state="CS_REPORTING")),
                (b"CHANNEL_HANGUP_COMPLETE", self.body("CHANNEL_HANGUP_COMPLETE", None, cause, hangup_vars,
                                                       state="CS_REPORTING"))]


def event(body: bytes) -> bytes:
    return _EVENT_HEAD % len(body) + body


class Behaviour:
    """What the far side does: DTMF for each play_and_get_digits, endpoints that answer a
    bridge, and whether playback holds (the held-call load) until ``release`` is set."""

    def __init__(self, digits: str = "1", answering: tuple[str, ...] = (), hold: bool = False):
        self.digits = digits
        self.answering = tuple(a.encode() for a in answering)
        self.hold = hold


#: Seconds a call waits for the server (connect, each send or receive) before it is given
#: up as failed: a peer that leaks a call's socket (greenswitch's own server, when
#: ``connect`` meets a closed session) must not hold the whole run.
STALL_S = 20.0


class CallPlayer:
    """Plays calls against one server; collects per call (setup_s, flow_s, ok, seen_s,
    stamped): setup from the kernel's arrival stamp (``stamped``; else the generator's
    clock since just before connect), flow from the return of connect() to the close,
    seen_s the setup on the generator's clock alone (from connect()'s return to recv's).
    A call the server leaves waiting over ``stall_s`` seconds ends as failed (ok False)."""

    def __init__(self, address: tuple[str, int], frames: list[Frames], behaviour: Behaviour,
                 stall_s: float = STALL_S):
        self.address = address
        self.stall_s = stall_s
        self._frames = itertools.cycle(frames)  # one Frames per DID, called in turn
        self.behaviour = behaviour
        self.results: list[tuple[float, float, bool]] = []
        self.parked = 0
        self.all_parked = gevent.event.Event()
        self.release = gevent.event.Event()
        self.held_target = 0
        self.setup_slots = gevent.lock.BoundedSemaphore(100)  # held load: calls being set up at once
        self._parked_calls: set[bytes] = set()

    def play(self) -> None:
        f = next(self._frames)
        call = new_id()
        if self.behaviour.hold:
            self.setup_slots.acquire()
        first = sock = None
        buf = b""
        lingering = parked = False
        nixed: frozenset[bytes] = frozenset()  # event types the server took back (nixevent)
        ok = False
        t0 = time.perf_counter()
        dialled_ns = arrived_ns = None
        stamped = False
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.stall_s)  # a timeout is an OSError: the call fails, the load goes on
            stamp_arrivals(sock)
            dialled_ns = time.time_ns()
            sock.connect(self.address)
            t0 = time.perf_counter()
            arrived_ns, stamped, data = first_arrival(sock)
            while True:
                if not data:
                    break
                if first is None:
                    first = time.perf_counter()
                buf += data
                while True:
                    end = buf.find(b"\n\n")
                    if end < 0:
                        break
                    head = buf[:end]
                    body_len = 0
                    if b"ontent-length" in head:
                        match = re.search(rb"(?i)content-length: *(\d+)", head)
                        body_len = int(match.group(1)) if match else 0
                        if len(buf) < end + 2 + body_len:
                            break
                    arg_body = buf[end + 2:end + 2 + body_len]
                    buf = buf[end + 2 + body_len:]
                    word = head.split(b"\n", 1)[0].split(b" ", 1)[0]
                    if word == b"connect":
                        send_all(sock, f.connect.replace(_CALL, call))
                    elif word == b"sendmsg":
                        parked = self._sendmsg(f, sock, call, head, arg_body, parked, lingering, nixed)
                    elif word == b"exit":
                        send_all(sock, f.bye.replace(_CALL, call))
                        ok = True
                        return
                    else:
                        if word == b"linger":
                            lingering = True
                        elif word == b"nolinger":
                            lingering = False
                        elif word == b"nixevent":  # mod_event_socket: these types are not sent from now on
                            nixed = nixed | frozenset(head.split(b"\n", 1)[0].split()[1:])
                        reply = f.replies.get(word, f.unknown)
                        send_all(sock, reply.replace(_CALL, call))
                data = sock.recv(65536)
        except OSError:
            pass
        finally:
            if sock is not None:
                sock.close()
            if self.behaviour.hold:
                self._parked_now(call)
            end_t = time.perf_counter()
            seen_s = (first or end_t) - t0  # on the generator's clock: from its wake-up after connect()
            setup_s = seen_s if first is None else (arrived_ns - dialled_ns) / 1e9
            self.results.append((setup_s, end_t - t0, ok, seen_s, stamped and first is not None))

    def _parked_now(self, call: bytes) -> None:
        """A held call reached its playback (or failed before it): count it once."""
        if call in self._parked_calls:
            return
        self._parked_calls.add(call)
        self.setup_slots.release()
        self.parked += 1
        if self.parked >= self.held_target:
            self.all_parked.set()

    def _sendmsg(self, f: Frames, sock, call: bytes, head: bytes, arg_body: bytes, parked: bool,
                 lingering: bool, nixed: frozenset[bytes] = frozenset()) -> bool:
        fields = {}
        for line in head.split(b"\n")[1:]:
            name, _, value = line.partition(b": ")
            fields[name.lower()] = value
        command = fields.get(b"call-command")
        out = [f.ok]
        if command == b"hangup":
            out += [event(b.replace(_CALL, call)) for name, b in f.teardown if name not in nixed]
            out.append(f.linger_notice.replace(_CALL, call) if lingering
                       else disconnect_notice(call.decode(), linger=False))
            send_all(sock, b"".join(out))
            return parked
        if command != b"execute":
            send_all(sock, f.ok)
            return parked
        app = fields.get(b"execute-app-name", b"").decode("utf-8", "replace")  # a server's bytes, not ours
        arg = (arg_body or fields.get(b"execute-app-arg", b"")).decode("utf-8", "replace")
        app_uuid = fields.get(b"event-uuid") or new_id()
        if not parked and b"CHANNEL_PARK" not in nixed:
            out.append(event(f.body("CHANNEL_PARK", None, (), answered=False).replace(_CALL, call)))
        leg = new_id()
        extra_events, response, variables = [], "_none_", ()
        if app == "answer":
            extra_events.append((b"CHANNEL_ANSWER", f.body("CHANNEL_ANSWER")))
        elif app == "playback":
            response = "FILE PLAYED"
        elif app == "play_and_get_digits":
            digits = self.behaviour.digits
            var = arg.split()[7] if len(arg.split()) > 7 else "pagd_result"
            variables = ((var, digits), ("read_result", "success"))
            extra_events += [(b"DTMF", f.body("DTMF", None, (("DTMF-Digit", d), ("DTMF-Duration", "2000"),
                                                           ("DTMF-Source", "RTP")))) for d in digits]
        elif app == "bridge":
            raw = arg.encode()
            if any(endpoint in raw for endpoint in self.behaviour.answering):
                found = _ORIGINATION_UUID.search(raw)
                leg = found.group(1) if found else leg
                bridge = (("Bridge-A-Unique-ID", CALL_PH), ("Bridge-B-Unique-ID", LEG_PH),
                          ("Other-Type", "originatee"), ("Other-Leg-Unique-ID", LEG_PH))
                extra_events += [(b"CHANNEL_BRIDGE", f.body("CHANNEL_BRIDGE", None, bridge)),
                                 (b"CHANNEL_UNBRIDGE", f.body("CHANNEL_UNBRIDGE", None, bridge))]
                variables = tuple(_ANSWERED.items())
            else:
                variables = tuple(_NO_ANSWER.items())
        execute, complete = f.execute_events(app, arg, response, variables)
        sub = lambda body: event(body.replace(_CALL, call).replace(_APP, app_uuid).replace(_LEG, leg))  # noqa: E731
        if b"CHANNEL_EXECUTE" not in nixed:
            out.append(sub(execute))
        out += [sub(b) for name, b in extra_events if name not in nixed]
        if app == "playback" and self.behaviour.hold:
            send_all(sock, b"".join(out))
            self._parked_now(call)
            self.release.wait()
            out = []
        out.append(sub(complete))
        send_all(sock, b"".join(out))
        return True


def run_load(port: int, calls: int, concurrency: int, *, destinations: tuple[str, ...] = ("+380441234567",),
             caller: str = "+380501112233", digits: str = "1", answering: tuple[str, ...] = (),
             hold=None, max_s: float | None = None, stall_s: float = STALL_S) -> dict:
    """Play ``calls`` calls against 127.0.0.1:``port`` with ``concurrency`` in flight,
    dialling ``destinations`` (DIDs) in turn.

    max_s: seconds after which no new call is started (the calls in flight finish), so a
    slow server gets fewer calls rather than a longer run; None: all ``calls``.
    stall_s: seconds a call waits for the server at any one step before it fails.

    hold: None, or (parked, release) multiprocessing events: every call then holds its
    playback; ``parked`` is set once all ``calls`` are parked, the calls end once
    ``release`` is set. Returns {"results": [CallPlayer's tuples], "start": t, "end": t}
    with t from time.monotonic() (system-wide, comparable between processes).
    """
    frames = [Frames(destination, caller) for destination in destinations]
    player = CallPlayer(("127.0.0.1", port), frames, Behaviour(digits, answering, hold is not None), stall_s)
    pool = gevent.pool.Pool(concurrency)
    start = time.monotonic()
    if hold is not None:
        player.held_target = calls
        parked_evt, release_evt = hold
        for _ in range(calls):
            pool.spawn(player.play)
        pool_wait = gevent.spawn(pool.join)
        player.all_parked.wait()
        parked_evt.set()
        gevent.get_hub().threadpool.apply(release_evt.wait)
        player.release.set()
        pool_wait.join()
    else:
        deadline = start + max_s if max_s is not None else None
        for _ in range(calls):
            if deadline is not None and time.monotonic() >= deadline:
                break
            pool.spawn(player.play)  # waits while ``concurrency`` calls are in flight
        pool.join()
    return {"results": player.results, "start": start, "end": time.monotonic()}
