"""Replay many transcripts: pick the config and the mode, run each, collect the results.

Config: ``config`` when given (``--config``: also the what-if "would these calls route
differently with the new config?"), else the folder named in the transcript's header
(``config``, relative to the transcript's folder when relative). One sandboxed engine is
started per config folder and reused for its transcripts, one call at a time.

Mode: transcripts fsrouter recorded are replayed against the engine (player); other
applications' transcripts (the probe captures in ``shared/esl-sessions``) are replayed
through the session layer only (protocol), because fsrouter's flow never sent their
commands.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fsrouter.errors import ConfigInvalid, TranscriptError
from fsrouter.replay.faults import Fault
from fsrouter.replay.player import Player, ReplayResult
from fsrouter.replay.protocol import is_fsrouter_transcript, replay_protocol
from fsrouter.replay.sandbox import Sandbox
from fsrouter.replay.transcript import Transcript, find_transcripts, read_transcript, write_transcript
from fsrouter.session.connection import OPENING, OPENING_WITHOUT_NIXEVENT


@dataclass
class ReplayOptions:
    """config: folder or None; at: ISO time or None; fault: Fault or None; update: re-bless;
    wait_s: s to wait for a command before calling it missing."""

    config: Path | None = None
    at: str | None = None
    fault: Fault | None = None
    update: bool = False
    wait_s: float = 2.0


@dataclass
class ReplayRun:
    """Every result, and what coverage needs: the catalogs used and the nodes visited."""

    results: list[ReplayResult] = field(default_factory=list)
    catalogs: dict = field(default_factory=dict)
    visits: list = field(default_factory=list)
    routes: list = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.status != "ok")


def config_for(transcript: Transcript, explicit: Path | None) -> Path | None:
    """The config folder to replay ``transcript`` with (see module doc); None if none is known."""
    if explicit is not None:
        return Path(explicit)
    named = transcript.header.get("config")
    if not named:
        return None
    path = Path(named)
    if not path.is_absolute() and transcript.path is not None:
        path = transcript.path.parent / path
    return path


def header_for_config(config_dir: str | Path) -> dict:
    """Header keys naming a config folder and its folders (``config``, ``paths``), as the recorder writes them."""
    from fsrouter.flow.loader import load_config

    config = load_config(config_dir)
    folders = config.settings.folders
    return {"config": str(config.root), "config_version": config.version,
            "paths": {"config": str(config.root), "voicemail": str(folders.voicemail),
                      "recordings": str(folders.recordings), "sounds": str(folders.sounds)}}


def parse_at(text: str, zone: str | None) -> datetime:
    """``--at`` ISO time; without an offset it is read in the line's time zone (else UTC)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--at {text!r} is not an ISO time such as 2026-12-25T10:00+02:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone or "UTC"))
    if not 1971 <= moment.year <= 9000:
        raise ValueError(f"--at {text!r} is out of range (years 1971 to 9000)")
    return moment


def replay_all(paths: list[str | Path], options: ReplayOptions) -> ReplayRun:
    """Replay every transcript under ``paths``; never raises for one bad transcript."""
    run = ReplayRun()
    sandboxes: dict[Path, Sandbox] = {}
    try:
        for path in find_transcripts(paths):
            run.results.append(_replay_one(Path(path), options, sandboxes, run))
    finally:
        for sandbox in sandboxes.values():
            run.catalogs[sandbox.source] = sandbox.catalog
            run.visits += sandbox.visits
            sandbox.close()
    return run


def _replay_one(path: Path, options: ReplayOptions, sandboxes: dict, run: ReplayRun) -> ReplayResult:
    try:
        transcript = read_transcript(path)
    except TranscriptError as exc:
        return ReplayResult(path.name, "error", note=str(exc))
    if not is_fsrouter_transcript(transcript):
        return replay_protocol(transcript, wait_s=options.wait_s)
    config = config_for(transcript, options.config)
    if config is None or not config.is_dir():
        return ReplayResult(path.name, "error", note=f"no config folder to replay with ({config or 'none named'}): "
                                                      "give --config DIR")
    config = config.resolve()
    sandbox = sandboxes.get(config)
    if sandbox is None:
        try:
            sandbox = sandboxes[config] = Sandbox(config)
        except ConfigInvalid as exc:
            return ReplayResult(path.name, "error", note="config invalid: " + "; ".join(e.render() for e in exc.errors))
    sandbox.set_employee_status(transcript.header.get("employee_status"))
    sandbox.app.server.opening = opening_for(transcript)
    at = None
    if options.at:
        line = sandbox.catalog.config.lines.get(transcript.header.get("line") or "")
        at = parse_at(options.at, line.timezone if line else None)
    player = Player(transcript, sandbox.address, clock=sandbox.clock,
                    recorded_paths=transcript.header.get("paths") or {}, replay_paths=sandbox.paths,
                    at=at, fault=options.fault, update=options.update, wait_s=options.wait_s)
    result = player.run()
    sandbox.app.server.calls.join(timeout=options.wait_s * 5)  # the engine writes its record at the end
    record = sandbox.record(result.call_uuid) if result.call_uuid else None
    if record is not None:
        result.route = list(record.route)
        run.routes.append((transcript.header.get("line"), result.route))
    if options.update and result.status == "ok" and not options.fault:
        _rewrite(transcript, result, player, sandbox)
    return result


def opening_for(transcript: Transcript) -> tuple[bytes, ...]:
    """The opening the engine must send to replay ``transcript``: ``OPENING``, or for a
    call recorded before fsrouter sent ``nixevent`` (none in its opening: between
    ``myevents`` and ``linger``), the opening it had then, so that older recordings
    replay as they were made. A ``nixevent`` later in the call is an ordinary command."""
    for entry in transcript.app_entries():
        word = (entry.frame.command or "").split(" ", 1)[0]
        if word == "nixevent":
            return OPENING
        if word not in ("connect", "myevents"):  # linger ends the opening (or anything else)
            break
    return OPENING_WITHOUT_NIXEVENT


def _rewrite(transcript: Transcript, result: ReplayResult, player: Player, sandbox: Sandbox) -> None:
    """``--update``: write the transcript again, its app side as the current engine sent it."""
    norm = player.norm
    norm.recorded_paths = sandbox.original_paths
    frames = [(t, d, norm.to_recorded_paths(raw) if d == "app" else raw) for t, d, raw in result.produced]
    catalog = sandbox.catalog
    header = {k: v for k, v in transcript.header.items() if k != "esl_transcript"}
    header.update({"config_version": catalog.version, "paths": sandbox.original_paths,
                   "updated_at": datetime.now().astimezone().isoformat(timespec="seconds")})
    eof = (transcript.eof.t, transcript.eof.direction) if transcript.eof else None
    write_transcript(transcript.path, header, frames, eof)
    result.note = (result.note + "; " if result.note else "") + "transcript updated"


def summary_json(run: ReplayRun) -> str:
    """Machine-readable results (one object), for CI dashboards."""
    return json.dumps({"ok": len(run.results) - run.failed, "failed": run.failed,
                       "results": [{"name": r.name, "status": r.status, "note": r.note,
                                    "divergence": r.divergence.render() if r.divergence else None}
                                   for r in run.results]})
