"""Live employee state: workday status, exclusive busy claims, idle order."""

from __future__ import annotations

import gevent
import gevent.local
import peewee
import pytest

from fsrouter.store import open_store
from fsrouter.store.postgres import install_gevent_wait_callback, uninstall_gevent_wait_callback
from tests.store_fixtures import backend, clock, pg_schema, spool_dir, store, store_url  # noqa: F401


def test_status_is_none_until_set_and_then_the_latest_value(store, clock):
    employees = store.employees
    assert employees.status("bob") is None
    employees.set_status("bob", "started")
    clock.advance(3600)
    employees.set_status("bob", "break")
    assert employees.status("bob") == "break"
    assert employees.statuses() == {"bob": ("break", clock.now)}


def test_an_unknown_status_is_a_value_error(store):
    with pytest.raises(ValueError, match="lunch"):
        store.employees.set_status("bob", "lunch")


def test_absent_are_those_whose_workday_is_not_started_including_never_set(store):
    employees = store.employees
    employees.set_status("alice", "started")
    employees.set_status("bob", "break")
    employees.set_status("carol", "ended")
    employees.set_status("erin", "started")
    assert employees.absent(["alice", "bob", "carol", "dave"]) == {"bob", "carol", "dave"}
    assert employees.absent([]) == set()


def test_mark_busy_claims_a_free_employee_once_and_mark_free_releases_only_for_the_holder(store):
    employees = store.employees
    assert employees.mark_busy("bob", "call-1") is True
    assert employees.mark_busy("bob", "call-1") is True  # the holder asking again
    assert employees.mark_busy("bob", "call-2") is False
    assert employees.busy(["bob", "alice"]) == {"bob"}
    employees.mark_free("bob", "call-2")  # not the holder: no effect
    assert employees.busy(["bob"]) == {"bob"}
    employees.mark_free("bob", "call-1")
    assert employees.busy(["bob"]) == set()
    assert employees.mark_busy("bob", "call-2") is True


def test_take_over_makes_the_employee_this_calls_whoever_held_them(store):
    employees = store.employees
    assert employees.mark_busy("bob", "ringing-call")
    employees.take_over("bob", "own-call")
    assert employees.mark_busy("bob", "own-call") is True  # the holder now
    employees.mark_free("bob", "ringing-call")  # the old holder frees nobody
    assert employees.busy(["bob"]) == {"bob"}
    employees.take_over("carol", "own-call")  # free before: simply claimed
    employees.release_call("own-call")
    assert employees.busy(["bob", "carol"]) == set()


def test_release_call_frees_everyone_that_call_holds_and_nobody_else(store):
    employees = store.employees
    employees.mark_busy("alice", "call-1")
    employees.mark_busy("bob", "call-1")
    employees.mark_busy("carol", "call-2")
    employees.release_call("call-1")
    assert employees.busy(["alice", "bob", "carol"]) == {"carol"}
    employees.release_call("call-unknown")


def test_idle_order_puts_never_rung_first_then_longest_idle_and_keeps_ties_in_given_order(store, clock):
    employees = store.employees
    for name in ("dave", "bob"):  # both released at T0
        employees.mark_busy(name, "call-1")
    employees.release_call("call-1")
    clock.advance(60)
    employees.mark_busy("alice", "call-2")
    employees.mark_free("alice", "call-2")
    clock.advance(60)
    employees.mark_busy("carol", "call-3")
    employees.mark_free("carol", "call-3")
    given = ["carol", "alice", "bob", "erin", "dave", "frank"]
    assert employees.idle_order(given) == ["erin", "frank", "bob", "dave", "alice", "carol"]
    assert employees.idle_order([]) == []


def test_a_failed_release_does_not_touch_idle_time(store, clock):
    employees = store.employees
    employees.mark_busy("bob", "call-1")
    employees.mark_free("bob", "call-1")
    clock.advance(60)
    employees.mark_busy("alice", "call-2")
    employees.mark_free("alice", "call-2")
    clock.advance(60)
    employees.mark_free("bob", "call-9")  # bob is not held by call-9
    assert employees.idle_order(["alice", "bob"]) == ["bob", "alice"]


def _greenlet_local_connections() -> bool:
    return issubclass(peewee._ConnectionLocal, gevent.local.local)


def test_mark_busy_is_exclusive_among_20_concurrent_greenlets(store, backend, request):
    # Under gevent monkey patching (tests/conftest.py) each greenlet has its own peewee
    # connection; with the wait callback psycopg2 yields, so the claims really interleave.
    if backend == "postgresql" and _greenlet_local_connections():
        install_gevent_wait_callback()
        request.addfinalizer(uninstall_gevent_wait_callback)
    claims = [gevent.spawn(store.employees.mark_busy, "bob", f"call-{n}") for n in range(20)]
    gevent.joinall(claims, raise_error=True)
    winners = [n for n, claim in enumerate(claims) if claim.value is True]
    assert len(winners) == 1
    assert store.employees.mark_busy("bob", f"call-{winners[0]}") is True
    assert store.employees.mark_busy("bob", "call-late") is False


def test_a_claim_is_exclusive_across_two_stores_on_one_database(store, store_url, clock):
    other = open_store(store_url, create=False, clock=clock)  # its own connections, like a second engine
    try:
        assert store.employees.mark_busy("bob", "call-a") is True
        assert other.employees.mark_busy("bob", "call-b") is False
        assert other.employees.busy(["bob"]) == {"bob"}
        other.employees.mark_free("bob", "call-b")
        assert store.employees.busy(["bob"]) == {"bob"}
        other.employees.mark_free("bob", "call-a")
        assert store.employees.mark_busy("bob", "call-c") is True
        assert other.employees.idle_order(["alice", "bob"]) == ["alice", "bob"]
    finally:
        other.close()


def test_a_live_calls_queries_run_from_kept_sql_and_give_the_same_answers_the_second_time(store, clock):
    """The claim/release/lookup statements are built once per shape (store.compiled); the
    second run of each shape must come from kept SQL text and still be right."""
    employees = store.employees
    employees.set_status("ann", "started")
    for attempt in range(2):
        assert employees.absent(["ann", "bob"]) == {"bob"}
        assert employees.mark_busy("ann", f"call-{attempt}") is True
        assert employees.mark_busy("ann", "someone-else") is False
        assert employees.busy(["ann", "bob"]) == {"ann"}
        clock.advance(10)
        employees.mark_free("ann", "someone-else")  # not the holder: nothing changes
        assert employees.busy(["ann"]) == {"ann"}
        employees.mark_free("ann", f"call-{attempt}")
        assert employees.busy(["ann", "bob"]) == set()
        assert employees.idle_order(["ann", "bob"]) == ["bob", "ann"]  # bob never rung: longest idle
    queries = employees._queries
    assert all(queries.cached(key) for key in
               ["claim", "holder", "release", ("busy", 2), ("busy", 1), ("absent", 2), ("idle", 1), ("idle_order", 2)])


def test_a_shape_whose_parameters_differ_from_peewees_is_never_kept_and_still_runs_peewees_sql(store):
    from fsrouter.store.compiled import CompiledQueries

    model = store.employees._busy
    store.employees.mark_busy("x", "y")
    queries = CompiledQueries()
    with store._connector.work() as database:
        for _ in range(2):  # wrong parameter order given: peewee's SQL and parameters run anyway
            rows = queries.execute(database, "odd", lambda: model.select(model.employee).where(
                model.employee == "x", model.call_uuid == "y"), ["y", "x"]).fetchall()
            assert rows == [("x",)]  # with our order ("y", "x") it would find nothing
    assert not queries.cached("odd")
