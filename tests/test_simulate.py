"""``fsrouter simulate`` prints the route the wire test's call takes, step for step."""

from __future__ import annotations

import re

import pytest

from fsrouter.cli import main
from fsrouter.cli_simulate import format_route
from fsrouter.replay.fakefs import Scenario
from tests.harness import EngineHarness
from tests.routing_config import NUMBERS, at_local, write_routing_config

CALLER = "+380639876543"


@pytest.fixture
def config(tmp_path):
    return write_routing_config(tmp_path / "config")


@pytest.fixture
def engine(tmp_path, config):
    harness = EngineHarness(config, db_url=f"sqlite:///{tmp_path / 'wire.db'}")
    harness.start()
    yield harness
    harness.stop()


def wire_route(engine, **scenario) -> list[str]:
    fake = engine.call(Scenario(caller=CALLER, **scenario))
    return format_route(engine.record(fake.scenario.uuid).route)


def simulated(capsys, config, *flags) -> tuple[int, list[str], str]:
    code = main(["simulate", "--config", str(config), "--caller", CALLER, *flags])
    out = capsys.readouterr().out.splitlines()
    steps = [m[1] for m in map(re.compile(r"^ *\d+\. (.*)$").match, out) if m]
    return code, steps, "\n".join(out)


def test_simulate_shows_the_wire_route_of_a_key_pressed_mid_greeting(capsys, config, engine):
    expected = wire_route(engine, destination=NUMBERS["ext-continue"], digits=["102"],
                          endpoints={"user/102": "answer"})
    code, steps, out = simulated(capsys, config, "--number", NUMBERS["ext-continue"], "--digits", "102",
                                 "--answer", "bob")
    assert code == 0 and steps == expected
    assert steps[0].startswith("greeting: ") and "digits=102" in steps[0]
    assert "answered by: bob" in out


def test_simulate_shows_the_wire_route_through_three_nested_menus(capsys, config, engine):
    keys = ["2", "7", "1", "", "9", "*", "1", "1"]
    expected = wire_route(engine, destination=NUMBERS["menu"], digits=keys, endpoints={"user/102": "answer"})
    code, steps, _ = simulated(capsys, config, "--number", NUMBERS["menu"], "--digits", ",".join(keys),
                               "--answer", "bob")
    assert code == 0 and steps == expected
    assert [s.split(":")[0] for s in steps].count("ivr") == 8


def test_simulate_shows_the_wire_route_of_a_public_holiday_call_at_local_time(capsys, config, engine):
    forward = "sofia/gateway/trunk/+380501112233"
    expected = wire_route(engine, destination=NUMBERS["berlin-hours"], endpoints={forward: "answer"},
                          created_us=at_local("2026-05-01 10:00", "Europe/Berlin"))
    code, steps, out = simulated(capsys, config, "--number", NUMBERS["berlin-hours"],
                                 "--at", "2026-05-01T10:00", "--answer", "+380501112233")
    assert code == 0 and steps == expected
    assert "arrival 2026-05-01T10:00:00+02:00" in out
    assert steps[0] == ("working_hours: result=closed reason=public_holiday holiday=Labor Day "
                        "local_time=2026-05-01T10:00:00+02:00")


def test_simulate_shows_the_wire_route_of_an_absent_employee_skipped_everywhere(capsys, config, engine):
    for name, status in (("alice", "break"), ("bob", "started"), ("carol", "started"), ("dave", "started")):
        engine.store.employees.set_status(name, status)
    engine.store.crm.add_contact(name="Client", phones=[CALLER], responsible="alice")
    expected = wire_route(engine, destination=NUMBERS["absent"], variables={"sip_to_user": "101"},
                          digits=["101", "3"], endpoints={"user/102": "answer"})
    code, steps, _ = simulated(capsys, config, "--number", NUMBERS["absent"], "--to-header", "101",
                               "--digits", "101", "--digits", "3", "--absent", "alice",
                               "--crm-responsible", "alice", "--answer", "bob")
    assert code == 0 and steps == expected
    assert sum("reason=absent" in s for s in steps) == 8


def test_simulate_prints_the_esl_applications_with_commands(capsys, config):
    code, _, out = simulated(capsys, config, "--number", NUMBERS["everyone"], "--commands")
    assert code == 0
    assert "esl: bridge {originate_timeout=30}" in out
    assert "answered by: nobody" in out


@pytest.mark.parametrize("flags, message", [
    (["--number", "+380449999999"], "no line has the number"),
    (["--number", NUMBERS["menu"], "--answer", "zoe"], "unknown employee 'zoe'"),
    (["--number", NUMBERS["menu"], "--at", "yesterday"], "not an ISO 8601 time"),
])
def test_simulate_refuses_bad_flags_with_a_clear_message(capsys, config, flags, message):
    assert main(["simulate", "--config", str(config), "--caller", CALLER, *flags]) == 1
    assert message in capsys.readouterr().err


def test_simulate_at_with_db_stores_a_call_that_lasts_seconds_on_the_simulated_clock(tmp_path):
    from datetime import timedelta
    from pathlib import Path

    from fsrouter.cli import main
    from fsrouter.store import open_store

    db = f"sqlite:///{tmp_path / 's.db'}"
    shipped = Path(__file__).resolve().parent.parent / "config"
    assert main(["simulate", "--config", str(shipped), "--db", db, "--number", "+380441234567",
                 "--caller", "+380501112233", "--digits", "102", "--answer", "bob",
                 "--at", "2026-06-03T10:00"]) == 0
    store = open_store(db, spool_dir=None)
    try:
        [record] = store.calls.list(limit=1)
    finally:
        store.close()
    assert record.started_at.year == 2026 and record.started_at.month == 6
    assert timedelta(0) <= record.answered_at - record.started_at < timedelta(minutes=1)
    assert timedelta(0) <= record.ended_at - record.started_at < timedelta(minutes=1)


def test_simulate_against_a_running_server_prints_the_route_that_server_stored(capsys, config, engine, tmp_path,
                                                                               monkeypatch):
    expected = wire_route(engine, destination=NUMBERS["ext-continue"], digits=["102"],
                          endpoints={"user/102": "answer"})

    def no_engine_here(*args, **kwargs):
        raise AssertionError("--server must not start an engine in this process")

    monkeypatch.setattr("fsrouter.cli_simulate.simulate", no_engine_here)
    code, steps, out = simulated(capsys, config, "--number", NUMBERS["ext-continue"], "--digits", "102",
                                 "--answer", "bob", "--server", f"{engine.address[0]}:{engine.address[1]}",
                                 "--db", f"sqlite:///{tmp_path / 'wire.db'}")
    assert code == 0, out
    assert steps == expected and steps[0].startswith("greeting: ")
    assert "answered by: bob" in out
    assert "no record" not in out


def test_simulate_says_when_the_server_cannot_be_reached(capsys, config):
    code = main(["simulate", "--config", str(config), "--caller", CALLER, "--number", NUMBERS["ext-continue"],
                 "--server", "127.0.0.1:1", "--db", "sqlite:///:memory:"])
    assert code == 1
    assert "cannot reach the engine at 127.0.0.1:1" in capsys.readouterr().err


def test_simulate_refuses_a_server_that_is_not_host_and_port(capsys, config):
    code = main(["simulate", "--config", str(config), "--caller", CALLER, "--number", NUMBERS["ext-continue"],
                 "--server", "localhost"])
    assert code == 1
    assert "is not HOST:PORT" in capsys.readouterr().err


@pytest.mark.parametrize("server", ["127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:\u00b2", "127.0.0.1:"])
def test_simulate_refuses_a_port_outside_1_to_65535(capsys, config, server):
    code = main(["simulate", "--config", str(config), "--caller", CALLER, "--number", NUMBERS["ext-continue"],
                 "--server", server])
    assert code == 1
    assert "port 1-65535" in capsys.readouterr().err


def test_simulate_checks_the_store_before_dialling(capsys, config, engine, tmp_path):
    missing = tmp_path / "nowhere" / "x.db"
    code = main(["simulate", "--config", str(config), "--caller", CALLER, "--number", NUMBERS["ext-continue"],
                 "--server", f"{engine.address[0]}:{engine.address[1]}", "--db", f"sqlite:///{missing}"])
    assert code == 1
    assert "no such SQLite file" in capsys.readouterr().err
    assert not missing.exists()
    assert engine.wait_idle() and not engine.app.store.calls.list()  # no call was placed


def test_simulate_fails_when_the_record_is_not_in_the_store_given(capsys, config, engine, tmp_path):
    other = tmp_path / "other.db"
    from fsrouter.store import open_store
    open_store(f"sqlite:///{other}", spool_dir=None).close()
    code = main(["simulate", "--config", str(config), "--caller", CALLER, "--number", NUMBERS["ext-continue"],
                 "--server", f"{engine.address[0]}:{engine.address[1]}", "--db", f"sqlite:///{other}"])
    assert code == 1
    assert "no record of call" in capsys.readouterr().err


def _listener(behaviour):
    import gevent
    from gevent import socket as gsocket

    srv = gsocket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)

    def serve():
        conn, _ = srv.accept()
        behaviour(conn)

    return srv, gevent.spawn(serve)


def _simulate_against(config, behaviour) -> int:
    """``fsrouter simulate --server`` dialling a listener that does ``behaviour(conn)``; the exit code."""
    srv, job = _listener(behaviour)
    try:
        return main(["simulate", "--config", str(config), "--caller", CALLER, "--number", NUMBERS["ext-continue"],
                     "--server", f"127.0.0.1:{srv.getsockname()[1]}", "--db", "sqlite:///:memory:"])
    finally:
        job.kill()
        srv.close()


def test_simulate_reports_a_listener_that_never_speaks_esl_in_bounded_time(capsys, config, monkeypatch):
    import gevent

    monkeypatch.setattr("fsrouter.cli_simulate.SERVER_CALL_TIMEOUT_S", 0.5)
    code = _simulate_against(config, lambda conn: gevent.sleep(5))
    assert code == 1
    assert "did not end within 0.5 s" in capsys.readouterr().err


def test_simulate_reports_a_listener_that_hangs_up_at_once(capsys, config):
    code = _simulate_against(config, lambda conn: conn.close())
    assert code == 1
    assert "without a word of ESL" in capsys.readouterr().err


def test_simulate_reports_a_call_the_engine_handed_back(capsys, config):
    import structlog

    from fsrouter.session.server import CallServer

    full = CallServer(("127.0.0.1", 0), lambda call, log: None, log=structlog.get_logger(), max_calls=0)
    full.start()
    try:
        code = main(["simulate", "--config", str(config), "--caller", CALLER, "--number", NUMBERS["ext-continue"],
                     "--server", f"127.0.0.1:{full.address[1]}", "--db", "sqlite:///:memory:"])
    finally:
        full.stop(1)
    assert code == 1
    assert "handed the call back" in capsys.readouterr().err
