"""Nodes of an employee's outgoing call (flow.outbound builds the flows): gate, dial out, refuse.

They read ``ctx.extra["outbound"]`` (``Placed.as_extra()``: employee, dialed, prefix,
number, refused), set by the engine before the flow starts; ``ctx.line`` is the chosen line.
"""

from __future__ import annotations

from fsrouter.errors import CallHungUp
from fsrouter.esl import names as N
from fsrouter.flow.nodes.ring import prepare_bridging

#: Seconds the dialed number may ring (``originate_timeout`` of the outgoing bridge).
OUTBOUND_RING_TIME_S = 60

#: Why an outgoing call was refused -> the hangup cause the employee's phone gets.
REFUSAL_CAUSES = {
    "unknown_employee": N.HangupCause.CALL_REJECTED,
    "not_allowed": N.HangupCause.CALL_REJECTED,
    "no_line": N.HangupCause.NO_ROUTE_DESTINATION,
    "not_a_number": N.HangupCause.INVALID_NUMBER_FORMAT,
}


def outbound_dial_string(number: str, *, gateway: str | None, caller_id: str | None,
                         ring_time_s: int = OUTBOUND_RING_TIME_S) -> str:
    """The ``bridge`` argument for an outgoing call, e.g.
    ``{origination_caller_id_number=+380441234567,originate_timeout=60}sofia/gateway/kyiv-trunk/+380954558888``.

    caller_id: the line's number (None: the gateway presents its own); without a gateway the
    number is left to FreeSWITCH's ``default`` context through ``loopback`` (as group forwards).
    """
    params = [f"{N.Var.ORIGINATION_CALLER_ID_NUMBER}={caller_id}"] if caller_id else []
    params.append(f"{N.Var.ORIGINATE_TIMEOUT}={int(ring_time_s)}")
    target = f"sofia/gateway/{gateway}/{number}" if gateway else f"loopback/{number}/default"
    return "{" + ",".join(params) + "}" + target


def refusal_melody(ctx) -> str:
    """The ``refused`` melody in the line's language, or settings.language without a line."""
    if ctx.line is not None:
        return ctx.melody("refused")
    return ctx.services.melodies.builtin(ctx.config.settings.language, "refused")


class OutboundGate:
    """Let the call out of its line, or send it to the refusal (``refused`` set by the selection)."""

    name = "outbound_gate"
    outcomes = ("next", "refused")

    def run(self, ctx) -> str:
        info = ctx.extra["outbound"]
        if info["refused"]:
            return "refused"
        ctx.step("outbound_line", line=ctx.line.id, employee=info["employee"], prefix=info["prefix"],
                 number=info["number"])
        return "next"


class DialOut:
    """Bridge the employee to the dialed number through the line's gateway, presenting the
    line's number as caller ID (a sip_pbx line named by its connection presents none).

    The employee counts as on a call meanwhile (incoming routing skips them; the engine
    frees them when the call ends). A callee who does not answer ends the employee's leg
    with the bridge's cause (USER_BUSY...), so the phone shows why.
    """

    name = "dial_out"
    outcomes = ("done",)

    def __init__(self, line, ring_time_s: int = OUTBOUND_RING_TIME_S):
        self.gateway = line.outbound.gateway
        self.caller_id = line.number if line.number.startswith("+") else None
        self.ring_time_s = ring_time_s

    def run(self, ctx) -> str:
        info = ctx.extra["outbound"]
        employee = info["employee"]
        ctx.hold(employee)  # even while another call rings them: they are on this one
        prepare_bridging(ctx)
        dial = outbound_dial_string(info["number"], gateway=self.gateway, caller_id=self.caller_id,
                                    ring_time_s=self.ring_time_s)
        try:
            result = ctx.call.bridge(dial, ring_time_s=self.ring_time_s,
                                     on_answer=lambda _leg: ctx.employee_answered(employee))
        except CallHungUp:
            ctx.step("dial_out", number=info["number"], gateway=self.gateway, result=ctx.gone(),
                     answered=ctx.answered_by is not None)
            raise
        ctx.step("dial_out", number=info["number"], gateway=self.gateway, result=result.outcome,
                 cause=result.cause)
        if result.answered:
            ctx.employee_answered(employee)
        else:
            ctx.call.hangup(result.cause or N.HangupCause.NORMAL_CLEARING)
        return "done"


class RefuseOutbound:
    """Tell the employee the call may not go out: log ``outbound_refused``, play the
    ``refused`` melody, hang up with the reason's cause (:data:`REFUSAL_CAUSES`)."""

    name = "outbound_refused"
    outcomes = ("done",)

    def run(self, ctx) -> str:
        info = ctx.extra["outbound"]
        reason = info["refused"]
        cause = REFUSAL_CAUSES[reason]
        ctx.log.warning("outbound_refused", reason=reason, employee=info["employee"], dialed=info["dialed"],
                        line=ctx.line.id if ctx.line else None, caller=ctx.call.caller)
        ctx.step("outbound_refused", reason=reason, employee=info["employee"], dialed=info["dialed"], cause=cause)
        ctx.call.playback(refusal_melody(ctx))
        ctx.call.hangup(cause)
        return "done"
