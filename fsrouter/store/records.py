"""Plain frozen records the store takes in and hands back; no peewee object leaves the store.

Every datetime on a record is timezone-aware UTC: an aware datetime in another zone is
converted to UTC on construction, a naive one is refused (``ValueError``), because a
naive time cannot be stored as UTC without guessing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

DIRECTIONS = ("inbound", "outbound")
EMPLOYEE_STATUSES = ("started", "break", "ended")
CRM_ENTITY_TYPES = ("contact", "company", "lead")  # also the match priority, first wins

_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
#: Compact JSON, as the store keeps a record's route and extra.
_to_json = json.JSONEncoder(separators=(",", ":")).encode


def utc(value: datetime | None, what: str) -> datetime | None:
    """``value`` converted to aware UTC; None stays None; a naive datetime is a ValueError."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"{what}: expected datetime, got {type(value).__name__}")
    if value.tzinfo is timezone.utc:  # already UTC: astimezone would return it as it is
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what}: naive datetime {value.isoformat()}; pass an aware (UTC) datetime")
    return value.astimezone(timezone.utc)


def check_e164(phone: str, what: str = "phone") -> str:
    """``phone`` if it is an E.164 number (``+`` and 2..15 digits), else ValueError."""
    if not isinstance(phone, str) or not _E164.match(phone):
        raise ValueError(f"{what}: {phone!r} is not an E.164 number such as +380441234567")
    return phone


@dataclass(frozen=True)
class CallRecord:
    """One call as the flow saw it; saved once or several times (upsert by ``call_uuid``).

    direction: "inbound" | "outbound". started_at / answered_at / ended_at: aware UTC.
    route: the steps the flow took, JSON-serialisable dicts in order, e.g.
    ``{"step": "group", "employee": "bob", "result": "answered"}`` (a list is accepted
    and kept as a tuple). answered_by: employee id. extra: JSON-serialisable dict for
    later additions (recording, rating, CRM match). ValueError / TypeError on bad values.
    """

    call_uuid: str
    line: str | None
    direction: str
    caller: str
    destination: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    hangup_cause: str | None
    route: tuple[dict, ...]
    answered_by: str | None
    config_version: str | None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.call_uuid, str) or not self.call_uuid:
            raise ValueError("call_uuid: must be a non-empty string")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction: {self.direction!r} is not one of {', '.join(DIRECTIONS)}")
        if self.started_at is None:
            raise ValueError("started_at: required")
        for name in ("started_at", "answered_at", "ended_at"):
            object.__setattr__(self, name, utc(getattr(self, name), name))
        route = tuple(self.route)
        if not all(isinstance(step, dict) for step in route):
            raise TypeError("route: every step must be a dict")
        if not isinstance(self.extra, dict):
            raise TypeError("extra: must be a dict")
        object.__setattr__(self, "route", route)
        try:  # the check is the encoding the store keeps: done once, here
            texts = (_to_json(list(route)), _to_json(self.extra))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"route / extra of call {self.call_uuid}: not JSON-serialisable: {exc}") from exc
        object.__setattr__(self, "_json_texts", texts)

    def json_texts(self) -> tuple[str, str]:
        """``(route, extra)`` as compact JSON text, as they were when the record was made
        (what the store writes to its ``route`` and ``extra`` columns)."""
        return self._json_texts


@dataclass(frozen=True)
class VoicemailRecord:
    """A voice message left during a call. path: the audio file; duration_s: seconds or None."""

    id: int | None
    call_uuid: str
    line: str | None
    employee: str | None
    path: str
    duration_s: float | None
    created_at: datetime


@dataclass(frozen=True)
class CrmMatch:
    """The CRM entity a phone number belongs to. entity_type: "contact" | "company" | "lead";
    name: the entity's name (a lead's name is its phone number); responsible: employee id."""

    entity_type: str
    entity_id: int
    name: str
    responsible: str | None


def jsonable_call(record: CallRecord) -> dict[str, Any]:
    """``record`` as a JSON-ready dict (datetimes as ISO 8601 strings with ``+00:00``;
    route and extra as they were when the record was made, as the store writes them)."""
    out: dict[str, Any] = {}
    for name in CallRecord.__dataclass_fields__:
        value = getattr(record, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        out[name] = value
    out["route"], out["extra"] = (json.loads(text) for text in record.json_texts())
    return out


def call_from_jsonable(data: dict[str, Any]) -> CallRecord:
    """Inverse of :func:`jsonable_call`; KeyError / TypeError / ValueError on a malformed dict."""
    values = {name: data[name] for name in CallRecord.__dataclass_fields__ if name != "extra"}
    for name in ("started_at", "answered_at", "ended_at"):
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    return CallRecord(**values, extra=data.get("extra") or {})
