"""The models on their own: E.164, prefixes, menu actions, intervals, defaults."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from fsrouter.errors import ConfigInvalid
from fsrouter.flow.loader import load_config
from fsrouter.flow.model import Group, Interval, Line, Menu, MenuAction, Settings
from fsrouter.flow.phone import country_code_prefix, normalize, to_e164


def a_line(**overrides) -> dict:
    body = {"id": "x", "path": "config/numbers/x.yaml", "number": "+380441234567", "kind": "rented",
            "name": "X", "language": "uk", "timezone": "Europe/Kyiv", "routing": {"group": "sales"}}
    body.update(overrides)
    return body


@pytest.mark.parametrize("number", ["+380441234567", "+380501112233", "+380501234567", "+380442223344",
                                   "+4930123456", "+14155550100"])
def test_the_example_numbers_are_valid_e164(number):
    assert to_e164(number) == number


@pytest.mark.parametrize("number", ["380441234567", "0441234567", "+38044", "+3804412345678", "+", "abc", "+0441234567"])
def test_numbers_that_are_not_valid_e164_are_refused(number):
    with pytest.raises(ValueError):
        to_e164(number)


def test_normalize_reads_national_and_international_forms_with_the_home_region():
    for text in ("0441234567", "380441234567", "00380441234567", "+380441234567"):
        assert normalize(text, "UA") == "+380441234567"
    assert normalize("101", "UA") is None and normalize("sip-pbx", "UA") is None


@pytest.mark.parametrize("prefix", ["801", "802", "805", "0", "*123*", "#123#"])
def test_prefixes_that_are_no_country_code_pass(prefix):
    assert country_code_prefix(prefix) is None


@pytest.mark.parametrize("prefix, code", [("380", "380"), ("123", "1"), ("199", "1"), ("44", "44"), ("7", "7")])
def test_prefixes_starting_with_a_country_code_are_found(prefix, code):
    assert country_code_prefix(prefix) == code


def test_a_line_is_typed_from_the_strings_the_yaml_source_gives():
    line = Line.model_validate(a_line(
        routing={"group": "sales", "greeting": "true", "extension_dialing": {"enabled": "on", "ring_time": "25"}},
        callback={"attempts": "5", "interval": "60"},
        working_hours={"holidays": ["2026-12-25"], "holiday_calendar": "ua"},
    ))
    assert line.routing.extension_dialing.enabled is True and line.routing.extension_dialing.ring_time == 25
    assert line.callback.attempts == 5
    assert line.working_hours.holidays == (dt.date(2026, 12, 25),)
    assert line.working_hours.holiday_calendar == "UA"


def test_every_line_section_has_its_documented_default():
    line = Line.model_validate(a_line())
    assert line.routing.greeting is True and line.routing.sip_to_header is False
    assert line.routing.extension_dialing.no_answer == "continue"
    assert line.routing.crm_responsible.no_answer == "queue"
    assert line.working_hours.enabled is False and dict(line.working_hours.schedule) == {}
    assert line.working_hours.after_hours == "voicemail"
    assert (line.crm.create_lead, line.crm.create_lead_for) == ("manual", "all")
    assert line.recording.monthly_limit is None and line.rating.enabled is False
    assert (line.callback.interval, line.callback.attempts) == (300, 3)
    assert line.melodies.greeting == "default" and line.backup is None


def test_a_sip_pbx_line_may_be_named_or_an_e164_did():
    assert Line.model_validate(a_line(kind="sip_pbx", number="office-pbx")).number == "office-pbx"
    assert Line.model_validate(a_line(kind="sip_pbx", number="+380441234567")).number == "+380441234567"
    with pytest.raises(ValidationError):
        Line.model_validate(a_line(kind="rented", number="office-pbx"))


def test_an_interval_may_end_at_24_00_and_knows_what_it_contains():
    interval = Interval.model_validate("18:00-24:00")
    assert interval.end == dt.time.max and str(interval) == "18:00-24:00"
    assert interval.contains(dt.time(23, 59, 59)) and not interval.contains(dt.time(17, 59))
    assert Interval.model_validate("09:00-13:00").contains(dt.time(9)) is True
    assert Interval.model_validate("09:00-13:00").contains(dt.time(13)) is False


@pytest.mark.parametrize("text", ["18:00-09:00", "09:00-09:00", "24:00-24:00", "9-10", "09:60-10:00", "0900-1000"])
def test_bad_intervals_are_refused(text):
    with pytest.raises(ValidationError):
        Interval.model_validate(text)


def test_overlapping_intervals_of_a_day_are_refused():
    with pytest.raises(ValidationError, match="overlap"):
        Line.model_validate(a_line(working_hours={"schedule": {"mon": ["09:00-12:00", "11:00-13:00"]}}))


def test_a_day_given_as_null_is_closed():
    line = Line.model_validate(a_line(working_hours={"schedule": {"sat": None}}))
    assert line.working_hours.schedule["sat"] == ()


def test_a_menu_action_is_read_from_the_mapping_or_the_string_form():
    assert MenuAction.model_validate({"group": "sales"}) == MenuAction(kind="group", target="sales")
    assert MenuAction.model_validate("repeat") == MenuAction(kind="repeat")
    for bad in ({"group": "sales", "menu": "main"}, {"repeat": "x"}, "menu", "jump", {"group": None}):
        with pytest.raises(ValidationError):
            MenuAction.model_validate(bad)


def test_a_menu_has_the_documented_defaults():
    menu = Menu.model_validate({"id": "m", "keys": {"1": "hangup"}})
    assert (menu.prompt, menu.digit_timeout, menu.max_attempts) == ("default", 5, 3)
    assert menu.on_timeout is None and menu.on_invalid is None


def test_a_group_refuses_a_member_listed_twice():
    with pytest.raises(ValidationError, match="more than once"):
        Group.model_validate({"id": "g", "members": ["alice", "alice"]})


def test_settings_have_the_documented_defaults():
    settings = Settings()
    assert (settings.listen, settings.db, settings.max_calls, settings.drain_timeout) == (
        "127.0.0.1:8084", "sqlite:///fsrouter.db", 1000, 30)
    assert (settings.country, settings.language, settings.log.level, settings.log.format) == ("UA", "en", "info", "console")
    assert (settings.esl.reply_timeout, settings.esl.execute_timeout, settings.esl.hangup_timeout) == (5, 3600, 10)
    assert str(settings.folders.voicemail) == "../var/voicemail" and settings.backup is None


@pytest.mark.parametrize("values", [{"listen": "8084"}, {"country": "XX"}, {"log": {"format": "xml"}},
                                    {"max_calls": "0"}, {"backup": {"number": "12"}}])
def test_bad_settings_are_refused(values):
    with pytest.raises(ValidationError):
        Settings.model_validate(values)


def test_the_config_modules_import_no_gevent_greenswitch_peewee_session_or_store():
    code = ("import sys, fsrouter.flow.loader; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('gevent', 'greenswitch', 'peewee') "
            "or m.startswith(('fsrouter.session', 'fsrouter.store'))]; print(bad)")
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo).stdout
    assert out.strip() == "[]"


def test_a_minimal_folder_with_a_sip_pbx_did_loads(tmp_path):
    (tmp_path / "numbers").mkdir()
    (tmp_path / "employees.yaml").write_text('employees:\n  al:\n    name: Al\n    extension: "7"\n    endpoint: user/7\n')
    (tmp_path / "groups.yaml").write_text("groups:\n  g:\n    members: [al]\n")
    (tmp_path / "numbers" / "pbx.yaml").write_text(
        'number: "+4930123456"\nkind: sip_pbx\ntimezone: Europe/Berlin\nrouting:\n  group: g\n')
    config = load_config(tmp_path)
    assert config.line_for_number("+4930123456").id == "pbx"
    with pytest.raises(ConfigInvalid):
        load_config(tmp_path / "numbers")
