"""Working hours over the wire: the call's Caller-Channel-Created-Time decides, in the
line's zone; after hours the after-hours melody, then voicemail, forward or hang-up."""

from __future__ import annotations

import pytest

from fsrouter.replay.fakefs import Scenario
from tests.routing_config import NUMBERS, at_local, at_utc, routing_engine


@pytest.fixture
def engine(tmp_path):
    with routing_engine(tmp_path) as harness:
        yield harness


def call(engine, line: str, created_us: int, **scenario):
    fake = engine.call(Scenario(destination=NUMBERS[line], created_us=created_us, **scenario))
    return fake, engine.record(fake.scenario.uuid)


def apps(fake) -> list[tuple[str, str | None]]:
    return [(e.app, e.arg) for e in fake.executed if e.app not in ("multiset",)]


def melody(engine, stage: str) -> str:
    return engine.app.services.melodies.builtin("en", stage)


def hours_step(record) -> dict:
    (step,) = [s for s in record.route if s["step"] == "working_hours"]
    return step


def test_a_call_at_17_59_local_time_is_within_working_hours_and_reaches_the_group(engine):
    fake, record = call(engine, "kyiv-hours", at_local("2026-06-03 17:59"), endpoints={"user/104": "answer"})
    assert hours_step(record) == {"step": "working_hours", "result": "open", "reason": "open",
                                  "local_time": "2026-06-03T17:59:00+03:00"}
    assert [a for a, _ in apps(fake)] == ["answer", "playback", "bridge"]
    assert apps(fake)[1] == ("playback", melody(engine, "greeting"))
    assert record.answered_by == "dave"


def test_a_call_at_18_01_local_time_hears_the_after_hours_melody_and_leaves_a_message(engine):
    fake, record = call(engine, "kyiv-hours", at_local("2026-06-03 18:01"))
    assert [a for a, _ in apps(fake)] == ["answer", "playback", "playback", "record"]
    assert apps(fake)[1:3] == [("playback", melody(engine, "after_hours")), ("playback", melody(engine, "voicemail"))]
    assert hours_step(record)["result"] == "closed" and hours_step(record)["reason"] == "outside_intervals"
    assert [s["step"] for s in record.route] == ["working_hours", "after_hours", "after_hours_voicemail"]
    (message,) = engine.store.voicemails.for_call(fake.scenario.uuid)
    assert (message.line, message.employee) == ("kyiv-hours", None)


def test_a_call_on_a_public_holiday_is_forwarded_through_the_line_gateway(engine):
    fake, record = call(engine, "berlin-hours", at_local("2026-05-01 10:00", "Europe/Berlin"),
                        endpoints={"sofia/gateway/trunk/+380501112233": "answer"})
    assert hours_step(record)["reason"] == "public_holiday" and hours_step(record)["holiday"] == "Labor Day"
    assert apps(fake)[1:] == [("playback", melody(engine, "after_hours")),
                              ("bridge", "{originate_timeout=60}sofia/gateway/trunk/+380501112233")]
    assert record.route[-1] == {"step": "after_hours_forward", "number": "+380501112233", "result": "answered",
                                "cause": "NORMAL_CLEARING"}


def test_a_call_on_an_explicit_holiday_date_is_after_hours(engine):
    fake, record = call(engine, "berlin-hours", at_local("2026-12-24 10:00", "Europe/Berlin"))
    assert hours_step(record)["reason"] == "holiday"
    assert record.route[-1]["step"] == "after_hours_forward" and record.route[-1]["result"] == "no_answer"


def test_a_call_in_the_hour_after_the_spring_dst_switch_is_open_in_summer_time(engine):
    # Kyiv 2026-03-29 01:30 UTC = 04:30 EEST (a fixed UTC+2 would make it 03:30, closed)
    fake, record = call(engine, "night", at_utc("2026-03-29 01:30"), endpoints={"user/104": "answer"})
    assert hours_step(record)["local_time"] == "2026-03-29T04:30:00+03:00"
    assert hours_step(record)["result"] == "open"
    assert record.answered_by == "dave"


def test_a_call_before_the_spring_dst_switch_is_closed_and_hung_up_after_the_melody(engine):
    fake, record = call(engine, "night", at_utc("2026-03-29 00:30"))
    assert hours_step(record)["local_time"] == "2026-03-29T02:30:00+02:00"
    assert apps(fake) == [("answer", None), ("playback", melody(engine, "after_hours"))]
    assert record.route[-1] == {"step": "after_hours", "melody": melody(engine, "after_hours"), "action": "hangup"}
    assert fake.hangup_cause == "NORMAL_CLEARING"


def test_the_arrival_time_is_the_channel_creation_time_not_the_engine_clock(engine):
    # the same call data gives the same decision whenever it is played
    open_call = at_local("2026-06-03 10:00")
    assert all(hours_step(call(engine, "kyiv-hours", open_call, endpoints={"user/104": "answer"})[1])["result"]
               == "open" for _ in range(2))
    assert hours_step(call(engine, "kyiv-hours", at_local("2026-06-06 10:00"))[1])["reason"] == "day_off"
