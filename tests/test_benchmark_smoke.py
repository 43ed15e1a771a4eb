"""The benchmark's generator against its peers, in miniature: every call of a small load
completes against the floors and fsrouter, and a load's time limit stops new calls."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from gevent.server import StreamServer

from fsrouter.esl import FrameParser, commands
from fsrouter.session.connection import OPENING, OPENING_WITHOUT_NIXEVENT, UNREAD_EVENTS

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import loadgen  # noqa: E402
import peers  # noqa: E402


@pytest.mark.parametrize("key", ["floor", "floor-framed", "fsrouter"])
def test_every_call_of_a_small_load_completes_against_the_peer(key, tmp_path):
    [peer] = [p for p in peers.PEERS if p.key == key]
    server = peers.Server(peer, tmp_path / key)
    try:
        server.wait_listening()
        results = loadgen.run_load(server.port, 20, 5)["results"]
    finally:
        server.stop()
    assert len(results) == 20 and all(ok for _, _, ok, _, _ in results)
    assert all(stamped for *_, stamped in results)  # setup read off the kernel's arrival stamps


def test_a_load_past_its_time_limit_starts_no_more_calls():
    assert loadgen.run_load(1, 50, 5, max_s=0)["results"] == []  # nothing listens on port 1: none started


def test_a_call_the_server_never_answers_fails_after_the_stall_limit_and_the_load_ends():
    # greenswitch's own server can leak a call's socket (accepted, never written to, never
    # closed): the generator gives such a call up instead of waiting for it forever
    from gevent import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        load = loadgen.run_load(listener.getsockname()[1], 3, 3, stall_s=0.3)
    finally:
        listener.close()
    assert [ok for _, _, ok, _, _ in load["results"]] == [False, False, False]
    assert load["end"] - load["start"] < 5


def test_wait_quiet_waits_while_a_peer_still_burns_cpu_after_its_load(tmp_path):
    # 0.8 s of CPU, however long a busy machine takes to give it
    burn = "import time\nwhile time.process_time() < 0.8: pass\ntime.sleep(60)\n"
    peer = peers.Peer("burner", "a peer tearing calls down", lambda port, folder: [sys.executable, "-c", burn])
    server = peers.Server(peer, tmp_path / "burner")
    try:
        waited = server.wait_quiet()
        spent = server.cpu_s()
        assert waited >= 0.4 and spent >= 0.5  # it waited for the burning, not a fixed pause
        assert server.wait_quiet() < 0.5  # idle now: one window
    finally:
        server.stop()


@pytest.mark.parametrize("stamping", [True, False])
def test_the_first_commands_arrival_is_the_kernels_stamp_or_else_the_time_it_was_read(stamping):
    import time

    from gevent import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.socket()
    try:
        if stamping:
            assert loadgen.stamp_arrivals(client)
        client.connect(listener.getsockname())
        server, _ = listener.accept()
        sent_ns = time.time_ns()
        server.sendall(b"connect\n\n")
        time.sleep(0.05)  # arrived and stamped well before it is read
        arrival_ns, stamped, data = loadgen.first_arrival(client)
        read_ns = time.time_ns()
        server.close()
    finally:
        client.close()
        listener.close()
    assert data == b"connect\n\n" and stamped is stamping
    if stamping:
        assert sent_ns <= arrival_ns < sent_ns + 40_000_000  # the arrival, not the read 50 ms later
    else:
        assert sent_ns + 50_000_000 <= arrival_ns <= read_ns


def _floor_module(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["floor_server", "floor_framed_server"])
def test_the_floors_open_a_call_with_fsrouters_own_opening(name):
    assert _floor_module(name).OPENING == b"".join(OPENING)  # the same exchange, so the ratio is fair


@pytest.mark.parametrize("opening, unread_seen", [(OPENING, False), (OPENING_WITHOUT_NIXEVENT, True)])
def test_the_generator_like_freeswitch_sends_no_event_type_the_server_nixed(opening, unread_seen):
    events: list[str] = []

    def handle(sock, _address):  # a server doing the reference flow, noting every event's name
        parser = FrameParser()
        frames: list = []

        def until(done) -> None:
            while True:
                while frames:
                    frame = frames.pop(0)
                    if frame.content_type == "text/event-plain":
                        events.append(frame.event_name())
                    if done(frame):
                        return
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError
                frames.extend(parser.feed(data))

        sock.sendall(b"".join(opening))
        for _ in opening:
            until(lambda f: f.content_type == "command/reply")
        for app in ("answer", "playback"):
            sock.sendall(commands.execute(app, "x.wav" if app == "playback" else None, app + "-1"))
            until(lambda f: f.content_type == "text/event-plain" and f.event_name() == "CHANNEL_EXECUTE_COMPLETE"
                  and f.event().get("Application-UUID") == app + "-1")
        sock.sendall(commands.hangup("NORMAL_CLEARING"))
        until(lambda f: f.content_type == "text/disconnect-notice")
        sock.sendall(commands.exit())
        until(lambda f: f.content_type == "text/disconnect-notice")

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    try:
        [(_, _, ok, _, _)] = loadgen.run_load(server.server_port, 1, 1)["results"]
    finally:
        server.stop()
    assert ok
    assert {"CHANNEL_ANSWER", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"} <= set(events)
    assert bool(set(events) & set(UNREAD_EVENTS)) is unread_seen  # CHANNEL_PARK, CHANNEL_EXECUTE, CHANNEL_STATE ...
