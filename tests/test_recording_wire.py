"""Call recording through the wire: warning, record_session, figures, monthly quota."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from fsrouter.replay.fakefs import Scenario
from tests.harness import EngineHarness, write_config

LINE = """\
    number: "+380441234567"
    kind: rented
    timezone: Europe/Kyiv
    language: en
    routing:
      greeting: true
      group: sales
    recording:
      enabled: true
      warning: true
      monthly_limit: {limit}
"""


def us(*args) -> int:
    return int(datetime(*args, tzinfo=timezone.utc).timestamp() * 1e6)


@pytest.fixture
def engine_with(tmp_path):
    started = []

    def make(limit=100):
        harness = EngineHarness(write_config(tmp_path / "config", lines={"kyiv": LINE.format(limit=limit)}),
                                db_url=f"sqlite:///{tmp_path / 'x.db'}")
        harness.start()
        started.append(harness)
        return harness
    yield make
    for harness in started:
        harness.stop()


def test_the_warning_plays_once_before_record_session_and_the_recording_is_stored(engine_with, tmp_path):
    engine = engine_with()
    fake = engine.call(Scenario(endpoints={"user/101": "no_answer", "user/102": "answer"},
                                created_us=us(2026, 3, 10, 8, 0, 5)))
    apps = [(e.app, e.arg) for e in fake.executed]
    names = [a for a, _ in apps]
    assert names[:3] == ["answer", "playback", "record_session"]
    assert apps[1][1].endswith("/en/recording_warning.wav")
    assert names.count("record_session") == 1 and sum(a.endswith("recording_warning.wav") for _, a in apps
                                                        if a) == 1  # two bridges, one warning
    path = apps[2][1]
    expected = tmp_path / "var" / "recordings" / "kyiv" / "2026-03"
    assert path == str(expected / f"2026-03-10_100005_+380501112233_{fake.scenario.uuid}.wav")
    assert names[-1] == "stop_record_session"  # the conversation is over: stopped before hangup
    record = engine.record(fake.scenario.uuid)
    assert record.extra["recording"] == {"recorded": True, "path": path, "month": "2026-03",
                                         "size_bytes": 44 + 16160 * 2, "duration_s": 2.02}
    [stored] = engine.store.recordings.for_call(fake.scenario.uuid)
    assert (stored.path, stored.size_bytes, stored.duration_s, stored.line) == (path, 32364, 2.02, "kyiv")
    assert Path(path).stat().st_size == 32364


def test_a_caller_hanging_up_mid_call_keeps_the_figures_from_hangup_complete(engine_with):
    engine = engine_with()
    fake = engine.call(Scenario(endpoints={"user/101": "answer"}, hangup_during="bridge", session_record_ms=5000))
    assert "stop_record_session" not in [e.app for e in fake.executed]
    [stored] = engine.store.recordings.for_call(fake.scenario.uuid)
    assert (stored.size_bytes, stored.duration_s) == (44 + 40000 * 2, 5.0)


def test_the_101st_call_of_a_month_is_not_recorded_while_the_first_of_next_month_is(engine_with):
    engine = engine_with(limit=100)
    for _ in range(100):  # calls 1..100 of March (Kyiv time)
        assert engine.store.recordings.claim("kyiv", "2026-03", 100)
    march = engine.call(Scenario(endpoints={"user/101": "answer"}, created_us=us(2026, 3, 31, 20, 59)))
    assert "record_session" not in [e.app for e in march.executed]
    assert not any(e.arg and e.arg.endswith("recording_warning.wav") for e in march.executed)
    assert engine.record(march.scenario.uuid).extra["recording"] == {
        "recorded": False, "reason": "monthly_limit", "month": "2026-03", "limit": 100}
    # 21:30 UTC on 31 March is 00:30 on 1 April in Kyiv: a new month
    april = engine.call(Scenario(endpoints={"user/101": "answer"}, created_us=us(2026, 3, 31, 21, 30)))
    assert "record_session" in [e.app for e in april.executed]
    assert engine.record(april.scenario.uuid).extra["recording"]["month"] == "2026-04"
    assert engine.store.recordings.used("kyiv", "2026-03") == 100
    assert engine.store.recordings.used("kyiv", "2026-04") == 1


def test_ten_calls_starting_together_against_a_limit_of_five_record_exactly_five(engine_with):
    engine = engine_with(limit=5)
    fakes = engine.calls([Scenario(created_us=us(2026, 5, 2, 9, 0)) for _ in range(10)])
    recorded = [f for f in fakes if "record_session" in [e.app for e in f.executed]]
    assert len(recorded) == 5
    assert engine.store.recordings.used("kyiv", "2026-05") == 5


def test_a_caller_gone_during_the_warning_records_nothing_and_gives_the_quota_slot_back(engine_with):
    engine = engine_with(limit=1)
    gone = engine.call(Scenario(hangup_during="playback", created_us=us(2026, 5, 2, 9, 0)))
    assert [e.app for e in gone.executed] == ["answer", "playback"]
    assert engine.store.recordings.for_call(gone.scenario.uuid) == []
    assert [s["step"] for s in engine.record(gone.scenario.uuid).route][-2:] == ["recording", "caller_hung_up"]
    assert engine.store.recordings.used("kyiv", "2026-05") == 0
    kept = engine.call(Scenario(endpoints={"user/101": "answer"}, created_us=us(2026, 5, 3, 9, 0)))
    assert "record_session" in [e.app for e in kept.executed]  # the month's only slot was still free


def test_a_call_the_flow_hangs_up_is_not_recorded_as_the_caller_hanging_up(tmp_path):
    """FreeSWITCH's hangup events come up to ~20 ms after its +OK: the engine must not
    send more commands meanwhile, nor take the hangup it asked for for the caller's."""
    line = LINE.replace("      group: sales\n", "").replace("warning: true", "warning: false").format(limit=10)
    engine = EngineHarness(write_config(tmp_path / "config", lines={"kyiv": line}),
                           db_url=f"sqlite:///{tmp_path / 'x.db'}")
    engine.start()
    try:
        fake = engine.call(Scenario(hangup_delay_s=0.05))
        assert [e.app for e in fake.executed] == ["answer", "record_session", "playback"]
        record = engine.record(fake.scenario.uuid)
        assert record.route[-1]["step"] == "hangup"
        assert "caller_hung_up" not in [s["step"] for s in record.route]
        hangups = [raw for _, side, raw in fake.transcript if side == "app" and b"call-command: hangup" in raw]
        assert len(hangups) == 1  # not a second one while the first one's events are on their way
        [stored] = engine.store.recordings.for_call(fake.scenario.uuid)  # figures from HANGUP_COMPLETE
        assert stored.duration_s == 2.02
    finally:
        engine.stop()


def test_a_warning_freeswitch_refuses_gives_the_slot_back_and_stores_no_recording(engine_with):
    engine = engine_with(limit=1)
    fake = engine.call(Scenario(refused_app="playback", created_us=us(2026, 5, 2, 9, 0)))
    record = engine.record(fake.scenario.uuid)
    assert [s for s in record.route if s["step"] == "recording"] == [
        {"step": "recording", "result": "not_started", "reason": "esl_command_refused", "month": "2026-05"}]
    assert engine.store.recordings.used("kyiv", "2026-05") == 0
    assert engine.store.recordings.for_call(fake.scenario.uuid) == []


def test_a_claim_the_store_could_not_count_gives_nothing_back_when_the_caller_leaves(tmp_path, monkeypatch):
    """With the database down the recording is allowed uncounted; a caller gone during the
    warning must not then hand back a slot another call took."""
    from fsrouter.errors import StoreError
    from fsrouter.store import open_store
    from fsrouter.store.recordings import RecordingRepository

    db_url = f"sqlite:///{tmp_path / 'x.db'}"
    other = open_store(db_url)
    assert other.recordings.claim("kyiv", "2026-05", 5)  # another call's slot
    other.close()

    def down(self, *args, **kwargs):
        raise StoreError("database is locked")
    monkeypatch.setattr(RecordingRepository, "claim", down)
    engine = EngineHarness(write_config(tmp_path / "config", lines={"kyiv": LINE.format(limit=5)}), db_url=db_url)
    engine.start()
    try:
        fake = engine.call(Scenario(hangup_during="playback", created_us=us(2026, 5, 2, 9, 0)))
        assert [e.app for e in fake.executed] == ["answer", "playback"]
        assert engine.store.recordings.used("kyiv", "2026-05") == 1  # the other call's slot is still taken
    finally:
        engine.stop()


def test_a_voice_message_ended_by_hanging_up_keeps_its_own_length_on_a_recorded_line(engine_with):
    """At the hangup FreeSWITCH stops the call recording too, and its figures overwrite
    record_seconds / record_ms in CHANNEL_HANGUP_COMPLETE: the length comes from record's own
    completion, which follows CHANNEL_HANGUP."""
    engine = engine_with()
    fake = engine.call(Scenario(record_seconds=4, session_record_ms=2020, hangup_during="record"))
    assert [e.app for e in fake.executed][-1] == "record"
    [voicemail] = engine.store.voicemails.for_call(fake.scenario.uuid)
    assert voicemail.duration_s == 4.0
    [stored] = engine.store.recordings.for_call(fake.scenario.uuid)
    assert stored.duration_s == 2.02  # the call recording keeps its own
