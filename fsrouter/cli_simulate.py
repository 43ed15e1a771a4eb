"""``fsrouter simulate``: the route one call would take, from the real flow engine.

The engine (the config's Catalog and flows, Engine, CallServer) runs in this process on
127.0.0.1:<ephemeral> with a throwaway SQLite store (or ``--db``), and the fake FreeSWITCH
of ``fsrouter.replay.fakefs`` places one call to it over TCP, built from the flags. Then
the stored route is printed step by step: what was played, who was rung and why.

Unlike ``serve``, nothing leaves the simulation: no spool, no CRM webhook, no ESL session
recording; voicemail and recording files go to a temporary folder. With a throwaway store
every employee is at work (``started``) unless named with ``--absent``; with ``--db`` the
statuses and CRM of that store are used (and the simulated call is recorded there).

With ``--server HOST:PORT`` no engine runs here: the fake FreeSWITCH places the call to a
running ``fsrouter serve`` (a check that it answers calls end to end), and the route is
read back from that server's store (``--db``, default settings.yaml's).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import gevent
import structlog

from fsrouter.app import build_services
from fsrouter.errors import StoreError
from fsrouter.flow.catalog import Catalog
from fsrouter.flow.engine import Engine
from fsrouter.flow.phone import normalize
from fsrouter.replay.fakefs import FakeFreeSwitch, Scenario
from fsrouter.session.server import CallServer
from fsrouter.store import open_store
from fsrouter.store.db import sqlite_path

#: Years ``--at`` accepts (as written), both included.
AT_YEARS = (1971, 9000)
#: Route fields shown first (in this order), the rest follow as key=value.
_LEAD_FIELDS = ("employee", "extension", "number", "menu", "key", "result", "reason", "action", "target")


def add_parser(subparsers) -> None:
    """Register ``simulate`` on the CLI's subparsers."""
    p = subparsers.add_parser("simulate", help="print the route a call would take (real engine, fake FreeSWITCH)")
    p.add_argument("--config", default=os.environ.get("FSROUTER_CONFIG", "config"),
                   help="config folder (env FSROUTER_CONFIG, default ./config)")
    p.add_argument("--db", default=None,
                   help="store URL to use: the simulated call's record, lead, recording row and quota "
                        "are written there (default: a throwaway SQLite store)")
    p.add_argument("--number", required=True, help="the dialed number (DID) or sip_pbx connection name")
    p.add_argument("--caller", required=True, help="the caller's number (Caller-Caller-ID-Number)")
    p.add_argument("--digits", action="append", default=[],
                   help="keys pressed at one prompt (e.g. 101, 2, 9#); repeat the flag or separate "
                        "prompts with commas ('2,,1': the 2nd prompt gets no key)")
    p.add_argument("--at", help="arrival time, ISO 8601 (e.g. 2026-06-03T17:59); without an offset it is "
                        "the line's local time; default: now")
    p.add_argument("--answer", default="none",
                   help="who answers: an employee id, an E.164 number (a forward), or none (default)")
    p.add_argument("--to-header", dest="to_header",
                   help="the extension in the SIP To header (sip_to_user), for sip_pbx lines")
    p.add_argument("--absent", action="append", default=[], metavar="EMPLOYEE",
                   help="an employee on a break (throwaway store only; repeatable)")
    p.add_argument("--crm-responsible", dest="crm_responsible", metavar="EMPLOYEE",
                   help="the caller is a CRM contact this employee is responsible for (throwaway store only)")
    p.add_argument("--commands", action="store_true", help="also print every application executed (ESL)")
    p.add_argument("--server", metavar="HOST:PORT",
                   help="place the call to this running `fsrouter serve` instead of an engine in this "
                        "process; the route is read from its store (--db, default settings.yaml's)")


def run(args) -> int:
    """Simulate the call described by ``args``; print it; 0, or 1 for bad input."""
    catalog = Catalog.load(args.config)
    config = catalog.config
    line = catalog.line_for(args.number)
    if line is None:
        print(f"fsrouter simulate: no line has the number {args.number!r}", file=sys.stderr)
        return 1
    named = list(args.absent) + [n for n in (args.crm_responsible, args.answer) if n]
    for name in named:
        if name != "none" and not name.startswith("+") and name not in config.employees:
            print(f"fsrouter simulate: unknown employee {name!r} (known: {', '.join(sorted(config.employees))})",
                  file=sys.stderr)
            return 1
    scenario = scenario_for(args, config, line)
    if args.server:
        if args.absent or args.crm_responsible:
            print("fsrouter simulate: --absent and --crm-responsible need the throwaway store, not --server",
                  file=sys.stderr)
            return 1
        fake, record = call_server(args.server, scenario, db_url=args.db or config.settings.db,
                                   spool_dir=config.settings.folders.spool)
        if fake is None:
            return 1
    else:
        with tempfile.TemporaryDirectory(prefix="fsrouter-simulate-") as scratch:
            fake, record = simulate(catalog, scenario, db_url=args.db or f"sqlite:///{Path(scratch) / 'simulate.db'}",
                                    scratch=Path(scratch), throwaway=args.db is None,
                                    absent=args.absent, crm_responsible=args.crm_responsible)
    arrival = datetime.fromtimestamp(scenario.created_us / 1e6, tz=line.tzinfo)
    print(f"call {scenario.caller} -> {scenario.destination}: line {line.id} ({line.name}), "
          f"arrival {arrival.isoformat(timespec='seconds')}, config {catalog.version}")
    if args.commands:
        for e in fake.executed:
            print(f"   esl: {e.app} {e.arg or ''}".rstrip())
    for number, text in enumerate(format_route(record.route if record else ()), 1):
        print(f"{number:>3}. {text}")
    answered = record.answered_by if record else None
    print(f"answered by: {answered or 'nobody'}; hangup cause: {fake.hangup_cause}")
    return 0


def scenario_for(args, config, line) -> Scenario:
    """The fake FreeSWITCH's Scenario for the flags (see :func:`add_parser`)."""
    digits = [d for chunk in args.digits for d in chunk.split(",")]
    endpoints = {}
    if args.answer in config.employees:
        endpoints[config.employees[args.answer].endpoint] = "answer"
    elif args.answer.startswith("+"):
        gateway = line.outbound.gateway
        endpoints[f"sofia/gateway/{gateway}/{args.answer}" if gateway else f"loopback/{args.answer}/default"] = "answer"
    variables = {"sip_to_user": args.to_header} if args.to_header else {}
    return Scenario(destination=args.number, caller=args.caller, digits=digits, endpoints=endpoints,
                    variables=variables, created_us=arrival_us(args.at, line.tzinfo))


def arrival_us(text: str | None, zone) -> int:
    """``Caller-Channel-Created-Time`` (µs since the epoch) for ``--at``: ISO 8601, local to
    ``zone`` when it has no offset; now when None. ValueError naming ``--at`` for a malformed
    time or one outside AT_YEARS (FreeSWITCH's created time is µs after 1970; 0 means "not
    set" and the engine then uses the current time)."""
    if not text:
        return int(datetime.now().timestamp() * 1_000_000)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--at: {text!r} is not an ISO 8601 time (e.g. 2026-06-03T17:59)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if not AT_YEARS[0] <= moment.year <= AT_YEARS[1]:  # so 9999-12-31T23:59-12:00 never overflows
        raise ValueError(f"--at: {text!r} is out of range: give a time in the years "
                         f"{AT_YEARS[0]}..{AT_YEARS[1]}")
    return int(moment.timestamp() * 1_000_000)


def running_from(start: datetime):
    """A clock (() -> aware UTC datetime) that reads ``start`` now and runs at wall speed."""
    t0 = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - t0)


def simulate(catalog, scenario: Scenario, *, db_url: str, scratch: Path, throwaway: bool = True,
             absent=(), crm_responsible: str | None = None):
    """Serve ``catalog`` on 127.0.0.1:0, play ``scenario`` with the fake FreeSWITCH.

    Returns (FakeFreeSwitch, CallRecord or None). scratch: a folder for voicemail and
    recording files; throwaway: the store is new, so set every employee ``started`` except
    ``absent`` (on ``break``), and add a CRM contact for the caller when ``crm_responsible``.
    """
    log = _quiet_logger()
    store = open_store(db_url, spool_dir=None, log=log)
    try:
        if throwaway:
            for employee in catalog.config.employees:
                store.employees.set_status(employee, "break" if employee in absent else "started")
            caller = normalize(scenario.caller, catalog.config.settings.country)
            if crm_responsible and caller:
                store.crm.add_contact(name="simulated caller", phones=[caller], responsible=crm_responsible)
        settings = catalog.config.settings
        folders = settings.folders.model_copy(update={"voicemail": scratch / "voicemail",
                                                      "recordings": scratch / "recordings"})
        services = build_services(settings, catalog.config.root, store, folders=folders)
        if scenario.created_us:  # --at: answer, end, quota month on the simulated call's own time
            services.clock = running_from(datetime.fromtimestamp(scenario.created_us / 1e6, tz=timezone.utc))
        engine = Engine(lambda: catalog, services, hangup_timeout_s=settings.esl.hangup_timeout)
        server = CallServer(("127.0.0.1", 0), engine.handle_call, log=log, max_calls=1,
                            reply_timeout_s=settings.esl.reply_timeout,
                            execute_timeout_s=settings.esl.execute_timeout,
                            hangup_timeout_s=settings.esl.hangup_timeout)
        server.start()
        try:
            fake = FakeFreeSwitch(scenario).run(server.address)
        finally:
            server.stop(5)
        return fake, store.calls.get(scenario.uuid)
    finally:
        store.close()


#: Seconds a call through ``--server`` may take, the connect included.
SERVER_CALL_TIMEOUT_S = 30.0


def call_server(server: str, scenario: Scenario, *, db_url: str, spool_dir) -> tuple:
    """Play ``scenario`` against a running engine at ``server`` ("HOST:PORT"), then read its
    record from the store at ``db_url``. Returns (FakeFreeSwitch, CallRecord), or (None,
    None) after printing to stderr why there is no route to show: a bad address or store,
    no engine there, a call handed back, no record of it in that store."""
    def fail(message: str) -> tuple:
        print(f"fsrouter simulate: {message}", file=sys.stderr)
        return None, None

    host, _, port = server.rpartition(":")
    if not host or not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        return fail(f"--server {server!r} is not HOST:PORT with a port 1-65535 (e.g. 127.0.0.1:8084)")
    try:  # the store first: a bad --db fails before a real call goes through the server
        path = sqlite_path(db_url) if db_url.startswith("sqlite:") else None
        if path is not None and path != ":memory:" and not Path(path).is_file():
            return fail(f"--db {db_url}: no such SQLite file; give the store the server writes to")
        store = open_store(db_url, spool_dir=spool_dir, log=_quiet_logger())
    except (StoreError, ValueError) as exc:
        return fail(f"--db {db_url}: {exc}")
    try:
        try:
            fake = FakeFreeSwitch(scenario).run((host.strip("[]"), int(port)), timeout_s=SERVER_CALL_TIMEOUT_S)
        except OSError as exc:
            return fail(f"cannot reach the engine at {server}: {exc}")
        except gevent.Timeout:
            return fail(f"the call to {server} did not end within {SERVER_CALL_TIMEOUT_S:g} s: "
                        "is an fsrouter engine listening there?")
        if not fake.commands:
            return fail(f"{server} closed the connection without a word of ESL: is it an fsrouter engine?")
        if fake.resumed:
            return fail(f"the engine at {server} handed the call back to the dialplan (over max_calls, "
                        "or stopping): see its call_refused log event")
        record = store.calls.get(scenario.uuid)
        if record is None:
            return fail(f"no record of call {scenario.uuid} in {db_url}: is it the store the server writes to?")
        return fake, record
    finally:
        store.close()


def format_route(route) -> list[str]:
    """One line per route step: ``step: lead fields, then the rest as key=value``."""
    lines = []
    for entry in route:
        fields = {k: v for k, v in entry.items() if k != "step" and v is not None}
        ordered = [k for k in _LEAD_FIELDS if k in fields] + sorted(k for k in fields if k not in _LEAD_FIELDS)
        lines.append(f"{entry['step']}: " + " ".join(f"{k}={fields[k]}" for k in ordered))
    return lines


def _quiet_logger():
    """Warnings and errors to stderr; the engine's info events would drown the route."""
    return structlog.wrap_logger(
        structlog.PrintLogger(file=sys.stderr),
        processors=[structlog.processors.add_log_level, structlog.processors.KeyValueRenderer(
            key_order=["level", "event"])],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    )
