"""Building blocks shared by the configuration models: the frozen base and field types.

Every model forbids unknown keys and is frozen; validation is lax, so the strings the
strict YAML source produces are typed here ("20" -> 20, "true" -> True, "2026-12-25" -> date).
Mappings are exposed read-only (``types.MappingProxyType``).
"""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Mapping, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from fsrouter.flow.phone import to_e164


class Frozen(BaseModel):
    """Base of every configuration model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


#: What an id (employee, group, menu, line, gateway) looks like.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z"  # \Z: "$" would let a trailing newline pass
_ID_RE = re.compile(ID_PATTERN)


def _check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(f"{value!r} is not an id (letters, digits, '_', '.', '-'; first a letter or digit)")
    return value


def check_relative_file(value: str) -> str:
    """Return ``value`` if it is `default` or a relative path inside the config folder; else ValueError."""
    if value == "default":
        return value
    if not value:
        raise ValueError("empty file name: use `default` or a path relative to the config folder")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{value!r} contains a control character (NUL, newline...): not a file name")
    if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value):
        raise ValueError(f"{value!r} is absolute: give a path relative to the config folder")
    if ".." in re.split(r"[/\\]", value):
        raise ValueError(f"{value!r} leaves the config folder ('..' is not allowed)")
    return value


def _read_only(value: Mapping) -> Mapping:
    return MappingProxyType(dict(value))


#: An identifier: employee, group, menu, line or gateway name.
Id = Annotated[str, AfterValidator(_check_id)]
#: A phone number written in YAML, normalised to E.164 (see ``fsrouter.flow.phone.to_e164``).
E164 = Annotated[str, AfterValidator(to_e164)]
#: `default` (the built-in melody in the line's language) or a file relative to the config folder.
FileRef = Annotated[str, AfterValidator(check_relative_file)]
#: A wait for the caller's keys in seconds, 0 < t <= 3600 (FreeSWITCH gets it in ms).
Seconds = Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False)]
#: A ring time in seconds, 1..3600.
RingTime = Annotated[int, Field(ge=1, le=3600)]
#: Read-only mapping (validated as a dict, then frozen).
ReadOnly = AfterValidator(_read_only)


class Backup(Frozen):
    """Where FreeSWITCH sends a call when fsrouter cannot be reached (lives in the dialplan).

    number: E.164; gateway: FreeSWITCH gateway name, None = the line's ``outbound.gateway``.
    """

    number: E164
    gateway: Optional[Id] = None


class QaSettings(Frozen):
    """settings.yaml ``qa:``: ESL session recording for QA (``fsrouter replay``).

    record_sessions: folder for transcripts (relative to the config folder; None = off),
    each call written to ``<folder>/<YYYY-MM-DD>/<call uuid>.esl.jsonl``; sample: the share
    of calls recorded, 0..1 (chosen from the call uuid, so a call is in or out for good).
    """

    record_sessions: Optional[Path] = None
    sample: float = Field(1.0, ge=0, le=1)

    @field_validator("record_sessions", mode="after")
    @classmethod
    def _resolve(cls, value: Optional[Path], info: ValidationInfo) -> Optional[Path]:
        root = (info.context or {}).get("root")
        return Path(root, value).resolve() if value is not None and root is not None else value


class LineQa(Frozen):
    """numbers/NAME.yaml ``qa:``. record: false keeps this line's calls out of session recording."""

    record: bool = True
