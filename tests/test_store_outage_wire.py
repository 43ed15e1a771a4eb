"""A database outage during calls: calls are still routed, and no call record is lost."""

import json

from structlog.testing import capture_logs

from fsrouter.replay.fakefs import Scenario


def test_calls_are_still_routed_while_the_database_is_down_and_their_records_are_spooled(engine, tmp_path):
    engine.store.close()  # every unit of work now raises StoreError: the database is gone
    with capture_logs() as logs:
        answered = engine.call(Scenario(endpoints={"user/101": "no_answer", "user/102": "answer"}))
        voicemail = engine.call(Scenario())
        assert engine.wait_idle()
    assert [e.arg.rsplit("]", 1)[1] for e in answered.executed if e.app == "bridge"] == ["user/101", "user/102"]
    assert [e.app for e in voicemail.executed][-1] == "record"
    assert any(e["event"] == "store_unavailable" for e in logs)
    assert not any(e["event"] == "flow_failed" for e in logs)
    spooled = [json.loads(line) for line in (tmp_path / "var" / "spool" / "calls.jsonl").read_text().splitlines()]
    by_uuid = {r["call_uuid"]: r for r in spooled}
    assert by_uuid[answered.scenario.uuid]["answered_by"] == "bob"
    assert by_uuid[voicemail.scenario.uuid]["route"][-1]["step"] == "group_voicemail"


def test_the_engine_starts_and_routes_while_postgresql_is_unreachable(tmp_path, config_dir):
    from tests.harness import EngineHarness

    with capture_logs() as logs:
        harness = EngineHarness(config_dir, db_url="postgresql://postgres@127.0.0.1:1/test")
    assert any(e["event"] == "store_unavailable_at_start" for e in logs)
    harness.start()
    try:
        fake = harness.call(Scenario(endpoints={"user/101": "answer"}))
        assert "bridge" in [e.app for e in fake.executed]
        spool = (config_dir.parent / "var" / "spool" / "calls.jsonl").read_text()
        assert fake.scenario.uuid in spool
    finally:
        harness.stop()
