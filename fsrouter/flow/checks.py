"""Cross-file and cross-field rules, run after every file has been validated on its own.

Each rule is a small function named for what it requires, taking the :class:`Draft` and
yielding ConfigError(path, line, field, message) (or None: suppressed); :data:`CHECKS`
lists them in order and :func:`run_checks` runs them all. Rules see the models that
validated, and lines that validated once their failed top-level keys were set aside
(``Draft.failed``), so a file's every problem shows at once without consequential noise.
A reference to an entry that exists in the YAML but failed validation is not reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence

import phonenumbers

from fsrouter.errors import ConfigError
from fsrouter.flow.model import Employee, Group, Line, Menu, Settings
from fsrouter.flow.model_base import check_relative_file
from fsrouter.flow.melodies import BUILTIN_RATES_HZ, BUILTIN_STAGES, inspect_melody_file, within
from fsrouter.flow.model_line import MELODY_STAGES
from fsrouter.flow.phone import country_code_prefix, normalize
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


def check_melody_file(path: Path, warnings: list[str] | None = None) -> list[str]:
    """Problems with one custom melody / prompt file (empty list: fine), checked by content
    (see ``melodies.inspect_melody_file``: MP3, <= 2 MiB); a stereo file is no problem but
    adds a message to ``warnings`` when given."""
    report = inspect_melody_file(path)
    if warnings is not None:
        warnings.extend(report.warnings)
    return report.problems


def _file_problems(draft: Draft, value: str, warnings: list[str] | None = None) -> list[str]:
    try:
        check_relative_file(value)
    except ValueError as exc:
        return [str(exc)]
    if not within(draft.root, draft.root / value):
        return [f"{value!r} leads outside the config folder (a symlink?)"]
    if _has_space(str(draft.root / value)):
        return [f"{draft.root / value} contains whitespace: FreeSWITCH splits application arguments "
                "(play_and_get_digits, record) at spaces"]
    return check_melody_file(draft.root / value, warnings)


def _has_space(text: str) -> bool:
    return any(c.isspace() for c in text)


def _melody_errors(draft: Draft, path: str, loc: tuple, value: str) -> Iterator[Optional[ConfigError]]:
    """Errors for the custom melody ``value`` written at ``loc`` of ``path``; records its warnings."""
    warnings: list[str] = []
    for problem in _file_problems(draft, value, warnings):
        yield draft.error(path, loc, problem)
    draft.warnings.extend(draft.at(path, loc, warning) for warning in warnings)


# --- employees and groups -------------------------------------------------------------------

def check_extensions_are_not_line_numbers(draft: Draft) -> Iterator[Optional[ConfigError]]:
    """An extension that is a line's DID in national or international form would send
    employees' calls to that line's dialplan extension instead of to the colleague."""
    numbers = {line.number: line.id for line in draft.lines.values() if line.number.startswith("+")}
    path = draft.path(EMPLOYEES_FILE)
    for emp in draft.employees.values():
        e164 = normalize(emp.extension, draft.settings.country)
        if e164 in numbers:
            yield draft.at(path, ("employees", emp.id, "extension"),
                           f"{emp.extension!r} is the number of line {numbers[e164]!r} ({e164}); "
                           "extensions must not be dialable as a line's DID")


def check_employee_extensions_are_unique(draft: Draft) -> Iterator[Optional[ConfigError]]:
    path, seen = draft.path(EMPLOYEES_FILE), {}
    for emp in draft.employees.values():
        if emp.extension in seen:
            yield draft.error(path, ("employees", emp.id, "extension"),
                              f"extension {emp.extension} is also {seen[emp.extension]}'s")
        seen.setdefault(emp.extension, emp.id)


def check_employee_default_line_exists(draft: Draft) -> Iterator[Optional[ConfigError]]:
    for emp in draft.employees.values():
        if emp.default_line and emp.default_line not in draft.line_ids:
            yield draft.error(draft.path(EMPLOYEES_FILE), ("employees", emp.id, "default_line"),
                              f"no line {emp.default_line!r} (numbers/{emp.default_line}.yaml)")


def check_group_members_exist(draft: Draft) -> Iterator[Optional[ConfigError]]:
    for group in draft.groups.values():
        for i, member in enumerate(group.members):
            if member not in draft.employee_ids:
                yield draft.error(draft.path(GROUPS_FILE), ("groups", group.id, "members", i),
                                  f"no employee {member!r} in employees.yaml")


def check_group_forward_has_number(draft: Draft) -> Iterator[Optional[ConfigError]]:
    for group in draft.groups.values():
        if group.no_answer == "forward" and not group.forward_to:
            yield draft.error(draft.path(GROUPS_FILE), ("groups", group.id, "no_answer"),
                              "no_answer: forward needs forward_to (an E.164 number)")


# --- menus ---------------------------------------------------------------------------------

def check_menu_targets_exist(draft: Draft) -> Iterator[Optional[ConfigError]]:
    known = {"menu": (draft.menu_ids, "menu", "ivr.yaml"), "group": (draft.group_ids, "group", "groups.yaml"),
             "employee": (draft.employee_ids, "employee", "employees.yaml"),
             "voicemail": (draft.employee_ids, "employee", "employees.yaml")}
    for menu in draft.menus.values():
        actions = [(("keys", k), a) for k, a in menu.keys.items()]
        actions += [((slot,), getattr(menu, slot)) for slot in ("on_timeout", "on_invalid") if getattr(menu, slot)]
        for loc, action in actions:
            where = ("ivr", menu.id) + loc
            if action.kind in known:
                ids, what, file = known[action.kind]
                if action.target not in ids:
                    yield draft.error(draft.path(IVR_FILE), where, f"no {what} {action.target!r} in {file}")
            elif action.kind == "play":
                for problem in _file_problems(draft, action.target or ""):
                    yield draft.error(draft.path(IVR_FILE), where, problem)


def check_menu_prompt_files(draft: Draft) -> Iterator[Optional[ConfigError]]:
    for menu in draft.menus.values():
        if menu.prompt != "default":
            yield from _melody_errors(draft, draft.path(IVR_FILE), ("ivr", menu.id, "prompt"), menu.prompt)


# --- lines ---------------------------------------------------------------------------------

def check_routing_targets_exist(draft: Draft) -> Iterator[Optional[ConfigError]]:
    for line in draft.lines.values():
        if line.routing.group and line.routing.group not in draft.group_ids:
            yield draft.error(line.path, ("routing", "group"), f"no group {line.routing.group!r} in groups.yaml")
        if line.routing.ivr and line.routing.ivr not in draft.menu_ids:
            yield draft.error(line.path, ("routing", "ivr"), f"no menu {line.routing.ivr!r} in ivr.yaml")


def check_extension_dialing_needs_greeting(draft: Draft) -> Iterator[Optional[ConfigError]]:
    for line in draft.lines.values():
        if line.routing.extension_dialing.enabled and not line.routing.greeting:
            yield draft.error(line.path, ("routing", "extension_dialing", "enabled"),
                              "extension dialing happens during the greeting: it needs routing.greeting: true")


def check_sip_to_header_only_on_sip_pbx(draft: Draft) -> Iterator[Optional[ConfigError]]:
    for line in draft.lines.values():
        if line.routing.sip_to_header and line.kind != "sip_pbx":
            yield draft.error(line.path, ("routing", "sip_to_header"),
                              f"only for kind: sip_pbx lines (this one is {line.kind})", reads=("kind",))


def check_after_hours_forward_has_number(draft: Draft) -> Iterator[Optional[ConfigError]]:
    for line in draft.lines.values():
        if line.working_hours.after_hours == "forward" and not line.working_hours.forward_to:
            yield draft.error(line.path, ("working_hours", "after_hours"),
                              "after_hours: forward needs working_hours.forward_to (an E.164 number)")


def check_line_numbers_are_unique(draft: Draft) -> Iterator[Optional[ConfigError]]:
    seen: dict[str, Line] = {}
    for line in draft.lines.values():
        if line.number in seen:
            yield draft.error(line.path, ("number",), f"{line.number} is already the number of {seen[line.number].path}")
        seen.setdefault(line.number, line)


def check_outbound_employees_exist(draft: Draft) -> Iterator[Optional[ConfigError]]:
    for line in draft.lines.values():
        for i, emp in enumerate(line.outbound.allowed_employees):
            if emp not in draft.employee_ids:
                yield draft.error(line.path, ("outbound", "allowed_employees", i), f"no employee {emp!r} in employees.yaml")


def check_prefix_is_not_a_country_code(draft: Draft) -> Iterator[Optional[ConfigError]]:
    for line in draft.lines.values():
        prefix = line.outbound.prefix
        code = country_code_prefix(prefix) if prefix and prefix.isdigit() else None
        if code:
            yield draft.error(line.path, ("outbound", "prefix"),
                              f"{prefix!r} starts with country calling code +{code}: a number could be "
                              f"taken for the prefix; use '*' or '#' (e.g. *{prefix}*) or another code")


def national_dialing_prefixes(region: str) -> tuple[str, ...]:
    """What numbers dialed in ``region`` may start with besides a country code: "0" (the
    trunk prefix of national numbers and the start of the exit code "00" in most of the
    world) and the region's own trunk and exit prefixes from ``phonenumbers``' metadata
    (e.g. RU: "8" and "810", US: "1" and "011")."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    found = {"0"}
    for value in (meta.national_prefix, meta.international_prefix) if meta else ():
        if value and value.isdigit():
            found.add(value)
    return tuple(sorted(found))


def check_prefix_is_not_a_national_dialing_prefix(draft: Draft) -> Iterator[Optional[ConfigError]]:
    """A digits-only prefix must not start like a national or international number dialed
    at home: "044" would take every Kyiv number (0441234567) for the prefix."""
    region = draft.settings.country
    starts = national_dialing_prefixes(region)
    for line in draft.lines.values():
        prefix = line.outbound.prefix
        if not prefix or not prefix.isdigit() or country_code_prefix(prefix):
            continue  # a country code is reported by check_prefix_is_not_a_country_code
        hit = next((s for s in starts if prefix.startswith(s) or s.startswith(prefix)), None)
        if hit:
            yield draft.error(line.path, ("outbound", "prefix"),
                              f"{prefix!r} starts like a number dialed in {region} ({hit!r}: trunk or exit "
                              f"prefix): a national number could be taken for the prefix; use '*' or '#' "
                              f"(e.g. *{prefix}*) or digits such as 801")


def check_prefixes_do_not_overlap(draft: Draft) -> Iterator[Optional[ConfigError]]:
    taken: list[Line] = []
    for line in draft.lines.values():
        prefix = line.outbound.prefix
        if not prefix:
            continue
        for other in taken:
            theirs = other.outbound.prefix or ""
            if prefix.startswith(theirs) or theirs.startswith(prefix):
                how = "is the same as" if prefix == theirs else "overlaps"
                yield draft.error(line.path, ("outbound", "prefix"),
                                  f"{prefix!r} {how} the prefix {theirs!r} of {other.path}")
                break
        taken.append(line)


def check_outbound_line_has_a_gateway(draft: Draft) -> Iterator[Optional[ConfigError]]:
    """Employees' calls leave through ``outbound.gateway``: a line that a prefix can pick
    (selectable) or that is someone's ``default_line`` needs one."""
    defaults: dict[str, list[str]] = {}
    for emp in draft.employees.values():
        if emp.default_line:
            defaults.setdefault(emp.default_line, []).append(emp.id)
    for line in draft.lines.values():
        if line.outbound.gateway:
            continue
        if line.outbound.selectable and line.outbound.prefix:
            yield draft.error(line.path, ("outbound", "gateway"),
                              f"the prefix {line.outbound.prefix!r} dials out through outbound.gateway: set it")
        elif line.id in defaults:
            yield draft.error(line.path, ("outbound", "gateway"),
                              f"default line of {', '.join(defaults[line.id])}: their calls dial out "
                              "through outbound.gateway: set it")


def check_melody_files_exist(draft: Draft) -> Iterator[Optional[ConfigError]]:
    """Every custom melody of a line is an MP3 inside config/ (content checked, <= 2 MiB)."""
    for line in draft.lines.values():
        for stage in MELODY_STAGES:
            value = getattr(line.melodies, stage)
            if value != "default":
                yield from _melody_errors(draft, line.path, ("melodies", stage), value)


def check_builtin_melodies_are_installed(draft: Draft) -> Iterator[Optional[ConfigError]]:
    """Warn (FreeSWITCH may see the folder on another host) when settings ``folders.sounds``
    lacks a built-in prompt in a language a line uses; never an error."""
    root = draft.settings.folders.sounds
    where = (draft.path(SETTINGS_FILE), ("folders", "sounds"))
    if not root.is_dir():
        draft.warnings.append(draft.at(*where, f"{root} is not a folder here: FreeSWITCH must find "
                                                 "the built-in prompts under that path"))
        return
    languages = sorted({line.language for line in draft.lines.values()})
    missing = [f"{language}/{stage}" for language in languages for stage in BUILTIN_STAGES
               if not any((root / language / str(rate) / f"{stage}.wav").is_file() for rate in BUILTIN_RATES_HZ)]
    if missing:
        draft.warnings.append(draft.at(*where, f"{root} lacks built-in prompts: {', '.join(missing[:5])}"
                                                 + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")))
    yield from ()


#: settings.yaml folders fsrouter writes to, created on first use.
WRITABLE_FOLDERS = ("voicemail", "recordings", "spool")


def check_working_folders_are_usable(draft: Draft) -> Iterator[Optional[ConfigError]]:
    """``folders.voicemail`` / ``recordings`` / ``spool`` are each a folder, or can be created:
    the nearest existing parent is a folder this user may write. (``qa.record_sessions`` is
    left out on purpose: a recording folder that fails is logged and never fails a call.)"""
    for name in WRITABLE_FOLDERS:
        folder = getattr(draft.settings.folders, name)
        problem = _folder_problem(Path(folder))
        if problem:
            yield draft.at(draft.path(SETTINGS_FILE), ("folders", name), f"{folder} {problem}")


def _folder_problem(folder: Path) -> str | None:
    """Why fsrouter could not use ``folder`` as a working folder, or None."""
    try:
        if folder.exists():
            return None if folder.is_dir() else "exists and is not a folder"
        parent = folder.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    except OSError as exc:  # e.g. a parent that cannot be searched
        return f"cannot be checked: {exc.strerror or exc}"
    if not parent.is_dir():
        return f"cannot be created: {parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: {parent} is not writable"
    return None


def check_paths_sent_to_freeswitch_have_no_whitespace(draft: Draft) -> Iterator[Optional[ConfigError]]:
    """Folders whose files FreeSWITCH opens (prompts, voicemail, recordings) and their
    ``freeswitch_paths`` mounts: no whitespace, because FreeSWITCH splits the arguments of
    ``record``, ``play_and_get_digits`` and ``multiset`` at spaces."""
    where = draft.path(SETTINGS_FILE)
    for name in ("voicemail", "recordings", "sounds"):
        folder = str(getattr(draft.settings.folders, name))
        if _has_space(folder):
            yield draft.at(where, ("folders", name), f"{folder!r} contains whitespace: FreeSWITCH splits "
                                                     "application arguments at spaces; use a path without")
    for local, remote in draft.settings.freeswitch_paths.items():
        if _has_space(remote):
            yield draft.at(where, ("freeswitch_paths", local), f"{remote!r} contains whitespace: FreeSWITCH "
                                                               "splits application arguments at spaces")


def check_backup_has_a_gateway(draft: Draft) -> Iterator[Optional[ConfigError]]:
    """The FreeSWITCH dialplan bridges to a backup number through a gateway: the backup's
    own, else the line's outbound.gateway (also for the global backup of settings.yaml)."""
    glob = draft.settings.backup
    for line in draft.lines.values():
        backup = line.backup or glob
        if backup is not None and not backup.gateway and not line.outbound.gateway:
            where = "backup.gateway" if line.backup else "settings.yaml backup.gateway"
            yield draft.error(line.path, ("backup",) if line.backup else ("number",),
                              f"the backup number {backup.number} needs a gateway: set {where} "
                              "or outbound.gateway", reads=("outbound",))


Check = Callable[[Draft], Iterable[Optional[ConfigError]]]

#: Every rule, run in this order by :func:`run_checks`.
CHECKS: tuple[Check, ...] = (
    check_employee_extensions_are_unique,
    check_extensions_are_not_line_numbers,
    check_employee_default_line_exists,
    check_group_members_exist,
    check_group_forward_has_number,
    check_menu_targets_exist,
    check_menu_prompt_files,
    check_routing_targets_exist,
    check_extension_dialing_needs_greeting,
    check_sip_to_header_only_on_sip_pbx,
    check_after_hours_forward_has_number,
    check_line_numbers_are_unique,
    check_outbound_employees_exist,
    check_prefix_is_not_a_country_code,
    check_prefix_is_not_a_national_dialing_prefix,
    check_prefixes_do_not_overlap,
    check_outbound_line_has_a_gateway,
    check_melody_files_exist,
    check_builtin_melodies_are_installed,
    check_backup_has_a_gateway,
    check_working_folders_are_usable,
    check_paths_sent_to_freeswitch_have_no_whitespace,
)


def run_checks(draft: Draft, checks: Sequence[Check] = CHECKS) -> list[ConfigError]:
    """Run every rule over ``draft``; return all the errors found (unsorted)."""
    return [error for check in checks for error in check(draft) if error is not None]
