"""EslConnection without a reader greenlet: the greenlet that waits reads the socket.

A scripted FreeSWITCH on the other end of a real socket pair; the connection is never
``start()``-ed, as the call server uses it.
"""

from __future__ import annotations

import socket

import gevent
import pytest
import structlog
from structlog.testing import capture_logs

from fsrouter.errors import CallHungUp, EslTimeout
from fsrouter.esl import FrameParser
from fsrouter.replay.fsframes import Channel, command_reply
from fsrouter.session.connection import EslConnection

UUID = "5a0c1f9e-0000-4000-8000-0000000000c1"


class FreeSwitch:
    """The switch's end of the pair: reads commands, sends what the test says."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(5)
        self.parser = FrameParser(commands=True)
        self.pending = []
        self.channel = Channel(UUID, "+380501112233", "+380441234567", 1_700_000_000_000_000)

    def command(self):
        while not self.pending:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.pending.extend(self.parser.feed(data))
        return self.pending.pop(0)

    def send(self, *frames: bytes) -> None:
        self.sock.sendall(b"".join(frames))

    def complete(self, app: str, event_uuid: str) -> bytes:
        return self.channel.event("CHANNEL_EXECUTE_COMPLETE", {"Application": app, "Application-UUID": event_uuid})

    def hangup(self) -> bytes:
        return self.channel.event("CHANNEL_HANGUP", {"Hangup-Cause": "NORMAL_CLEARING"})


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    conn = EslConnection(ours, log=structlog.get_logger(), reply_timeout_s=5)
    fs = FreeSwitch(theirs)
    yield conn, fs
    conn.close()
    theirs.close()


def execute_in_background(conn, app, timeout_s=5.0):
    return gevent.spawn(conn.execute, app, timeout_s=timeout_s)


def test_an_execute_completes_with_no_reader_greenlet(pair):
    conn, fs = pair
    running = execute_in_background(conn, "answer")
    frame = fs.command()
    fs.send(command_reply("+OK"), fs.complete("answer", frame.headers["Event-UUID"]))
    event = running.get(timeout=5)
    assert event.get("Application-UUID") == frame.headers["Event-UUID"]
    assert conn._reader is None, "the waiting greenlet read the socket itself"


def test_a_second_waiter_is_served_while_the_first_reads_and_after_it_stops(pair):
    conn, fs = pair
    playing = execute_in_background(conn, "playback")
    frame = fs.command()
    hangup_seen = gevent.spawn(conn.wait_hangup, 5.0)
    gevent.sleep(0.05)  # both wait now: one reads, the other blocks on its event
    fs.send(command_reply("+OK"), fs.complete("playback", frame.headers["Event-UUID"]))
    playing.get(timeout=5)
    assert not hangup_seen.ready()
    # the reading greenlet is done; the hangup still has to reach the one left waiting
    fs.send(fs.hangup())
    assert hangup_seen.get(timeout=5) is True
    assert conn.hangup_cause == "NORMAL_CLEARING"


def test_a_hangup_that_arrived_while_nobody_waited_is_seen_by_is_up(pair):
    conn, fs = pair
    fs.send(fs.hangup())
    gevent.sleep(0.05)
    assert conn.is_up is False
    assert conn.hangup_cause == "NORMAL_CLEARING"
    with pytest.raises(CallHungUp):
        conn.execute("playback", timeout_s=1)


def test_is_up_stays_true_without_blocking_when_nothing_arrived(pair):
    conn, _fs = pair
    with gevent.Timeout(1):
        assert conn.is_up is True


def test_a_late_reply_goes_to_the_timed_out_command_not_the_next(pair):
    conn, fs = pair
    with pytest.raises(EslTimeout):
        conn.send_raw(b"myevents\n\n", timeout_s=0.05)
    assert fs.command().command == "myevents"
    fs.send(command_reply("+OK Events Enabled"))
    lingering = gevent.spawn(conn.send_raw, b"linger\n\n")
    assert fs.command().command == "linger"
    fs.send(command_reply("+OK will linger"))
    assert lingering.get(timeout=5).headers["Reply-Text"] == "+OK will linger"


def test_a_short_wait_leaves_no_deadline_on_a_large_write(pair):
    conn, fs = pair
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    with pytest.raises(EslTimeout):
        conn.send_raw(b"myevents\n\n", timeout_s=0.02)  # its read gave up at a 20 ms deadline
    assert fs.command().command == "myevents"
    body = b"x" * 2_000_000
    big = b"sendmsg\ncontent-type: text/plain\ncontent-length: %d\n\n" % len(body) + body

    def slow_switch():
        gevent.sleep(0.3)  # the write blocks longer than that deadline
        frame = fs.command()
        fs.send(command_reply("+OK Events Enabled"), command_reply("+OK"))  # the late reply, then this one
        return frame

    switch = gevent.spawn(slow_switch)
    assert conn.send_raw(big).headers["Reply-Text"] == "+OK"
    assert switch.get(timeout=10).body == body


def test_the_socket_closing_mid_wait_ends_it_at_once_with_call_hung_up(pair):
    conn, fs = pair
    playing = execute_in_background(conn, "playback", timeout_s=30)
    fs.command()
    fs.sock.close()
    with gevent.Timeout(2):
        with pytest.raises(CallHungUp):
            playing.get()
    assert conn.closed


def test_a_bug_while_dispatching_ends_the_call_not_the_process(pair):
    conn, fs = pair

    def broken_observer(direction, raw):
        if direction == "fs":
            raise RuntimeError("observer bug")

    conn.observer = broken_observer
    with capture_logs() as logs:
        playing = execute_in_background(conn, "playback")
        frame = fs.command()
        fs.send(command_reply("+OK"), fs.complete("playback", frame.headers["Event-UUID"]))
        with pytest.raises(CallHungUp):
            playing.get(timeout=5)
    assert conn.closed
    assert any(e["event"] == "esl_reader_crashed" for e in logs)
