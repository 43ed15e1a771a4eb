"""CRM integration of a call (``crm:`` of a line): match, card, transfers, lead creation.

* At the start of the call (:class:`CrmCard`, before ``answer``, so the card is out while
  the phone rings) the other party's phone (incoming: the caller; outgoing: the callee),
  normalised to E.164 with ``settings.country``, is matched: contact, then company, then
  lead. The match goes to ``ctx.extra["crm"]`` and out as a card: the structured log event
  ``crm_card`` and, when ``settings.crm_webhook`` is set, an HTTP POST off the call's path
  (:mod:`fsrouter.flow.webhook`).
* Transfers: a CHANNEL_BRIDGE to another leg while an employee already talks to the
  caller (an attended transfer re-bridges the caller) is a transfer; the new employee is
  found by the other leg's ``Other-Leg-Destination-Number`` (their extension). Each one is
  kept in ``ctx.extra["transfers"]`` and the route.
* After the call (:func:`settle_crm`): no match, ``create_lead: auto``, a direction listed
  in ``create_lead_for`` and a number not in ``exclusions``: a lead is created (phone, line,
  ``lead_source``, responsible = for an outgoing call the employee who placed it, else
  who talked to the caller, else the first employee the call rang (the group an IVR key
  chose, say), else the first member of the line's group).
  With ``reassign_on_transfer`` the lead's responsible becomes the transfer's target.
"""

from __future__ import annotations

from fsrouter.esl import names as N
from fsrouter.flow.phone import normalize

_DIRECTIONS = {"inbound": "incoming", "outbound": "outgoing"}


def other_party(ctx) -> str:
    """The phone of the party who is not the employee: the caller, or for an outgoing call the callee."""
    return ctx.call.destination if ctx.direction == "outbound" else ctx.call.caller


def final_talker(ctx) -> str | None:
    """The employee who talked to the caller last: a transfer's target, else who answered."""
    transfers = [t for t in ctx.extra.get("transfers", ()) if t.get("to")]
    return transfers[-1]["to"] if transfers else ctx.answered_by


def card_of(ctx, phone: str | None, match) -> dict:
    """The card published for the call: JSON-ready, no secret in it."""
    return {
        "event": "crm_card",
        "call_uuid": ctx.call.uuid,
        "line": ctx.line.id,
        "line_number": ctx.line.number,
        "direction": ctx.direction,
        "phone": phone,
        "match": None if match is None else {
            "entity_type": match.entity_type, "entity_id": match.entity_id,
            "name": match.name, "responsible": match.responsible,
        },
        "activities": [],  # the built-in CRM keeps no activities or deals yet
        "deals": [],
    }


class CrmCard:
    """Match the other party in the CRM, publish the card and watch for transfers."""

    name = "crm_card"
    outcomes = ("next",)

    def run(self, ctx) -> str:
        phone = normalize(other_party(ctx), ctx.config.settings.country)
        match = ctx.services.store.crm.match(phone) if phone else None
        card = card_of(ctx, phone, match)
        ctx.extra["crm"] = {"phone": phone, "match": card["match"]}
        ctx.log.info("crm_card", phone=phone, match=card["match"])
        if ctx.services.cards is not None:
            ctx.services.cards.publish(card, log=ctx.log)
        ctx.step("crm", phone=phone, result="matched" if match else "no_match",
                 entity_type=match.entity_type if match else None, entity_id=match.entity_id if match else None)
        ctx.call.subscribe(N.EventName.CHANNEL_BRIDGE, lambda event: on_bridge(ctx, event))
        return "next"


def on_bridge(ctx, event) -> None:
    """CHANNEL_BRIDGE handler (run while the call waits on its socket): a new leg while someone talks = a transfer."""
    if ctx.answered_by is None:
        return  # the first bridge: ring.py records who answered
    current = final_talker(ctx)
    extension = event.get(N.Header.OTHER_LEG_DESTINATION_NUMBER) or ""
    employee = ctx.config.employee_by_extension(extension)
    target = employee.id if employee else None
    if target == current:
        return
    transfer = {"from": current, "to": target, "other_leg": event.get(N.Header.OTHER_LEG_UNIQUE_ID)}
    ctx.extra.setdefault("transfers", []).append(transfer)
    ctx.step("transfer", **transfer, extension=extension or None)


def settle_crm(ctx, hangup_complete=None) -> None:
    """After the call: create the lead or reassign it, as the line's ``crm`` says; noted in extra["crm"]."""
    info = ctx.extra.get("crm")
    if info is None:
        return
    settings = ctx.line.crm
    crm = ctx.services.store.crm
    talker = final_talker(ctx)
    match = info["match"]
    if match is not None:
        if (settings.reassign_on_transfer and ctx.extra.get("transfers") and match["entity_type"] == "lead"
                and talker and talker != match["responsible"]):
            crm.set_responsible("lead", match["entity_id"], talker)
            info["reassigned"] = {"from": match["responsible"], "to": talker}
            ctx.log.info("crm_lead_reassigned", lead_id=match["entity_id"], **info["reassigned"])
        return
    reason = _no_lead_reason(ctx, info["phone"])
    if reason is not None:
        info["lead"] = {"created": False, "reason": reason}
        return
    if crm.match(info["phone"]) is not None:  # another call from this number made one meanwhile
        info["lead"] = {"created": False, "reason": "exists"}
        return
    first = ctx.answered_by if not settings.reassign_on_transfer else talker
    placer = (ctx.extra.get("outbound") or {}).get("employee") if ctx.direction == "outbound" else None
    responsible = placer or first or first_rung(ctx) or group_first_member(ctx)
    lead_id = crm.add_lead(phone=info["phone"], line=ctx.line.id, source=settings.lead_source,
                           responsible=responsible)
    info["lead"] = {"created": True, "id": lead_id, "responsible": responsible}
    if settings.reassign_on_transfer and ctx.answered_by and talker != ctx.answered_by:
        info["reassigned"] = {"from": ctx.answered_by, "to": talker}
    ctx.log.info("crm_lead_created", lead_id=lead_id, phone=info["phone"], responsible=responsible,
                 source=settings.lead_source)


def _no_lead_reason(ctx, phone: str | None) -> str | None:
    settings = ctx.line.crm
    direction = _DIRECTIONS[ctx.direction]
    if settings.create_lead != "auto":
        return f"create_lead_{settings.create_lead}"
    if settings.create_lead_for not in ("all", direction):
        return f"not_for_{direction}"
    if phone is None:
        return "no_number"
    if phone in settings.exclusions:
        return "excluded"
    return None


def first_rung(ctx) -> str | None:
    """The first employee this call rang (route steps naming an employee not skipped), or None."""
    for step in ctx.route:
        if step.get("result") == "skipped":
            continue
        rung = step.get("employee") or (step.get("employees") or [None])[0]  # (a ring cut short lists them)
        if rung:
            return rung
    return None


def group_first_member(ctx) -> str | None:
    """The first member of the line's group, or None without a group."""
    group = ctx.config.groups.get(ctx.line.routing.group) if ctx.line.routing.group else None
    return group.members[0] if group else None
