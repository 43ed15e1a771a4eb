"""The outbound-socket server under load, at its limit, on reload and on stop."""

import gc
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import gevent
import pytest
from structlog.testing import capture_logs

from fsrouter.replay.fakefs import FakeFreeSwitch, Scenario
from fsrouter.store import open_store
from tests.harness import SETTINGS, EngineHarness, write_config


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def live_greenlets() -> int:
    """gevent greenlets still alive (the resolver's thread-pool workers are not ours)."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, gevent.Greenlet) and not o.dead)


def test_two_hundred_calls_at_once_all_complete_and_leave_no_greenlet_or_socket(engine):
    engine.call(Scenario(endpoints={"user/101": "answer"}))  # warm up lazy imports and the store
    fds, greenlets = open_fds(), live_greenlets()
    everyone_answers = {"user/101": "answer", "user/102": "answer", "user/103": "answer"}
    scenarios = [Scenario(endpoints=everyone_answers) for _ in range(200)]
    fakes = engine.calls(scenarios)
    assert all(f.closed_by == "fs" for f in fakes)  # every call ended with our exit
    assert engine.wait_idle()
    records = [engine.record(s.uuid) for s in scenarios]
    assert all(r is not None and r.ended_at is not None for r in records)
    # an employee takes one call at a time: the others go to the group's voicemail
    answered = [r for r in records if r.answered_by]
    voicemails = [r for r in records if engine.store.voicemails.for_call(r.call_uuid)]
    assert answered and len(answered) + len(voicemails) == 200
    assert open_fds() <= fds
    assert live_greenlets() <= greenlets


def test_a_call_over_max_calls_is_handed_back_to_the_dialplan(tmp_path, config_dir):
    harness = EngineHarness(config_dir, db_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    harness.app.server.max_calls = 1
    harness.start()
    try:
        held = socket.create_connection(harness.address)  # one call that never says connect
        gevent.sleep(0)  # let the server accept it
        with capture_logs() as logs:
            fake = FakeFreeSwitch(Scenario()).run(harness.address, timeout_s=10)
        # connect, resume, exit: FreeSWITCH goes on to the next engine or the backup bridge
        assert [c.command for c in fake.commands] == ["connect", "resume", "exit"]
        assert fake.resumed and fake.executed == [] and fake.closed_by == "fs"
        assert any(e["event"] == "call_refused" and e["reason"] == "max_calls" for e in logs)
        assert harness.record(fake.scenario.uuid) is None  # not our call: FreeSWITCH's backup takes it
        held.close()
    finally:
        harness.stop()


def test_reload_with_a_broken_config_keeps_the_old_one_and_serves(engine, config_dir):
    version = engine.app.catalog.version
    (config_dir / "groups.yaml").write_text("groups:\n  sales: {members: [zoe]}\n")
    with capture_logs() as logs:
        assert engine.app.reload() is False
    refused = [e for e in logs if e["event"] == "config_reload_refused"]
    assert refused and "zoe" in " ".join(refused[0]["errors"])
    assert engine.app.catalog.version == version
    fake = engine.call(Scenario(endpoints={"user/101": "answer"}))
    assert engine.record(fake.scenario.uuid).answered_by == "alice"


def test_a_reload_that_changes_a_start_only_setting_says_it_needs_a_restart(engine, config_dir):
    settings = config_dir / "settings.yaml"
    settings.write_text(settings.read_text().replace("listen: 127.0.0.1:8084", "listen: 127.0.0.1:8099")
                        + "db: sqlite:///elsewhere.db\n")
    with capture_logs() as logs:
        assert engine.app.reload() is True
    [warning] = [e for e in logs if e["event"] == "config_change_needs_restart"]
    assert warning["settings"] == ["db", "listen"]
    assert engine.app.server.address[1] != 8099  # still where it was


def test_a_call_keeps_the_config_it_started_with_across_a_reload(engine, config_dir):
    old_version = engine.app.catalog.version
    job = gevent.spawn(FakeFreeSwitch(Scenario(endpoints={"user/101": "answer"}, talk_s=0.3)).run, engine.address)
    gevent.sleep(0.1)  # the call is talking to alice now
    lines = (config_dir / "numbers" / "kyiv.yaml").read_text().replace("greeting: true", "greeting: false")
    (config_dir / "numbers" / "kyiv.yaml").write_text(lines)
    assert engine.app.reload() is True
    fake = job.get(timeout=10)
    assert engine.record(fake.scenario.uuid).config_version == old_version
    after = engine.call(Scenario(endpoints={"user/101": "answer"}))
    assert "playback" not in [e.app for e in after.executed]
    assert engine.record(after.scenario.uuid).config_version == engine.app.catalog.version != old_version


@pytest.fixture
def served(tmp_path):
    """`fsrouter serve` as a real process on a free port, with its own config copy."""
    config = write_config(tmp_path / "config")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "FSROUTER_LISTEN": f"127.0.0.1:{port}", "FSROUTER_DB": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    proc = subprocess.Popen([sys.executable, "-m", "fsrouter", "serve", "--config", str(config)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            gevent.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("fsrouter serve did not start:\n" + proc.communicate()[0])
    yield proc, port, config
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_serve_reloads_on_sighup_refuses_a_broken_config_and_stops_cleanly_on_sigterm(served):
    proc, port, config = served
    (config / "employees.yaml").write_text("employees:\n  alice: {extension: '101', endpoint: user/101, phonez: []}\n")
    proc.send_signal(signal.SIGHUP)
    fake = FakeFreeSwitch(Scenario(endpoints={"user/101": "answer"})).run(("127.0.0.1", port))
    assert fake.closed_by == "fs" and "bridge" in [e.app for e in fake.executed]
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "config_reload_refused" in output and "phonez" in output
    assert "server_stopped" in output


def test_sighup_and_a_second_sigterm_while_draining_leave_the_drain_to_finish(served):
    proc, port, _ = served
    job = gevent.spawn(FakeFreeSwitch(Scenario(endpoints={"user/101": "answer"}, talk_s=1.5)).run, ("127.0.0.1", port))
    gevent.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    gevent.sleep(0.3)
    proc.send_signal(signal.SIGHUP)  # an ops reload during the stop
    proc.send_signal(signal.SIGTERM)
    fake = job.get(timeout=15)
    assert fake.closed_by == "fs"  # the call still ran to its end
    deadline = time.monotonic() + 20
    while proc.poll() is None and time.monotonic() < deadline:  # reloads until it has exited
        try:
            proc.send_signal(signal.SIGHUP)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output
    assert "config_reload_ignored" in output and "stop_already_in_progress" in output
    assert "server_stopped" in output


def test_sigterm_lets_a_call_in_progress_finish(served):
    proc, port, _ = served
    job = gevent.spawn(FakeFreeSwitch(Scenario(endpoints={"user/101": "answer"}, talk_s=1.0)).run, ("127.0.0.1", port))
    gevent.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    fake = job.get(timeout=15)
    assert fake.closed_by == "fs"  # the call ran to its end: hangup, linger, exit
    assert proc.wait(timeout=15) == 0


def test_a_call_cut_at_shutdown_keeps_its_record_when_the_switch_is_slow_to_hang_up(tmp_path):
    # the caller talks for 3 s and the switch reads the engine's hangup only then: longer
    # than hangup_timeout (1 s), within reply_timeout + hangup_timeout + the record's grace
    config = write_config(tmp_path / "config", settings=SETTINGS.replace("drain_timeout: 5", "drain_timeout: 0")
                          .replace("  hangup_timeout: 5\n", "  hangup_timeout: 1\n"))
    harness = EngineHarness(config, db_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    harness.start()
    scenario = Scenario(endpoints={"user/101": "answer"}, talk_s=3.0)
    job = gevent.spawn(FakeFreeSwitch(scenario).run, harness.address)
    with gevent.Timeout(5):
        while harness.app.server.active_calls == 0:
            gevent.sleep(0.05)
    gevent.sleep(1.0)  # the flow reaches the bridge in milliseconds: the caller is talking now
    with capture_logs() as logs:
        harness.app.shutdown(drain_timeout_s=0)
    assert any(e["event"] == "server_drain_timeout" for e in logs)
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}", create=False)
    try:
        record = store.calls.get(scenario.uuid)
    finally:
        store.close()
    assert record is not None and record.route[-1]["step"] == "cut_by_shutdown"
    job.kill()
