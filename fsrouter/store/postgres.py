"""PostgreSQL for the store: the connection pool, and the gevent wait callback that keeps
psycopg2 from blocking every greenlet, each with the timeouts a live engine needs.

A server that refuses connections fails at once; one that accepts and never answers (a
hung server, a firewall that drops) costs a unit of work at most the URL's
``connect_timeout`` (default PG_CONNECT_TIMEOUT_S) or PG_QUERY_TIMEOUT_S of silence during
a query, and then connects fail at once for PG_RETRY_S, so calls do not queue behind each
other's timeouts. psycopg2 is imported only here (the ``postgres`` extra).
"""

from __future__ import annotations

import threading
from time import monotonic as _monotonic
from urllib.parse import parse_qsl, unquote

from .. import dburl
from ..errors import StoreError
from .db import PG_MAX_CONNECTIONS, PG_POOL_WAIT_S, PG_STALE_TIMEOUT_S, Connector

PG_CONNECT_TIMEOUT_S = 5
#: Seconds a PostgreSQL query may go without the server reading or answering anything
#: (under gevent, where libpq's own timeouts do not apply): then the connection is
#: closed and the unit of work fails (StoreError; a call record is spooled).
PG_QUERY_TIMEOUT_S = 10
#: Seconds after a failed connect (or a connection lost mid-query) during which further
#: connects fail at once: peewee connects one at a time, so without this every unit of
#: work of every call would queue behind its own connect_timeout while the server is down.
PG_RETRY_S = 5.0
#: How the gevent wait callback's timeout reads (install_gevent_wait_callback).
_SILENT = "PostgreSQL server silent for"


def postgresql_connector(url: str) -> Connector:
    """A :class:`Connector` for a ``postgresql://`` URL (see fsrouter.store.db); StoreError
    for a malformed one or a missing psycopg2."""
    try:
        import psycopg2  # noqa: F401  (peewee needs it; fail here with a clear message)
    except ImportError as exc:
        raise StoreError("postgresql URLs need psycopg2: pip install 'fsrouter[postgres]'") from exc
    try:
        parts, port, dbname = dburl.postgresql_parts(url)
    except ValueError as exc:
        raise StoreError(str(exc)) from None
    params: dict[str, object] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    params.update(parse_qsl(parts.query, keep_blank_values=True))
    if parts.username:
        params["user"] = unquote(parts.username)
    if parts.password:
        params["password"] = unquote(parts.password)
    if parts.hostname:
        params["host"] = parts.hostname
    if port:
        params["port"] = port
    database = _postgresql_database_class()(
        dbname,
        max_connections=PG_MAX_CONNECTIONS,
        stale_timeout=PG_STALE_TIMEOUT_S,
        timeout=PG_POOL_WAIT_S,
        **params,
    )
    where = f"{parts.hostname or 'localhost'}:{port or 5432}/{dbname}"
    return Connector(database, description=f"postgresql://{where}")


def _postgresql_database_class():
    """PooledPostgresqlDatabase that stops trying for PG_RETRY_S seconds once the server
    could not be reached (built here: playhouse's PostgreSQL pool needs psycopg2)."""
    import psycopg2
    import psycopg2.extensions
    from playhouse.pool import PooledPostgresqlDatabase

    class PostgresqlDatabase(PooledPostgresqlDatabase):
        unreachable_until = 0.0

        def _connect(self):  # peewee calls it under its connect lock: queued callers see a trip at once
            wait = self.unreachable_until - _monotonic()
            if wait > 0:
                raise psycopg2.OperationalError(
                    f"PostgreSQL unreachable (it failed moments ago); the next try in {wait:.1f} s")
            try:
                return super()._connect()
            except psycopg2.OperationalError:
                self.trip()
                raise

        def trip(self) -> None:
            """The server was not reached: fail connects at once for PG_RETRY_S seconds."""
            self.unreachable_until = _monotonic() + PG_RETRY_S

        def _is_closed(self, conn) -> bool:
            """peewee's check of an idle pooled connection before handing it out (a
            rollback or ``SELECT 1``), except that a server gone silent trips the pause and
            ends the connect: else each idle connection, then a new one, would wait out its
            timeout in turn, under the pool's lock, before any call's store work could
            fail (20 x 10 s + 5 s)."""
            if conn.closed:
                return True
            if _monotonic() < self.unreachable_until:  # do not ask a server that just failed us
                conn.close()
                return True
            try:
                if conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                    conn.rollback()
                else:
                    conn.cursor().execute("SELECT 1")
            except psycopg2.Error as exc:
                conn.close()
                if _SILENT in str(exc):  # the server is there but silent: stop here, try no other
                    self.trip()
                    raise
                return True  # closed by the server (a restart, say): the next one may be fine
            return False

    return PostgresqlDatabase


_green_lock = threading.Lock()


def install_gevent_wait_callback() -> None:
    """Make psycopg2 yield to the gevent hub while it waits on the server (process-wide).

    Call once from the composition root when running under gevent; without it every
    PostgreSQL query blocks all greenlets. Idempotent. Needs gevent and psycopg2.

    With a wait callback libpq enforces no timeout of its own, so this one does: a server
    silent for the connection's ``connect_timeout`` (default PG_CONNECT_TIMEOUT_S) while
    connecting, or for PG_QUERY_TIMEOUT_S during a query (a host that accepts TCP and
    never answers), raises psycopg2.OperationalError and psycopg2 closes the connection.
    """
    import psycopg2
    import psycopg2.extensions as ext
    from gevent.socket import wait_read, wait_write

    ready = (ext.STATUS_READY, ext.STATUS_BEGIN, ext.STATUS_PREPARED)

    def wait(conn, timeout=None):
        while True:
            state = conn.poll()
            if state == ext.POLL_OK:
                return
            connecting = conn.status not in ready
            limit = _connect_timeout_s(conn.dsn) if connecting else PG_QUERY_TIMEOUT_S
            try:
                if state == ext.POLL_READ:
                    wait_read(conn.fileno(), timeout=limit)
                elif state == ext.POLL_WRITE:
                    wait_write(conn.fileno(), timeout=limit)
                else:
                    raise psycopg2.OperationalError(f"bad state from poll: {state}")
            except TimeoutError:  # gevent's socket.timeout
                what = "connecting" if connecting else "during a query"
                raise psycopg2.OperationalError(f"{_SILENT} {limit:g} s {what}") from None

    with _green_lock:
        if psycopg2.extensions.get_wait_callback() is None:
            psycopg2.extensions.set_wait_callback(wait)


def _connect_timeout_s(dsn: str) -> float:
    """The DSN's ``connect_timeout`` in seconds (libpq's rule: below 2 counts as 2; 0 or
    missing: PG_CONNECT_TIMEOUT_S, since no wait may be endless)."""
    import psycopg2.extensions

    try:
        value = float(psycopg2.extensions.parse_dsn(dsn).get("connect_timeout") or 0)
    except (ValueError, psycopg2.ProgrammingError):
        value = 0
    return max(value, 2.0) if value > 0 else float(PG_CONNECT_TIMEOUT_S)


def uninstall_gevent_wait_callback() -> None:
    """Undo :func:`install_gevent_wait_callback` (psycopg2 blocks again)."""
    import psycopg2.extensions

    psycopg2.extensions.set_wait_callback(None)
