"""Ringing employees: the one place a flow turns employees into a ``bridge``.

Each leg gets an ``origination_uuid`` we choose, so the CHANNEL_BRIDGE event's
``Other-Leg-Unique-ID`` says exactly which employee answered (also when several ring at once).
"""

from __future__ import annotations

from fsrouter.errors import CallHungUp
from fsrouter.esl import names as N
from fsrouter.session.call import BridgeResult

#: Caller-leg variables every bridge needs: a failed bridge must return control to us
#: (without continue_on_fail FreeSWITCH hangs the caller up) and so must a finished one.
BRIDGE_VARIABLES = ("continue_on_fail=true", "hangup_after_bridge=false")


def prepare_bridging(ctx) -> None:
    """Set the caller-leg variables for bridging once per call (one ``multiset``)."""
    if ctx.bridge_ready:
        return
    hold = ctx.melody("hold")
    ctx.call.execute("multiset", " ".join(BRIDGE_VARIABLES + (f"transfer_ringback={hold}",)))
    ctx.bridge_ready = True


def reachable(ctx, employees, step: str) -> list:
    """Employees that may be rung now: not absent (when ``skip_absent``), not on another call.

    Skipped ones are written to the route with the reason.
    """
    ids = [e.id for e in employees]
    absent = ctx.services.store.employees.absent(ids) if ctx.line.routing.skip_absent else set()
    busy = ctx.services.store.employees.busy([i for i in ids if i not in absent])
    ready = []
    for employee in employees:
        if employee.id in absent:
            ctx.step(step, employee=employee.id, result="skipped", reason="absent")
        elif employee.id in busy:
            ctx.step(step, employee=employee.id, result="skipped", reason="busy")
        else:
            ready.append(employee)
    return ready


def ring(ctx, employees, *, ring_time_s: int, step: str, **route_fields) -> BridgeResult | None:
    """Ring ``employees`` together for ``ring_time_s`` seconds; first to answer talks to the caller.

    Returns the BridgeResult (None when nobody could be claimed). Each employee is
    claimed busy for this call while ringing; once one answers, the others' legs stop
    ringing (LOSE_RACE) and they are released at once, free for the next caller; the
    one who answered is released when the bridge ends.
    """
    claimed = [e for e in employees if ctx.claim(e.id)]
    for employee in employees:
        if employee not in claimed:
            ctx.step(step, employee=employee.id, result="skipped", reason="busy", **route_fields)
    if not claimed:
        return None
    prepare_bridging(ctx)
    legs = {ctx.services.new_id(): employee for employee in claimed}
    dial = f"{{originate_timeout={int(ring_time_s)}}}" + ",".join(
        f"[origination_uuid={leg},fsrouter_employee={e.id}]{e.endpoint}" for leg, e in legs.items())

    def on_answer(other_leg: str | None) -> None:
        employee = legs.get(other_leg)
        if employee is not None:
            ctx.employee_answered(employee.id)
            for other in claimed:
                if other is not employee:
                    release_quietly(ctx, other.id)

    try:
        result = ctx.call.bridge(dial, ring_time_s=ring_time_s, on_answer=on_answer)
    except CallHungUp:
        ctx.step(step, employees=[e.id for e in claimed], answered_by=ctx.answered_by,
                 result=ctx.gone(), **route_fields)
        raise
    finally:
        for employee in claimed:
            ctx.release(employee.id)
    who = legs.get(result.other_leg_uuid)
    for employee in claimed:
        answered = result.answered and (who is employee or (who is None and len(claimed) == 1))
        if result.answered and not answered:  # another leg won: FreeSWITCH stops this one
            outcome, cause = "no_answer", N.HangupCause.LOSE_RACE
        else:
            outcome, cause = ("answered" if answered else result.outcome), result.cause
        ctx.step(step, employee=employee.id, result=outcome, cause=cause, **route_fields)
        if answered:
            ctx.employee_answered(employee.id)
    return result


def release_quietly(ctx, employee: str) -> None:
    """``ctx.release(employee)`` from inside an event handler: a store error is logged
    (the claim then ends with the call, as every claim does), never raised into the reader."""
    try:
        ctx.release(employee)
    except Exception as exc:
        ctx.log.warning("employee_release_failed", employee=employee, error=repr(exc))
