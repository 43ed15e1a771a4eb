"""Recordings and the monthly recording quota in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import gevent
import pytest

from tests.store_fixtures import T0, backend, clock, pg_schema, spool_dir, store, store_url  # noqa: F401


def test_a_recording_comes_back_with_its_call_size_and_length(store):
    stored = store.recordings.add(call_uuid="c1", line="kyiv", path="/rec/a.wav", size_bytes=64684, duration_s=2.02)
    assert store.recordings.for_call("c1") == [stored]
    assert (stored.size_bytes, stored.duration_s, stored.created_at) == (64684, 2.02, T0)


def test_ten_calls_claiming_together_never_exceed_the_limit(store):
    jobs = [gevent.spawn(store.recordings.claim, "kyiv", "2024-03", 5) for _ in range(10)]
    gevent.joinall(jobs, raise_error=True)
    assert sorted(j.value for j in jobs) == [False] * 5 + [True] * 5
    assert store.recordings.used("kyiv", "2024-03") == 5


def test_the_quota_is_counted_per_line_and_per_month(store):
    assert [store.recordings.claim("kyiv", "2024-03", 1) for _ in range(2)] == [True, False]
    assert store.recordings.claim("kyiv", "2024-04", 1) is True
    assert store.recordings.claim("lviv", "2024-03", 1) is True
    assert store.recordings.used("kyiv", "2024-03") == 1
    assert store.recordings.used("odesa", "2024-03") == 0


def test_no_limit_grants_every_claim_and_still_counts(store):
    assert all(store.recordings.claim("kyiv", "2024-03", None) for _ in range(3))
    assert store.recordings.used("kyiv", "2024-03") == 3


def test_a_month_that_is_not_yyyy_mm_is_refused(store):
    with pytest.raises(ValueError, match="YYYY-MM"):
        store.recordings.claim("kyiv", "2024/03", 10)


def test_recordings_older_than_a_cutoff_are_listed_and_deleted_by_id(store, clock):
    old = store.recordings.add(call_uuid="c1", line="kyiv", path="/rec/old.wav", size_bytes=1, duration_s=1)
    clock.advance(86400 * 10)
    new = store.recordings.add(call_uuid="c2", line="kyiv", path="/rec/new.wav", size_bytes=1, duration_s=1)
    assert store.recordings.older_than("kyiv", T0 + timedelta(days=5)) == [old]
    assert store.recordings.older_than("lviv", T0 + timedelta(days=50)) == []
    assert store.recordings.delete([old.id]) == 1
    assert store.recordings.for_call("c1") == [] and store.recordings.for_call("c2") == [new]


def test_a_slot_given_back_can_be_claimed_again_and_the_count_never_goes_below_zero(store):
    recordings = store.recordings
    assert recordings.claim("kyiv", "2026-05", 1)
    assert not recordings.claim("kyiv", "2026-05", 1)
    recordings.give_back("kyiv", "2026-05")
    assert recordings.used("kyiv", "2026-05") == 0
    recordings.give_back("kyiv", "2026-05")
    recordings.give_back("lviv", "2026-05")  # never claimed: nothing to give back
    assert (recordings.used("kyiv", "2026-05"), recordings.used("lviv", "2026-05")) == (0, 0)
    assert recordings.claim("kyiv", "2026-05", 1)
