"""Working hours: is a line open at a given moment? A pure function, no clock, no I/O.

The moment is the call's arrival (``Caller-Channel-Created-Time``, aware UTC), turned into
the line's local time with ``zoneinfo``, so the decision follows DST changes: the same
schedule ``09:00-18:00`` means 06:00-15:00 UTC in Kyiv summer and 07:00-16:00 UTC in winter.
Closed are: days without intervals, the line's explicit ``holidays`` dates and, with
``holiday_calendar``, the public holidays of that country from the ``holidays`` package
(https://holidays.readthedocs.io).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

import holidays

from fsrouter.flow.model_line import WEEKDAYS

#: Reasons a decision gives (also written to the call's route).
OPEN = "open"
DAY_OFF = "day_off"
OUTSIDE_INTERVALS = "outside_intervals"
HOLIDAY = "holiday"
PUBLIC_HOLIDAY = "public_holiday"


@dataclass(frozen=True)
class HoursDecision:
    """open: the line takes calls now; reason: one of OPEN, DAY_OFF, OUTSIDE_INTERVALS,
    HOLIDAY, PUBLIC_HOLIDAY; local: the moment in the line's zone; holiday_name: the public
    holiday's name (PUBLIC_HOLIDAY only)."""

    open: bool
    reason: str
    local: datetime
    holiday_name: str | None = None


def public_holiday(country: str, day: date) -> str | None:
    """The name of ``country``'s (ISO code, e.g. "DE") public holiday on ``day``, or None."""
    return holidays.country_holidays(country, years=day.year).get(day)


def decide(hours, at: datetime, zone: tzinfo) -> HoursDecision:
    """Is a line with working hours ``hours`` (flow.model.WorkingHours) open at ``at``?

    at: an aware datetime (naive: ValueError, since a naive time has no place on the
    timeline); zone: the line's zone (``Line.tzinfo``). ``hours.enabled`` is not looked
    at: whether to check at all is the caller's business.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"at: {at!r} is naive; give an aware datetime (e.g. UTC)")
    local = at.astimezone(zone)
    day = local.date()
    if day in hours.holidays:
        return HoursDecision(False, HOLIDAY, local)
    if hours.holiday_calendar:
        name = public_holiday(hours.holiday_calendar, day)
        if name is not None:
            return HoursDecision(False, PUBLIC_HOLIDAY, local, name)
    intervals = hours.schedule.get(WEEKDAYS[local.weekday()], ())
    if not intervals:
        return HoursDecision(False, DAY_OFF, local)
    moment = local.time().replace(tzinfo=None)
    if any(interval.contains(moment) for interval in intervals):
        return HoursDecision(True, OPEN, local)
    return HoursDecision(False, OUTSIDE_INTERVALS, local)
