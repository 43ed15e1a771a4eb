"""``fsrouter callback request --line L --number N`` and ``fsrouter callback list [--all]``.

``request`` stores a callback request in the store; the running engine (``fsrouter
serve`` with ``esl.inbound`` set) picks it up within its poll interval and dials it.
``list`` shows pending and running requests (``--all``: finished ones too) with their
next time and the history of their attempts. Exit 0; 1 for a refused request.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone

NAME = "callback"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(NAME, help="missed-callback requests and their retries")
    parser.add_argument("--config", default=os.environ.get("FSROUTER_CONFIG", "config"),
                        help="config folder (env FSROUTER_CONFIG, default ./config)")
    parser.add_argument("--db", default=os.environ.get("FSROUTER_DB"),
                        help="store URL (env FSROUTER_DB; default settings.yaml db)")
    sub = parser.add_subparsers(dest="callback_command", required=True)
    request = sub.add_parser("request", help="ask for a client to be called back")
    request.add_argument("--line", required=True, help="line id (numbers/<line>.yaml)")
    request.add_argument("--number", required=True, help="the client's number (E.164 or national)")
    listing = sub.add_parser("list", help="pending requests with their next time and history")
    listing.add_argument("--all", action="store_true", help="finished requests too")
    return parser


def run(args) -> int:
    from fsrouter.flow.callbacks import request_callback
    from fsrouter.flow.loader import load_config
    from fsrouter.store import open_store

    config = load_config(args.config)
    store = open_store(args.db or config.settings.db, spool_dir=config.settings.folders.spool)
    try:
        if args.callback_command == "request":
            record = request_callback(store, config, args.line, args.number, now=datetime.now(timezone.utc))
            print(f"callback {record.id}: {record.number} on {record.line}, "
                  f"{record.max_attempts} attempt(s) {record.interval_s} s apart, first due {_when(record.next_at)}")
            if config.settings.esl.inbound is None:
                print("fsrouter callback: warning: settings.yaml sets no esl.inbound (FreeSWITCH's inbound "
                      "event socket), so no engine will dial it until one does", file=sys.stderr)
            return 0
        statuses = None if args.all else ("pending", "running")
        records = store.callbacks.list(statuses)
        print(f"{'id':>4} {'line':<14} {'number':<16} {'status':<9} {'attempts':<8} next (UTC)")
        for r in records:
            print(f"{r.id:>4} {r.line:<14} {r.number:<16} {r.status:<9} "
                  f"{f'{r.attempts_made}/{r.max_attempts}':<8} {_when(r.next_at)}")
            for h in r.history:
                print(f"       #{h.get('attempt') or '-'} {h.get('at', '')[:19]} agent={h.get('agent') or '-'} "
                      f"{h.get('outcome')}{' ' + h['cause'] if h.get('cause') else ''}")
        return 0
    except ValueError as exc:
        print(f"fsrouter callback: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"
