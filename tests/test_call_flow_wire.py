"""Calls driven end to end: the fake FreeSWITCH dials the real engine over TCP."""

from fsrouter.replay.fakefs import FakeFreeSwitch, Scenario


def apps(fake):
    return [e.app for e in fake.executed]


def test_call_answered_by_the_second_group_member_is_recorded_with_its_route(engine):
    fake = engine.call(Scenario(endpoints={"user/101": "no_answer", "user/102": "answer"}))
    assert apps(fake)[:3] == ["answer", "playback", "multiset"]
    bridges = [e.arg for e in fake.executed if e.app == "bridge"]
    assert len(bridges) == 2
    assert bridges[0].startswith("{originate_timeout=20}") and bridges[0].endswith("user/101")
    assert bridges[1].endswith("user/102")
    assert fake.closed_by == "fs"  # we sent exit after the linger notice
    record = engine.record(fake.scenario.uuid)
    assert record.answered_by == "bob"
    assert record.line == "kyiv"
    assert [(s["step"], s.get("employee"), s.get("result")) for s in record.route if s["step"] == "group"] == [
        ("group", "alice", "no_answer"), ("group", "bob", "answered")]
    assert record.config_version == engine.app.catalog.version


def test_nobody_answering_leaves_a_voicemail_that_is_stored(engine, tmp_path):
    fake = engine.call(Scenario(record_seconds=9))
    ring = [e.arg for e in fake.executed if e.app == "bridge"]
    assert [r.rsplit("]", 1)[1] for r in ring] == ["user/101", "user/102", "user/103"]
    assert [e.app for e in fake.executed][-2:] == ["playback", "record"]
    assert fake.executed[-2].arg.endswith("/en/voicemail.wav")
    record_arg = fake.executed[-1].arg.split()
    path = record_arg[0]
    assert path.startswith(str(tmp_path / "var" / "voicemail" / "kyiv"))
    assert path.endswith(f"_{fake.scenario.uuid}.wav") and record_arg[1] == "120"
    [voicemail] = engine.store.voicemails.for_call(fake.scenario.uuid)
    assert (voicemail.path, voicemail.duration_s, voicemail.line) == (path, 9.0, "kyiv")
    record = engine.record(fake.scenario.uuid)
    assert record.answered_by is None
    assert record.route[-1]["step"] == "group_voicemail"
    assert fake.hangup_cause == "NORMAL_CLEARING"


def test_a_caller_who_hangs_up_to_end_the_voice_message_still_leaves_it(engine):
    fake = engine.call(Scenario(record_seconds=7, hangup_during="record", caller_cause="NORMAL_CLEARING"))
    assert [e.app for e in fake.executed][-2:] == ["playback", "record"]
    path = fake.executed[-1].arg.split()[0]
    [voicemail] = engine.store.voicemails.for_call(fake.scenario.uuid)
    assert (voicemail.path, voicemail.duration_s) == (path, 7.0)
    record = engine.record(fake.scenario.uuid)
    assert [s["step"] for s in record.route][-2:] == ["group_voicemail", "caller_hung_up"]
    assert record.route[-2]["duration_s"] == 7.0
    assert engine.wait_idle()


def test_caller_hanging_up_during_the_greeting_is_recorded_without_error(engine):
    fake = engine.call(Scenario(hangup_during="playback", caller_cause="ORIGINATOR_CANCEL"))
    assert [e.app for e in fake.executed] == ["answer", "playback"]
    record = engine.record(fake.scenario.uuid)
    assert record.hangup_cause == "ORIGINATOR_CANCEL"
    assert record.route[-1] == {"step": "caller_hung_up", "hangup_cause": "ORIGINATOR_CANCEL"}
    assert record.ended_at is not None
    assert engine.wait_idle()


def test_an_unknown_number_is_hung_up_as_unallocated_and_recorded(engine):
    fake = engine.call(Scenario(destination="+380449999999"))
    assert fake.executed == []  # never answered
    assert fake.hangup_cause == "UNALLOCATED_NUMBER"
    record = engine.record(fake.scenario.uuid)
    assert record.line is None
    assert record.route == ({"step": "lookup", "number": "+380449999999", "result": "unknown_number"},)


def test_a_national_destination_and_the_fsrouter_number_variable_both_find_the_line_recorded_in_e164(engine):
    national = engine.call(Scenario(destination="0441234567", endpoints={"user/101": "answer"}))
    assert (engine.record(national.scenario.uuid).line, engine.record(national.scenario.uuid).destination) == (
        "kyiv", "+380441234567")
    override = engine.call(Scenario(destination="socket_async", variables={"fsrouter_number": "+380442220000"},
                                    endpoints={"user/101": "answer"}))
    record = engine.record(override.scenario.uuid)
    assert (record.line, record.destination) == ("quiet", "socket_async")  # as sent: not a number
    empty = engine.call(Scenario(destination="", variables={"fsrouter_number": "+380442220000"},
                                 endpoints={"user/101": "answer"}))
    assert engine.record(empty.scenario.uuid).destination == "+380442220000"  # the line's own


def test_a_group_with_hangup_as_no_answer_hangs_up_after_ringing_everyone(engine):
    fake = engine.call(Scenario(destination="+380442220000"))
    assert [e.app for e in fake.executed] == ["answer", "multiset", "bridge"]
    assert fake.hangup_cause == "NORMAL_CLEARING"
    assert engine.record(fake.scenario.uuid).route[-1] == {"step": "group_hangup"}


def test_busy_and_unregistered_members_are_told_apart_in_the_route(engine):
    fake = engine.call(Scenario(endpoints={"user/101": "busy", "user/102": "not_registered", "user/103": "answer"}))
    steps = [(s["employee"], s["result"], s.get("cause")) for s in engine.record(fake.scenario.uuid).route
             if s["step"] == "group"]
    assert steps == [("alice", "busy", "USER_BUSY"), ("bob", "unreachable", "USER_NOT_REGISTERED"),
                     ("carol", "answered", "NORMAL_CLEARING")]


def test_caller_hanging_up_while_talking_keeps_who_answered(engine):
    fake = engine.call(Scenario(endpoints={"user/101": "answer"}, hangup_during="bridge"))
    record = engine.record(fake.scenario.uuid)
    assert record.answered_by == "alice"
    assert record.answered_at is not None
    assert record.route[-1]["step"] == "caller_hung_up"


def test_an_execute_freeswitch_refuses_ends_the_call_at_once_instead_of_waiting_for_its_completion(engine):
    fake = FakeFreeSwitch(Scenario(refused_app="playback")).run(engine.address, timeout_s=10)
    assert fake.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
    record = engine.record(fake.scenario.uuid)
    assert record.route[-1] == {"step": "command_refused", "command": "execute playback",
                                "reply": f"-ERR invalid session id [{fake.scenario.uuid}]"}
    assert engine.wait_idle()
