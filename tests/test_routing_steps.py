"""Routing steps over the wire: SIP To header, extension dialing, CRM responsible, groups,
absent employees. Each call is the fake FreeSWITCH dialling the real engine over TCP."""

from __future__ import annotations

import re

import gevent
import pytest

from fsrouter.replay.fakefs import Scenario
from tests.routing_config import NUMBERS, routing_engine

CALLER = "+380639876543"


@pytest.fixture
def engine(tmp_path):
    with routing_engine(tmp_path) as harness:
        yield harness


def call(engine, line: str, **scenario):
    scenario.setdefault("caller", CALLER)
    fake = engine.call(Scenario(destination=NUMBERS[line], **scenario))
    return fake, engine.record(fake.scenario.uuid)


def bridges(fake) -> list[str]:
    return [e.arg for e in fake.executed if e.app == "bridge"]


def endpoints(dial: str) -> list[str]:
    """The endpoints of a dial string, without {..} and [..] variables."""
    return re.sub(r"\[[^\]]*\]", "", re.sub(r"^\{[^}]*\}", "", dial)).split(",")


def steps(record, *names) -> list[tuple]:
    return [(s["step"], s.get("employee"), s.get("result")) for s in record.route if s["step"] in names]


def melody(engine, stage: str) -> str:
    return engine.app.services.melodies.builtin("en", stage)


# --- 3. extension dialing ----------------------------------------------------------------

def test_a_key_pressed_mid_greeting_stops_the_greeting_and_rings_that_extension(engine):
    fake, record = call(engine, "ext-continue", digits=["102"], endpoints={"user/102": "answer"})
    assert [e.app for e in fake.executed][:2] == ["answer", "play_and_get_digits"]
    prompt = fake.executed[1].arg.split()
    # min 1, max 3 digits (longest extension), 1 try, 3 s after the greeting, '#' ends input
    assert prompt[:6] == ["1", "3", "1", "3000", "#", melody(engine, "greeting")]
    assert prompt[8:] == [r"\d+", "3000"]
    assert "playback" not in [e.app for e in fake.executed]  # the greeting is the barge-in prompt
    assert [endpoints(b) for b in bridges(fake)] == [["user/102"]]
    assert bridges(fake)[0].startswith("{originate_timeout=12}[origination_uuid=")
    assert record.route[0] == {"step": "greeting", "melody": melody(engine, "greeting"), "digits": "102"}
    assert steps(record, "extension") == [("extension", "bob", "answered")]
    assert record.answered_by == "bob"


def test_an_extension_that_does_not_answer_with_no_answer_continue_goes_on_to_the_group(engine):
    fake, record = call(engine, "ext-continue", digits=["101"], endpoints={"user/104": "answer"})
    assert [endpoints(b) for b in bridges(fake)] == [["user/101"], ["user/104"]]
    assert steps(record, "extension", "group") == [("extension", "alice", "no_answer"), ("group", "dave", "answered")]
    assert record.answered_by == "dave"


def test_an_extension_that_does_not_answer_with_forward_to_phone_rings_her_phones_mobile_first(engine):
    fake, record = call(engine, "ext-forward", digits=["101"], endpoints={
        "sofia/gateway/trunk/+380501234567": "no_answer", "sofia/gateway/trunk/+380442223344": "answer"})
    assert bridges(fake)[1:] == ["{originate_timeout=12}sofia/gateway/trunk/+380501234567",
                                 "{originate_timeout=12}sofia/gateway/trunk/+380442223344"]
    forwards = [(s["number"], s["result"]) for s in record.route if s["step"] == "extension_forward"]
    assert forwards == [("+380501234567", "no_answer"), ("+380442223344", "answered")]
    assert record.answered_by == "alice"


def test_an_extension_that_is_busy_with_no_answer_voicemail_takes_a_message_for_that_employee(engine):
    fake, record = call(engine, "ext-voicemail", digits=["101"], endpoints={"user/101": "busy"})
    apps = [e.app for e in fake.executed]
    assert apps[-2:] == ["playback", "record"]
    assert fake.executed[-2].arg == melody(engine, "voicemail")
    assert [s for s in record.route if s["step"] == "extension"][0]["cause"] == "USER_BUSY"
    assert steps(record, "extension", "extension_voicemail") == [
        ("extension", "alice", "busy"), ("extension_voicemail", "alice", None)]
    assert [v.employee for v in engine.store.voicemails.for_call(fake.scenario.uuid)] == ["alice"]
    assert "user/104" not in ",".join(bridges(fake))  # the group is not rung after the message


def test_an_unknown_extension_is_announced_and_the_call_goes_on(engine):
    fake, record = call(engine, "ext-continue", digits=["999"], endpoints={"user/104": "answer"})
    assert [(e.app, e.arg) for e in fake.executed if e.app == "playback"] == [
        ("playback", melody(engine, "unknown_extension"))]
    assert [s["result"] for s in record.route if s["step"] == "extension"] == ["unknown_extension"]
    assert record.answered_by == "dave"


def test_no_key_during_the_greeting_passes_the_call_on(engine):
    fake, record = call(engine, "ext-continue", digits=[""], endpoints={"user/104": "answer"})
    assert record.route[0]["digits"] is None
    assert [endpoints(b) for b in bridges(fake)] == [["user/104"]]


# --- 1. SIP To header ----------------------------------------------------------------------

def test_the_extension_in_the_sip_to_header_is_rung_first(engine):
    fake, record = call(engine, "pbx", variables={"sip_to_user": "103"}, endpoints={"user/103": "answer"})
    assert [endpoints(b) for b in bridges(fake)] == [["user/103"]]
    assert steps(record, "sip_to_header") == [("sip_to_header", "carol", "answered")]
    assert record.answered_by == "carol"


def test_an_extension_in_the_to_header_parameters_is_found_when_the_user_part_is_the_did(engine):
    fake, record = call(engine, "pbx", variables={"sip_to_user": "+380441234567", "sip_to_params": "ext=102",
                                                  "sip_to_uri": "+380441234567@pbx.example.com"},
                        endpoints={"user/102": "answer"})
    assert [endpoints(b) for b in bridges(fake)] == [["user/102"]]
    assert record.answered_by == "bob"


def test_an_unknown_to_header_extension_passes_the_call_to_the_group(engine):
    fake, record = call(engine, "pbx", variables={"sip_to_user": "555"}, endpoints={"user/104": "answer"})
    assert [endpoints(b) for b in bridges(fake)] == [["user/104"]]
    assert record.route[0] == {"step": "sip_to_header", "extension": "555", "result": "unknown_extension"}


@pytest.mark.parametrize("outcome, recorded, cause", [
    ("no_answer", "no_answer", "NO_ANSWER"),
    ("busy", "busy", "USER_BUSY"),
    ("rejected", "rejected", "CALL_REJECTED"),
    ("not_registered", "unreachable", "USER_NOT_REGISTERED"),
    ("no_user_response", "no_answer", "NO_USER_RESPONSE"),
])
def test_each_way_of_not_answering_is_recorded_and_the_call_goes_on(engine, outcome, recorded, cause):
    fake, record = call(engine, "pbx", variables={"sip_to_user": "101"},
                        endpoints={"user/101": outcome, "user/104": "answer"})
    first = [s for s in record.route if s["step"] == "sip_to_header"][0]
    assert (first["employee"], first["result"], first["cause"]) == ("alice", recorded, cause)
    assert [endpoints(b) for b in bridges(fake)] == [["user/101"], ["user/104"]]
    assert record.answered_by == "dave"


# --- 5. CRM responsible --------------------------------------------------------------------

def test_a_known_caller_is_put_through_to_the_responsible_manager(engine):
    engine.store.crm.add_contact(name="Client", phones=[CALLER], responsible="carol")
    fake, record = call(engine, "crm-queue", endpoints={"user/103": "answer"})
    assert [endpoints(b) for b in bridges(fake)] == [["user/103"]]
    assert bridges(fake)[0].startswith("{originate_timeout=25}")
    assert steps(record, "crm_responsible") == [("crm_responsible", "carol", "answered")]


def test_a_busy_responsible_manager_with_no_answer_queue_passes_the_call_to_the_group(engine):
    engine.store.crm.add_company(name="ACME", phones=[CALLER], responsible="alice")
    fake, record = call(engine, "crm-queue", endpoints={"user/101": "busy", "user/104": "answer"})
    assert [endpoints(b) for b in bridges(fake)] == [["user/101"], ["user/104"]]
    assert steps(record, "crm_responsible", "group") == [
        ("crm_responsible", "alice", "busy"), ("group", "dave", "answered")]


def test_a_responsible_manager_on_another_call_is_not_rung_and_the_queue_takes_the_call(engine):
    engine.store.crm.add_contact(name="Client", phones=[CALLER], responsible="alice")
    assert engine.store.employees.mark_busy("alice", "another-call")
    fake, record = call(engine, "crm-queue", endpoints={"user/104": "answer"})
    assert [endpoints(b) for b in bridges(fake)] == [["user/104"]]
    assert record.route[0] == {"step": "crm_responsible", "employee": "alice", "result": "skipped", "reason": "busy"}


def test_an_unanswered_responsible_manager_with_forward_to_phone_gets_the_call_on_the_mobile(engine):
    engine.store.crm.add_lead(phone=CALLER, line="crm-forward", source=None, responsible="bob")
    fake, record = call(engine, "crm-forward", endpoints={"sofia/gateway/trunk/+380671112233": "answer"})
    assert bridges(fake)[1] == "{originate_timeout=25}sofia/gateway/trunk/+380671112233"
    assert steps(record, "crm_responsible", "crm_responsible_forward") == [
        ("crm_responsible", "bob", "no_answer"), ("crm_responsible_forward", "bob", "answered")]
    assert record.answered_by == "bob"


def test_a_responsible_manager_on_another_call_is_not_forwarded_to_either(engine):
    engine.store.crm.add_contact(name="Client", phones=[CALLER], responsible="bob")
    assert engine.store.employees.mark_busy("bob", "another-call")
    fake, record = call(engine, "crm-forward", endpoints={"user/104": "answer"})
    assert [endpoints(b) for b in bridges(fake)] == [["user/104"]]  # not bob's mobile: the group
    assert record.route[1] == {"step": "crm_responsible_forward", "employee": "bob", "result": "skipped",
                               "reason": "busy"}


def test_an_unanswered_responsible_manager_with_voicemail_takes_a_message_for_them(engine):
    engine.store.crm.add_contact(name="Client", phones=[CALLER], responsible="bob")
    fake, record = call(engine, "crm-voicemail", endpoints={"user/102": "rejected"})
    assert [e.app for e in fake.executed][-1] == "record"
    assert [v.employee for v in engine.store.voicemails.for_call(fake.scenario.uuid)] == ["bob"]
    assert steps(record, "crm_responsible")[0] == ("crm_responsible", "bob", "rejected")


def test_an_ivr_key_that_leads_to_a_group_rings_the_responsible_manager_first(engine):
    engine.store.crm.add_contact(name="Client", phones=[CALLER], responsible="dave")
    fake, record = call(engine, "menu-crm", digits=["1"], endpoints={"user/104": "answer"})
    assert [endpoints(b) for b in bridges(fake)] == [["user/104"]]
    assert steps(record, "crm_responsible") == [("crm_responsible", "dave", "answered")]
    # not answered, no_answer queue: on to the group the caller chose
    fake, record = call(engine, "menu-crm", digits=["1"], endpoints={"user/104": "busy", "user/101": "answer"})
    assert [endpoints(b) for b in bridges(fake)] == [["user/104"], ["user/101"]]
    assert record.answered_by == "alice"
    # a key that names an employee is the caller's own choice: no detour
    fake, _ = call(engine, "menu-crm", digits=["3"], endpoints={"user/101": "answer"})
    assert [endpoints(b) for b in bridges(fake)] == [["user/101"]]


def test_an_unknown_caller_skips_the_crm_step(engine):
    fake, record = call(engine, "crm-queue", endpoints={"user/104": "answer"})
    assert record.route[0] == {"step": "crm_responsible", "caller": CALLER, "result": "no_match",
                               "responsible": None}
    assert [endpoints(b) for b in bridges(fake)] == [["user/104"]]


# --- 6. groups -------------------------------------------------------------------------------

def test_evenly_rings_a_different_first_member_on_three_consecutive_calls(engine):
    answered = {"user/101": "answer", "user/102": "answer", "user/103": "answer"}
    firsts = [endpoints(bridges(call(engine, "even", endpoints=answered)[0])[0]) for _ in range(3)]
    assert sorted(f[0] for f in firsts) == ["user/101", "user/102", "user/103"]


def test_all_at_once_rings_every_member_in_one_bridge_and_the_first_to_answer_wins(engine):
    fake, record = call(engine, "everyone", endpoints={"user/102": "answer"})
    (dial,) = bridges(fake)
    assert dial.startswith("{originate_timeout=30}")
    assert endpoints(dial) == ["user/101", "user/102", "user/103"]
    legs = re.findall(r"\[origination_uuid=([^,\]]+),fsrouter_employee=(\w+)\]", dial)
    assert [who for _, who in legs] == ["alice", "bob", "carol"] and len({u for u, _ in legs}) == 3
    assert record.answered_by == "bob"
    assert sorted(steps(record, "group")) == [("group", "alice", "no_answer"), ("group", "bob", "answered"),
                                              ("group", "carol", "no_answer")]


def test_members_who_lost_the_race_are_free_for_the_next_caller_during_the_conversation(engine):
    talking = gevent.spawn(call, engine, "everyone", endpoints={"user/102": "answer"}, talk_s=1.0)
    gevent.sleep(0.4)  # bob has answered the first caller and is talking
    assert engine.store.employees.busy(["alice", "bob", "carol"]) == {"bob"}
    fake, record = call(engine, "everyone", endpoints={"user/101": "answer"})
    assert endpoints(bridges(fake)[0]) == ["user/101", "user/103"]
    assert record.answered_by == "alice"
    assert ("group", "bob", "skipped") in steps(record, "group")
    first, first_record = talking.get(timeout=10)
    assert first_record.answered_by == "bob"
    assert engine.store.employees.busy(["alice", "bob", "carol"]) == set()


def test_a_group_nobody_answers_forwards_to_its_number_through_the_line_gateway(engine):
    fake, record = call(engine, "everyone")
    assert bridges(fake)[-1] == "{originate_timeout=30}sofia/gateway/trunk/+380501112233"
    assert record.route[-1]["step"] == "group_forward"


def test_a_forward_answered_outside_is_an_answered_call_with_the_number_that_took_it(engine):
    from fsrouter.cli_calls import render_call

    fake, record = call(engine, "everyone", endpoints={"sofia/gateway/trunk/+380501112233": "answer"})
    assert record.route[-1] == {"step": "group_forward", "number": "+380501112233", "result": "answered",
                                "cause": "NORMAL_CLEARING"}
    assert record.answered_by is None and record.answered_at is not None
    assert record.extra["answered_number"] == "+380501112233"
    assert " by +380501112233" in render_call(record, [])


def test_a_caller_who_hangs_up_while_talking_to_the_forwarded_number_keeps_the_forward_in_the_route(engine):
    fake, record = call(engine, "everyone", endpoints={"sofia/gateway/trunk/+380501112233": "answer"},
                        hangup_during="bridge")
    assert record.route[-2:] == (
        {"step": "group_forward", "number": "+380501112233", "result": "caller_hung_up", "answered": True},
        {"step": "caller_hung_up", "hangup_cause": "NORMAL_CLEARING"})
    assert record.extra["answered_number"] == "+380501112233"


def test_a_member_already_on_a_call_is_not_rung(engine):
    assert engine.store.employees.mark_busy("bob", "another-call")
    fake, record = call(engine, "everyone", endpoints={"user/103": "answer"})
    assert endpoints(bridges(fake)[0]) == ["user/101", "user/103"]
    assert ("group", "bob", "skipped") in steps(record, "group")


def test_waiting_callers_hear_the_hold_melody_while_members_are_rung(engine):
    fake, _ = call(engine, "everyone", endpoints={"user/101": "answer"})
    (multiset,) = [e.arg for e in fake.executed if e.app == "multiset"]
    assert f"transfer_ringback={melody(engine, 'hold')}" in multiset.split()
    assert [e.app for e in fake.executed].index("multiset") < [e.app for e in fake.executed].index("bridge")


# --- 7. absent employees ---------------------------------------------------------------------

def test_an_employee_on_a_break_is_skipped_by_every_step(engine):
    for name, status in (("alice", "break"), ("bob", "started"), ("carol", "started"), ("dave", "started")):
        engine.store.employees.set_status(name, status)
    engine.store.crm.add_contact(name="Client", phones=[CALLER], responsible="alice")
    # To header 101, greeting 101, IVR key 3 ({employee: alice}): all alice; the group then rings bob
    fake, record = call(engine, "absent", variables={"sip_to_user": "101"}, digits=["101", "3"],
                        endpoints={"user/102": "answer"})
    dialed = ",".join(bridges(fake))
    assert "user/101" not in dialed and "+380501234567" not in dialed and "+380442223344" not in dialed
    skipped = [s["step"] for s in record.route if s.get("employee") == "alice" and s.get("reason") == "absent"]
    assert skipped == ["sip_to_header", "extension", "extension_forward", "ivr_employee", "ivr_employee_forward",
                       "crm_responsible", "crm_responsible_forward", "group"]
    assert record.answered_by == "bob"


def test_an_employee_whose_workday_ended_is_skipped_and_one_never_started_too(engine):
    engine.store.employees.set_status("alice", "ended")
    engine.store.employees.set_status("carol", "started")
    fake, record = call(engine, "absent", digits=["", "1"], endpoints={"user/103": "answer"})
    assert [endpoints(b) for b in bridges(fake)][-1] == ["user/103"]  # alice ended, bob never started
    assert [(e, r) for _, e, r in steps(record, "group")] == [("alice", "skipped"), ("bob", "skipped"),
                                                              ("carol", "answered")]


# --- the order ------------------------------------------------------------------------------

def test_the_routing_steps_run_in_the_spec_order_and_each_passes_the_call_on(engine):
    flow = engine.app.catalog.flows["absent"]
    node, chain = flow.start, []
    while node != "end":
        chain.append(node)
        outcomes = flow.nodes[node].outcomes
        node = flow.next(node, next(o for o in ("next", "no_answer", "done") if o in outcomes))
    mine = [n for n in chain if n in ("answer", "sip_to_header", "greeting", "ivr", "crm_responsible", "group")]
    assert mine == ["answer", "sip_to_header", "greeting", "ivr", "crm_responsible", "group"]
    hours = engine.app.catalog.flows["kyiv-hours"]
    assert hours.next("working_hours", "next") == "greeting"
    assert hours.next("working_hours", "closed") == "after_hours"
