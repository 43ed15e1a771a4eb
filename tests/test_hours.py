"""The working-hours decision (fsrouter.flow.hours.decide): a pure function of the schedule
and the call's arrival time, in the line's zone, across DST changes."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from fsrouter.flow import hours as H
from fsrouter.flow.model import WorkingHours

KYIV = ZoneInfo("Europe/Kyiv")
BERLIN = ZoneInfo("Europe/Berlin")

OFFICE = WorkingHours.model_validate({
    "enabled": "true",
    "schedule": {"mon": ["09:00-13:00", "14:00-18:00"], "tue": ["09:00-18:00"], "wed": ["09:00-18:00"],
                 "thu": ["09:00-18:00"], "fri": ["09:00-17:00"], "sat": [], "sun": ["04:00-05:00"]},
    "holidays": ["2026-12-24"],
    "holiday_calendar": "DE",
})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def local(text: str, zone=KYIV) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize("moment, is_open, reason", [
    ("2026-06-03 17:59", True, H.OPEN),
    ("2026-06-03 18:00", False, H.OUTSIDE_INTERVALS),
    ("2026-06-03 18:01", False, H.OUTSIDE_INTERVALS),
    ("2026-06-03 09:00", True, H.OPEN),
    ("2026-06-03 08:59", False, H.OUTSIDE_INTERVALS),
    ("2026-06-01 13:30", False, H.OUTSIDE_INTERVALS),  # Monday lunch break between two intervals
    ("2026-06-01 14:00", True, H.OPEN),
    ("2026-06-05 17:30", False, H.OUTSIDE_INTERVALS),  # Friday closes at 17:00
    ("2026-06-06 12:00", False, H.DAY_OFF),  # Saturday: empty list
])
def test_the_schedule_decides_in_local_time_with_several_intervals_a_day(moment, is_open, reason):
    decision = H.decide(OFFICE, local(moment), KYIV)
    assert (decision.open, decision.reason) == (is_open, reason)


def test_the_arrival_time_is_converted_to_the_line_zone_before_deciding():
    # 14:59 UTC is 17:59 in Kyiv summer time (UTC+3): open; 15:01 UTC is 18:01: closed
    assert H.decide(OFFICE, utc("2026-06-03 14:59"), KYIV).open
    late = H.decide(OFFICE, utc("2026-06-03 15:01"), KYIV)
    assert not late.open and late.local.isoformat() == "2026-06-03T18:01:00+03:00"


def test_an_explicit_holiday_date_is_closed():
    decision = H.decide(OFFICE, local("2026-12-24 11:00"), KYIV)
    assert (decision.open, decision.reason) == (False, H.HOLIDAY)


def test_a_public_holiday_of_the_calendar_country_is_closed_and_named():
    decision = H.decide(OFFICE, local("2026-05-01 11:00", BERLIN), BERLIN)  # a Friday
    assert (decision.open, decision.reason) == (False, H.PUBLIC_HOLIDAY)
    assert decision.holiday_name == "Labor Day"
    assert H.decide(OFFICE, local("2026-05-04 11:00", BERLIN), BERLIN).open  # the Monday after


def test_on_the_spring_dst_night_the_hour_after_the_switch_is_summer_time():
    # Kyiv 2026-03-29: 03:00 EET becomes 04:00 EEST at 01:00 UTC; Sunday is open 04:00-05:00
    before = H.decide(OFFICE, utc("2026-03-29 00:59"), KYIV)
    after = H.decide(OFFICE, utc("2026-03-29 01:30"), KYIV)
    assert (before.open, before.local.strftime("%H:%M%z")) == (False, "02:59+0200")
    assert (after.open, after.local.strftime("%H:%M%z")) == (True, "04:30+0300")
    assert not H.decide(OFFICE, utc("2026-03-29 02:00"), KYIV).open  # 05:00 EEST


def test_on_the_autumn_dst_night_both_passes_through_the_repeated_hour_decide_alike():
    schedule = WorkingHours.model_validate({"schedule": {"sun": ["03:00-04:00"]}})
    first = H.decide(schedule, utc("2026-10-25 00:30"), KYIV)  # 03:30 EEST
    second = H.decide(schedule, utc("2026-10-25 01:30"), KYIV)  # 03:30 EET, an hour later
    assert first.open and second.open
    assert (first.local.utcoffset().seconds, second.local.utcoffset().seconds) == (3 * 3600, 2 * 3600)


def test_an_interval_ending_at_24_00_includes_the_last_minute_of_the_day():
    late = WorkingHours.model_validate({"schedule": {"wed": ["20:00-24:00"]}})
    assert H.decide(late, local("2026-06-03 23:59:59"), KYIV).open


def test_a_naive_arrival_time_is_refused():
    with pytest.raises(ValueError, match="naive"):
        H.decide(OFFICE, datetime(2026, 6, 3, 12, 0), KYIV)
