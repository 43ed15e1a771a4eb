"""The strict YAML source: scalars stay strings, duplicates are refused, lines are kept."""

from __future__ import annotations

import pytest

from fsrouter.errors import ConfigError
from fsrouter.flow.yamlsource import parse_yaml, read_yaml


def test_on_stays_the_key_on():
    doc = parse_yaml("on: 1\nyes: no\n", "f.yaml")
    assert doc.data == {"on": "1", "yes": "no"}


def test_0101_stays_the_string_0101():
    assert parse_yaml("ext: 0101\n", "f.yaml").data == {"ext": "0101"}


def test_12_30_stays_a_string():
    assert parse_yaml("at: 12:30\n", "f.yaml").data == {"at": "12:30"}


def test_an_unquoted_e164_number_stays_a_string():
    assert parse_yaml("number: +380441234567\n", "f.yaml").data == {"number": "+380441234567"}


def test_booleans_numbers_and_dates_stay_strings():
    doc = parse_yaml("a: true\nb: 20\nc: 2.5\nd: 2026-12-25\ne: .inf\n", "f.yaml")
    assert doc.data == {"a": "true", "b": "20", "c": "2.5", "d": "2026-12-25", "e": ".inf"}


def test_null_tilde_and_empty_values_become_none():
    doc = parse_yaml("a: null\nb: ~\nc:\nd: [~, null]\n", "f.yaml")
    assert doc.data == {"a": None, "b": None, "c": None, "d": [None, None]}


def test_quoted_null_and_quoted_empty_stay_strings():
    assert parse_yaml("a: 'null'\nb: \"\"\n", "f.yaml").data == {"a": "null", "b": ""}


def test_an_empty_file_is_none():
    assert parse_yaml("# only a comment\n", "f.yaml").data is None


def test_duplicate_keys_are_refused_with_the_line_of_the_second():
    with pytest.raises(ConfigError) as caught:
        parse_yaml("a: 1\nb:\n  c: 1\n  c: 2\n", "conf/f.yaml")
    assert (caught.value.path, caught.value.line, caught.value.field) == ("conf/f.yaml", 4, "b.c")
    assert "duplicate key 'c' (first on line 3)" in caught.value.message


def test_keys_that_only_look_different_to_safe_load_are_not_duplicates():
    assert parse_yaml("1: a\non: b\ntrue: c\n", "f.yaml").data == {"1": "a", "on": "b", "true": "c"}


def test_line_numbers_are_reported_for_nested_nodes():
    text = (
        "routing:\n"                       # 1
        "  greeting: true\n"               # 2
        "  extension_dialing:\n"           # 3
        "    enabled: true\n"              # 4
        "    ring_time: 20\n"              # 5
        "schedule:\n"                      # 6
        "  mon:\n"                         # 7
        "    - 09:00-13:00\n"              # 8
        "    - 14:00-18:00\n"              # 9
        "  tue: [09:00-18:00]\n"           # 10
    )
    doc = parse_yaml(text, "f.yaml")
    assert doc.lines[("routing", "extension_dialing", "ring_time")] == 5
    assert doc.lines[("schedule", "mon", 1)] == 9
    assert doc.lines[("schedule", "tue", 0)] == 10
    assert doc.line_for(("routing", "extension_dialing", "missing_key")) == 3
    assert doc.line_for(("nowhere",)) == 1


def test_a_syntax_error_names_the_line():
    with pytest.raises(ConfigError) as caught:
        parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "f.yaml")
    assert caught.value.line in (2, 3) and "YAML syntax error" in caught.value.message


def test_a_tab_indent_is_a_syntax_error_with_a_line():
    with pytest.raises(ConfigError) as caught:
        parse_yaml("a:\n\tb: 1\n", "f.yaml")
    assert caught.value.line == 2


def test_anchors_and_aliases_work_and_merge_keys_let_explicit_keys_win():
    text = "base: &b\n  ring_time: 20\n  no_answer: hangup\nsales:\n  <<: *b\n  ring_time: 30\nother: *b\n"
    doc = parse_yaml(text, "f.yaml")
    assert doc.data["sales"] == {"ring_time": "30", "no_answer": "hangup"}
    assert doc.data["other"] == {"ring_time": "20", "no_answer": "hangup"}
    assert doc.lines[("sales", "ring_time")] == 6


def test_python_and_unknown_tags_are_refused():
    for text in ("a: !!python/object:os.system x\n", "a: !custom x\n", "a: !!set {x}\n"):
        with pytest.raises(ConfigError, match="unsupported tag"):
            parse_yaml(text, "f.yaml")


def test_a_recursive_alias_is_refused():
    with pytest.raises(ConfigError, match="recursive alias"):
        parse_yaml("a: &x [1, *x]\n", "f.yaml")


def test_a_list_as_a_mapping_key_is_refused():
    with pytest.raises(ConfigError, match="mapping key"):
        parse_yaml("? [a, b]\n: 1\n", "f.yaml")


def test_several_documents_in_one_file_are_refused():
    with pytest.raises(ConfigError):
        parse_yaml("a: 1\n---\nb: 2\n", "f.yaml")


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_yaml(bad, "config/bad.yaml")
