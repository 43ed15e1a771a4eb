"""What a long-running engine does so that calls never wait on housekeeping: SQLite's
write-ahead log is checkpointed in a worker thread, not by a commit in the event loop,
and the start-up heap is frozen out of the garbage collector's way."""

from __future__ import annotations

import gc
import sqlite3
import time

import gevent
import pytest
import structlog
from gevent import monkey
from structlog.testing import capture_logs

from fsrouter import app as app_module
from fsrouter.app import GC_YOUNG_THRESHOLD, checkpoint_forever, settle_heap
from fsrouter.errors import StoreError
from fsrouter.log import get_logger
from fsrouter.replay.fakefs import Scenario
from fsrouter.store import open_store
from fsrouter.store.db import SQLITE_WAL_AUTOCHECKPOINT_PAGES, connect
from tests.harness import EngineHarness
from tests.store_fixtures import make_call

# the OS thread's own primitives: a checkpoint runs in a real thread, and the event loop's
# thread must be seen to go on while it blocks
RealEvent = monkey.get_original("threading", "Event")
real_thread_id = monkey.get_original("threading", "get_ident")


@pytest.fixture
def wal_store(tmp_path):
    """(store, path): a store on an SQLite file, closed afterwards."""
    path = tmp_path / "c.db"
    store = open_store(f"sqlite:///{path}")
    yield store, path
    store.close()


def test_pooled_sqlite_connections_leave_checkpoints_to_the_checkpointer_up_to_a_backstop(tmp_path):
    connector = connect(f"sqlite:///{tmp_path}/p.db")
    try:
        with connector.work() as database:
            assert database.execute_sql("PRAGMA wal_autocheckpoint").fetchone()[0] == SQLITE_WAL_AUTOCHECKPOINT_PAGES
        assert connector.has_wal
    finally:
        connector.close()


def test_a_checkpoint_copies_the_whole_log_into_the_database_file(wal_store):
    store, path = wal_store
    for n in range(50):
        store.calls.save(make_call(f"call-{n}"))
    log_pages, copied = store.checkpoint()
    assert log_pages > 0 and copied == log_pages
    # the database file alone (no log beside it) now holds every record
    wal = path.with_name(path.name + "-wal")
    with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as raw:  # immutable: reads no WAL
        assert raw.execute("SELECT count(*) FROM call_record").fetchone()[0] == 50
    assert wal.exists()  # the log stays (reused from its start), only its pages were copied


def test_a_checkpoint_connection_that_failed_is_dropped_and_the_next_checkpoint_opens_afresh(wal_store):
    store, path = wal_store
    store.checkpoint()
    connector = store._connector
    connector._checkpointer.close()  # as if it had been opened while the file was read-only
    connector._checkpointer = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    store.calls.save(make_call("while-read-only"))
    with pytest.raises(StoreError, match="checkpoint"):
        store.checkpoint()
    log_pages, copied = store.checkpoint()
    assert log_pages > 0 and copied == log_pages


def test_a_database_file_removed_while_in_use_fails_every_checkpoint_and_is_not_recreated(wal_store):
    store, path = wal_store
    store.checkpoint()
    path.unlink()
    for _ in range(2):
        with pytest.raises(StoreError, match="removed while in use"):
            store.checkpoint()
    assert not path.exists()


def test_a_database_without_a_write_ahead_log_has_nothing_to_checkpoint():
    store = open_store("sqlite:///:memory:")
    try:
        assert not store.has_wal
        assert store.checkpoint() is None
    finally:
        store.close()


def test_a_checkpoint_of_a_closed_store_is_a_store_error(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/x.db")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.checkpoint()


def test_the_engine_serves_a_whole_call_while_a_checkpoint_is_in_progress(tmp_path, config_dir, monkeypatch):
    monkeypatch.setattr(app_module, "CHECKPOINT_INTERVAL_S", 0.01)
    harness = EngineHarness(config_dir, db_url=f"sqlite:///{tmp_path / 'fsrouter.db'}")
    in_checkpoint, call_done = RealEvent(), RealEvent()
    threads = []

    def slow_checkpoint():  # blocks its OS thread until the call is over (or 10 s)
        threads.append(real_thread_id())
        in_checkpoint.set()
        call_done.wait(10)
        return 0, 0

    monkeypatch.setattr(harness.store, "checkpoint", slow_checkpoint)
    harness.start()
    try:
        while not in_checkpoint.is_set():
            gevent.sleep(0.01)
        fake = harness.call(Scenario(endpoints={"user/101": "answer"}))
        stored = harness.record(fake.scenario.uuid)
        finished_during_checkpoint = not call_done.is_set()
        call_done.set()
        assert finished_during_checkpoint
        assert stored is not None and stored.answered_by == "alice"
        assert threads and real_thread_id() not in threads  # a worker thread, not the event loop's
    finally:
        call_done.set()
        harness.stop()


class _FlakyStore:
    def __init__(self, outcomes):
        self.outcomes = list(outcomes)

    def checkpoint(self):
        outcome = self.outcomes.pop(0) if self.outcomes else (0, 0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_a_failing_checkpoint_is_logged_once_per_run_of_failures_and_its_recovery_too():
    store = _FlakyStore([StoreError("disk I/O error"), StoreError("disk I/O error"), (3, 3),
                         StoreError("database is locked"), (0, 0)])
    stopped = gevent.event.Event()
    with capture_logs() as logs:
        runner = gevent.spawn(checkpoint_forever, store, stopped, log=get_logger(), interval_s=0.001)
        while store.outcomes:
            gevent.sleep(0.005)
        stopped.set()
        runner.join(5)
    assert runner.dead and runner.successful()
    assert [(e["event"], e.get("error")) for e in logs] == [
        ("store_checkpoint_failed", "disk I/O error"), ("store_checkpoint_recovered", None),
        ("store_checkpoint_failed", "database is locked"), ("store_checkpoint_recovered", None)]


def test_settle_heap_freezes_the_start_up_objects_and_raises_the_young_threshold():
    before = gc.get_threshold()
    kept = object.__new__(type("StartUp", (), {}))  # a tracked object alive at start-up
    try:
        frozen = settle_heap()
        assert frozen == gc.get_freeze_count() > 0
        assert gc.is_tracked(kept) and not any(o is kept for o in gc.get_objects())  # out of every generation
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, before[1], before[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_first_checkpoint_runs_at_start_not_after_the_first_interval():
    # a log left by a previous run is copied in at once, and the checkpoint's own
    # connection (two descriptors) is open from the start, not from the first second
    store = _FlakyStore([(7, 7)])
    stopped = gevent.event.Event()
    runner = gevent.spawn(checkpoint_forever, store, stopped, log=get_logger(), interval_s=3600)
    deadline = time.monotonic() + 5
    while store.outcomes and time.monotonic() < deadline:
        gevent.sleep(0.005)
    stopped.set()
    runner.join(5)
    assert store.outcomes == []  # taken within 5 s of a 3,600 s interval
    assert runner.dead and runner.successful()


def test_signals_while_starting_are_noted_not_fatal():
    import os
    import signal

    from fsrouter import early_signals

    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        early = early_signals.catch()
        os.kill(os.getpid(), signal.SIGHUP)  # default action: the process would end here
        os.kill(os.getpid(), signal.SIGTERM)
        assert early.reload and early.stop and early.stop_signal == "SIGTERM"
    finally:
        early_signals.release()
        for signum, handler in before.items():
            signal.signal(signum, handler)
    assert early_signals.caught is None


def test_a_serve_that_never_served_gives_the_signals_back(tmp_path, capsys):
    # in-process (tests, embedding): a failed serve must not leave SIGTERM/SIGINT caught
    import signal
    import socket

    from fsrouter import cli, early_signals
    from tests.harness import write_config

    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    logging_before = structlog.get_config()  # serve configures logging to this test's stderr
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        code = cli.main(["serve", "--config", str(write_config(tmp_path / "config")),
                         "--db", f"sqlite:///{tmp_path / 'x.db'}", "--listen", f"127.0.0.1:{port}"])
        assert code == 1 and "cannot listen" in capsys.readouterr().err
        assert early_signals.caught is None
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        assert signal.getsignal(signal.SIGINT) == signal.default_int_handler
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
    finally:
        taken.close()
        early_signals.release()
        structlog.configure(**logging_before)
        for signum, handler in before.items():
            signal.signal(signum, handler)


def _serve_in_a_greenlet(harness_dir, early):
    from fsrouter.app import App, Overrides
    app = App(harness_dir, Overrides(db=f"sqlite:///{harness_dir.parent / 'early.db'}", listen="127.0.0.1:0"))
    return gevent.spawn(app.serve_forever, early), app


def test_a_stop_noted_while_starting_stops_the_server_once_it_serves(tmp_path):
    from fsrouter.early_signals import EarlySignals
    from tests.harness import write_config

    early = EarlySignals()
    early.stop, early.stop_signal = True, "SIGTERM"
    runner, _ = _serve_in_a_greenlet(write_config(tmp_path / "config"), early)
    with capture_logs() as logs:
        assert runner.get(timeout=20) == 0
    events = [e["event"] for e in logs]
    assert "stop_requested_during_start" in events and "server_stopped" in events


def test_a_reload_noted_while_starting_reloads_once_serving(tmp_path):
    from fsrouter.early_signals import EarlySignals
    from tests.harness import write_config

    early = EarlySignals()
    early.reload = True
    runner, app = _serve_in_a_greenlet(write_config(tmp_path / "config"), early)
    with capture_logs() as logs:
        deadline = time.monotonic() + 20
        while not any(e["event"] == "config_reloaded" for e in logs) and time.monotonic() < deadline:
            gevent.sleep(0.05)
        app.stop()
        assert runner.get(timeout=20) == 0
    assert any(e["event"] == "config_reloaded" for e in logs), [e["event"] for e in logs]


def test_serve_logs_its_config_folder_and_store_and_what_check_would_warn_about(tmp_path):
    from fsrouter.app import App, Overrides
    from tests.harness import write_config

    config = write_config(tmp_path / "config")  # its sounds folder (../sounds) is not there
    with capture_logs() as logs:
        app = App(config, Overrides(db=f"sqlite:///{tmp_path / 'w.db'}", listen="127.0.0.1:0"))
    try:
        [loaded] = [e for e in logs if e["event"] == "config_loaded"]
        assert loaded["config"] == str(config.resolve())
        assert str(tmp_path / "w.db") in loaded["store"]
        from fsrouter.esl import headblock
        assert loaded["esl_speedups"] == ("c" if headblock.SPEEDUPS is not None else "python")
        warnings = [e["problem"] for e in logs if e["event"] == "config_warning"]
        assert any("folders.sounds" in w and "is not a folder" in w for w in warnings), warnings
    finally:
        app.shutdown(drain_timeout_s=1)


def test_a_sigterm_while_serving_is_logged_with_its_name(tmp_path):
    import os
    import signal

    from tests.harness import write_config

    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    runner, app = _serve_in_a_greenlet(write_config(tmp_path / "config"), None)
    try:
        with capture_logs() as logs:
            while not any(e["event"] == "server_listening" for e in logs):
                gevent.sleep(0.02)
            gevent.sleep(0.2)  # serve_forever puts its signal handlers in right after
            os.kill(os.getpid(), signal.SIGTERM)
            assert runner.get(timeout=20) == 0
        assert {"event": "stop_requested", "signal": "SIGTERM"} in [
            {k: e[k] for k in ("event", "signal") if k in e} for e in logs]
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
