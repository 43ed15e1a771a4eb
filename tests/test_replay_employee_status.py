"""A transcript carries who was at work, so a replay rings the same employees (skip_absent)."""

from fsrouter.replay.fakefs import Scenario
from fsrouter.replay.runner import ReplayOptions, replay_all
from fsrouter.replay.transcript import find_transcripts, read_transcript
from tests.harness import LINES, SETTINGS, EngineHarness, write_config

SKIPPING = {**LINES, "kyiv": LINES["kyiv"].replace("group: sales", "group: sales\n          skip_absent: true")}


def test_a_call_recorded_with_only_bob_at_work_replays_ok_ringing_only_bob(tmp_path):
    config = write_config(tmp_path / "config", settings=SETTINGS + "qa:\n  record_sessions: ../sessions\n",
                          lines=SKIPPING)
    harness = EngineHarness(config, db_url=f"sqlite:///{tmp_path / 'fsrouter.db'}")
    harness.start()
    try:
        harness.store.employees.set_status("bob", "started")
        fake = harness.call(Scenario(endpoints={"user/102": "answer"}))
        harness.app.server.calls.join(timeout=5)
        assert harness.app.recorder.drain()
    finally:
        harness.stop()
    assert [e.arg.rsplit("]", 1)[1] for e in fake.executed if e.app == "bridge"] == ["user/102"]
    [path] = find_transcripts([tmp_path / "sessions"])
    assert read_transcript(path).header["employee_status"] == {"bob": "started"}
    [result] = replay_all([tmp_path / "sessions"], ReplayOptions()).results
    assert (result.status, result.divergence) == ("ok", None)
