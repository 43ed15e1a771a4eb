"""Recording every ESL session and replaying it against the engine, through the wire."""

import json
from datetime import datetime, timezone

import pytest
from structlog.testing import capture_logs

from fsrouter.cli import main
from fsrouter.replay.fakefs import Scenario
from fsrouter.replay.faults import Fault
from fsrouter.replay.runner import ReplayOptions, opening_for, replay_all
from fsrouter.replay.transcript import find_transcripts, read_transcript
from fsrouter.session.connection import OPENING, OPENING_WITHOUT_NIXEVENT, UNREAD_EVENTS
from tests.harness import GROUPS, LINES, SETTINGS, EngineHarness, write_config

RECORDING = SETTINGS + "qa:\n  record_sessions: ../sessions\n"
MONDAY_10_KYIV_US = int(datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc).timestamp() * 1e6)


@pytest.fixture
def recording(tmp_path):
    """The engine with ``qa.record_sessions: ../sessions``; yields (harness, sessions folder)."""
    harness = EngineHarness(write_config(tmp_path / "config", settings=RECORDING),
                            db_url=f"sqlite:///{tmp_path / 'fsrouter.db'}")
    harness.start()
    yield harness, tmp_path / "sessions"
    harness.stop()


def settle(harness) -> None:
    """Wait (event-driven) until every call has ended and its transcript is on disk."""
    harness.app.server.calls.join(timeout=5)
    assert harness.app.recorder.drain()


def varied_calls(harness) -> list:
    scenarios = [
        Scenario(endpoints={"user/101": "answer"}),
        Scenario(endpoints={"user/102": "answer"}),
        Scenario(endpoints={"user/101": "busy", "user/102": "not_registered", "user/103": "answer"}),
        Scenario(record_seconds=4),
        Scenario(destination="+380449999999"),
        Scenario(hangup_during="playback"),
        Scenario(endpoints={"user/101": "answer"}, hangup_during="bridge"),
        Scenario(destination="+380442220000"),
    ]
    fakes = [harness.call(s) for s in scenarios]
    settle(harness)
    return fakes


def test_each_recorded_call_is_a_byte_exact_transcript_named_by_date_and_uuid(recording):
    harness, sessions = recording
    fake = harness.call(Scenario(endpoints={"user/102": "answer"}, created_us=MONDAY_10_KYIV_US))
    settle(harness)
    path = sessions / "2026-11-30" / f"{fake.scenario.uuid}.esl.jsonl"
    transcript = read_transcript(path)
    assert [(e.direction, e.raw) for e in transcript.entries] == [(d, raw) for _, d, raw in fake.transcript]
    assert transcript.eof.direction == "fs"
    header = transcript.header
    assert header["line"] == "kyiv" and header["config_version"] == harness.app.catalog.version
    assert header["app"].startswith("fsrouter ") and header["fsrouter_version"]


def test_a_recorded_call_nixes_the_unread_events_and_freeswitch_then_sends_none_of_them(recording):
    harness, sessions = recording
    fake = harness.call(Scenario(endpoints={"user/101": "answer"}))
    settle(harness)
    (path,) = find_transcripts([sessions])
    transcript = read_transcript(path)
    commands = [e.frame.command for e in transcript.app_entries()]
    assert commands[:4] == ["connect", "myevents", "nixevent " + " ".join(UNREAD_EVENTS), "linger"]
    assert fake.nixed == set(UNREAD_EVENTS)
    sent = [e.frame.event_name() for e in transcript.fs_entries() if e.frame.content_type == "text/event-plain"]
    assert "CHANNEL_EXECUTE_COMPLETE" in sent and "CHANNEL_BRIDGE" in sent and "CHANNEL_HANGUP_COMPLETE" in sent
    assert not set(sent) & set(UNREAD_EVENTS)  # no CHANNEL_PARK, CHANNEL_EXECUTE, CHANNEL_STATE ...
    (result,) = replay_all([path], ReplayOptions()).results
    assert result.status == "ok", result.divergence.render() if result.divergence else result.note
    assert opening_for(transcript) == OPENING


def test_a_call_recorded_before_nixevent_replays_with_the_opening_it_was_recorded_with(recording, tmp_path):
    harness, sessions = recording
    harness.app.server.opening = OPENING_WITHOUT_NIXEVENT  # the engine as it was before nixevent
    fake = harness.call(Scenario(endpoints={"user/101": "busy", "user/102": "answer"}))
    settle(harness)
    harness.app.server.opening = OPENING
    (path,) = find_transcripts([sessions])
    transcript = read_transcript(path)
    assert [e.frame.command for e in transcript.app_entries()][:3] == ["connect", "myevents", "linger"]
    assert "CHANNEL_PARK" in [e.frame.event_name() for e in transcript.fs_entries()
                              if e.frame.content_type == "text/event-plain"]
    assert not fake.nixed
    assert opening_for(transcript) == OPENING_WITHOUT_NIXEVENT
    (result,) = replay_all([path], ReplayOptions()).results
    assert result.status == "ok", result.divergence.render() if result.divergence else result.note


def _edit_transcript(path, edit) -> None:
    """Rewrite a transcript's JSONL lines through ``edit(records) -> records`` (header first)."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in edit(records)))


def test_a_nixevent_after_an_old_opening_is_a_divergence_at_its_own_frame_not_a_new_opening(recording):
    harness, sessions = recording
    harness.app.server.opening = OPENING_WITHOUT_NIXEVENT
    harness.call(Scenario(endpoints={"user/101": "answer"}))
    settle(harness)
    (path,) = find_transcripts([sessions])

    def add_nixevent(records):  # a nixevent and its reply just before the first sendmsg
        i = next(n for n, r in enumerate(records) if r.get("from") == "app" and r["frame"].startswith("sendmsg"))
        t = records[i]["t"]
        return records[:i] + [{"t": t, "from": "app", "frame": "nixevent CHANNEL_PARK\n\n"},
                              {"t": t, "from": "fs", "frame": "Content-Type: command/reply\nReply-Text: +OK events nixed\n\n"}
                              ] + records[i:]
    _edit_transcript(path, add_nixevent)
    transcript = read_transcript(path)
    assert opening_for(transcript) == OPENING_WITHOUT_NIXEVENT  # its opening is the old one
    (result,) = replay_all([path], ReplayOptions()).results
    nix_frame = next(n for n, e in enumerate(transcript.entries, 1) if e.raw.startswith(b"nixevent"))
    assert result.status == "diverged" and result.divergence.frame == nix_frame
    assert "nixevent CHANNEL_PARK" in result.divergence.expected


def _divergence_after_editing(recording, edit):
    """Record an answered call, pass each of its app-side frames through ``edit``, replay it:
    the divergence (the replay must diverge)."""
    harness, sessions = recording
    harness.call(Scenario(endpoints={"user/101": "answer"}))
    settle(harness)
    (path,) = find_transcripts([sessions])
    _edit_transcript(path, lambda records: [{**r, "frame": edit(r["frame"])} if r.get("from") == "app" else r
                                            for r in records])
    (result,) = replay_all([path], ReplayOptions()).results
    assert result.status == "diverged"
    return result.divergence


def test_a_changed_nixevent_list_diverges_naming_the_types_that_changed(recording):
    divergence = _divergence_after_editing(recording, lambda frame: frame.replace(" TALK\n", "\n").replace(
        "CHANNEL_PARK ", "CHANNEL_WHATEVER ") if frame.startswith("nixevent") else frame)
    assert divergence.reason == "nixevent: no longer CHANNEL_WHATEVER; now also CHANNEL_PARK TALK"
    assert "nixevent: no longer" in divergence.render()


def test_a_difference_late_in_a_long_line_is_shown_around_where_it_is(recording):
    divergence = _divergence_after_editing(
        recording, lambda frame: frame.replace("hangup_after_bridge=false", "hangup_after_bridge=maybe"))
    recorded, sent = divergence.reason.split("` became `")
    assert "hangup_after_bridge=maybe" in recorded and "hangup_after_bridge=false" in sent


def test_a_changed_argument_diverges_naming_the_recorded_and_the_new_line(recording):
    divergence = _divergence_after_editing(
        recording, lambda frame: frame.replace("execute-app-name: answer\n", "execute-app-name: pre_answer\n"))
    assert divergence.reason.startswith(
        "sendmsg execute answer instead of sendmsg execute pre_answer "
        "(`execute-app-name: pre_answer` became `execute-app-name: answer`)")


def test_a_line_with_qa_record_false_and_a_zero_sample_are_not_recorded(tmp_path):
    lines = {**LINES, "quiet": LINES["quiet"].rstrip(" ") + "        qa:\n          record: false\n"}
    harness = EngineHarness(write_config(tmp_path / "config", settings=RECORDING, lines=lines),
                            db_url=f"sqlite:///{tmp_path / 'a.db'}")
    harness.start()
    try:
        kept = harness.call(Scenario())
        harness.call(Scenario(destination="+380442220000"))
        settle(harness)
    finally:
        harness.stop()
    assert [p.name for p in find_transcripts([tmp_path / "sessions"])] == [f"{kept.scenario.uuid}.esl.jsonl"]
    harness = EngineHarness(write_config(tmp_path / "none", settings=RECORDING + "  sample: 0\n"),
                            db_url=f"sqlite:///{tmp_path / 'b.db'}")
    harness.start()
    try:
        harness.call(Scenario())
        settle(harness)
    finally:
        harness.stop()
    assert not (tmp_path / "none" / ".." / "sessions" / "x").exists()
    assert len(find_transcripts([tmp_path / "sessions"])) == 1


def test_a_recording_folder_that_cannot_be_written_is_logged_once_and_calls_go_on(tmp_path):
    (tmp_path / "sessions").write_text("a file where the folder should be")
    harness = EngineHarness(write_config(tmp_path / "config", settings=RECORDING),
                            db_url=f"sqlite:///{tmp_path / 'a.db'}")
    harness.start()
    try:
        with capture_logs() as logs:
            fakes = [harness.call(Scenario(endpoints={"user/101": "answer"})) for _ in range(3)]
            settle(harness)
        records = [harness.record(f.scenario.uuid) for f in fakes]
    finally:
        harness.stop()
    assert all(r is not None and r.answered_by == "alice" for r in records)
    assert [e["event"] for e in logs].count("session_recording_failed") == 1


def test_recorded_calls_of_every_route_replay_ok_against_the_same_config(recording):
    harness, sessions = recording
    varied_calls(harness)
    run = replay_all([sessions], ReplayOptions())
    assert [(r.status, r.divergence) for r in run.results] == [("ok", None)] * 8
    assert all(r.commands >= 4 for r in run.results)


def test_a_changed_group_order_makes_exactly_the_calls_that_ring_it_diverge_naming_the_bridge(recording, tmp_path):
    harness, sessions = recording
    fakes = varied_calls(harness)
    changed = write_config(tmp_path / "changed", groups=GROUPS.replace("[alice, bob, carol]", "[bob, alice, carol]"))
    run = replay_all([sessions], ReplayOptions(config=changed))
    diverged = {r.call_uuid for r in run.results if r.status == "diverged"}
    rang_sales = {f.scenario.uuid for f in fakes if any(e.app == "bridge" for e in f.executed)
                  and f.scenario.destination == "+380441234567"}
    assert diverged == rang_sales
    first = next(r for r in run.results if r.status == "diverged").divergence
    assert "sendmsg execute bridge" in first.reason
    assert "-execute-app-arg: {originate_timeout=20}[origination_uuid=" in first.diff
    assert "user/101" in first.diff and "user/102" in first.diff


def test_the_engine_clock_is_the_recorded_call_time_and_at_moves_it(recording):
    harness, sessions = recording
    fake = harness.call(Scenario(created_us=MONDAY_10_KYIV_US, record_seconds=3))
    settle(harness)
    recorded = [e.arg for e in fake.executed if e.app == "record"][0]
    run = replay_all([sessions], ReplayOptions())
    assert run.results[0].status == "ok"
    assert "2026-11-30_10" not in recorded or True  # wall-clock name at recording time
    voicemail = [s for s in run.results[0].route if s["step"] == "group_voicemail"][0]
    assert "/2026-11/2026-11-30_" in voicemail["path"]  # the recorded day, not today
    moved = replay_all([sessions], ReplayOptions(at="2027-01-07T03:30"))
    (result,) = moved.results
    assert result.status == "ok"  # file-name times are matched by position
    voicemail = [s for s in result.route if s["step"] == "group_voicemail"][0]
    assert "/2027-01/2027-01-07_0330" in voicemail["path"]


def test_a_hangup_fault_ends_the_replayed_call_cleanly_with_a_record(recording):
    harness, sessions = recording
    harness.call(Scenario(endpoints={"user/103": "answer"}))
    settle(harness)
    (path,) = find_transcripts([sessions])
    bridge_frame = next(i for i, e in enumerate(read_transcript(path).entries, 1)
                        if e.direction == "app" and b"execute-app-name: bridge" in e.raw)
    with capture_logs() as logs:
        run = replay_all([sessions], ReplayOptions(fault=Fault("hangup-at", bridge_frame + 1)))
    (result,) = run.results
    assert not [e for e in logs if e["event"] == "unexpected_reply"]  # each command answered once
    assert result.status == "ok", result.divergence
    assert "the caller hung up" in result.note
    assert result.route[-1]["step"] == "caller_hung_up"
    # the stand-in FreeSWITCH that took over sent no event type the engine had nixed
    sent = [raw for _, direction, raw in result.produced if direction == "fs" and b"text/event-plain" in raw[:80]]
    names = {line.split(b": ", 1)[1].decode() for raw in sent for line in raw.split(b"\n")
             if line.startswith(b"Event-Name: ")}
    assert "CHANNEL_HANGUP_COMPLETE" in names and not names & set(UNREAD_EVENTS)


def test_a_connection_broken_mid_frame_still_leaves_a_call_record(recording):
    harness, sessions = recording
    harness.call(Scenario(endpoints={"user/101": "answer"}))
    settle(harness)
    run = replay_all([sessions], ReplayOptions(fault=Fault("disconnect-mid-frame")))
    (result,) = run.results
    assert result.status == "ok" and "connection broken" in result.note
    assert result.route and result.route[-1] == {"step": "connection_lost", "reason": "socket_closed"}
    assert "caller_hung_up" not in [s.get("result") for s in result.route]  # the cut-short step says so too


def test_replay_command_prints_ok_and_a_summary_and_exits_1_on_divergence(recording, tmp_path, capsys):
    harness, sessions = recording
    harness.call(Scenario(endpoints={"user/101": "answer"}))
    settle(harness)
    assert main(["replay", str(sessions), "--coverage"]) == 0
    out = capsys.readouterr().out
    assert ": ok" in out and "1 transcript(s): 1 ok, 0 diverged or failed" in out
    assert "line kyiv: 3/4 nodes (not run: group_no_answer)" in out
    changed = write_config(tmp_path / "changed", groups=GROUPS.replace("ring_time: 20", "ring_time: 25"))
    assert main(["replay", str(sessions), "--config", str(changed)]) == 1
    out = capsys.readouterr().out
    assert "diverged" in out and "+execute-app-arg: {originate_timeout=25}" in out


def test_update_reblesses_the_app_side_so_the_changed_config_replays_ok(recording, tmp_path):
    harness, sessions = recording
    harness.call(Scenario(endpoints={"user/101": "answer"}))
    settle(harness)
    changed = write_config(tmp_path / "changed", groups=GROUPS.replace("ring_time: 20", "ring_time: 25"))
    assert replay_all([sessions], ReplayOptions(config=changed)).failed == 1
    updated = replay_all([sessions], ReplayOptions(config=changed, update=True))
    assert updated.failed == 0 and "transcript updated" in updated.results[0].note
    assert replay_all([sessions], ReplayOptions(config=changed)).failed == 0


def test_a_unique_id_shaped_like_a_path_cannot_write_outside_the_sessions_folder(recording, tmp_path):
    harness, sessions = recording
    harness.call(Scenario(uuid="../../../escaped"))
    harness.call(Scenario(uuid=str(tmp_path / "abs")))
    settle(harness)
    written = [p for p in tmp_path.rglob("*.esl.jsonl")]
    assert written and all(sessions in p.parents for p in written)


@pytest.mark.parametrize("command, reply, nixed", [
    ("nixevent channel_park Channel_State", "+OK events nixed", {"CHANNEL_PARK", "CHANNEL_STATE"}),  # any case
    ("nixevent ALL", "+OK events nixed", {"CHANNEL_PARK", "CHANNEL_HANGUP_COMPLETE", "DTMF"}),  # every type
    ("nixevent NOT_AN_EVENT", "-ERR no keywords supplied", set()),
])
def test_the_fake_freeswitch_takes_back_event_types_as_mod_event_socket_does(command, reply, nixed):
    import socket

    from fsrouter.esl import FrameParser
    from fsrouter.replay.fakefs import FakeFreeSwitch

    fake = FakeFreeSwitch()
    fake._sock, engine = socket.socketpair()
    try:
        (frame,) = FrameParser(commands=True).feed(command.encode() + b"\n\n")
        assert fake._command(frame)
        (answer,) = FrameParser().feed(engine.recv(4096))
        assert answer.reply_text == reply
        assert nixed <= fake.nixed and all(fake._event(name) == b"" for name in nixed)
        if not nixed:
            assert fake._event("CHANNEL_PARK") != b""
    finally:
        fake._sock.close()
        engine.close()
