"""Call recordings (file, size, length) and the per-line monthly recording quota.

The quota is one row per (line, month): ``claim`` creates it if missing (insert, ignoring
a conflict) and then takes one unit with a conditional ``UPDATE ... SET used = used + 1
WHERE used < limit``. The database serialises the UPDATEs on that row (a row lock on
PostgreSQL, the write lock on SQLite), so when ten calls start together against a limit
of five, exactly five get a recording, on one engine node or several.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import peewee

from .db import Connector
from .models import Models
from .records import utc


@dataclass(frozen=True)
class RecordingRecord:
    """A stored recording. path: the file as FreeSWITCH wrote it; size_bytes and
    duration_s (seconds) from FreeSWITCH's ``record_file_size`` / ``record_ms`` (None if
    unknown); created_at: aware UTC, when the recording started."""

    id: int | None
    call_uuid: str
    line: str | None
    path: str
    size_bytes: int | None
    duration_s: float | None
    created_at: datetime


class RecordingRepository:
    """Recordings and the monthly quota. StoreError on a database error."""

    def __init__(self, connector: Connector, models: Models, *, clock: Callable[[], datetime]):
        self._connector = connector
        self._model = models.RecordingRow
        self._quota = models.RecordingQuotaRow
        self._clock = clock

    # ------------------------------------------------------------------ recordings
    def add(self, *, call_uuid: str, line: str | None, path: str, size_bytes: int | None,
            duration_s: float | None, created_at: datetime | None = None) -> RecordingRecord:
        """Store a recording of ``call_uuid``; created_at defaults to now (UTC)."""
        if not call_uuid or not path:
            raise ValueError("call_uuid and path are required")
        for name, value in (("size_bytes", size_bytes), ("duration_s", duration_s)):
            if value is not None and value < 0:
                raise ValueError(f"{name}: must be >= 0, got {value!r}")
        values = {
            "call_uuid": call_uuid, "line": line, "path": str(path),
            "size_bytes": None if size_bytes is None else int(size_bytes),
            "duration_s": None if duration_s is None else float(duration_s),
            "created_at": utc(created_at or self._clock(), "created_at"),
        }
        with self._connector.work():
            new_id = self._model.insert(**values).execute()
        return RecordingRecord(id=int(new_id), **values)

    def for_call(self, call_uuid: str) -> list[RecordingRecord]:
        """The recordings of ``call_uuid``, oldest first."""
        model = self._model
        query = model.select().where(model.call_uuid == call_uuid).order_by(model.created_at, model.id)
        with self._connector.work():
            return [_record(row) for row in query]

    def older_than(self, line: str, cutoff: datetime) -> list[RecordingRecord]:
        """Recordings of ``line`` that started before ``cutoff`` (aware), oldest first."""
        model = self._model
        query = (model.select().where((model.line == line) & (model.created_at < utc(cutoff, "cutoff")))
                 .order_by(model.created_at, model.id))
        with self._connector.work():
            return [_record(row) for row in query]

    def delete(self, ids: list[int]) -> int:
        """Delete the rows with these ids; returns how many went."""
        if not ids:
            return 0
        with self._connector.work():
            return self._model.delete().where(self._model.id.in_(list(ids))).execute()

    # ------------------------------------------------------------------ quota
    def claim(self, line: str, month: str, limit: int | None) -> bool:
        """Take one recording of ``line``'s quota for ``month`` ("YYYY-MM"); True if granted.

        limit None: no limit (still counted). Atomic under concurrent calls (see module doc).
        """
        _check_month(month)
        quota = self._quota
        with self._connector.work():
            quota.insert(line=line, month=month, used=0).on_conflict_ignore().execute()
            query = quota.update(used=quota.used + 1).where((quota.line == line) & (quota.month == month))
            if limit is not None:
                query = query.where(quota.used < int(limit))
            return query.execute() == 1

    def give_back(self, line: str, month: str) -> None:
        """Return one recording taken with :meth:`claim` that never started (the caller
        hung up during the warning): ``used`` goes down by one, never below 0."""
        _check_month(month)
        quota = self._quota
        with self._connector.work():
            quota.update(used=quota.used - 1).where(
                (quota.line == line) & (quota.month == month) & (quota.used > 0)).execute()

    def used(self, line: str, month: str) -> int:
        """Recordings counted for ``line`` in ``month`` ("YYYY-MM"); 0 when none."""
        _check_month(month)
        quota = self._quota
        with self._connector.work():
            row = quota.get_or_none((quota.line == line) & (quota.month == month))
            return 0 if row is None else int(row.used)


def _check_month(month: str) -> None:
    try:
        datetime.strptime(month, "%Y-%m")
    except (TypeError, ValueError):
        raise ValueError(f"month: {month!r} is not YYYY-MM") from None


def _record(row: peewee.Model) -> RecordingRecord:
    return RecordingRecord(id=row.id, call_uuid=row.call_uuid, line=row.line, path=row.path,
                           size_bytes=row.size_bytes, duration_s=row.duration_s, created_at=row.created_at)
