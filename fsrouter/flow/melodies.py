"""Melodies (prompts and music): the checks on custom files and the paths FreeSWITCH plays.

A line's melody for a stage is either ``default``, the built-in prompt in the line's
language, or an MP3 file named relative to ``config/``.

Built-in prompts are shipped as ``<sounds root>/<language>/<rate>/<stage>.wav`` for rate
8000 and 16000 (mono, 16-bit PCM). The engine plays ``<sounds root>/<language>/<stage>.wav``:
given that path, FreeSWITCH's mod_sndfile opens ``<language>/<call rate>/<stage>.wav``,
else tries ``48000/``, ``32000/``, ``16000/`` in turn, else the path itself
(``sndfile_file_open`` in src/mod/formats/mod_sndfile/mod_sndfile.c), and resamples. So an
8 kHz call plays the 8000 file and every other rate the 16000 one.

Custom files are MP3 (played by FreeSWITCH's mod_shout), checked by content with mutagen:
at most :data:`MAX_MELODY_BYTES`; stereo is accepted with a warning.

The sounds root is settings ``folders.sounds`` (default ``../sounds`` from config/): when
FreeSWITCH runs on another host, mount the folder there under the same absolute path (and
config/ too, for custom files). A played path never leaves those two roots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import mutagen
from mutagen.mp3 import MP3

from fsrouter.errors import MelodyError
from fsrouter.flow.fspaths import PathMap
from fsrouter.flow.model_line import LANGUAGES, MELODY_STAGES

#: Stages a line may override in YAML (``melodies:``).
LINE_STAGES = MELODY_STAGES

#: Every built-in stage the engine plays (``sounds/<language>/<rate>/<stage>.wav``).
BUILTIN_STAGES = LINE_STAGES + (
    "rating_thanks", "ivr_menu", "ivr_invalid", "ivr_timeout", "unknown_extension",
    "please_wait", "goodbye", "refused",
)

#: Sample rates (Hz) of the shipped built-in set, one sub-folder each.
BUILTIN_RATES_HZ = (8000, 16000)

#: Largest custom melody accepted: 2 MiB (2,097,152 bytes).
MAX_MELODY_BYTES = 2 * 1024 * 1024


@dataclass
class MelodyReport:
    """What :func:`inspect_melody_file` found: problems refuse the file, warnings do not."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def inspect_melody_file(path: Path) -> MelodyReport:
    """Check a custom melody file by content: it exists, is named ``*.mp3`` (FreeSWITCH picks
    mod_shout by the extension), is at most MAX_MELODY_BYTES, and mutagen reads it as MPEG
    audio (a WAV renamed .mp3 is refused). Two channels is a warning (mono preferred)."""
    report = MelodyReport()
    if not path.is_file():
        report.problems.append(f"file {path} does not exist")
        return report
    if path.suffix.lower() != ".mp3":
        report.problems.append(f"{path.name} is not an .mp3 file (custom melodies are MP3)")
        return report
    size = path.stat().st_size
    if size > MAX_MELODY_BYTES:
        report.problems.append(f"{path.name} is {size / 1048576:.1f} MiB; a melody may be at most 2 MiB")
        return report
    try:
        audio = mutagen.File(path)
    except mutagen.MutagenError as exc:
        report.problems.append(f"{path.name} is not an MP3 file ({exc})")
        return report
    if audio is None:
        report.problems.append(f"{path.name} is not an MP3 file (no audio format recognised)")
    elif not isinstance(audio, MP3):
        report.problems.append(f"{path.name} is {type(audio).__name__} audio, not MP3 (renamed?)")
    elif audio.info.length <= 0:
        report.problems.append(f"{path.name} holds no MP3 audio frames")
    elif audio.info.channels != 1:
        report.warnings.append(f"{path.name} is stereo; mono is preferred (calls are mono: "
                               f"FreeSWITCH mixes it down)")
    return report


def within(root: Path, path: Path) -> bool:
    """True if ``path``, with symlinks and ``..`` resolved, is ``root`` or inside it."""
    return path.resolve().is_relative_to(root.resolve())


class MelodyResolver:
    """Turns (line, stage) into the absolute path FreeSWITCH plays.

    sounds_root: the built-in set (settings ``folders.sounds``); config_root: the
    ``config/`` folder (custom files are relative to it); paths: where FreeSWITCH sees
    those folders when it runs on another host (settings ``freeswitch_paths``).
    """

    def __init__(self, sounds_root: str | Path, config_root: str | Path, paths: PathMap | None = None):
        self.sounds_root = Path(sounds_root).resolve()
        self.config_root = Path(config_root).resolve()
        self.paths = paths or PathMap()
        self._builtin: dict[tuple[str, str], str] = {}  # (language, stage) -> path, as FreeSWITCH sees it

    def builtin(self, language: str, stage: str) -> str:
        """The built-in prompt for ``stage`` in ``language`` as FreeSWITCH names it (no rate
        folder: mod_sndfile adds it). Unknown stage or language: MelodyError."""
        path = self._builtin.get((language, stage))
        if path is None:
            if stage not in BUILTIN_STAGES or language not in LANGUAGES:
                raise MelodyError(f"no built-in melody {language}/{stage}")
            path = self._builtin[language, stage] = self.paths.for_freeswitch(
                str(self.sounds_root / language / f"{stage}.wav"))
        return path

    def builtin_files(self, language: str, stage: str) -> list[Path]:
        """The shipped files behind :meth:`builtin` on this host, one per BUILTIN_RATES_HZ."""
        self.builtin(language, stage)
        return [self.sounds_root / language / str(rate) / f"{stage}.wav" for rate in BUILTIN_RATES_HZ]

    def file(self, relative: str) -> str:
        """A custom file named in YAML, relative to config/, as an absolute path.

        Raises MelodyError if it is absolute or leads outside config/ (``..``, a symlink):
        load-time checks refuse such files, this guards the call itself."""
        local = self.config_root / relative
        if Path(relative).is_absolute() or not within(self.config_root, local):
            raise MelodyError(f"melody {relative!r} is outside the config folder")
        return self.paths.for_freeswitch(str(local.resolve()))

    def for_line(self, line, stage: str) -> str:
        """The melody ``line`` plays at ``stage``: its own file, else the built-in one."""
        configured = getattr(line.melodies, stage, "default") if stage in LINE_STAGES else "default"
        if configured and configured != "default":
            return self.file(configured)
        return self.builtin(line.language, stage)
