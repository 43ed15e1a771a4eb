"""Call records: save (upsert, spooled to disk when the database is down), get, list."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

import peewee

from ..errors import StoreError
from .compiled import CompiledQueries
from .db import Connector
from .models import Models, UtcDateTimeField
from .records import CallRecord, call_from_jsonable, jsonable_call, utc
from .spool import JsonlSpool

_CHUNK = 200  # rows per INSERT when flushing the spool
#: Errors about one row's contents (not the database being away): retried record by record.
_ROW_ERRORS = (peewee.DataError, peewee.IntegrityError)
_SAVED_AT = "_saved_at"  # key of the save time in a spooled line
#: Columns whose peewee db_value returns a str (or None) unchanged.
_TEXT_FIELDS = (peewee.CharField, peewee.TextField)
#: How a column's value becomes a parameter (see CallRepository._params).
_TEXT, _SQLITE_UTC = "text", "sqlite utc"


def _kind(field: peewee.Field, sqlite: bool) -> str | None:
    """_TEXT or _SQLITE_UTC when a value of ``field`` may skip its db_value, else None."""
    if isinstance(field, _TEXT_FIELDS):
        return _TEXT
    if sqlite and isinstance(field, UtcDateTimeField):
        return _SQLITE_UTC
    return None


class CallRepository:
    """Call records, upserted by ``call_uuid``.

    Each save stamps the record with the time ``save`` was called; an upsert only replaces
    a row saved earlier, so a record flushed late from the spool never overwrites a newer
    save of the same call.
    """

    def __init__(
        self,
        connector: Connector,
        models: Models,
        *,
        spool: JsonlSpool | None,
        clock: Callable[[], datetime],
        log: Any,
    ):
        self._connector = connector
        self._model = models.CallRow
        self._spool = spool
        self._clock = clock
        self._log = log
        self._queries = CompiledQueries()
        self._fields: dict[tuple, list] = {}  # row columns -> (name, field, _kind), in peewee's order
        self._sqlite = isinstance(connector.database, peewee.SqliteDatabase)
        self._limits = [(f.name, f.max_length) for f in self._model._meta.sorted_fields
                        if isinstance(f, peewee.CharField) and f.max_length]

    def save(self, record: CallRecord) -> None:
        """Insert or replace the record of ``record.call_uuid``.

        On a database error the record is appended to ``<spool_dir>/calls.jsonl`` (fsync'd)
        and event ``call_record_spooled`` is logged; nothing is raised. StoreError when
        there is no spool folder, or when the spool cannot be written either. After a
        successful save, records spooled earlier are flushed (see :meth:`flush_spool`).
        """
        self.save_many((record,))

    def save_many(self, records: Sequence[CallRecord]) -> None:
        """Insert or replace several records in one transaction (a group commit).

        The contract of :meth:`save`, for each record: on a database error every record of
        the batch is spooled and nothing is raised; StoreError when a record could be
        neither saved nor spooled (the others are spooled). A live engine's records come
        here in batches (flow.record_writer): one commit for the calls that ended together
        costs little more than one commit per call.
        """
        for record in records:
            if not isinstance(record, CallRecord):
                raise TypeError(f"expected CallRecord, got {type(record).__name__}")
        if not records:
            return
        saved_at = utc(self._clock(), "clock()")
        try:
            with self._connector.work() as database:
                if len(records) == 1:
                    self._upsert_one(database, self._fit(_row(records[0], saved_at)))
                else:
                    with database.atomic():
                        self._upsert_many(database, [self._fit(_row(record, saved_at)) for record in records])
        except StoreError as exc:
            if len(records) > 1 and isinstance(exc.__cause__, _ROW_ERRORS):
                # one record the database refuses must not cost its batch-mates their rows
                for record in records:
                    self.save_many((record,))
                return
            lost = []
            for record in records:
                try:
                    self._spool_record(record, saved_at, exc)
                except StoreError as spool_exc:
                    lost.append(spool_exc)
            if lost:
                raise lost[0] if len(lost) == 1 else StoreError(
                    f"{len(lost)} of {len(records)} call records not saved: {lost[0]}") from exc
            return
        if self._spool is not None and self._spool.pending():
            try:
                self.flush_spool()
            except StoreError as exc:
                self._log.warning("call_spool_flush_failed", error=str(exc), spool_path=str(self._spool.path))

    def flush_spool(self) -> int:
        """Upsert every spooled record in one transaction, then empty the spool.

        Returns how many distinct calls were written (0 when nothing was spooled, or when
        another flush is already running). Idempotent: a record spooled twice or flushed
        twice is stored once, and the latest save of a call wins. StoreError when the
        database fails; the records then stay spooled for the next flush.
        """
        if self._spool is None:
            return 0
        with self._spool.drain() as batch:
            latest: dict[str, tuple[CallRecord, datetime, dict]] = {}
            for item in batch.items:
                try:
                    record = call_from_jsonable(item)
                    saved_at = utc(datetime.fromisoformat(item[_SAVED_AT]), _SAVED_AT)
                except (KeyError, TypeError, ValueError) as exc:
                    self._log.error("call_spool_line_rejected", error=str(exc), call_uuid=item.get("call_uuid"))
                    batch.reject(item)
                    continue
                known = latest.get(record.call_uuid)
                if known is None or known[1] <= saved_at:
                    latest[record.call_uuid] = (record, saved_at, item)
            entries = [(self._fit(_row(record, saved_at)), item) for record, saved_at, item in latest.values()]
            stored = 0
            if entries:
                try:
                    with self._connector.work():
                        for start in range(0, len(entries), _CHUNK):
                            self._upsert([row for row, _ in entries[start:start + _CHUNK]])
                    stored = len(entries)
                except StoreError as exc:
                    if not isinstance(exc.__cause__, _ROW_ERRORS):
                        raise  # the database is away: everything stays spooled
                    stored = self._flush_one_by_one(entries, batch)
                self._log.info("call_spool_flushed", count=stored)
            if batch.rejected:
                self._log.error("call_spool_lines_rejected", count=batch.rejected, path=str(self._spool.rejected_path))
            return stored

    def _flush_one_by_one(self, entries: list[tuple[dict[str, Any], dict]], batch) -> int:
        """Spooled rows one by one, after the database refused one of a chunk: a row it
        refuses (a constraint, a value it cannot hold) goes to the rejected file, so it
        cannot hold the spool up for good. Returns the rows stored."""
        stored = 0
        for row, item in entries:
            try:
                with self._connector.work():
                    self._upsert([row])
                stored += 1
            except StoreError as exc:
                if not isinstance(exc.__cause__, _ROW_ERRORS):
                    raise
                self._log.error("call_spool_line_rejected", error=str(exc), call_uuid=row["call_uuid"])
                batch.reject(item)
        return stored

    def get(self, call_uuid: str) -> CallRecord | None:
        """The record of ``call_uuid``, or None. StoreError on a database error."""
        with self._connector.work():  # a key is looked up as it was stored (see _fit)
            row = self._model.get_or_none(self._model.call_uuid == _without_surrogates(call_uuid))
            return None if row is None else _record(row)

    def list(self, *, since: datetime | None = None, line: str | None = None, limit: int = 100) -> list[CallRecord]:
        """Records newest first (by ``started_at``), at most ``limit`` (>= 1).

        since: only calls started at or after this aware datetime; line: only this line.
        """
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit: must be a positive int, got {limit!r}")
        model = self._model
        query = model.select()
        if since is not None:
            query = query.where(model.started_at >= utc(since, "since"))
        if line is not None:
            query = query.where(model.line == _without_surrogates(line))
        query = query.order_by(model.started_at.desc(), model.call_uuid.desc()).limit(limit)
        with self._connector.work():
            return [_record(row) for row in query]

    def _fit(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` with every string as its column can hold it: NUL (which PostgreSQL
        refuses in text) and a lone surrogate (which no database driver can encode as
        UTF-8) become U+FFFD, and a value longer than its column's max_length (a hostile
        SIP caller ID) is cut to it, logged as ``call_record_field_cut``. A record is never
        refused, or left to block the spool, for its contents."""
        for name, limit in self._limits:
            value = row[name]
            if value is None:
                continue
            if not value.isascii():
                value = row[name] = _without_surrogates(value)
            if len(value) > limit or "\x00" in value:
                row[name] = value.replace("\x00", "\ufffd")[:limit]
                if len(value) > limit:
                    self._log.warning("call_record_field_cut", call_uuid=row["call_uuid"], field=name,
                                      length=len(value), max_length=limit)
        return row

    def _upsert_query(self, rows: list[dict[str, Any]]):
        model = self._model
        fields = [f for f in model._meta.sorted_fields if f is not model.call_uuid]
        return model.insert_many(rows).on_conflict(
            conflict_target=[model.call_uuid],
            preserve=fields,
            where=(model.saved_at <= peewee.EXCLUDED.saved_at),
        )

    def _upsert(self, rows: list[dict[str, Any]]) -> None:
        self._upsert_query(rows).execute()

    def _upsert_one(self, database, row: dict[str, Any]) -> None:
        """One record's upsert, its SQL built once per row shape (store.compiled): peewee
        rebuilt the same INSERT ... ON CONFLICT text for every call, ~80% of a save
        (benchmarks/HISTORY.md). Only the parameters are computed per call."""
        key = tuple(row)
        self._queries.execute(database, ("upsert", key), lambda: self._upsert_query([row]), self._params(key, row))

    def _upsert_many(self, database, rows: list[dict[str, Any]]) -> None:
        """The upserts of a group commit: one ``executemany`` per row shape (one shape, in
        practice) once its SQL text is kept, rather than a round through peewee per row;
        a shape's first rows (and any shape store.compiled will not keep) go one by one."""
        shapes: dict[tuple, list[dict[str, Any]]] = {}
        for row in rows:
            shapes.setdefault(tuple(row), []).append(row)
        for key, same in shapes.items():
            if not self._queries.cached(("upsert", key)):
                self._upsert_one(database, same[0])  # builds, checks and keeps the shape's text
                same = same[1:]
            if same and self._queries.cached(("upsert", key)):
                self._queries.execute_many(database, ("upsert", key), [self._params(key, row) for row in same])
            else:
                for row in same:
                    self._upsert_one(database, row)

    def _params(self, key: tuple, row: dict[str, Any]) -> list[Any]:
        """``row``'s values as peewee binds them (each field's ``db_value``), in its order."""
        plan = self._fields.get(key)
        if plan is None:
            plan = self._fields[key] = [(f.name, f, _kind(f, self._sqlite))
                                        for f in self._model._meta.sorted_fields if f.name in row]
        params = []
        for name, field, kind in plan:
            value = row[name]
            if value is None:
                params.append(None if kind else field.db_value(None))
            elif kind is _TEXT and value.__class__ is str:  # db_value gives a str back as it is
                params.append(value)
            elif kind is _SQLITE_UTC and value.__class__ is datetime and value.tzinfo is timezone.utc:
                # UtcDateTimeField.db_value's text without its calls: the aware form, less "+00:00"
                params.append(value.isoformat(" ", "microseconds")[:-6])
            else:
                params.append(field.db_value(value))
        return params

    def _spool_record(self, record: CallRecord, saved_at: datetime, error: StoreError) -> None:
        log = self._log.bind(call_uuid=record.call_uuid)
        if self._spool is None:
            log.error("call_record_lost", error=str(error), reason="no spool folder configured")
            raise StoreError(f"call {record.call_uuid} not saved and no spool folder configured: {error}") from error
        line = jsonable_call(record)
        line[_SAVED_AT] = saved_at.isoformat()
        try:
            self._spool.append(line)
        except OSError as exc:
            log.error("call_record_lost", error=str(error), spool_error=str(exc))
            raise StoreError(f"call {record.call_uuid} not saved: {error}; spool failed too: {exc}") from exc
        log.warning("call_record_spooled", error=str(error), spool_path=str(self._spool.path))


def _without_surrogates(value: str) -> str:
    """``value`` with each lone surrogate (no UTF-8 form: the drivers raise) as U+FFFD."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _row(record: CallRecord, saved_at: datetime) -> dict[str, Any]:
    route, extra = record.json_texts()
    return {
        "call_uuid": record.call_uuid,
        "line": record.line,
        "direction": record.direction,
        "caller": record.caller,
        "destination": record.destination,
        "started_at": record.started_at,
        "answered_at": record.answered_at,
        "ended_at": record.ended_at,
        "hangup_cause": record.hangup_cause,
        "route": route,
        "answered_by": record.answered_by,
        "config_version": record.config_version,
        "extra": extra,
        "saved_at": saved_at,
    }


def _record(row: peewee.Model) -> CallRecord:
    return CallRecord(
        call_uuid=row.call_uuid,
        line=row.line,
        direction=row.direction,
        caller=row.caller,
        destination=row.destination,
        started_at=row.started_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        hangup_cause=row.hangup_cause,
        route=tuple(json.loads(row.route)),
        answered_by=row.answered_by,
        config_version=row.config_version,
        extra=json.loads(row.extra),
    )
