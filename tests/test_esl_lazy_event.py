"""Lazily parsed events and connect replies answer exactly like fully parsed ones, on every
real captured event and connect reply."""

import json

import pytest

from fsrouter.esl import FrameParser
from fsrouter.esl import parser as parser_module
from fsrouter.errors import EslProtocolError
from fsrouter.esl.frame import CONNECT_REPLY_PEEKS, Event
from fsrouter.esl.headblock import is_regular_head_py
from tests.captures import CAPTURES
from tests.test_esl_speedups import NOT_BUILT, SPEEDUPS


def captured_events():
    for path in sorted(CAPTURES.glob("*.esl.jsonl")):
        for line in path.read_text().splitlines()[1:]:
            record = json.loads(line)
            if record.get("from") == "fs" and "frame" in record and "event-plain" in record["frame"][:80]:
                yield path.name, record["frame"].encode()


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="shared/esl-sessions is not beside the checkout")
def test_every_header_peeked_from_a_lazy_event_equals_the_fully_parsed_value():
    checked = 0
    for name, raw in captured_events():
        full = FrameParser().feed(raw)[0].event().headers  # .headers parses everything
        for key, value in full.items():
            lazy = FrameParser().feed(raw)[0].event()  # a fresh, unparsed event per lookup
            assert lazy.get(key) == value, (name, key)
            checked += 1
        missing = FrameParser().feed(raw)[0].event()
        assert missing.get("variable_never_set_anywhere") is None
        assert missing.variable("never_set_anywhere", "dflt") == "dflt"
    assert checked > 10000


def test_a_lazy_event_parses_whole_after_a_few_lookups_and_then_uses_the_dict():
    event = Event(head=b"Event-Name: E\nA: 1\nB: %41\nA: 2")
    assert (event.name, event.get("A"), event.get("B")) == ("E", "2", "A")  # last A wins, %41 decoded
    assert event.headers == {"Event-Name": "E", "A": "2", "B": "A"}
    assert event.get("B") == "A" and "A" in event


def captured_connect_replies():
    for path in sorted(CAPTURES.glob("*.esl.jsonl")):
        for line in path.read_text().splitlines()[1:]:
            record = json.loads(line)
            head = record.get("frame", "").split("\n\n", 1)[0]
            if record.get("from") == "fs" and "Event-Name: CHANNEL_DATA" in head and "command/reply" in head:
                yield path.name, record["frame"].encode()


def eager(raw: bytes, monkeypatch):
    """The frame as the parser builds it when no header block is kept raw."""
    with monkeypatch.context() as m:
        m.setattr(parser_module, "LAZY_HEAD_BYTES", 1 << 30)
        [frame] = FrameParser().feed(raw)
    assert frame._headers is not None
    return frame


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="shared/esl-sessions is not beside the checkout")
def test_a_captured_connect_reply_is_kept_raw_and_answers_exactly_like_the_eager_parse(monkeypatch):
    checked = 0
    for name, raw in captured_connect_replies():
        full = eager(raw, monkeypatch)
        [lazy] = FrameParser().feed(raw)
        assert lazy._headers is None, name  # kept raw: ~100 headers not split
        assert (lazy.content_type, lazy.reply_text, lazy.is_ok) == (full.content_type, full.reply_text, full.is_ok)
        for key, value in full.event().headers.items():
            [fresh] = FrameParser().feed(raw)
            assert fresh.event().get(key) == value, (name, key)  # one scan of the raw block
            checked += 1
        assert lazy.headers == full.headers and lazy.event().headers == full.event().headers
        assert lazy.raw == raw == full.raw
    assert checked > 500


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="shared/esl-sessions is not beside the checkout")
def test_channel_data_is_split_whole_once_more_lookups_than_the_scan_budget_come(monkeypatch):
    [name_raw] = list(captured_connect_replies())[:1]
    full = eager(name_raw[1], monkeypatch).event().headers
    [frame] = FrameParser().feed(name_raw[1])
    data = frame.event()
    keys = list(full)[:CONNECT_REPLY_PEEKS + 5]
    assert [data.get(k) for k in keys] == [full[k] for k in keys]
    assert data._headers is not None  # the budget ran out: parsed whole, then dict lookups


@pytest.mark.parametrize("odd", [
    b"Reply-Text: +OK: with a raw colon\n",  # a second colon on a line
    b"Content-Length: 0\n",  # a body length to honour
    b"content-length: 0\n",
])
def test_a_large_header_block_that_is_not_regular_is_parsed_eagerly_and_correctly(odd):
    lines = b"".join(b"Name-%d: value%%20%d\n" % (n, n) for n in range(80))
    raw = b"Content-Type: command/reply\n" + odd + lines + b"\n"
    [frame] = FrameParser().feed(raw)
    assert frame._headers is not None
    assert frame.headers["Name-79"] == "value%2079" and frame.content_type == "command/reply"
    assert frame.body == b""


def test_a_large_regular_block_keeps_its_frame_boundary_and_the_next_frame_follows():
    lines = b"".join(b"Name-%d: value%d\n" % (n, n) for n in range(80))
    first = b"Content-Type: command/reply\nEvent-Name: CHANNEL_DATA\nReply-Text: %2BOK\n" + lines + b"\n"
    second = b"Content-Type: command/reply\nReply-Text: +OK Events Enabled\n\n"
    frames = []
    parser = FrameParser()
    for i in range(0, len(first + second), 7):  # in small pieces, as TCP may deliver them
        frames += parser.feed((first + second)[i:i + 7])
    assert [f.raw for f in frames] == [first, second]
    assert frames[0]._headers is None and frames[0].reply_text == "+OK"
    assert frames[0].event().get("Name-42") == "value42" and frames[1].reply_text == "+OK Events Enabled"


def _connect_reply(*extra: bytes) -> bytes:
    lines = [b"Event-Name: CHANNEL_DATA", b"Unique-ID: real"] + [b"variable_pad%d: v" % i for i in range(100)]
    return b"\n".join(lines + list(extra) + [b"Content-Type: command/reply", b"Reply-Text: %2BOK%0A"]) + b"\n\n"


def test_a_large_head_with_a_line_without_a_colon_is_refused_as_the_eager_parse_refuses_it(monkeypatch):
    raw = _connect_reply(b"variable_x: a: b", b"no colon here")  # colon counts balance, lines do not
    with pytest.raises(EslProtocolError):
        eager(raw, monkeypatch)
    with pytest.raises(EslProtocolError):
        FrameParser().feed(raw)


def _event(body: bytes):
    return FrameParser().feed(b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body)[0].event()


def test_an_event_with_a_name_colon_value_line_answers_like_the_eager_parse():
    assert _event(b"Event-Name: X\nA: b: c\nB:value\n\n").get("B") == "value"


def test_lines_after_an_events_blank_line_do_not_override_its_headers():
    assert _event(b"Event-Name: X\nUnique-ID: real\n\nUnique-ID: fake: z\n").get("Unique-ID") == "real"


@pytest.mark.parametrize("head, regular", [
    (b"A: 1\nB: 2", True), (b"A: 1\r\nB: 2", True), (b"A: 1", True),
    (b"A: 1: 2\nB", False), (b"A: 1\n\nB: 2", False), (b"A:1\nB: 2", False), (b": 1\nB: 2", False),
    (b"A: 1\nB: 2\x00", False), (b"A: 1\nContent-Length: 2", False), (b"", False), (b"A: x:y", False),
    (b"A: raw space\nB: 2", False),
    (b"A: 1\n:x y", False), (b":x y\nB: 2", False),  # an empty name, its colon not followed by the space
])
@pytest.mark.parametrize("check", [
    is_regular_head_py,
    pytest.param(getattr(SPEEDUPS, "is_regular_head", None), id="C",
                 marks=pytest.mark.skipif(SPEEDUPS is None, reason=NOT_BUILT)),
])
def test_a_regular_head_has_exactly_one_colon_and_space_on_every_line(head, regular, check):
    assert check(head) is regular
