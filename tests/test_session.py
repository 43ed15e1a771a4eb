"""The session layer against a hand-scripted FreeSWITCH peer: correlation, bad frames, modes."""

import socket
import time

import gevent
import pytest
from structlog.testing import capture_logs

from fsrouter.replay.fsframes import Channel, command_reply, disconnect_notice
from tests.harness import EngineHarness, write_config
from tests.test_connection_inline import FreeSwitch


class Peer(FreeSwitch):
    """A scripted FreeSWITCH that dials the engine: reads its commands one by one, sends what
    the test says (the reading and sending of test_connection_inline's FreeSwitch)."""

    def __init__(self, address, *, destination="+380441234567"):
        super().__init__(socket.create_connection(address))
        self.sock.settimeout(10)
        self.channel = Channel("5a0c1f9e-0000-4000-8000-000000000001", "+380501112233", destination,
                               int(time.time() * 1e6))

    def next_command(self):
        return self.command()

    def handshake(self):
        assert self.next_command().command == "connect"
        self.send(self.channel.connect_reply())
        assert self.next_command().command == "myevents"
        self.send(command_reply("+OK Events Enabled"))
        assert self.next_command().command.startswith("nixevent ")
        self.send(command_reply("+OK events nixed"))
        assert self.next_command().command == "linger"
        self.send(command_reply("+OK will linger"))

    def execute(self):
        frame = self.next_command()
        assert frame.command == "sendmsg", frame
        self.send(command_reply("+OK"))
        return frame.headers.get("execute-app-name"), frame.headers.get("Event-UUID")

    def close(self):
        self.sock.close()


OPENING_WORDS = ["connect", "myevents", "nixevent", "linger"]


def harness(tmp_path, **settings):
    config = write_config(tmp_path / "config")
    h = EngineHarness(config, db_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    h.start()
    return h


def test_an_execute_completes_only_on_the_complete_event_with_its_own_application_uuid(tmp_path):
    h = harness(tmp_path)
    try:
        peer = Peer(h.address)
        peer.handshake()
        app, event_uuid = peer.execute()
        assert app == "answer"
        # a completion of the same application with another id (e.g. an earlier one) must not count
        peer.send(peer.channel.event("CHANNEL_EXECUTE_COMPLETE", {"Application": "answer",
                                                                 "Application-UUID": "not-ours"}))
        with gevent.Timeout(0.3, False):
            assert peer.next_command() is None, "the engine moved on without its own completion"
        peer.send(peer.channel.event("CHANNEL_EXECUTE_COMPLETE", {"Application": "answer",
                                                                 "Application-UUID": event_uuid}))
        app, _ = peer.execute()
        assert app == "playback"
        peer.close()
    finally:
        h.stop()


def test_a_malformed_frame_ends_that_call_cleanly_and_the_server_keeps_serving(tmp_path):
    h = harness(tmp_path)
    try:
        with capture_logs() as logs:
            peer = Peer(h.address)
            peer.handshake()
            peer.execute()
            peer.send(b"Content-Length: banana\nContent-Type: text/event-plain\n\n")
            assert peer.next_command() is None  # the engine closed this call's socket
            assert h.wait_idle()
        assert any(e["event"] == "frame_rejected" for e in logs)
        assert not any(e.get("log_level") == "error" for e in logs), [e for e in logs if e.get("log_level") == "error"]
        record = h.record(peer.channel.uuid)
        assert record is not None and record.route[-1] == {"step": "connection_lost", "reason": "frame_rejected"}
        from fsrouter.replay.fakefs import Scenario

        fake = h.call(Scenario(endpoints={"user/101": "answer"}))
        assert h.record(fake.scenario.uuid).answered_by == "alice"
    finally:
        h.stop()


def test_in_sync_mode_the_linger_notice_ends_the_call_without_hangup_complete(tmp_path):
    h = harness(tmp_path)
    try:
        peer = Peer(h.address)
        peer.handshake()
        app, event_uuid = peer.execute()
        # sync mode (capture 13): CHANNEL_HANGUP then the linger notice, never HANGUP_COMPLETE
        peer.send(peer.channel.event("CHANNEL_HANGUP", {"Hangup-Cause": "NORMAL_CLEARING"}),
                  disconnect_notice(peer.channel.uuid, linger=True))
        started = time.monotonic()
        frame = peer.next_command()
        assert frame.command == "exit"
        assert time.monotonic() - started < 2  # did not sit out the 5 s hangup timeout
        peer.send(command_reply("+OK bye"), disconnect_notice(peer.channel.uuid, linger=False))
        peer.close()
        assert h.wait_idle()
        assert h.record(peer.channel.uuid).hangup_cause == "NORMAL_CLEARING"
    finally:
        h.stop()


@pytest.fixture
def impatient_engine(tmp_path):
    """The engine with a 0.2 s reply timeout, serving; stopped afterwards."""
    config = write_config(tmp_path / "config", settings=(
        "esl: {reply_timeout: 0.2, execute_timeout: 5, hangup_timeout: 1}\nfolders: {spool: ../spool}\n"))
    h = EngineHarness(config, db_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    h.start()
    yield h
    h.stop()


def test_a_peer_silent_after_the_connect_reply_times_out_with_the_call_uuid_logged(impatient_engine):
    with capture_logs() as logs:
        peer = Peer(impatient_engine.address)
        assert [peer.next_command().command.split(" ")[0] for _ in range(4)] == OPENING_WORDS
        peer.send(peer.channel.connect_reply())  # then nothing: myevents goes unanswered
        assert peer.next_command() is None  # closed after the reply timeout
    failed = [e for e in logs if e["event"] == "call_session_failed"]
    assert failed and failed[0]["call_uuid"] == peer.channel.uuid  # FreeSWITCH's channel, for the operator


def test_a_peer_that_never_answers_connect_times_out_and_is_closed(impatient_engine):
    with capture_logs() as logs:
        peer = Peer(impatient_engine.address)
        # the opening, pipelined: nothing more comes while connect goes unanswered
        assert [peer.next_command().command.split(" ")[0] for _ in range(4)] == OPENING_WORDS
        assert peer.next_command() is None  # closed after the reply timeout
    failed = [e for e in logs if e["event"] == "call_session_failed"]
    assert failed and failed[0]["error_code"] == "esl_timeout"


def test_non_utf8_bytes_in_an_event_do_not_break_the_call(tmp_path):
    h = harness(tmp_path)
    try:
        peer = Peer(h.address)
        peer.handshake()
        app, event_uuid = peer.execute()
        body = b"Event-Name: CHANNEL_EXECUTE\nUnique-ID: x\nvariable_odd: \xff\xfe%FF\n\n"
        peer.send(b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body)
        peer.send(peer.channel.event("CHANNEL_EXECUTE_COMPLETE", {"Application": "answer",
                                                                 "Application-UUID": event_uuid}))
        assert peer.execute()[0] == "playback"
        peer.close()
    finally:
        h.stop()


def test_a_malformed_event_in_the_middle_of_a_call_ends_that_call_with_a_record(tmp_path):
    h = harness(tmp_path)
    try:
        with capture_logs() as logs:
            peer = Peer(h.address)
            peer.handshake()
            peer.execute()
            body = b"Event-Name: CHANNEL_EXECUTE_COMPLETE\nthis line is broken\n\n"
            peer.send(b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body)
            assert peer.next_command() is None  # closed at once, not after execute_timeout
            assert h.wait_idle()
        assert any(e["event"] == "frame_rejected" for e in logs)
        assert h.record(peer.channel.uuid).route[-1] == {"step": "connection_lost", "reason": "frame_rejected"}
    finally:
        h.stop()


def test_a_connect_reply_without_unique_id_or_with_an_odd_created_time_still_gets_a_record(tmp_path):
    h = harness(tmp_path)
    try:
        peer = Peer(h.address)
        assert peer.next_command().command == "connect"
        reply = peer.channel.connect_reply().replace(b"\nUnique-ID: ", b"\nX-Unique-ID: ")
        reply = reply.replace(b"Caller-Channel-Created-Time: ", b"Caller-Channel-Created-Time: %C2%B2")
        peer.send(reply)
        for expected in OPENING_WORDS[1:]:
            assert peer.next_command().command.split(" ")[0] == expected
            peer.send(command_reply("+OK"))
        peer.close()  # the caller is gone
        assert h.wait_idle()
        [record] = h.store.calls.list()
        assert record.call_uuid == peer.channel.uuid  # from Channel-Unique-ID / variable_uuid
        assert record.started_at is not None
    finally:
        h.stop()


def test_records_of_calls_ending_at_shutdown_are_stored_or_spooled_when_shutdown_returns(tmp_path):
    """SIGTERM while the writer still commits (a PostgreSQL commit yields): after shutdown
    returns the process exits, so every record must be in the database or the spool."""
    import json
    import sqlite3

    import gevent.event

    from fsrouter.replay.fakefs import FakeFreeSwitch, Scenario

    h = harness(tmp_path)
    repo = h.app.store.calls
    real, entered = repo._upsert_one, gevent.event.Event()

    def slow_commit(*args):
        entered.set()
        gevent.sleep(0.5)
        real(*args)

    repo._upsert_one = slow_commit
    scenarios = [Scenario(endpoints={"user/101": "answer"}, talk_s=0.05) for _ in range(4)]
    for s in scenarios:
        gevent.spawn(FakeFreeSwitch(s).run, h.address)
    assert entered.wait(10)
    gevent.sleep(0.05)
    h.app.shutdown(drain_timeout_s=0.1)
    stored = {u for (u,) in sqlite3.connect(str(tmp_path / "db.sqlite")).execute("SELECT call_uuid FROM call_record")}
    spool = repo._spool.path
    spooled = {json.loads(line)["call_uuid"] for line in spool.read_text().splitlines()} if spool.exists() else set()
    assert not {s.uuid for s in scenarios} - stored - spooled
