"""End-to-end test harness: a small known config, the real engine on an ephemeral port,
and the fake FreeSWITCH dialling in over TCP.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import gevent

from fsrouter.app import App, Overrides
from fsrouter.replay.fakefs import FakeFreeSwitch, Scenario

#: The shipped config/ folder of this checkout.
SHIPPED = Path(__file__).resolve().parents[1] / "config"


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in the file ``path`` with ``new`` (``old`` must be there)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


SETTINGS = """\
listen: 127.0.0.1:8084
country: UA
language: en
drain_timeout: 5
folders:
  voicemail: ../var/voicemail
  recordings: ../var/recordings
  sounds: ../sounds
  spool: ../var/spool
esl:
  reply_timeout: 5
  execute_timeout: 60
  hangup_timeout: 5
"""

EMPLOYEES = """\
employees:
  alice: {name: Alice, extension: "101", endpoint: user/101, phones: ["+380501234567"]}
  bob: {name: Bob, extension: "102", endpoint: user/102, phones: ["+380671112233"]}
  carol: {name: Carol, extension: "103", endpoint: user/103, phones: ["+380931234567"]}
"""

GROUPS = """\
groups:
  sales: {members: [alice, bob, carol], strategy: in_order, ring_time: 20, no_answer: voicemail}
  quiet: {members: [alice], strategy: in_order, ring_time: 15, no_answer: hangup}
"""

LINES = {
    "kyiv": """\
        number: "+380441234567"
        kind: rented
        timezone: Europe/Kyiv
        language: en
        routing:
          greeting: true
          group: sales
    """,
    "quiet": """\
        number: "+380442220000"
        kind: rented
        timezone: Europe/Kyiv
        routing:
          greeting: false
          group: quiet
    """,
}


def write_config(root: Path, *, lines: dict[str, str] | None = None, employees: str = EMPLOYEES,
                 groups: str = GROUPS, settings: str = SETTINGS, extra: dict[str, str] | None = None) -> Path:
    """Write a config folder at ``root`` (lines: id -> YAML text); returns root."""
    (root / "numbers").mkdir(parents=True, exist_ok=True)
    (root / "settings.yaml").write_text(settings)
    (root / "employees.yaml").write_text(employees)
    (root / "groups.yaml").write_text(groups)
    for name, text in (lines or LINES).items():
        (root / "numbers" / f"{name}.yaml").write_text(textwrap.dedent(text))
    for name, text in (extra or {}).items():
        (root / name).write_text(textwrap.dedent(text))
    return root


class EngineHarness:
    """The real App (catalog, store, engine, server) listening on 127.0.0.1:<ephemeral>."""

    def __init__(self, config_dir: Path, *, db_url: str):
        self.app = App(config_dir, Overrides(db=db_url, listen="127.0.0.1:0"))
        self.store = self.app.store

    @property
    def address(self) -> tuple[str, int]:
        return self.app.server.address

    def start(self) -> None:
        self.app.start()

    def stop(self) -> None:
        self.app.shutdown(drain_timeout_s=5)

    def call(self, scenario: Scenario | None = None, **kwargs) -> FakeFreeSwitch:
        """Play one call to its end; returns the fake FreeSWITCH (commands, executed...)."""
        return FakeFreeSwitch(scenario or Scenario(**kwargs)).run(self.address)

    def calls(self, scenarios: list[Scenario]) -> list[FakeFreeSwitch]:
        """Play several calls at once (one greenlet each)."""
        jobs = [gevent.spawn(FakeFreeSwitch(s).run, self.address) for s in scenarios]
        gevent.joinall(jobs, raise_error=True)
        return [j.value for j in jobs]

    def wait_idle(self, timeout_s: float = 5.0) -> bool:
        """Wait until the server has no call greenlet left; True if it got there."""
        self.app.server.calls.join(timeout=timeout_s)
        return self.app.server.active_calls == 0

    def record(self, call_uuid: str):
        """The stored call record, once the engine has written it (it writes after teardown)."""
        return self.store.calls.get(call_uuid)
