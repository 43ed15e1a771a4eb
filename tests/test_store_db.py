"""Opening the store from a URL, its lifecycle, and the store's import boundary."""

from __future__ import annotations

import ast
import re
import sqlite3
import time
from pathlib import Path

import gevent
import pytest
from playhouse.pool import PooledPostgresqlDatabase
from structlog.testing import capture_logs

from fsrouter.errors import StoreError
from fsrouter.store import open_store
from fsrouter.store.db import connect
from tests.store_fixtures import PG_DB, PG_HOST, PG_PORT, backend, clock, dead_url, make_call, pg_schema, spool_dir, store, store_url  # noqa: F401

STORE_DIR = Path(__file__).resolve().parent.parent / "fsrouter" / "store"


def test_an_sqlite_file_and_its_folder_are_created_on_first_open_with_wal_mode_on(tmp_path):
    path = tmp_path / "not" / "yet" / "there.db"
    store = open_store(f"sqlite:///{path}")
    store.close()
    assert path.is_file()
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {name for (name,) in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"call_record", "voicemail", "employee_status", "employee_busy", "crm_phone"} <= tables


def test_each_sqlite_connection_gets_the_busy_timeout_foreign_keys_and_synchronous_pragmas(tmp_path):
    connector = connect(f"sqlite:///{tmp_path}/p.db")
    with connector.work() as database:
        pragma = lambda name: database.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
        # busy_timeout 0: a lock held elsewhere is waited for cooperatively (db.when_unlocked)
        assert (pragma("busy_timeout"), pragma("foreign_keys"), pragma("synchronous")) == (0, 1, 1)
    connector.close()


def test_a_relative_sqlite_url_is_relative_to_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    open_store("sqlite:///data/rel.db").close()
    assert (tmp_path / "data" / "rel.db").is_file()


def test_four_slashes_name_an_absolute_sqlite_path(tmp_path):
    open_store(f"sqlite:///{tmp_path}/abs.db").close()  # tmp_path starts with "/": four slashes
    assert (tmp_path / "abs.db").is_file()


def test_an_in_memory_store_keeps_its_data_across_units_of_work_until_closed():
    store = open_store("sqlite:///:memory:")
    store.calls.save(make_call("mem-1"))
    assert store.calls.get("mem-1") == make_call("mem-1")
    store.close()
    other = open_store("sqlite:///:memory:")
    assert other.calls.get("mem-1") is None
    other.close()


@pytest.mark.parametrize("url, scheme", [("mysql://root@localhost/x", "mysql"), ("redis://h", "redis")])
def test_an_unsupported_url_scheme_is_a_store_error_naming_the_scheme(url, scheme):
    with pytest.raises(StoreError, match=f"scheme '{scheme}'"):
        open_store(url)


@pytest.mark.parametrize("url", ["store.db", "sqlite://relative.db", "sqlite:///", "postgresql://host:5432/"])
def test_a_malformed_url_is_a_store_error(url):
    with pytest.raises(StoreError):
        open_store(url, create=False)


def test_a_postgresql_url_carries_credentials_host_port_and_libpq_options():
    connector = connect("postgres://ops:s%40cret@db.example:6432/fsr?sslmode=require&options=-csearch_path%3Dx")
    params = connector.database.connect_params
    assert connector.database.database == "fsr"
    assert params["user"] == "ops" and params["password"] == "s@cret"
    assert (params["host"], params["port"]) == ("db.example", 6432)
    assert (params["sslmode"], params["options"]) == ("require", "-csearch_path=x")
    assert isinstance(connector.database, PooledPostgresqlDatabase)
    assert "s@cret" not in connector.description


def test_ping_is_true_on_a_live_database_and_false_on_a_dead_one(store, dead_url):
    assert store.ping() is True
    dead = open_store(dead_url, create=False)
    assert dead.ping() is False


def test_creating_tables_on_a_dead_database_is_a_store_error(dead_url):
    with pytest.raises(StoreError):
        open_store(dead_url)


def test_opening_twice_on_the_same_database_keeps_the_existing_tables_and_rows(store, store_url, spool_dir, clock):
    store.calls.save(make_call("kept"))
    again = open_store(store_url, spool_dir=spool_dir, clock=clock)
    assert again.calls.get("kept") == make_call("kept")
    again.close()


def test_a_closed_store_raises_store_error_from_its_repositories(store):
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.calls.get("any")
    assert store.ping() is False


def test_the_store_imports_nothing_from_flow_session_or_esl():
    forbidden = ("fsrouter.flow", "fsrouter.session", "fsrouter.esl")
    for source in STORE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.ImportFrom):
                package = ["fsrouter", "store"][: max(0, 3 - node.level)] if node.level else []
                base = ".".join(package + ([node.module] if node.module else []))
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith(forbidden), f"{source.name} imports {name}"


def test_a_full_disk_is_named_as_such_not_as_the_failed_rollback_after_it(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/full.db", spool_dir=tmp_path / "spool")
    try:
        with store._connector.work() as database:  # the pool's one connection: the file may not grow
            pages = database.execute_sql("PRAGMA page_count").fetchone()[0]
            database.execute_sql(f"PRAGMA max_page_count = {pages}")
        with capture_logs() as logs:
            store.calls.save_many([make_call(f"full-{n}", extra={"blob": "x" * 5000}) for n in range(20)])
        spooled = [e["error"] for e in logs if e["event"] == "call_record_spooled"]
        assert len(spooled) == 20 and all("disk is full" in error and "rollback" not in error for error in spooled)
    finally:
        store.close()


@pytest.fixture
def sqlite_t(tmp_path):
    """(connector, path): an SQLite file with one table ``t (x INTEGER)``, closed afterwards."""
    path = tmp_path / "t.db"
    connector = connect(f"sqlite:///{path}")
    with connector.work() as database:
        database.execute_sql("CREATE TABLE t (x INTEGER)")
    yield connector, path
    connector.close()


def test_a_pooled_sqlite_connection_that_failed_is_dropped_not_handed_out_again(sqlite_t):
    # a connection opened while the file was read-only stays read-only: the next unit of
    # work must get a fresh one, not fail on it until it goes stale (query_only stands in
    # for the read-only file, which root would write anyway)
    connector, _ = sqlite_t
    with connector.work() as database:
        database.execute_sql("PRAGMA query_only = 1")
    with pytest.raises(StoreError, match="readonly"):
        with connector.work() as database:
            database.execute_sql("INSERT INTO t VALUES (1)")
    with connector.work() as database:
        database.execute_sql("INSERT INTO t VALUES (2)")
        assert database.execute_sql("SELECT x FROM t").fetchall() == [(2,)]


def test_a_database_file_removed_before_the_first_checkpoint_is_reported_as_removed(tmp_path):
    # the file's identity is taken from the store's first unit of work (opening it), not
    # from the first checkpoint, so a removal in between is named as such
    path = tmp_path / "gone.db"
    store = open_store(f"sqlite:///{path}")
    try:
        path.unlink()
        with pytest.raises(StoreError, match="removed while in use"):
            store.checkpoint()
    finally:
        store.close()


def test_a_failure_inside_a_nested_unit_of_work_leaves_the_outer_one_its_connection(sqlite_t):
    connector, _ = sqlite_t
    with connector.work() as database:
        database.execute_sql("INSERT INTO t VALUES (1)")
        with pytest.raises(StoreError, match="no such table"):
            with connector.work() as inner:
                inner.execute_sql("SELECT * FROM missing")
        database.execute_sql("INSERT INTO t VALUES (2)")  # the outer unit goes on
    with connector.work() as database:
        assert database.execute_sql("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (2,)]


def test_a_readonly_error_names_the_files_this_process_may_not_write(sqlite_t, monkeypatch):
    # SQLite creates the -shm with the database file's mode and keeps it: a -shm left
    # read-only keeps new connections read-only after the database file is writable again
    import os

    connector, path = sqlite_t
    with connector.work() as database:
        database.execute_sql("PRAGMA query_only = 1")  # a read-only connection, even for root
    shm = f"{path}-shm"
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == shm else real_access(p, mode))
    with pytest.raises(StoreError, match=f"readonly database \\(not writable: {re.escape(shm)}\\)$"):
        with connector.work() as database:
            database.execute_sql("INSERT INTO t VALUES (1)")


class _SilentPostgres:
    """A TCP port in front of the real PostgreSQL that can go silent: it accepts and
    then relays nothing, as a host whose database process hangs (or a firewall that
    drops) does. ``freeze()`` stops relaying on the connections made so far too."""

    def __init__(self, relay: bool):
        from gevent.server import StreamServer

        self.relay = relay
        self.server = StreamServer(("127.0.0.1", 0), self._handle)
        self.server.start()
        self.port = self.server.server_port

    def freeze(self) -> None:
        self.relay = False

    def _handle(self, client, _address):
        from gevent import socket as gsocket

        if not self.relay:
            gevent.sleep(3600)
            return
        upstream = gsocket.create_connection((PG_HOST, PG_PORT))

        def pump(src, dst):
            while True:
                data = src.recv(65536)
                if not data:
                    return
                while not self.relay:  # frozen: hold everything from now on
                    gevent.sleep(3600)
                dst.sendall(data)

        jobs = [gevent.spawn(pump, client, upstream), gevent.spawn(pump, upstream, client)]
        gevent.joinall(jobs, count=1)
        gevent.killall(jobs)

    def close(self) -> None:
        self.server.stop(timeout=0)


def test_a_postgresql_host_that_accepts_and_never_answers_fails_the_open_within_connect_timeout(pg_schema):
    silent = _SilentPostgres(relay=False)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="silent for 2 s connecting"):
            open_store(f"postgresql://{pg_schema.user}@127.0.0.1:{silent.port}/{PG_DB}?connect_timeout=2")
        assert time.monotonic() - started < 10
    finally:
        silent.close()


@pytest.fixture
def silent_store(pg_schema, tmp_path, monkeypatch):
    """(store, relay, spool file): a PostgreSQL store reached through a relay that
    ``freeze()`` makes silent; 1 s of query silence and 2 s of connect silence fail."""
    from fsrouter.store import postgres

    monkeypatch.setattr(postgres, "PG_QUERY_TIMEOUT_S", 1)
    relay = _SilentPostgres(relay=True)
    options = pg_schema.url.split("?", 1)[1].replace("connect_timeout=3", "connect_timeout=2")
    store = open_store(f"postgresql://{pg_schema.user}@127.0.0.1:{relay.port}/{PG_DB}?{options}",
                       spool_dir=tmp_path / "spool")
    try:
        yield store, relay, tmp_path / "spool" / "calls.jsonl"
    finally:
        store.close()
        relay.close()


def test_a_postgresql_server_that_goes_silent_mid_query_costs_one_timeout_and_the_record_is_spooled(silent_store):
    store, relay, spool = silent_store
    store.calls.save(make_call("before"))
    relay.freeze()
    started = time.monotonic()
    store.calls.save(make_call("while-silent"))  # no exception: spooled
    assert time.monotonic() - started < 5
    assert spool.read_text().count("while-silent") == 1


def test_the_gevent_wait_callback_gives_up_on_a_query_the_server_never_answers(pg_schema, monkeypatch):
    import psycopg2

    from fsrouter.store import postgres

    monkeypatch.setattr(postgres, "PG_QUERY_TIMEOUT_S", 1)
    silent = _SilentPostgres(relay=True)
    conn = psycopg2.connect(host="127.0.0.1", port=silent.port, user=pg_schema.user, dbname=PG_DB)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
            silent.freeze()
            with pytest.raises(psycopg2.OperationalError, match="silent for 1 s during a query"):
                cur.execute("SELECT 2")
        assert conn.closed  # psycopg2 closed it: the pool will not hand it out again
    finally:
        conn.close()
        silent.close()


def test_a_write_lock_held_by_another_process_is_waited_for_without_holding_other_calls_up(tmp_path):
    """SQLite's own busy wait would sleep in the event loop's thread: every call stalled
    5 s per store operation while, say, a command-line import held the lock."""
    import subprocess
    import sys
    path = tmp_path / "locked.db"
    store = open_store(f"sqlite:///{path}", spool_dir=tmp_path / "spool")
    try:
        store.calls.save(make_call("before"))
        holder = subprocess.Popen([sys.executable, "-c", (
            "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
            "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(1.0); c.execute('COMMIT')"),
            str(path)], stdout=subprocess.PIPE)
        assert holder.stdout.readline() == b"locked\n"
        gaps, last = [], time.monotonic()

        def tick():
            nonlocal last
            while True:
                gevent.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticker = gevent.spawn(tick)
        started = time.monotonic()
        store.calls.save(make_call("while-locked"))  # waits for the lock, then stores
        waited = time.monotonic() - started
        ticker.kill()
        holder.wait(timeout=10)
        assert 0.5 < waited < 4
        assert gaps and max(gaps) < 0.2, gaps[-3:]  # the event loop went on meanwhile
        assert store.calls.get("while-locked") is not None  # stored, not spooled
        assert not (tmp_path / "spool" / "calls.jsonl").exists()
    finally:
        store.close()


def test_while_postgresql_is_silent_units_of_work_do_not_queue_behind_each_others_connect(silent_store):
    """peewee connects one at a time: without the pause after a failed connect, four
    saves would take four connect timeouts, one after the other."""
    store, relay, spool = silent_store
    store.calls.save(make_call("before"))
    relay.freeze()
    started = time.monotonic()
    saves = [gevent.spawn(store.calls.save, make_call(f"silent-{n}")) for n in range(4)]
    gevent.joinall(saves, raise_error=True)
    assert time.monotonic() - started < 4.5  # ~ one connect timeout (2 s) and one query timeout (1 s)
    assert all(f"silent-{n}" in spool.read_text() for n in range(4))


def test_idle_pooled_connections_to_a_silent_postgresql_cost_one_timeout_not_one_each(silent_store):
    store, relay, spool = silent_store
    busy = [gevent.spawn(lambda n=n: store.calls.save(make_call(f"fill-{n}"))) for n in range(4)]
    gevent.joinall(busy, raise_error=True)  # a few connections now wait idle in the pool
    relay.freeze()
    started = time.monotonic()
    store.calls.save(make_call("silent"))  # spooled
    assert time.monotonic() - started < 2.5  # one ping's timeout, then the pause: not one per idle connection
    assert "silent" in spool.read_text()

@pytest.mark.parametrize("setting, target", [
    ("", (False, "127.0.0.1", 5432, "test")),
    (" OFF ", (True, "", 0, "")),
    ("db.example:6543", (False, "db.example", 6543, "test")),
    ("127.0.0.1:55432/other", (False, "127.0.0.1", 55432, "other")),
])
def test_the_postgresql_test_target_is_read_from_fsrouter_test_postgres(setting, target):
    from tests.store_fixtures import _pg_target
    assert _pg_target(setting) == target


@pytest.mark.parametrize("setting", ["localhost", "garbage", "host:", "postgresql://u@h:1/db", "h:70000", "[::1]:5"])
def test_a_malformed_fsrouter_test_postgres_is_a_usage_error_naming_the_form(setting):
    from tests.store_fixtures import _pg_target
    with pytest.raises(pytest.UsageError, match="expected off or HOST:PORT"):
        _pg_target(setting)
