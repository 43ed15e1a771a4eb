"""Config rules about files: custom melodies (MP3 by content, inside config/, no spaces),
the built-in prompt set, and the folders fsrouter writes to or FreeSWITCH reads from.

Part of :data:`fsrouter.flow.checks.CHECKS`; same shape: a function of the Draft yielding
ConfigError (or None), named for what it requires.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional

from fsrouter.errors import ConfigError
from fsrouter.flow.draft import IVR_FILE, SETTINGS_FILE, Draft
from fsrouter.flow.melodies import BUILTIN_RATES_HZ, BUILTIN_STAGES, inspect_melody_file, within
from fsrouter.flow.model_base import check_relative_file
from fsrouter.flow.model_line import MELODY_STAGES


def check_melody_file(path: Path, warnings: list[str] | None = None) -> list[str]:
    """Problems with one custom melody / prompt file (empty list: fine), checked by content
    (see ``melodies.inspect_melody_file``: MP3, <= 2 MiB); a stereo file is no problem but
    adds a message to ``warnings`` when given."""
    report = inspect_melody_file(path)
    if warnings is not None:
        warnings.extend(report.warnings)
    return report.problems


def file_problems(draft: Draft, value: str, warnings: list[str] | None = None) -> list[str]:
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
    for problem in file_problems(draft, value, warnings):
        yield draft.error(path, loc, problem)
    draft.warnings.extend(draft.at(path, loc, warning) for warning in warnings)


def check_menu_prompt_files(draft: Draft) -> Iterator[Optional[ConfigError]]:
    for menu in draft.menus.values():
        if menu.prompt != "default":
            yield from _melody_errors(draft, draft.path(IVR_FILE), ("ivr", menu.id, "prompt"), menu.prompt)


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
    """``folders.voicemail`` / ``recordings`` / ``spool`` are each a folder this user may
    write (fsrouter makes the per-line sub-folders, spools call records, deletes old
    recordings), or can be created: the nearest existing parent is a folder this user may
    write. A spool folder that cannot be written loses every record of the next database
    outage. (``qa.record_sessions`` is left out on purpose: a recording folder that fails
    is logged and never fails a call.)"""
    for name in WRITABLE_FOLDERS:
        folder = getattr(draft.settings.folders, name)
        problem = _folder_problem(Path(folder))
        if problem:
            yield draft.at(draft.path(SETTINGS_FILE), ("folders", name), f"{folder} {problem}")


def _folder_problem(folder: Path) -> str | None:
    """Why fsrouter could not use ``folder`` as a working folder, or None."""
    try:
        if folder.exists():
            if not folder.is_dir():
                return "exists and is not a folder"
            return None if os.access(folder, os.W_OK | os.X_OK) else "is not writable by this user"
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
