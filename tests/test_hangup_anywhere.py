"""The caller may hang up at any moment: every point ends the flow cleanly, with a record."""

import pytest
from structlog.testing import capture_logs

from fsrouter.replay.fakefs import Scenario


@pytest.mark.parametrize("nth_execute", range(1, 8))
def test_caller_hanging_up_during_any_application_ends_the_call_cleanly(engine, nth_execute):
    with capture_logs() as logs:
        fake = engine.call(Scenario(hangup_on_execute=nth_execute, caller_cause="NORMAL_CLEARING"))
        assert engine.wait_idle()
    record = engine.record(fake.scenario.uuid)
    assert record is not None and record.ended_at is not None
    if len(fake.executed) >= nth_execute:  # the flow reached that application
        assert record.route[-1]["step"] == "caller_hung_up"
    errors = [e for e in logs if e.get("log_level") in ("error", "critical")]
    assert errors == []
    assert fake.closed_by == "fs"
