"""Cross-file and cross-field rules, run after every file has been validated on its own.

Each rule is a small function named for what it requires, taking the :class:`Draft` and
yielding ConfigError(path, line, field, message) (or None: suppressed); :data:`CHECKS`
lists them in order and :func:`run_checks` runs them all. Rules see the models that
validated, and lines that validated once their failed top-level keys were set aside
(``Draft.failed``), so a file's every problem shows at once without consequential noise.
A reference to an entry that exists in the YAML but failed validation is not reported.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Optional, Sequence

import phonenumbers

from fsrouter.errors import ConfigError
from fsrouter.flow.model import Line
from fsrouter.flow.phone import country_code_prefix, normalize
from fsrouter.flow.checks_files import (  # noqa: F401  (check_melody_file: part of the API)
    file_problems, check_builtin_melodies_are_installed, check_melody_file, check_melody_files_exist,
    check_menu_prompt_files, check_paths_sent_to_freeswitch_have_no_whitespace,
    check_working_folders_are_usable,
)
from fsrouter.flow.draft import EMPLOYEES_FILE, GROUPS_FILE, IVR_FILE, SETTINGS_FILE, Draft

__all__ = ["CHECKS", "Draft", "EMPLOYEES_FILE", "GROUPS_FILE", "IVR_FILE", "SETTINGS_FILE",
           "check_melody_file", "run_checks"]


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
                for problem in file_problems(draft, action.target or ""):
                    yield draft.error(draft.path(IVR_FILE), where, problem)


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


def check_no_call_is_sent_back_to_its_own_line(draft: Draft) -> Iterator[Optional[ConfigError]]:
    """A backup number must not be one of our own DIDs (FreeSWITCH uses it when fsrouter
    cannot be reached, and the call would come straight back to the unreachable engine),
    and a line's after-hours forward must not be its own DID (a loop that ties up trunk
    channels). Group forwards and employees' phones may name another line: a warning."""
    dids = {line.number: line for line in draft.lines.values() if line.number.startswith("+")}
    glob = draft.settings.backup
    if glob is not None and glob.number in dids:
        yield draft.at(draft.path(SETTINGS_FILE), ("backup", "number"),
                       f"{glob.number} is the number of {dids[glob.number].path}: a backup must be "
                       "reachable without fsrouter")
    for line in draft.lines.values():
        if line.backup is not None and line.backup.number in dids:
            yield draft.error(line.path, ("backup", "number"),
                              f"{line.backup.number} is the number of {dids[line.backup.number].path}: a backup "
                              "must be reachable without fsrouter")
        if line.working_hours.forward_to and line.working_hours.forward_to == line.number:
            yield draft.error(line.path, ("working_hours", "forward_to"),
                              f"{line.number} is this line's own number: the forward would loop")
    for group_id, group in draft.groups.items():
        if group.forward_to in dids:
            draft.warnings.append(draft.at(draft.path(GROUPS_FILE), ("groups", group_id, "forward_to"),
                                           f"{group.forward_to} is the number of {dids[group.forward_to].path}: "
                                           "calls forwarded there start that line's routing again"))
    for employee_id, employee in draft.employees.items():
        for n, phone in enumerate(employee.phones):
            if phone in dids:
                draft.warnings.append(draft.at(draft.path(EMPLOYEES_FILE), ("employees", employee_id, "phones", n),
                                               f"{phone} is the number of {dids[phone].path}, not a phone of "
                                               f"{employee_id}'s"))


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
    check_no_call_is_sent_back_to_its_own_line,
)


def run_checks(draft: Draft, checks: Sequence[Check] = CHECKS) -> list[ConfigError]:
    """Run every rule over ``draft``; return all the errors found (unsorted)."""
    return [error for check in checks for error in check(draft) if error is not None]
