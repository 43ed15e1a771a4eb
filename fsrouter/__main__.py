"""Console entry (``fsrouter`` / ``python -m fsrouter``). gevent monkey-patching happens here only.

Patching first makes ``threading.local`` greenlet-local, which gives every call's greenlet
its own peewee connection state.

gevent's greenlet-tree tracking is off unless ``GEVENT_TRACK_GREENLET_TREE`` asks for it:
it records the spawning stack of every greenlet (each call spawns one or two), ~2 % of a
call's instructions (callgrind), for debugging dumps the engine never makes.
"""

import os
import sys

if sys.argv[1:2] == ["serve"]:  # before the imports below (~1 s): see fsrouter.early_signals
    from fsrouter import early_signals

    early_signals.catch()

import gevent  # noqa: E402

if "GEVENT_TRACK_GREENLET_TREE" not in os.environ:
    gevent.config.track_greenlet_tree = False

from gevent import monkey  # noqa: E402

monkey.patch_all()

from fsrouter.store.postgres import install_gevent_wait_callback  # noqa: E402

install_gevent_wait_callback()  # psycopg2 would otherwise block every greenlet on a query

from fsrouter.cli import main as _cli_main  # noqa: E402


def main(argv=None) -> int:
    return _cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
