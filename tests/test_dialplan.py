"""The generated FreeSWITCH dialplan: socket to each engine in order, then the backup number."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fsrouter.cli import main
from fsrouter.errors import ConfigInvalid
from fsrouter.flow.loader import load_config
from fsrouter.freeswitch_dialplan import render_dialplan
from tests.harness import SETTINGS, write_config

REPO = Path(__file__).resolve().parent.parent

OWN_BACKUP = """\
    number: "+380441234567"
    kind: rented
    timezone: Europe/Kyiv
    name: Kyiv & <"sales"> -- main
    routing: {greeting: false, group: sales}
    outbound: {gateway: kyiv-trunk}
    backup: {number: "+380501112233", gateway: backup-trunk}
"""
NO_OWN_BACKUP = """\
    number: "+380442220000"
    kind: rented
    timezone: Europe/Kyiv
    routing: {greeting: false, group: quiet}
    outbound: {gateway: lviv-trunk}
"""
GLOBAL_BACKUP = "backup: {number: \"+380671112233\"}\n"
ENGINES = 'engines: ["10.0.0.1:8084", "10.0.0.2:8084"]\n'


def _config(tmp_path, *, settings: str = SETTINGS + GLOBAL_BACKUP + ENGINES, lines=None):
    lines = lines or {"kyiv": OWN_BACKUP, "quiet": NO_OWN_BACKUP}
    return load_config(write_config(tmp_path / "config", settings=settings, lines=lines))


def _extension(xml: bytes, line_id: str) -> ET.Element:
    root = ET.fromstring(xml)
    found = root.findall(f"extension[@name='fsrouter-{line_id}']")
    assert len(found) == 1, f"one extension for {line_id}"
    return found[0]


def _actions(extension: ET.Element) -> list[tuple[str, str]]:
    return [(a.get("application"), a.get("data")) for a in extension.iter("action")]


def test_the_dialplan_is_valid_xml_with_one_extension_per_line(tmp_path):
    root = ET.fromstring(render_dialplan(_config(tmp_path)))
    assert root.tag == "include"
    assert [e.get("name") for e in root.findall("extension")] == ["fsrouter-kyiv", "fsrouter-quiet"]


def test_each_line_goes_to_every_engine_in_order_with_socket_resume_set_first(tmp_path):
    actions = _actions(_extension(render_dialplan(_config(tmp_path)), "quiet"))
    assert actions[:4] == [
        ("set", "fsrouter_number=+380442220000"),
        ("set", "socket_resume=true"),
        ("socket", "10.0.0.1:8084 async full"),
        ("socket", "10.0.0.2:8084 async full"),
    ]


def test_a_line_with_its_own_backup_falls_back_to_it_through_its_backup_gateway(tmp_path):
    actions = _actions(_extension(render_dialplan(_config(tmp_path)), "kyiv"))
    last_socket = max(i for i, (app, _) in enumerate(actions) if app == "socket")
    assert actions[last_socket + 1:] == [
        ("set", "continue_on_fail=false"),
        ("set", "hangup_after_bridge=true"),
        ("bridge", "{originate_timeout=60}sofia/gateway/backup-trunk/+380501112233"),
    ]


def test_a_line_without_a_backup_falls_back_to_the_global_one_through_its_outbound_gateway(tmp_path):
    actions = _actions(_extension(render_dialplan(_config(tmp_path)), "quiet"))
    assert actions[-1] == ("bridge", "{originate_timeout=60}sofia/gateway/lviv-trunk/+380671112233")
    assert actions[-3:-1] == [("set", "continue_on_fail=false"), ("set", "hangup_after_bridge=true")]


def test_the_global_backup_gateway_wins_over_the_line_outbound_gateway(tmp_path):
    settings = SETTINGS + 'backup: {number: "+380671112233", gateway: global-trunk}\n'
    actions = _actions(_extension(render_dialplan(_config(tmp_path, settings=settings)), "quiet"))
    assert actions[-1] == ("bridge", "{originate_timeout=60}sofia/gateway/global-trunk/+380671112233")


def test_a_line_with_no_backup_anywhere_is_hung_up_after_the_engines(tmp_path):
    actions = _actions(_extension(render_dialplan(_config(tmp_path, settings=SETTINGS)), "quiet"))
    assert actions[-2:] == [("socket", "127.0.0.1:8084 async full"), ("hangup", "NORMAL_TEMPORARY_FAILURE")]
    assert not [a for a in actions if a[0] == "bridge"]


def test_without_engines_the_listen_address_is_used_and_a_wildcard_host_becomes_loopback(tmp_path):
    settings = SETTINGS.replace("listen: 127.0.0.1:8084", "listen: 0.0.0.0:9000")
    actions = _actions(_extension(render_dialplan(_config(tmp_path, settings=settings)), "kyiv"))
    assert [d for app, d in actions if app == "socket"] == ["127.0.0.1:9000 async full"]


def test_the_destination_expression_matches_the_did_in_e164_international_and_national_form(tmp_path):
    condition = _extension(render_dialplan(_config(tmp_path)), "kyiv").find("condition")
    assert condition.get("field") == "destination_number"
    pattern = re.compile(condition.get("expression"))
    for dialed in ("+380441234567", "380441234567", "0441234567"):
        assert pattern.match(dialed), dialed
    for other in ("+380441234568", "04412345671", "441234567"):
        assert not pattern.match(other), other


def test_a_sip_pbx_connection_is_matched_by_its_gateway_name(tmp_path):
    pbx = """\
        number: office-pbx
        kind: sip_pbx
        timezone: Europe/Kyiv
        routing: {greeting: false, group: quiet}
        outbound: {gateway: office-pbx}
    """
    ext = _extension(render_dialplan(_config(tmp_path, lines={"pbx": pbx})), "pbx")
    first, second = ext.findall("condition")
    assert (first.get("field"), first.get("expression")) == ("${sip_gateway_name}", r"^office\-pbx$")
    assert ("set", "fsrouter_number=office-pbx") in _actions(second)


def test_names_with_xml_special_characters_and_double_dashes_still_give_valid_xml(tmp_path):
    xml = render_dialplan(_config(tmp_path))
    comments = re.findall(rb"<!--(.*?)-->", xml, re.S)
    assert all(b"--" not in c for c in comments)
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.fromstring(xml, parser=parser)
    texts = [c.text for c in root.iter(ET.Comment)]
    assert ' Kyiv & <"sales"> - - main: DID +380441234567 (numbers/kyiv.yaml) ' in texts


def test_the_same_config_gives_the_same_bytes(tmp_path):
    first = render_dialplan(_config(tmp_path / "a"))
    second = render_dialplan(_config(tmp_path / "b", lines={"quiet": NO_OWN_BACKUP, "kyiv": OWN_BACKUP}))
    assert first == second


def test_a_backup_without_any_gateway_is_a_config_error(tmp_path):
    line = NO_OWN_BACKUP.replace("outbound: {gateway: lviv-trunk}", "")
    with pytest.raises(ConfigInvalid) as info:
        _config(tmp_path, lines={"quiet": line})
    assert [(e.field, "needs a gateway" in e.message) for e in info.value.errors] == [("number", True)]


def test_the_cli_writes_the_dialplan_to_a_file(tmp_path, capsys):
    config = _config(tmp_path)
    target = tmp_path / "fsrouter.xml"
    assert main(["freeswitch", "dialplan", "--config", str(config.root), "-o", str(target)]) == 0
    assert target.read_bytes() == render_dialplan(config)
    assert "2 line(s)" in capsys.readouterr().err


def test_the_cli_reports_an_invalid_config_and_exits_1(tmp_path, capsys):
    broken = write_config(tmp_path / "config", lines={"bad": "number: nope\n"})
    assert main(["freeswitch", "dialplan", "--config", str(broken)]) == 1
    assert "problem(s)" in capsys.readouterr().err


def test_the_shipped_example_is_generated_valid_xml():
    shipped = (REPO / "freeswitch" / "dialplan" / "fsrouter.xml").read_bytes()
    root = ET.fromstring(shipped)
    assert b"GENERATED by `fsrouter freeswitch dialplan`" in shipped
    assert {e.get("name") for e in root.findall("extension")} >= {"fsrouter-kyiv-sales"}
