"""Melodies (prompts and music) resolved to the absolute paths FreeSWITCH will play.

A line's melody for a stage is either ``default`` (the built-in prompt in the line's
language, ``<sounds root>/<language>/<stage>.wav``; FreeSWITCH's mod_sndfile picks the
``8000``/``16000`` sub-folder matching the call's rate) or a file relative to ``config/``.
"""

from __future__ import annotations

from pathlib import Path

#: Stages a line may override in YAML (``melodies:``).
LINE_STAGES = ("greeting", "hold", "recording_warning", "voicemail", "after_hours", "rating")

#: Every built-in stage the engine plays (``sounds/<language>/<stage>.wav``).
BUILTIN_STAGES = LINE_STAGES + (
    "rating_thanks", "ivr_menu", "ivr_invalid", "ivr_timeout", "unknown_extension",
    "please_wait", "goodbye", "refused",
)


class MelodyResolver:
    """Turns (line, stage) into an absolute path.

    sounds_root: folder of the built-in set as FreeSWITCH sees it; config_root: the
    ``config/`` folder (custom files are relative to it).
    """

    def __init__(self, sounds_root: str | Path, config_root: str | Path):
        self.sounds_root = Path(sounds_root).resolve()
        self.config_root = Path(config_root).resolve()

    def builtin(self, language: str, stage: str) -> str:
        """The built-in prompt for ``stage`` in ``language``; raises KeyError for an unknown stage."""
        if stage not in BUILTIN_STAGES:
            raise KeyError(stage)
        return str(self.sounds_root / language / f"{stage}.wav")

    def file(self, relative: str) -> str:
        """A custom file named in YAML, relative to config/ (checked at load time)."""
        return str((self.config_root / relative).resolve())

    def for_line(self, line, stage: str) -> str:
        """The melody ``line`` plays at ``stage``: its own file, else the built-in one."""
        configured = getattr(line.melodies, stage, "default") if stage in LINE_STAGES else "default"
        if configured and configured != "default":
            return self.file(configured)
        return self.builtin(line.language, stage)
