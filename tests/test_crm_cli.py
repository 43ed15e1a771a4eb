"""``fsrouter crm import | find | lead-from-call`` against a real store."""

from __future__ import annotations

import time

import pytest

from fsrouter.cli import main
from fsrouter.replay.fakefs import Scenario
from tests.harness import EngineHarness, write_config

MANUAL_LINE = """\
    number: "+380441234567"
    kind: rented
    timezone: Europe/Kyiv
    routing:
      greeting: false
      group: sales
    crm:
      enabled: true
      create_lead: manual
      lead_source: "Spring fair"
      exclusions: ["+380440000000"]
"""


def cli(tmp_path, *argv):
    return main([argv[0], "--config", str(tmp_path / "config"), "--db", f"sqlite:///{tmp_path / 'x.db'}",
                 *argv[1:]])


def test_importing_ten_thousand_contacts_takes_under_ten_seconds_and_reports_bad_rows(tmp_path, capsys):
    write_config(tmp_path / "config")
    rows = ["type,name,phones,responsible,company"]
    rows += [f"contact,Client {i},050{i:07d},alice,Acme" for i in range(10_000)]
    rows.insert(5, "contact,Broken,not-a-number,alice,")
    rows.insert(9, "robot,R2,0501111111,,")
    rows.insert(12, "contact,Stranger,0502222222,zoe,")
    (tmp_path / "contacts.csv").write_text("\n".join(rows) + "\n")
    started = time.monotonic()
    code = cli(tmp_path, "crm", "import", str(tmp_path / "contacts.csv"))
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert elapsed < 10
    assert code == 1  # some rows were bad
    assert "imported 10000 contact(s)" in out and "3 bad row(s) skipped" in out
    assert "line 6: phone 'not-a-number' is not a valid phone number" in err
    assert "line 10: type 'robot'" in err and "line 13: unknown employee 'zoe'" in err
    assert cli(tmp_path, "crm", "find", "0500000042") == 0
    assert "match +380500000042: contact" in capsys.readouterr().out


def test_find_lists_every_entity_of_a_phone_in_match_priority(tmp_path, capsys):
    write_config(tmp_path / "config")
    (tmp_path / "crm.csv").write_text(
        "type,name,phone,responsible,source\n"
        "lead,,+380441112233,carol,ads\n"
        "company,Acme,+380441112233;+380442223344,bob,\n"
        "contact,Olena,0441112233,alice,\n")
    assert cli(tmp_path, "crm", "import", str(tmp_path / "crm.csv")) == 0
    capsys.readouterr()
    assert cli(tmp_path, "crm", "find", "+380 44 111 22 33") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in lines] == ["contact", "company", "lead"]
    assert lines[0].startswith("match") and lines[0].endswith("responsible=alice")


def test_lead_from_call_creates_the_lead_a_manual_line_left_out_once(tmp_path, capsys):
    config = write_config(tmp_path / "config", lines={"kyiv": MANUAL_LINE})
    engine = EngineHarness(config, db_url=f"sqlite:///{tmp_path / 'x.db'}")
    engine.start()
    try:
        fake = engine.call(Scenario(caller="+380509998877", endpoints={"user/101": "no_answer", "user/102": "answer"}))
        excluded = engine.call(Scenario(caller="+380440000000", endpoints={"user/101": "answer"}))
    finally:
        engine.stop()
    assert cli(tmp_path, "crm", "lead-from-call", fake.scenario.uuid) == 0
    assert "responsible bob" in capsys.readouterr().out
    assert cli(tmp_path, "crm", "lead-from-call", fake.scenario.uuid) == 0
    assert "already known: lead" in capsys.readouterr().out
    assert cli(tmp_path, "crm", "lead-from-call", excluded.scenario.uuid) == 1
    assert "exclusions" in capsys.readouterr().err
    assert cli(tmp_path, "calls", "show", fake.scenario.uuid) == 0
    assert '"by": "lead-from-call"' in capsys.readouterr().out


@pytest.mark.parametrize("name", ["missing.csv", "."])
def test_an_unreadable_import_file_is_one_line_on_stderr_and_exit_1(tmp_path, capsys, name):
    write_config(tmp_path / "config")
    assert cli(tmp_path, "crm", "import", str(tmp_path / name)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"fsrouter crm import: cannot read {tmp_path / name}: ") and err.count("\n") == 1


@pytest.mark.parametrize("content, says", [
    ("type,name,phones\ncontact,\u041e\u043b\u0435\u043d\u0430,0501112233\n".encode("cp1251"), "not UTF-8 text"),
    (b"type,name,phones\ncontact," + b"x" * 200_000 + b",0501112233\n", "not a CSV file this import can read"),
])
def test_a_csv_in_another_encoding_or_with_a_giant_field_is_one_line_and_exit_1(tmp_path, capsys, content, says):
    write_config(tmp_path / "config")
    (tmp_path / "in.csv").write_bytes(content)
    assert cli(tmp_path, "crm", "import", str(tmp_path / "in.csv")) == 1
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
