"""The generated dialplan's fsrouter-outbound extension: employees' calls to the engine, marked outbound."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from fsrouter.flow.loader import load_config
from fsrouter.freeswitch_dialplan import render_dialplan
from tests.harness import SETTINGS, write_config

REPO = Path(__file__).resolve().parent.parent

EMPLOYEES = """\
employees:
  alice: {name: Alice, extension: "101", endpoint: user/101, default_line: kyiv}
  bob: {name: Bob, extension: "102", endpoint: user/102}
  carol: {name: Carol, extension: "103", endpoint: user/103}
"""


def line(number: str, outbound: str) -> str:
    return f"""\
    number: "{number}"
    kind: rented
    timezone: Europe/Kyiv
    routing: {{greeting: false, group: sales}}
    outbound: {{{outbound}}}
"""


LINES = {
    "kyiv": line("+380441234567", 'selectable: true, prefix: "*123*", allowed_employees: [alice], gateway: kt'),
    "lviv": line("+380322123456", 'selectable: true, prefix: "#123#", gateway: lt'),
    "hidden": line("+380443330000", 'selectable: false, prefix: "*9*", gateway: ht'),
}


def _outbound(xml: bytes) -> ET.Element:
    found = ET.fromstring(xml).findall("extension[@name='fsrouter-outbound']")
    assert len(found) == 1
    return found[0]


def _render(tmp_path, *, lines=LINES, employees=EMPLOYEES, settings=SETTINGS) -> bytes:
    return render_dialplan(load_config(write_config(tmp_path / "config", lines=lines, employees=employees,
                                                    settings=settings)))


def _destination(ext: ET.Element) -> re.Pattern:
    (cond,) = [c for c in ext.findall("condition") if c.get("field") == "destination_number"]
    return re.compile(cond.get("expression"))


def test_the_outbound_extension_comes_after_the_lines_and_only_takes_calls_from_employees(tmp_path):
    root = ET.fromstring(_render(tmp_path))
    names = [e.get("name") for e in root.findall("extension")]
    assert names[-1] == "fsrouter-outbound" and len(names) == 4
    first = _outbound(_render(tmp_path)).find("condition")
    assert (first.get("field"), first.get("expression")) == ("${user_name}", "^(101|102|103)$")


def test_the_outbound_extension_marks_the_direction_and_goes_to_every_engine_then_hangs_up(tmp_path):
    settings = SETTINGS + 'engines: ["10.0.0.1:8084", "10.0.0.2:8084"]\n'
    actions = [(a.get("application"), a.get("data")) for a in _outbound(_render(tmp_path, settings=settings)).iter("action")]
    assert actions == [
        ("set", "fsrouter_direction=outbound"),
        ("set", "socket_resume=true"),
        ("socket", "10.0.0.1:8084 async full"),
        ("socket", "10.0.0.2:8084 async full"),
        ("hangup", "NORMAL_TEMPORARY_FAILURE"),
    ]


def test_selectable_prefixes_and_outside_numbers_are_sent_but_extensions_and_short_numbers_are_not(tmp_path):
    pattern = _destination(_outbound(_render(tmp_path)))
    for dialed in ["*123*380954558888", "#123#0954558888", "0954558888", "+380954558888", "380954558888"]:
        assert pattern.search(dialed), dialed
    for dialed in ["102", "112", "*123*", "*9*38095455", "12345a7"]:
        assert not pattern.search(dialed), dialed


def test_without_a_selectable_prefix_or_a_default_line_there_is_no_outbound_extension(tmp_path):
    lines = {"kyiv": line("+380441234567", "gateway: kt")}
    employees = EMPLOYEES.replace(", default_line: kyiv", "")
    root = ET.fromstring(_render(tmp_path, lines=lines, employees=employees))
    assert [e.get("name") for e in root.findall("extension")] == ["fsrouter-kyiv"]


def test_the_shipped_example_sends_employees_calls_with_its_prefixes(tmp_path):
    shipped = (REPO / "freeswitch" / "dialplan" / "fsrouter.xml").read_bytes()
    assert shipped == render_dialplan(load_config(REPO / "config"))
    pattern = _destination(_outbound(shipped))
    assert pattern.search("*101*380954558888") and pattern.search("#200#0441234567")
