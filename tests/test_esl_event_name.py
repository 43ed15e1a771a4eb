"""Frame.event_name(): the cheap name lookup agrees with a full parse on every real event."""

import json

import pytest

from fsrouter.esl import FrameParser
from tests.captures import CAPTURES




@pytest.mark.skipif(not CAPTURES.is_dir(), reason="shared/esl-sessions is not beside the checkout")
def test_event_name_matches_the_fully_parsed_event_for_every_captured_frame():
    checked = 0
    for path in sorted(CAPTURES.glob("*.esl.jsonl")):
        for line in path.read_text().splitlines()[1:]:
            record = json.loads(line)
            if record.get("from") != "fs" or "frame" not in record:
                continue
            for quick, full in zip(FrameParser().feed(record["frame"].encode()),
                                   FrameParser().feed(record["frame"].encode())):
                try:
                    expected = full.event().name
                except Exception:
                    expected = None
                assert quick.event_name() == expected, (path.name, expected)
                checked += 1
    assert checked > 500


def test_event_name_of_a_frame_without_an_event_is_none():
    [reply] = FrameParser().feed(b"Content-Type: command/reply\nReply-Text: +OK\n\n")
    assert reply.event_name() is None
