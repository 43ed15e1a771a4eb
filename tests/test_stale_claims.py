"""Busy claims left by an engine that died mid-call are swept, so employees are rung again."""

from datetime import datetime, timedelta, timezone

from structlog.testing import capture_logs

from fsrouter.app import sweep_stale_claims
from fsrouter.log import get_logger
from fsrouter.store import open_store


def test_a_claim_older_than_any_call_can_last_is_released_and_a_fresh_one_is_kept(tmp_path):
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)]
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}", clock=lambda: now[0])
    try:
        assert store.employees.mark_busy("alice", "call-of-a-dead-engine")
        now[0] += timedelta(hours=2)
        assert store.employees.mark_busy("bob", "call-in-progress")
        with capture_logs() as logs:
            freed = sweep_stale_claims(store, 3600, now=lambda: now[0], log=get_logger())
        assert freed == ["alice"]
        assert store.employees.busy(["alice", "bob"]) == {"bob"}
        assert [e["employees"] for e in logs if e["event"] == "stale_claims_released"] == [["alice"]]
    finally:
        store.close()
