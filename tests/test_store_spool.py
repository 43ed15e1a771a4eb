"""The JSON-lines spool on its own (no database)."""

from __future__ import annotations

import json

import pytest

from fsrouter.store.spool import JsonlSpool


def test_appended_items_drain_in_order_and_the_spool_is_then_empty(tmp_path):
    spool = JsonlSpool(tmp_path / "s", "calls")
    assert spool.pending() is False
    spool.append({"n": 1})
    spool.append({"n": 2, "text": "привіт"})
    assert spool.pending() is True
    with spool.drain() as batch:
        assert batch.items == [{"n": 1}, {"n": 2, "text": "привіт"}]
    assert spool.pending() is False
    assert list((tmp_path / "s").iterdir()) == []


def test_a_drain_that_fails_keeps_its_items_for_the_next_drain(tmp_path):
    spool = JsonlSpool(tmp_path, "calls")
    spool.append({"n": 1})
    with pytest.raises(RuntimeError), spool.drain() as batch:
        assert batch.items == [{"n": 1}]
        raise RuntimeError("database down again")
    spool.append({"n": 2})
    assert spool.pending() is True
    with spool.drain() as batch:
        assert sorted(item["n"] for item in batch.items) == [1, 2]
    assert spool.pending() is False


def test_items_appended_during_a_drain_wait_for_the_next_one(tmp_path):
    spool = JsonlSpool(tmp_path, "calls")
    spool.append({"n": 1})
    with spool.drain() as batch:
        spool.append({"n": 2})
        assert batch.items == [{"n": 1}]
    with spool.drain() as batch:
        assert batch.items == [{"n": 2}]


def test_a_second_drain_while_one_runs_gets_nothing(tmp_path):
    spool = JsonlSpool(tmp_path, "calls")
    spool.append({"n": 1})
    with spool.drain() as outer:
        with spool.drain() as inner:
            assert inner.items == []
        assert outer.items == [{"n": 1}]


def test_a_torn_last_line_does_not_swallow_the_next_append(tmp_path):
    (tmp_path / "calls.jsonl").write_text('{"n": 1}\n{"n": ')
    spool = JsonlSpool(tmp_path, "calls")
    spool.append({"n": 3})
    with spool.drain() as batch:
        assert batch.items == [{"n": 1}, {"n": 3}]
        assert batch.rejected == 1
    assert (tmp_path / "calls.rejected.jsonl").read_text() == '{"n": \n'


def test_claimed_files_left_by_a_crash_are_drained_by_a_new_spool(tmp_path):
    (tmp_path / "calls.jsonl.deadbeef.claimed").write_text(json.dumps({"n": 7}) + "\n")
    spool = JsonlSpool(tmp_path, "calls")
    assert spool.pending() is True
    with spool.drain() as batch:
        assert batch.items == [{"n": 7}]
    assert spool.pending() is False
