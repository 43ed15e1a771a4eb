"""Load and validate a whole config folder into one immutable :class:`Config`.

Files: settings.yaml and ivr.yaml are optional (defaults / no menus); employees.yaml,
groups.yaml and numbers/ with at least one NAME.yaml are required. Every file is parsed
strictly (``yamlsource``), every entry validated on its own (pydantic), then the rules of
``checks`` run over what validated. All problems are collected and raised together.
"""

from __future__ import annotations

import hashlib
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError

from fsrouter.errors import ConfigError, ConfigInvalid
from fsrouter.flow.checks import EMPLOYEES_FILE, GROUPS_FILE, IVR_FILE, Draft, run_checks
from fsrouter.flow.model import Config, Employee, Group, Line, Menu, Settings
from fsrouter.flow.model_base import ID_PATTERN
from fsrouter.flow.yamlsource import YamlDoc, read_yaml

SETTINGS_FILE = "settings.yaml"
NUMBERS_DIR = "numbers"
ID_RE = re.compile(ID_PATTERN)  # ids of lines (file names), employees, groups, menus


def load_config(root: str | Path) -> Config:
    """Load the config folder ``root`` (e.g. "config").

    Returns a Config whose ``root`` is the absolute folder. Raises ConfigInvalid listing
    every ConfigError found, sorted by file then line; error paths are ``root`` as given
    joined with the file's relative path (e.g. "config/numbers/kyiv.yaml").
    """
    draft = _draft(root)
    errors: list[ConfigError] = []
    _load_settings(draft, errors)
    draft.employees = _load_entries(draft, EMPLOYEES_FILE, "employees", Employee, draft.employee_ids, errors)
    draft.groups = _load_entries(draft, GROUPS_FILE, "groups", Group, draft.group_ids, errors)
    draft.menus = _load_entries(draft, IVR_FILE, "ivr", Menu, draft.menu_ids, errors, required=False)
    # a file that could not be read as a whole has its own error: references into it are
    # not reported again (one YAML typo in employees.yaml is one problem, not twenty)
    if draft.employees is None:
        draft.employees, draft.employee_ids = {}, AnyId()
    if draft.groups is None:
        draft.groups, draft.group_ids = {}, AnyId()
    if draft.menus is None:
        draft.menus, draft.menu_ids = {}, AnyId()
    _load_lines(draft, errors)
    errors.extend(run_checks(draft))
    if errors:
        raise ConfigInvalid(sorted(errors, key=lambda e: (e.path, e.line or 0, e.field)))
    try:
        version = folder_version(draft.root, shown=draft.shown)
    except ConfigError as exc:
        raise ConfigInvalid([exc]) from None
    return Config(root=draft.root, settings=draft.settings, employees=draft.employees, groups=draft.groups,
                  menus=draft.menus, lines=draft.lines, version=version,
                  warnings=tuple(sorted(draft.warnings, key=lambda e: (e.path, e.line or 0, e.field))))


#: What a config folder's version covers: the YAML and the melodies (MP3) a call may play.
#: Not anything else kept there (an SQLite database, an editor's backup, notes), which the
#: engine never reads and which would be read in full at every reload.
VERSIONED_SUFFIXES = (".yaml", ".yml", ".mp3")


def folder_version(root: Path, shown: str | None = None) -> str:
    """First 16 hex chars of sha256 over every YAML and MP3 file under ``root``
    (VERSIONED_SUFFIXES): for each, sorted by relative POSIX path, the path, a NUL, the
    size and the bytes.

    A folder or file that cannot be read (permissions) is a ConfigError naming it, joined
    to ``shown`` (the folder as the user named it; default ``root``)."""
    shown = str(root) if shown is None else shown
    digest = hashlib.sha256()
    files = []

    def unreadable(exc: OSError) -> None:
        where = Path(shown, Path(exc.filename).relative_to(root)) if exc.filename else Path(shown)
        raise ConfigError(str(where), None, "", f"cannot read the folder: {exc.strerror or exc}")

    for folder, subfolders, names in os.walk(root, onerror=unreadable):
        subfolders.sort()
        for name in names:
            path = Path(folder, name)
            if name.lower().endswith(VERSIONED_SUFFIXES) and path.is_file():
                files.append((path.relative_to(root).as_posix(), path))
    files.sort()
    for relative, path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(str(Path(shown, relative)), None, "", f"cannot read: {exc.strerror or exc}") from None
        digest.update(f"{relative}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:16]


def _unreadable_folder(folder: Path, shown: str) -> ConfigError | None:
    """A ConfigError when ``folder`` cannot be listed (permissions), else None."""
    try:
        os.listdir(folder)
    except OSError as exc:
        return ConfigError(shown, None, "", f"cannot read the folder: {exc.strerror or exc}")
    return None


# --- one file at a time ------------------------------------------------------------------

def _read(draft: Draft, relative: str, errors: list[ConfigError], required: bool) -> YamlDoc | None:
    path = draft.path(relative)
    if not (draft.root / relative).exists():
        if required:
            errors.append(ConfigError(path, None, "", "required file is missing"))
        return None
    try:
        doc = read_yaml(draft.root / relative, path)
    except ConfigError as exc:
        errors.append(exc)
        return None
    draft.docs[path] = doc
    return doc


def load_settings(root: str | Path) -> Settings:
    """settings.yaml of the config folder ``root`` alone, for commands that only open the
    store (``calls``): a broken line file must not hide the call records while ``serve``
    keeps running on the config it had. Raises ConfigInvalid for settings.yaml's own
    errors (or a missing folder), with the same file:line: field messages as load_config.
    """
    draft = _draft(root)
    errors: list[ConfigError] = []
    _load_settings(draft, errors)
    if errors:
        raise ConfigInvalid(errors)
    return draft.settings


def _draft(root: str | Path) -> Draft:
    """An empty Draft of the folder ``root``; ConfigInvalid when it is missing or unreadable."""
    folder = Path(root)
    draft = Draft(root=folder.resolve(), shown=str(folder))
    if not draft.root.is_dir():
        what = "not a folder (a config folder is expected)" if draft.root.exists() else "no such config folder"
        raise ConfigInvalid([ConfigError(str(folder), None, "", what)])
    unreadable = _unreadable_folder(draft.root, str(folder))
    if unreadable is not None:
        raise ConfigInvalid([unreadable])
    return draft


def _load_settings(draft: Draft, errors: list[ConfigError]) -> None:
    doc = _read(draft, SETTINGS_FILE, errors, required=False)
    data = {} if doc is None or doc.data is None else doc.data
    settings = _validate(draft, Settings, data, doc.path if doc else "", (), errors, {"root": draft.root})
    draft.settings = settings or Settings.model_validate({}, context={"root": draft.root})


class AnyId(set):
    """The ids of a file that could not be read: every reference into it is taken as known."""

    def __contains__(self, item) -> bool:
        return True


def _load_entries(draft: Draft, relative: str, key: str, model: type[BaseModel], ids: set[str],
                  errors: list[ConfigError], required: bool = True) -> dict[str, Any]:
    """Validate each entry of the one top-level mapping ``key`` as ``model`` with id = its key.

    Returns None when the file exists but cannot be read as a whole (its error is in ``errors``).
    """
    doc = _read(draft, relative, errors, required)
    if doc is None:
        return None if (draft.root / relative).exists() else {}
    data = doc.data
    if data is None and not required:
        return {}
    if not isinstance(data, dict) or key not in data:
        errors.append(draft.at(doc.path, (), f"expected a mapping with the one key `{key}:`"))
        return None
    for extra in data.keys() - {key}:
        errors.append(draft.at(doc.path, (extra,), f"unknown key (this file has only `{key}:`)"))
    entries = data[key] or {}
    if not isinstance(entries, dict):
        errors.append(draft.at(doc.path, (key,), "expected a mapping of id -> settings"))
        return {}
    valid = {}
    for ident, body in entries.items():
        if not ID_RE.match(ident):  # checked as written: the model strips spaces and a trailing newline
            # at the entry's own line, under its file's key: the raw name (a newline, say) only in the message
            errors.append(ConfigError(doc.path, doc.line_for((key, ident)), key, f"{ident!r} is not an id (letters, "
                                      "digits, '_', '.', '-'; first a letter or digit)"))
            continue
        ids.add(ident)
        body = _with_injected(draft, doc.path, (key, ident), body, {"id": ident}, errors)
        item = _validate(draft, model, body, doc.path, (key, ident), errors)
        if item is not None:
            valid[ident] = item
    return valid


def _load_lines(draft: Draft, errors: list[ConfigError]) -> None:
    folder = draft.root / NUMBERS_DIR
    unreadable = _unreadable_folder(folder, draft.path(NUMBERS_DIR)) if folder.is_dir() else None
    if unreadable is not None:
        errors.append(unreadable)
        return
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    for stray in sorted(folder.glob("*.yml")) if folder.is_dir() else []:
        errors.append(ConfigError(draft.path(f"{NUMBERS_DIR}/{stray.name}"), None, "", "line files end in .yaml"))
    if not files:
        errors.append(ConfigError(draft.path(NUMBERS_DIR), None, "", "no line files: add numbers/NAME.yaml"))
    for file in files:
        relative = f"{NUMBERS_DIR}/{file.name}"
        ident = file.name[: -len(".yaml")]
        draft.line_ids.add(ident)  # present, even if unreadable: references to it are not reported
        doc = _read(draft, relative, errors, required=True)
        if doc is None:
            continue
        if not ID_RE.match(ident):
            errors.append(ConfigError(doc.path, None, "", "a line file is named NAME.yaml, NAME of letters, "
                                      "digits, '_', '.', '-' (first a letter or digit)"))
            continue
        defaults = {"name": ident, "language": draft.settings.language}
        body = doc.data if doc.data is not None else {}
        body = _with_injected(draft, doc.path, (), body, {"id": ident, "path": doc.path}, errors, defaults)
        try:
            draft.lines[ident] = Line.model_validate(body)
        except ValidationError as exc:
            errors.extend(_convert(draft, doc.path, (), Line, exc))
            partial = _partial_line(body, exc)
            if partial is not None:
                draft.lines[ident], draft.failed[doc.path] = partial


#: Valid stand-ins for required line keys that failed, so the other sections can be checked.
_STAND_INS = {"kind": "rented", "number": "+14155550100", "name": "-", "language": "en", "timezone": "UTC"}


def _partial_line(body: Any, exc: ValidationError) -> tuple[Line, frozenset[str]] | None:
    """The line with its failed top-level keys set aside (stand-ins or defaults), and those
    keys; None when the file as a whole is unusable. Only the cross-checks see it."""
    locs = [e["loc"] for e in exc.errors()]
    if not isinstance(body, dict) or any(not loc or not isinstance(loc[0], str) for loc in locs):
        return None
    failed = {loc[0] for loc in locs} | ({"number"} if any(loc[0] == "kind" for loc in locs) else set())
    kept = {k: v for k, v in body.items() if k not in failed}
    kept.update({k: v for k, v in _STAND_INS.items() if k in failed})
    try:
        line = Line.model_validate(kept)
    except ValidationError:
        return None
    if "number" in failed:  # never equal to another line's number
        line = line.model_copy(update={"number": f"invalid:{line.id}"})
    return line, frozenset(failed)


def _with_injected(draft: Draft, path: str, loc: tuple, body: Any, fixed: dict, errors: list[ConfigError],
                   defaults: dict | None = None) -> Any:
    """``body`` plus the keys the loader owns (``fixed``: id, path) and defaults; a ``fixed``
    key written in the YAML is an error (the file or mapping key names the entry)."""
    if not isinstance(body, dict):
        return body
    for name in fixed.keys() & body.keys():
        errors.append(draft.at(path, loc + (name,), f"unknown key: the {name} comes from the "
                                  f"{'file name' if not loc else 'mapping key'}"))
    return {**(defaults or {}), **body, **fixed}


def _validate(draft: Draft, model: type[BaseModel], data: Any, path: str, loc: tuple,
              errors: list[ConfigError], context: dict | None = None) -> Any:
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        errors.extend(_convert(draft, path, loc, model, exc))
        return None


# --- pydantic errors -> ConfigError -----------------------------------------------------

_MESSAGES = {
    "missing": "required key is missing",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "dict_type": "expected a mapping",
    "tuple_type": "expected a list",
}


def _convert(draft: Draft, path: str, prefix: tuple, model: type[BaseModel], exc: ValidationError) -> Iterable[ConfigError]:
    for err in exc.errors(include_url=False):
        loc, is_key = [], False
        for part in err["loc"]:
            if part == "[key]":
                is_key = True
            elif isinstance(part, int) or not (part.startswith(("function-", "tagged-union[")) or "[" in part):
                loc.append(part)
        message = _MESSAGES.get(err["type"], err["msg"])
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            message = "unknown key" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
        elif err["type"] == "value_error":
            message = err["msg"].removeprefix("Value error, ")
        if is_key:
            message = f"key {loc[-1]!r}: {message}" if loc else message
        yield draft.at(path, prefix + tuple(loc), message)


def _allowed_keys(model: Any, loc: list) -> list[str]:
    """The YAML keys of the model reached by ``loc`` from ``model`` ([] if not a model)."""
    current = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return []
            current = field.annotation
        else:  # a container: the part is an index or a mapping key
            args = typing.get_args(current)
            if not args:
                return []
            current = args[0] if typing.get_origin(current) is tuple else args[-1]
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [name for name in current.model_fields if name not in ("id", "path")]
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and Optional[...] around a type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation
