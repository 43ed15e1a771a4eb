"""Calls driven end to end: the fake FreeSWITCH dials the real engine over TCP."""

from fsrouter.replay.fakefs import Scenario


def apps(fake):
    return [e.app for e in fake.executed]


def test_call_answered_by_the_second_group_member_is_recorded_with_its_route(engine):
    fake = engine.call(Scenario(endpoints={"user/101": "no_answer", "user/102": "answer"}))
    assert apps(fake)[:3] == ["answer", "playback", "multiset"]
    bridges = [e.arg for e in fake.executed if e.app == "bridge"]
    assert len(bridges) == 2
    assert bridges[0].startswith("{originate_timeout=20}") and bridges[0].endswith("user/101")
    assert bridges[1].endswith("user/102")
    assert fake.closed_by == "fs"  # we sent exit after the linger notice
    record = engine.record(fake.scenario.uuid)
    assert record.answered_by == "bob"
    assert record.line == "kyiv"
    assert [(s["step"], s.get("employee"), s.get("result")) for s in record.route if s["step"] == "group"] == [
        ("group", "alice", "no_answer"), ("group", "bob", "answered")]
    assert record.config_version == engine.app.catalog.version
