"""Typed, immutable configuration models; attribute names are the YAML keys.

settings.yaml -> :class:`Settings`; employees.yaml -> :class:`Employee` per entry;
groups.yaml -> :class:`Group`; ivr.yaml -> :class:`Menu` (keys -> :class:`MenuAction`);
numbers/NAME.yaml -> :class:`Line` (in ``model_line``); the whole folder -> :class:`Config`
(in ``model_folder``). Everything is re-exported here: import models from this module.
Durations are seconds; phone numbers E.164. Build them with ``fsrouter.flow.loader``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, Optional

from pydantic import AfterValidator, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

from fsrouter.flow.model_base import E164, Backup, FileRef, Frozen, Id, QaSettings, ReadOnly, RingTime, Seconds
from fsrouter.flow.model_crm import CrmWebhook
from fsrouter.flow.model_folder import Config
from fsrouter.flow.model_line import (
    LANGUAGES,
    MELODY_STAGES,
    Callback,
    Crm,
    CrmResponsible,
    ExtensionDialing,
    Interval,
    Line,
    Melodies,
    Outbound,
    Rating,
    Recording,
    Routing,
    WorkingHours,
)
from fsrouter.dburl import url_kind
from fsrouter.flow.phone import is_region

__all__ = [
    "Backup", "Callback", "Config", "Crm", "CrmResponsible", "Employee", "EslSettings",
    "ExtensionDialing", "Folders", "Group", "Interval", "LANGUAGES", "Line", "LogSettings",
    "MELODY_STAGES", "Melodies", "Menu", "MenuAction", "Outbound", "Rating", "Recording",
    "Routing", "Settings", "WorkingHours",
]


# --- settings.yaml ---------------------------------------------------------------------

def check_host_port(value: str) -> str:
    """Return ``value`` if it is "HOST:PORT" (port 1..65535); else ValueError."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT (port 1..65535)")
    return value


class Folders(Frozen):
    """Working folders. Relative paths are resolved against the config folder at load time."""

    model_config = ConfigDict(validate_default=True)

    voicemail: Path = Path("../var/voicemail")
    recordings: Path = Path("../var/recordings")
    sounds: Path = Path("../sounds")
    spool: Path = Path("../var/spool")

    @field_validator("*", mode="after")
    @classmethod
    def _resolve(cls, value: Path, info: ValidationInfo) -> Path:
        root = (info.context or {}).get("root")
        return Path(root, value).resolve() if root is not None else value


#: The longest wait a settings.yaml timeout may name, in seconds (a day).
MAX_TIMEOUT_S = 86_400


def _bounded_timeout(allow_zero: bool):
    def check(value: float) -> float:
        low_ok = value >= 0 if allow_zero else value > 0
        if not (math.isfinite(value) and low_ok and value <= MAX_TIMEOUT_S):
            low = "0 <=" if allow_zero else "0 <"
            raise ValueError(f"{value:g} s is out of range: seconds, {low} t <= {MAX_TIMEOUT_S} (a day)")
        return value
    return AfterValidator(check)


def _check_db_url(url: str) -> str:
    """``url`` if the store would take it (fsrouter.dburl; no I/O), else ValueError."""
    url_kind(url)
    return url


#: A settings.yaml wait in seconds, 0 < t <= MAX_TIMEOUT_S.
Timeout = Annotated[float, _bounded_timeout(allow_zero=False)]


class EslSettings(Frozen):
    """Event-socket waits, in seconds: a command reply, an executed application, hangup.

    inbound: "HOST:PORT" of FreeSWITCH's inbound event socket, used to originate callbacks
    (None: callback requests are stored but not dialed); password: its ``auth`` password
    (the environment's FSROUTER_ESL_PASSWORD wins; never logged, hidden in repr).
    """

    reply_timeout: Timeout = 5
    execute_timeout: Timeout = 3600
    hangup_timeout: Timeout = 10
    inbound: Optional[Annotated[str, AfterValidator(check_host_port)]] = None
    password: Optional[SecretStr] = None


class LogSettings(Frozen):
    """Log level and format (console: key=value lines; json: one object per line)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["console", "json"] = "console"


class Settings(Frozen):
    """settings.yaml: every key optional. Environment overrides are applied by the CLI.

    listen: "HOST:PORT" of the outbound event socket server; db: store URL (sqlite:/// or
    postgresql://); max_calls: concurrent calls, beyond it new calls are refused;
    drain_timeout: s to let calls finish on stop; country: ISO region used to read national
    numbers; language: default language of lines that set none; backup: global backup number;
    engines: "HOST:PORT" of every fsrouter engine, in the order the generated FreeSWITCH
    dialplan tries them (empty: just ``listen``); freeswitch_paths: local absolute folder ->
    the same folder on FreeSWITCH's host, for paths fsrouter sends it (flow.fspaths).
    """

    listen: str = "127.0.0.1:8084"
    db: Annotated[str, AfterValidator(_check_db_url)] = "sqlite:///fsrouter.db"
    max_calls: int = Field(1000, ge=1)
    drain_timeout: Annotated[float, _bounded_timeout(allow_zero=True)] = 30
    country: str = "UA"
    language: Literal[LANGUAGES] = "en"  # type: ignore[valid-type]
    folders: Folders = Field(default_factory=Folders)
    esl: EslSettings = Field(default_factory=EslSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    backup: Optional[Backup] = None
    qa: QaSettings = Field(default_factory=QaSettings)
    engines: tuple[Annotated[str, AfterValidator(check_host_port)], ...] = ()
    crm_webhook: Optional[CrmWebhook] = None  # where CRM cards are POSTed (flow.model_crm)
    freeswitch_paths: dict[str, str] = Field(default_factory=dict)  # local folder -> as FreeSWITCH sees it

    @field_validator("freeswitch_paths")
    @classmethod
    def _absolute_folders(cls, value: dict[str, str]) -> dict[str, str]:
        for local, remote in value.items():
            if not (local.startswith("/") and remote.startswith("/")):
                raise ValueError(f"both folders must be absolute paths: {local!r}: {remote!r}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _folders_resolved_even_by_default(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and "folders" not in data and (info.context or {}).get("root"):
            data = {**data, "folders": {}}
        return data

    @field_validator("db")
    @classmethod
    def _sqlite_relative_to_config(cls, value: str, info: ValidationInfo) -> str:
        """A relative SQLite path written in settings.yaml is relative to the config folder,
        like every other path there (the CLI's --db / FSROUTER_DB stay relative to the
        working directory)."""
        root = (info.context or {}).get("root")
        prefix = "sqlite:///"
        if root is not None and value.startswith(prefix):
            path = value[len(prefix):]
            if path and not path.startswith("/") and path != ":memory:":
                return prefix + str(Path(root, path).resolve())
        return value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        return check_host_port(value)

    @field_validator("country", mode="before")
    @classmethod
    def _region(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().upper()
            if not is_region(value):
                raise ValueError(f"{value!r} is not an ISO region known to phonenumbers (e.g. UA, DE, US)")
        return value


# --- employees.yaml / groups.yaml -----------------------------------------------------

class Employee(Frozen):
    """Someone who can be rung. id: the YAML key; extension: digits; endpoint: FreeSWITCH
    dial string (``user/101``); phones: E.164, mobile first; default_line: a line id used
    for this employee's outbound calls when no prefix picks one."""

    id: Id
    name: str = Field(min_length=1)
    extension: str = Field(pattern=r"^[0-9]{1,10}$")
    endpoint: str = Field(min_length=1)
    phones: tuple[E164, ...] = ()
    default_line: Optional[Id] = None

    @field_validator("endpoint")
    @classmethod
    def _one_dial_string(cls, value: str) -> str:
        bad = next((c for c in value if ord(c) <= 32 or ord(c) == 127 or c.isspace()), None)
        if bad is not None:  # it goes into ESL commands and originate strings as it is
            raise ValueError(f"{value!r} contains a control character or whitespace (U+{ord(bad):04X}): "
                             "a FreeSWITCH dial string such as user/101 has neither")
        return value


class Group(Frozen):
    """A ring group (queue). ring_time: s per member (all_at_once: for everyone together);
    no_answer: what happens when nobody answers; forward_to: E.164, for no_answer: forward."""

    id: Id
    members: tuple[Id, ...] = Field(min_length=1)
    strategy: Literal["evenly", "in_order", "all_at_once"] = "evenly"
    ring_time: RingTime = 20
    no_answer: Literal["voicemail", "forward", "hangup"] = "voicemail"
    forward_to: Optional[E164] = None

    @field_validator("members")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        twice = sorted({m for m in value if value.count(m) > 1})
        if twice:
            raise ValueError(f"listed more than once: {', '.join(twice)}")
        return value


# --- ivr.yaml ----------------------------------------------------------------------------

ACTIONS_WITH_TARGET = ("group", "menu", "employee", "play", "voicemail")
ACTIONS_WITHOUT_TARGET = ("repeat", "back", "dial_extension", "hangup")
DTMF_KEYS = "0123456789*#"


def _check_dtmf(key: str) -> str:
    if len(key) != 1 or key not in DTMF_KEYS:
        raise ValueError("a menu key is one DTMF character: 0-9, * or #")
    return key


DtmfKey = Annotated[str, AfterValidator(_check_dtmf)]


class MenuAction(Frozen):
    """What a menu key does: ``{group: sales}`` (mapping form, exactly one key) or ``repeat``.

    kind group / menu / employee / voicemail: target is that id (voicemail: an employee);
    play: target is a file relative to the config folder, then back to the same menu;
    repeat, back (at a top menu: repeat), dial_extension, hangup: target None.
    """

    kind: Literal["group", "menu", "employee", "play", "voicemail", "repeat", "back", "dial_extension", "hangup"]
    target: Optional[str] = None

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        if isinstance(data, str):
            if data in ACTIONS_WITH_TARGET:
                raise ValueError(f"`{data}` needs a target, e.g. {{{data}: NAME}}")
            if data not in ACTIONS_WITHOUT_TARGET:
                raise ValueError(f"unknown action {data!r}: one of {', '.join(ACTIONS_WITHOUT_TARGET)}, "
                                 f"or {{kind: target}} with kind {', '.join(ACTIONS_WITH_TARGET)}")
            return {"kind": data}
        if isinstance(data, dict) and set(data) != {"kind", "target"} and set(data) != {"kind"}:
            if len(data) != 1:
                raise ValueError(f"an action is one key, e.g. {{group: sales}}; got {', '.join(map(str, data))}")
            ((kind, target),) = data.items()
            if kind not in ACTIONS_WITH_TARGET:
                if kind in ACTIONS_WITHOUT_TARGET:
                    raise ValueError(f"`{kind}` takes no target: write it as a plain string")
                raise ValueError(f"unknown action {kind!r}: one of {', '.join(ACTIONS_WITH_TARGET + ACTIONS_WITHOUT_TARGET)}")
            if not isinstance(target, str) or not target:
                raise ValueError(f"`{kind}` needs a target name")
            return {"kind": kind, "target": target}
        return data


class Menu(Frozen):
    """A voice menu. prompt: `default` or a file relative to the config folder;
    digit_timeout: s to wait for a key; max_attempts: timeouts + invalid keys before
    giving up (hang-up); keys: one DTMF character (0-9 * #) -> action."""

    id: Id
    prompt: FileRef = "default"
    digit_timeout: Seconds = 5
    max_attempts: int = Field(3, ge=1, le=10)
    keys: Annotated[Mapping[DtmfKey, MenuAction], ReadOnly] = Field(min_length=1)
    on_timeout: Optional[MenuAction] = None
    on_invalid: Optional[MenuAction] = None
