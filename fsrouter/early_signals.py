"""Signals that arrive while ``fsrouter serve`` is still starting.

Until ``App.serve_forever`` installs its handlers (after imports, the config and the
store are loaded: about a second), SIGTERM, SIGINT and SIGHUP would take their default
action and end the process with nothing logged, so a reload sent during start-up (say,
systemd's ExecReload) killed the server. From ``catch()`` on they are only noted;
``serve_forever`` acts on them once it serves: a stop drains (nothing yet) and exits 0, a
reload reloads. Kept apart and small so that the entry point (``fsrouter.__main__``) can
install it before importing gevent and the engine.
"""

from __future__ import annotations

import signal


class EarlySignals:
    """What arrived before the engine's own handlers: ``stop`` (SIGTERM or SIGINT, its
    name in ``stop_signal``) and ``reload`` (SIGHUP)."""

    def __init__(self):
        self.stop = False
        self.stop_signal: str | None = None
        self.reload = False

    def _on_stop(self, signum, _frame) -> None:
        self.stop = True
        self.stop_signal = signal.Signals(signum).name

    def _on_reload(self, _signum, _frame) -> None:
        self.reload = True


#: The EarlySignals of this process once ``catch()`` ran (the entry point calls it first thing).
caught: EarlySignals | None = None


def catch() -> EarlySignals:
    """Note SIGTERM, SIGINT and SIGHUP from now on instead of dying of them; returns
    the EarlySignals that records them (for ``App.serve_forever``), also kept in
    ``caught``; a second call returns the first one's. Main thread only."""
    global caught
    if caught is None:
        early = EarlySignals()
        signal.signal(signal.SIGTERM, early._on_stop)
        signal.signal(signal.SIGINT, early._on_stop)
        signal.signal(signal.SIGHUP, early._on_reload)
        caught = early
    return caught


def release() -> None:
    """Undo ``catch()`` for a serve that ends without having served (a broken config, a
    port taken; or run in-process): each signal whose handler is still ours gets its
    default action back, and ``caught`` is cleared. A serve that served has put in its
    own end-of-run handling by then, which is left alone."""
    global caught
    if caught is None:
        return
    defaults = ((signal.SIGTERM, caught._on_stop, signal.SIG_DFL),
                (signal.SIGINT, caught._on_stop, signal.default_int_handler),
                (signal.SIGHUP, caught._on_reload, signal.SIG_DFL))
    for signum, ours, default in defaults:
        if signal.getsignal(signum) == ours:
            signal.signal(signum, default)
    caught = None


__all__ = ["EarlySignals", "catch", "release"]
