"""Callback requests and their attempts: pending retries live here, so they survive a restart.

An attempt is taken with :meth:`CallbackRepository.claim`, one conditional UPDATE
(``status = 'pending' AND next_at <= now``) that also counts the attempt: of several
runners (greenlets, engine processes on one database) exactly one wins, so no attempt
is made twice; a request is only ever moved on by whoever holds its claim.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable

import peewee

from .db import Connector
from .models import Models
from .records import check_e164, utc

#: Every status a request can have: waiting for its next attempt, being dialed, done.
STATUSES = ("pending", "running", "answered", "failed")


@dataclass(frozen=True)
class CallbackRecord:
    """One callback request. number: the client, E.164; status: see STATUSES;
    attempts_made: attempts started so far (1-based count); next_at: when a pending one
    is due (aware UTC); history: one dict per finished attempt (attempt, at, agent,
    outcome, cause); claimed_by: the runner holding a running attempt."""

    id: int
    line: str
    number: str
    status: str
    attempts_made: int
    max_attempts: int
    interval_s: int
    next_at: datetime | None
    created_at: datetime
    history: tuple[dict, ...]
    claimed_by: str | None = None
    claimed_at: datetime | None = None


class CallbackRepository:
    """Callback requests. Every method is one unit of work; StoreError on a database error."""

    def __init__(self, connector: Connector, models: Models, *, clock: Callable[[], datetime]):
        self._connector = connector
        self._model = models.CallbackRow
        self._clock = clock

    def add(self, *, line: str, number: str, max_attempts: int, interval_s: int, due_at: datetime) -> CallbackRecord:
        """Store a new pending request, first attempt due at ``due_at``; returns it with its id."""
        if not line:
            raise ValueError("line is required")
        if not 1 <= max_attempts <= 5:
            raise ValueError(f"max_attempts: {max_attempts!r} is not 1..5")
        if interval_s < 1:
            raise ValueError(f"interval_s: {interval_s!r} must be >= 1")
        values = {"line": line, "number": check_e164(number, "number"), "status": "pending",
                  "attempts_made": 0, "max_attempts": max_attempts, "interval_s": interval_s,
                  "next_at": utc(due_at, "due_at"), "history": "[]", "created_at": utc(self._clock(), "clock()")}
        with self._connector.work():
            new_id = self._model.insert(**values).execute()
        return self.get(int(new_id))

    def get(self, callback_id: int) -> CallbackRecord | None:
        model = self._model
        with self._connector.work():
            row = model.get_or_none(model.id == callback_id)
        return None if row is None else _record(row)

    def list(self, statuses: Iterable[str] | None = None) -> list[CallbackRecord]:
        """Requests (all, or those with one of ``statuses``), oldest first."""
        model = self._model
        query = model.select().order_by(model.created_at, model.id)
        if statuses is not None:
            query = query.where(model.status.in_(list(statuses)))
        with self._connector.work():
            return [_record(row) for row in query]

    def due(self, now: datetime, limit: int = 50) -> list[CallbackRecord]:
        """Pending requests whose next attempt is due at ``now``, earliest first."""
        model = self._model
        query = (model.select().where(model.status == "pending", model.next_at <= utc(now, "now"))
                 .order_by(model.next_at, model.id).limit(limit))
        with self._connector.work():
            return [_record(row) for row in query]

    def next_due_at(self) -> datetime | None:
        """When the earliest pending request is due, or None when none is pending."""
        model = self._model
        with self._connector.work():
            row = (model.select(model.next_at).where(model.status == "pending")
                   .order_by(model.next_at).first())
        return None if row is None else row.next_at

    def claim(self, callback_id: int, *, token: str, now: datetime) -> CallbackRecord | None:
        """Take the due attempt of ``callback_id`` for runner ``token`` and count it.

        Returns the request (status running, attempts_made + 1) if this caller won it,
        None if it is not pending and due (already taken, finished, or not yet due).
        """
        model = self._model
        when = utc(now, "now")
        with self._connector.work():
            won = (model.update(status="running", claimed_by=token, claimed_at=when,
                                attempts_made=model.attempts_made + 1)
                   .where(model.id == callback_id, model.status == "pending", model.next_at <= when)
                   .execute())
        return self.get(callback_id) if won == 1 else None

    def finish(self, callback_id: int, *, token: str, entry: dict, status: str,
               next_at: datetime | None, counted: bool = True) -> bool:
        """Record one attempt (``entry`` appended to the history) and move the request on:
        ``status`` pending (with ``next_at``), answered or failed; ``counted=False`` gives
        the attempt counted by :meth:`claim` back (nobody could take it). Only the holder
        of the claim (``token``) may; returns False (nothing changed) for anyone else."""
        if status not in STATUSES or status == "running":
            raise ValueError(f"status: {status!r} is not pending, answered or failed")
        if (status == "pending") != (next_at is not None):
            raise ValueError("next_at is required for pending and only for pending")
        model = self._model
        with self._connector.work() as database:
            with database.atomic():
                row = model.get_or_none(model.id == callback_id, model.status == "running",
                                        model.claimed_by == token)
                if row is None:
                    return False
                history = json.loads(row.history) + [entry]
                changed = (model.update(status=status, next_at=utc(next_at, "next_at"), claimed_by=None,
                                        claimed_at=None, history=json.dumps(history, sort_keys=True),
                                        attempts_made=row.attempts_made - (0 if counted else 1))
                           .where(model.id == callback_id, model.status == "running", model.claimed_by == token)
                           .execute())
        return changed == 1

    def running_claimed_before(self, cutoff: datetime) -> list[CallbackRecord]:
        """Running attempts claimed before ``cutoff``: their runner stopped mid-attempt."""
        model = self._model
        query = model.select().where(model.status == "running", model.claimed_at < utc(cutoff, "cutoff"))
        with self._connector.work():
            return [_record(row) for row in query]


def _record(row: peewee.Model) -> CallbackRecord:
    return CallbackRecord(
        id=row.id, line=row.line, number=row.number, status=row.status, attempts_made=row.attempts_made,
        max_attempts=row.max_attempts, interval_s=row.interval_s, next_at=row.next_at,
        created_at=row.created_at, history=tuple(json.loads(row.history)), claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
    )
