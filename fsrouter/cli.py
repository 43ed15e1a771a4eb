"""The command line: ``fsrouter serve | check | employee ...``.

Defaults come from the environment (``FSROUTER_CONFIG``, ``FSROUTER_DB``,
``FSROUTER_LISTEN``), then ``./config``, settings.yaml's ``db`` and ``listen``.
Exit codes: 0 ok, 1 invalid input (bad config, unknown employee), 2 usage.
"""

from __future__ import annotations

import argparse
import os
import sys

from fsrouter import __version__
from fsrouter.errors import ConfigInvalid, FsrouterError


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=os.environ.get("FSROUTER_CONFIG", "config"),
                   help="config folder (env FSROUTER_CONFIG, default ./config)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fsrouter", description="Call-routing engine for FreeSWITCH")
    parser.add_argument("--version", action="version", version=f"fsrouter {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the outbound event-socket server")
    _config_arg(serve)
    serve.add_argument("--db", default=os.environ.get("FSROUTER_DB"),
                       help="store URL (env FSROUTER_DB; default settings.yaml db, sqlite:///fsrouter.db)")
    serve.add_argument("--listen", default=os.environ.get("FSROUTER_LISTEN"),
                       help="HOST:PORT (env FSROUTER_LISTEN; default settings.yaml listen, 127.0.0.1:8084)")
    serve.add_argument("--log-format", choices=["console", "json"], default=None,
                       help="log lines on stderr as console text or JSON (default: settings.yaml log.format)")

    check = sub.add_parser("check", help="validate the config folder; exit 1 listing every problem")
    _config_arg(check)

    employee = sub.add_parser("employee", help="employees' live working status")
    _config_arg(employee)
    employee.add_argument("--db", default=os.environ.get("FSROUTER_DB"))
    esub = employee.add_subparsers(dest="employee_command", required=True)
    status = esub.add_parser("status", help="set an employee's status")
    status.add_argument("name")
    status.add_argument("status", choices=["started", "break", "ended"])
    esub.add_parser("list", help="show every employee with status")
    for add_parser, _ in EXTRA_COMMANDS.values():
        add_parser(sub)
    for command in sub.choices.values():
        accept_options_after_subcommand(command, ("--config", "--db"))
    return parser


def accept_options_after_subcommand(command: argparse.ArgumentParser, options: tuple[str, ...]) -> None:
    """Let a command's own options also follow its subcommand (``fsrouter employee list
    --config X`` as well as ``fsrouter employee --config X list``)."""
    own = {o: a for a in command._actions for o in a.option_strings if o in options}
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            for leaf in action.choices.values():
                present = {o for a in leaf._actions for o in a.option_strings}
                for option, original in own.items():
                    if option not in present:
                        leaf.add_argument(option, dest=original.dest, default=argparse.SUPPRESS,
                                          help=original.help)


def _extra_commands() -> dict:
    """Subcommands that live in their own modules: name -> (add_parser(subparsers), run(args) -> int).

    An explicit registry: a new command module adds one line here.
    """
    from fsrouter import cli_callback, cli_freeswitch, cli_replay, cli_transcript
    from fsrouter import cli_simulate
    from fsrouter import cli_calls, cli_crm, cli_recordings

    return {
        cli_crm.NAME: (cli_crm.add_parser, cli_crm.run),
        cli_calls.NAME: (cli_calls.add_parser, cli_calls.run),
        cli_recordings.NAME: (cli_recordings.add_parser, cli_recordings.run),
        cli_freeswitch.NAME: (cli_freeswitch.add_parser, cli_freeswitch.run),
        cli_callback.NAME: (cli_callback.add_parser, cli_callback.run),
        "replay": (cli_replay.add_parser, cli_replay.run),
        "transcript": (cli_transcript.add_parser, cli_transcript.run),
        "simulate": (cli_simulate.add_parser, cli_simulate.run),
    }


EXTRA_COMMANDS = _extra_commands()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"serve": cmd_serve, "check": cmd_check, "employee": cmd_employee}
    handlers.update({name: run for name, (_, run) in EXTRA_COMMANDS.items()})
    handler = handlers[args.command]
    try:
        return handler(args)
    except ConfigInvalid as exc:
        for error in exc.errors:
            print(error.render(), file=sys.stderr)
        print(f"{len(exc.errors)} problem(s) in {args.config}", file=sys.stderr)
        return 1
    except (FsrouterError, ValueError) as exc:
        print(f"fsrouter {args.command}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (``| head``): stop printing, quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush must not fail again
        return 1


def cmd_check(args) -> int:
    from fsrouter.flow.catalog import Catalog

    catalog = Catalog.load(args.config)
    config = catalog.config
    for warning in config.warnings:
        print(f"warning: {warning.render()}")
    print(f"ok: {len(config.lines)} line(s), {len(config.employees)} employee(s), "
          f"{len(config.groups)} group(s), {len(config.menus)} menu(s); version {catalog.version}")
    return 0


def cmd_serve(args) -> int:
    from fsrouter import early_signals

    early = early_signals.catch()  # the entry point's, or now (cli.main called directly)
    from fsrouter import log
    from fsrouter.app import App, Overrides
    from fsrouter.flow.loader import load_config

    settings = load_config(args.config).settings
    log.configure(settings.log.level, args.log_format or settings.log.format)
    listen = args.listen or settings.listen
    try:  # App() resolves the address, serve_forever() binds it
        return App(args.config, Overrides(db=args.db, listen=args.listen)).serve_forever(early)
    except (OSError, OverflowError, ValueError) as exc:  # socket.gaierror is an OSError
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"fsrouter serve: cannot listen on {listen}: {reason}", file=sys.stderr)
        return 1
    finally:
        early_signals.release()


def _store(args):
    from fsrouter.flow.loader import load_config
    from fsrouter.store import open_store

    config = load_config(args.config)
    return config, open_store(args.db or config.settings.db, spool_dir=config.settings.folders.spool)


def cmd_employee(args) -> int:
    config, store = _store(args)
    try:
        if args.employee_command == "status":
            if args.name not in config.employees:
                print(f"fsrouter employee: unknown employee {args.name!r} "
                      f"(known: {', '.join(sorted(config.employees))})", file=sys.stderr)
                return 1
            store.employees.set_status(args.name, args.status)
            print(f"{args.name}: {args.status}")
            return 0
        statuses = store.employees.statuses()
        busy = store.employees.busy(list(config.employees))
        print(f"{'employee':<12} {'ext':<6} {'status':<8} {'since (UTC)':<20} on call")
        for emp_id, emp in sorted(config.employees.items()):
            status, since = statuses.get(emp_id, ("-", None))
            when = since.strftime("%Y-%m-%d %H:%M:%S") if since else "-"
            print(f"{emp_id:<12} {emp.extension:<6} {status:<8} {when:<20} {'yes' if emp_id in busy else 'no'}")
        return 0
    finally:
        store.close()
