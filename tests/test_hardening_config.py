"""Hostile or broken config files: refused at load time as `file:line: field: message`,
never a traceback, a hang or gigabytes of memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from fsrouter.errors import ConfigError, ConfigInvalid
from fsrouter.flow.loader import load_config
from tests.harness import edit
from fsrouter.flow.yamlsource import parse_yaml



def problems(root="config") -> list[ConfigError]:
    with pytest.raises(ConfigInvalid) as caught:
        load_config(root)
    return caught.value.errors


def check(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fsrouter", "check", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)


def laughs(levels: int) -> str:
    """A "billion laughs" qa: section: level n is ten aliases of level n-1."""
    names = "abcdefghij"
    out = ["qa:", f'  sample: &a [{", ".join(["x"] * 10)}]']
    for i in range(1, levels):
        out.append(f"  k{names[i]}: &{names[i]} [{', '.join(['*' + names[i - 1]] * 10)}]")
    return "\n".join(out) + "\n"


# --- defect 1: billion laughs --------------------------------------------------------------

def test_a_yaml_billion_laughs_is_refused_at_once_naming_the_file_and_the_first_alias():
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        parse_yaml(laughs(9), "settings.yaml")  # 10^9 nodes once expanded
    assert time.monotonic() - started < 2
    error = caught.value
    assert error.path == "settings.yaml" and error.line == 3  # kb: &b [*a, ...]
    assert "billion laughs" in error.message and "100,000" in error.message


def test_fsrouter_check_refuses_a_billion_laughs_settings_file_quickly_with_exit_1(cfg):
    (cfg / "settings.yaml").write_text(laughs(7))
    started = time.monotonic()
    result = check(cfg)
    assert time.monotonic() - started < 20
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{cfg}/settings.yaml:3: aliases expand the document" in result.stderr


def test_a_sighup_reload_of_a_billion_laughs_keeps_the_old_config_and_logs_the_error(cfg, tmp_path):
    from fsrouter.app import App, Overrides

    app = App(cfg, Overrides(db=f"sqlite:///{tmp_path / 'x.db'}", listen="127.0.0.1:0"))
    try:
        version = app.catalog.version
        (cfg / "settings.yaml").write_text(laughs(8))
        with capture_logs() as logs:
            started = time.monotonic()
            assert app.reload() is False
            assert time.monotonic() - started < 5
        assert app.catalog.version == version
        refused = next(e for e in logs if e["event"] == "config_reload_refused")
        assert refused["errors"][0].startswith(f"{cfg}/settings.yaml:3: aliases expand")
    finally:
        app.store.close()


def test_aliases_that_expand_to_a_reasonable_size_still_work():
    doc = parse_yaml(laughs(3), "settings.yaml")  # 1,000 leaves
    assert len(doc.data["qa"]["kc"]) == 10 and doc.data["qa"]["kc"][9][9][9] == "x"


# --- defect 2: tracebacks instead of file:line: field: message ----------------------------

@pytest.mark.parametrize("byte", ["\x00", "\x07", "\x1b"])
def test_a_control_byte_in_a_yaml_file_is_a_located_config_error(cfg, byte):
    line_file = cfg / "numbers" / "kyiv-sales.yaml"
    edit(line_file, "name: Kyiv sales", f"name: Kyiv{byte} sales")
    errors = [e for e in problems() if e.path == "config/numbers/kyiv-sales.yaml"]
    assert len(errors) == 1
    number = next(i for i, t in enumerate(line_file.read_text().splitlines(), 1) if "name: Kyiv" in t)
    assert errors[0].line == number
    assert f"U+{ord(byte):04X}" in errors[0].message


def test_a_control_byte_makes_fsrouter_check_exit_1_without_a_traceback(cfg):
    edit(cfg / "employees.yaml", "employees:", "employees:\x00")
    result = check(cfg)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{cfg}/employees.yaml:" in result.stderr


@pytest.mark.parametrize("text", [
    "name: " + "[" * 5000 + "]" * 5000 + "\n",
    "".join(" " * i + f"k{i}:\n" for i in range(1000)),
    "name: " + "[" * 100 + "]" * 100 + "\n",
])
def test_deeply_nested_yaml_is_refused_as_nested_too_deeply(cfg, text):
    (cfg / "numbers" / "kyiv-sales.yaml").write_text(text)
    errors = [e for e in problems() if e.path == "config/numbers/kyiv-sales.yaml"]
    assert [e.message for e in errors] == ["nested too deeply (more than 64 levels of lists or mappings)"]


def test_a_line_file_that_cannot_be_parsed_is_not_also_reported_as_a_missing_line(cfg):
    (cfg / "numbers" / "kyiv-sales.yaml").write_text("name: [[[\n")
    assert {e.path for e in problems()} == {"config/numbers/kyiv-sales.yaml"}


def test_an_unreadable_file_in_the_config_folder_is_a_config_error_naming_it(cfg, monkeypatch):
    (cfg / "jingle.mp3").write_bytes(b"\xff\xfb")  # a melody file the version covers
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "jingle.mp3":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    errors = problems()
    assert [(e.path, e.message) for e in errors] == [("config/jingle.mp3", "cannot read: Permission denied")]


def test_an_unreadable_config_folder_is_a_config_error_naming_it(cfg, monkeypatch):
    real = os.listdir

    def listdir(path="."):
        if Path(path) == cfg:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "listdir", listdir)
    errors = problems()
    assert [(e.path, e.message) for e in errors] == [("config", "cannot read the folder: Permission denied")]


def test_an_unreadable_numbers_folder_is_reported_as_unreadable_not_as_empty(cfg, monkeypatch):
    real = os.listdir

    def listdir(path="."):
        if Path(path) == cfg / "numbers":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "listdir", listdir)
    messages = [(e.path, e.message) for e in problems()]
    assert ("config/numbers", "cannot read the folder: Permission denied") in messages


@pytest.mark.parametrize("folder", ["spool", "voicemail", "recordings"])
def test_a_working_folder_that_is_a_file_is_refused_by_check(cfg, folder):
    (cfg / "not-a-folder").write_text("")
    edit(cfg / "settings.yaml", f"  {folder}: ../var/{folder}", f"  {folder}: not-a-folder")
    errors = problems()
    assert [(e.path, e.field) for e in errors] == [("config/settings.yaml", f"folders.{folder}")]
    assert errors[0].message.endswith("exists and is not a folder")
    assert errors[0].line == next(i for i, t in enumerate((cfg / "settings.yaml").read_text().splitlines(), 1)
                                  if t.startswith(f"  {folder}:"))


def test_a_working_folder_below_a_file_is_refused_as_one_that_cannot_be_created(cfg):
    (cfg / "not-a-folder").write_text("")
    edit(cfg / "settings.yaml", "  spool: ../var/spool", "  spool: not-a-folder/spool/deeper")
    (error,) = problems()
    assert error.field == "folders.spool" and "cannot be created" in error.message


def test_working_folders_that_do_not_exist_yet_are_fine(cfg):
    edit(cfg / "settings.yaml", "  spool: ../var/spool", "  spool: ../var/new/spool/here")
    assert load_config("config").settings.folders.spool.name == "here"


@pytest.mark.parametrize("name", ['"a\\0b.mp3"', '"a\\nb.mp3"', '"a\\tb.mp3"'])
def test_a_melody_name_with_a_control_character_is_a_field_error(cfg, name):
    line_file = cfg / "numbers" / "kyiv-sales.yaml"
    edit(line_file, "  greeting: default", f"  greeting: {name}")
    errors = problems()
    assert [(e.path, e.field) for e in errors] == [("config/numbers/kyiv-sales.yaml", "melodies.greeting")]
    assert "control character" in errors[0].message
    assert errors[0].line is not None


# --- defect 4: E.164 is '+' and digits -------------------------------------------------------

@pytest.mark.parametrize("written", ["+380 67 111 2233", "+380-67-111-22-33", "+38 (067) 111-22-33"])
def test_a_config_number_with_separators_is_refused_showing_the_e164_form_to_write(cfg, written):
    employees = cfg / "employees.yaml"
    edit(employees, '"+380671112233"', f'"{written}"')
    (error,) = problems()
    assert (error.path, error.field) == ("config/employees.yaml", "employees.bob.phones[0]")
    assert '"+380671112233"' in error.message and "'+' and digits only" in error.message
    assert error.line == next(i for i, t in enumerate(employees.read_text().splitlines(), 1) if written in t)


# --- defect 3: IVR menus a silent caller can never leave ---------------------------------------

LOOP_IVR = """\
ivr:
  main:
    max_attempts: 3
    digit_timeout: 1
    keys: {"1": {group: sales}}
    on_timeout: {menu: main}
    on_invalid: {menu: main}
  ping:
    max_attempts: 10
    digit_timeout: 1
    keys: {"1": {group: sales}}
    on_timeout: {menu: pong}
  pong:
    max_attempts: 10
    digit_timeout: 1
    keys: {"1": {group: sales}}
    on_timeout: {menu: ping}
"""


@pytest.fixture
def loop_engine(tmp_path):
    from tests.harness import EngineHarness, write_config
    from tests.routing_config import EMPLOYEES, GROUPS, _line

    lines = {"self": _line("+380441000101", "routing:\n  greeting: false\n  ivr: main\n"),
             "pair": _line("+380441000102", "routing:\n  greeting: false\n  ivr: ping\n")}
    root = write_config(tmp_path / "config", lines=lines, employees=EMPLOYEES, groups=GROUPS,
                        extra={"ivr.yaml": LOOP_IVR})
    harness = EngineHarness(root, db_url=f"sqlite:///{tmp_path / 'ivr.db'}")
    harness.start()
    yield harness
    harness.stop()


def _silent_call(engine, number: str, digits: list[str]):
    from fsrouter.replay.fakefs import Scenario

    fake = engine.call(Scenario(destination=number, digits=digits))
    record = engine.record(fake.scenario.uuid)
    prompts = [e for e in fake.executed if e.app == "play_and_get_digits"]
    hangups = [f.headers.get("hangup-cause") for f in fake.commands
               if f.command == "sendmsg" and f.headers.get("call-command") == "hangup"]
    return fake, record, prompts, hangups


def test_a_silent_caller_in_a_menu_whose_timeout_leads_back_to_itself_is_hung_up_after_max_attempts(loop_engine):
    fake, record, prompts, hangups = _silent_call(loop_engine, "+380441000101", [])
    assert len(prompts) == 3
    goodbye = loop_engine.app.services.melodies.builtin("en", "goodbye")
    assert [e.arg for e in fake.executed if e.app == "playback"] == [goodbye]
    assert hangups[0] == "NORMAL_CLEARING"
    assert record.route[-1]["result"] == "attempts_exhausted"


def test_invalid_keys_in_a_menu_that_re_enters_itself_count_against_max_attempts(loop_engine):
    _, record, prompts, hangups = _silent_call(loop_engine, "+380441000101", ["7", "", "8"])
    assert len(prompts) == 3 and hangups[0] == "NORMAL_CLEARING"
    assert [s.get("attempt") for s in record.route if s["step"] == "ivr"] == [1, 2, 3, None]


def test_a_silent_caller_in_two_menus_whose_timeouts_lead_to_each_other_hears_at_most_fifty_prompts(loop_engine):
    from fsrouter.flow.nodes.ivr import MAX_PROMPTS

    fake, record, prompts, hangups = _silent_call(loop_engine, "+380441000102", [])
    assert MAX_PROMPTS == 50 and len(prompts) == 50
    goodbye = loop_engine.app.services.melodies.builtin("en", "goodbye")
    assert [e.arg for e in fake.executed if e.app == "playback"] == [goodbye]
    assert hangups[0] == "NORMAL_CLEARING"
    assert record.route[-1]["result"] == "prompts_exhausted"


@pytest.mark.parametrize("endpoint", ['"user/101\\r\\nsendmsg"', '"user/101\\u0000"', '"user/1 01"', '"user/10\\t1"',
                                      '"user/101\\u007f"'])
def test_an_employee_endpoint_with_control_characters_or_whitespace_is_a_field_error(cfg, endpoint):
    employees = cfg / "employees.yaml"
    edit(employees, "endpoint: user/102", f"endpoint: {endpoint}")
    (error,) = problems()
    assert (error.path, error.field) == ("config/employees.yaml", "employees.bob.endpoint")
    assert "control character" in error.message  # escapes: the YAML layer's words; a space: the model's
    assert error.line == next(i for i, t in enumerate(employees.read_text().splitlines(), 1) if "endpoint: \"user/1" in t)


@pytest.mark.parametrize("key, value", [("reply_timeout", "1e300"), ("execute_timeout", "86401"),
                                        ("hangup_timeout", "0"), ("hangup_timeout", "nan"),
                                        ("reply_timeout", "-1")])
def test_an_absurd_esl_timeout_is_refused_with_its_range(cfg, key, value):
    edit(cfg / "settings.yaml", f"  {key}: ", f"  {key}: {value} #")
    (error,) = problems()
    assert (error.path, error.field) == ("config/settings.yaml", f"esl.{key}")
    assert "out of range" in error.message and "0 < t <= 86400" in error.message


@pytest.mark.parametrize("value", ["1e300", "-1", "86401"])
def test_an_absurd_drain_timeout_is_refused_with_its_range(cfg, value):
    edit(cfg / "settings.yaml", "drain_timeout: 30", f"drain_timeout: {value}")
    (error,) = problems()
    assert error.field == "drain_timeout" and "0 <= t <= 86400" in error.message


def test_timeouts_of_a_day_and_a_drain_of_zero_are_accepted(cfg):
    edit(cfg / "settings.yaml", "drain_timeout: 30", "drain_timeout: 0")
    edit(cfg / "settings.yaml", "  execute_timeout: 3600", "  execute_timeout: 86400")
    settings = load_config("config").settings
    assert settings.drain_timeout == 0 and settings.esl.execute_timeout == 86400


@pytest.mark.parametrize("old, new, field", [
    ("    digit_timeout: 5", "    digit_timeout: .inf", "routing.extension_dialing.digit_timeout"),
    ("    digit_timeout: 5", "    digit_timeout: 1e300", "routing.extension_dialing.digit_timeout"),
    ("  monthly_limit: 100 ", "  monthly_limit: 100000000000000000000 ", "recording.monthly_limit"),
    ("  retention_days: 365", "  retention_days: 1000000", "recording.retention_days"),
    ("  interval: 300 ", "  interval: 100000000000000000000 ", "callback.interval"),
])
def test_a_number_past_any_sensible_bound_is_a_field_error_not_a_failing_call(cfg, old, new, field):
    line = cfg / "numbers" / "kyiv-sales.yaml"
    edit(line, old, new)
    (error,) = problems()
    assert (error.path, error.field) == ("config/numbers/kyiv-sales.yaml", field)
    assert error.line == next(i for i, t in enumerate(line.read_text().splitlines(), 1) if t.startswith(new))


@pytest.mark.parametrize("text", ["name: Kyiv\x00\n", "name: " + "[" * 5000 + "]" * 5000 + "\n"])
def test_a_sighup_reload_of_a_control_byte_or_deep_nesting_logs_the_located_error_not_a_repr(cfg, tmp_path, text):
    from fsrouter.app import App, Overrides

    app = App(cfg, Overrides(db=f"sqlite:///{tmp_path / 'x.db'}", listen="127.0.0.1:0"))
    try:
        version = app.catalog.version
        (cfg / "numbers" / "kyiv-sales.yaml").write_text(text)
        with capture_logs() as logs:
            assert app.reload() is False
        assert app.catalog.version == version
        refused = next(e for e in logs if e["event"] == "config_reload_refused")
        assert refused["errors"] and all(e.startswith(f"{cfg}/numbers/kyiv-sales.yaml") for e in refused["errors"])
    finally:
        app.store.close()


def test_a_syntax_error_in_employees_yaml_is_one_problem_not_one_per_reference(tmp_path):
    import shutil
    from pathlib import Path

    from fsrouter.errors import ConfigInvalid
    from fsrouter.flow.loader import load_config

    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[1] / "config", config)
    employees = config / "employees.yaml"
    employees.write_text(employees.read_text().replace("  alice:\n", "  alice: [\n", 1))
    try:
        load_config(config)
    except ConfigInvalid as exc:
        errors = exc.errors
    assert [(e.path.endswith("employees.yaml"), "syntax" in e.message) for e in errors] == [(True, True)]


def test_an_extension_that_is_a_lines_did_in_national_form_is_refused(tmp_path):
    import shutil
    from pathlib import Path

    from fsrouter.errors import ConfigInvalid
    from fsrouter.flow.loader import load_config

    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[1] / "config", config)
    employees = config / "employees.yaml"
    employees.write_text(employees.read_text().replace('extension: "104"', 'extension: "0441234567"'))
    try:
        load_config(config)
    except ConfigInvalid as exc:
        errors = exc.errors
    else:
        raise AssertionError("accepted")
    assert [(e.field, "kyiv-sales" in e.message) for e in errors] == [("employees.dave.extension", True)]


def test_a_fifo_a_device_or_a_huge_file_among_the_numbers_is_refused_without_reading_it(cfg):
    numbers = cfg / "numbers"
    os.mkfifo(numbers / "stuck.yaml")  # reading it would wait for a writer for good
    (numbers / "zero.yaml").symlink_to("/dev/zero")  # reading it would never end
    (numbers / "huge.yaml").write_text("# padding\n" * 200_000)  # 2 MB
    started = time.monotonic()
    errors = {e.path: e.message for e in problems()}
    assert time.monotonic() - started < 5
    assert errors["config/numbers/stuck.yaml"] == "not a regular file (a FIFO, device or socket): refused"
    assert errors["config/numbers/zero.yaml"] == "not a regular file (a FIFO, device or socket): refused"
    assert errors["config/numbers/huge.yaml"] == "2,000,000 bytes: a config file may have at most 1,048,576"


@pytest.mark.parametrize("escaped", ['"Office\\x07PBX"', '"Office \\u0000 PBX"', '"Kyiv\\0sales"', '"a\\x1bb"'])
def test_a_control_character_written_as_an_escape_is_refused_with_its_line(cfg, escaped):
    line = cfg / "numbers" / "kyiv-sales.yaml"
    text = line.read_text()
    assert "\nname: " in text
    edit(line, "\nname: ", f"\nname: {escaped} #")
    (error,) = problems()
    assert (error.path, error.field) == ("config/numbers/kyiv-sales.yaml", "name")
    assert "a control character, written as an escape" in error.message
    assert error.line == next(i for i, t in enumerate(line.read_text().splitlines(), 1) if t.startswith("name: "))


@pytest.mark.parametrize("value, code, field", [
    ('"Sales\\u202Eselas"', "U+202E", "name"),  # escaped right-to-left override
    ("Sales\u202elaes", "U+202E", "name"),  # the same character written raw (UTF-8)
    ('"Kyiv\\u2028Sales"', "U+2028", "name"),  # an escaped line separator: a line break in one value
    ("Kyiv\u2028Sales", "U+2028", ""),  # raw: YAML would read a line break there (refused before parsing)
    ("Kyiv\u0085Sales", "U+0085", ""),  # raw NEL, the same
    ('"Kyiv\\u2066Sales\\u2069"', "U+2066", "name"),
    ("Kyiv\ufeffSales", "U+FEFF", "name"),
])
def test_an_invisible_character_that_changes_how_text_reads_is_refused_with_its_line(cfg, value, code, field):
    line = cfg / "numbers" / "kyiv-sales.yaml"
    edit(line, "\nname: ", f"\nname: {value} #")
    (error,) = problems()
    assert (error.path, error.field) == ("config/numbers/kyiv-sales.yaml", field)
    assert code in error.message and "is not allowed" in error.message
    assert error.line == next(i for i, t in enumerate(line.read_text().splitlines(), 1) if t.startswith("name: "))


@pytest.mark.parametrize("name", ["Олена\u200dКоваль", "\u0645\u0631\u0643\u0632 \u200f\u0627\u0644\u0628\u064a\u0639",
                                  "Zo\u00eb \U0001F600"])
def test_joiners_direction_marks_and_emoji_in_a_name_are_accepted(cfg, name):
    line = cfg / "numbers" / "kyiv-sales.yaml"
    edit(line, "\nname: ", f"\nname: \"{name}\" #")
    assert load_config("config").lines["kyiv-sales"].name == name


@pytest.mark.parametrize("key", ['"\\u202Ecountry"', '"\\ufeffcountry"', '"coun\\x07try"'])
def test_a_key_with_a_control_or_invisible_character_is_refused_naming_the_character(cfg, key):
    settings = cfg / "settings.yaml"
    settings.write_text(settings.read_text() + f"{key}: UA\n")
    (error,) = problems()
    assert error.path == "config/settings.yaml" and "is not allowed in a key" in error.message
    assert error.line == len(settings.read_text().splitlines())


def test_an_employee_id_with_a_trailing_newline_is_refused_at_its_key(cfg):
    employees = cfg / "employees.yaml"
    employees.write_text(employees.read_text() + '  "dave\\n": {name: Dave, extension: "109", endpoint: user/109}\n')
    (error,) = problems()
    assert (error.path, error.field) == ("config/employees.yaml", "employees")
    assert error.message.startswith("'dave\\n' is not an id")  # shown escaped, not as a line break
    assert error.line == len(employees.read_text().splitlines())


def test_a_file_that_is_not_utf8_is_refused_with_the_line_of_the_bad_byte(cfg):
    line = cfg / "numbers" / "office-pbx.yaml"
    lines = line.read_bytes().split(b"\n")
    lines[3] += b" # caf\xe9"
    line.write_bytes(b"\n".join(lines))
    (error,) = problems()
    assert error.line == 4 and error.message.startswith("not UTF-8 text")


def test_a_working_folder_this_user_may_not_write_is_refused(cfg, monkeypatch):
    from fsrouter.flow import checks_files

    spool = (cfg / ".." / "var" / "spool").resolve()
    spool.mkdir(parents=True)
    real_access = os.access
    monkeypatch.setattr(checks_files.os, "access",
                        lambda path, mode: False if Path(path).resolve() == spool else real_access(path, mode))
    (error,) = problems()
    assert error.field == "folders.spool" and error.message.endswith("is not writable by this user")


@pytest.mark.parametrize("url, says", [("mysql://x@y/z", "unsupported database URL scheme 'mysql'"),
                                       ('"not a url"', "has no scheme"),
                                       ("postgresql://u@127.0.0.1:notaport/db", "bad port"),
                                       ('"sqlite:///"', "names no file")])
def test_a_db_url_the_store_would_refuse_is_a_field_error(cfg, url, says):
    settings = cfg / "settings.yaml"
    text = settings.read_text()
    old = next(t for t in text.splitlines() if t.startswith("db: "))
    edit(settings, old, f"db: {url}")
    (error,) = problems()
    assert error.field == "db" and says in error.message


def test_a_backup_number_that_is_one_of_our_own_lines_is_refused(cfg):
    line = cfg / "numbers" / "kyiv-sales.yaml"
    own = next(t for t in line.read_text().splitlines() if t.startswith("number: ")).split('"')[1]
    edit(line, '  number: "+380501112233"', f'  number: "{own}"')
    edit(cfg / "settings.yaml", '  number: "+380501112233"', f'  number: "{own}"')
    errors = {(e.path, e.field): e.message for e in problems()}
    assert errors[("config/numbers/kyiv-sales.yaml", "backup.number")].endswith("a backup must be reachable without fsrouter")
    assert ("config/settings.yaml", "backup.number") in errors


def test_a_group_forward_or_a_phone_that_is_one_of_our_lines_is_a_warning(cfg):
    line = cfg / "numbers" / "kyiv-sales.yaml"
    own = next(t for t in line.read_text().splitlines() if t.startswith("number: ")).split('"')[1]
    edit(cfg / "groups.yaml", 'forward_to: "+380501112233"', f'forward_to: "{own}"')
    edit(cfg / "employees.yaml", '"+380671112233"', f'"{own}"')
    config = load_config("config")
    warned = {(w.path, w.field): w.message for w in config.warnings}
    group_warning = next(m for (p, f), m in warned.items() if p == "config/groups.yaml" and f.endswith(".forward_to"))
    assert "start that line's routing again" in group_warning
    phone_warning = next(m for (p, f), m in warned.items() if p == "config/employees.yaml" and f.endswith(".phones[0]"))
    assert phone_warning.startswith(f"{own} is the number of config/numbers/kyiv-sales.yaml")
