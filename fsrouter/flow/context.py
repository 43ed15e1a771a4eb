"""Everything one call's flow knows while it runs: the call, its line, config and route."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from fsrouter.flow.fspaths import PathMap


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Services:
    """What nodes may use besides the call; built once by the composition root (app.py).

    store: fsrouter.store.Store (repositories only); melodies: MelodyResolver;
    folders: settings.folders (voicemail, recordings...); clock: () -> aware UTC datetime.
    """

    store: Any
    melodies: Any
    folders: Any
    clock: Callable[[], datetime] = utc_now
    new_id: Callable[[], str] = lambda: str(uuid.uuid4())
    voicemail_max_s: int = 120
    cards: Any = None  # flow.webhook.CardPublisher: CRM cards POSTed off the call's path (None: log only)
    paths: PathMap = field(default_factory=PathMap)  # local folder -> as FreeSWITCH sees it


@dataclass
class CallContext:
    """One call's flow state. ``route`` is the list of steps stored with the call record."""

    call: Any  # flow.ports.CallPort
    line: Any  # flow.model.Line
    config: Any  # flow.model.Config
    services: Services
    log: Any
    route: list[dict] = field(default_factory=list)
    answered_by: str | None = None
    answered_at: datetime | None = None
    bridge_ready: bool = False
    direction: str = "inbound"  # "outbound" for calls employees place (CallRecord.direction)
    extra: dict = field(default_factory=dict)
    claims: set = field(default_factory=set)  # employees this call holds busy (see claim)

    def step(self, step: str, **fields) -> None:
        """Append a route step (``{"step": ..., **fields}``) and log it as ``route_step``."""
        entry = {"step": step, **fields}
        self.route.append(entry)
        self.log.info("route_step", **entry)

    def now(self) -> datetime:
        return self.services.clock()

    def melody(self, stage: str) -> str:
        return self.services.melodies.for_line(self.line, stage)

    def on_freeswitch(self, path: str) -> str:
        """A local path as FreeSWITCH sees it (settings ``freeswitch_paths``)."""
        return self.services.paths.for_freeswitch(path)

    def claim(self, employee: str) -> bool:
        """Mark ``employee`` busy on this call in the store (atomic across calls and engine
        processes); True if they were free. The engine releases every claim when the call ends."""
        claimed = self.services.store.employees.mark_busy(employee, self.call.uuid)
        if claimed:
            self.claims.add(employee)
        return claimed

    def hold(self, employee: str) -> None:
        """Mark ``employee`` busy on this call even if another call holds them (ringing
        them): they are on this call in person, e.g. one they placed. Released as a claim."""
        self.services.store.employees.take_over(employee, self.call.uuid)
        self.claims.add(employee)

    def release(self, employee: str) -> None:
        """Free a claimed ``employee`` again (the store records when they became idle)."""
        self.services.store.employees.mark_free(employee, self.call.uuid)
        self.claims.discard(employee)

    def number_answered(self, number: str) -> None:
        """Called (as ``employee_answered``) when an outside number the call was forwarded
        to answers: the call is answered from now (``answered_at``), by nobody on the staff;
        the number is kept in ``extra["answered_number"]``."""
        if self.answered_at is None:
            self.answered_at = self.now()
        self.extra["answered_number"] = number

    def gone(self) -> str:
        """How the call ended under a step that was cut short: ``"connection_lost"`` when
        FreeSWITCH's socket went without a hangup, else ``"caller_hung_up"``."""
        return "connection_lost" if self.call.connection_lost else "caller_hung_up"

    def employee_answered(self, employee: str) -> None:
        """Called (while frames are dispatched, see session.connection) when an employee's leg is bridged to the caller."""
        if self.answered_at is None:
            self.answered_at = self.now()
        self.answered_by = employee
