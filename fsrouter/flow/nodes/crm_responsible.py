"""Step 5: ring the employee the CRM says is responsible for the caller.

The caller's number (``Caller-Caller-ID-Number``, normalised to E.164 with
``settings.country``) is looked up with the store's ``crm.match`` (contact, then company,
then lead). No match, no responsible, or a responsible not in employees.yaml: the call
passes on. A store failure is logged and the call passes on too.
"""

from __future__ import annotations

from fsrouter.errors import StoreError
from fsrouter.flow.nodes.employee import after_no_answer, ring_one
from fsrouter.flow.phone import normalize


class CrmResponsible:
    """settings: the line's ``routing.crm_responsible`` (ring_time s; no_answer:
    forward_to_phone | voicemail | queue). Outcomes ``answered``, ``done`` (voicemail),
    ``next`` (no match, or not answered with queue / unanswered phones)."""

    name = "crm_responsible"
    outcomes = ("answered", "done", "next")

    def __init__(self, settings):
        self.settings = settings

    def run(self, ctx) -> str:
        step = "crm_responsible"
        caller = normalize(ctx.call.caller, ctx.config.settings.country)
        if caller is None:
            ctx.step(step, caller=ctx.call.caller, result="no_caller_number")
            return "next"
        try:
            match = ctx.services.store.crm.match(caller)
        except StoreError as exc:
            ctx.log.warning("crm_lookup_failed", error=str(exc))
            ctx.step(step, caller=caller, result="lookup_failed")
            return "next"
        employee = ctx.config.employees.get(match.responsible) if match and match.responsible else None
        if employee is None:
            result = "no_match" if match is None else "no_responsible"
            ctx.step(step, caller=caller, result=result, responsible=match.responsible if match else None)
            return "next"
        outcome = ring_one(ctx, employee, ring_time_s=self.settings.ring_time, step=step,
                           entity=f"{match.entity_type}:{match.entity_id}")
        if outcome == "answered":
            return "answered"
        return after_no_answer(ctx, employee, self.settings.no_answer, outcome=outcome,
                               ring_time_s=self.settings.ring_time, step=step)
