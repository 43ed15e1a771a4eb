"""``fsrouter freeswitch dialplan [--config DIR] [-o FILE]``: FreeSWITCH files made from config/.

Writes the XML dialplan of :mod:`fsrouter.freeswitch_dialplan` to FILE (replaced
atomically) or to stdout. Exit 0; 1 when the config is invalid (every problem listed) or FILE
cannot be written (a folder, a missing folder, no permission).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

NAME = "freeswitch"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(NAME, help="generate FreeSWITCH configuration from config/")
    parser.add_argument("--config", default=os.environ.get("FSROUTER_CONFIG", "config"),
                        help="config folder (env FSROUTER_CONFIG, default ./config)")
    sub = parser.add_subparsers(dest="freeswitch_command", required=True)
    dialplan = sub.add_parser("dialplan", help="XML dialplan: each line's socket to fsrouter, then its backup number")
    dialplan.add_argument("--config", default=argparse.SUPPRESS,
                          help="config folder (env FSROUTER_CONFIG, default ./config)")
    dialplan.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")
    return parser


def run(args) -> int:
    from fsrouter.flow.loader import load_config
    from fsrouter.freeswitch_dialplan import render_dialplan

    config = load_config(args.config)  # ConfigInvalid: reported by cli.main
    data = render_dialplan(config)
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    target = Path(args.output)
    if target.is_dir():
        print(f"fsrouter freeswitch: -o {target}: is a folder, name the file to write", file=sys.stderr)
        return 1
    partial = target.with_name(target.name + ".partial")
    try:
        partial.write_bytes(data)
        partial.replace(target)
    except OSError as exc:
        if partial.is_file():  # written, not renamed: leave nothing behind
            partial.unlink()
        print(f"fsrouter freeswitch: -o {target}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 1
    lines = len(config.lines)
    print(f"wrote {target} ({len(data)} bytes, {lines} line(s))", file=sys.stderr)
    return 0
