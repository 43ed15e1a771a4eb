"""CRM integration through the wire: match, card, lead creation, exclusions, transfers."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from fsrouter.replay.fakefs import Scenario
from tests.harness import EngineHarness, write_config

UNKNOWN = "+380509998877"


def crm_line(**crm) -> str:
    settings = {"enabled": "true", "create_lead": "auto", "create_lead_for": "all",
                "lead_source": '"Winter ads"', "exclusions": '["+380440000000"]', **crm}
    body = "\n".join(f"      {k}: {v}" for k, v in settings.items())
    return f"""\
    number: "+380441234567"
    kind: rented
    timezone: Europe/Kyiv
    language: en
    routing:
      greeting: false
      group: sales
    crm:
{body}
"""


@pytest.fixture
def engine_with(tmp_path):
    started = []

    def make(**crm):
        harness = EngineHarness(write_config(tmp_path / "config", lines={"kyiv": crm_line(**crm)}),
                                db_url=f"sqlite:///{tmp_path / 'x.db'}")
        harness.start()
        started.append(harness)
        return harness
    yield make
    for harness in started:
        harness.stop()


def test_a_known_contact_gets_its_card_published_and_no_lead(engine_with):
    engine = engine_with()
    contact = engine.store.crm.add_contact(name="Olena", phones=["+380501112233"], responsible="bob")
    with capture_logs() as logs:
        fake = engine.call(Scenario(caller="0501112233", endpoints={"user/101": "answer"}))
    card = [e for e in logs if e["event"] == "crm_card"]
    assert [(c["phone"], c["match"]) for c in card] == [("+380501112233", {
        "entity_type": "contact", "entity_id": contact, "name": "Olena", "responsible": "bob"})]
    record = engine.record(fake.scenario.uuid)
    assert record.extra["crm"]["match"]["entity_type"] == "contact"
    assert "lead" not in record.extra["crm"]
    assert [m.entity_type for m in engine.store.crm.matches("+380501112233")] == ["contact"]


def test_an_unknown_caller_creates_one_lead_with_the_lines_source_even_when_calling_twice(engine_with):
    engine = engine_with()
    first = engine.call(Scenario(caller=UNKNOWN, endpoints={"user/101": "no_answer", "user/102": "answer"}))
    second = engine.call(Scenario(caller=UNKNOWN, endpoints={"user/101": "answer"}))
    [match] = engine.store.crm.matches(UNKNOWN)
    lead = engine.store.crm.lead(match.entity_id)
    assert (lead.phone, lead.line, lead.source, lead.responsible) == (UNKNOWN, "kyiv", "Winter ads", "bob")
    assert engine.record(first.scenario.uuid).extra["crm"]["lead"] == {
        "created": True, "id": lead.id, "responsible": "bob"}
    assert engine.record(second.scenario.uuid).extra["crm"]["match"]["entity_id"] == lead.id


def test_an_unanswered_unknown_caller_gets_the_groups_first_member_as_responsible(engine_with):
    engine = engine_with()
    engine.call(Scenario(caller=UNKNOWN))
    [match] = engine.store.crm.matches(UNKNOWN)
    assert match.responsible == "alice"


def test_an_excluded_number_creates_no_lead(engine_with):
    engine = engine_with()
    fake = engine.call(Scenario(caller="+380440000000", endpoints={"user/101": "answer"}))
    assert engine.store.crm.matches("+380440000000") == []
    assert engine.record(fake.scenario.uuid).extra["crm"]["lead"] == {"created": False, "reason": "excluded"}


def test_manual_mode_creates_no_lead(engine_with):
    engine = engine_with(create_lead="manual")
    fake = engine.call(Scenario(caller=UNKNOWN, endpoints={"user/101": "answer"}))
    assert engine.store.crm.matches(UNKNOWN) == []
    assert engine.record(fake.scenario.uuid).extra["crm"]["lead"]["reason"] == "create_lead_manual"


def test_lead_creation_for_outgoing_calls_only_creates_none_on_an_incoming_call(engine_with):
    engine = engine_with(create_lead_for="outgoing")
    fake = engine.call(Scenario(caller=UNKNOWN, endpoints={"user/101": "answer"}))
    assert engine.store.crm.matches(UNKNOWN) == []
    assert engine.record(fake.scenario.uuid).extra["crm"]["lead"]["reason"] == "not_for_incoming"


def test_a_transfer_makes_the_new_employee_responsible_for_the_lead(engine_with):
    engine = engine_with(reassign_on_transfer="true")
    lead_id = engine.store.crm.add_lead(phone=UNKNOWN, line="kyiv", source="x", responsible="alice")
    fake = engine.call(Scenario(caller=UNKNOWN, endpoints={"user/101": "answer"}, transfer_to="103"))
    record = engine.record(fake.scenario.uuid)
    assert record.answered_by == "alice"
    assert [s for s in record.route if s["step"] == "transfer"][0]["to"] == "carol"
    assert record.extra["crm"]["reassigned"] == {"from": "alice", "to": "carol"}
    assert engine.store.crm.lead(lead_id).responsible == "carol"


def test_a_new_lead_created_after_a_transfer_belongs_to_whoever_talked_last(engine_with):
    engine = engine_with(reassign_on_transfer="true")
    engine.call(Scenario(caller=UNKNOWN, endpoints={"user/101": "answer"}, transfer_to="102"))
    [match] = engine.store.crm.matches(UNKNOWN)
    assert match.responsible == "bob"


def test_without_reassign_on_transfer_the_lead_keeps_its_responsible(engine_with):
    engine = engine_with(reassign_on_transfer="false")
    lead_id = engine.store.crm.add_lead(phone=UNKNOWN, line="kyiv", source="x", responsible="alice")
    fake = engine.call(Scenario(caller=UNKNOWN, endpoints={"user/101": "answer"}, transfer_to="103"))
    assert engine.store.crm.lead(lead_id).responsible == "alice"
    assert "reassigned" not in engine.record(fake.scenario.uuid).extra["crm"]


def test_an_unanswered_new_caller_belongs_to_the_first_employee_the_call_rang(tmp_path):
    line = crm_line().replace("      group: sales\n", "      ivr: main\n      group: sales\n")
    menus = 'ivr:\n  main:\n    prompt: default\n    keys:\n      "2": {group: support}\n'
    groups = "groups:\n  sales: {members: [alice, bob], strategy: in_order, ring_time: 20, no_answer: hangup}\n" \
             "  support: {members: [carol], strategy: in_order, ring_time: 20, no_answer: hangup}\n"
    engine = EngineHarness(write_config(tmp_path / "config", lines={"kyiv": line}, groups=groups,
                                        extra={"ivr.yaml": menus}), db_url=f"sqlite:///{tmp_path / 'x.db'}")
    engine.start()
    try:
        fake = engine.call(Scenario(caller=UNKNOWN, digits=["2"]))  # support; carol does not answer
        assert engine.record(fake.scenario.uuid).answered_by is None
        [match] = engine.store.crm.matches(UNKNOWN)
        assert match.responsible == "carol"  # not alice, the first of the line's own group
        other = "+380509998866"  # this one hangs up while carol's phone rings
        engine.call(Scenario(caller=other, digits=["2"], hangup_during="ringing"))
        [match] = engine.store.crm.matches(other)
        assert match.responsible == "carol"
    finally:
        engine.stop()
