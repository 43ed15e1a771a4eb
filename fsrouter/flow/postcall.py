"""What the engine does once a line's flow is over: the conversation's end, then the books.

:func:`after_flow` runs while the caller may still be on the line (the flow ended without
an error): stop the recording, ask for the rating. :func:`settle` runs after teardown,
before the call record is written: store the recording's row, create or reassign the
CRM lead. Each settle step that fails is logged once (``post_call_step_failed``) and the
others still run, so the call record is always written.
"""

from __future__ import annotations

from fsrouter.flow.nodes.crm_card import settle_crm
from fsrouter.flow.nodes.rating import after_conversation
from fsrouter.flow.nodes.recording import store_recording


def after_flow(ctx) -> None:
    """Post-flow steps on a live call; CallHungUp passes through to the engine."""
    if ctx.line is not None:
        after_conversation(ctx)


def settle(ctx, hangup_complete) -> None:
    """Post-call bookkeeping; never raises. hangup_complete: CHANNEL_HANGUP_COMPLETE or None."""
    if ctx.line is None:
        return
    for step in (store_recording, settle_crm):
        try:
            step(ctx, hangup_complete)
        except Exception as exc:
            ctx.log.exception("post_call_step_failed", step=step.__name__, error=repr(exc))
