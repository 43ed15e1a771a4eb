"""The C header-block check (fsrouter.esl._speedups) answers exactly like the Python one,
on every real captured event and connect reply and on mutations of them, and
FSROUTER_PURE_PYTHON turns it off."""

import importlib.util
import json
import os
import random
import subprocess
import sys

import pytest

from fsrouter.esl import headblock
from fsrouter.esl.headblock import REGULAR_MAX_LINES, is_regular_head_py
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
