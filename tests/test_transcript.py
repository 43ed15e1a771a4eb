"""ESL session transcripts: reading the real captures, writing, and clear errors with line numbers."""

import json
from pathlib import Path

import pytest

from fsrouter.cli import main
from fsrouter.errors import TranscriptError
from fsrouter.replay.transcript import find_transcripts, read_transcript, write_transcript
from tests.captures import CAPTURES



REPLY = "Content-Type: command/reply\nReply-Text: +OK\n\n"
EVENT_BODY = "Event-Name: CHANNEL_ANSWER\nUnique-ID: u-1\n\n"
EVENT = f"Content-Length: {len(EVENT_BODY)}\nContent-Type: text/event-plain\n\n{EVENT_BODY}"


def write_lines(path: Path, *objects, raw_tail: str = "") -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects) + raw_tail)
    return path


HEADER = {"esl_transcript": 1, "app": "fsrouter test"}


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="shared/esl-sessions is not beside the checkout")
def test_every_real_capture_loads_with_its_frames_and_its_end():
    paths = find_transcripts([CAPTURES])
    assert len(paths) >= 18
    for path in paths:
        transcript = read_transcript(path)
        assert transcript.eof is not None, path.name
        assert transcript.entries[0].frame.command == "connect"
        assert transcript.connect_data().get("Unique-ID")


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="shared/esl-sessions is not beside the checkout")
def test_a_command_the_recorder_split_over_two_lines_is_reframed_in_its_own_place():
    transcript = read_transcript(CAPTURES / "14_async_queue_bodyarg_break.esl.jsonl")
    (split,) = [e for e in transcript.entries if e.direction == "app" and e.frame.body]
    assert split.line == 34 and len(split.frame.body) == 26 and "re-framed" in split.note
    following = transcript.entries[transcript.entries.index(split) + 1]
    assert following.direction == "fs" and following.line == 35  # its +OK comes right after it


def test_a_written_transcript_reads_back_byte_for_byte_also_when_a_frame_is_not_utf8(tmp_path):
    odd = b"Content-Type: api/response\nContent-Length: 3\n\n\xff\xfe!"
    frames = [(0.0, "app", b"connect\n\n"), (0.001, "fs", REPLY.encode()), (0.002, "fs", odd)]
    write_transcript(tmp_path / "a.esl.jsonl", {"app": "fsrouter test"}, frames, (0.003, "fs"))
    transcript = read_transcript(tmp_path / "a.esl.jsonl")
    assert [(e.t, e.direction, e.raw) for e in transcript.entries] == frames
    assert (transcript.eof.t, transcript.eof.direction) == (0.003, "fs")
    assert '"frame_b64"' in (tmp_path / "a.esl.jsonl").read_text()


def test_a_bad_json_line_is_reported_with_its_line_number(tmp_path):
    path = write_lines(tmp_path / "bad.esl.jsonl", HEADER, {"t": 0, "from": "app", "frame": "connect\n\n"},
                       raw_tail='{"t": 0.1, "from": "fs", "frame": oops}\n')
    with pytest.raises(TranscriptError) as err:
        read_transcript(path)
    assert err.value.line == 3
    assert str(err.value).startswith(f"{path}:3: bad JSON")


def test_a_frame_truncated_mid_body_is_reported_with_its_line_number(tmp_path):
    path = write_lines(tmp_path / "cut.esl.jsonl", HEADER, {"t": 0, "from": "app", "frame": "connect\n\n"},
                       {"t": 0.1, "from": "fs", "frame": REPLY}, {"t": 0.2, "from": "fs", "frame": EVENT[:-10]})
    with pytest.raises(TranscriptError) as err:
        read_transcript(path)
    assert err.value.line == 4 and "truncated" in err.value.message


def test_a_file_cut_off_in_the_middle_of_a_line_names_that_line(tmp_path):
    path = write_lines(tmp_path / "crash.esl.jsonl", HEADER, {"t": 0, "from": "app", "frame": "connect\n\n"},
                       raw_tail='{"t": 0.1, "from": "fs", "fra')
    with pytest.raises(TranscriptError) as err:
        read_transcript(path)
    assert err.value.line == 3 and "cut off" in err.value.message


def test_a_prefix_left_by_a_crash_between_lines_is_a_valid_transcript_without_an_end(tmp_path):
    path = write_lines(tmp_path / "prefix.esl.jsonl", HEADER, {"t": 0, "from": "app", "frame": "connect\n\n"})
    transcript = read_transcript(path)
    assert len(transcript.entries) == 1 and transcript.eof is None


def test_a_missing_header_and_an_unknown_direction_are_named(tmp_path):
    no_header = write_lines(tmp_path / "h.esl.jsonl", {"t": 0, "from": "app", "frame": "connect\n\n"})
    with pytest.raises(TranscriptError, match=r":1: line 1 must be the header"):
        read_transcript(no_header)
    bad_from = write_lines(tmp_path / "d.esl.jsonl", HEADER, {"t": 0, "from": "pbx", "frame": "connect\n\n"})
    with pytest.raises(TranscriptError, match=r":2: 'from' must be"):
        read_transcript(bad_from)


def test_replay_of_a_broken_transcript_prints_the_line_and_exits_1_without_a_traceback(tmp_path, capsys):
    path = write_lines(tmp_path / "bad.esl.jsonl", HEADER, raw_tail="not json\n")
    assert main(["replay", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:2: bad JSON" in out and "Traceback" not in out


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="shared/esl-sessions is not beside the checkout")
def test_transcript_show_renders_every_real_capture_as_a_timeline(capsys):
    for path in find_transcripts([CAPTURES]):
        assert main(["transcript", "show", str(path)]) == 0
        out = capsys.readouterr().out
        assert "app  connect" in out and "fs   channel data: " in out and "closes the connection" in out
    assert main(["transcript", "show", str(CAPTURES / "08_bridge_fail_busy.esl.jsonl")]) == 0
    assert "CHANNEL_EXECUTE_COMPLETE bridge" in capsys.readouterr().out


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="shared/esl-sessions is not beside the checkout")
def test_the_real_captures_replay_through_the_session_layer_with_every_reply_and_completion_matched():
    from fsrouter.replay.runner import ReplayOptions, replay_all

    run = replay_all([CAPTURES], ReplayOptions())
    assert [(r.name, r.status) for r in run.results if r.status != "ok"] == []
    basic = next(r for r in run.results if r.name.startswith("01_"))
    assert "protocol replay" in basic.note and "2/2 executes completed by Application-UUID" in basic.note
    assert "hangup NORMAL_CLEARING" in basic.note


def test_hostile_transcript_lines_are_located_errors_not_tracebacks(tmp_path):
    from fsrouter.errors import TranscriptError
    from fsrouter.replay.transcript import read_transcript

    cases = {
        "wrong header type": '{"esl_transcript": 1, "employee_status": "zzz"}\n',
        "huge t": '{"esl_transcript": 1}\n{"t": 1e308, "from": "fs", "frame": "x"}\n',
        "deep json": '{"esl_transcript": 1}\n' + "[" * 100000 + "]" * 100000 + "\n",
    }
    for name, text in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.esl.jsonl"
        path.write_text(text)
        try:
            read_transcript(path)
        except TranscriptError as exc:
            assert exc.line in (1, 2), name
        else:
            raise AssertionError(f"{name}: accepted")
