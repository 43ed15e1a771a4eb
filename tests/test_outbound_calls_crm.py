"""Outgoing calls are matched in the CRM and recorded like incoming ones (through the wire)."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from fsrouter.replay.fakefs import Scenario
from tests.harness import EngineHarness, write_config

EMPLOYEES = """\
employees:
  alice: {name: Alice, extension: "101", endpoint: user/101, default_line: kyiv}
  bob: {name: Bob, extension: "102", endpoint: user/102}
  carol: {name: Carol, extension: "103", endpoint: user/103}
"""

LINE = """\
    number: "+380441234567"
    kind: rented
    timezone: Europe/Kyiv
    language: en
    routing: {{greeting: false, group: sales}}
    outbound: {{selectable: true, prefix: "*123*", allowed_employees: [alice], gateway: kyiv-trunk}}
    crm: {{enabled: true, create_lead: auto, create_lead_for: {lead_for}, lead_source: "Cold calls"}}
    recording: {{enabled: true, warning: true}}
"""

CALLEE = "+380954558888"
GATEWAY_LEG = f"sofia/gateway/kyiv-trunk/{CALLEE}"


@pytest.fixture
def engine_for(tmp_path):
    started = []

    def make(lead_for: str = "all"):
        config = write_config(tmp_path / "config", lines={"kyiv": LINE.format(lead_for=lead_for)},
                              employees=EMPLOYEES)
        harness = EngineHarness(config, db_url=f"sqlite:///{tmp_path / 'x.db'}")
        harness.start()
        started.append(harness)
        return harness
    yield make
    for harness in started:
        harness.stop()


def alice_dials(engine, dialed: str = "*123*0954558888"):
    return engine.call(Scenario(caller="101", destination=dialed, variables={"fsrouter_direction": "outbound"},
                                endpoints={GATEWAY_LEG: "answer"}))


def test_the_callee_of_an_outgoing_call_is_matched_in_the_crm_and_its_card_published(engine_for):
    engine = engine_for()
    contact = engine.store.crm.add_contact(name="Olena", phones=[CALLEE], responsible="bob")
    with capture_logs() as logs:
        fake = alice_dials(engine)
    cards = [e for e in logs if e["event"] == "crm_card"]
    assert [(c["phone"], c["match"]["entity_id"]) for c in cards] == [(CALLEE, contact)]
    record = engine.record(fake.scenario.uuid)
    assert record.extra["crm"]["match"]["entity_type"] == "contact"
    assert [s["step"] for s in record.route[:2]] == ["outbound_line", "crm"]


def test_an_unknown_callee_gets_a_lead_for_the_employee_who_called_when_leads_are_made_for_outgoing(engine_for):
    engine = engine_for("outgoing")
    fake = alice_dials(engine)
    [match] = engine.store.crm.matches(CALLEE)
    lead = engine.store.crm.lead(match.entity_id)
    assert (lead.phone, lead.line, lead.source, lead.responsible) == (CALLEE, "kyiv", "Cold calls", "alice")
    assert engine.record(fake.scenario.uuid).extra["crm"]["lead"]["created"] is True


def test_an_unanswered_outgoing_call_still_makes_the_caller_the_leads_responsible(engine_for):
    engine = engine_for("outgoing")
    fake = engine.call(Scenario(caller="101", destination="*123*0954558888",
                                variables={"fsrouter_direction": "outbound"}, endpoints={GATEWAY_LEG: "busy"}))
    [match] = engine.store.crm.matches(CALLEE)
    assert engine.store.crm.lead(match.entity_id).responsible == "alice"  # not the group's first member
    assert engine.record(fake.scenario.uuid).answered_by is None


def test_no_lead_is_made_for_an_outgoing_call_when_leads_are_for_incoming_calls_only(engine_for):
    engine = engine_for("incoming")
    fake = alice_dials(engine)
    assert engine.store.crm.matches(CALLEE) == []
    assert engine.record(fake.scenario.uuid).extra["crm"]["lead"] == {"created": False,
                                                                      "reason": "not_for_outgoing"}


def test_an_outgoing_call_is_recorded_without_the_recording_warning(engine_for):
    engine = engine_for()
    fake = alice_dials(engine)
    apps = [e.app for e in fake.executed]
    assert "record_session" in apps and "playback" not in apps
    assert apps.index("record_session") < apps.index("bridge")
    record = engine.record(fake.scenario.uuid)
    assert record.extra["recording"]["recorded"] is True
    [step] = [s for s in record.route if s["step"] == "recording"]
    assert step["warning"] is False  # the route says what the caller heard
    [stored] = engine.store.recordings.for_call(fake.scenario.uuid)
    assert stored.path == record.extra["recording"]["path"] and "_101_" in stored.path
