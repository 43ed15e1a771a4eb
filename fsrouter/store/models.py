"""peewee models of the store. Nothing outside ``fsrouter.store`` imports this module.

The classes below declare the schema and are bound to no database. :func:`bind` makes a
fresh set of subclasses bound to one database, so two stores (an SQLite file and a
PostgreSQL server, or two pools) can live in one process without touching a global.

Times are stored as naive UTC (``TIMESTAMP`` on PostgreSQL, fixed-width
``YYYY-MM-DD HH:MM:SS.ffffff`` text on SQLite so text order is time order) and come back
aware UTC. JSON columns are plain text, which both databases handle the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import peewee

from .records import utc


class UtcDateTimeField(peewee.Field):
    """A datetime stored as naive UTC and returned aware UTC; a naive input is a ValueError."""

    field_type = "DATETIME"

    def db_value(self, value):
        value = utc(value, self.name)
        if value is None:
            return None
        naive = value.replace(tzinfo=None)
        if isinstance(self.model._meta.database, peewee.SqliteDatabase):
            return naive.isoformat(sep=" ", timespec="microseconds")
        return naive

    def python_value(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc)


class _Base(peewee.Model):
    class Meta:
        database = None
        legacy_table_names = False


class CallRow(_Base):
    """One call record; ``route`` and ``extra`` are JSON text. ``saved_at`` orders upserts."""

    call_uuid = peewee.CharField(max_length=255, primary_key=True)
    line = peewee.CharField(max_length=255, null=True)
    direction = peewee.CharField(max_length=16)
    caller = peewee.CharField(max_length=255)
    destination = peewee.CharField(max_length=255)
    started_at = UtcDateTimeField(index=True)
    answered_at = UtcDateTimeField(null=True)
    ended_at = UtcDateTimeField(null=True)
    hangup_cause = peewee.CharField(max_length=64, null=True)
    route = peewee.TextField()
    answered_by = peewee.CharField(max_length=255, null=True)
    config_version = peewee.CharField(max_length=255, null=True)
    extra = peewee.TextField()
    saved_at = UtcDateTimeField()

    class Meta:
        table_name = "call_record"
        indexes = ((("line", "started_at"), False),)


class VoicemailRow(_Base):
    """One voice message; ``call_uuid`` is not a foreign key (the call record comes later)."""

    id = peewee.AutoField()
    call_uuid = peewee.CharField(max_length=255, index=True)
    line = peewee.CharField(max_length=255, null=True)
    employee = peewee.CharField(max_length=255, null=True)
    path = peewee.TextField()
    duration_s = peewee.FloatField(null=True)
    created_at = UtcDateTimeField()

    class Meta:
        table_name = "voicemail"


class EmployeeStatusRow(_Base):
    """An employee's workday status ("started" | "break" | "ended") and when it changed."""

    employee = peewee.CharField(max_length=255, primary_key=True)
    status = peewee.CharField(max_length=16)
    changed_at = UtcDateTimeField()

    class Meta:
        table_name = "employee_status"


class EmployeeBusyRow(_Base):
    """A claim: the employee is busy on ``call_uuid``. The primary key makes claims exclusive."""

    employee = peewee.CharField(max_length=255, primary_key=True)
    call_uuid = peewee.CharField(max_length=255, index=True)
    since = UtcDateTimeField()

    class Meta:
        table_name = "employee_busy"


class EmployeeIdleRow(_Base):
    """When the employee was last released from a call (no row: never rung)."""

    employee = peewee.CharField(max_length=255, primary_key=True)
    idle_since = UtcDateTimeField()

    class Meta:
        table_name = "employee_idle"


class CrmContactRow(_Base):
    id = peewee.AutoField()
    name = peewee.CharField(max_length=255)
    responsible = peewee.CharField(max_length=255, null=True)
    company = peewee.CharField(max_length=255, null=True)
    created_at = UtcDateTimeField()

    class Meta:
        table_name = "crm_contact"


class CrmCompanyRow(_Base):
    id = peewee.AutoField()
    name = peewee.CharField(max_length=255)
    responsible = peewee.CharField(max_length=255, null=True)
    created_at = UtcDateTimeField()

    class Meta:
        table_name = "crm_company"


class CrmLeadRow(_Base):
    id = peewee.AutoField()
    phone = peewee.CharField(max_length=32)
    line = peewee.CharField(max_length=255, null=True)
    source = peewee.CharField(max_length=255, null=True)
    responsible = peewee.CharField(max_length=255, null=True)
    status = peewee.CharField(max_length=32)
    created_at = UtcDateTimeField()

    class Meta:
        table_name = "crm_lead"


class CrmPhoneRow(_Base):
    """Every E.164 phone of every CRM entity (contacts, companies, leads), indexed by phone."""

    id = peewee.AutoField()
    phone = peewee.CharField(max_length=32, index=True)
    entity_type = peewee.CharField(max_length=16)
    entity_id = peewee.IntegerField()

    class Meta:
        table_name = "crm_phone"
        indexes = ((("entity_type", "entity_id", "phone"), True),)


class RecordingRow(_Base):
    """One call recording (``record_session``): the file, its size in bytes and length in s."""

    id = peewee.AutoField()
    call_uuid = peewee.CharField(max_length=255, index=True)
    line = peewee.CharField(max_length=255, null=True)
    path = peewee.TextField()
    size_bytes = peewee.BigIntegerField(null=True)
    duration_s = peewee.FloatField(null=True)
    created_at = UtcDateTimeField(index=True)

    class Meta:
        table_name = "recording"


class RecordingQuotaRow(_Base):
    """Calls recorded on ``line`` in ``month`` ("YYYY-MM" in the line's zone); one row per pair.

    The row is the unit of atomicity: a claim is ``UPDATE ... SET used = used + 1 WHERE
    used < limit``, so concurrent calls on any engine node never over-count.
    """

    line = peewee.CharField(max_length=255)
    month = peewee.CharField(max_length=7)
    used = peewee.IntegerField(default=0)

    class Meta:
        table_name = "recording_quota"
        primary_key = peewee.CompositeKey("line", "month")


class CallbackRow(_Base):
    """A callback request: whom to call back on which line, its attempts and what came of them.

    status: pending | running | answered | failed; ``next_at``: when a pending one is due;
    ``claimed_by`` / ``claimed_at``: the runner that took the running attempt (an atomic
    conditional update, so two engines never make the same attempt); ``history``: JSON list.
    """

    id = peewee.AutoField()
    line = peewee.CharField(max_length=255)
    number = peewee.CharField(max_length=32)
    status = peewee.CharField(max_length=16, index=True)
    attempts_made = peewee.IntegerField(default=0)
    max_attempts = peewee.IntegerField()
    interval_s = peewee.IntegerField()
    next_at = UtcDateTimeField(null=True, index=True)
    claimed_by = peewee.CharField(max_length=64, null=True)
    claimed_at = UtcDateTimeField(null=True)
    history = peewee.TextField(default="[]")
    created_at = UtcDateTimeField()

    class Meta:
        table_name = "callback"


SCHEMA = (
    CallRow, VoicemailRow, EmployeeStatusRow, EmployeeBusyRow, EmployeeIdleRow,
    CrmContactRow, CrmCompanyRow, CrmLeadRow, CrmPhoneRow, RecordingRow, RecordingQuotaRow,
    CallbackRow,
)


@dataclass(frozen=True)
class Models:
    """The schema's models bound to one database (attribute names follow the classes)."""

    CallRow: type[CallRow]
    VoicemailRow: type[VoicemailRow]
    EmployeeStatusRow: type[EmployeeStatusRow]
    EmployeeBusyRow: type[EmployeeBusyRow]
    EmployeeIdleRow: type[EmployeeIdleRow]
    CrmContactRow: type[CrmContactRow]
    CrmCompanyRow: type[CrmCompanyRow]
    CrmLeadRow: type[CrmLeadRow]
    CrmPhoneRow: type[CrmPhoneRow]
    RecordingRow: type[RecordingRow]
    RecordingQuotaRow: type[RecordingQuotaRow]
    CallbackRow: type[CallbackRow]

    @property
    def all(self) -> tuple[type[peewee.Model], ...]:
        return tuple(getattr(self, model.__name__) for model in SCHEMA)


def bind(database: peewee.Database) -> Models:
    """A fresh set of model classes bound to ``database`` (the declared classes stay unbound)."""
    bound = {}
    for model in SCHEMA:
        meta = type("Meta", (), {"database": database, "table_name": model._meta.table_name})
        bound[model.__name__] = type(model.__name__, (model,), {"Meta": meta, "__module__": __name__})
    return Models(**bound)
