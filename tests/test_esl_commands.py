"""Command serializers: exact bytes, the probe's commands reproduced, injection refused,
and every output read back by FrameParser(commands=True)."""

from __future__ import annotations

import json

import pytest

from fsrouter.esl import FrameParser
from fsrouter.esl import commands as c
from tests.captures import CAPTURES

U = "2783ac61-6bc1-4d90-ab63-fc4d55527cef"
SESSIONS = CAPTURES


@pytest.mark.parametrize(
    "made, expected",
    [
        (c.connect(), b"connect\n\n"),
        (c.myevents(), b"myevents\n\n"),
        (c.myevents("json"), b"myevents json\n\n"),
        (c.linger(), b"linger\n\n"),
        (c.linger(2), b"linger 2\n\n"),
        (c.nolinger(), b"nolinger\n\n"),
        (c.exit(), b"exit\n\n"),
        (c.event("plain", "ALL"), b"event plain ALL\n\n"),
        (c.event("plain", "CHANNEL_EXECUTE_COMPLETE", "CUSTOM", "my::sub"), b"event plain CHANNEL_EXECUTE_COMPLETE CUSTOM my::sub\n\n"),
        (c.noevents(), b"noevents\n\n"),
        (c.nixevent("CHANNEL_PARK", "CHANNEL_STATE"), b"nixevent CHANNEL_PARK CHANNEL_STATE\n\n"),
        (c.filter("Unique-ID", U), b"filter Unique-ID " + U.encode() + b"\n\n"),
        (c.api("uuid_getvar " + U + " pagd_result"), b"api uuid_getvar " + U.encode() + b" pagd_result\n\n"),
        (c.bgapi("version"), b"bgapi version\n\n"),
        (c.bgapi("version", "j-1"), b"bgapi version\nJob-UUID: j-1\n\n"),
        (c.getvar("pct_var"), b"getvar pct_var\n\n"),
        (c.hangup("NORMAL_CLEARING"), b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n"),
        (c.hangup("USER_BUSY", uuid=U), b"sendmsg " + U.encode() + b"\ncall-command: hangup\nhangup-cause: USER_BUSY\n\n"),
        (c.execute("answer", None, U), b"sendmsg\ncall-command: execute\nexecute-app-name: answer\nEvent-UUID: " + U.encode() + b"\n\n"),
        (c.execute("answer", "", U), b"sendmsg\ncall-command: execute\nexecute-app-name: answer\nEvent-UUID: " + U.encode() + b"\n\n"),
        (
            c.execute("playback", "a.wav", "e1", event_lock=True, loops=2, uuid="u1"),
            b"sendmsg u1\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: a.wav\n"
            b"Event-UUID: e1\nevent-lock: true\nloops: 2\n\n",
        ),
        (c.sendmsg({"call-command": "unicast", "local-ip": "127.0.0.1"}), b"sendmsg\ncall-command: unicast\nlocal-ip: 127.0.0.1\n\n"),
    ],
)
def test_each_serializer_writes_the_exact_bytes(made, expected):
    assert made == expected


def _app_frames(prefix: str):
    (path,) = SESSIONS.glob(prefix + "*.esl.jsonl")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()][1:]
    stream = b"".join(r["frame"].encode() for r in records if r.get("from") == "app" and "frame" in r)
    return FrameParser(commands=True).feed(stream)


@pytest.mark.skipif(not SESSIONS.is_dir(), reason=f"no ESL captures in {SESSIONS}")
@pytest.mark.parametrize("prefix", ["01_", "02_"])
def test_execute_bytes_equal_the_probe_frames_of_captures_01_and_02(prefix):
    executes = [f for f in _app_frames(prefix) if f.headers.get("call-command") == "execute"]
    assert len(executes) >= 2
    for frame in executes:
        h = frame.headers
        assert c.execute(h["execute-app-name"], h.get("execute-app-arg"), h["Event-UUID"]) == frame.raw


def _rebuild(frame) -> bytes:
    """Our serializer call for one command the probe sent."""
    word, _, rest = frame.command.partition(" ")
    h = frame.headers
    simple = {"connect": c.connect, "exit": c.exit, "noevents": c.noevents, "nolinger": c.nolinger}
    if word in simple:
        return simple[word]()
    if word == "myevents":
        return c.myevents(rest or "plain")
    if word == "linger":
        return c.linger(int(rest) if rest else None)
    if word == "event":
        fmt, *names = rest.split(" ")
        return c.event(fmt, *names)
    if word == "filter":
        header, value = rest.split(" ", 1)
        return c.filter(header, value)
    if word == "api":
        return c.api(rest)
    if word == "bgapi":
        return c.bgapi(rest, h.get("Job-UUID"))
    if word == "getvar":
        return c.getvar(rest)
    assert word == "sendmsg", frame
    uuid = rest or None
    if h["call-command"] == "hangup":
        return c.hangup(h["hangup-cause"], uuid)
    assert h["call-command"] == "execute"
    arg = frame.body.decode() if frame.body else h.get("execute-app-arg")
    return c.execute(
        h["execute-app-name"], arg, h["Event-UUID"], event_lock=h.get("event-lock") == "true",
        loops=int(h["loops"]) if "loops" in h else None, uuid=uuid, arg_in_body=bool(frame.body),
    )


@pytest.mark.skipif(not SESSIONS.is_dir(), reason=f"no ESL captures in {SESSIONS}")
def test_every_command_the_probe_sent_in_every_capture_is_reproduced_byte_for_byte():
    checked = 0
    for path in sorted(SESSIONS.glob("*.esl.jsonl")):
        for frame in _app_frames(path.name[:3]):
            assert _rebuild(frame) == frame.raw, (path.name, frame.raw)
            checked += 1
    assert checked > 200


def test_a_multi_line_argument_goes_in_a_lowercase_text_plain_body():
    made = c.execute("set", "a=1\nb=2", "e1")
    assert made == (
        b"sendmsg\ncall-command: execute\nexecute-app-name: set\nEvent-UUID: e1\n"
        b"content-type: text/plain\ncontent-length: 7\n\na=1\nb=2"
    )


def test_a_long_argument_goes_in_a_body_counted_in_utf8_bytes():
    arg = "é" * (c.ARG_HEADER_MAX_BYTES // 2 + 1)  # 2 bytes a character
    (frame,) = FrameParser(commands=True).feed(c.execute("playback", arg, "e1"))
    assert "execute-app-arg" not in frame.headers
    assert frame.headers["content-length"] == str(len(arg.encode()))
    assert frame.body.decode() == arg
    short = "é" * (c.ARG_HEADER_MAX_BYTES // 2)
    assert FrameParser(commands=True).feed(c.execute("playback", short, "e1"))[0].headers["execute-app-arg"] == short


@pytest.mark.parametrize(
    "call",
    [
        lambda: c.api("status\n\nexit"),
        lambda: c.api("status\r"),
        lambda: c.bgapi("version", "j\nEvent-UUID: x"),
        lambda: c.getvar("x\ny"),
        lambda: c.filter("Unique-ID", "u\nx"),
        lambda: c.event("plain", "ALL\n"),
        lambda: c.execute("answer\nexecute-app-name: hangup", None, "e1"),
        lambda: c.execute("playback", "a.wav", "e1\n\nexit"),
        lambda: c.execute("playback", "a.wav\0b", "e1"),
        lambda: c.execute("playback", "a.wav", "e1", uuid="u\n"),
        lambda: c.hangup("NORMAL_CLEARING\n\nexit"),
        lambda: c.sendmsg({"call-command": "execute\nexecute-app-name: hangup"}),
        lambda: c.sendmsg({"bad\nname": "x"}),
        lambda: c.sendmsg({"a: b": "x"}),
    ],
)
def test_cr_or_lf_in_a_command_or_header_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: c.myevents("yaml"),
        lambda: c.event("plain"),
        lambda: c.nixevent(),
        lambda: c.nixevent("CHANNEL PARK"),
        lambda: c.linger(0),
        lambda: c.linger(True),
        lambda: c.api(""),
        lambda: c.execute("", None, "e1"),
        lambda: c.execute("answer", None, ""),
        lambda: c.execute("playback", "x", "e1", loops=0),
    ],
)
def test_meaningless_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize(
    "made",
    [
        c.connect(), c.myevents(), c.linger(), c.linger(5), c.nolinger(), c.exit(), c.event("json", "ALL"),
        c.noevents(), c.nixevent("CHANNEL_PARK", "TALK"), c.filter("Unique-ID", U), c.api("status"), c.bgapi("version", "j"), c.getvar("x"),
        c.execute("answer", None, U), c.execute("set", "a=1\nb=2", U, event_lock=True, loops=3, uuid=U),
        c.execute("playback", "x.wav", U, arg_in_body=True), c.hangup("USER_BUSY"), c.sendmsg({"a": "b"}, U),
    ],
)
def test_the_parser_reads_back_every_serializer_output(made):
    parser = FrameParser(commands=True)
    (frame,) = parser.feed(made)
    assert frame.raw == made
    assert parser.buffered == 0
    assert frame.command == made.split(b"\n", 1)[0].decode()


def test_resume_is_the_bare_command():
    assert c.resume() == b"resume\n\n"
