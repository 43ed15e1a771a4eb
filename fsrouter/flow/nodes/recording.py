"""Call recording (``recording:`` of a line): warning, quota, ``record_session``, and the stored row.

The recording starts right after ``answer`` and covers the whole call (greeting, ringing,
conversation, voicemail). It stops when the conversation is over (:func:`stop_recording`,
before the rating question) or at hangup; its size and length come from the variables
FreeSWITCH sets when a recording stops (``record_file_size``, ``record_ms``: capture 04),
read from stop_record_session's COMPLETE or from CHANNEL_HANGUP_COMPLETE.

State kept in ``ctx.extra["recording"]``, stored with the call record:
``{"path", "size_bytes", "duration_s"}`` when recorded, ``{"recorded": false, "reason":
"monthly_limit", "month", "limit"}`` when the quota was used up.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from fsrouter.errors import CallHungUp, EslCommandRefused, EslTimeout
from fsrouter.flow.callfiles import call_file
from fsrouter.session.call import RecordingStats, recording_stats


def recording_month(line, when: datetime) -> str:
    """The calendar month ("YYYY-MM") of ``when`` (aware) in the line's time zone."""
    return when.astimezone(line.tzinfo).strftime("%Y-%m")


def recording_path(ctx) -> str:
    """The local path of this call's recording (see flow.callfiles.call_file)."""
    return call_file(ctx, ctx.services.folders.recordings)


class StartRecording:
    """Claim the month's quota, warn the caller (incoming calls, ``recording.warning``) and
    start ``record_session``. Runs once per call, so the warning is never repeated. A
    call that ends before the recording starts (the caller hangs up during the warning,
    FreeSWITCH refuses an application) gives the quota's slot back, if it took one."""

    name = "recording"
    outcomes = ("next",)

    def run(self, ctx) -> str:
        settings = ctx.line.recording
        month = recording_month(ctx.line, ctx.call.created_at)
        claimed = ctx.services.store.recordings.claim(ctx.line.id, month, settings.monthly_limit)
        if not claimed:
            ctx.extra["recording"] = {"recorded": False, "reason": "monthly_limit", "month": month,
                                      "limit": settings.monthly_limit}
            ctx.step("recording", result="skipped", reason="monthly_limit", month=month)
            return "next"
        counted = claimed is True  # not the store guard's UNCOUNTED (database down)
        try:
            if settings.warning and ctx.direction == "inbound":
                ctx.call.playback(ctx.melody("recording_warning"))
            path = recording_path(ctx)
            started_at = ctx.now().isoformat()
            ctx.call.record_session(ctx.on_freeswitch(path))
        except (CallHungUp, EslCommandRefused, EslTimeout) as exc:  # nothing is being recorded
            if counted:  # the month's quota keeps its slot
                ctx.services.store.recordings.give_back(ctx.line.id, month)
            reason = ctx.gone() if isinstance(exc, CallHungUp) else exc.code
            ctx.step("recording", result="not_started", reason=reason, month=month)
            raise
        ctx.extra["recording"] = {"recorded": True, "path": path, "month": month, "started_at": started_at}
        ctx.step("recording", result="started", path=path,
                 warning=bool(settings.warning) and ctx.direction == "inbound")  # what the caller heard
        return "next"


def stop_recording(ctx) -> None:
    """Stop a running recording (the conversation is over) and keep its figures."""
    info = ctx.extra.get("recording")
    if not info or not info.get("recorded") or "size_bytes" in info:
        return
    _keep(info, ctx.call.stop_record_session(ctx.on_freeswitch(info["path"])))


def store_recording(ctx, hangup_complete) -> None:
    """After teardown: take the figures from CHANNEL_HANGUP_COMPLETE if the recording ran to
    the hangup (else the file's size), and store the recording row."""
    info = ctx.extra.get("recording")
    if not info or not info.get("recorded"):
        return
    if "size_bytes" not in info:
        _keep(info, recording_stats(hangup_complete))
    if info.get("size_bytes") is None:
        try:
            info["size_bytes"] = os.path.getsize(info["path"])
        except OSError:
            pass
    started = datetime.fromisoformat(info.pop("started_at"))
    ctx.services.store.recordings.add(call_uuid=ctx.call.uuid, line=ctx.line.id, path=info["path"],
                                      size_bytes=info.get("size_bytes"), duration_s=info.get("duration_s"),
                                      created_at=started)
    ctx.log.info("recording_stored", path=info["path"], size_bytes=info.get("size_bytes"),
                 duration_s=info.get("duration_s"))


def _keep(info: dict, stats: RecordingStats) -> None:
    info["size_bytes"] = stats.size_bytes
    info["duration_s"] = stats.duration_s


def purge_recordings(config, store, now: datetime, *, dry_run: bool, log=None) -> list:
    """Delete recordings older than their line's ``recording.retention_days`` (file and row).

    Returns the RecordingRecords that went (or would go, with ``dry_run``). A file already
    missing is not an error; a file that cannot be deleted keeps its row (logged).
    """
    gone = []
    for line in config.lines.values():
        days = line.recording.retention_days
        if not days:
            continue
        old = store.recordings.older_than(line.id, now - timedelta(days=days))
        if dry_run:
            gone += old
            continue
        deletable = []
        for rec in old:
            try:
                os.remove(rec.path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                if log is not None:
                    log.warning("recording_not_deleted", path=rec.path, error=str(exc))
                continue
            deletable.append(rec)
        store.recordings.delete([r.id for r in deletable])
        gone += deletable
    if log is not None and not dry_run:
        log.info("recordings_purged", count=len(gone))
    return gone


#: How often the engine runs the retention purge, in seconds.
PURGE_INTERVAL_S = 3600.0


def purge_periodically(catalog, store, stopped, *, clock, log, interval_s: float = PURGE_INTERVAL_S) -> None:
    """Run :func:`purge_recordings` every ``interval_s`` seconds until the gevent Event
    ``stopped`` is set; catalog: () -> the current Catalog. A failed run is logged, not fatal."""
    while not stopped.wait(interval_s):
        try:
            purge_recordings(catalog().config, store, clock(), dry_run=False, log=log)
        except Exception as exc:
            log.error("recordings_purge_failed", error=repr(exc))
