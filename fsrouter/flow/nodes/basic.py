"""Small nodes every flow uses: answer, greeting, hang-up."""

from __future__ import annotations

from fsrouter.esl import names as N


class Answer:
    """Answer the caller's channel (dptools ``answer``)."""

    name = "answer"
    outcomes = ("next",)

    def run(self, ctx) -> str:
        ctx.call.answer()
        return "next"


class Greeting:
    """Play the line's ``greeting`` melody."""

    name = "greeting"
    outcomes = ("next",)

    def run(self, ctx) -> str:
        melody = ctx.melody("greeting")
        result = ctx.call.playback(melody)
        ctx.step("greeting", melody=melody, result=result)
        return "next"


class Hangup:
    """Hang up with ``cause`` (the flow's end for paths that must not linger)."""

    outcomes = ("done",)

    def __init__(self, cause: str = N.HangupCause.NORMAL_CLEARING, reason: str = "flow_end"):
        self.name = "hangup"
        self.cause = cause
        self.reason = reason

    def run(self, ctx) -> str:
        ctx.step("hangup", cause=self.cause, reason=self.reason)
        ctx.call.hangup(self.cause)
        return "done"
