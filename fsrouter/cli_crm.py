"""``fsrouter crm import FILE.csv | find PHONE | lead-from-call CALL_UUID``.

import: CSV as described in :mod:`fsrouter.flow.crm_import`; bad rows are reported with
their line number and skipped, the good ones stored in one transaction (exit 1 when any
row was bad). find: what a call from PHONE would match (contact > company > lead) and
everything else with that number. lead-from-call: the ``create_lead: manual`` path: make
the lead a call did not get (never for an excluded or already known number).
"""

from __future__ import annotations

import csv
import sys
from dataclasses import replace

from fsrouter.cli_common import add_store_args, open_config_and_store
from fsrouter.flow.phone import normalize

NAME = "crm"


def add_parser(subparsers) -> None:
    """Register ``crm`` and its subcommands."""
    crm = subparsers.add_parser("crm", help="the built-in CRM: import, find, leads from calls")
    add_store_args(crm)
    sub = crm.add_subparsers(dest="crm_command", required=True)
    imp = sub.add_parser("import", help="load contacts / companies / leads from a CSV file")
    imp.add_argument("file")
    imp.add_argument("--country", help="ISO region for national numbers (default settings.yaml country)")
    find = sub.add_parser("find", help="what a call from PHONE would match")
    find.add_argument("phone")
    lead = sub.add_parser("lead-from-call", help="create the lead for a call's unknown number")
    lead.add_argument("call_uuid")


def run(args) -> int:
    config, store = open_config_and_store(args)
    try:
        return {"import": _import, "find": _find, "lead-from-call": _lead_from_call}[args.crm_command](
            args, config, store)
    finally:
        store.close()


def _import(args, config, store) -> int:
    from fsrouter.flow.crm_import import read_crm_csv

    try:
        stream = open(args.file, newline="", encoding="utf-8-sig")
    except OSError as exc:
        print(f"fsrouter crm import: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    with stream:
        try:
            entities, problems = read_crm_csv(stream, country=args.country or config.settings.country,
                                              employees=config.employees)
        except UnicodeDecodeError as exc:
            print(f"fsrouter crm import: {args.file}: not UTF-8 text ({exc.reason} at byte {exc.start}): "
                  "save it as UTF-8 (CSV UTF-8 in a spreadsheet)", file=sys.stderr)
            return 1
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            print(f"fsrouter crm import: {args.file}: not a CSV file this import can read: {exc}", file=sys.stderr)
            return 1
    for problem in problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    counts = store.crm.import_entities(entities)
    print(f"imported {counts['contact']} contact(s), {counts['company']} company(ies), {counts['lead']} lead(s); "
          f"{len(problems)} bad row(s) skipped")
    return 1 if problems else 0


def _find(args, config, store) -> int:
    phone = normalize(args.phone, config.settings.country)
    if phone is None:
        print(f"fsrouter crm find: {args.phone!r} is not a phone number", file=sys.stderr)
        return 1
    found = store.crm.matches(phone)
    if not found:
        print(f"{phone}: no match (a call would create a lead where create_lead: auto)")
        return 0
    for rank, match in enumerate(found):
        label = "match" if rank == 0 else "also "
        print(f"{label} {phone}: {match.entity_type} #{match.entity_id} {match.name!r} "
              f"responsible={match.responsible or '-'}")
    return 0


def _lead_from_call(args, config, store) -> int:
    record = store.calls.get(args.call_uuid)
    if record is None:
        print(f"fsrouter crm lead-from-call: no call {args.call_uuid}", file=sys.stderr)
        return 1
    line = config.lines.get(record.line) if record.line else None
    other = record.destination if record.direction == "outbound" else record.caller
    phone = normalize(other, config.settings.country)
    if phone is None:
        print(f"fsrouter crm lead-from-call: {other!r} is not a phone number", file=sys.stderr)
        return 1
    if line is not None and phone in line.crm.exclusions:
        print(f"fsrouter crm lead-from-call: {phone} is in {line.id}'s exclusions", file=sys.stderr)
        return 1
    existing = store.crm.match(phone)
    if existing is not None:
        print(f"{phone} is already known: {existing.entity_type} #{existing.entity_id} {existing.name!r}")
        return 0
    talker = record.answered_by
    transfers = [t for t in record.extra.get("transfers", ()) if t.get("to")]
    if transfers and line is not None and line.crm.reassign_on_transfer:
        talker = transfers[-1]["to"]
    if talker is None and line is not None and line.routing.group in config.groups:
        talker = config.groups[line.routing.group].members[0]
    lead_id = store.crm.add_lead(phone=phone, line=record.line,
                                 source=line.crm.lead_source if line is not None else None, responsible=talker)
    extra = dict(record.extra)
    extra["crm"] = {**(extra.get("crm") or {"phone": phone, "match": None}),
                    "lead": {"created": True, "id": lead_id, "responsible": talker, "by": "lead-from-call"}}
    store.calls.save(replace(record, extra=extra))
    print(f"created lead #{lead_id} for {phone} (line {record.line or '-'}, responsible {talker or '-'})")
    return 0
