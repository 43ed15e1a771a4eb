"""``fsrouter replay FILE|DIR... [--config DIR] [--update] [--at ISO] [--fault F] [--coverage]``.

Replays recorded ESL sessions against the current engine (see fsrouter.replay.runner);
prints ``ok`` or the first divergence per transcript and a summary. Exit 0 when every
transcript replayed ok, 1 otherwise (a divergence, an unreadable transcript, a bad config).
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("replay", help="replay recorded ESL sessions against the engine; exit 1 on divergence")
    p.add_argument("paths", nargs="+", metavar="FILE|DIR", help="*.esl.jsonl files, or folders searched for them")
    p.add_argument("--config", default=None,
                   help="config folder (default: the one named in each transcript's header)")
    p.add_argument("--update", action="store_true", help="rewrite the app side from the current engine (re-bless)")
    p.add_argument("--at", default=None, metavar="ISO-TIME",
                   help="replay as if each call arrived then (no offset: the line's time zone)")
    p.add_argument("--fault", default=None, help="hangup-at=N | drop-dtmf | disconnect-mid-frame[=N]")
    p.add_argument("--coverage", action="store_true", help="report the flow nodes and IVR keys exercised")
    p.add_argument("--wait", type=float, default=2.0, metavar="S",
                   help="seconds to wait for a command before calling it missing (default 2)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    return p


def run(args) -> int:
    import structlog

    from fsrouter import log

    saved = structlog.get_config()
    log.configure("error", "console")  # the report is the output; the engine's own logs would drown it
    try:
        return _run(args)
    finally:
        structlog.configure(**saved)


def _run(args) -> int:
    from pathlib import Path

    from fsrouter.replay.coverage import coverage_report
    from fsrouter.replay.faults import parse_fault
    from fsrouter.replay.runner import ReplayOptions, replay_all, summary_json

    options = ReplayOptions(config=Path(args.config) if args.config else None, at=args.at,
                            fault=parse_fault(args.fault) if args.fault else None,
                            update=args.update, wait_s=args.wait)
    replay = replay_all(args.paths, options)
    if not replay.results:
        print("fsrouter replay: no *.esl.jsonl transcript found", file=sys.stderr)
        return 1
    if args.json:
        print(summary_json(replay))
    else:
        for result in replay.results:
            line = f"{result.name}: {result.status}"
            if result.note:
                line += f" ({result.note})"
            print(line)
            if result.divergence is not None:
                print("  " + result.divergence.render().replace("\n", "\n  "))
        ok = len(replay.results) - replay.failed
        print(f"{len(replay.results)} transcript(s): {ok} ok, {replay.failed} diverged or failed")
    if args.coverage:
        print(coverage_report(replay))
    return 1 if replay.failed else 0
