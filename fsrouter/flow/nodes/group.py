"""The line's group (queue): ring members by strategy, then the group's no-answer action."""

from __future__ import annotations

from fsrouter.errors import CallHungUp
from fsrouter.flow.nodes.ring import prepare_bridging, reachable, ring
from fsrouter.flow.nodes.voicemail import take_voicemail


class RingGroup:
    """Ring the group's members; outcomes ``answered`` or ``no_answer``.

    Strategies: ``in_order`` (YAML order), ``evenly`` (longest idle first, idle time in the
    store), ``all_at_once`` (one bridge to all; ``ring_time`` is for everyone together).
    ``ring_time`` is seconds per member otherwise.
    """

    name = "group"
    outcomes = ("answered", "no_answer")

    def __init__(self, group):
        self.group = group

    def run(self, ctx) -> str:
        group = self.group
        members = [ctx.config.employees[m] for m in group.members]
        if group.strategy == "evenly":
            order = ctx.services.store.employees.idle_order([m.id for m in members])
            members = [ctx.config.employees[m] for m in order]
        members = reachable(ctx, members, "group")
        if group.strategy == "all_at_once":
            batches = [members] if members else []
        else:
            batches = [[m] for m in members]
        for batch in batches:
            result = ring(ctx, batch, ring_time_s=group.ring_time, step="group", group=group.id)
            if result is not None and result.answered:
                return "answered"
        return "no_answer"


class GroupNoAnswer:
    """The group's ``no_answer`` action: voicemail, forward to a number, or hang up."""

    name = "group_no_answer"
    outcomes = ("done",)

    def __init__(self, group, gateway: str | None):
        self.group = group
        self.gateway = gateway

    def run(self, ctx) -> str:
        action = self.group.no_answer
        if action == "voicemail":
            take_voicemail(ctx, None, step="group_voicemail")
        elif action == "forward":
            forward(ctx, self.group.forward_to, gateway=self.gateway, step="group_forward",
                    ring_time_s=self.group.ring_time)
        else:
            ctx.step("group_hangup")
        return "done"


def forward(ctx, number: str, *, gateway: str | None, step: str, ring_time_s: int = 60,
            employee: str | None = None, **route_fields):
    """Bridge the caller to an outside ``number`` (E.164) through the line's gateway for at
    most ``ring_time_s`` seconds of ringing; returns the BridgeResult, written to the route.

    employee: whose phone ``number`` is (they are then the call's ``answered_by``); else
    the call is answered by the number (``answered_at``, ``extra["answered_number"]``).
    """
    prepare_bridging(ctx)
    # without a gateway the number is left to FreeSWITCH's own dialplan (context "default")
    target = f"sofia/gateway/{gateway}/{number}" if gateway else f"loopback/{number}/default"

    bridged: list[str | None] = []  # CHANNEL_BRIDGE came: the number answered

    def on_answer(other_leg: str | None) -> None:
        bridged.append(other_leg)
        if employee is not None:
            ctx.employee_answered(employee)
        else:
            ctx.number_answered(number)

    if employee is not None:
        route_fields["employee"] = employee
    try:
        result = ctx.call.bridge(f"{{originate_timeout={int(ring_time_s)}}}{target}", ring_time_s=ring_time_s,
                                 on_answer=on_answer)
    except CallHungUp:  # the route still says where the call went, and whether it was answered
        ctx.step(step, number=number, result=ctx.gone(), answered=bool(bridged), **route_fields)
        raise
    ctx.step(step, number=number, result=result.outcome, cause=result.cause, **route_fields)
    return result
