"""FrameParser and Frame/Event on hand-made input: valid shapes, limits, malformed input.

Every input is fed in several chunkings (whole, byte by byte, random cuts): the frames,
or the error, must not depend on how the bytes arrive.
"""

from __future__ import annotations

import random
import re

import pytest

from fsrouter.errors import EslProtocolError
from fsrouter.esl import Event, Frame, FrameParser
from fsrouter.esl.headblock import find_blank_line

REPLY = b"Content-Type: command/reply\nReply-Text: +OK\n\n"
API = b"Content-Type: api/response\nContent-Length: 4\n\n+OK\n"


def _event_frame(body: bytes, ctype: bytes = b"text/event-plain") -> bytes:
    return b"Content-Length: %d\nContent-Type: %s\n\n" % (len(body), ctype) + body


def _chunkings(data: bytes):
    yield [data]
    yield [data[i : i + 1] for i in range(len(data))]
    for seed in range(5):
        rng = random.Random(seed)
        cuts, i = [], 0
        while i < len(data):
            step = rng.randint(1, 40)
            cuts.append(data[i : i + step])
            i += step
        yield cuts


def _parse(data: bytes, **limits) -> list[Frame]:
    """Frames of ``data``, checked to be the same in every chunking."""
    results = []
    for chunks in _chunkings(data):
        parser = FrameParser(**limits)
        frames = [f for chunk in chunks for f in parser.feed(chunk)]
        assert parser.buffered == 0
        results.append([(f.command, f.raw, f.headers, f.body) for f in frames])
    assert all(r == results[0] for r in results)
    return FrameParser(**limits).feed(data)


# --- malformed input: (bytes, limits, words the error must contain) ------------------

MALFORMED = {
    "content_length_not_a_number": (b"Content-Type: api/response\nContent-Length: 12a\n\n", {}, "not a decimal"),
    "content_length_empty": (b"Content-Type: api/response\nContent-Length:\n\n", {}, "not a decimal"),
    "content_length_with_sign": (b"Content-Length: +5\n\nhello", {}, "not a decimal"),
    "content_length_negative": (b"Content-Type: api/response\nContent-Length: -5\n\n", {}, "negative"),
    "content_length_over_the_limit": (b"Content-Length: 101\n\n" + b"x" * 101, {"max_body_bytes": 100}, "exceeds the limit of 100"),
    "content_length_over_16_mib_by_default": (b"Content-Length: 16777217\n\n", {}, "exceeds the limit"),
    "content_length_absurdly_long": (b"Content-Length: " + b"9" * 40 + b"\n\n", {}, "exceeds the limit"),
    "content_length_conflicting": (b"Content-Length: 1\ncontent-length: 2\n\nab", {}, "conflicting Content-Length"),
    "header_line_without_colon": (b"Content-Type: command/reply\nReply-Text +OK\n\n", {}, "without a colon"),
    "goodbye_text_without_headers": (b"Disconnected, goodbye.\n\n", {}, "without a colon"),
    "header_line_with_empty_name": (b"Content-Type: command/reply\n: +OK\n\n", {}, "empty name"),
    "too_many_headers": (b"A: 1\nB: 2\nC: 3\nD: 4\n\n", {"max_headers": 3}, "more than max_headers (3)"),
    "header_block_too_big": (b"X-Long: " + b"a" * 100 + b"\n\n", {"max_header_bytes": 64}, "exceeds max_header_bytes (64)"),
    "header_block_too_big_without_end": (b"X-Long: " + b"a" * 200, {"max_header_bytes": 64}, "exceeds max_header_bytes (64)"),
    # the two-line heads the parser frames without splitting keep the general limits
    "event_head_length_over_the_limit": (b"Content-Length: 101\nContent-Type: text/event-plain\n\n",
                                         {"max_body_bytes": 100}, "exceeds the limit of 100"),
    "event_head_length_of_16_digits": (b"Content-Length: " + b"9" * 16 + b"\nContent-Type: x\n\n", {}, "exceeds the limit"),
    "reply_head_too_big": (b"Content-Type: command/reply\nReply-Text: " + b"a" * 100 + b"\n\n",
                           {"max_header_bytes": 64}, "exceeds max_header_bytes (64)"),
    "reply_head_over_max_headers": (REPLY, {"max_headers": 1}, "more than max_headers (1)"),
    "event_head_over_max_headers": (b"Content-Length: 0\nContent-Type: text/event-plain\n\n", {"max_headers": 1},
                                    "more than max_headers (1)"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_input_raises_an_error_naming_the_problem_in_every_chunking(name):
    data, limits, words = MALFORMED[name]
    for chunks in _chunkings(data):
        parser = FrameParser(**limits)
        with pytest.raises(EslProtocolError, match=re.escape(words)):
            for chunk in chunks:
                parser.feed(chunk)


# Two-line heads framed by one pattern match when a frame arrives whole (fed at once) and
# by the general parse when it arrives in pieces (_parse compares every chunking).
SHORT_HEADS = {
    "event": (_event_frame(b"Event-Name: HEARTBEAT\n\n"), "text/event-plain"),
    "event_leading_zeros": (b"Content-Length: 0005\nContent-Type: text/event-plain\n\nabcde", "text/event-plain"),
    "event_empty_body": (b"Content-Length: 0\nContent-Type: text/event-plain\n\n", "text/event-plain"),
    "event_empty_type": (b"Content-Length: 2\nContent-Type: \n\nab", ""),
    "event_non_utf8_type": (b"Content-Length: 1\nContent-Type: t\xff\n\nx", "t\ufffd"),
    "reply": (REPLY, "command/reply"),
    "reply_with_colons": (b"Content-Type: command/reply\nReply-Text: -ERR no: such: thing\n\n", "command/reply"),
    "reply_mentioning_length": (b"Content-Type: command/reply\nReply-Text: +OK Content-Length: 5\n\n", "command/reply"),
    "reply_empty_text": (b"Content-Type: command/reply\nReply-Text: \n\n", "command/reply"),
    "reply_non_utf8": (b"Content-Type: command/reply\nReply-Text: +OK \xc3\x28 \xe2\x82\n\n", "command/reply"),
    "reply_then_event": (REPLY + _event_frame(b"Event-Name: HEARTBEAT\n\n"), "command/reply"),
}


@pytest.mark.parametrize("name", sorted(SHORT_HEADS))
def test_a_two_line_head_frames_the_same_whole_or_in_pieces(name):
    data, ctype = SHORT_HEADS[name]
    frames = _parse(data)
    assert frames[0].content_type == ctype
    assert b"".join(f.raw for f in frames) == data


@pytest.mark.parametrize("name", sorted(SHORT_HEADS))
def test_a_two_line_head_framed_whole_reads_like_the_general_parse(name):
    # fed whole, the pattern's frame keeps its head raw (split on demand); fed a byte at a
    # time, the general parse splits it at once: every accessor must agree
    data, _ = SHORT_HEADS[name]
    whole = FrameParser().feed(data)
    parser = FrameParser()
    pieces = [f for i in range(len(data)) for f in parser.feed(data[i:i + 1])]
    assert whole[0]._headers is None and pieces[0]._headers is not None  # the two paths were taken
    for a, b in zip(whole, pieces, strict=True):
        assert (a.content_type, a.reply_text, a.is_ok, a.event_name(), a.headers, a.body, a.raw) == \
               (b.content_type, b.reply_text, b.is_ok, b.event_name(), b.headers, b.body, b.raw)


@pytest.mark.parametrize("limits, words", [({"max_body_bytes": 4}, "exceeds the limit of 4 bytes"),
                                           ({"max_header_bytes": 20}, "max_header_bytes"),
                                           ({"max_headers": 1}, "max_headers")])
def test_a_two_line_head_over_a_limit_is_refused_even_when_it_arrives_whole(limits, words):
    with pytest.raises(EslProtocolError, match=words):
        FrameParser(**limits).feed(b"Content-Length: 5\nContent-Type: text/event-plain\n\nabcde")


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_a_chunk_that_is_not_bytes_frames_the_same(kind):
    data = API + REPLY + _event_frame(b"Event-Name: HEARTBEAT\n\n")
    frames = FrameParser().feed(kind(data))
    assert [(f.headers, f.body, f.raw) for f in frames] == [(f.headers, f.body, f.raw) for f in _parse(data)]


def test_a_two_line_reply_keeps_its_text_whole_after_the_first_separator():
    (frame,) = _parse(b"Content-Type: command/reply\nReply-Text: -ERR no: such: thing\n\n")
    assert frame.headers == {"Content-Type": "command/reply", "Reply-Text": "-ERR no: such: thing"}
    assert frame.body == b""


def test_a_valid_frame_before_the_malformed_one_is_still_returned_by_earlier_feeds():
    parser = FrameParser()
    assert len(parser.feed(REPLY)) == 1
    with pytest.raises(EslProtocolError, match="negative"):
        parser.feed(b"Content-Length: -1\n\n")


def test_parser_is_unusable_after_an_error():
    parser = FrameParser()
    with pytest.raises(EslProtocolError):
        parser.feed(b"no colon here\n\n")
    with pytest.raises(EslProtocolError, match="unusable after an earlier error"):
        parser.feed(REPLY)


def test_header_block_of_exactly_max_header_bytes_is_accepted_in_every_chunking():
    block = b"X-Long: " + b"a" * 56  # 64 bytes
    assert len(block) == 64
    (frame,) = _parse(block + b"\n\n", max_header_bytes=64)
    assert frame.headers == {"X-Long": "a" * 56}


def test_limits_must_be_positive_ints():
    with pytest.raises(ValueError, match="max_body_bytes"):
        FrameParser(max_body_bytes=0)
    with pytest.raises(ValueError, match="max_headers"):
        FrameParser(max_headers=True)


# --- framing --------------------------------------------------------------------------


def test_partial_frames_are_held_until_complete():
    parser = FrameParser()
    assert parser.feed(API[:10]) == []
    assert parser.buffered == 10
    assert parser.feed(API[10:-2]) == []  # headers complete, body short
    assert parser.buffered == len(API) - 2
    (frame,) = parser.feed(API[-2:])
    assert frame.body == b"+OK\n"
    assert parser.buffered == 0


def test_several_frames_in_one_feed_come_out_in_order_and_the_rest_is_kept():
    parser = FrameParser()
    frames = parser.feed(REPLY + API + REPLY + API[:7])
    assert [f.raw for f in frames] == [REPLY, API, REPLY]
    assert parser.buffered == 7
    assert [f.raw for f in parser.feed(API[7:])] == [API]


def test_non_utf8_body_bytes_survive_intact():
    body = b"\xff\xfe\x00\x80abc\xc3"
    (frame,) = _parse(b"Content-Type: api/response\nContent-Length: 8\n\n" + body)
    assert frame.body == body
    assert frame.text() == "\ufffd\ufffd\x00\ufffdabc\ufffd"


def test_content_length_counts_bytes_of_utf8_text():
    body = "café ñ €".encode()
    (frame,) = _parse(b"Content-Type: api/response\nContent-Length: 12\n\n" + body + REPLY)[:1]
    assert frame.text() == "café ñ €"


def test_lowercase_content_length_frames_the_body():
    data = b"content-type: text/plain\ncontent-length: 5\n\nhello" + REPLY
    frames = _parse(data)
    assert frames[0].body == b"hello"
    assert frames[0].content_type == "text/plain"
    assert frames[1].raw == REPLY


def test_headers_keep_wire_order_and_raw_values():
    (frame,) = _parse(b"Content-Length: 0\nZ-Last: a%20b\nContent-Type: x/y\n\n")
    assert list(frame.headers) == ["Content-Length", "Z-Last", "Content-Type"]
    assert frame.headers["Z-Last"] == "a%20b"


def test_crlf_line_ends_from_a_peer_are_tolerated():
    data = b"Content-Type: api/response\r\nContent-Length: 3\r\n\r\nabc" + REPLY
    frames = _parse(data)
    assert frames[0].headers == {"Content-Type": "api/response", "Content-Length": "3"}
    assert frames[0].body == b"abc"
    assert frames[1].reply_text == "+OK"


def test_a_header_without_space_after_the_colon_is_accepted_and_the_first_colon_splits():
    (frame,) = _parse(b"Content-Type:command/reply\nReply-Text: -ERR a: b\n\n")
    assert frame.headers == {"Content-Type": "command/reply", "Reply-Text": "-ERR a: b"}


def test_blank_lines_between_frames_are_skipped():
    frames = _parse(b"\n\r\n" + REPLY + b"\n\n\n" + API + b"\n")
    assert [f.raw for f in frames] == [REPLY, API]


def test_unknown_content_types_still_frame_by_content_length():
    data = b"Content-Type: log/data\nContent-Length: 6\nLog-Level: 7\n\nline\n\n" + REPLY
    frames = _parse(data)
    assert frames[0].body == b"line\n\n"
    assert frames[0].reply_text is None and not frames[0].is_ok
    assert frames[1].raw == REPLY


def test_command_frames_keep_the_first_line_as_the_command():
    data = b"api uuid_setvar u v a:b\n\nsendmsg\ncall-command: hangup\nhangup-cause: USER_BUSY\n\n"
    frames = FrameParser(commands=True).feed(data)
    assert [f.command for f in frames] == ["api uuid_setvar u v a:b", "sendmsg"]
    assert frames[0].headers == {}
    assert frames[1].headers == {"call-command": "hangup", "hangup-cause": "USER_BUSY"}


def test_without_commands_mode_a_command_line_is_malformed():
    with pytest.raises(EslProtocolError, match="without a colon"):
        FrameParser().feed(b"connect\n\n")


# --- Frame ----------------------------------------------------------------------------


def test_reply_text_is_raw_for_ordinary_replies():
    (frame,) = _parse(b"Content-Type: command/reply\nReply-Text: hello%20world & more=x%y\n\n")
    assert frame.reply_text == "hello%20world & more=x%y"
    assert not frame.is_ok


def test_is_ok_reads_the_api_response_body():
    (ok, err) = _parse(API + b"Content-Type: api/response\nContent-Length: 5\n\n-ERR\n")
    assert ok.is_ok and not err.is_ok


def test_a_frame_built_by_hand_renders_its_raw_bytes_and_parses_back():
    frame = Frame({"Content-Type": "api/response", "Content-Length": "2"}, b"ok")
    assert frame.raw == b"Content-Type: api/response\nContent-Length: 2\n\nok"
    assert FrameParser().feed(frame.raw) == [frame]


# --- events ---------------------------------------------------------------------------


def test_event_values_are_decoded_per_value_after_splitting_lines():
    body = b"Event-Name: CUSTOM\nMulti: line1%0Aline2\nPlus: a+b%2Bc\nBad-Utf8: %FF%41\nvariable_x: 100%25\n\n"
    (frame,) = _parse(_event_frame(body))
    event = frame.event()
    assert event.name == "CUSTOM"
    assert event["Multi"] == "line1\nline2"
    assert event["Plus"] == "a+b+c"
    assert event["Bad-Utf8"] == "\ufffdA"
    assert event.variable("x") == "100%"
    assert frame.headers["Content-Length"] == str(len(body))


def test_event_is_parsed_once_and_cached():
    (frame,) = _parse(_event_frame(b"Event-Name: DTMF\nDTMF-Digit: 5\n\n"))
    assert frame.event() is frame.event()


def test_event_accessors():
    event = Event({"Event-Name": "DTMF", "variable_read_result": "success"})
    assert event.name == "DTMF"
    assert event.get("Nope") is None and event.get("Nope", "x") == "x"
    assert "Event-Name" in event and "Nope" not in event
    assert event.variable("read_result") == "success"
    assert event.variable("nope", "_undef_") == "_undef_"
    with pytest.raises(KeyError):
        event["Nope"]


def test_event_inner_body_is_read_by_its_own_content_length():
    body = b"Event-Name: BACKGROUND_JOB\nJob-UUID: j1\nContent-Length: 6\n\n+OK \n\n"
    event = _parse(_event_frame(body))[0].event()
    assert event.body == b"+OK \n\n"
    assert event["Job-UUID"] == "j1"


def test_event_without_trailing_blank_line_and_with_tolerated_line_forms():
    event = _parse(_event_frame(b"Event-Name:HEARTBEAT\r\nA: 1\r\n"))[0].event()
    assert event.headers == {"Event-Name": "HEARTBEAT", "A": "1"}
    assert event.body is None


@pytest.mark.parametrize(
    "body, ctype, words",
    [
        (b"Event-Name: X\nno colon\n\n", b"text/event-plain", "no 'Name: value' form"),
        (b"Event-Name: X\nContent-Length: 10\n\nshort", b"text/event-plain", "only 5 bytes follow"),
        (b"Event-Name: X\nContent-Length: ten\n\n", b"text/event-plain", "inner Content-Length is not a decimal"),
        (b"{not json", b"text/event-json", "not valid JSON"),
        (b"[1, 2]", b"text/event-json", "JSON list, not an object"),
    ],
)
def test_malformed_event_bodies_raise_on_event(body, ctype, words):
    (frame,) = _parse(_event_frame(body, ctype))  # framing itself is fine
    with pytest.raises(EslProtocolError, match=re.escape(words)):
        frame.event()


def test_json_event_keeps_raw_values_and_its_body():
    body = b'{"Event-Name": "BACKGROUND_JOB", "Job-UUID": "j%41", "Array": ["a", "b"], "N": 3, "_body": "+OK x\\n"}'
    event = _parse(_event_frame(body, b"text/event-json"))[0].event()
    assert event["Job-UUID"] == "j%41"
    assert event["Array"] == "ARRAY::a|:b"
    assert event["N"] == "3"
    assert event.body == b"+OK x\n"
    assert "_body" not in event


def test_event_on_a_frame_without_an_event_raises():
    (reply,) = _parse(REPLY)
    with pytest.raises(EslProtocolError, match="'command/reply' carries no event"):
        reply.event()


@pytest.mark.parametrize("other", [b"", b"Plain: line\n", b"Dup: 1\nDup: 2\n", b"NoSpace:x\n"])
def test_a_name_value_line_splits_at_the_first_colon_whatever_the_other_lines(other):
    (frame,) = _parse(b"Content-Type: x/y\n" + other + b"X:y: z\n\n")
    assert frame.headers["X"] == "y: z"
    event = _parse(_event_frame(b"Event-Name: E\n" + other + b"X:y: z\n\n"))[0].event()
    assert event["X"] == "y: z"


def test_an_event_line_with_an_empty_name_is_malformed():
    (frame,) = _parse(_event_frame(b"Event-Name: E\n: value\n\n"))
    with pytest.raises(EslProtocolError, match="no 'Name: value' form"):
        frame.event()


@pytest.mark.parametrize("block, expected", [
    (b"A: 1\nB: 2\n\nbody", (9, 2)),
    (b"A: 1\r\nB: 2\r\n\r\nbody", (11, 3)),
    (b"A: 1\rx\nB: 2\n\n", (11, 2)),  # a lone "\r" in a value: the "\n\n" still ends the block
    (b"A: 1\n\r\nB: 2\n\n", (4, 3)),  # the first separator wins, whichever form it has
    (b"A: 1\nB: 2\n", (-1, 0)),
    (b"\r\r\n", (-1, 0)),
])
def test_the_blank_line_ending_a_header_block_is_found_in_either_form(block, expected):
    assert find_blank_line(block) == expected
    assert find_blank_line(bytearray(block)) == expected
