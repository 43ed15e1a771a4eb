"""``fsrouter calls show CALL_UUID | list [--since ...] [--line L] [--limit N]``: call records.

show prints one call's details: times, line, who answered, hangup cause, the route step by
step, the CRM match and lead, the recording and the rating. list prints one line per call,
newest first. ``--since`` takes an ISO date or time (``2026-03-01``, ``2026-03-01T09:00``,
read as UTC unless it carries an offset) or a span back from now: ``90m``, ``24h``, ``7d``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timedelta, timezone

from fsrouter.cli_common import add_store_args, open_store_only

NAME = "calls"
_SPAN = re.compile(r"^(\d+)([mhd])$")


def add_parser(subparsers) -> None:
    """Register ``calls show`` / ``calls list``."""
    calls = subparsers.add_parser("calls", help="stored call records")
    add_store_args(calls)
    sub = calls.add_subparsers(dest="calls_command", required=True)
    show = sub.add_parser("show", help="one call's details")
    show.add_argument("call_uuid")
    listing = sub.add_parser("list", help="calls, newest first")
    listing.add_argument("--since", type=since_arg, help="ISO date/time (UTC) or a span: 90m, 24h, 7d")
    listing.add_argument("--line")
    listing.add_argument("--limit", type=positive_int, default=50, help="at most N calls (default 50)")


def since_arg(text: str) -> datetime:
    """argparse type of ``--since``: parse_since, with a usage error that says what it takes."""
    try:
        return parse_since(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an ISO date/time (2026-03-01, 2026-03-01T09:00) nor a span (90m, 24h, 7d)"
        ) from None


#: The most calls one ``calls list`` prints.
MAX_LIMIT = 1_000_000


def positive_int(text: str) -> int:
    """argparse type of a count: an int 1..MAX_LIMIT (else a usage error)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {MAX_LIMIT:,}")
    return value


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``--since`` as an aware UTC datetime; ValueError (argparse: usage error) otherwise."""
    now = now or datetime.now(timezone.utc)
    span = _SPAN.match(text.strip())
    if span:
        amount, unit = int(span[1]), span[2]
        return now - timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    moment = datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def run(args) -> int:
    store = open_store_only(args)
    try:
        if args.calls_command == "show":
            record = store.calls.get(args.call_uuid)
            if record is None:
                print(f"fsrouter calls show: no call {args.call_uuid}", file=sys.stderr)
                return 1
            print(render_call(record, store.recordings.for_call(record.call_uuid)))
            return 0
        records = store.calls.list(since=args.since, line=args.line, limit=args.limit)
        if not records:
            print("no calls", file=sys.stderr)
        for record in records:
            rating = (record.extra.get("rating") or {}).get("grade")
            print(f"{_when(record.started_at)}  {record.call_uuid}  {record.direction:<8} {record.line or '-':<10} "
                  f"{record.caller} -> {record.destination}  answered_by={answerer(record)}  "
                  f"{record.hangup_cause or '-'}  rating={rating or '-'}")
        return 0
    finally:
        store.close()


def answerer(record) -> str:
    """Who answered: the employee, else the outside number the call was forwarded to, else -."""
    return record.answered_by or record.extra.get("answered_number") or "-"


def render_call(record, recordings) -> str:
    """The text of ``calls show``: a header, the route, then CRM, recording and rating."""
    out = [
        f"call        {record.call_uuid}",
        f"line        {record.line or '-'} ({record.direction})",
        f"from / to   {record.caller} -> {record.destination}",
        f"started     {_when(record.started_at)}",
        f"answered    {_when(record.answered_at)} by {answerer(record)}",
        f"ended       {_when(record.ended_at)} ({record.hangup_cause or '-'})",
        f"config      {record.config_version or '-'}",
        "route:",
    ]
    for n, step in enumerate(record.route, 1):
        fields = " ".join(f"{k}={v}" for k, v in step.items() if k != "step" and v is not None)
        out.append(f"  {n:>2}. {step['step']} {fields}".rstrip())
    crm = record.extra.get("crm")
    if crm is not None:
        match = crm.get("match")
        out.append(f"crm:        {crm.get('phone') or '-'}: " + (
            f"{match['entity_type']} #{match['entity_id']} {match['name']!r} responsible={match['responsible'] or '-'}"
            if match else "no match"))
        if crm.get("lead"):
            out.append(f"lead:       {json.dumps(crm['lead'], sort_keys=True)}")
        if crm.get("reassigned"):
            out.append(f"reassigned: {crm['reassigned']['from']} -> {crm['reassigned']['to']}")
    recording = record.extra.get("recording")
    if recording is not None and not recording.get("recorded"):
        out.append(f"recording:  not recorded ({recording.get('reason')}, {recording.get('month')})")
    for rec in recordings:
        out.append(f"recording:  {rec.path} size={rec.size_bytes if rec.size_bytes is not None else '-'} B "
                   f"duration={rec.duration_s if rec.duration_s is not None else '-'} s")
    rating = record.extra.get("rating")
    out.append(f"rating:     {rating['grade']} for {rating['employee'] or '-'}" if rating else "rating:     -")
    return "\n".join(out)


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"
