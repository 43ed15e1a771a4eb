"""Working hours: checked after ``answer`` and before the greeting; after hours: the
after-hours melody, then a voice message for the line, a forward or a hang-up."""

from __future__ import annotations

from fsrouter.flow.hours import decide
from fsrouter.flow.nodes.group import forward
from fsrouter.flow.nodes.voicemail import take_voicemail

#: Seconds a forwarded after-hours call rings before giving up.
FORWARD_RING_TIME_S = 60


class WorkingHoursCheck:
    """Is the line open at the call's arrival (``Caller-Channel-Created-Time``, never the
    engine's clock, so a replayed call decides like the live one)? Outcomes ``next`` / ``closed``."""

    name = "working_hours"
    outcomes = ("next", "closed")

    def run(self, ctx) -> str:
        decision = decide(ctx.line.working_hours, ctx.call.created_at, ctx.line.tzinfo)
        fields = {"holiday": decision.holiday_name} if decision.holiday_name else {}
        ctx.step("working_hours", result="open" if decision.open else "closed", reason=decision.reason,
                 local_time=decision.local.isoformat(timespec="seconds"), **fields)
        return "next" if decision.open else "closed"


class AfterHours:
    """The line's ``working_hours.after_hours``: voicemail | forward | hangup, after the melody."""

    name = "after_hours"
    outcomes = ("done",)

    def run(self, ctx) -> str:
        hours = ctx.line.working_hours
        melody = ctx.melody("after_hours")
        ctx.call.playback(melody)
        ctx.step("after_hours", melody=melody, action=hours.after_hours)
        if hours.after_hours == "voicemail":
            take_voicemail(ctx, None, step="after_hours_voicemail")
        elif hours.after_hours == "forward":
            forward(ctx, hours.forward_to, gateway=ctx.line.outbound.gateway, step="after_hours_forward",
                    ring_time_s=FORWARD_RING_TIME_S)
        return "done"
