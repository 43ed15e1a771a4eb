"""The composition root: settings, store, catalog and server wired together, once.

Reload (SIGHUP) builds a new Catalog and swaps one reference; calls in progress keep the
Catalog they started with. A config that fails validation is refused and the old one stays.
"""

from __future__ import annotations

import gc
import os
import signal
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import gevent
import gevent.event

from fsrouter.errors import ConfigInvalid, StoreError
from fsrouter.esl import headblock
from fsrouter.flow.callback_runner import CallbackRunner
from fsrouter.flow.callbacks import request_callback
from fsrouter.flow.catalog import Catalog
from fsrouter.flow.context import Services
from fsrouter.flow.engine import Engine
from fsrouter.flow.fspaths import PathMap
from fsrouter.flow.melodies import MelodyResolver
from fsrouter.flow.store_guard import CallTimeStore
from fsrouter.flow.nodes.recording import purge_periodically
from fsrouter.flow.webhook import CardPublisher
from fsrouter.log import get_logger
from fsrouter.replay.recorder import SessionRecorder
from fsrouter.session.inbound import InboundClient
from fsrouter.session.server import CallServer
from fsrouter.store import open_store


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); raises ValueError naming the bad value."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen address must be HOST:PORT, got {listen!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def inbound_client(esl) -> InboundClient | None:
    """The inbound event-socket client for ``settings.esl`` (None without ``esl.inbound``);
    the password is FSROUTER_ESL_PASSWORD, else ``esl.password``, else FreeSWITCH's default."""
    if esl.inbound is None:
        return None
    password = os.environ.get("FSROUTER_ESL_PASSWORD") or (
        esl.password.get_secret_value() if esl.password is not None else "ClueCon")
    return InboundClient(parse_listen(esl.inbound), password, log=get_logger(component="esl_inbound"),
                         reply_timeout_s=esl.reply_timeout)


def open_store_or_degrade(url: str, spool_dir, *, log):
    """Open the store; if the database is down, open it without touching it and serve anyway.

    Returns (store, ready). ready False: calls are routed with the store's fallbacks and
    their records spooled; ``App.start`` keeps trying to create the tables and flush the
    spool. A bad URL (or any other StoreError from a store that cannot exist) still raises.
    """
    try:
        return open_store(url, spool_dir=spool_dir), True
    except StoreError as exc:
        store = open_store(url, spool_dir=spool_dir, create=False)  # raises for a bad URL
        log.error("store_unavailable_at_start", error=str(exc), retry_every_s=STORE_RETRY_S)
        return store, False


#: Seconds between attempts to reach a database that was down at start.
STORE_RETRY_S = 10.0


def wait_for_store(store, stopped, *, log, interval_s: float = STORE_RETRY_S) -> None:
    """Until it works or ``stopped`` is set: create the tables, flush the spool."""
    while not stopped.wait(interval_s):
        try:
            store.create_tables()
            flushed = store.calls.flush_spool()
        except StoreError as exc:
            log.warning("store_still_unavailable", error=str(exc))
            continue
        log.info("store_available", spooled_records_written=flushed)
        return


#: Seconds between sweeps for busy claims left behind by a dead engine.
CLAIM_SWEEP_S = 600.0
#: Seconds between checkpoints of an SQLite store's write-ahead log (see checkpoint_forever).
CHECKPOINT_INTERVAL_S = 1.0
RECORD_DRAIN_S = 10.0  # at shutdown: seconds for queued call records to be stored or spooled


def sweep_stale_claims(store, max_age_s: float, *, now, log) -> list[str]:
    """Free employees claimed longer ago than any call of ours can still be ringing or
    talking (``max_age_s``); returns who was freed. A store error is logged, not raised."""
    try:
        freed = store.employees.release_claims_before(now() - timedelta(seconds=max_age_s))
    except StoreError as exc:
        log.warning("stale_claims_sweep_failed", error=str(exc))
        return []
    if freed:
        log.warning("stale_claims_released", employees=freed, max_age_s=max_age_s)
    return freed


def sweep_stale_claims_forever(store, max_age_s: float, stopped, *, now, log) -> None:
    """sweep_stale_claims at start and every CLAIM_SWEEP_S seconds until ``stopped`` is set."""
    while True:
        sweep_stale_claims(store, max_age_s, now=now, log=log)
        if stopped.wait(CLAIM_SWEEP_S):
            return


#: Net new container objects between two young-generation collections (CPython's default
#: is 700). A call leaves a few dozen objects in reference cycles, so at 700 the collector
#: ran every ~25 calls; see settle_heap.
GC_YOUNG_THRESHOLD = 7000


def settle_heap() -> int:
    """Prepare the garbage collector for a long-running server; returns the objects frozen.

    Collects once, then ``gc.freeze()``: the ~57,000 objects of imports, settings and the
    catalog move to the permanent generation and no collection scans them again (a full
    collection over them took ~33 ms under 200 calls in flight, a pause every call waited
    through). Raises the young generation's threshold to GC_YOUNG_THRESHOLD: 3-4 % of a
    reference call's CPU went to collections at CPython's 700 with 200 calls in flight
    (gc.callbacks). Call it once, before the first call: what is frozen is never
    collected, so a call's objects must not be (a first catalog replaced by a reload
    stays, which is bounded).
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)
    return gc.get_freeze_count()


def checkpoint_forever(store, stopped, *, log, interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
    """Checkpoint the store's write-ahead log at once and then every ``interval_s``
    seconds, in a worker thread, until the gevent Event ``stopped`` is set. A failure is
    not fatal: the first of a run is logged (``store_checkpoint_failed``), and so is the
    recovery.

    The first checkpoint, at start, copies in a log a previous run left behind and opens
    the checkpoint's own connection (two descriptors, the database and its log), so the
    server's descriptors stay level from its start instead of growing at its first second.

    Left to SQLite, the commit that finds 1,000 pages in the log copies them into the
    database file and fsyncs, inside the event loop: every call in progress stopped for
    it (5-10 ms, about once a second at 1,500 calls/s, the benchmark's c200 setup p99).
    """
    threadpool = gevent.get_hub().threadpool
    failing = False
    while not stopped.is_set():
        error = threadpool.apply(_checkpoint, (store,))
        if error is not None:
            if not failing:
                log.warning("store_checkpoint_failed", error=str(error))
            failing = True
        elif failing:
            log.info("store_checkpoint_recovered")
            failing = False
        stopped.wait(interval_s)


def _checkpoint(store) -> StoreError | None:
    """store.checkpoint() in a worker thread; its StoreError returned, not raised (gevent's
    thread pool would print the traceback of an error the caller handles)."""
    try:
        store.checkpoint()
    except StoreError as exc:
        return exc
    return None


def build_services(settings, config_root, store, *, folders=None) -> Services:
    """The Services a flow runs with: the store behind its outage fallbacks (CallTimeStore),
    melodies and paths as FreeSWITCH sees them; folders: settings.folders unless given."""
    paths = PathMap(settings.freeswitch_paths)
    return Services(store=CallTimeStore(store, get_logger(component="store")),
                    melodies=MelodyResolver(settings.folders.sounds, config_root, paths),
                    paths=paths, folders=folders or settings.folders)


@dataclass
class Overrides:
    """Command-line / environment values that win over settings.yaml (None = use settings)."""

    db: str | None = None
    listen: str | None = None


#: settings.yaml keys read once at start (the store, the listening socket and its call
#: limit, the event-socket waits, logging, folders and their FreeSWITCH paths, the CRM
#: webhook): a reload does not apply them.
RESTART_SETTINGS = ("db", "listen", "max_calls", "esl", "log", "folders", "freeswitch_paths", "crm_webhook")


class App:
    """One fsrouter process. config_dir: the ``config/`` folder; raises ConfigInvalid at start."""

    def __init__(self, config_dir: str | Path, overrides: Overrides | None = None, *, log=None, clock=None):
        self.config_dir = Path(config_dir)
        self.log = log or get_logger(component="app")
        self.catalog = Catalog.load(self.config_dir)
        settings = self.catalog.config.settings
        overrides = overrides or Overrides()
        self.store, self._store_ready = open_store_or_degrade(overrides.db or settings.db, settings.folders.spool,
                                                              log=self.log)
        self.services = build_services(settings, self.config_dir, self.store)
        if settings.crm_webhook is not None:
            self.services.cards = CardPublisher.from_settings(settings.crm_webhook, log=get_logger(component="crm"))
        self.engine = Engine(lambda: self.catalog, self.services,
                             hangup_timeout_s=settings.esl.hangup_timeout)
        self.recorder = SessionRecorder(
            lambda: self.catalog, log=get_logger(component="recorder"),
            employee_status=lambda: {e: status for e, (status, _) in self.store.employees.statuses().items()})
        self.server = CallServer(
            parse_listen(overrides.listen or settings.listen), self.engine.handle_call,
            log=get_logger(component="server"), max_calls=settings.max_calls,
            reply_timeout_s=settings.esl.reply_timeout, execute_timeout_s=settings.esl.execute_timeout,
            hangup_timeout_s=settings.esl.hangup_timeout,
            observer_for=self.recorder.observer_for,
        )
        self.inbound = inbound_client(settings.esl)  # None: callbacks are stored, not dialed
        self.callbacks = None if self.inbound is None else CallbackRunner(
            lambda: self.catalog.config, self.store, self.inbound, clock=clock, log=get_logger(component="callbacks"))
        self._stop = gevent.event.Event()
        self._purger: gevent.Greenlet | None = None
        self._checkpointer: gevent.Greenlet | None = None
        self.log.info("config_loaded", version=self.catalog.version, lines=len(self.catalog.config.lines),
                      config=str(self.config_dir.resolve()), store=self.store.description,
                      esl_speedups="c" if headblock.SPEEDUPS is not None else "python")
        self._log_config_warnings(self.catalog)

    def reload(self) -> bool:
        """Load config/ again and swap it in; on any problem keep the old one. True if swapped."""
        try:
            catalog = Catalog.load(self.config_dir)
        except ConfigInvalid as exc:
            self.log.error("config_reload_refused", errors=[e.render() for e in exc.errors],
                           version_kept=self.catalog.version)
            return False
        except Exception as exc:  # e.g. unreadable folder: same rule, keep serving
            self.log.error("config_reload_refused", errors=[repr(exc)], version_kept=self.catalog.version)
            return False
        old, self.catalog = self.catalog, catalog
        self.log.info("config_reloaded", version=catalog.version, previous=old.version)
        self._log_config_warnings(catalog)
        changed = [key for key in RESTART_SETTINGS
                   if getattr(old.config.settings, key) != getattr(catalog.config.settings, key)]
        if changed:  # read once at start: the running engine keeps the old ones
            self.log.warning("config_change_needs_restart", settings=changed)
        return True

    def _log_config_warnings(self, catalog: Catalog) -> None:
        """What ``fsrouter check`` warns about (a folder missing on this host, a melody
        file FreeSWITCH may not play), one ``config_warning`` each: serving goes on."""
        for warning in catalog.config.warnings:
            self.log.warning("config_warning", problem=warning.render())

    def start(self) -> None:
        """Start accepting calls (returns at once)."""
        self.server.start()
        if self.services.cards is not None:
            self.services.cards.start()
        if not self._store_ready:
            gevent.spawn(wait_for_store, self.store, self._stop, log=self.log)
        esl = self.catalog.config.settings.esl
        # a claim cannot outlive its call: every wait of a call is bounded by execute_timeout
        gevent.spawn(sweep_stale_claims_forever, self.store, esl.execute_timeout + esl.hangup_timeout + 60,
                     self._stop, now=self.services.clock, log=self.log)
        self._purger = gevent.spawn(purge_periodically, lambda: self.catalog, self.store, self._stop,
                                    clock=self.services.clock, log=get_logger(component="recordings"))
        self._purger.link_exception(lambda g: self.log.error("recordings_purger_crashed", error=repr(g.exception)))
        if self.store.has_wal:
            self._checkpointer = gevent.spawn(checkpoint_forever, self.store, self._stop, log=self.log,
                                              interval_s=CHECKPOINT_INTERVAL_S)

    def start_callbacks(self) -> None:
        """Connect the inbound event socket and start the callback runner (if configured)."""
        if self.callbacks is not None:
            self.inbound.start()
            self.callbacks.start()

    def stop_callbacks(self) -> None:
        if self.callbacks is not None:
            self.callbacks.stop()
            self.inbound.stop()

    def request_callback(self, line_id: str, number: str):
        """Python API: store a callback request (see flow.callbacks.request_callback) and
        have the runner look at it now. Returns the CallbackRecord; ValueError if refused."""
        record = request_callback(self.store, self.catalog.config, line_id, number,
                                  now=self.callbacks._clock.now() if self.callbacks else self.services.clock())
        if self.callbacks is not None:
            self.callbacks.wake()
        return record

    def stop(self) -> None:
        """Ask serve_forever to drain and return."""
        self._stop.set()

    def serve_forever(self, early=None) -> int:
        """Serve until SIGTERM/SIGINT; SIGHUP reloads. Drains calls, closes the store; returns 0.

        early: the ``fsrouter.early_signals.EarlySignals`` that noted signals while the
        process was starting; a stop among them stops at once (logged
        ``stop_requested_during_start``), a reload reloads once serving.
        """
        settle_heap()
        self.start()
        self.start_callbacks()
        handlers = [gevent.signal_handler(signal.SIGTERM, self._signal_stop, "SIGTERM"),
                    gevent.signal_handler(signal.SIGINT, self._signal_stop, "SIGINT"),
                    gevent.signal_handler(signal.SIGHUP, self._signal_reload)]
        if early is not None:  # checked after our handlers are in: nothing falls between
            if early.stop:
                self.log.info("stop_requested_during_start", signal=early.stop_signal)
                self.stop()
            elif early.reload:
                self._signal_reload()
        try:
            self._stop.wait()
        finally:
            try:  # the handlers stay while calls drain: a late SIGHUP must not kill the process
                self.shutdown()
            finally:
                for handler in handlers:
                    handler.cancel()  # puts back the default action, which would end the process
                for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):  # nothing left to do
                    signal.signal(signum, signal.SIG_IGN)
        return 0

    def _signal_stop(self, name: str) -> None:
        if self._stop.is_set():
            self.log.info("stop_already_in_progress", signal=name)
        else:
            self.log.info("stop_requested", signal=name)
        self.stop()

    def _signal_reload(self) -> None:
        if self._stop.is_set():  # draining: the config no longer matters
            self.log.info("config_reload_ignored", reason="stopping")
            return
        gevent.spawn(self.reload)

    def shutdown(self, drain_timeout_s: float | None = None) -> None:
        """Undo start(): stop callbacks, drain calls (``drain_timeout_s``, default the
        settings' ``drain_timeout``), then stop the card publisher, the purger, the QA
        recorder and close the store. Idempotent enough to call after a failed start."""
        self._stop.set()
        self.stop_callbacks()
        self.server.stop(self.catalog.config.settings.drain_timeout if drain_timeout_s is None else drain_timeout_s)
        if self.services.cards is not None:
            self.services.cards.stop()
        self.recorder.close()
        if not self.services.store.calls.drain(RECORD_DRAIN_S):  # the last calls' records
            self.log.error("call_records_not_drained", timeout_s=RECORD_DRAIN_S)
        self.stop_housekeeping()
        self.store.close()

    def stop_housekeeping(self) -> None:
        """Stop the store's background work (recordings purge, claim sweeps, WAL checkpoints)
        and wait for a checkpoint in progress: call it before closing the store."""
        self._stop.set()
        if self._purger is not None:
            self._purger.join(timeout=1.0)
        if self._checkpointer is not None:  # its thread must be out of the store before it closes
            self._checkpointer.join()
