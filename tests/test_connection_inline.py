"""EslConnection without a reader greenlet: the greenlet that waits reads the socket.

A scripted FreeSWITCH on the other end of a real socket pair; the connection is never
``start()``-ed, as the call server uses it.
"""

from __future__ import annotations

import socket
import time

import gevent
import pytest
import structlog
from structlog.testing import capture_logs

from fsrouter.errors import CallHungUp, EslTimeout
from fsrouter.esl import FrameParser
from fsrouter.esl import names as N
from fsrouter.replay.fsframes import Channel, api_response, command_reply, disconnect_notice
from fsrouter.session.call import Call
from fsrouter.session.connection import SUBSCRIBED_EVENTS, UNREAD_EVENTS, EslConnection

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


# --- found by a break-it session: each failed before its fix ------------------------

def test_a_final_disconnect_notice_fails_a_pending_reply_at_once(pair):
    conn, fs = pair
    asking = gevent.spawn(conn.send_raw, b"myevents\n\n", timeout_s=3)
    fs.command()
    fs.send(disconnect_notice(UUID, linger=False))
    started = time.monotonic()
    with pytest.raises(CallHungUp):
        asking.get(timeout=5)
    assert time.monotonic() - started < 1
    assert conn.closed


def test_a_final_disconnect_notice_fails_a_passive_waiters_reply_too(pair):
    conn, fs = pair
    ending = gevent.spawn(conn.wait_ended, 10)  # reads inline
    gevent.sleep(0.01)
    asking = gevent.spawn(conn.send_raw, b"api status\n\n", timeout_s=3)  # waits passively
    fs.command()
    started = time.monotonic()
    fs.send(disconnect_notice(UUID, linger=False))
    assert ending.get(timeout=5) is True
    with pytest.raises(CallHungUp):
        asking.get(timeout=5)
    assert time.monotonic() - started < 1


def _big_command(size=4_000_000):
    body = b"x" * size
    return b"sendmsg\ncontent-type: text/plain\ncontent-length: %d\n\n" % len(body) + body, body


@pytest.mark.parametrize("reader", ["is_up", "short_wait"])
def test_reading_in_another_greenlet_does_not_cut_a_large_write_short(pair, reader):
    conn, fs = pair
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    big, body = _big_command()

    def slow_switch():
        gevent.sleep(0.5)  # the write blocks for longer than the reader's deadline
        frame = fs.command()
        fs.send(command_reply("+OK"))
        return frame

    switch = gevent.spawn(slow_switch)
    writer = gevent.spawn(conn.send_raw, big, timeout_s=10)
    gevent.sleep(0.05)  # the writer is blocked in its write now
    if reader == "is_up":
        assert conn.is_up
    else:
        assert gevent.spawn(conn.wait_hangup, 0.2).get(timeout=5) is False
    assert writer.get(timeout=10).headers["Reply-Text"] == "+OK"
    assert switch.get(timeout=10).body == body


def handler_that_yields(seconds):
    return lambda event: gevent.sleep(seconds)


def test_a_waiter_that_arrives_while_is_up_dispatches_is_still_served(pair):
    conn, fs = pair
    conn.register_handle("CHANNEL_ANSWER", handler_that_yields(0.2))
    fs.send(fs.channel.event("CHANNEL_ANSWER"))
    gevent.sleep(0.05)
    polling = gevent.spawn(lambda: conn.is_up)  # takes in the ANSWER; its handler sleeps
    gevent.sleep(0.01)
    hangup_seen = gevent.spawn(conn.wait_hangup, 2.0)  # blocks: is_up is reading
    gevent.sleep(0.3)  # is_up is done reading, with a waiter left
    fs.send(fs.hangup())
    polling.get(timeout=3)
    assert hangup_seen.get(timeout=5) is True


def test_frames_after_an_interrupted_handler_reach_the_next_reader(pair):
    conn, fs = pair
    conn.register_handle("CHANNEL_ANSWER", handler_that_yields(0.5))
    first = gevent.spawn(conn.wait_hangup, 5.0)  # reads inline
    gevent.sleep(0.01)
    second = gevent.spawn(conn.wait_ended, 3.0)  # waits passively
    gevent.sleep(0.01)
    fs.send(fs.channel.event("CHANNEL_ANSWER") + fs.hangup()
            + fs.channel.event("CHANNEL_HANGUP_COMPLETE", {"Hangup-Cause": "NORMAL_CLEARING"}))
    gevent.sleep(0.1)  # the first is inside the sleeping handler, two frames still to route
    first.kill()
    assert second.get(timeout=5) is True


def test_frames_after_a_handler_cut_by_a_timeout_reach_the_next_wait(pair):
    conn, fs = pair
    conn.register_handle("CHANNEL_ANSWER", handler_that_yields(0.5))
    fs.send(fs.channel.event("CHANNEL_ANSWER") + fs.hangup())
    with pytest.raises(gevent.Timeout):
        with gevent.Timeout(0.1):
            conn.wait_hangup(5)
    assert conn.wait_hangup(1) is True


def test_a_zero_timeout_wait_takes_in_what_already_arrived(pair):
    conn, fs = pair
    fs.send(fs.hangup())
    gevent.sleep(0.05)
    assert conn.wait_hangup(0) is True


def test_is_up_never_blocks_after_another_greenlet_wrote(pair):
    conn, fs = pair
    conn.register_handle("CHANNEL_ANSWER", handler_that_yields(0.1))
    fs.send(fs.channel.event("CHANNEL_ANSWER"))
    gevent.sleep(0.02)
    polling = gevent.spawn(lambda: conn.is_up)
    gevent.sleep(0.01)  # is_up is inside the sleeping handler
    asking = gevent.spawn(conn.api, "status", timeout_s=2)
    fs.command()
    fs.send(api_response("UP"))
    assert asking.get(timeout=3) == "UP"
    polling.join(timeout=2)
    assert polling.ready(), "is_up blocked in a read"


def test_start_while_a_greenlet_reads_inline_is_refused_and_the_read_goes_on(pair):
    conn, fs = pair
    running = execute_in_background(conn, "answer")
    frame = fs.command()
    gevent.sleep(0.01)  # the execute reads inline now
    with pytest.raises(RuntimeError, match="reads the socket inline"):
        conn.start()
    fs.send(command_reply("+OK"), fs.complete("answer", frame.headers["Event-UUID"]))
    assert running.get(timeout=5).get("Application-UUID") == frame.headers["Event-UUID"]


def test_a_reader_greenlet_killed_from_a_handler_ends_the_call_instead_of_hanging_it(pair):
    conn, fs = pair

    def killed(event):
        raise gevent.GreenletExit()

    conn.register_handle("CHANNEL_ANSWER", killed)
    conn.start()
    fs.send(fs.channel.event("CHANNEL_ANSWER"))
    started = time.monotonic()
    assert conn.wait_hangup(5) is True  # the call is over, not waiting for frames nobody reads
    assert time.monotonic() - started < 1
    assert conn.closed


def _plain_event(body: bytes) -> bytes:
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body


def test_a_completion_no_execute_waits_for_is_not_parsed_but_one_awaited_is(pair):
    # at hangup the socket application's own CHANNEL_EXECUTE_COMPLETE arrives; nothing
    # waits for it, so it is not parsed: even a broken one leaves the call alone
    conn, fs = pair
    broken = b"Event-Name: CHANNEL_EXECUTE_COMPLETE\nthis line is broken\n\n"
    fs.send(_plain_event(broken))
    gevent.sleep(0.01)
    assert conn.is_up and not conn.closed
    running = execute_in_background(conn, "answer")
    frame = fs.command()
    fs.send(command_reply("+OK"), fs.complete("answer", frame.headers["Event-UUID"]))
    assert running.get(timeout=5).get("Application-UUID") == frame.headers["Event-UUID"]
    # with an execute waiting, a completion is read whole, and a broken one ends the call
    running = execute_in_background(conn, "playback")
    fs.command()
    fs.send(command_reply("+OK"), _plain_event(broken))
    with pytest.raises(CallHungUp):
        running.get(timeout=5)
    assert conn.closed


@pytest.mark.parametrize("body, routed_as", [
    # a repeated Event-Name: the event's own (the last, as in its dict) decides, not the first
    (b"Event-Name: CHANNEL_HANGUP_COMPLETE\nEvent-Name: CUSTOM\n\n", "CUSTOM"),
    (b"Event-Name: CUSTOM\nEvent-Name: CHANNEL_HANGUP_COMPLETE\nHangup-Cause: USER_BUSY\n\n",
     "CHANNEL_HANGUP_COMPLETE"),
])
def test_an_event_is_routed_by_its_own_event_name(body, routed_as):
    conn = EslConnection(None, log=structlog.get_logger())
    seen = []
    conn.register_handle("*", lambda event: seen.append(event.name))
    wire = b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body
    conn.handle_frame(FrameParser().feed(wire)[0])
    assert seen == [routed_as]
    ended = routed_as == "CHANNEL_HANGUP_COMPLETE"
    assert conn._ended.is_set() is ended and (conn.hangup_cause == "USER_BUSY") is ended


def test_the_opening_goes_out_in_one_write_before_any_reply_and_replies_match_in_order(pair):
    conn, fs = pair
    seen = []
    conn.observer = lambda direction, raw: seen.append((direction, raw))
    opening = gevent.spawn(conn.open)
    # all four arrive although none is answered yet: the engine did not wait between them
    commands = [fs.command().command for _ in range(4)]
    assert commands == ["connect", "myevents", "nixevent " + " ".join(UNREAD_EVENTS), "linger"]
    fs.send(fs.channel.connect_reply(), command_reply("+OK Events Enabled"), command_reply("+OK events nixed"),
            command_reply("+OK will linger"))
    data = opening.get(timeout=5)
    assert data.get("Unique-ID") == UUID and conn.channel_uuid == UUID
    assert [d for d, _ in seen] == ["app"] * 4 + ["fs"] * 4  # the QA transcript's wire order


def test_an_opening_refused_in_part_as_on_a_socket_without_full_still_opens_the_call(pair):
    conn, fs = pair
    opening = gevent.spawn(conn.open)
    assert [fs.command().command.split(" ")[0] for _ in range(4)] == ["connect", "myevents", "nixevent", "linger"]
    # without `full` FreeSWITCH refuses nixevent and linger (PROTOCOL-NOTES §3, capture 15)
    fs.send(fs.channel.connect_reply(), command_reply("+OK Events Enabled"),
            command_reply("-ERR command not found"), command_reply("-ERR command not found"))
    assert opening.get(timeout=5).get("Unique-ID") == UUID
    assert conn.connected and not conn._hung_up.is_set()


def test_a_call_can_subscribe_to_the_events_it_receives_and_not_to_those_it_nixed(pair):
    conn, fs = pair
    opening = gevent.spawn(conn.open)
    for _ in range(4):
        fs.command()
    fs.send(fs.channel.connect_reply(), command_reply("+OK Events Enabled"), command_reply("+OK events nixed"),
            command_reply("+OK will linger"))
    call = Call(conn, opening.get(timeout=5), execute_timeout_s=5)
    with pytest.raises(ValueError, match="CHANNEL_PARK"):
        call.subscribe("CHANNEL_PARK", lambda event: None)  # FreeSWITCH was told not to send it
    digits = []
    call.subscribe("DTMF", lambda event: digits.append(event.get("DTMF-Digit")))
    conn.start()
    fs.send(fs.channel.event("DTMF", {"DTMF-Digit": "7"}))
    with gevent.Timeout(5):
        while not digits:
            gevent.sleep(0.001)
    assert digits == ["7"]


def test_the_events_a_call_receives_and_those_it_nixes_are_myevents_list_split_in_two():
    assert SUBSCRIBED_EVENTS.isdisjoint(UNREAD_EVENTS)
    assert sorted(SUBSCRIBED_EVENTS | set(UNREAD_EVENTS)) == sorted(N.MYEVENTS_TYPES)
    # what the connection and the flows act on is never taken back
    for name in ("CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_ANSWER",
                 "CHANNEL_BRIDGE", "DTMF"):
        assert name in SUBSCRIBED_EVENTS


def test_a_pipelined_reply_that_never_comes_times_out_and_the_late_one_goes_to_its_command(pair):
    conn, fs = pair
    conn.reply_timeout_s = 0.05
    job = gevent.spawn(conn.send_pipelined, [b"myevents\n\n", b"linger\n\n"])
    assert [fs.command().command for _ in range(2)] == ["myevents", "linger"]
    fs.send(command_reply("+OK Events Enabled"))  # linger's reply is late
    with pytest.raises(EslTimeout):
        job.get(timeout=5)
    nolinger = gevent.spawn(conn.send_raw, b"nolinger\n\n")
    assert fs.command().command == "nolinger"
    fs.send(command_reply("+OK will linger"), command_reply("+OK will not linger"))
    assert nolinger.get(timeout=5).reply_text == "+OK will not linger"
