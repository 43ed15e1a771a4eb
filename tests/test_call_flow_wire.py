"""Calls driven end to end: the fake FreeSWITCH dials the real engine over TCP."""

import time

import gevent

from fsrouter.replay.fakefs import FakeFreeSwitch, Scenario
from fsrouter.replay.fsframes import command_reply, disconnect_notice
from fsrouter.session import connection
from tests.harness import SETTINGS, EngineHarness, write_config


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


class _QuietAfterHangup(FakeFreeSwitch):
    """The caller hangs up during ``record`` and the switch sends CHANNEL_HANGUP and the
    linger notice, then never record's completion (its socket stays open)."""

    def _app_record(self, arg, base) -> None:
        self._send(self._event("CHANNEL_HANGUP", **{"Hangup-Cause": "NORMAL_CLEARING"}),
                   disconnect_notice(self.channel.uuid, linger=True))

    _apps = {**FakeFreeSwitch._apps, "record": _app_record}


def test_a_record_whose_completion_never_follows_the_hangup_keeps_the_message_and_does_not_hold_the_call(
        engine, monkeypatch):
    monkeypatch.setattr(connection, "PAST_HANGUP_S", 0.5)
    started = time.monotonic()
    fake = _QuietAfterHangup(Scenario()).run(engine.address, timeout_s=15)
    assert time.monotonic() - started < 5
    [voicemail] = engine.store.voicemails.for_call(fake.scenario.uuid)
    assert voicemail.duration_s is None  # the file is FreeSWITCH's; its length never came
    record = engine.record(fake.scenario.uuid)
    assert [s["step"] for s in record.route][-2:] == ["group_voicemail", "caller_hung_up"]


class _SyncSwitch(FakeFreeSwitch):
    """``socket ... full`` without async (PROTOCOL-NOTES §8): the reply to sendmsg comes
    once the application has finished, its events right after it."""

    app_s = {"record": 0.6}

    def _command(self, frame) -> bool:
        command = (frame.command or "").strip()
        if command == "connect":
            self._send(self.channel.connect_reply(async_mode=False))
            return True
        if command.startswith("sendmsg"):
            headers = {k.lower(): v for k, v in frame.headers.items()}
            gevent.sleep(self.app_s.get(headers.get("execute-app-name"), 0))
            held, send = [], self._send
            self._send = lambda *frames: held.extend(frames)
            try:
                self._sendmsg(frame)
            finally:
                self._send = send
            self._send(command_reply("+OK"), *held)
            return True
        return super()._command(frame)


def test_in_sync_mode_an_application_longer_than_reply_timeout_is_waited_for(tmp_path):
    settings = SETTINGS.replace("reply_timeout: 5", "reply_timeout: 0.2")
    harness = EngineHarness(write_config(tmp_path / "config", settings=settings),
                            db_url=f"sqlite:///{tmp_path / 'x.db'}")
    harness.start()
    try:
        fake = _SyncSwitch(Scenario(record_seconds=9)).run(harness.address, timeout_s=30)
        [voicemail] = harness.store.voicemails.for_call(fake.scenario.uuid)
        assert voicemail.duration_s == 9.0
        assert harness.record(fake.scenario.uuid).route[-1]["step"] == "group_voicemail"
    finally:
        harness.stop()


class _RecordNeverEnds(FakeFreeSwitch):
    """``record`` starts and FreeSWITCH never says it ended (the call stays up)."""

    def _app_record(self, arg, base) -> None:
        pass

    _apps = {**FakeFreeSwitch._apps, "record": _app_record}


def test_a_record_that_never_ends_times_out_with_its_message_and_a_route_step(engine, monkeypatch):
    from fsrouter.session import call as call_module

    monkeypatch.setattr(call_module, "GRACE_S", 0.5)
    engine.app.services.voicemail_max_s = 1
    fake = _RecordNeverEnds(Scenario()).run(engine.address, timeout_s=20)
    [voicemail] = engine.store.voicemails.for_call(fake.scenario.uuid)
    assert voicemail.duration_s is None
    record = engine.record(fake.scenario.uuid)
    assert record.route[-1] == {"step": "group_voicemail", "employee": None, "path": voicemail.path,
                                "duration_s": None, "result": "timed_out"}
    assert record.hangup_cause == "RECOVERY_ON_TIMER_EXPIRE"
