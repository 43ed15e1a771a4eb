"""After hours a caller leaves a voice message: no recording warning, no recording quota used."""

from fsrouter.replay.fakefs import Scenario
from tests.harness import EngineHarness, write_config

LINE = """\
    number: "+380441234567"
    kind: rented
    timezone: Europe/Kyiv
    language: en
    routing: {greeting: true, group: sales}
    working_hours:
      enabled: true
      schedule: {mon: ["09:00-18:00"]}
      after_hours: voicemail
    recording: {enabled: true, warning: true, monthly_limit: 100}
"""
MONDAY_20_KYIV_US = 1_796_666_400_000_000  # 2026-12-07 20:00 Kyiv (UTC+2), a Monday evening


def test_an_after_hours_call_is_not_recorded_and_uses_no_quota(tmp_path):
    harness = EngineHarness(write_config(tmp_path / "config", lines={"kyiv": LINE}),
                            db_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    harness.start()
    try:
        fake = harness.call(Scenario(created_us=MONDAY_20_KYIV_US))
        quota_used = harness.store.recordings.used("kyiv", "2026-12")
        record = harness.record(fake.scenario.uuid)
    finally:
        harness.stop()
    apps = [e.app for e in fake.executed]
    assert "record_session" not in apps and apps[-1] == "record"  # the voice message only
    assert not any(e.arg and e.arg.endswith("recording_warning.wav") for e in fake.executed)
    assert [s["step"] for s in record.route][:2] == ["working_hours", "after_hours"]
    assert quota_used == 0
