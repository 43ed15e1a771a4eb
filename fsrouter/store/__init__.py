"""PERSISTENCE: call records, voicemails, live employee state and the CRM.

The rest of fsrouter sees :func:`open_store`, :class:`Store`, its repositories and the
plain records below; peewee stays inside this package. Every repository method is one
unit of work (a pooled connection and a transaction, released on return) and raises
``fsrouter.errors.StoreError`` when the database fails, except ``calls.save``, which
spools the record to disk instead.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import structlog

from ..errors import StoreError
from . import models
from .callbacks import CallbackRecord, CallbackRepository
from .calls import CallRepository
from .crm import CrmEntity, CrmRepository, LeadRecord
from .db import Connector, connect
from .employees import EmployeeStateRepository
from .recordings import RecordingRecord, RecordingRepository
from .records import CallRecord, CrmMatch, VoicemailRecord
from .spool import JsonlSpool
from .voicemails import VoicemailRepository

__all__ = [
    "CallbackRecord", "CallbackRepository",
    "CallRecord", "CallRepository", "CrmEntity", "CrmMatch", "CrmRepository", "EmployeeStateRepository",
    "LeadRecord", "RecordingRecord", "RecordingRepository", "Store", "VoicemailRecord", "VoicemailRepository",
    "open_store",
]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Store:
    """The repositories over one database: ``calls``, ``voicemails``, ``employees``, ``crm``,
    ``recordings``.

    Build it with :func:`open_store`. Safe to share between greenlets.
    """

    def __init__(
        self,
        connector: Connector,
        *,
        spool: JsonlSpool | None = None,
        clock: Callable[[], datetime] = _utcnow,
        log: Any = None,
    ):
        self._connector = connector
        bound = models.bind(connector.database)
        self._models = bound
        log = log if log is not None else structlog.get_logger()
        self.calls = CallRepository(connector, bound, spool=spool, clock=clock, log=log)
        self.voicemails = VoicemailRepository(connector, bound, clock=clock)
        self.employees = EmployeeStateRepository(connector, bound, clock=clock)
        self.crm = CrmRepository(connector, bound, clock=clock)
        self.recordings = RecordingRepository(connector, bound, clock=clock)
        self.callbacks = CallbackRepository(connector, bound, clock=clock)

    @property
    def description(self) -> str:
        """The database, without credentials (for logs)."""
        return self._connector.description

    def create_tables(self) -> None:
        """Create missing tables and indexes (existing ones are left alone). StoreError on failure."""
        with self._connector.work() as database:
            database.create_tables(self._models.all, safe=True)

    def ping(self) -> bool:
        """True when the database answers ``SELECT 1``; False when it does not (never raises)."""
        try:
            with self._connector.work() as database:
                database.execute_sql("SELECT 1").fetchone()
        except StoreError:
            return False
        return True

    @property
    def has_wal(self) -> bool:
        """True when the database keeps a write-ahead log that :meth:`checkpoint` must copy
        into it (an SQLite file)."""
        return self._connector.has_wal

    def checkpoint(self) -> tuple[int, int] | None:
        """Copy SQLite's write-ahead log into the database file: (pages in the log, pages
        copied), or None when the database has none. Blocking (disk writes and fsyncs):
        run it in a worker thread. StoreError on failure. See ``Connector.checkpoint``."""
        return self._connector.checkpoint()

    def close(self) -> None:
        """Close every connection. Afterwards repository calls raise StoreError (and
        ``calls.save`` spools). Idempotent."""
        self._connector.close()


def open_store(
    url: str,
    *,
    spool_dir: str | Path | None = None,
    create: bool = True,
    clock: Callable[[], datetime] | None = None,
    log: Any = None,
) -> Store:
    """Open the store at ``url`` (see :mod:`fsrouter.store.db` for the URL forms).

    spool_dir: folder for ``calls.jsonl``, where call records wait while the database is
    down; records already spooled there are flushed now if the database answers (a
    failure is logged as ``call_spool_flush_failed``, not raised). create: create missing
    tables (needs the database; StoreError if it is down). clock: returns aware UTC "now"
    (tests inject one). log: a structlog logger (default: ``structlog.get_logger()``).
    StoreError for an unsupported URL scheme or a malformed URL.
    """
    connector = connect(url)
    spool = JsonlSpool(spool_dir, "calls") if spool_dir is not None else None
    store = Store(connector, spool=spool, clock=clock or _utcnow, log=log)
    try:
        if create:
            store.create_tables()
    except BaseException:
        store.close()
        raise
    if spool is not None and spool.pending():
        try:
            store.calls.flush_spool()
        except StoreError as exc:
            (log or structlog.get_logger()).warning("call_spool_flush_failed", error=str(exc), spool_path=str(spool.path))
    return store
