"""A minimal CRM: contacts, companies and leads, found by phone number.

Every phone (E.164) of every entity is a row of one phones table, indexed by phone, so a
match is one indexed lookup. When several entities share a phone, the match priority is
contact, then company, then lead; among entities of one type the oldest (lowest id) wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Sequence

from .db import Connector
from .models import Models
from .records import CRM_ENTITY_TYPES, CrmMatch, check_e164, utc

_PRIORITY = {entity_type: rank for rank, entity_type in enumerate(CRM_ENTITY_TYPES)}
_IMPORT_CHUNK = 500  # phone rows per INSERT during an import


@dataclass(frozen=True)
class CrmEntity:
    """One CRM row for import and display. entity_type: "contact" | "company" | "lead";
    phones: E.164; company: a contact's company name; source / status: a lead's campaign
    and state (status defaults to "new")."""

    entity_type: str
    name: str | None
    phones: tuple[str, ...]
    responsible: str | None = None
    company: str | None = None
    source: str | None = None
    status: str | None = None
    line: str | None = None


@dataclass(frozen=True)
class LeadRecord:
    """A lead as stored: phone (E.164), the line its first call came on, source, responsible
    (employee id), status and created_at (aware UTC)."""

    id: int
    phone: str
    line: str | None
    source: str | None
    responsible: str | None
    status: str
    created_at: datetime


class CrmRepository:
    """Contacts, companies and leads. Phones must be E.164 (``+380441234567``), else
    ValueError; StoreError on a database error."""

    def __init__(self, connector: Connector, models: Models, *, clock: Callable[[], datetime]):
        self._connector = connector
        self._models = models
        self._clock = clock

    def add_contact(
        self, *, name: str, phones: Sequence[str], responsible: str | None, company: str | None = None
    ) -> int:
        """Add a contact (a person) with its phones; returns its id.
        responsible: the employee id in charge; company: the company's name, free text."""
        numbers = _phones(phones)
        model = self._models.CrmContactRow
        with self._connector.work():
            new_id = model.insert(
                name=_required(name, "name"), responsible=responsible, company=company, created_at=self._now()
            ).execute()
            self._add_phones("contact", new_id, numbers)
        return int(new_id)

    def add_company(self, *, name: str, phones: Sequence[str], responsible: str | None) -> int:
        """Add a company with its phones; returns its id."""
        numbers = _phones(phones)
        model = self._models.CrmCompanyRow
        with self._connector.work():
            new_id = model.insert(name=_required(name, "name"), responsible=responsible, created_at=self._now()).execute()
            self._add_phones("company", new_id, numbers)
        return int(new_id)

    def add_lead(
        self, *, phone: str, line: str | None, source: str | None, responsible: str | None, status: str = "new"
    ) -> int:
        """Add a lead (a prospect known only by phone); returns its id.
        line: the line the call came on; source: the line's lead source (campaign)."""
        number = check_e164(phone)
        model = self._models.CrmLeadRow
        with self._connector.work():
            new_id = model.insert(
                phone=number,
                line=line,
                source=source,
                responsible=responsible,
                status=_required(status, "status"),
                created_at=self._now(),
            ).execute()
            self._add_phones("lead", new_id, [number])
        return int(new_id)

    def match(self, phone_e164: str) -> CrmMatch | None:
        """The entity ``phone_e164`` belongs to (contact > company > lead), or None."""
        number = check_e164(phone_e164, "phone_e164")
        phones = self._models.CrmPhoneRow
        with self._connector.work():
            owners = [(row.entity_type, row.entity_id) for row in phones.select().where(phones.phone == number)]
            if not owners:
                return None
            entity_type, entity_id = min(owners, key=lambda owner: (_PRIORITY.get(owner[0], len(_PRIORITY)), owner[1]))
            return self._entity(entity_type, entity_id)

    def matches(self, phone_e164: str) -> list[CrmMatch]:
        """Every entity ``phone_e164`` belongs to, in match priority order (the first one is
        what :meth:`match` returns)."""
        number = check_e164(phone_e164, "phone_e164")
        phones = self._models.CrmPhoneRow
        with self._connector.work():
            owners = sorted({(row.entity_type, row.entity_id) for row in phones.select().where(phones.phone == number)},
                            key=lambda owner: (_PRIORITY.get(owner[0], len(_PRIORITY)), owner[1]))
            found = [self._entity(entity_type, entity_id) for entity_type, entity_id in owners]
        return [m for m in found if m is not None]

    def lead(self, lead_id: int) -> LeadRecord | None:
        """The lead with ``lead_id``, or None."""
        model = self._models.CrmLeadRow
        with self._connector.work():
            row = model.get_or_none(model.id == lead_id)
        if row is None:
            return None
        return LeadRecord(id=row.id, phone=row.phone, line=row.line, source=row.source,
                          responsible=row.responsible, status=row.status, created_at=row.created_at)

    def set_responsible(self, entity_type: str, entity_id: int, responsible: str | None) -> bool:
        """Make ``responsible`` (employee id) the one in charge of the entity; True if it exists."""
        model = self._model_of(entity_type)
        with self._connector.work():
            return model.update(responsible=responsible).where(model.id == entity_id).execute() == 1

    def import_entities(self, entities: Iterable[CrmEntity]) -> dict[str, int]:
        """Insert many entities in one transaction; returns the count per entity type.

        Phones must already be E.164 (ValueError otherwise, before anything is written).
        Rows are inserted one by one (their ids are needed for the phones); phones go in
        batches of 500.
        """
        items = list(entities)
        for item in items:
            if item.entity_type not in _PRIORITY:
                raise ValueError(f"entity_type: {item.entity_type!r} is not one of {', '.join(CRM_ENTITY_TYPES)}")
            _phones(list(item.phones))
            if item.entity_type != "lead":
                _required(item.name or "", "name")
            elif len(item.phones) != 1:
                raise ValueError("a lead has exactly one phone")
        counts = dict.fromkeys(CRM_ENTITY_TYPES, 0)
        phone_rows: list[dict] = []
        now = self._now()
        with self._connector.work() as database:
            with database.atomic():
                for item in items:
                    new_id = self._insert(item, now)
                    counts[item.entity_type] += 1
                    phone_rows += [{"phone": p, "entity_type": item.entity_type, "entity_id": new_id}
                                   for p in dict.fromkeys(item.phones)]
                for start in range(0, len(phone_rows), _IMPORT_CHUNK):
                    self._models.CrmPhoneRow.insert_many(phone_rows[start:start + _IMPORT_CHUNK]).execute()
        return counts

    def _insert(self, item: CrmEntity, now: datetime) -> int:
        model = self._model_of(item.entity_type)
        if item.entity_type == "contact":
            return model.insert(name=item.name, responsible=item.responsible, company=item.company,
                                created_at=now).execute()
        if item.entity_type == "company":
            return model.insert(name=item.name, responsible=item.responsible, created_at=now).execute()
        return model.insert(phone=item.phones[0], line=item.line, source=item.source, responsible=item.responsible,
                            status=item.status or "new", created_at=now).execute()

    def _model_of(self, entity_type: str):
        try:
            return {
                "contact": self._models.CrmContactRow,
                "company": self._models.CrmCompanyRow,
                "lead": self._models.CrmLeadRow,
            }[entity_type]
        except KeyError:
            raise ValueError(f"entity_type: {entity_type!r} is not one of {', '.join(CRM_ENTITY_TYPES)}") from None

    def _entity(self, entity_type: str, entity_id: int) -> CrmMatch | None:
        model = self._model_of(entity_type)
        row = model.get_or_none(model.id == entity_id)
        if row is None:
            return None
        name = row.phone if entity_type == "lead" else row.name
        return CrmMatch(entity_type=entity_type, entity_id=row.id, name=name, responsible=row.responsible)

    def _add_phones(self, entity_type: str, entity_id: int, numbers: list[str]) -> None:
        if numbers:
            rows = [{"phone": n, "entity_type": entity_type, "entity_id": entity_id} for n in numbers]
            self._models.CrmPhoneRow.insert_many(rows).execute()

    def _now(self) -> datetime:
        return utc(self._clock(), "clock()")


def _phones(phones: Sequence[str]) -> list[str]:
    if isinstance(phones, str):
        raise TypeError("phones: pass a sequence of numbers, not one string")
    return list(dict.fromkeys(check_e164(p) for p in phones))


def _required(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: must be a non-empty string")
    return value
