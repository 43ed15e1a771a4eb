"""Fixtures shared by the tests/test_store_*.py modules (imported by name from each).

Every repository test runs twice: on an SQLite file in ``tmp_path`` and on PostgreSQL at
127.0.0.1:5432, database ``test`` (user postgres or root, trust auth). Each test module
gets its own schema ``fsrouter_test_<random>``, reached through the store URL's
``options=-csearch_path=...`` and dropped afterwards; every table in it is truncated after
each test. When PostgreSQL does not answer, the PostgreSQL variants are skipped.

``FSROUTER_TEST_POSTGRES``: ``off`` skips the PostgreSQL variants without connecting (a
server on 5432 that the tests must not write to); ``HOST:PORT/DB`` points them elsewhere.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from fsrouter.store import CallRecord, open_store

def _pg_target(setting: str) -> tuple[bool, str, int, str]:
    """(off, host, port, database) from FSROUTER_TEST_POSTGRES; pytest.UsageError when it is
    neither unset/empty (127.0.0.1:5432/test), ``off``, nor ``HOST:PORT[/DB]``."""
    setting = setting.strip()
    if setting.lower() == "off":
        return True, "", 0, ""
    match = re.fullmatch(r"([A-Za-z0-9_.-]+):(\d{1,5})(?:/([A-Za-z0-9_]+))?", setting or "127.0.0.1:5432/test")
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise pytest.UsageError(f"FSROUTER_TEST_POSTGRES={setting!r}: expected off or HOST:PORT[/DB] "
                                "(e.g. 127.0.0.1:5432/test)")
    return False, match.group(1), int(match.group(2)), match.group(3) or "test"


PG_OFF, PG_HOST, PG_PORT, PG_DB = _pg_target(os.environ.get("FSROUTER_TEST_POSTGRES", ""))
PG_USERS = ("postgres", "root")
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


class FakeClock:
    """Aware-UTC "now" that moves only when told to (so time-ordered tests need no sleep)."""

    def __init__(self, start: datetime = T0):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 1.0) -> datetime:
        self.now = self.now + timedelta(seconds=seconds)
        return self.now


@dataclass
class PgSchema:
    user: str
    schema: str
    admin: object  # a psycopg2 connection in autocommit mode

    @property
    def url(self) -> str:
        options = quote(f"-csearch_path={self.schema}", safe="")
        return f"postgresql://{self.user}@{PG_HOST}:{PG_PORT}/{PG_DB}?options={options}&connect_timeout=3"

    def truncate_all(self) -> None:
        with self.admin.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (self.schema,))
            tables = [f'"{self.schema}"."{name}"' for (name,) in cur.fetchall()]
            if tables:
                cur.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")


def _pg_admin():
    if PG_OFF:
        pytest.skip("PostgreSQL tests off (FSROUTER_TEST_POSTGRES=off)")
    try:
        import psycopg2
    except ImportError:
        pytest.skip("psycopg2 is not installed")
    errors = []
    for user in PG_USERS:
        try:
            conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=user, dbname=PG_DB, connect_timeout=2)
        except psycopg2.OperationalError as exc:
            errors.append(f"{user}: {str(exc).strip()}")
            continue
        conn.autocommit = True
        return user, conn
    pytest.skip(f"PostgreSQL unreachable at {PG_HOST}:{PG_PORT}/{PG_DB} ({'; '.join(errors)})")


@pytest.fixture(scope="module")
def pg_schema():
    """A fresh PostgreSQL schema for one test module, dropped afterwards."""
    user, admin = _pg_admin()
    schema = f"fsrouter_test_{secrets.token_hex(6)}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield PgSchema(user, schema, admin)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    return request.param


@pytest.fixture
def store_url(backend, request, tmp_path):
    """A URL of an empty database of the backend under test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/db/store.db"
    target = request.getfixturevalue("pg_schema")
    request.addfinalizer(target.truncate_all)
    return target.url


@pytest.fixture
def dead_url(backend, tmp_path):
    """A URL of the same backend where no database answers."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}"  # a folder: "unable to open database file"
    with socket.socket() as probe:  # a local port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # no PostgreSQL server is involved, so FSROUTER_TEST_POSTGRES=off (no database name) runs these too
    return f"postgresql://postgres@127.0.0.1:{port}/{PG_DB or 'test'}?connect_timeout=2"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def spool_dir(tmp_path):
    return tmp_path / "spool"


@pytest.fixture
def store(store_url, spool_dir, clock):
    opened = open_store(store_url, spool_dir=spool_dir, clock=clock)
    yield opened
    opened.close()


def make_call(call_uuid: str = "call-1", **changes) -> CallRecord:
    """A complete inbound call record; ``changes`` override fields."""
    values = dict(
        call_uuid=call_uuid,
        line="kyiv-main",
        direction="inbound",
        caller="+380501112233",
        destination="+380441234567",
        started_at=T0,
        answered_at=T0 + timedelta(seconds=7),
        ended_at=T0 + timedelta(seconds=95, microseconds=250),
        hangup_cause="NORMAL_CLEARING",
        route=(
            {"step": "greeting", "melody": "greeting.mp3"},
            {"step": "group", "employee": "bob", "result": "no_answer"},
            {"step": "group", "employee": "alice", "result": "answered"},
        ),
        answered_by="alice",
        config_version="sha256:abc",
        extra={"crm": {"entity_type": "lead", "entity_id": 3}},
    )
    values.update(changes)
    return CallRecord(**values)
