"""Group commit of call records (flow.record_writer): records of calls that end together
share a transaction, and a call's save returns only once its record is stored or spooled."""

from __future__ import annotations

import gevent
import pytest

from fsrouter.errors import StoreError
from fsrouter.flow.record_writer import GroupCommitCalls
from fsrouter.store import open_store
from tests.store_fixtures import backend, clock, dead_url, make_call, pg_schema, spool_dir, store, store_url  # noqa: F401


def test_a_lone_save_is_stored_when_it_returns(store):
    calls = GroupCommitCalls(store.calls)
    calls.save(make_call("alone"))
    assert store.calls.get("alone") == make_call("alone")
    assert calls.batches == 1


def test_calls_ending_together_share_transactions_and_each_sees_its_record_stored(store):
    calls = GroupCommitCalls(store.calls)
    seen = {}

    def end_call(n):
        calls.save(make_call(f"together-{n}"))
        seen[n] = store.calls.get(f"together-{n}")  # stored by the time save returns

    gevent.joinall([gevent.spawn(end_call, n) for n in range(40)], raise_error=True)
    assert all(seen[n] == make_call(f"together-{n}") for n in range(40))
    assert 1 <= calls.batches < 40


def test_no_transaction_holds_more_than_max_batch_records(store, monkeypatch):
    sizes = []
    save_many = store.calls.save_many
    monkeypatch.setattr(store.calls, "save_many", lambda records: (sizes.append(len(records)), save_many(records)))
    calls = GroupCommitCalls(store.calls, max_batch=3)
    gevent.joinall([gevent.spawn(calls.save, make_call(f"capped-{n}")) for n in range(10)], raise_error=True)
    assert sum(sizes) == 10 and max(sizes) <= 3
    assert len(store.calls.list()) == 10


def test_during_an_outage_every_record_of_the_batch_is_spooled_and_no_save_raises(store, dead_url, spool_dir, clock):
    dead = open_store(dead_url, spool_dir=spool_dir, create=False, clock=clock)
    calls = GroupCommitCalls(dead.calls)
    gevent.joinall([gevent.spawn(calls.save, make_call(f"spooled-{n}")) for n in range(5)], raise_error=True)
    assert store.calls.flush_spool() == 5


def test_a_record_neither_stored_nor_spooled_raises_in_the_call_that_saved_it(dead_url, clock):
    dead = open_store(dead_url, create=False, clock=clock)
    calls = GroupCommitCalls(dead.calls)
    savers = [gevent.spawn(calls.save, make_call(f"lost-{n}")) for n in range(3)]
    gevent.joinall(savers)
    assert all(isinstance(g.exception, StoreError) for g in savers)


def test_a_call_killed_while_waiting_still_gets_its_record_written(store):
    calls = GroupCommitCalls(store.calls)
    saver = gevent.spawn(calls.save, make_call("killed-waiting"))
    gevent.sleep(0)  # queued, the writer not run yet
    saver.kill()
    gevent.sleep(0.01)
    assert store.calls.get("killed-waiting") == make_call("killed-waiting")


def test_other_repository_methods_are_the_repositorys_own(store):
    calls = GroupCommitCalls(store.calls)
    store.calls.save(make_call("direct"))
    assert calls.get("direct") == make_call("direct")
    with pytest.raises(ValueError):
        GroupCommitCalls(store.calls, max_batch=0)


def test_a_caller_id_the_database_cannot_hold_is_fitted_and_costs_no_other_record(store):
    """Caller-Caller-ID-Number comes from the network: a NUL (url-decoded %00; PostgreSQL
    refuses it), 300 characters (longer than the column) or a lone surrogate must not lose
    any record."""
    calls = GroupCommitCalls(store.calls)
    hostile = [make_call("nul", caller="+380\x00501112233"), make_call("long", caller="+" + "1" * 300),
               make_call("surrogate", caller="+380\ud800501112233", answered_by="bob\udc00")]
    good = [make_call(f"mate-{n}") for n in range(4)]
    savers = [gevent.spawn(calls.save, r) for r in good[:2] + hostile + good[2:]]
    gevent.joinall(savers, timeout=30, raise_error=True)
    assert all(store.calls.get(r.call_uuid) == r for r in good)
    assert store.calls.get("nul").caller == "+380\ufffd501112233"
    assert store.calls.get("long").caller == "+" + "1" * 254
    # a lone surrogate (no UTF-8 form: the drivers raise UnicodeEncodeError) is replaced too
    surrogate = store.calls.get("surrogate")
    assert (surrogate.caller, surrogate.answered_by) == ("+380\ufffd501112233", "bob\ufffd")


def test_a_batch_that_fails_for_one_record_is_written_record_by_record(store, monkeypatch):
    save_many = store.calls.save_many

    def refuse_the_bad_one(records):
        if len(records) > 1 and any(r.call_uuid == "bad" for r in records):
            raise ValueError("driver refuses one row")
        if [r.call_uuid for r in records] == ["bad"]:
            raise ValueError("driver refuses one row")
        save_many(records)

    monkeypatch.setattr(store.calls, "save_many", refuse_the_bad_one)
    calls = GroupCommitCalls(store.calls)
    savers = [gevent.spawn(calls.save, make_call(uuid)) for uuid in ("a", "bad", "b")]
    gevent.joinall(savers, timeout=30)
    assert [type(g.exception).__name__ if g.exception else None for g in savers] == [None, "ValueError", None]
    assert store.calls.get("a") is not None and store.calls.get("b") is not None


def test_drain_waits_for_queued_records_before_the_store_may_close(store, monkeypatch):
    upsert = store.calls._upsert_one

    def slow_commit(*args):  # a PostgreSQL commit yields to other greenlets
        gevent.sleep(0.2)
        upsert(*args)

    monkeypatch.setattr(store.calls, "_upsert_one", slow_commit)
    calls = GroupCommitCalls(store.calls)
    for n in range(4):
        gevent.spawn(calls.save, make_call(f"late-{n}"))
    gevent.sleep(0.01)
    assert calls.drain(5) is True
    assert len(store.calls.list()) == 4
