"""The whole config folder as one immutable object, with the lookups the engine needs.

Built only by ``fsrouter.flow.loader.load_config``; a reload builds a new one and swaps
one reference, so a call keeps the configuration it started with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Mapping

from fsrouter.flow.phone import normalize

if TYPE_CHECKING:  # pragma: no cover
    from fsrouter.flow.model import Employee, Group, Menu, Settings
    from fsrouter.flow.model_line import Line


@dataclass(frozen=True, eq=False)
class Config:
    """A validated configuration folder.

    root: the config folder (absolute); employees / groups / menus / lines: read-only
    mappings id -> model; version: first 16 hex chars of the sha256 over every file under
    root (relative path and bytes, sorted by path), so it changes exactly when a file does;
    warnings: ConfigErrors that do not refuse the folder (e.g. a stereo melody), sorted.
    """

    root: Path
    settings: "Settings"
    employees: Mapping[str, "Employee"]
    groups: Mapping[str, "Group"]
    menus: Mapping[str, "Menu"]
    lines: Mapping[str, "Line"]
    version: str
    warnings: tuple = ()
    _by_number: Mapping[str, "Line"] = field(init=False, repr=False)
    _by_extension: Mapping[str, "Employee"] = field(init=False, repr=False)
    _by_prefix: tuple[tuple[str, "Line"], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("employees", "groups", "menus", "lines"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        by_number = {line.number: line for line in self.lines.values()}
        by_extension = {e.extension: e for e in self.employees.values()}
        prefixes = [(l.outbound.prefix, l) for l in self.lines.values()
                    if l.outbound.prefix and l.outbound.selectable]  # selectable: false is never picked
        object.__setattr__(self, "_by_number", MappingProxyType(by_number))
        object.__setattr__(self, "_by_extension", MappingProxyType(by_extension))
        object.__setattr__(self, "_by_prefix", tuple(sorted(prefixes, key=lambda p: -len(p[0]))))

    def line_for_number(self, number: str) -> "Line | None":
        """The line whose ``number`` is ``number`` (the dialed DID), or None.

        Matches exactly first (also a sip_pbx connection name), then after normalising
        ``number`` to E.164 with ``settings.country``: "0441234567", "380441234567" and
        "00380441234567" all find "+380441234567" when the country is UA.
        """
        line = self._by_number.get(number)
        if line is None and number:
            e164 = normalize(number, self.settings.country)
            line = self._by_number.get(e164) if e164 else None
        return line

    def employee_by_extension(self, ext: str) -> "Employee | None":
        """The employee with internal extension ``ext`` (digits), or None."""
        return self._by_extension.get(ext)

    def outbound_line_for(self, dialed: str) -> "tuple[Line, str] | None":
        """The line whose ``outbound.prefix`` starts ``dialed`` and the rest of the dialed
        string with the prefix stripped, e.g. "*123*380954558888" -> (line, "380954558888");
        None when no prefix matches. Lines with ``outbound.selectable: false`` are never
        chosen by their prefix (number-settings.md §5)."""
        for prefix, line in self._by_prefix:
            if dialed.startswith(prefix):
                return line, dialed[len(prefix):]
        return None

    def resolve(self, relative: str) -> str:
        """A file named relative to the config folder (a melody, a menu prompt) as an absolute path."""
        return str(self.root / relative)

    def melody_path(self, line: "Line", stage: str) -> str | None:
        """The file configured for ``stage`` of ``line`` (greeting, hold, recording_warning,
        voicemail, after_hours, rating) as an absolute path, or None for `default` (the
        built-in melody in ``line.language``). Unknown stage: ValueError."""
        if stage not in type(line.melodies).model_fields:
            raise ValueError(f"unknown melody stage {stage!r}")
        value = getattr(line.melodies, stage)
        return None if value == "default" else self.resolve(value)
