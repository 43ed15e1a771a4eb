"""Quality rating (``rating.enabled``): after the operator hangs up, the caller keys a grade 1-5.

Runs when the flow is over and an employee had answered (``hangup_after_bridge=false``
brings control back after the bridge, PROTOCOL-NOTES §5). ``play_and_get_digits`` plays
the ``rating`` melody and waits for one digit matching ``[1-5]``; then ``rating_thanks``.
No key within the timeout or an invalid key stores no grade; a caller who hangs up
unwinds the flow as usual (``CallHungUp``), also without a grade. The grade is stored in
``ctx.extra["rating"] = {"grade": 4, "employee": "alice"}``: the employee who finally
talked to the caller (after a transfer, the one the call was transferred to).
"""

from __future__ import annotations

from fsrouter.errors import CallHungUp
from fsrouter.flow.nodes.crm_card import final_talker
from fsrouter.flow.nodes.recording import stop_recording

#: Seconds the caller has to key a grade after the question.
RATING_TIMEOUT_S = 7.0


def after_conversation(ctx) -> None:
    """The engine's post-flow step: stop the recording, then ask for a rating when due."""
    if ctx.call.hangup_requested or not ctx.call.is_up:  # the flow hung up: nothing to ask
        return
    stop_recording(ctx)
    if ctx.line.rating.enabled and ctx.answered_by is not None:
        rate_call(ctx)


def rate_call(ctx, *, timeout_s: float = RATING_TIMEOUT_S) -> int | None:
    """Ask the caller for a grade 1-5; returns it (None: no valid key). CallHungUp passes through."""
    employee = final_talker(ctx)
    try:
        digits = ctx.call.play_and_get_digits(ctx.melody("rating"), min_digits=1, max_digits=1, tries=1,
                                              timeout_s=timeout_s, terminators="none", regex="^[1-5]$")
    except CallHungUp:
        ctx.step("rating", employee=employee, result=ctx.gone())
        raise
    if digits is None:
        ctx.step("rating", employee=employee, result="no_grade")
        return None
    grade = int(digits)
    ctx.extra["rating"] = {"grade": grade, "employee": employee}
    ctx.step("rating", employee=employee, result="rated", grade=grade)
    ctx.call.playback(ctx.melody("rating_thanks"))
    return grade
