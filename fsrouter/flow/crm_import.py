"""Read CRM entities from CSV (``fsrouter crm import FILE.csv``).

The header row names the columns (any order, case-insensitive): ``type`` (contact |
company | lead), ``name`` (required for contacts and companies), ``phones`` (or ``phone``:
one or more numbers separated by ``;`` or ``|``), ``responsible`` (an employee id),
``company`` (a contact's company), ``source`` and ``status`` (leads), ``country`` (ISO
region used to read national numbers on that row; default: the importer's country).
Phones are normalised to E.164 with ``phonenumbers``. A bad row is reported with its line
number in the file and skipped; the good ones are kept.
"""

from __future__ import annotations

import csv
import re
from typing import Iterable, TextIO

from fsrouter.flow.phone import is_region, valid_number
from fsrouter.store import CrmEntity

COLUMNS = ("type", "name", "phones", "responsible", "company", "source", "status", "country")
ENTITY_TYPES = ("contact", "company", "lead")
_SPLIT = re.compile(r"[;|]")


def read_crm_csv(stream: TextIO, *, country: str,
                 employees: Iterable[str] | None = None) -> tuple[list[CrmEntity], list[str]]:
    """Parse ``stream``; returns (entities, problems). problems: ``"line N: message"``.

    country: default ISO region for national numbers; employees: known employee ids
    (a responsible not among them is a problem), None to accept any.
    ValueError when the header lacks ``type`` or ``phones``.
    """
    reader = csv.reader(stream)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ValueError("the file is empty: expected a header row") from None
    header = ["phones" if h == "phone" else h for h in header]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
    missing = [c for c in ("type", "phones") if c not in header]
    if missing:
        raise ValueError(f"the header row lacks column(s) {', '.join(missing)}")
    known = set(employees) if employees is not None else None
    entities, problems = [], []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            problems.append(f"line {line}: {len(values)} fields, the header has {len(header)}")
            continue
        row = {k: v.strip() for k, v in zip(header, values)}
        try:
            entities.append(_entity(row, country, known))
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
    return entities, problems


def _entity(row: dict[str, str], country: str, known: set[str] | None) -> CrmEntity:
    kind = row.get("type", "").lower()
    if kind not in ENTITY_TYPES:
        raise ValueError(f"type {row.get('type')!r} is not one of {', '.join(ENTITY_TYPES)}")
    region = (row.get("country") or country).upper()
    if not is_region(region):
        raise ValueError(f"country {region!r} is not an ISO region")
    raw = [p.strip() for p in _SPLIT.split(row.get("phones", "")) if p.strip()]
    if not raw:
        raise ValueError("no phone")
    phones = []
    for text in raw:
        e164 = valid_number(text, region)
        if e164 is None:
            raise ValueError(f"phone {text!r} is not a valid phone number (read as {region})")
        phones.append(e164)
    phones = list(dict.fromkeys(phones))
    name = row.get("name") or None
    if kind != "lead" and not name:
        raise ValueError(f"a {kind} needs a name")
    if kind == "lead" and len(phones) != 1:
        raise ValueError("a lead has exactly one phone")
    responsible = row.get("responsible") or None
    if responsible and known is not None and responsible not in known:
        raise ValueError(f"unknown employee {responsible!r} as responsible")
    return CrmEntity(entity_type=kind, name=name, phones=tuple(phones), responsible=responsible,
                     company=row.get("company") or None, source=row.get("source") or None,
                     status=row.get("status") or None)
