"""The round trip of issue 7: 50 recorded calls of varied routes replay ok; one IVR key
changed makes exactly the calls through that key diverge, naming the changed command."""

from fsrouter.replay.fakefs import Scenario
from fsrouter.replay.faults import Fault
from fsrouter.replay.runner import ReplayOptions, replay_all
from tests.harness import SETTINGS, EngineHarness, write_config
from tests.routing_config import EMPLOYEES, GROUPS, IVR, LINES, NUMBERS, SILENT_MP3, at_local

MONDAY_10 = at_local("2026-11-30T10:00")
MONDAY_20 = at_local("2026-11-30T20:00")


def write_recording_config(root, ivr: str = IVR):
    write_config(root, lines=LINES, employees=EMPLOYEES, groups=GROUPS, extra={"ivr.yaml": ivr},
                 settings=SETTINGS + "qa:\n  record_sessions: ../sessions\n")
    for name in ("hours.mp3", "support.mp3"):
        (root / name).write_bytes(SILENT_MP3)
    return root


def fifty_calls() -> list[Scenario]:
    menu = NUMBERS["menu"]
    ivr_paths = [
        (["1"], {"user/101": "answer"}), (["1"], {"user/102": "answer"}), (["1"], {}),
        (["2", "1", "1"], {"user/103": "answer"}), (["2", "2"], {"user/103": "answer"}), (["2", "2"], {}),
        (["3"], {"user/101": "answer"}), (["3"], {"user/101": "busy"}), (["0"], {}), (["8"], {}),
        ([""], {"user/104": "answer"}), (["7", "1"], {"user/101": "answer"}), (["9", "3"], {"user/101": "answer"}),
        (["2", "*", "8"], {}), (["4", "1"], {"user/102": "answer"}), (["2", "1", "*", "*", "3"], {"user/101": "answer"}),
        (["#", "102"], {"user/102": "answer"}), (["", "", ""], {}),
    ]
    calls = [Scenario(destination=menu, digits=d, endpoints=e, created_us=MONDAY_10) for d, e in ivr_paths]
    calls += [Scenario(destination=menu, digits=["3"], endpoints={"user/101": "answer"}, created_us=MONDAY_10 + i)
              for i in range(1, 4)]
    calls += [Scenario(destination=menu, digits=["1"], endpoints={"user/101": "no_answer", "user/103": "answer"},
                       created_us=MONDAY_10 + i) for i in range(1, 4)]
    calls += [
        Scenario(destination=NUMBERS["ext-continue"], digits=["102"], endpoints={"user/102": "answer"}),
        Scenario(destination=NUMBERS["ext-continue"], digits=[""], endpoints={"user/104": "answer"}),
        Scenario(destination=NUMBERS["ext-forward"], digits=["103"]),
        Scenario(destination=NUMBERS["ext-voicemail"], digits=["101"]),
        Scenario(destination=NUMBERS["ext-voicemail"], digits=["999"]),
        Scenario(destination=NUMBERS["everyone"], endpoints={"user/102": "answer"}),
        Scenario(destination=NUMBERS["everyone"]),
        Scenario(destination=NUMBERS["kyiv-hours"], created_us=MONDAY_10, endpoints={"user/104": "answer"}),
        Scenario(destination=NUMBERS["kyiv-hours"], created_us=MONDAY_20),
        Scenario(destination=NUMBERS["berlin-hours"], created_us=MONDAY_10, endpoints={"user/104": "answer"}),
        Scenario(destination=NUMBERS["berlin-hours"], created_us=MONDAY_20),
        Scenario(destination=NUMBERS["night"], created_us=MONDAY_10),
        Scenario(destination=NUMBERS["pbx"], variables={"sip_to_user": "103"}, endpoints={"user/103": "answer"}),
        Scenario(destination="+380449999999"),
        Scenario(destination=menu, digits=["1"], hangup_during="play_and_get_digits"),
        Scenario(destination=NUMBERS["kyiv-hours"], created_us=MONDAY_10, hangup_during="playback"),
        Scenario(destination=menu, digits=["1"], endpoints={"user/101": "answer"}, hangup_during="bridge"),
    ]
    while len(calls) < 50:
        calls.append(Scenario(destination=menu, digits=["2", "2"], endpoints={"user/103": "answer"},
                              created_us=MONDAY_10 + len(calls)))
    return calls


def test_fifty_recorded_calls_replay_ok_and_one_changed_ivr_key_diverges_exactly_the_calls_through_it(tmp_path):
    harness = EngineHarness(write_recording_config(tmp_path / "config"), db_url=f"sqlite:///{tmp_path / 'r.db'}")
    harness.start()
    try:
        fakes = [harness.call(s) for s in fifty_calls()]
        harness.app.server.calls.join(timeout=5)
        assert harness.app.recorder.drain()
        records = {f.scenario.uuid: harness.record(f.scenario.uuid) for f in fakes}
    finally:
        harness.stop()
    assert len(records) == 50 and all(records.values())

    same = replay_all([tmp_path / "sessions"], ReplayOptions(wait_s=1))
    assert len(same.results) == 50
    assert [(r.name, r.divergence) for r in same.results if r.status != "ok"] == []

    through_main_3 = {uuid for uuid, rec in records.items()
                      if any(s["step"] == "ivr" and s["menu"] == "main" and s.get("key") == "3" for s in rec.route)}
    assert 5 <= len(through_main_3) < 50
    changed = write_recording_config(tmp_path / "changed",
                                     ivr=IVR.replace('"3": {employee: alice}', '"3": {employee: bob}'))
    shadow = replay_all([tmp_path / "sessions"], ReplayOptions(config=changed, wait_s=1))
    diverged = {r.call_uuid: r.divergence for r in shadow.results if r.status != "ok"}
    assert set(diverged) == through_main_3
    for divergence in diverged.values():
        assert "sendmsg execute bridge" in divergence.reason
        assert "user/101" in divergence.diff and "user/102" in divergence.diff


def test_dropped_dtmf_sends_an_ivr_call_down_its_timeout_path_and_it_still_ends_cleanly(tmp_path):
    harness = EngineHarness(write_recording_config(tmp_path / "config"), db_url=f"sqlite:///{tmp_path / 'r.db'}")
    harness.start()
    try:
        harness.call(Scenario(destination=NUMBERS["menu"], digits=["3"], endpoints={"user/101": "answer"}))
        harness.app.server.calls.join(timeout=5)
        assert harness.app.recorder.drain()
    finally:
        harness.stop()
    run = replay_all([tmp_path / "sessions"], ReplayOptions(fault=Fault("drop-dtmf"), wait_s=1))
    (result,) = run.results
    assert result.status == "ok", result.divergence
    assert "left the recording" in result.note
    assert [s.get("result") for s in result.route if s["step"] == "ivr"][0] == "timeout"


def test_coverage_names_the_ivr_keys_no_transcript_pressed(tmp_path, capsys):
    from fsrouter.cli import main

    harness = EngineHarness(write_recording_config(tmp_path / "config"), db_url=f"sqlite:///{tmp_path / 'r.db'}")
    harness.start()
    try:
        harness.call(Scenario(destination=NUMBERS["menu"], digits=["8"]))
        harness.app.server.calls.join(timeout=5)
        assert harness.app.recorder.drain()
    finally:
        harness.stop()
    assert main(["replay", str(tmp_path / "sessions"), "--coverage"]) == 0
    out = capsys.readouterr().out
    assert "ivr main: 1/10 keys (not pressed: #, 0, 1, 2, 3, 4, 9, timeout, invalid)" in out
    assert "it counts as the key, not as the line's own crm_responsible, group or voicemail nodes" in out
