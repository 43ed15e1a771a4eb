"""The greenlet that makes due callback attempts (see ``flow.callbacks`` for the rules).

Loop: take every due request with an atomic claim (``store.callbacks.claim``), run each
attempt in its own greenlet through the ``Originator`` (the inbound event socket), record
the result and the next due time, then wait on the clock until the next request is due,
an attempt ends, :meth:`CallbackRunner.wake` is called, or ``poll_s`` seconds pass (other
processes, e.g. ``fsrouter callback request``, add requests to the store).

On start, attempts left "running" by a runner that stopped mid-attempt (claimed more than
``stale_after_s`` ago) are closed as outcome "interrupted" and retried if attempts remain:
an attempt is never made twice, a request is never lost.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol

import gevent
import gevent.event
import gevent.pool

from fsrouter.errors import StoreError
from fsrouter.flow.callbacks import attempt_timeout_s, choose_agent, decide, dial_strings


class Originator(Protocol):
    """What the runner needs from FreeSWITCH (``session.inbound.InboundClient``).
    No attempt is taken while ``connected`` is False (FreeSWITCH down or restarting)."""

    connected: bool

    def originate(self, agent_dial: str, client_dial: str, *, leg_uuid: str, timeout_s: float):
        """Returns an object with ``outcome`` ("answered", "agent_failed", "client_failed",
        "unknown") and ``cause``."""


class SystemClock:
    """Real time: ``now()`` aware UTC; ``wait(event, timeout_s)`` waits on a gevent Event."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def wait(self, event: gevent.event.Event, timeout_s: float) -> None:
        event.wait(timeout_s)

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Real time needs no notification when it moves on."""


class CallbackRunner:
    """Makes callback attempts. config: () -> the current Config (reload-safe); store:
    fsrouter.store.Store; originator: an Originator; clock: SystemClock or a test clock
    with now() / wait(event, timeout_s) / subscribe(callback); log: structlog logger;
    poll_s / stale_after_s: seconds; token: this runner's claim id (default: random)."""

    def __init__(self, config: Callable[[], object], store, originator: Originator, *, log,
                 clock=None, poll_s: float = 5.0, stale_after_s: float = 600.0,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4()), token: str | None = None):
        self._config = config
        self._store = store
        self._originator = originator
        self._clock = clock or SystemClock()
        self.log = log
        self.poll_s = poll_s
        self.stale_after_s = stale_after_s
        self._new_id = new_id
        self.token = token or new_id()
        self._wakeup = gevent.event.Event()
        self._idle = gevent.event.Event()
        self._inflight: set[int] = set()
        self._attempts = gevent.pool.Group()
        self._stopping = False
        self._greenlet: gevent.Greenlet | None = None
        self._clock.subscribe(self.wake)

    # ------------------------------------------------------------------ control
    def start(self) -> gevent.Greenlet:
        self._greenlet = gevent.spawn(self._run)
        self._greenlet.link_exception(self._crashed)
        return self._greenlet

    def _crashed(self, greenlet) -> None:
        self.log.error("callback_runner_crashed", error=repr(greenlet.exception))

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop taking attempts; attempts in progress are cut (their claims go stale and are
        recovered by the next start)."""
        self._stopping = True
        self.wake()
        self._attempts.kill(timeout=timeout_s)
        if self._greenlet is not None:
            self._greenlet.kill(timeout=timeout_s)

    def wake(self) -> None:
        """Look at the store again now (a new request, a finished attempt, the clock moved)."""
        self._idle.clear()
        self._wakeup.set()

    def wait_idle(self, timeout_s: float) -> bool:
        """True once nothing is due at the clock's now and no attempt is in progress."""
        return self._idle.wait(timeout_s)

    # ------------------------------------------------------------------ loop
    def _run(self) -> None:
        self._recover()
        while not self._stopping:
            self._wakeup.clear()
            now = self._clock.now()
            try:
                due = self._store.callbacks.due(now) if self._originator.connected else []
                for record in due:
                    if record.id not in self._inflight:
                        self._take(record.id, now)
                next_at = self._store.callbacks.next_due_at()
            except StoreError as exc:
                self.log.error("callback_store_failed", error=str(exc))
                next_at = None
            timeout = self.poll_s
            if next_at is not None:
                timeout = min(timeout, max((next_at - now).total_seconds(), 0.0))
            if not self._inflight and not self._wakeup.is_set() and (next_at is None or next_at > now):
                self._idle.set()
            self._clock.wait(self._wakeup, timeout)

    def _take(self, callback_id: int, now: datetime) -> None:
        record = self._store.callbacks.claim(callback_id, token=self.token, now=now)
        if record is None:
            return  # another runner took it, or it is no longer due
        self._inflight.add(record.id)
        greenlet = self._attempts.spawn(self._attempt, record)
        greenlet.link_exception(self._crashed)

    def _attempt(self, record) -> None:
        log = self.log.bind(callback_id=record.id, line=record.line, attempt=record.attempts_made)
        try:
            self._run_attempt(record, log)
        except StoreError as exc:  # the claim stays; recovered as "interrupted" later
            log.error("callback_store_failed", error=str(exc))
        finally:
            self._inflight.discard(record.id)
            self.wake()

    def _run_attempt(self, record, log) -> None:
        config = self._config()
        line = config.lines.get(record.line)
        started = self._clock.now()
        entry = {"attempt": record.attempts_made, "at": started.isoformat(), "agent": None}
        if line is None or not line.routing.group:
            outcome, cause = "failed_config", "line or its group is gone from the config"
        else:
            agent = choose_agent(line, config, self._store.employees)
            if agent is None:
                outcome, cause = "no_agent", None
            else:
                entry["agent"] = agent.id
                outcome, cause = self._call(line, config, agent, record, log)
        entry.update(outcome=outcome, cause=cause)
        now = self._clock.now()
        if outcome == "failed_config":
            status, next_at = "failed", None
        else:
            decision = decide(attempts_made=record.attempts_made, max_attempts=record.max_attempts,
                              interval_s=record.interval_s, outcome=outcome, now=now)
            status, next_at = decision.status, decision.next_at
        if outcome == "no_agent":  # did not use an attempt up: give it back
            entry["attempt"] = None
        self._store.callbacks.finish(record.id, token=self.token, entry=entry, status=status, next_at=next_at,
                                     counted=outcome != "no_agent")
        log.info("callback_attempt_ended", outcome=outcome, cause=cause, agent=entry["agent"],
                 status=status, next_at=next_at.isoformat() if next_at else None)

    def _call(self, line, config, agent, record, log) -> tuple[str, str | None]:
        leg_uuid = self._new_id()
        call_id = f"callback-{record.id}-{record.attempts_made}"
        if not self._store.employees.mark_busy(agent.id, call_id):
            return "no_agent", None
        try:
            agent_dial, client_dial = dial_strings(line, config, agent, record.number,
                                                   leg_uuid=leg_uuid, callback_id=record.id)
            log.info("callback_originate", agent=agent.id, number=record.number, leg_uuid=leg_uuid)
            result = self._originator.originate(agent_dial, client_dial, leg_uuid=leg_uuid,
                                                timeout_s=attempt_timeout_s(line, config))
            return result.outcome, result.cause
        finally:
            self._store.employees.mark_free(agent.id, call_id)

    def _recover(self) -> None:
        cutoff = self._clock.now() - timedelta(seconds=self.stale_after_s)
        try:
            stale = self._store.callbacks.running_claimed_before(cutoff)
        except StoreError as exc:
            self.log.error("callback_store_failed", error=str(exc))
            return
        for record in stale:
            now = self._clock.now()
            decision = decide(attempts_made=record.attempts_made, max_attempts=record.max_attempts,
                              interval_s=record.interval_s, outcome="interrupted", now=now)
            entry = {"attempt": record.attempts_made, "at": record.claimed_at.isoformat(), "agent": None,
                     "outcome": "interrupted", "cause": "runner stopped during the attempt"}
            if self._store.callbacks.finish(record.id, token=record.claimed_by, entry=entry,
                                            status=decision.status, next_at=decision.next_at):
                self.log.warning("callback_attempt_interrupted", callback_id=record.id,
                                 attempt=record.attempts_made, status=decision.status)
