"""The engine replay runs against: the real App, in-process, walled off from production.

The config folder is copied into a temporary folder whose ``settings.yaml`` points the
writable folders (voicemail, recordings, spool) into that temporary folder, keeps the
sounds folder where it was, and has no ``qa:`` (a replay is never recorded); the store is
a fresh SQLite file there. So a replay never writes a production database, never flushes
a production spool, never creates folders under the real voicemail root.

Time and ids are injected: ``Services.clock`` is a :class:`ReplayClock` (the recorded
call's time plus the transcript's ``t``), and Event-UUIDs and B-leg ids come from a
counter, so a replay is deterministic and runs as fast as the engine can answer.
The engine starts with an empty store: decisions that read live store state (``evenly``
idle order, ``skip_absent``, CRM) see no history.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fsrouter.app import App, Overrides
from fsrouter.flow.graph import END
from fsrouter.flow.loader import load_config
from fsrouter.log import get_logger

_TOP_KEY = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*:")


class ReplayClock:
    """The engine's clock during a replay: ``base`` (the call's arrival) + ``t`` seconds."""

    def __init__(self, base: datetime | None = None):
        self.base = base or datetime(2000, 1, 1, tzinfo=timezone.utc)
        self.t = 0.0

    def start(self, base: datetime) -> None:
        self.base, self.t = base, 0.0

    def at(self, t: float) -> None:
        self.t = max(self.t, t)

    def now(self) -> datetime:
        return self.base + timedelta(seconds=self.t)


class CountingIds:
    """Deterministic UUID-shaped ids: ``00000000-0000-4000-8000-000000000001``, ..."""

    def __init__(self):
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"00000000-0000-4000-8000-{self.n:012d}"


def _strip_top_keys(text: str, keys: set[str]) -> str:
    """Drop top-level YAML blocks ``key: ...`` (the key line and its indented lines)."""
    out, skipping = [], False
    for line in text.splitlines():
        m = _TOP_KEY.match(line)
        if m:
            skipping = m.group("key") in keys
        elif line and not line[0].isspace() and not line.startswith("#"):
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


class Sandbox:
    """The App for ``config_dir`` on 127.0.0.1:<ephemeral>, sealed as the module doc says.

    ``paths``: the replay's folders (for normalising); ``visits``: (line, node id) of every
    flow node entered (for ``--coverage``); ``close()`` stops it and removes the folder.
    """

    def __init__(self, config_dir: str | Path):
        self.source = Path(config_dir).resolve()
        original = load_config(self.source).settings  # raises ConfigInvalid with file:line
        shm = Path("/dev/shm")  # memory-backed where there is one: the sandbox store need not survive
        self.tmp = Path(tempfile.mkdtemp(prefix="fsrouter-replay-", dir=shm if shm.is_dir() else None))
        self.config_dir = self.tmp / "config"
        shutil.copytree(self.source, self.config_dir)
        settings_file = self.config_dir / "settings.yaml"
        text = settings_file.read_text() if settings_file.exists() else ""
        text = _strip_top_keys(text, {"folders", "qa"})
        text += ("folders:\n"
                 f"  voicemail: {self.tmp / 'voicemail'}\n  recordings: {self.tmp / 'recordings'}\n"
                 f"  sounds: {original.folders.sounds}\n  spool: {self.tmp / 'spool'}\n")
        settings_file.write_text(text)
        self.clock = ReplayClock()
        self.ids = CountingIds()
        self.visits: list[tuple[str | None, str]] = []
        self.app = App(self.config_dir, Overrides(db=f"sqlite:///{self.tmp / 'replay.db'}", listen="127.0.0.1:0"),
                       log=get_logger(component="replay"))
        self.app.services.clock = self.clock.now
        self.app.services.new_id = self.ids
        self.app.server.new_id = self.ids
        self.app.engine.run_flow = self._run_flow
        self.app.start()
        self.original_paths = {"config": str(self.source), "voicemail": str(original.folders.voicemail),
                               "recordings": str(original.folders.recordings),
                               "sounds": str(original.folders.sounds)}
        self.paths = {"config": str(self.config_dir), "voicemail": str(self.tmp / "voicemail"),
                      "recordings": str(self.tmp / "recordings"), "sounds": str(original.folders.sounds)}

    @property
    def catalog(self):
        return self.app.catalog

    @property
    def address(self) -> tuple[str, int]:
        return self.app.server.address

    def _run_flow(self, flow, ctx) -> None:
        """Engine.run_flow, noting each node run (same walk: start, run, follow the outcome)."""
        node_id = flow.start
        while node_id != END:
            self.visits.append((ctx.line.id if ctx.line else None, node_id))
            outcome = flow.nodes[node_id].run(ctx)
            node_id = flow.next(node_id, outcome)

    def set_employee_status(self, statuses: dict[str, str] | None) -> None:
        """Employees' workday status as the transcript recorded it (None: leave as is);
        employees it does not name never started their day (absent, as on the live engine)."""
        if statuses is None:
            return
        for employee in self.catalog.config.employees:
            self.app.store.employees.set_status(employee, statuses.get(employee, "ended"))

    def record(self, call_uuid: str):
        """The call record the engine stored for ``call_uuid`` (None if it wrote none)."""
        try:
            return self.app.store.calls.get(call_uuid)
        except Exception:
            return None

    def close(self) -> None:
        try:
            self.app.server.stop(drain_timeout_s=2)
            self.app.recorder.close(timeout_s=1)
            self.app.stop_housekeeping()
            self.app.store.close()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
