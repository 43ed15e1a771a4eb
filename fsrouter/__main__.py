"""Console entry (``fsrouter`` / ``python -m fsrouter``). gevent monkey-patching happens here only.

Patching first makes ``threading.local`` greenlet-local, which gives every call's greenlet
its own peewee connection state.
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from fsrouter.store.db import install_gevent_wait_callback  # noqa: E402

install_gevent_wait_callback()  # psycopg2 would otherwise block every greenlet on a query

from fsrouter.cli import main as _cli_main  # noqa: E402


def main(argv=None) -> int:
    return _cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
