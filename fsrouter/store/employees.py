"""Live state of employees (the YAML says who they are; this says what they are doing).

Workday status ("started" | "break" | "ended"), who is busy on which call, and since when
each employee has been idle. A claim (:meth:`EmployeeStateRepository.mark_busy`) is a
conditional insert into a table keyed by employee, so it is exclusive across greenlets
and across engine processes sharing one database.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Iterable, Sequence

from .compiled import CompiledQueries
from .db import Connector
from .models import Models
from .records import EMPLOYEE_STATUSES, utc

_NEVER = datetime.min.replace(tzinfo=timezone.utc)


class EmployeeStateRepository:
    """Employee workday status, busy claims and idle times. Every method is one unit of
    work and raises StoreError on a database error."""

    def __init__(self, connector: Connector, models: Models, *, clock: Callable[[], datetime]):
        self._connector = connector
        self._status = models.EmployeeStatusRow
        self._busy = models.EmployeeBusyRow
        self._idle = models.EmployeeIdleRow
        self._clock = clock
        self._queries = CompiledQueries()  # the claims, releases and lookups a live call makes

    def _now(self) -> datetime:
        return utc(self._clock(), "clock()")

    # --- workday status -------------------------------------------------------------

    def set_status(self, employee: str, status: str) -> None:
        """Record ``employee``'s workday status: "started" | "break" | "ended" (else ValueError)."""
        if status not in EMPLOYEE_STATUSES:
            raise ValueError(f"status: {status!r} is not one of {', '.join(EMPLOYEE_STATUSES)}")
        model = self._status
        with self._connector.work():
            (
                model.insert(employee=_name(employee), status=status, changed_at=self._now())
                .on_conflict(conflict_target=[model.employee], preserve=[model.status, model.changed_at])
                .execute()
            )

    def status(self, employee: str) -> str | None:
        """``employee``'s workday status, or None if it was never set."""
        model = self._status
        with self._connector.work():
            return model.select(model.status).where(model.employee == employee).scalar()

    def statuses(self) -> dict[str, tuple[str, datetime]]:
        """Every employee with a status: employee -> (status, changed_at aware UTC)."""
        model = self._status
        with self._connector.work():
            return {row.employee: (row.status, row.changed_at) for row in model.select()}

    def absent(self, employees: Iterable[str]) -> set[str]:
        """Those of ``employees`` whose status is not "started" (never set counts as absent)."""
        wanted = sorted(set(employees))
        if not wanted:
            return set()
        model = self._status
        with self._connector.work() as database:
            cursor = self._queries.execute(
                database, ("absent", len(wanted)),
                lambda: model.select(model.employee).where(model.employee.in_(wanted), model.status == "started"),
                [*wanted, "started"])
            present = {row[0] for row in cursor.fetchall()}
        return set(wanted) - present

    # --- busy / idle ----------------------------------------------------------------

    def mark_busy(self, employee: str, call_uuid: str) -> bool:
        """Claim ``employee`` for ``call_uuid``: True if the claim is this call's (it was free,
        or this call already held it), False if another call holds the employee."""
        model = self._busy
        employee, call_uuid, since = _name(employee), _name(call_uuid), self._now()
        with self._connector.work() as database:
            self._queries.execute(
                database, "claim",
                lambda: model.insert(employee=employee, call_uuid=call_uuid, since=since).on_conflict_ignore(),
                [employee, call_uuid, model.since.db_value(since)])
            holder = self._queries.execute(
                database, "holder", lambda: model.select(model.call_uuid).where(model.employee == employee),
                [employee]).fetchone()
        return holder is not None and holder[0] == call_uuid

    def take_over(self, employee: str, call_uuid: str) -> None:
        """Make ``employee`` busy on ``call_uuid`` whoever held them: for a call the
        employee is on in person (one they placed), which no other call's ringing may
        veto. A call that held them before then releases nobody (see :meth:`mark_free`)."""
        model = self._busy
        employee, call_uuid, since = _name(employee), _name(call_uuid), self._now()
        with self._connector.work():
            (
                model.insert(employee=employee, call_uuid=call_uuid, since=since)
                .on_conflict(conflict_target=[model.employee], preserve=[model.call_uuid, model.since])
                .execute()
            )

    def mark_free(self, employee: str, call_uuid: str) -> None:
        """Release ``employee`` if ``call_uuid`` holds it, and record that they are idle
        from now on; a release by another call changes nothing."""
        model = self._busy
        with self._connector.work() as database:
            released = self._queries.execute(
                database, "release",
                lambda: model.delete().where(model.employee == employee, model.call_uuid == call_uuid),
                [employee, call_uuid]).rowcount
            if released:
                self._set_idle([employee], database)

    def release_call(self, call_uuid: str) -> None:
        """Release every employee ``call_uuid`` holds (a call that ended abnormally)."""
        model = self._busy
        with self._connector.work() as database:
            held = [row.employee for row in model.select(model.employee).where(model.call_uuid == call_uuid)]
            if held:
                model.delete().where(model.call_uuid == call_uuid, model.employee.in_(held)).execute()
                self._set_idle(held, database)

    def release_claims_before(self, cutoff: datetime) -> list[str]:
        """Release every claim made before ``cutoff`` (aware): left by an engine that died
        mid-call (kill -9, power loss), which never ran its own release. Returns who was freed."""
        model = self._busy
        with self._connector.work() as database:
            stale = [row.employee for row in model.select(model.employee).where(model.since < cutoff)]
            if stale:
                model.delete().where(model.employee.in_(stale), model.since < cutoff).execute()
                self._set_idle(stale, database)
        return sorted(stale)

    def busy(self, employees: Iterable[str]) -> set[str]:
        """Those of ``employees`` that some call holds."""
        wanted = sorted(set(employees))
        if not wanted:
            return set()
        model = self._busy
        with self._connector.work() as database:
            cursor = self._queries.execute(
                database, ("busy", len(wanted)),
                lambda: model.select(model.employee).where(model.employee.in_(wanted)), wanted)
            return {row[0] for row in cursor.fetchall()}

    def idle_order(self, employees: Sequence[str]) -> list[str]:
        """``employees`` sorted longest idle first: never released (never rung) first, then
        by the time of their last release; ties keep the given order."""
        names = list(employees)
        if not names:
            return []
        model = self._idle
        wanted = sorted(set(names))
        with self._connector.work() as database:
            cursor = self._queries.execute(
                database, ("idle_order", len(wanted)),
                lambda: model.select(model.employee, model.idle_since).where(model.employee.in_(wanted)), wanted)
            since = {employee: model.idle_since.python_value(at) for employee, at in cursor.fetchall()}
        return sorted(names, key=lambda name: since.get(name, _NEVER))

    def _set_idle(self, employees: list[str], database) -> None:
        """Inside a unit of work on ``database``: ``employees`` are idle from now on."""
        model = self._idle
        now = self._now()
        rows = [{"employee": name, "idle_since": now} for name in employees]
        at = model.idle_since.db_value(now)
        self._queries.execute(
            database, ("idle", len(rows)),
            lambda: model.insert_many(rows).on_conflict(conflict_target=[model.employee], preserve=[model.idle_since]),
            [value for name in employees for value in (name, at)])


def _name(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value
