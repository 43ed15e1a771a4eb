"""Shared bits of the store-reading CLI commands (crm, calls, recordings): --config / --db
arguments and opening the config and the store they name."""

from __future__ import annotations

import os


def add_store_args(p) -> None:
    """``--config DIR`` and ``--db URL`` with the usual environment defaults."""
    p.add_argument("--config", default=os.environ.get("FSROUTER_CONFIG", "config"),
                   help="config folder (env FSROUTER_CONFIG, default ./config)")
    p.add_argument("--db", default=os.environ.get("FSROUTER_DB"),
                   help="store URL (env FSROUTER_DB; default settings.yaml db)")


def open_store_only(args):
    """The Store for ``args.db`` (default: settings.yaml's ``db``), reading settings.yaml
    alone: a broken line or employees file does not stop commands that only read the
    store. ConfigInvalid for settings.yaml's own errors; the caller closes the store."""
    from fsrouter.flow.loader import load_settings
    from fsrouter.store import open_store

    settings = load_settings(args.config)
    return open_store(args.db or settings.db, spool_dir=settings.folders.spool)


def open_config_and_store(args):
    """(Config, Store) for ``args.config`` / ``args.db``; the caller closes the store."""
    from fsrouter.flow.loader import load_config
    from fsrouter.store import open_store

    config = load_config(args.config)
    return config, open_store(args.db or config.settings.db, spool_dir=config.settings.folders.spool)
