"""The C helper (fsrouter.esl._speedups) answers exactly like the Python code it stands in
for: the header-block check on every real captured event and connect reply, the frame
parser's fast path on every captured stream, both on mutations of them; and
FSROUTER_PURE_PYTHON turns it off."""

import importlib.util
import json
import os
import random
import subprocess
import sys

import pytest

from fsrouter.errors import EslProtocolError
from fsrouter.esl import headblock
from fsrouter.esl import parser as parser_module
from fsrouter.esl.headblock import REGULAR_MAX_LINES, is_regular_head_py
from fsrouter.esl.parser import FrameParser
from tests.captures import CAPTURES

try:  # the built module itself, whichever check this process runs (FSROUTER_PURE_PYTHON)
    from fsrouter.esl import _speedups as SPEEDUPS
except ImportError:
    SPEEDUPS = None

NOT_BUILT = "fsrouter.esl._speedups is not built (no C compiler at install, or it did not compile)"
needs_c = pytest.mark.skipif(SPEEDUPS is None, reason=NOT_BUILT)


@pytest.mark.skipif(os.environ.get("FSROUTER_REQUIRE_SPEEDUPS") != "1",
                    reason="FSROUTER_REQUIRE_SPEEDUPS=1 not set (.ci/run sets it)")
def test_the_c_helper_is_built_where_it_is_required():
    # CI runs where a compiler is: a C file that stopped compiling must fail there, not skip
    assert SPEEDUPS is not None, NOT_BUILT


def captured_blocks() -> list[bytes]:
    """Every header block a capture's FreeSWITCH side sent: outer heads and event-plain bodies."""
    blocks = []
    for path in sorted(CAPTURES.glob("*.esl.jsonl")):
        for line in path.read_text().splitlines()[1:]:
            record = json.loads(line)
            if record.get("from") == "fs" and "frame" in record:
                head, _, body = record["frame"].encode().partition(b"\n\n")
                blocks.append(head)
                if b"text/event-plain" in head:
                    blocks.append(body.rstrip(b"\r\n"))
    return blocks


#: What a mutation splices in: the bytes that decide the form, and a few that do not.
PIECES = [b":", b" ", b"\n", b"\r", b"\x00", b"\n:", b": ", b"\n\n", b"Content-Length:", b"Content-Length",
          b"a", b"%3A", b"\xff", b"Event-Name: X\n", b"x" * 17]


def mutations(blocks: list[bytes], count: int, seed: int):
    rnd = random.Random(seed)
    for n in range(count):
        if n % 3 == 0:  # short blocks from the pieces alone: edges, empty lines, lone marks
            yield b"".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 10)))
            continue
        block = bytearray(rnd.choice(blocks))
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(block) + 1)
            block[at:at + rnd.randint(0, 2)] = rnd.choice(PIECES)
        yield bytes(block)


@needs_c
@pytest.mark.skipif(not CAPTURES.is_dir(), reason="shared/esl-sessions is not beside the checkout")
def test_the_c_check_agrees_with_python_on_every_captured_block_and_its_mutations():
    blocks = captured_blocks()
    assert len(blocks) > 100 and sum(map(is_regular_head_py, blocks)) > 50  # real, mostly regular input
    regular = irregular = 0
    for block in blocks + list(mutations(blocks, 30000, seed=8)):
        expected = is_regular_head_py(block)
        assert SPEEDUPS.is_regular_head(block) is expected, block[:200]
        regular += expected
        irregular += not expected
    assert regular > 1000 and irregular > 10000  # both answers were exercised


@needs_c
@pytest.mark.parametrize("lines, regular", [(REGULAR_MAX_LINES, True), (REGULAR_MAX_LINES + 1, False)])
def test_the_c_check_has_the_python_checks_line_limit(lines, regular):
    block = b"\n".join([b"A: 1"] * lines)
    assert is_regular_head_py(block) is regular
    assert SPEEDUPS.is_regular_head(block) is regular


@needs_c
@pytest.mark.parametrize("head", [bytearray(b"A: 1\nB: 2"), b"A: 1\nB: 2"])
def test_the_c_check_reads_bytes_and_bytearray_as_python_does(head):
    assert SPEEDUPS.is_regular_head(head) is is_regular_head_py(head) is True


@needs_c
def test_the_c_check_refuses_text_as_python_does():
    with pytest.raises(TypeError):
        is_regular_head_py("A: 1")
    with pytest.raises(TypeError):
        SPEEDUPS.is_regular_head("A: 1")


@needs_c
@pytest.mark.skipif(os.environ.get("FSROUTER_PURE_PYTHON", "") not in ("", "0"), reason="FSROUTER_PURE_PYTHON is set")
def test_the_c_check_is_the_one_in_use_when_built():
    assert headblock.is_regular_head is SPEEDUPS.is_regular_head


@pytest.mark.parametrize("value, pure", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_fsrouter_pure_python_selects_the_python_check(value, pure):
    env = dict(os.environ, FSROUTER_PURE_PYTHON=value)
    code = ("from fsrouter.esl import headblock as h; "
            "print(h.SPEEDUPS is None, h.is_regular_head is h.is_regular_head_py)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    built = importlib.util.find_spec("fsrouter.esl._speedups") is not None  # whatever this process chose
    assert out.split() == ([str(pure or not built)] * 2)


# ---- the parser's fast path in C (short_frames) against the same loop without it ----


#: What a stream mutation splices in: the shapes the fast path tells apart.
STREAM_PIECES = [b"\n", b"\r\n", b"\n\n", b"\r", b":", b"Content-Length: ", b"Content-Length: 5\n",
                 b"Content-Length: 1234567890123456\n", b"Content-Type: command/reply\nReply-Text: +OK\n\n",
                 b"Content-Type: a:b\n", b"Reply-Text: ", b"Content-Length: 0\nContent-Type: x\n\n", b"\x00",
                 b"content-length: 3\n", b"7", b"Content-Type: text/event-plain\n\n"]


def captured_streams() -> list[bytes]:
    """What FreeSWITCH sent in each capture, in order, as one byte stream."""
    streams = []
    for path in sorted(CAPTURES.glob("*.esl.jsonl")):
        frames = [json.loads(line) for line in path.read_text().splitlines()[1:]]
        streams.append(b"".join(r["frame"].encode() for r in frames if r.get("from") == "fs" and "frame" in r))
    return streams


def parsed(stream: bytes, cuts: list[int], limits: dict) -> list:
    """Every frame (raw, body, content type, headers) a parser gives for ``stream`` fed in
    pieces ending at ``cuts``, then the error that stopped it, if any."""
    out, parser, start = [], FrameParser(**limits), 0
    try:
        for end in cuts + [len(stream)]:
            for frame in parser.feed(stream[start:end]):
                out.append((frame.raw, frame.body, frame.content_type, frame.headers))
            start = end
    except EslProtocolError as exc:
        out.append(("error", str(exc)))
    return out


def stream_cases(seed: int, count: int):
    rnd = random.Random(seed)
    streams = captured_streams()
    for n in range(count):
        stream = bytearray(rnd.choice(streams))
        for _ in range(rnd.choice([0, 0, 1, 1, 2, 3])):
            at = rnd.randrange(len(stream) + 1)
            stream[at:at + rnd.randint(0, 2)] = rnd.choice(STREAM_PIECES)
        stream = bytes(stream)
        cuts = sorted(rnd.sample(range(1, len(stream)), min(len(stream) - 1, rnd.choice([0, 1, 3, 20])))) \
            if n % 4 else list(range(1, len(stream)))[::rnd.choice([1, 7, 64])]
        limits = rnd.choice([{}] * 5 + [{"max_header_bytes": 60, "max_body_bytes": 4000},
                                        {"max_body_bytes": 2}, {"max_headers": 1}])
        yield stream, cuts, limits


@needs_c
@pytest.mark.skipif(not CAPTURES.is_dir(), reason="shared/esl-sessions is not beside the checkout")
def test_the_c_fast_path_frames_every_captured_stream_and_its_mutations_as_the_python_loop(monkeypatch):
    assert parser_module._C_SHORT_FRAMES is SPEEDUPS.short_frames or os.environ.get("FSROUTER_PURE_PYTHON")
    monkeypatch.setattr(parser_module, "_C_SHORT_FRAMES", SPEEDUPS.short_frames)
    cases = list(stream_cases(seed=8, count=600))
    with_c = [parsed(*case) for case in cases]
    monkeypatch.setattr(parser_module, "_C_SHORT_FRAMES", None)
    without = [parsed(*case) for case in cases]
    for case, got, expected in zip(cases, with_c, without):
        assert got == expected, (case[0][:300], case[2])
    frames = sum(len(r) for r in without)
    errors = sum(1 for r in without if r and r[-1][0] == "error")
    assert frames > 8000 and 50 < errors < 500  # both answers were exercised


@needs_c
@pytest.mark.parametrize("buf, pos, expected", [
    (b"", 0, ([], 0)),
    (b"\n\r\n", 0, ([], 3)),  # blank lines only: skipped
    (b"Content-Type: command/reply\nReply-Text: +OK\n\n", 0,
     ([(b"Content-Type: command/reply\nReply-Text: +OK\n\n", 45, b"command/reply")], 45)),
    (b"Content-Length: 3\nContent-Type: t\n\nab", 0, ([], 0)),  # the body is not all here: Python decides
    (b"Content-Length: 3\nContent-Type: t\n\nabcX", 0, ([(b"Content-Length: 3\nContent-Type: t\n\nabc", 35, b"t")], 38)),
    (b"Content-Length: 0000000000000003\nContent-Type: t\n\nabc", 0, ([], 0)),  # 16 digits: not the short shape
    (b"Content-Type: a:b\nReply-Text: x\n\n", 0, ([], 0)),  # a colon in the type: not the short shape
    (b"xx\nContent-Type: c\nReply-Text: r\n\n", 3, ([(b"Content-Type: c\nReply-Text: r\n\n", 31, b"c")], 34)),
])
def test_the_c_fast_path_takes_only_whole_short_frames(buf, pos, expected):
    assert SPEEDUPS.short_frames(buf, pos, 65536, 1 << 24) == expected


@needs_c
def test_the_c_fast_path_leaves_a_body_over_the_limit_to_the_python_loop():
    frame = b"Content-Length: 5\nContent-Type: t\n\nabcde"
    assert SPEEDUPS.short_frames(frame, 0, 65536, 4) == ([], 0)
    with pytest.raises(EslProtocolError, match="exceeds the limit"):
        FrameParser(max_body_bytes=4).feed(frame)


@needs_c
@pytest.mark.parametrize("limits", [{"max_body_bytes": 2 ** 63}, {"max_header_bytes": 2 ** 70}])
def test_limits_beyond_a_c_integer_frame_as_without_the_c_fast_path(limits, monkeypatch):
    # FrameParser takes any positive int; the C path clamps what no buffer can reach
    stream = b"Content-Type: c\nReply-Text: r\n\n\nContent-Length: 1\nContent-Type: t\n\nx"
    with_c = parsed(stream, [], limits)
    monkeypatch.setattr(parser_module, "_C_SHORT_FRAMES", None)
    assert with_c == parsed(stream, [], limits) and len(with_c) == 2


@needs_c
def test_the_c_fast_path_declines_limits_that_are_not_ints_and_a_reply_over_a_negative_limit():
    reply = b"Content-Type: c\nReply-Text: r\n\n"
    assert SPEEDUPS.short_frames(reply, 0, 65536, 1.5) == ([], 0)  # the Python loop decides
    assert SPEEDUPS.short_frames(reply, 0, 65536, -1) == ([], 0)  # 0 body bytes > -1, as Python has it
