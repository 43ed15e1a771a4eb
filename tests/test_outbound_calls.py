"""Calls employees place, through the wire: line by prefix or default line, refusals, record, CRM."""

from __future__ import annotations

import gevent
import pytest
from structlog.testing import capture_logs

from fsrouter.replay.fakefs import Scenario
from tests.harness import EngineHarness, write_config

EMPLOYEES = """\
employees:
  alice: {name: Alice, extension: "101", endpoint: user/101, default_line: kyiv}
  bob: {name: Bob, extension: "102", endpoint: user/102}
  carol: {name: Carol, extension: "103", endpoint: user/103, default_line: lviv}
  dave: {name: Dave, extension: "104", endpoint: user/104, default_line: kyiv}
"""

LINES = {
    "kyiv": """\
        number: "+380441234567"
        kind: rented
        timezone: Europe/Kyiv
        language: en
        routing: {greeting: false, group: sales}
        outbound: {selectable: true, prefix: "*123*", allowed_employees: [alice, bob, dave], gateway: kyiv-trunk}
    """,
    "lviv": """\
        number: "+380322123456"
        kind: rented
        timezone: Europe/Kyiv
        language: uk
        routing: {greeting: false, group: sales}
        outbound: {selectable: true, prefix: "#123#", allowed_employees: [alice, carol], gateway: lviv-trunk}
    """,
    "digits": """\
        number: "+380442220000"
        kind: rented
        timezone: Europe/Kyiv
        routing: {greeting: false, group: sales}
        outbound: {selectable: true, prefix: "801", allowed_employees: [alice], gateway: trunk-801}
    """,
    "hidden": """\
        number: "+380443330000"
        kind: rented
        timezone: Europe/Kyiv
        routing: {greeting: false, group: sales}
        outbound: {selectable: false, prefix: "*9*", allowed_employees: [alice], gateway: hidden-trunk}
    """,
}

CALLEE = "+380954558888"
OUTBOUND = {"fsrouter_direction": "outbound"}


@pytest.fixture
def engine(tmp_path):
    harness = EngineHarness(write_config(tmp_path / "config", lines=LINES, employees=EMPLOYEES),
                            db_url=f"sqlite:///{tmp_path / 'x.db'}")
    harness.start()
    yield harness
    harness.stop()


def dial(engine, caller: str, dialed: str, *, answers: str | None = None, outcome: str = "answer",
         variables: dict | None = None):
    """An employee with extension ``caller`` dials ``dialed``; ``answers``: the gateway endpoint that answers."""
    endpoints = {answers: outcome} if answers else {}
    return engine.call(Scenario(caller=caller, destination=dialed, variables={**OUTBOUND, **(variables or {})},
                                endpoints=endpoints))


def bridges(fake) -> list[str]:
    return [e.arg for e in fake.executed if e.app == "bridge"]


def test_a_star_prefix_picks_its_line_strips_the_prefix_and_dials_e164_with_the_lines_caller_id(engine):
    fake = dial(engine, "101", "*123*380954558888", answers=f"sofia/gateway/kyiv-trunk/{CALLEE}")
    assert bridges(fake) == [
        f"{{origination_caller_id_number=+380441234567,originate_timeout=60}}sofia/gateway/kyiv-trunk/{CALLEE}"]
    record = engine.record(fake.scenario.uuid)
    assert (record.line, record.answered_by, record.hangup_cause) == ("kyiv", "alice", "NORMAL_CLEARING")
    assert record.extra["outbound"] == {"employee": "alice", "dialed": "*123*380954558888", "prefix": "*123*",
                                        "number": CALLEE, "refused": None}


def test_a_hash_prefix_picks_its_line_and_a_national_number_after_it_is_dialed_as_e164(engine):
    fake = dial(engine, "103", "#123#0954558888", answers=f"sofia/gateway/lviv-trunk/{CALLEE}")
    assert bridges(fake) == [
        f"{{origination_caller_id_number=+380322123456,originate_timeout=60}}sofia/gateway/lviv-trunk/{CALLEE}"]
    assert engine.record(fake.scenario.uuid).line == "lviv"


def test_a_digits_only_801_prefix_picks_its_line(engine):
    fake = dial(engine, "101", "801380954558888", answers=f"sofia/gateway/trunk-801/{CALLEE}")
    assert bridges(fake) == [
        f"{{origination_caller_id_number=+380442220000,originate_timeout=60}}sofia/gateway/trunk-801/{CALLEE}"]
    record = engine.record(fake.scenario.uuid)
    assert (record.line, record.destination) == ("digits", CALLEE)


def test_without_a_prefix_the_employees_default_line_is_used(engine):
    fake = dial(engine, "101", "0954558888", answers=f"sofia/gateway/kyiv-trunk/{CALLEE}")
    assert bridges(fake) == [
        f"{{origination_caller_id_number=+380441234567,originate_timeout=60}}sofia/gateway/kyiv-trunk/{CALLEE}"]
    record = engine.record(fake.scenario.uuid)
    assert (record.line, record.extra["outbound"]["prefix"]) == ("kyiv", None)


def test_an_employee_not_allowed_on_the_line_hears_the_refusal_and_is_rejected_and_logged(engine):
    with capture_logs() as logs:
        fake = dial(engine, "103", "*123*380954558888", answers=f"sofia/gateway/kyiv-trunk/{CALLEE}")
    assert bridges(fake) == []
    assert [(e.app, e.arg.rsplit("/", 2)[-2:]) for e in fake.executed] == [("playback", ["en", "refused.wav"])]
    assert fake.hangup_cause == "CALL_REJECTED"
    refused = [e for e in logs if e["event"] == "outbound_refused"]
    assert [(e["reason"], e["employee"], e["line"]) for e in refused] == [("not_allowed", "carol", "kyiv")]
    record = engine.record(fake.scenario.uuid)
    assert (record.direction, record.line, record.caller, record.hangup_cause) == (
        "outbound", "kyiv", "103", "CALL_REJECTED")
    assert record.route[-1]["step"] == "outbound_refused"


def test_a_line_with_selectable_false_is_never_chosen_by_its_prefix(engine):
    fake = dial(engine, "101", "*9*380954558888", answers=f"sofia/gateway/hidden-trunk/{CALLEE}")
    assert not any("hidden-trunk" in arg for arg in bridges(fake))
    record = engine.record(fake.scenario.uuid)
    assert record.line == "kyiv"  # her default line took the string, which is no phone number
    assert (record.extra["outbound"]["refused"], record.hangup_cause) == ("not_a_number", "INVALID_NUMBER_FORMAT")


def test_the_outgoing_call_is_recorded_with_direction_outbound_the_extension_and_the_e164_destination(engine):
    fake = dial(engine, "101", "*123*0954558888", answers=f"sofia/gateway/kyiv-trunk/{CALLEE}")
    record = engine.record(fake.scenario.uuid)
    assert (record.direction, record.caller, record.destination, record.line) == (
        "outbound", "101", CALLEE, "kyiv")
    assert record.route[0] == {"step": "outbound_line", "line": "kyiv", "employee": "alice", "prefix": "*123*",
                               "number": CALLEE}
    assert record.answered_at is not None


def test_an_employee_known_only_by_sip_from_user_is_identified(engine):
    fake = dial(engine, "+380441234567", "*123*380954558888", answers=f"sofia/gateway/kyiv-trunk/{CALLEE}",
                variables={"sip_from_user": "102"})
    record = engine.record(fake.scenario.uuid)
    assert (record.caller, record.answered_by) == ("102", "bob")


def test_a_caller_who_is_no_employee_is_rejected_with_the_refusal_in_the_default_language(engine):
    fake = dial(engine, "555", "*123*380954558888")
    assert bridges(fake) == []
    assert [e.arg.rsplit("/", 2)[-2:] for e in fake.executed if e.app == "playback"] == [["en", "refused.wav"]]
    record = engine.record(fake.scenario.uuid)
    assert (record.line, record.hangup_cause, record.extra["outbound"]["refused"]) == (
        None, "CALL_REJECTED", "unknown_employee")


def test_an_employee_without_a_default_line_dialing_no_prefix_gets_no_route(engine):
    fake = dial(engine, "102", "0954558888")
    assert bridges(fake) == []
    record = engine.record(fake.scenario.uuid)
    assert (record.hangup_cause, record.extra["outbound"]["refused"]) == ("NO_ROUTE_DESTINATION", "no_line")


def test_a_busy_callee_ends_the_employees_leg_with_user_busy(engine):
    fake = dial(engine, "101", "*123*380954558888", answers=f"sofia/gateway/kyiv-trunk/{CALLEE}", outcome="busy")
    record = engine.record(fake.scenario.uuid)
    assert (fake.hangup_cause, record.answered_by) == ("USER_BUSY", None)
    assert record.route[-1]["result"] == "busy"


def test_a_call_without_the_direction_variable_stays_an_incoming_call(engine):
    fake = engine.call(Scenario(caller="101", destination="+380441234567", endpoints={"user/102": "answer"}))
    record = engine.record(fake.scenario.uuid)
    assert (record.direction, record.line, record.answered_by) == ("inbound", "kyiv", "bob")



def test_the_authenticated_user_name_decides_who_calls_not_the_caller_id_the_phone_sends(engine):
    # carol (103) is not allowed on the 801 line; her phone claims to be alice (101)
    fake = dial(engine, "101", "801380954558888", answers=f"sofia/gateway/trunk-801/{CALLEE}",
                variables={"user_name": "103", "sip_from_user": "101"})
    assert bridges(fake) == []
    record = engine.record(fake.scenario.uuid)
    assert (record.extra["outbound"]["employee"], record.extra["outbound"]["refused"]) == ("carol", "not_allowed")
    unknown = dial(engine, "101", "801380954558888", variables={"user_name": "999"})
    assert engine.record(unknown.scenario.uuid).extra["outbound"]["refused"] == "unknown_employee"


def test_an_employee_placing_a_call_stays_busy_when_a_call_that_was_ringing_them_gives_up(engine):
    assert engine.store.employees.mark_busy("alice", "incoming-ringing-alice")
    placing = gevent.spawn(engine.call, Scenario(
        caller="101", destination="*123*380954558888", variables=OUTBOUND, talk_s=0.8,
        endpoints={f"sofia/gateway/kyiv-trunk/{CALLEE}": "answer"}))
    gevent.sleep(0.3)  # alice is talking to the callee
    engine.store.employees.mark_free("alice", "incoming-ringing-alice")  # that ring timed out
    assert engine.store.employees.busy(["alice"]) == {"alice"}  # still on her own call
    fake = placing.get(timeout=10)
    assert engine.record(fake.scenario.uuid).answered_by == "alice"
    assert engine.store.employees.busy(["alice"]) == set()


def test_an_outgoing_call_goes_out_while_the_store_cannot_mark_the_employee_busy(tmp_path, monkeypatch):
    from fsrouter.errors import StoreError
    from fsrouter.store.employees import EmployeeStateRepository

    def down(self, *args, **kwargs):
        raise StoreError("database is locked")
    monkeypatch.setattr(EmployeeStateRepository, "take_over", down)
    harness = EngineHarness(write_config(tmp_path / "config", lines=LINES, employees=EMPLOYEES),
                            db_url=f"sqlite:///{tmp_path / 'x.db'}")
    harness.start()
    try:
        with capture_logs() as logs:
            fake = dial(harness, "101", "*123*380954558888", answers=f"sofia/gateway/kyiv-trunk/{CALLEE}")
        assert len(bridges(fake)) == 1
        assert harness.record(fake.scenario.uuid).answered_by == "alice"
        assert any(e["event"] == "store_unavailable" and e["operation"] == "employees.take_over" for e in logs)
    finally:
        harness.stop()
