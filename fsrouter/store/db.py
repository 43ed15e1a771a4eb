"""Open a database from a URL, and run units of work on it.

URLs:

- ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``: an SQLite file (parent
  folder created) with pragmas journal_mode=wal, busy_timeout=0 (a lock held by another
  connection is waited for cooperatively, up to SQLITE_BUSY_WAIT_S: :func:`when_unlocked`), foreign_keys=1,
  synchronous=normal, wal_autocheckpoint=10000 (pages); a pool of at most 8 connections,
  each unit of work takes one (one whose work failed is dropped, not reused). A commit
  no longer copies the write-ahead log into the database file every 1,000 pages
  (SQLite's default): the server calls :meth:`Connector.checkpoint` from a worker thread
  instead (see its docstring).
- ``sqlite:///:memory:``: a private in-memory database (for tests), shared by the units of
  work of one store and gone when the store is closed.
- ``postgresql://user:password@host:port/dbname?option=value`` (or ``postgres://``): a
  pool of at most 20 connections, recycled after 300 s; a unit of work waits up to 10 s
  for a free connection. Query options go to libpq as they are (``sslmode``,
  ``options=-csearch_path%3Dmyschema``, ...); its timeouts and the gevent wait callback
  are in :mod:`fsrouter.store.postgres`, which is imported (with psycopg2) only for
  these URLs.

Under gevent, peewee keeps its connection state in a ``threading.local``, which monkey
patching makes greenlet-local: each greenlet's unit of work has its own connection.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from time import monotonic as _monotonic
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import peewee
from playhouse.pool import MaxConnectionsExceeded, PooledSqliteDatabase

from .. import dburl
from ..errors import StoreError

#: WAL pages after which a commit checkpoints by itself: a backstop for when nobody calls
#: Connector.checkpoint (command-line tools), ~40 MB of log at SQLite's 4 KB pages.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10000
#: Seconds a statement waits, in all, while another connection (another engine, a
#: command-line import, a backup) holds SQLite's write lock: then StoreError. The wait is
#: cooperative (see :func:`when_unlocked`): SQLite's own busy_timeout would sleep inside
#: the event loop's thread and hold every call up.
SQLITE_BUSY_WAIT_S = 5.0
SQLITE_PRAGMAS = (
    ("journal_mode", "wal"),
    ("busy_timeout", 0),
    ("foreign_keys", 1),
    ("synchronous", "normal"),
    ("wal_autocheckpoint", SQLITE_WAL_AUTOCHECKPOINT_PAGES),
)
PG_MAX_CONNECTIONS = 20
SQLITE_MAX_CONNECTIONS = 8
PG_STALE_TIMEOUT_S = 300
PG_POOL_WAIT_S = 10



class Connector:
    """A peewee database plus the one way the repositories use it: :meth:`work`.

    ``keeper`` is a raw connection held open for the store's lifetime (the in-memory
    SQLite database lives only while one connection to it is open).
    """

    def __init__(self, database: peewee.Database, *, description: str, keeper: sqlite3.Connection | None = None,
                 wal_path: str | None = None):
        self.database = database
        self.description = description
        self._keeper = keeper
        self._closed = False
        self._sqlite_path = wal_path  # the SQLite file (in WAL mode): checkpoint() has work to do
        self._checkpointer: sqlite3.Connection | None = None
        self._file_id: tuple[int, int] | None = None  # (device, inode) from the first unit of work
        self._nesting = threading.local()  # greenlet-local under gevent: units of work open in this one

    @property
    def has_wal(self) -> bool:
        """True for an SQLite file database (its write-ahead log needs checkpoints)."""
        return self._sqlite_path is not None

    def checkpoint(self) -> tuple[int, int] | None:
        """Copy the write-ahead log into the SQLite database file; returns (pages in the
        log, pages copied), or None when there is no log (PostgreSQL, in-memory SQLite).

        PASSIVE: it never waits for, nor blocks, readers and writers; what they hold is left
        for the next checkpoint. It blocks its caller for the copy and two fsyncs (the
        only fsyncs under synchronous=normal), ~5-10 ms every ~1,000 pages: run it in a
        worker thread (the sqlite3 module releases the GIL), never in the event loop.
        One caller at a time; raises StoreError when the database fails or is closed.
        """
        if self._sqlite_path is None:
            return None
        if self._closed:
            raise StoreError(f"store {self.description} is closed")
        self._check_file()
        try:
            if self._checkpointer is None:  # its own connection: the pool's belong to the event loop
                # mode=rw: a database file gone missing is an error here, not created anew
                self._checkpointer = sqlite3.connect(f"file:{quote(self._sqlite_path)}?mode=rw", uri=True,
                                                     check_same_thread=False)
                if self._file_id is None:
                    self._file_id = _file_id(self._sqlite_path)
            _, log_pages, copied = self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            self._drop_checkpointer()  # opened read-only, say: the next checkpoint starts afresh
            raise StoreError(f"{self.description}: checkpoint: {type(exc).__name__}: {exc}") from exc
        return log_pages, copied

    def _check_file(self) -> None:
        """StoreError when the database file was removed or replaced since the store's
        first unit of work (or first checkpoint): the pool's connections still write to
        the old, unlinked file, so every record from then on is lost with it (an operator
        must restart the server)."""
        if self._file_id is None:
            return
        now = _file_id(self._sqlite_path)
        if now != self._file_id:
            self._drop_checkpointer()
            what = "removed" if now is None else "replaced"
            raise StoreError(f"{self.description}: the database file was {what} while in use; "
                             "records written since are not in it: restart fsrouter")

    def _drop_checkpointer(self) -> None:
        if self._checkpointer is not None:
            try:
                self._checkpointer.close()
            except sqlite3.Error:
                pass
            self._checkpointer = None

    @contextmanager
    def work(self) -> Iterator[peewee.Database]:
        """One unit of work: a connection (from the pool) and a transaction, committed on
        success, rolled back on error, and the connection given back on exit.

        Raises StoreError for any database error (server down, pool exhausted, constraint)
        and once the store is closed; other exceptions pass through unchanged.
        """
        if self._closed:
            raise StoreError(f"store {self.description} is closed")
        depth = getattr(self._nesting, "depth", 0)  # a unit of work inside another shares its connection
        self._nesting.depth = depth + 1
        try:
            with self.database.connection_context():
                try:
                    yield self.database
                except peewee.OperationalError:
                    if depth == 0:  # the outer unit's connection is the outer unit's to drop
                        self._discard_connection()
                    raise
            if self._file_id is None and self._sqlite_path is not None:
                self._file_id = _file_id(self._sqlite_path)  # the file the pool writes to, from its first work on
        except MaxConnectionsExceeded as exc:
            raise StoreError(f"{self.description}: no free connection: {exc}") from exc
        except peewee.PeeweeException as exc:
            if hasattr(self.database, "trip") and _connection_lost(exc):
                self.database.trip()
            exc = _first_failure(exc)
            hint = self._unwritable_files() if "readonly" in str(exc) else ""
            raise StoreError(f"{self.description}: {type(exc).__name__}: {exc}{hint}".strip()) from exc
        finally:
            self._nesting.depth = depth

    def _unwritable_files(self) -> str:
        """For a "readonly database" error: which of the SQLite file, its -wal and -shm
        this process may not write (SQLite creates the -shm with the database file's mode
        and keeps it across runs: a -shm left read-only keeps every new connection
        read-only after the database file itself is writable again)."""
        if self._sqlite_path is None:
            return ""
        paths = (self._sqlite_path, self._sqlite_path + "-wal", self._sqlite_path + "-shm")
        unwritable = [p for p in paths if os.path.exists(p) and not os.access(p, os.W_OK)]
        return f" (not writable: {', '.join(unwritable)})" if unwritable else ""

    def _discard_connection(self) -> None:
        """Close this unit of work's pooled SQLite connection, so that the pool drops it
        at check-in instead of handing it out again: a connection opened while the file
        was read-only stays read-only, and would fail every unit of work it served until
        it went stale (300 s) though the file was writable again. (PostgreSQL's pool
        already drops a connection its server closed.)"""
        if isinstance(self.database, PooledSqliteDatabase):
            try:
                self.database.connection().close()
            except Exception:  # already broken: nothing more to close
                pass

    def close(self) -> None:
        """Close every connection; later units of work raise StoreError. Idempotent."""
        if self._closed:
            return
        self._closed = True
        close_all = getattr(self.database, "close_all", None)
        try:
            if close_all is not None:
                close_all()
            elif not self.database.is_closed():
                self.database.close()
        finally:
            for raw in (self._keeper, self._checkpointer):
                if raw is not None:
                    raw.close()


def _first_failure(exc: peewee.PeeweeException) -> peewee.PeeweeException:
    """The error that failed a transaction, not the failed ROLLBACK after it.

    SQLite rolls a transaction back by itself on some errors (a full disk, an I/O error);
    peewee's ``atomic()`` then rolls back again, fails ("cannot rollback - no transaction
    is active") and raises that instead, the real error left in ``__context__``.
    """
    if "cannot rollback" not in str(exc):
        return exc
    earlier = exc.__context__  # the driver's rollback error, then peewee's wrapped first failure
    while earlier is not None:
        if isinstance(earlier, peewee.PeeweeException) and "cannot rollback" not in str(earlier):
            return earlier
        earlier = earlier.__context__
    return exc


def _file_id(path: str) -> tuple[int, int] | None:
    """(device, inode) of ``path``, or None when it is not there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def connect(url: str) -> Connector:
    """A :class:`Connector` for ``url`` (no connection is opened yet, except for
    ``sqlite:///:memory:``). StoreError for an unsupported scheme or a malformed URL."""
    if check_url(url) == "sqlite":
        return _sqlite(url)
    from .postgres import postgresql_connector  # psycopg2 only for these URLs

    return postgresql_connector(url)


def check_url(url: str) -> str:
    """``url``'s kind, "sqlite" or "postgresql", when :func:`connect` would take it;
    StoreError naming what is wrong otherwise (the rules: fsrouter.dburl). No I/O."""
    try:
        return dburl.url_kind(url)
    except ValueError as exc:
        raise StoreError(str(exc)) from None


def sqlite_path(url: str) -> str:
    """The file path of an ``sqlite:///`` URL (``:memory:`` for the in-memory database);
    StoreError for a malformed one."""
    try:
        return dburl.sqlite_path(url)
    except ValueError as exc:
        raise StoreError(str(exc)) from None


#: SQLite result codes worth a retry: the lock is held by another connection, or it is
#: recovering the write-ahead log. Not SQLITE_BUSY_SNAPSHOT (517): a transaction whose
#: snapshot is stale can only be started again.
_RETRY_CODES = (sqlite3.SQLITE_BUSY, 261)


def _locked(exc: BaseException) -> bool:
    """True for "database is locked" from another connection (peewee wraps sqlite3's error)."""
    original = exc.args[0] if exc.args and isinstance(exc.args[0], sqlite3.Error) else exc
    code = getattr(original, "sqlite_errorcode", None)
    if code is not None:
        return code in _RETRY_CODES
    return "database is locked" in str(original)


def when_unlocked(run):
    """``run()``, tried again while SQLite says another connection holds the lock, with
    sleeps of 1 ms doubling to 100 ms in between (``time.sleep``: under gevent other calls
    go on meanwhile), for up to SQLITE_BUSY_WAIT_S seconds; then the last error is raised.
    A statement SQLite refuses as busy has changed nothing, so trying it again is safe."""
    deadline = None
    delay = 0.001
    while True:
        try:
            return run()
        except (peewee.OperationalError, sqlite3.OperationalError) as exc:
            if not _locked(exc):
                raise
            now = _monotonic()
            deadline = deadline if deadline is not None else now + SQLITE_BUSY_WAIT_S
            if now >= deadline:
                raise
            time.sleep(min(delay, deadline - now))
            delay = min(delay * 2, 0.1)


class _CooperativeSqliteDatabase(PooledSqliteDatabase):
    """The pool of SQLite connections, whose statements wait for a lock cooperatively."""

    def execute_sql(self, *args, **kwargs):
        try:  # the usual case, without a closure
            return super().execute_sql(*args, **kwargs)
        except peewee.OperationalError as exc:
            if not _locked(exc):
                raise
        return when_unlocked(lambda: super(_CooperativeSqliteDatabase, self).execute_sql(*args, **kwargs))


def _sqlite(url: str) -> Connector:
    path = sqlite_path(url)
    pragmas = list(SQLITE_PRAGMAS)
    if path == ":memory:":
        name = f"file:fsrouter-{uuid.uuid4().hex}?mode=memory&cache=shared"
        keeper = sqlite3.connect(name, uri=True)
        database = peewee.SqliteDatabase(name, uri=True, pragmas=pragmas)
        return Connector(database, description="sqlite:///:memory:", keeper=keeper)
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder of SQLite database {path}: {exc}") from exc
    # A small pool: opening a connection (and running its pragmas) per unit of work cost
    # more than the work itself (benchmarks/setup_latency.py). Under gevent every greenlet
    # runs in one OS thread and a unit of work has its own connection while it runs (it
    # may yield only while waiting for another process's lock, holding no lock itself).
    database = _CooperativeSqliteDatabase(path, pragmas=pragmas, max_connections=SQLITE_MAX_CONNECTIONS,
                                    stale_timeout=PG_STALE_TIMEOUT_S, timeout=PG_POOL_WAIT_S,
                                    check_same_thread=False)
    return Connector(database, description=f"sqlite:///{path}", wal_path=path)


def _connection_lost(exc: BaseException) -> bool:
    """True for a PostgreSQL error with no SQLSTATE from the server: the connection, not
    the statement, failed (a timeout of the wait callback, a server gone)."""
    original = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    return type(original).__module__.startswith("psycopg2") and getattr(original, "pgcode", "") is None
