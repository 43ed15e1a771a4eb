"""``fsrouter recordings purge [--dry-run] | quota [--line L]``.

purge: delete recordings older than their line's ``recording.retention_days`` (files and
store rows; the engine also does this every hour); ``--dry-run`` lists what would go.
quota: for each line with recording enabled (or the one named), the calls recorded this
calendar month (in the line's time zone) and how many remain of ``monthly_limit``.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

from fsrouter.cli_common import add_store_args, open_config_and_store
from fsrouter.flow.nodes.recording import purge_recordings, recording_month

NAME = "recordings"


def add_parser(subparsers) -> None:
    """Register ``recordings purge`` / ``recordings quota``."""
    rec = subparsers.add_parser("recordings", help="call recordings: retention purge, monthly quota")
    add_store_args(rec)
    sub = rec.add_subparsers(dest="recordings_command", required=True)
    purge = sub.add_parser("purge", help="delete recordings past their line's retention_days")
    purge.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    quota = sub.add_parser("quota", help="recorded calls this month and what remains")
    quota.add_argument("--line", help="one line id (default: every line that records)")


def run(args, *, now: datetime | None = None) -> int:
    config, store = open_config_and_store(args)
    now = now or datetime.now(timezone.utc)
    try:
        if args.recordings_command == "purge":
            gone = purge_recordings(config, store, now, dry_run=args.dry_run)
            verb = "would delete" if args.dry_run else "deleted"
            for rec in gone:
                print(f"{verb} {rec.path} (line {rec.line}, {rec.created_at:%Y-%m-%d})")
            print(f"{len(gone)} recording(s) {verb.split()[-1] if not args.dry_run else 'to delete'}")
            return 0
        if args.line is not None and args.line not in config.lines:
            print(f"fsrouter recordings quota: unknown line {args.line!r}", file=sys.stderr)
            return 1
        lines = [config.lines[args.line]] if args.line else [
            line for line in config.lines.values() if line.recording.enabled]
        for line in sorted(lines, key=lambda l: l.id):
            month = recording_month(line, now)
            used = store.recordings.used(line.id, month)
            limit = line.recording.monthly_limit
            remaining = "unlimited" if limit is None else max(limit - used, 0)
            print(f"{line.id}: {month} used {used} of {limit if limit is not None else 'no limit'}, "
                  f"remaining {remaining}")
        return 0
    finally:
        store.close()
