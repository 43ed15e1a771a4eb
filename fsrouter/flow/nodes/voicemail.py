"""Voicemail: the invitation melody, then ``record`` into the voicemail folder, stored as a row."""

from __future__ import annotations

from fsrouter.errors import CallHungUp, EslTimeout
from fsrouter.flow.callfiles import call_file


def voicemail_path(ctx) -> str:
    """The local path of this call's voice message (see flow.callfiles.call_file)."""
    return call_file(ctx, ctx.services.folders.voicemail)


class Voicemail:
    """Take a voice message for ``employee`` (or for the line when None)."""

    outcomes = ("done",)

    def __init__(self, employee: str | None = None, step: str = "voicemail"):
        self.name = step
        self.employee = employee

    def run(self, ctx) -> str:
        take_voicemail(ctx, self.employee, step=self.name)
        return "done"


def take_voicemail(ctx, employee: str | None, *, step: str = "voicemail") -> None:
    """Play the voicemail melody, record the caller, store the message (path, length).

    A caller who hangs up to end the message (the usual way) still leaves it: it is
    stored, then CallHungUp ends the flow as for any hang-up."""
    ctx.call.playback(ctx.melody("voicemail"))
    path = voicemail_path(ctx)
    try:
        result = ctx.call.record(ctx.on_freeswitch(path), max_s=ctx.services.voicemail_max_s)
    except EslTimeout:  # FreeSWITCH never said record ended: the file may well be there
        ctx.services.store.voicemails.add(call_uuid=ctx.call.uuid, line=ctx.line.id, employee=employee,
                                          path=path, duration_s=None)
        ctx.step(step, employee=employee, path=path, duration_s=None, result="timed_out")
        raise
    ctx.services.store.voicemails.add(call_uuid=ctx.call.uuid, line=ctx.line.id, employee=employee,
                                      path=path, duration_s=result.duration_s)
    ctx.step(step, employee=employee, path=path, duration_s=result.duration_s)
    if result.caller_hung_up:
        raise CallHungUp(ctx.call.uuid, ctx.call.hangup_cause)
