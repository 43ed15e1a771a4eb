"""Loading the whole config folder: the shipped example, lookups, version, and every error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fsrouter.errors import ConfigError, ConfigInvalid
from fsrouter.flow.loader import load_config
from tests.harness import SHIPPED, edit
from tests.mp3_frames import write_mp3



def line_of(path: Path, text: str) -> int:
    """1-based line of the first line of ``path`` containing ``text``."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def problems(root="config") -> list[ConfigError]:
    with pytest.raises(ConfigInvalid) as caught:
        load_config(root)
    assert all(isinstance(e, ConfigError) for e in caught.value.errors)
    return caught.value.errors


# --- the shipped config --------------------------------------------------------------

def test_the_shipped_config_loads():
    config = load_config(SHIPPED)
    assert set(config.lines) == {"kyiv-sales", "office-pbx"}
    assert set(config.employees) == {"alice", "bob", "carol", "dave"}
    assert set(config.groups) == {"sales", "support", "all"}
    assert set(config.menus) == {"main", "support"}
    assert config.root == SHIPPED
    assert len(config.version) == 16 and int(config.version, 16) >= 0


def test_the_shipped_config_loads_from_a_relative_path(cfg):
    config = load_config("config")
    assert config.root == cfg.resolve()
    assert config.settings.folders.voicemail == (cfg / "../var/voicemail").resolve()


def test_the_shipped_kyiv_line_has_the_documented_settings():
    config = load_config(SHIPPED)
    line = config.lines["kyiv-sales"]
    assert (line.number, line.kind, line.language, line.timezone) == ("+380441234567", "rented", "uk", "Europe/Kyiv")
    assert line.path == str(SHIPPED / "numbers" / "kyiv-sales.yaml")
    assert line.routing.extension_dialing.enabled and line.routing.greeting
    assert (line.routing.ivr, line.routing.group) == ("main", "sales")
    assert line.working_hours.holiday_calendar == "UA"
    assert [str(i) for i in line.working_hours.schedule["mon"]] == ["09:00-13:00", "14:00-18:00"]
    assert "sat" not in line.working_hours.schedule
    assert line.recording.monthly_limit == 100 and line.callback.attempts == 3
    assert config.groups["sales"].strategy == "in_order"
    assert config.lines["office-pbx"].routing.sip_to_header


def test_line_for_number_finds_a_line_by_its_national_and_international_forms():
    config = load_config(SHIPPED)
    for dialed in ("+380441234567", "0441234567", "380441234567", "00380441234567", "044 123 45 67"):
        assert config.line_for_number(dialed).id == "kyiv-sales", dialed


def test_line_for_number_finds_a_sip_pbx_line_by_its_connection_name():
    assert load_config(SHIPPED).line_for_number("office-pbx").id == "office-pbx"


def test_line_for_number_returns_none_for_an_unknown_number():
    config = load_config(SHIPPED)
    assert config.line_for_number("+380449999999") is None
    assert config.line_for_number("") is None
    assert config.line_for_number("nobody") is None


def test_employee_by_extension_finds_the_employee_or_none():
    config = load_config(SHIPPED)
    assert config.employee_by_extension("102").id == "bob"
    assert config.employee_by_extension("999") is None


def test_outbound_line_for_strips_the_matching_prefix():
    config = load_config(SHIPPED)
    line, rest = config.outbound_line_for("*101*380954558888")
    assert (line.id, rest) == ("kyiv-sales", "380954558888")
    assert config.outbound_line_for("0954558888") is None


def test_melody_path_is_none_for_default_and_the_file_under_root_otherwise(cfg):
    write_mp3(cfg / "sounds" / "hello.mp3")
    edit(cfg / "numbers" / "kyiv-sales.yaml", "  greeting: default", "  greeting: sounds/hello.mp3")
    config = load_config("config")
    line = config.lines["kyiv-sales"]
    assert config.melody_path(line, "greeting") == str(cfg.resolve() / "sounds" / "hello.mp3")
    assert config.melody_path(line, "hold") is None
    with pytest.raises(ValueError):
        config.melody_path(line, "nonsense")


def test_the_config_is_immutable():
    config = load_config(SHIPPED)
    with pytest.raises(Exception):
        config.version = "x"
    with pytest.raises(TypeError):
        config.lines["new"] = config.lines["kyiv-sales"]
    with pytest.raises(Exception):
        config.lines["kyiv-sales"].routing.greeting = False
    with pytest.raises(TypeError):
        config.menus["main"].keys["5"] = config.menus["main"].keys["1"]


def test_settings_and_ivr_may_be_absent(cfg):
    (cfg / "settings.yaml").unlink()
    (cfg / "ivr.yaml").unlink()
    edit(cfg / "numbers" / "kyiv-sales.yaml", "  ivr: main", "  ivr:")
    config = load_config("config")
    assert config.settings.listen == "127.0.0.1:8084" and config.settings.country == "UA"
    assert config.settings.folders.spool == (cfg / "../var/spool").resolve()
    assert config.menus == {}


def test_a_line_without_language_takes_the_settings_language_and_its_name_from_the_file(cfg):
    path = cfg / "numbers" / "office-pbx.yaml"
    edit(path, "language: en\n", "")
    edit(path, "name: Office PBX\n", "")
    line = load_config("config").lines["office-pbx"]
    assert (line.language, line.name) == ("uk", "office-pbx")


# --- version -----------------------------------------------------------------------------

def test_version_does_not_change_when_nothing_changes(cfg):
    assert load_config("config").version == load_config(str(cfg)).version


@pytest.mark.parametrize("relative", ["settings.yaml", "numbers/office-pbx.yaml", "ivr.yaml"])
def test_version_changes_when_any_file_changes(cfg, relative):
    before = load_config("config").version
    with open(cfg / relative, "a") as fh:
        fh.write("# touched\n")
    assert load_config("config").version != before


def test_version_ignores_files_the_config_never_reads(cfg):
    before = load_config("config").version
    (cfg / "fsrouter.db").write_bytes(b"SQLite format 3\x00" + bytes(4096))  # a database left here
    (cfg / "numbers" / "kyiv-sales.yaml~").write_text("an editor's backup\n")
    (cfg / "notes.txt").write_text("who to call\n")
    assert load_config("config").version == before


def test_version_changes_when_a_file_is_added_or_renamed(cfg):
    before = load_config("config").version
    (cfg / "sounds").mkdir()
    (cfg / "sounds" / "a.mp3").write_bytes(b"x")
    added = load_config("config").version
    (cfg / "sounds" / "a.mp3").rename(cfg / "sounds" / "b.mp3")
    assert len({before, added, load_config("config").version}) == 3


# --- a broken copy reports each error at its file, line and field -------------------------

KYIV = "numbers/kyiv-sales.yaml"
PBX = "numbers/office-pbx.yaml"

BROKEN = [
    pytest.param(KYIV, "  skip_absent: false", "  skip_absent: false\n  colour: red", "colour: red",
                 "routing.colour", "unknown key", id="an unknown key is refused"),
    pytest.param("employees.yaml", '"+380671112233"', '"+38067111"', "+38067111",
                 "employees.bob.phones[0]", "not a valid number", id="a bad E.164 number is refused"),
    pytest.param("employees.yaml", '"+380671112233"', '"0671112233"', "0671112233",
                 "employees.bob.phones[0]", "not an E.164 number", id="a national number is not E.164"),
    pytest.param("groups.yaml", "[alice, bob, carol]", "[alice, bob, eve]", "[alice, bob, eve]",
                 "groups.sales.members[2]", "no employee 'eve'", id="a group naming a missing employee is refused"),
    pytest.param(KYIV, "  greeting: true", "  greeting: false", "    enabled: true",
                 "routing.extension_dialing.enabled", "greeting", id="extension dialing without greeting is refused"),
    pytest.param(KYIV, "  greeting: true", "  sip_to_header: true\n  greeting: true", "sip_to_header: true",
                 "routing.sip_to_header", "sip_pbx", id="sip_to_header on a rented line is refused"),
    pytest.param("ivr.yaml", "{menu: support}", "{menu: suport}", "{menu: suport}",
                 "ivr.main.keys.2", "no menu 'suport'", id="an ivr key to a missing menu is refused"),
    pytest.param(KYIV, '"*101*"', '"380"', 'prefix: "380"',
                 "outbound.prefix", "country calling code +380", id="prefix 380 is refused"),
    pytest.param(PBX, '"#200#"', '"*101"', 'prefix: "*101"',
                 "outbound.prefix", "overlaps the prefix '*101*'", id="overlapping prefixes are refused"),
    pytest.param(KYIV, "attempts: 3 ", "attempts: 6 ", "attempts: 6",
                 "callback.attempts", "less than or equal to 5", id="callback attempts 6 is refused"),
    pytest.param(KYIV, "timezone: Europe/Kyiv", "timezone: Europe/Kiev2", "timezone:",
                 "timezone", "IANA time zone", id="a bad timezone is refused"),
    pytest.param(KYIV, '    tue: ["09:00-18:00"]', '    tue: ["18:00-09:00"]', '"18:00-09:00"',
                 "working_hours.schedule.tue[0]", "ends before it starts", id="a bad interval 18:00-09:00 is refused"),
    pytest.param(KYIV, "  group: sales", "  group: salez", "group: salez",
                 "routing.group", "no group 'salez'", id="a missing routing group is refused"),
    pytest.param(KYIV, "  ivr: main", "  ivr: mian", "ivr: mian",
                 "routing.ivr", "no menu 'mian'", id="a missing routing ivr is refused"),
    pytest.param(KYIV, "holiday_calendar: UA", "holiday_calendar: XX", "holiday_calendar: XX",
                 "working_hours.holiday_calendar", "holidays", id="an unknown holiday calendar is refused"),
    pytest.param(KYIV, "after_hours: voicemail", "after_hours: forward", "after_hours: forward",
                 "working_hours.after_hours", "forward_to", id="after hours forward without a number is refused"),
    pytest.param("groups.yaml", "    no_answer: voicemail", "    no_answer: forward", "no_answer: forward",
                 "groups.sales.no_answer", "forward_to", id="a group forward without a number is refused"),
    pytest.param("employees.yaml", 'extension: "104"', 'extension: "103"  # dave', '"103"  # dave',
                 "employees.dave.extension", "also carol's", id="a duplicate extension is refused"),
    pytest.param(PBX, "number: office-pbx", 'number: "+380441234567"', "number:",
                 "number", "already the number of", id="a duplicate line number is refused"),
    pytest.param(KYIV, "allowed_employees: [alice, bob, carol]", "allowed_employees: [alice, zed]", "allowed_employees",
                 "outbound.allowed_employees[1]", "no employee 'zed'", id="a missing outbound employee is refused"),
    pytest.param(KYIV, "  hold: default", "  hold: music/hold.mp3", "hold: music/hold.mp3",
                 "melodies.hold", "does not exist", id="a missing melody file is refused"),
    pytest.param(KYIV, "  hold: default", "  hold: ../../etc/hold.mp3", "hold: ../",
                 "melodies.hold", "leaves the config folder", id="a melody outside the config folder is refused"),
    pytest.param("ivr.yaml", '"8": hangup', '"8": hangup\n      "10": repeat', '"10": repeat',
                 "ivr.main.keys.10", "one DTMF character", id="a menu key of two digits is refused"),
    pytest.param("ivr.yaml", '"8": hangup', '"8": group', '"8": group',
                 "ivr.main.keys.8", "needs a target", id="a target action without a target is refused"),
    pytest.param("settings.yaml", "max_calls: 1000", "max_calls: lots", "max_calls",
                 "max_calls", "valid integer", id="a settings value of the wrong type is refused"),
    pytest.param("employees.yaml", "    default_line: kyiv-sales", "    default_line: lviv", "default_line: lviv",
                 "employees.alice.default_line", "no line 'lviv'", id="a default line that does not exist is refused"),
]


@pytest.mark.parametrize("relative, old, new, marker, field, message", BROKEN)
def test_a_broken_copy_reports_the_file_line_and_field(cfg, relative, old, new, marker, field, message):
    edit(cfg / relative, old, new)
    errors = problems()
    assert len(errors) == 1, [e.render() for e in errors]
    (error,) = errors
    assert error.path == f"config/{relative}"
    assert error.field == field
    assert error.line == line_of(cfg / relative, marker)
    assert message in error.message


def test_all_of_several_errors_are_reported_at_once(cfg):
    kyiv = cfg / KYIV
    edit(kyiv, "timezone: Europe/Kyiv", "timezone: Mars/Olympus")
    edit(kyiv, "attempts: 3 ", "attempts: 6 ")
    edit(kyiv, "  group: sales", "  group: salez")
    edit(cfg / "groups.yaml", "[alice, bob, carol]", "[alice, bob, eve]")
    edit(cfg / PBX, "kind: sip_pbx", "kind: rented")  # sip_to_header and number both wrong now
    edit(cfg / "ivr.yaml", "{menu: support}", "{menu: suport}")
    found = [(e.path, e.field) for e in problems()]
    assert found == [
        ("config/groups.yaml", "groups.sales.members[2]"),
        ("config/ivr.yaml", "ivr.main.keys.2"),
        ("config/numbers/kyiv-sales.yaml", "timezone"),
        ("config/numbers/kyiv-sales.yaml", "routing.group"),
        ("config/numbers/kyiv-sales.yaml", "callback.attempts"),
        ("config/numbers/office-pbx.yaml", "number"),
        ("config/numbers/office-pbx.yaml", "routing.sip_to_header"),
    ]


def test_errors_are_sorted_by_file_then_line(cfg):
    edit(cfg / KYIV, "attempts: 3 ", "attempts: 6 ")
    edit(cfg / KYIV, "timezone: Europe/Kyiv", "timezone: Nowhere")
    edit(cfg / "employees.yaml", 'extension: "104"', 'extension: "x"')
    errors = problems()
    keys = [(e.path, e.line) for e in errors]
    assert keys == sorted(keys) and len(errors) == 3


def test_an_error_renders_as_file_line_field_message(cfg):
    edit(cfg / KYIV, "  group: sales", "  group: nobody")
    (error,) = problems()
    expected_line = line_of(cfg / KYIV, "group: nobody")
    assert error.render() == f"config/numbers/kyiv-sales.yaml:{expected_line}: routing.group: no group 'nobody' in groups.yaml"


def test_the_invalid_exception_message_lists_every_rendered_error(cfg):
    edit(cfg / KYIV, "attempts: 3 ", "attempts: 6 ")
    edit(cfg / "groups.yaml", "[alice, bob, carol]", "[alice, bob, eve]")
    with pytest.raises(ConfigInvalid) as caught:
        load_config("config")
    assert str(caught.value).splitlines() == [e.render() for e in caught.value.errors]


def test_an_error_in_one_section_hides_no_error_in_another_section_of_the_same_line(cfg):
    edit(cfg / KYIV, "  greeting: true", "  greeting: false")
    edit(cfg / KYIV, "callback:\n", "callback:\n  colour: red\n")
    assert [e.field for e in problems()] == ["routing.extension_dialing.enabled", "callback.colour"]


def test_a_broken_section_causes_no_follow_up_errors(cfg):
    edit(cfg / KYIV, "  group: sales", "  group: salez\n  colour: red")
    assert [e.field for e in problems()] == ["routing.colour"]


def test_a_yaml_syntax_error_names_the_file_and_line_and_other_files_are_still_checked(cfg):
    edit(cfg / PBX, "  group: support", "  group: [support")
    edit(cfg / KYIV, "attempts: 3 ", "attempts: 6 ")
    errors = problems()
    assert [(e.path, e.field) for e in errors] == [
        ("config/numbers/kyiv-sales.yaml", "callback.attempts"),
        ("config/numbers/office-pbx.yaml", ""),
    ]
    assert errors[1].line is not None and "YAML syntax error" in errors[1].message


def test_a_duplicate_key_in_a_line_file_is_reported_with_its_line(cfg):
    edit(cfg / PBX, "  group: support", "  group: support\n  group: sales")
    (error,) = problems()
    assert (error.path, error.line, error.field) == ("config/" + PBX, line_of(cfg / PBX, "group: sales"), "routing.group")


def test_missing_required_files_are_reported(cfg):
    (cfg / "employees.yaml").unlink()
    (cfg / "groups.yaml").unlink()
    for file in (cfg / "numbers").iterdir():
        file.unlink()
    reported = {(e.path, e.message) for e in problems()}
    assert ("config/employees.yaml", "required file is missing") in reported
    assert ("config/groups.yaml", "required file is missing") in reported
    assert any(path == "config/numbers" for path, _ in reported)


def test_a_missing_config_folder_is_reported(tmp_path):
    (error,) = problems(tmp_path / "nope")
    assert "no such config folder" in error.message


def test_a_file_given_as_the_config_folder_is_reported_as_not_a_folder(tmp_path):
    (tmp_path / "README.md").write_text("# not a config\n")
    (error,) = problems(tmp_path / "README.md")
    assert error.message == "not a folder (a config folder is expected)"


def test_a_line_that_is_not_a_mapping_is_reported(cfg):
    (cfg / "numbers" / "junk.yaml").write_text("- just\n- a list\n")
    (error,) = problems()
    assert error.path == "config/numbers/junk.yaml" and "mapping" in error.message


def test_an_empty_line_file_names_each_missing_key(cfg):
    (cfg / "numbers" / "empty.yaml").write_text("# nothing yet\n")
    fields = [e.field for e in problems() if e.path == "config/numbers/empty.yaml"]
    assert sorted(fields) == ["kind", "number", "timezone"]


def test_a_yml_file_in_numbers_is_reported(cfg):
    shutil.copy(cfg / PBX, cfg / "numbers" / "other.yml")
    (error,) = problems()
    assert error.path == "config/numbers/other.yml" and ".yaml" in error.message


def test_an_id_written_in_an_entry_is_refused(cfg):
    edit(cfg / "employees.yaml", "    name: Bob Shevchenko", "    id: robert\n    name: Bob Shevchenko")
    (error,) = problems()
    assert error.field == "employees.bob.id" and "mapping key" in error.message


def test_an_unknown_top_level_key_in_employees_yaml_is_refused(cfg):
    with open(cfg / "employees.yaml", "a") as fh:
        fh.write("staff: {}\n")
    (error,) = problems()
    assert (error.field, error.line) == ("staff", line_of(cfg / "employees.yaml", "staff:"))


def test_a_play_key_with_an_existing_mp3_passes_and_a_missing_one_is_refused(cfg):
    write_mp3(cfg / "menus" / "hours.mp3")
    edit(cfg / "ivr.yaml", '"8": hangup', '"8": hangup\n      "4": {play: menus/hours.mp3}\n      "5": {play: menus/gone.mp3}')
    (error,) = problems()
    assert error.field == "ivr.main.keys.5" and "does not exist" in error.message


def test_a_menu_prompt_must_be_an_mp3_file(cfg):
    (cfg / "menus").mkdir()
    (cfg / "menus" / "main.wav").write_bytes(b"RIFF")
    edit(cfg / "ivr.yaml", "    prompt: default", "    prompt: menus/main.wav")
    (error,) = problems()
    assert error.field == "ivr.main.prompt" and "not an .mp3" in error.message


def test_menus_may_reference_each_other_in_a_loop(cfg):
    edit(cfg / "ivr.yaml", '"2": {employee: dave}', '"2": {menu: main}')
    assert load_config("config").menus["support"].keys["2"].target == "main"


def test_a_line_without_group_or_ivr_is_an_announcement_whose_flow_ends_in_a_hangup(cfg):
    from fsrouter.flow.catalog import Catalog

    edit(cfg / PBX, "  group: support", "  group:")
    catalog = Catalog.load("config")
    flow = catalog.flows["office-pbx"]
    assert list(flow.nodes)[-1] == "hangup" and flow.check() == []
