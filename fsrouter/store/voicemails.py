"""Voice messages left by callers: the audio file, its duration and the call it came from."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

import peewee

from .db import Connector
from .models import Models
from .records import VoicemailRecord, utc


class VoicemailRepository:
    """Voice messages. StoreError on a database error."""

    def __init__(self, connector: Connector, models: Models, *, clock: Callable[[], datetime]):
        self._connector = connector
        self._model = models.VoicemailRow
        self._clock = clock

    def add(
        self, *, call_uuid: str, line: str | None, employee: str | None, path: str, duration_s: float | None
    ) -> VoicemailRecord:
        """Store a voice message and return it with its new ``id`` and ``created_at`` (now, UTC).

        path: the audio file as FreeSWITCH wrote it; duration_s: length in seconds or None.
        employee: whom the message is for (None: the line's general mailbox).
        """
        if not call_uuid or not path:
            raise ValueError("call_uuid and path are required")
        if duration_s is not None and duration_s < 0:
            raise ValueError(f"duration_s: must be >= 0, got {duration_s!r}")
        values = {
            "call_uuid": call_uuid,
            "line": line,
            "employee": employee,
            "path": str(path),
            "duration_s": None if duration_s is None else float(duration_s),
            "created_at": utc(self._clock(), "clock()"),
        }
        with self._connector.work():
            new_id = self._model.insert(**values).execute()
        return VoicemailRecord(id=int(new_id), **values)

    def for_call(self, call_uuid: str) -> list[VoicemailRecord]:
        """The voice messages of ``call_uuid``, oldest first."""
        model = self._model
        query = model.select().where(model.call_uuid == call_uuid).order_by(model.created_at, model.id)
        with self._connector.work():
            return [_record(row) for row in query]


def _record(row: peewee.Model) -> VoicemailRecord:
    return VoicemailRecord(
        id=row.id,
        call_uuid=row.call_uuid,
        line=row.line,
        employee=row.employee,
        path=row.path,
        duration_s=row.duration_s,
        created_at=row.created_at,
    )
