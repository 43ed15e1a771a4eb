"""Live state of employees (the YAML says who they are; this says what they are doing).

Workday status ("started" | "break" | "ended"), who is busy on which call, and since when
each employee has been idle. A claim (:meth:`EmployeeStateRepository.mark_busy`) is a
conditional insert into a table keyed by employee, so it is exclusive across greenlets
and across engine processes sharing one database.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Iterable, Sequence

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
        wanted = set(employees)
        if not wanted:
            return set()
        model = self._status
        with self._connector.work():
            present = {
                row.employee
                for row in model.select(model.employee).where(
                    model.employee.in_(sorted(wanted)), model.status == "started"
                )
            }
        return wanted - present

    # --- busy / idle ----------------------------------------------------------------

    def mark_busy(self, employee: str, call_uuid: str) -> bool:
        """Claim ``employee`` for ``call_uuid``: True if the claim is this call's (it was free,
        or this call already held it), False if another call holds the employee."""
        model = self._busy
        with self._connector.work():
            model.insert(employee=_name(employee), call_uuid=_name(call_uuid), since=self._now()).on_conflict_ignore().execute()
            holder = model.select(model.call_uuid).where(model.employee == employee).scalar()
        return holder == call_uuid

    def mark_free(self, employee: str, call_uuid: str) -> None:
        """Release ``employee`` if ``call_uuid`` holds it, and record that they are idle
        from now on; a release by another call changes nothing."""
        model = self._busy
        with self._connector.work():
            released = model.delete().where(model.employee == employee, model.call_uuid == call_uuid).execute()
            if released:
                self._set_idle([employee])

    def release_call(self, call_uuid: str) -> None:
        """Release every employee ``call_uuid`` holds (a call that ended abnormally)."""
        model = self._busy
        with self._connector.work():
            held = [row.employee for row in model.select(model.employee).where(model.call_uuid == call_uuid)]
            if held:
                model.delete().where(model.call_uuid == call_uuid, model.employee.in_(held)).execute()
                self._set_idle(held)

    def release_claims_before(self, cutoff: datetime) -> list[str]:
        """Release every claim made before ``cutoff`` (aware): left by an engine that died
        mid-call (kill -9, power loss), which never ran its own release. Returns who was freed."""
        model = self._busy
        with self._connector.work():
            stale = [row.employee for row in model.select(model.employee).where(model.since < cutoff)]
            if stale:
                model.delete().where(model.employee.in_(stale), model.since < cutoff).execute()
                self._set_idle(stale)
        return sorted(stale)

    def busy(self, employees: Iterable[str]) -> set[str]:
        """Those of ``employees`` that some call holds."""
        wanted = sorted(set(employees))
        if not wanted:
            return set()
        model = self._busy
        with self._connector.work():
            return {row.employee for row in model.select(model.employee).where(model.employee.in_(wanted))}

    def idle_order(self, employees: Sequence[str]) -> list[str]:
        """``employees`` sorted longest idle first: never released (never rung) first, then
        by the time of their last release; ties keep the given order."""
        names = list(employees)
        if not names:
            return []
        model = self._idle
        with self._connector.work():
            since = {
                row.employee: row.idle_since
                for row in model.select().where(model.employee.in_(sorted(set(names))))
            }
        return sorted(names, key=lambda name: since.get(name, _NEVER))

    def _set_idle(self, employees: list[str]) -> None:
        model = self._idle
        now = self._now()
        (
            model.insert_many([{"employee": name, "idle_since": now} for name in employees])
            .on_conflict(conflict_target=[model.employee], preserve=[model.idle_since])
            .execute()
        )


def _name(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value
