"""Call records: round trip, upsert, listing, and not losing a record when the database is down."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from structlog.testing import capture_logs

from fsrouter.errors import StoreError
from fsrouter.store import CallRecord, open_store
from tests.store_fixtures import T0, backend, clock, dead_url, make_call, pg_schema, spool_dir, store, store_url  # noqa: F401

KYIV = timezone(timedelta(hours=2))


def test_a_saved_call_comes_back_equal_with_aware_utc_times_and_its_route(store):
    record = make_call("rt-1", started_at=T0.astimezone(KYIV), route=[{"step": "ivr", "digits": "1#"}])
    store.calls.save(record)
    got = store.calls.get("rt-1")
    assert got == record
    assert got.started_at.tzinfo is timezone.utc and got.started_at == T0
    assert got.ended_at == T0 + timedelta(seconds=95, microseconds=250)
    assert got.route == ({"step": "ivr", "digits": "1#"},)
    assert got.extra == {"crm": {"entity_type": "lead", "entity_id": 3}}


def test_a_record_stores_its_route_and_extra_as_they_were_when_it_was_made(store):
    extra = {"crm": {"entity_type": "lead", "entity_id": 3}}
    record = make_call("snap-1", route=[{"step": "hours", "open": True}], extra=extra)
    extra["rating"] = {"grade": 5}  # the flow's dict changed after the record was made
    store.calls.save(record)
    assert store.calls.get("snap-1").extra == {"crm": {"entity_type": "lead", "entity_id": 3}}
    assert record.json_texts() == ('[{"step":"hours","open":true}]', '{"crm":{"entity_type":"lead","entity_id":3}}')


def test_a_spooled_record_keeps_its_extra_as_it_was_when_it_was_made(store, dead_url, spool_dir, clock):
    extra = {"crm": {"entity_type": "lead", "entity_id": 3}}
    record = make_call("snap-2", extra=extra)
    extra["rating"] = {"grade": 5}
    open_store(dead_url, spool_dir=spool_dir, create=False, clock=clock).calls.save(record)  # spooled
    assert [line["extra"] for line in _spooled(spool_dir)] == [{"crm": {"entity_type": "lead", "entity_id": 3}}]
    assert store.calls.flush_spool() == 1
    assert store.calls.get("snap-2").extra == {"crm": {"entity_type": "lead", "entity_id": 3}}


def test_a_call_with_only_the_required_fields_round_trips(store):
    record = CallRecord(
        call_uuid="bare", line=None, direction="outbound", caller="alice", destination="+380501112233",
        started_at=T0, answered_at=None, ended_at=None, hangup_cause=None, route=(), answered_by=None,
        config_version=None,
    )
    store.calls.save(record)
    assert store.calls.get("bare") == record


def test_the_upsert_runs_from_kept_sql_because_our_parameters_equal_peewees(store):
    # the first save of a row shape compares our parameters with peewee's own; any
    # difference (a column converted differently) would leave the shape uncached
    from fsrouter.esl.names import HangupCause
    full = make_call("kept-1", hangup_cause=HangupCause.NORMAL_CLEARING)  # a str subclass
    bare = CallRecord(call_uuid="kept-2", line=None, direction="outbound", caller="alice",
                      destination="+380501112233", started_at=T0, answered_at=None, ended_at=None,
                      hangup_cause=None, route=(), answered_by=None, config_version=None)
    for record in (full, bare):
        store.calls.save(record)
        assert store.calls.get(record.call_uuid) == record
    queries = store.calls._queries
    assert [key for key in queries._sql if not queries.cached(key)] == []
    assert len(queries._sql) >= 1


def test_getting_an_unknown_call_returns_none(store):
    assert store.calls.get("nobody") is None


def test_saving_the_same_call_again_replaces_its_record(store, clock):
    store.calls.save(make_call("up-1", answered_at=None, ended_at=None, hangup_cause=None, route=()))
    clock.advance(30)
    final = make_call("up-1")
    store.calls.save(final)
    assert store.calls.get("up-1") == final
    assert [r.call_uuid for r in store.calls.list()] == ["up-1"]


def test_list_returns_newest_first_filtered_by_since_and_line_up_to_limit(store):
    for minute, line in enumerate(["a", "b", "a", "a", "b"]):
        store.calls.save(make_call(f"l-{minute}", line=line, started_at=T0 + timedelta(minutes=minute)))
    assert [r.call_uuid for r in store.calls.list()] == ["l-4", "l-3", "l-2", "l-1", "l-0"]
    assert [r.call_uuid for r in store.calls.list(line="a")] == ["l-3", "l-2", "l-0"]
    since = (T0 + timedelta(minutes=2)).astimezone(KYIV)
    assert [r.call_uuid for r in store.calls.list(since=since)] == ["l-4", "l-3", "l-2"]
    assert [r.call_uuid for r in store.calls.list(since=since, line="b")] == ["l-4"]
    assert [r.call_uuid for r in store.calls.list(limit=2)] == ["l-4", "l-3"]


def test_list_refuses_a_naive_since_and_a_non_positive_limit(store):
    with pytest.raises(ValueError, match="naive"):
        store.calls.list(since=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="limit"):
        store.calls.list(limit=0)


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"started_at": datetime(2024, 1, 1)}, ValueError),
        ({"direction": "sideways"}, ValueError),
        ({"call_uuid": ""}, ValueError),
        ({"route": [["not", "a", "dict"]]}, TypeError),
        ({"extra": {"when": datetime(2024, 1, 1)}}, TypeError),
    ],
)
def test_a_call_record_with_a_bad_value_is_refused_when_built(changes, error):
    with pytest.raises(error):
        make_call(**changes)


def _spooled(spool_dir):
    path = spool_dir / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_database_outage_spools_the_record_and_flush_puts_it_back_exactly_once(store, dead_url, spool_dir, clock):
    dead = open_store(dead_url, spool_dir=spool_dir, create=False, clock=clock)
    record = make_call("out-1")
    with capture_logs() as logs:
        dead.calls.save(record)  # does not raise
    spooled = [e for e in logs if e["event"] == "call_record_spooled"]
    assert len(spooled) == 1 and spooled[0]["call_uuid"] == "out-1" and spooled[0]["log_level"] == "warning"
    assert [line["call_uuid"] for line in _spooled(spool_dir)] == ["out-1"]
    assert store.calls.get("out-1") is None

    assert store.calls.flush_spool() == 1
    assert store.calls.get("out-1") == record
    assert store.calls.flush_spool() == 0
    assert _spooled(spool_dir) == [] and list(spool_dir.iterdir()) == []
    assert [r.call_uuid for r in store.calls.list()] == ["out-1"]


def test_during_an_outage_a_record_with_a_lone_surrogate_is_spooled_with_its_batch_mates(
        store, dead_url, spool_dir, clock):
    dead = open_store(dead_url, spool_dir=spool_dir, create=False, clock=clock)
    dead.calls.save_many([make_call("odd", caller="+380\ud800"), make_call("plain")])  # does not raise
    assert sorted(line["call_uuid"] for line in _spooled(spool_dir)) == ["odd", "plain"]
    assert store.calls.flush_spool() == 2
    assert store.calls.get("odd").caller == "+380\ufffd"  # fitted when it reaches the database
    assert store.calls.get("plain") == make_call("plain")


def test_a_key_with_a_lone_surrogate_is_looked_up_as_it_was_stored(store):
    # e.g. `fsrouter calls show` given bytes that are not UTF-8 (argv decodes them so)
    store.calls.save(make_call("k\udcff", line="l\udcff"))
    assert store.calls.get("k\udcff").call_uuid == "k\ufffd"
    assert [r.call_uuid for r in store.calls.list(line="l\udcff")] == ["k\ufffd"]


def test_a_record_spooled_twice_is_stored_once_with_its_latest_version(store, dead_url, spool_dir, clock):
    dead = open_store(dead_url, spool_dir=spool_dir, create=False, clock=clock)
    dead.calls.save(make_call("twice", ended_at=None))
    clock.advance(5)
    dead.calls.save(make_call("twice"))
    assert store.calls.flush_spool() == 1
    assert store.calls.get("twice") == make_call("twice")


def test_a_later_successful_save_flushes_what_was_spooled(store, dead_url, spool_dir, clock):
    dead = open_store(dead_url, spool_dir=spool_dir, create=False, clock=clock)
    dead.calls.save(make_call("during-outage"))
    store.calls.save(make_call("after-outage", started_at=T0 + timedelta(minutes=1)))
    assert [r.call_uuid for r in store.calls.list()] == ["after-outage", "during-outage"]
    assert _spooled(spool_dir) == []


def test_a_spooled_record_never_overwrites_a_newer_save_of_the_same_call(store, dead_url, spool_dir, clock):
    dead = open_store(dead_url, spool_dir=spool_dir, create=False, clock=clock)
    dead.calls.save(make_call("race", hangup_cause=None))
    clock.advance(10)
    store.calls.save(make_call("race", hangup_cause="USER_BUSY"))  # also flushes the older one
    assert store.calls.get("race").hangup_cause == "USER_BUSY"
    assert store.calls.flush_spool() == 0


def test_saving_on_a_closed_store_spools_and_the_next_open_flushes(store, store_url, spool_dir, clock):
    store.close()
    store.calls.save(make_call("at-shutdown"))
    assert [line["call_uuid"] for line in _spooled(spool_dir)] == ["at-shutdown"]
    reopened = open_store(store_url, spool_dir=spool_dir, clock=clock)
    assert reopened.calls.get("at-shutdown") == make_call("at-shutdown")
    assert _spooled(spool_dir) == []
    reopened.close()


def test_a_failed_flush_keeps_the_records_for_the_next_one(dead_url, store, spool_dir, clock):
    dead = open_store(dead_url, spool_dir=spool_dir, create=False, clock=clock)
    dead.calls.save(make_call("kept-1"))
    with pytest.raises(StoreError):
        dead.calls.flush_spool()
    dead.calls.save(make_call("kept-2"))
    assert store.calls.flush_spool() == 2
    assert {r.call_uuid for r in store.calls.list()} == {"kept-1", "kept-2"}


def test_without_a_spool_folder_a_database_outage_is_a_store_error(dead_url, clock):
    dead = open_store(dead_url, create=False, clock=clock)
    with capture_logs() as logs, pytest.raises(StoreError):
        dead.calls.save(make_call("lost"))
    assert [e["event"] for e in logs] == ["call_record_lost"]
    assert dead.calls.flush_spool() == 0


def test_a_torn_spool_line_is_set_aside_and_the_good_ones_still_flush(store, dead_url, spool_dir, clock):
    spool_dir.mkdir()
    (spool_dir / "calls.jsonl").write_text('{"call_uuid": "torn", "dire')  # a crash mid-write
    dead = open_store(dead_url, spool_dir=spool_dir, create=False, clock=clock)
    dead.calls.save(make_call("whole"))
    assert store.calls.flush_spool() == 1
    assert store.calls.get("whole") == make_call("whole")
    assert "torn" in (spool_dir / "calls.rejected.jsonl").read_text()


def test_save_many_stores_every_record_of_the_batch_and_upserts_like_save(store, clock):
    store.calls.save(make_call("batch-0", hangup_cause=None))
    clock.advance(5)
    batch = [make_call(f"batch-{n}", started_at=T0 + timedelta(minutes=n)) for n in range(5)]
    store.calls.save_many(batch)
    assert [store.calls.get(r.call_uuid) for r in batch] == batch  # batch-0 replaced by its newer save
    assert len(store.calls.list()) == 5


def test_save_many_during_an_outage_spools_every_record_and_flush_stores_them(store, dead_url, spool_dir, clock):
    dead = open_store(dead_url, spool_dir=spool_dir, create=False, clock=clock)
    batch = [make_call(f"out-batch-{n}") for n in range(3)]
    with capture_logs() as logs:
        dead.calls.save_many(batch)  # does not raise
    assert [e["call_uuid"] for e in logs if e["event"] == "call_record_spooled"] == [r.call_uuid for r in batch]
    assert store.calls.flush_spool() == 3
    assert {r.call_uuid for r in store.calls.list()} == {r.call_uuid for r in batch}


def test_save_many_without_a_spool_folder_raises_for_the_lost_records(dead_url, clock):
    dead = open_store(dead_url, create=False, clock=clock)
    with capture_logs() as logs, pytest.raises(StoreError, match="2 of 2 call records not saved"):
        dead.calls.save_many([make_call("lost-1"), make_call("lost-2")])
    assert [e["event"] for e in logs] == ["call_record_lost", "call_record_lost"]


def test_save_many_refuses_anything_but_call_records_before_writing(store):
    with pytest.raises(TypeError):
        store.calls.save_many([make_call("typed"), {"call_uuid": "x"}])
    assert store.calls.get("typed") is None


def test_a_group_commit_binds_the_same_sqlite_datetime_text_as_the_fields_own_conversion(tmp_path, clock):
    kyiv = timezone(timedelta(hours=2))
    started = datetime(2026, 12, 1, 10, 0, 0, 250, tzinfo=kyiv)  # not UTC, microseconds set
    path = tmp_path / "texts.db"
    store = open_store(f"sqlite:///{path}", clock=clock)
    try:
        store.calls.save(make_call("alone", started_at=started))
        store.calls.save_many([make_call(f"grouped-{n}", started_at=started) for n in range(3)])
    finally:
        store.close()
    with sqlite3.connect(path) as raw:
        texts = dict(raw.execute("SELECT call_uuid, started_at FROM call_record"))
    expected = "2026-12-01 08:00:00.000250"  # naive UTC text, as UtcDateTimeField.db_value writes it
    assert texts == {"alone": expected, "grouped-0": expected, "grouped-1": expected, "grouped-2": expected}


def test_a_spooled_record_the_database_refuses_is_set_aside_and_holds_nothing_up(store, dead_url, spool_dir, clock):
    dead = open_store(dead_url, spool_dir=spool_dir, create=False, clock=clock)
    dead.calls.save_many([make_call("good-1"), make_call("refused", caller=None), make_call("good-2")])
    with capture_logs() as logs:
        assert store.calls.flush_spool() == 2
    assert store.calls.get("good-1") == make_call("good-1") and store.calls.get("good-2") == make_call("good-2")
    assert store.calls.get("refused") is None
    assert '"refused"' in (spool_dir / "calls.rejected.jsonl").read_text()
    assert [e["call_uuid"] for e in logs if e["event"] == "call_spool_line_rejected"] == ["refused"]
    assert store.calls.flush_spool() == 0  # nothing left behind to fail again


def test_a_group_commit_whose_sql_text_is_never_kept_still_stores_every_record_as_given(store, clock):
    from fsrouter.store import compiled

    class NeverKept(dict):  # as when our parameters do not match peewee's: every row runs peewee's own SQL
        def __setitem__(self, key, value):
            super().__setitem__(key, compiled._UNCACHEABLE)

    store.calls._queries._sql = NeverKept()
    batch = [make_call(f"unkept-{n}", caller=f"+38050111223{n}") for n in range(3)]
    store.calls.save_many(batch)
    assert [store.calls.get(r.call_uuid) for r in batch] == batch
