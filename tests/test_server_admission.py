"""A new call's ``connect`` does not wait behind the steps of calls already in progress.

Two calls get their playback completions in the same turn of the event loop. The first
one to run its step opens a third connection to the server, then goes on and reads its
socket. The third call's ``connect`` must be written before the second call's step runs
(accepted by the first call's greenlet), not after the whole turn (by the listening
socket's watcher, in the next turn). Real sockets, a scripted FreeSWITCH on each.
"""

from __future__ import annotations

import socket
import struct

import gevent
import gevent.event
import pytest
import structlog
from gevent import monkey
from structlog.testing import capture_logs

from fsrouter.replay.fsframes import Channel, command_reply, disconnect_notice
from fsrouter.session.connection import OPENING, EslConnection
from fsrouter.session.server import CallServer
from tests.test_connection_inline import FreeSwitch  # the scripted switch end of a socket

# A socket that blocks the whole process: connecting it must not hand the loop on.
_OsSocket = monkey.get_original("socket", "socket")


class ScriptedSwitch(FreeSwitch):
    """FreeSWITCH's side of one outbound call, dialled from ``sock`` (default: a new
    connection to ``address``): answers every command with +OK and holds the playback's
    completion until ``complete_playback`` (sent without yielding)."""

    def __init__(self, address, uuid: str, sock=None):
        super().__init__(sock if sock is not None else socket.create_connection(address))
        self.channel = Channel(uuid, "+380501112233", "+380441234567", 1_700_000_000_000_000)
        self.playback_sent = gevent.event.Event()
        self.playback_uuid = None

    def play(self) -> None:
        while (frame := self.command()) is not None:
            first = frame.raw.split(b"\n", 1)[0]
            if first == b"connect":
                self.sock.sendall(self.channel.connect_reply())
            elif first == b"exit":
                self.sock.sendall(command_reply("+OK bye") + disconnect_notice(self.channel.uuid, linger=False))
                return
            else:
                self.sock.sendall(command_reply("+OK"))
                if frame.headers.get("execute-app-name") == "playback":
                    self.playback_uuid = frame.headers["Event-UUID"]
                    self.playback_sent.set()

    def complete_playback(self) -> None:
        self.send(self.complete("playback", self.playback_uuid))


def two_calls_step_in_one_turn(server, first_uuid_digit: int) -> list:
    """Two calls reach their playback, then both completions are sent without yielding:
    the server's next loop turn resumes both. Returns the switches' greenlets.

    Both calls must be waiting for the completion itself, their playback's +OK taken in:
    a call still to read its +OK when the completions go out could read both in one turn
    while the other had read its +OK a turn earlier, and step a turn later."""
    calls = []
    handle_call = server.handle_call
    server.handle_call = lambda call, log: (calls.append(call), handle_call(call, log))[1]
    switches = [ScriptedSwitch(server.address, f"5a0c1f9e-0000-4000-8000-0000000000{first_uuid_digit}{n}")
                for n in (1, 2)]
    players = [gevent.spawn(s.play) for s in switches]
    for s in switches:
        assert s.playback_sent.wait(5)
    with gevent.Timeout(5):
        while len(calls) < 2 or any(call.conn._replies for call in calls):  # each +OK taken in
            gevent.sleep(0.001)
    for s in switches:
        s.complete_playback()
    return players


@pytest.mark.parametrize("accept_poll_s, accepted_by_the_first_call", [(0.0, True), (3600.0, False)])
def test_a_call_arriving_during_a_busy_turn_gets_connect_before_the_next_call_steps(
        accept_poll_s, accepted_by_the_first_call):
    newcomer: list = []  # the third connection, opened by whichever call steps first
    seen_by_second: list[bytes] = []

    def handle_call(call, log) -> None:
        call.playback("/tmp/greeting.wav")
        if not newcomer:  # first to step: a new call arrives now, mid-turn
            sock = _OsSocket()
            sock.connect(server.address)  # the kernel completes it; nobody has accepted yet
            newcomer.append(sock)
        else:  # second to step: has the newcomer been told "connect" yet?
            newcomer[0].setblocking(False)
            try:
                seen_by_second.append(newcomer[0].recv(4096, socket.MSG_PEEK))
            except BlockingIOError:
                seen_by_second.append(b"")
        call.hangup()

    server = CallServer(("127.0.0.1", 0), handle_call, log=structlog.get_logger(), reply_timeout_s=5,
                        hangup_timeout_s=2, accept_poll_s=accept_poll_s)
    server.start()
    try:
        players = two_calls_step_in_one_turn(server, 0)
        with gevent.Timeout(5):
            while not seen_by_second:
                gevent.sleep(0.001)
        told = seen_by_second[0]
        if accepted_by_the_first_call:
            assert told == b"".join(OPENING)  # connect, myevents, nixevent, linger
        else:  # within accept_poll_s of the last accept: the next turn's watcher accepts it
            assert told == b""
            newcomer[0].setblocking(True)
            newcomer[0].settimeout(5)
            assert newcomer[0].recv(4096) == b"".join(OPENING)
        newcomer[0].close()
        gevent.joinall(players, timeout=5, raise_error=True)
    finally:
        for sock in newcomer:
            sock.close()
        server.stop(drain_timeout_s=2)


def test_a_call_that_just_ended_leaves_room_for_the_next_before_its_greenlet_is_reaped():
    # max_calls=3 with two calls in playback. The first to step opens C1 and hangs up, so
    # its greenlet accepts C1. The second opens C2 and ends at once: its greenlet is over,
    # but gevent's Group drops it only in a later callback. C1's greenlet starts first and
    # accepts C2 with two calls live: C2 must be served, not handed back as over max_calls.
    newcomers: list = []

    def handle_call(call, log) -> None:
        if len(newcomers) >= 2:  # C1 itself: nothing more to do
            return
        call.playback("/tmp/greeting.wav")
        sock = _OsSocket()
        sock.connect(server.address)
        newcomers.append(sock)
        if len(newcomers) == 1:
            call.hangup()  # reads the reply: accepts C1 on the way
        else:
            call.conn.close()  # ends now, without yielding

    server = CallServer(("127.0.0.1", 0), handle_call, log=structlog.get_logger(), max_calls=3,
                        reply_timeout_s=5, hangup_timeout_s=2, accept_poll_s=0.0)
    server.start()
    try:
        with capture_logs() as logs:
            players = two_calls_step_in_one_turn(server, 1)
            with gevent.Timeout(5):
                while len(newcomers) < 2:
                    gevent.sleep(0.001)
            c2 = socket.socket(fileno=newcomers[1].detach())  # a cooperative socket from here on
            switch = ScriptedSwitch(None, "5a0c1f9e-0000-4000-8000-000000000013", sock=c2)
            assert switch.command().raw == b"connect\n\n"
            switch.send(switch.channel.connect_reply())
            assert switch.command().raw.split(b"\n", 1)[0] == b"myevents"  # served: not "resume"
        assert not any(e["event"] == "call_refused" for e in logs)
        c2.close()
        gevent.joinall(players, timeout=5)
    finally:
        for sock in newcomers:
            if sock.fileno() >= 0:
                sock.close()
        server.stop(drain_timeout_s=2)


def test_an_error_in_before_read_is_logged_and_the_call_goes_on():
    ours, theirs = socket.socketpair()

    def broken() -> None:
        raise RuntimeError("accept failed")

    conn = EslConnection(ours, log=structlog.get_logger(), reply_timeout_s=5, before_read=broken)
    fs = FreeSwitch(theirs)
    try:
        with capture_logs() as logs:
            running = gevent.spawn(conn.execute, "answer", timeout_s=5)
            frame = fs.command()
            fs.send(command_reply("+OK"), fs.complete("answer", frame.headers["Event-UUID"]))
            event = running.get(timeout=5)
        assert event.get("Application-UUID") == frame.headers["Event-UUID"]
        assert any(e["event"] == "before_read_failed" and "accept failed" in e["error"] for e in logs)
    finally:
        conn.close()
        theirs.close()


def test_a_connection_reset_before_the_opening_is_logged_and_closed():
    server = CallServer(("127.0.0.1", 0), lambda call, log: call.hangup(), log=structlog.get_logger(),
                        reply_timeout_s=1, hangup_timeout_s=1)
    server.start()
    try:
        with capture_logs() as logs:
            sock = _OsSocket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.connect(server.address)  # the kernel completes it; nobody has accepted yet
            sock.close()  # linger 0: a reset, as a switch whose caller hung up at once
            with gevent.Timeout(5):
                while not any(e["event"] == "call_gone_at_accept" for e in logs):
                    gevent.sleep(0.01)
        gone = [e for e in logs if e["event"] == "call_gone_at_accept"]
        assert gone[0]["peer"].startswith("127.0.0.1:") and gone[0]["error"]
        assert server.active_calls == 0
    finally:
        server.stop(drain_timeout_s=1)
