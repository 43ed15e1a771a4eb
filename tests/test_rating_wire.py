"""Quality rating after the operator hangs up, driven through the wire."""

from __future__ import annotations

import pytest

from fsrouter.replay.fakefs import Scenario
from tests.harness import EngineHarness, write_config

RATED_LINE = """\
    number: "+380441234567"
    kind: rented
    timezone: Europe/Kyiv
    language: en
    routing:
      greeting: false
      group: sales
    rating:
      enabled: true
"""


@pytest.fixture
def rated(tmp_path):
    harness = EngineHarness(write_config(tmp_path / "config", lines={"kyiv": RATED_LINE}),
                            db_url=f"sqlite:///{tmp_path / 'x.db'}")
    harness.start()
    yield harness
    harness.stop()


def test_a_caller_who_keys_4_after_the_conversation_stores_grade_4_with_the_operator(rated):
    fake = rated.call(Scenario(endpoints={"user/101": "answer"}, digits=["4"]))
    apps = [(e.app, e.arg) for e in fake.executed]
    bridge_at = [a for a, _ in apps].index("bridge")
    after = apps[bridge_at + 1:]
    assert after[0][0] == "play_and_get_digits" and "/en/rating.wav" in after[0][1]
    assert " ^[1-5]$ " in after[0][1] and after[0][1].startswith("1 1 1 ")
    assert after[1] == ("playback", after[1][1]) and after[1][1].endswith("/en/rating_thanks.wav")
    record = rated.record(fake.scenario.uuid)
    assert record.extra["rating"] == {"grade": 4, "employee": "alice"}
    assert record.route[-1] == {"step": "rating", "employee": "alice", "result": "rated", "grade": 4}


def test_a_caller_hanging_up_at_the_rating_prompt_stores_no_grade_and_no_error(rated):
    fake = rated.call(Scenario(endpoints={"user/101": "answer"}, hangup_during="play_and_get_digits"))
    record = rated.record(fake.scenario.uuid)
    assert "rating" not in record.extra
    assert [s["step"] for s in record.route][-2:] == ["rating", "caller_hung_up"]
    assert record.route[-2]["result"] == "caller_hung_up"
    assert not any(s["step"] == "flow_failed" for s in record.route)


@pytest.mark.parametrize("digits", ["", "7"], ids=["no key", "invalid key"])
def test_no_key_or_an_invalid_key_stores_no_grade(rated, digits):
    fake = rated.call(Scenario(endpoints={"user/101": "answer"}, digits=[digits]))
    record = rated.record(fake.scenario.uuid)
    assert "rating" not in record.extra
    assert record.route[-1] == {"step": "rating", "employee": "alice", "result": "no_grade"}
    assert fake.executed[-1].app == "play_and_get_digits"  # no thanks


def test_a_call_nobody_answered_is_never_rated(rated):
    fake = rated.call(Scenario())  # every member lets it ring: voicemail
    assert "play_and_get_digits" not in [e.app for e in fake.executed]
    assert "rating" not in rated.record(fake.scenario.uuid).extra
