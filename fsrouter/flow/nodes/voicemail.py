"""Voicemail: the invitation melody, then ``record`` into the voicemail folder, stored as a row."""

from __future__ import annotations

import re
from pathlib import Path


def voicemail_path(ctx, owner: str) -> str:
    """``<voicemail>/<line>/<YYYY-MM>/<YYYY-MM-DD>_<HHMMSS>_<caller>_<call uuid>.wav``; owner unused in the name."""
    when = ctx.now()
    caller = re.sub(r"[^0-9A-Za-z+]", "", ctx.call.caller) or "unknown"
    folder = Path(ctx.services.folders.voicemail) / ctx.line.id / when.strftime("%Y-%m")
    try:
        folder.mkdir(parents=True, exist_ok=True)  # FreeSWITCH may run elsewhere: best effort
    except OSError:
        pass
    return str(folder / f"{when:%Y-%m-%d_%H%M%S}_{caller}_{ctx.call.uuid}.wav")


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
    """Play the voicemail melody, record the caller, store the message (path, length)."""
    ctx.call.playback(ctx.melody("voicemail"))
    path = voicemail_path(ctx, employee or ctx.line.id)
    result = ctx.call.record(path, max_s=ctx.services.voicemail_max_s)
    ctx.services.store.voicemails.add(call_uuid=ctx.call.uuid, line=ctx.line.id, employee=employee,
                                      path=result.path, duration_s=result.duration_s)
    ctx.step(step, employee=employee, path=result.path, duration_s=result.duration_s)
