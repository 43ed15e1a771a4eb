"""A config folder exercising every routing step, for the tests/test_routing_*.py modules.

One line per case (file name = line id, its number below), employees alice/bob/carol/dave
(extensions 101-104), groups in every strategy, nested menus three levels deep.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.harness import EngineHarness, write_config

EMPLOYEES = """\
employees:
  alice: {name: Alice, extension: "101", endpoint: user/101, phones: ["+380501234567", "+380442223344"]}
  bob: {name: Bob, extension: "102", endpoint: user/102, phones: ["+380671112233"]}
  carol: {name: Carol, extension: "103", endpoint: user/103, phones: ["+380931234567"]}
  dave: {name: Dave, extension: "104", endpoint: user/104}
"""

GROUPS = """\
groups:
  sales: {members: [alice, bob, carol], strategy: in_order, ring_time: 20, no_answer: voicemail}
  even: {members: [alice, bob, carol], strategy: evenly, ring_time: 15, no_answer: hangup}
  everyone: {members: [alice, bob, carol], strategy: all_at_once, ring_time: 30, no_answer: forward,
             forward_to: "+380501112233"}
  solo: {members: [dave], strategy: in_order, ring_time: 10, no_answer: hangup}
"""

IVR = """\
ivr:
  main:
    prompt: default
    digit_timeout: 4
    max_attempts: 3
    keys:
      "1": {group: sales}
      "2": {menu: support}
      "3": {employee: alice}
      "4": {play: hours.mp3}
      "0": {voicemail: bob}
      "9": repeat
      "#": dial_extension
      "8": hangup
    on_timeout: {group: solo}
    on_invalid: repeat
  support:
    prompt: support.mp3
    digit_timeout: 3
    max_attempts: 2
    keys:
      "1": {menu: billing}
      "2": {employee: carol}
      "*": back
      "9": repeat
    on_invalid: repeat
  billing:
    prompt: default
    max_attempts: 2
    keys:
      "1": {group: everyone}
      "*": back
      "9": repeat
    on_timeout: repeat
    on_invalid: repeat
"""


def _line(number: str, body: str, *, kind: str = "rented", tz: str = "Europe/Kyiv") -> str:
    return f'number: "{number}"\nkind: {kind}\ntimezone: {tz}\nlanguage: en\n' \
           f"outbound: {{gateway: trunk}}\n{body}"


def _ext_line(number: str, no_answer: str) -> str:
    return _line(number, f"""\
routing:
  greeting: true
  extension_dialing: {{enabled: true, digit_timeout: 3, ring_time: 12, no_answer: {no_answer}}}
  group: solo
""")


WEEKDAYS_9_18 = """\
    mon: ["09:00-18:00"]
    tue: ["09:00-18:00"]
    wed: ["09:00-18:00"]
    thu: ["09:00-18:00"]
    fri: ["09:00-18:00"]
"""

LINES = {
    "ext-continue": _ext_line("+380441000001", "continue"),
    "ext-forward": _ext_line("+380441000002", "forward_to_phone"),
    "ext-voicemail": _ext_line("+380441000003", "voicemail"),
    "pbx": _line("office-pbx", "routing:\n  sip_to_header: true\n  greeting: false\n  group: solo\n",
                 kind="sip_pbx"),
    "menu": _line("+380441000004", "routing:\n  greeting: false\n  ivr: main\n  group: sales\n"),
    "crm-queue": _line("+380441000005", """\
routing:
  greeting: false
  crm_responsible: {enabled: true, ring_time: 25, no_answer: queue}
  group: solo
"""),
    "crm-forward": _line("+380441000006", """\
routing:
  greeting: false
  crm_responsible: {enabled: true, ring_time: 25, no_answer: forward_to_phone}
  group: solo
"""),
    "crm-voicemail": _line("+380441000007", """\
routing:
  greeting: false
  crm_responsible: {enabled: true, ring_time: 25, no_answer: voicemail}
  group: solo
"""),
    "menu-crm": _line("+380441000013", """\
routing:
  greeting: false
  ivr: main
  crm_responsible: {enabled: true, ring_time: 25, no_answer: queue}
  group: sales
"""),
    "even": _line("+380441000008", "routing:\n  greeting: false\n  group: even\n"),
    "everyone": _line("+380441000009", "routing:\n  greeting: false\n  group: everyone\n"),
    "absent": _line("office-absent", """\
routing:
  sip_to_header: true
  greeting: true
  extension_dialing: {enabled: true, digit_timeout: 3, ring_time: 12, no_answer: forward_to_phone}
  ivr: main
  crm_responsible: {enabled: true, ring_time: 25, no_answer: forward_to_phone}
  group: sales
  skip_absent: true
""", kind="sip_pbx"),
    "kyiv-hours": _line("+380441000010", f"""\
routing:
  greeting: true
  group: solo
working_hours:
  enabled: true
  schedule:
{WEEKDAYS_9_18}  after_hours: voicemail
"""),
    "berlin-hours": _line("+380441000011", f"""\
routing:
  greeting: true
  group: solo
working_hours:
  enabled: true
  schedule:
{WEEKDAYS_9_18}  holidays: ["2026-12-24"]
  holiday_calendar: DE
  after_hours: forward
  forward_to: "+380501112233"
""", tz="Europe/Berlin"),
    "night": _line("+380441000012", """\
routing:
  greeting: false
  group: solo
working_hours:
  enabled: true
  schedule:
    sun: ["04:00-05:00"]
  after_hours: hangup
"""),
}

#: line id -> the number a call dials to reach it
NUMBERS = {name: text.split('"')[1] for name, text in LINES.items()}

#: 10 frames of a silent MPEG-1 layer III mono stream (128 kbit/s, 44.1 kHz): a real MP3
SILENT_MP3 = (b"\xff\xfb\x90\xc4" + bytes(413)) * 10


def write_routing_config(root: Path) -> Path:
    """Write the routing test config at ``root``; returns root."""
    write_config(root, lines=LINES, employees=EMPLOYEES, groups=GROUPS, extra={"ivr.yaml": IVR})
    for name in ("hours.mp3", "support.mp3"):
        (root / name).write_bytes(SILENT_MP3)
    return root


@contextmanager
def routing_engine(tmp_path: Path):
    """The real engine serving the routing config on an ephemeral port (SQLite store)."""
    harness = EngineHarness(write_routing_config(tmp_path / "config"), db_url=f"sqlite:///{tmp_path / 'r.db'}")
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


def at_local(text: str, zone: str = "Europe/Kyiv") -> int:
    """``Caller-Channel-Created-Time`` (µs since the epoch) of local time ``text`` in ``zone``."""
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp() * 1_000_000)


def at_utc(text: str) -> int:
    """``Caller-Channel-Created-Time`` (µs since the epoch) of UTC time ``text``."""
    return int(datetime.fromisoformat(text + "+00:00").timestamp() * 1_000_000)
