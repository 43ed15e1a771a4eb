"""Ringing one known employee, and what happens when they do not answer.

Shared by every step that puts the caller through to one person: the SIP To-header
extension, extension dialing, the IVR's ``{employee: ...}`` / ``dial_extension`` and the
CRM's responsible manager. "Did not answer" covers every failed bridge outcome
(no_answer, busy, rejected, unreachable, failed) and a skipped employee (absent, busy on
another call); the exact outcome is in the route.
"""

from __future__ import annotations

from fsrouter.flow.nodes.group import forward
from fsrouter.flow.nodes.ring import reachable, ring
from fsrouter.flow.nodes.voicemail import take_voicemail

#: Outcomes of :func:`ring_one` besides the bridge's own (answered, no_answer, busy, ...).
ABSENT = "absent"
SKIPPED = "skipped"


def ring_one(ctx, employee, *, ring_time_s: int, step: str, **route_fields) -> str:
    """Ring ``employee`` (flow.model.Employee) for ``ring_time_s`` seconds.

    Returns "answered", a BridgeResult outcome ("no_answer", "busy", "rejected",
    "unreachable", "failed"), ABSENT (not at work and ``routing.skip_absent``) or SKIPPED
    (on another call). Every case is written to the route under ``step``.
    """
    ready = reachable(ctx, [employee], step)
    if not ready:
        absent = ctx.line.routing.skip_absent and employee.id in ctx.services.store.employees.absent([employee.id])
        return ABSENT if absent else SKIPPED
    result = ring(ctx, ready, ring_time_s=ring_time_s, step=step, **route_fields)
    return SKIPPED if result is None else result.outcome


def forward_to_phones(ctx, employee, *, ring_time_s: int, step: str) -> bool:
    """Bridge the caller to ``employee``'s phones one after the other (mobile first, the
    YAML order) through the line's ``outbound.gateway``, ``ring_time_s`` seconds each.

    True when one answered (the employee is then the call's ``answered_by``). An employee
    without phones is written to the route as skipped.
    """
    if not employee.phones:
        ctx.step(step, employee=employee.id, result="skipped", reason="no_phones")
        return False
    for phone in employee.phones:
        result = forward(ctx, phone, gateway=ctx.line.outbound.gateway, step=step,
                         ring_time_s=ring_time_s, employee=employee.id)
        if result.answered:
            ctx.employee_answered(employee.id)  # also when FreeSWITCH sent no CHANNEL_BRIDGE
            return True
    return False


def after_no_answer(ctx, employee, action: str, *, outcome: str, ring_time_s: int, step: str) -> str:
    """Do ``action`` after ``employee`` did not answer (``outcome`` from :func:`ring_one`).

    action: "forward_to_phone" | "voicemail" | "continue" | "queue". Returns the flow
    outcome: "answered" (a phone answered), "done" (a message was taken) or "next" (carry
    on with the remaining routing steps). An absent employee, or one on another call, is
    never forwarded to (their phones would ring for someone not free to talk): the call
    carries on.
    """
    if action == "forward_to_phone":
        if outcome in (ABSENT, SKIPPED):
            reason = "absent" if outcome == ABSENT else "busy"
            ctx.step(f"{step}_forward", employee=employee.id, result="skipped", reason=reason)
            return "next"
        answered = forward_to_phones(ctx, employee, ring_time_s=ring_time_s, step=f"{step}_forward")
        return "answered" if answered else "next"
    if action == "voicemail":
        take_voicemail(ctx, employee.id, step=f"{step}_voicemail")
        return "done"
    return "next"


def dial_extension(ctx, digits: str, settings, *, step: str = "extension") -> str:
    """Put the caller through to the employee whose extension is ``digits``.

    settings: the line's ``routing.extension_dialing`` (ring_time, no_answer). Unknown
    extension: the ``unknown_extension`` melody is played and "unknown" returned; otherwise
    "answered", "done" or "next" as :func:`after_no_answer`.
    """
    employee = ctx.config.employee_by_extension(digits)
    if employee is None:
        melody = ctx.melody("unknown_extension")
        ctx.call.playback(melody)
        ctx.step(step, extension=digits, result="unknown_extension", melody=melody)
        return "unknown"
    outcome = ring_one(ctx, employee, ring_time_s=settings.ring_time, step=step, extension=digits)
    if outcome == "answered":
        return "answered"
    return after_no_answer(ctx, employee, settings.no_answer, outcome=outcome,
                           ring_time_s=settings.ring_time, step=step)
