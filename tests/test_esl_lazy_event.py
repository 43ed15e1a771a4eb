"""Lazily parsed events answer exactly like fully parsed ones, on every real captured event."""

import json

import pytest

from fsrouter.esl import FrameParser
from fsrouter.esl.frame import Event
from tests.captures import CAPTURES




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
