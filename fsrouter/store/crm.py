"""A minimal CRM: contacts, companies and leads, found by phone number.

Every phone (E.164) of every entity is a row of one phones table, indexed by phone, so a
match is one indexed lookup. When several entities share a phone, the match priority is
contact, then company, then lead; among entities of one type the oldest (lowest id) wins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Sequence

from .db import Connector
from .models import Models
from .records import CRM_ENTITY_TYPES, CrmMatch, check_e164, utc

_PRIORITY = {entity_type: rank for rank, entity_type in enumerate(CRM_ENTITY_TYPES)}


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

    def _entity(self, entity_type: str, entity_id: int) -> CrmMatch | None:
        model = {
            "contact": self._models.CrmContactRow,
            "company": self._models.CrmCompanyRow,
            "lead": self._models.CrmLeadRow,
        }[entity_type]
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
