"""Where a call's recordings and voice messages go, named so ops can find them by hand."""

from __future__ import annotations

import re
from pathlib import Path


def call_file(ctx, folder) -> str:
    """``<folder>/<line>/<YYYY-MM>/<YYYY-MM-DD>_<HHMMSS>_<caller>_<call uuid>.wav``: the
    line's local time at the call's arrival (Caller-Channel-Created-Time); the caller's
    number keeps only letters, digits and ``+``. The folder is created here as a best
    effort (FreeSWITCH may run on another host). Returns the local path; send FreeSWITCH
    ``ctx.on_freeswitch(path)``."""
    local = ctx.call.created_at.astimezone(ctx.line.tzinfo)
    caller = re.sub(r"[^0-9A-Za-z+]", "", ctx.call.caller) or "unknown"
    uuid = re.sub(r"[^0-9A-Za-z-]", "", ctx.call.uuid or "") or "unknown"
    target = Path(folder) / ctx.line.id / local.strftime("%Y-%m")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    return str(target / f"{local:%Y-%m-%d_%H%M%S}_{caller}_{uuid}.wav")
