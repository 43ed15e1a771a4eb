"""The config being loaded, as the rules see it: every file's models, ids and YAML lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from fsrouter.errors import ConfigError
from fsrouter.flow.model import Employee, Group, Line, Menu, Settings
from fsrouter.flow.yamlsource import YamlDoc, dotted

EMPLOYEES_FILE = "employees.yaml"
GROUPS_FILE = "groups.yaml"
IVR_FILE = "ivr.yaml"
SETTINGS_FILE = "settings.yaml"


@dataclass
class Draft:
    """Everything loaded so far. ``*_ids``: every id present in the YAML, valid or not.

    root: the config folder (absolute); shown: the folder as the caller named it, used to
    build the file paths in errors; docs: parsed files by shown path; warnings: located
    like errors, they do not refuse the config (e.g. a stereo melody).
    """

    root: Path
    shown: str
    docs: dict[str, YamlDoc] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    employees: dict[str, Employee] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    menus: dict[str, Menu] = field(default_factory=dict)
    lines: dict[str, Line] = field(default_factory=dict)
    employee_ids: set[str] = field(default_factory=set)
    group_ids: set[str] = field(default_factory=set)
    menu_ids: set[str] = field(default_factory=set)
    line_ids: set[str] = field(default_factory=set)
    failed: dict[str, frozenset[str]] = field(default_factory=dict)
    warnings: list[ConfigError] = field(default_factory=list)

    def path(self, relative: str) -> str:
        """The file as named in errors: the config folder as given, then ``relative``."""
        return str(Path(self.shown, relative))

    def at(self, path: str, loc: Sequence, message: str) -> ConfigError:
        """A ConfigError at the YAML line of ``loc`` (longest existing prefix) in ``path``."""
        doc = self.docs.get(path)
        return ConfigError(path, doc.line_for(loc) if doc else None, dotted(loc), message)

    def error(self, path: str, loc: Sequence, message: str, reads: Sequence[str] = ()) -> ConfigError | None:
        """Like :meth:`at`, for a rule; None when the rule relied on a top-level key of
        ``path`` that failed validation (``loc[0]`` and ``reads``): that is reported already."""
        if self.failed.get(path, frozenset()) & {*loc[:1], *reads}:
            return None
        return self.at(path, loc, message)
