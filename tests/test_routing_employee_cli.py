"""``fsrouter employee status|list``: the workday status that skip_absent obeys, set from the CLI."""

from __future__ import annotations

import pytest

from fsrouter.cli import main
from fsrouter.replay.fakefs import Scenario
from tests.harness import EngineHarness
from tests.routing_config import NUMBERS, write_routing_config


@pytest.fixture
def setup(tmp_path):
    config = write_routing_config(tmp_path / "config")
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    harness = EngineHarness(config, db_url=db)
    harness.start()
    yield config, db, harness
    harness.stop()


def employee(config, db, *args) -> int:
    return main(["employee", "--config", str(config), "--db", db, *args])


def test_employee_status_sets_the_status_and_list_shows_every_employee_with_it(setup, capsys):
    config, db, _ = setup
    assert employee(config, db, "status", "alice", "break") == 0
    assert employee(config, db, "status", "bob", "started") == 0
    assert capsys.readouterr().out.splitlines() == ["alice: break", "bob: started"]
    assert employee(config, db, "list") == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert sorted(rows) == ["alice", "bob", "carol", "dave"]
    assert rows["alice"][1:3] == ["101", "break"] and rows["bob"][2] == "started" and rows["carol"][2] == "-"


def test_an_unknown_employee_or_status_is_refused(setup, capsys):
    config, db, _ = setup
    assert employee(config, db, "status", "zoe", "break") == 1
    assert "unknown employee 'zoe'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        employee(config, db, "status", "alice", "lunch")
    assert usage.value.code == 2


def test_a_break_set_from_the_cli_makes_the_running_engine_skip_that_employee(setup):
    config, db, harness = setup
    for name in ("alice", "bob", "carol", "dave"):
        assert employee(config, db, "status", name, "started") == 0
    assert employee(config, db, "status", "carol", "break") == 0
    fake = harness.call(Scenario(destination=NUMBERS["absent"], variables={"sip_to_user": "103"},
                                 digits=["", "1"], endpoints={"user/101": "answer"}))
    record = harness.record(fake.scenario.uuid)
    assert record.route[0] == {"step": "sip_to_header", "employee": "carol", "result": "skipped", "reason": "absent"}
    assert all("user/103" not in e.arg for e in fake.executed if e.app == "bridge")
    assert record.answered_by == "alice"
