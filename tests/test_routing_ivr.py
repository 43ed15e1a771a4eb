"""The IVR over the wire (nested menus, every key action, timeouts, invalid keys, attempts)
and its load-time rules (every reference must exist; menus may loop)."""

from __future__ import annotations

import pytest

from fsrouter.errors import ConfigInvalid
from fsrouter.flow.loader import load_config
from fsrouter.replay.fakefs import Scenario
from tests.routing_config import IVR, NUMBERS, routing_engine, write_routing_config


@pytest.fixture
def engine(tmp_path):
    with routing_engine(tmp_path) as harness:
        yield harness


def call(engine, digits, **scenario):
    fake = engine.call(Scenario(destination=NUMBERS["menu"], digits=digits, **scenario))
    return fake, engine.record(fake.scenario.uuid)


def prompts(fake) -> list[str]:
    """The prompt file of every play_and_get_digits, in order."""
    return [e.arg.split()[5] for e in fake.executed if e.app == "play_and_get_digits"]


def playbacks(fake) -> list[str]:
    return [e.arg for e in fake.executed if e.app == "playback"]


def bridges(fake) -> list[str]:
    return [e.arg for e in fake.executed if e.app == "bridge"]


def ivr_steps(record) -> list[tuple]:
    return [(s["menu"], s.get("key"), s.get("result"), s.get("action")) for s in record.route if s["step"] == "ivr"]


def builtin(engine, stage):
    return engine.app.services.melodies.builtin("en", stage)


def custom(engine, name):
    return str((engine.app.config_dir / name).resolve())


def hangups(fake) -> list[str]:
    return [f.headers.get("hangup-cause") for f in fake.commands
            if f.command == "sendmsg" and f.headers.get("call-command") == "hangup"]


def test_three_nested_menus_with_invalid_timeout_repeat_and_back_reach_the_chosen_group(engine):
    fake, record = call(engine, ["2", "7", "1", "", "9", "*", "1", "1"], endpoints={"user/102": "answer"})
    main, support, billing = builtin(engine, "ivr_menu"), custom(engine, "support.mp3"), builtin(engine, "ivr_menu")
    assert prompts(fake) == [main, support, support, billing, billing, billing, support, billing]
    assert playbacks(fake) == [builtin(engine, "ivr_invalid"), builtin(engine, "ivr_timeout")]
    assert ivr_steps(record) == [
        ("main", "2", None, "menu"), ("support", "7", "invalid", "repeat"), ("support", "1", None, "menu"),
        ("billing", None, "timeout", "repeat"), ("billing", "9", None, "repeat"), ("billing", "*", None, "back"),
        ("support", "1", None, "menu"), ("billing", "1", None, "group")]
    (dial,) = bridges(fake)
    assert dial.startswith("{originate_timeout=30}") and "user/101" in dial and "user/103" in dial
    assert record.answered_by == "bob"


def test_a_menu_prompt_waits_its_digit_timeout_for_one_key_without_terminator(engine):
    fake, _ = call(engine, ["8"])
    args = [e.arg.split() for e in fake.executed if e.app == "play_and_get_digits"][0]
    assert args[:5] == ["1", "1", "1", "4000", "none"]
    assert args[8] == "[0-9*#]"


def test_invalid_keys_beyond_max_attempts_say_goodbye_and_hang_up(engine):
    fake, record = call(engine, ["2", "5", "6"])
    assert playbacks(fake) == [builtin(engine, "ivr_invalid"), builtin(engine, "goodbye")]
    assert hangups(fake)[0] == "NORMAL_CLEARING"
    assert bridges(fake) == []
    assert record.route[-1] == {"step": "ivr", "menu": "support", "result": "attempts_exhausted", "max_attempts": 2}


def test_no_key_at_the_top_menu_does_its_on_timeout_action(engine):
    fake, record = call(engine, [""], endpoints={"user/104": "answer"})
    assert ivr_steps(record) == [("main", None, "timeout", "group")]
    assert bridges(fake) and bridges(fake)[0].endswith("user/104")
    assert record.answered_by == "dave"


def test_a_play_key_plays_its_file_and_returns_to_the_same_menu(engine):
    fake, record = call(engine, ["4", "8"])
    assert playbacks(fake) == [custom(engine, "hours.mp3")]
    assert prompts(fake) == [builtin(engine, "ivr_menu")] * 2
    assert ivr_steps(record) == [("main", "4", None, "play"), ("main", "8", None, "hangup")]
    assert hangups(fake)[0] == "NORMAL_CLEARING"


def test_a_voicemail_key_takes_a_message_for_that_employee(engine):
    fake, record = call(engine, ["0"])
    assert [e.app for e in fake.executed][-2:] == ["playback", "record"]
    assert [v.employee for v in engine.store.voicemails.for_call(fake.scenario.uuid)] == ["bob"]
    assert record.route[-1]["step"] == "ivr_voicemail"


def test_dial_extension_collects_the_extension_and_rings_its_employee(engine):
    fake, record = call(engine, ["#", "103"], endpoints={"user/103": "answer"})
    collect = [e.arg.split() for e in fake.executed if e.app == "play_and_get_digits"][1]
    assert collect[:5] == ["1", "3", "1", "5000", "#"]
    assert [b.rsplit("]", 1)[-1] for b in bridges(fake)] == ["user/103"]
    assert [(s["step"], s.get("employee"), s["result"]) for s in record.route if s["step"] == "ivr_extension"] == [
        ("ivr_extension", "carol", "answered")]


def test_dial_extension_with_an_unknown_extension_says_so_and_returns_to_the_menu(engine):
    fake, record = call(engine, ["#", "999", "8"])
    assert playbacks(fake) == [builtin(engine, "unknown_extension")]
    assert ivr_steps(record)[-1] == ("main", "8", None, "hangup")


def test_an_employee_key_that_is_not_answered_continues_with_the_line_group(engine):
    fake, record = call(engine, ["3"], endpoints={"user/101": "no_answer", "user/102": "answer"})
    assert [b.rsplit("]", 1)[-1] for b in bridges(fake)] == ["user/101", "user/101", "user/102"]
    assert [(s["step"], s.get("employee"), s.get("result")) for s in record.route if "employee" in s] == [
        ("ivr_employee", "alice", "no_answer"), ("group", "alice", "no_answer"), ("group", "bob", "answered")]


def test_a_group_key_whose_group_does_not_answer_does_that_group_no_answer_action(engine):
    fake, record = call(engine, ["1"])
    assert len(bridges(fake)) == 3
    assert [e.app for e in fake.executed][-1] == "record"  # sales: no_answer voicemail
    assert record.route[-1]["step"] == "group_voicemail"


# --- load-time rules -------------------------------------------------------------------------

def _problems(root) -> list[tuple[str, str]]:
    with pytest.raises(ConfigInvalid) as caught:
        load_config(root)
    return [(e.field, e.message) for e in caught.value.errors]


@pytest.mark.parametrize("old, new, field, message", [
    ('{group: sales}', '{group: salez}', "ivr.main.keys.1", "no group 'salez'"),
    ('{menu: support}', '{menu: suport}', "ivr.main.keys.2", "no menu 'suport'"),
    ('{employee: alice}', '{employee: alise}', "ivr.main.keys.3", "no employee 'alise'"),
    ('{voicemail: bob}', '{voicemail: bobby}', "ivr.main.keys.0", "no employee 'bobby'"),
    ('{play: hours.mp3}', '{play: closed.mp3}', "ivr.main.keys.4", "does not exist"),
    ('prompt: support.mp3', 'prompt: missing.mp3', "ivr.support.prompt", "does not exist"),
    ('on_timeout: {group: solo}', 'on_timeout: {group: nobody}', "ivr.main.on_timeout", "no group 'nobody'"),
])
def test_a_menu_reference_to_something_missing_is_a_config_error(tmp_path, old, new, field, message):
    root = write_routing_config(tmp_path / "config")
    assert old in IVR
    (root / "ivr.yaml").write_text(IVR.replace(old, new))
    ((got_field, got_message),) = _problems(root)
    assert got_field == field and message in got_message


def test_menus_that_lead_to_each_other_in_a_loop_are_allowed(tmp_path):
    root = write_routing_config(tmp_path / "config")
    (root / "ivr.yaml").write_text(IVR.replace('"1": {group: everyone}', '"1": {menu: main}'))
    config = load_config(root)
    assert config.menus["billing"].keys["1"].target == "main"


def test_fsrouter_check_reports_a_broken_menu_reference_as_file_line_field_message(tmp_path, capsys):
    from fsrouter.cli import main

    root = write_routing_config(tmp_path / "config")
    assert main(["check", "--config", str(root)]) == 0
    capsys.readouterr()
    (root / "ivr.yaml").write_text(IVR.replace("{group: sales}", "{group: salez}"))
    assert main(["check", "--config", str(root)]) == 1
    err = capsys.readouterr().err.splitlines()
    line = IVR.splitlines().index('      "1": {group: sales}') + 1
    assert err[0] == f"{root}/ivr.yaml:{line}: ivr.main.keys.1: no group 'salez' in groups.yaml"
