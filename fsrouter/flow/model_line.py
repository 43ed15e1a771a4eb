"""numbers/NAME.yaml: one :class:`Line` (a rented DID or a customer's SIP PBX) and its sections.

Every section is optional and defaults to "off". Times are ``HH:MM`` in the line's time
zone, durations seconds, phone numbers E.164.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, Mapping, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from fsrouter.flow.model_base import E164, Backup, FileRef, Frozen, Id, LineQa, ReadOnly, RingTime, Seconds
from fsrouter.flow.phone import to_e164

LANGUAGES = ("uk", "en", "ru", "de", "es", "pt")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MELODY_STAGES = ("greeting", "hold", "recording_warning", "voicemail", "after_hours", "rating")
END_OF_DAY = dt.time.max  # how "24:00" is stored as an interval end

_HHMM = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")


def _time(text: str, *, end: bool) -> dt.time:
    match = _HHMM.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time HH:MM")
    hour, minute = int(match[1]), int(match[2])
    if hour == 24:
        if minute or not end:
            raise ValueError(f"{text!r}: 24:00 is only allowed as the end of an interval")
        return END_OF_DAY
    return dt.time(hour, minute)


class Interval(Frozen):
    """An open interval of one day, ``"HH:MM-HH:MM"``, start < end; end "24:00" = END_OF_DAY."""

    start: dt.time
    end: dt.time

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        if isinstance(data, str):
            start, sep, end = data.partition("-")
            if not sep:
                raise ValueError(f"{data!r} is not an interval HH:MM-HH:MM")
            data = {"start": _time(start, end=False), "end": _time(end, end=True)}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> "Interval":
        if not self.start < self.end:
            raise ValueError(f"{self} ends before it starts (an interval cannot cross midnight: split it)")
        return self

    def contains(self, moment: dt.time) -> bool:
        """True when ``moment`` (a naive local time) is within [start, end)."""
        return self.start <= moment < self.end or (self.end == END_OF_DAY and moment >= self.start)

    def __str__(self) -> str:
        end = "24:00" if self.end == END_OF_DAY else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"


def _no_overlap(value: Mapping[str, tuple[Interval, ...]]) -> Mapping[str, tuple[Interval, ...]]:
    for day, intervals in value.items():
        ordered = sorted(intervals, key=lambda i: i.start)
        for before, after in zip(ordered, ordered[1:]):
            if after.start < before.end:
                raise ValueError(f"{day}: {before} and {after} overlap")
    return value


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Kyiv)") from None
    return name


def _check_calendar(code: str) -> str:
    code = code.upper()
    if code not in holidays.list_supported_countries():
        raise ValueError(f"{code!r} is not a country the `holidays` package knows (ISO code, e.g. UA)")
    return code


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DaySchedule = Annotated[tuple[Interval, ...], AfterValidator(lambda v: tuple(sorted(v, key=lambda i: i.start)))]


class ExtensionDialing(Frozen):
    """Dial an extension during the greeting; digit_timeout and ring_time in s."""

    enabled: bool = False
    digit_timeout: Seconds = 5
    ring_time: RingTime = 20
    no_answer: Literal["continue", "forward_to_phone", "voicemail"] = "continue"


class CrmResponsible(Frozen):
    """Ring the CRM's responsible employee first. forward_to_phone to an employee without
    phones is allowed: at run time it falls back to the queue."""

    enabled: bool = False
    ring_time: RingTime = 20
    no_answer: Literal["forward_to_phone", "voicemail", "queue"] = "queue"


class Routing(Frozen):
    """Incoming routing, in order: sip_to_header, greeting (+ extension_dialing), ivr,
    crm_responsible, group; skip_absent skips employees not at work."""

    sip_to_header: bool = False
    greeting: bool = True
    extension_dialing: ExtensionDialing = Field(default_factory=ExtensionDialing)
    ivr: Optional[Id] = None
    crm_responsible: CrmResponsible = Field(default_factory=CrmResponsible)
    group: Optional[Id] = None
    skip_absent: bool = False


class WorkingHours(Frozen):
    """Weekly schedule (a missing or empty day is closed), extra closed dates, an optional
    public-holiday calendar, and what to do after hours (forward_to: E.164 for forward)."""

    enabled: bool = False
    schedule: Annotated[Mapping[Weekday, DaySchedule], AfterValidator(_no_overlap), ReadOnly] = Field(
        default_factory=dict, validate_default=True
    )
    holidays: tuple[dt.date, ...] = ()
    holiday_calendar: Optional[Annotated[str, AfterValidator(_check_calendar)]] = None
    after_hours: Literal["voicemail", "forward", "hangup"] = "voicemail"
    forward_to: Optional[E164] = None

    @field_validator("schedule", mode="before")
    @classmethod
    def _null_day_is_closed(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {day: ([] if v is None else v) for day, v in value.items()}
        return value


class Crm(Frozen):
    """CRM matching and lead creation; exclusions: E.164 numbers that never get a lead."""

    enabled: bool = False
    create_lead: Literal["auto", "manual", "off"] = "manual"
    create_lead_for: Literal["incoming", "outgoing", "all"] = "all"
    lead_source: Optional[str] = None
    exclusions: tuple[E164, ...] = ()
    reassign_on_transfer: bool = False


class Recording(Frozen):
    """Record every call; monthly_limit: first N calls per calendar month, 0..10,000,000
    (None: no limit); retention_days: 1..36,500 (None: kept for good)."""

    enabled: bool = False
    warning: bool = False
    monthly_limit: Optional[int] = Field(None, ge=0, le=10_000_000)
    retention_days: Optional[int] = Field(None, ge=1, le=36_500)


class Rating(Frozen):
    """Ask the caller for a 1-5 grade after the operator hangs up."""

    enabled: bool = False


class Outbound(Frozen):
    """Outbound use of the line: prefix (0-9 * #) picks it from the keypad; gateway: the
    FreeSWITCH gateway for outbound and forwarded calls."""

    selectable: bool = False
    prefix: Optional[str] = Field(None, pattern=r"^[0-9*#]{1,16}$")
    allowed_employees: tuple[Id, ...] = ()
    gateway: Optional[Id] = None


class Callback(Frozen):
    """Missed-callback retry: interval s between attempts (1..86,400), attempts 1..5."""

    retry: bool = False
    interval: int = Field(300, ge=1, le=86_400)
    attempts: int = Field(3, ge=1, le=5)


class Melodies(Frozen):
    """Per-stage melody: `default` (built-in, line's language) or an .mp3 under config/."""

    greeting: FileRef = "default"
    hold: FileRef = "default"
    recording_warning: FileRef = "default"
    voicemail: FileRef = "default"
    after_hours: FileRef = "default"
    rating: FileRef = "default"


class Line(Frozen):
    """One numbers/NAME.yaml. id: NAME; path: the file as named in errors.

    number: E.164 for ``rented``; for ``sip_pbx`` the connection's DID (E.164) or its name.
    """

    id: str
    path: str
    kind: Literal["rented", "sip_pbx"]
    number: str = Field(min_length=1)
    name: str = Field(min_length=1)
    language: Literal[LANGUAGES]  # type: ignore[valid-type]
    timezone: Annotated[str, AfterValidator(_check_timezone)]
    routing: Routing = Field(default_factory=Routing)
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    crm: Crm = Field(default_factory=Crm)
    recording: Recording = Field(default_factory=Recording)
    rating: Rating = Field(default_factory=Rating)
    outbound: Outbound = Field(default_factory=Outbound)
    callback: Callback = Field(default_factory=Callback)
    backup: Optional[Backup] = None
    melodies: Melodies = Field(default_factory=Melodies)
    qa: LineQa = Field(default_factory=LineQa)

    @field_validator("number")
    @classmethod
    def _number_by_kind(cls, number: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind is None:  # kind itself is wrong: that error is enough
            return number
        if kind == "rented" or number.startswith("+"):
            return to_e164(number)
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$", number):
            raise ValueError(f"{number!r} is neither an E.164 number nor a connection name")
        return number

    @property
    def tzinfo(self) -> ZoneInfo:
        """The line's time zone."""
        return ZoneInfo(self.timezone)
