"""`fsrouter check` rules for outbound dial prefixes (issue 5): country codes, overlaps, keypad."""

from __future__ import annotations

import pytest

from fsrouter.errors import ConfigInvalid
from fsrouter.flow.loader import load_config
from tests.harness import write_config

LINE = """\
    number: "{number}"
    kind: rented
    timezone: Europe/Kyiv
    routing: {{greeting: false, group: sales}}
    outbound: {{selectable: true, prefix: "{prefix}", gateway: trunk}}
"""
NUMBERS = ("+380441234567", "+380442220000", "+380443330000")


def _lines(*prefixes: str) -> dict[str, str]:
    return {f"line{i}": LINE.format(number=NUMBERS[i], prefix=p) for i, p in enumerate(prefixes)}


def _load(tmp_path, *prefixes: str):
    return load_config(write_config(tmp_path / "config", lines=_lines(*prefixes)))


def _prefix_errors(tmp_path, *prefixes: str) -> list[str]:
    with pytest.raises(ConfigInvalid) as info:
        _load(tmp_path, *prefixes)
    assert all(e.field == "outbound.prefix" for e in info.value.errors), info.value
    return [e.message for e in info.value.errors]


@pytest.mark.parametrize("prefix", ["*123*", "#123#", "*123#", "#123*", "801", "802", "805"])
def test_star_and_hash_prefixes_and_digits_outside_country_codes_are_accepted(tmp_path, prefix):
    (line,) = _load(tmp_path, prefix).lines.values()
    assert line.outbound.prefix == prefix


@pytest.mark.parametrize("prefix, code", [("380", "380"), ("123", "1"), ("1", "1"), ("44", "44"),
                                          ("7999", "7"), ("4420", "44")])
def test_a_digits_only_prefix_starting_with_a_country_calling_code_is_refused(tmp_path, prefix, code):
    (message,) = _prefix_errors(tmp_path, prefix)
    assert f"country calling code +{code}" in message


def test_two_lines_with_the_same_prefix_are_refused(tmp_path):
    (message,) = _prefix_errors(tmp_path, "*123*", "*123*")
    assert "is the same as the prefix '*123*'" in message


@pytest.mark.parametrize("first, second", [("*12", "*123*"), ("*123*", "*12")])
def test_a_prefix_that_starts_another_is_refused_in_either_order(tmp_path, first, second):
    (message,) = _prefix_errors(tmp_path, first, second)
    assert "overlaps the prefix" in message


@pytest.mark.parametrize("prefix", ["*12a*", "+380", "*1 2*", "*1-2*", "", "*" * 17])
def test_a_prefix_a_keypad_cannot_dial_is_refused(tmp_path, prefix):
    (message,) = _prefix_errors(tmp_path, prefix)
    assert "[0-9*#]" in message


def test_every_prefix_problem_is_reported_at_once(tmp_path):
    messages = _prefix_errors(tmp_path, "380", "*9*", "*9*")
    assert len(messages) == 2
    assert any("+380" in m for m in messages) and any("is the same as" in m for m in messages)


def test_the_prefix_is_stripped_from_the_dialed_string(tmp_path):
    config = _load(tmp_path, "*123*", "#123#", "801")
    for dialed, line_id, rest in [("*123*380954558888", "line0", "380954558888"),
                                  ("#123#+380954558888", "line1", "+380954558888"),
                                  ("801380954558888", "line2", "380954558888")]:
        line, stripped = config.outbound_line_for(dialed)
        assert (line.id, stripped) == (line_id, rest)
    assert config.outbound_line_for("380954558888") is None
