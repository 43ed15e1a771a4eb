#!/usr/bin/env python3
"""Regenerate the built-in prompt set in sounds/ from sounds/prompts.yaml.

Writes ``sounds/<language>/<rate>/<stage>.wav`` for rate 8000 and 16000: mono, 16-bit PCM,
the layout FreeSWITCH's mod_sndfile looks in first when asked for
``sounds/<language>/<stage>.wav`` (it tries ``<rate of the call>/`` then ``48000``,
``32000``, ``16000``, then the path itself, and resamples what it finds).

Spoken stages: espeak-ng speaks the text (voice and speed from prompts.yaml), sox trims the
leading and trailing silence, shortens pauses inside to 0.25 s, normalises to -3 dBFS,
pads 0.1 s before / 0.2 s after and resamples. Music stages (``music:``) are synthesised here: soft sine notes in turn.

Needs ``espeak-ng`` and ``sox`` on PATH (Debian: ``apt-get install espeak-ng sox``); the
tests never do: they check the committed WAVs.

Usage: ``python scripts/make_sounds.py [--sounds DIR] [--language uk ...] [--stage greeting ...]``
"""

from __future__ import annotations

import argparse
import array
import math
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RATES = (8000, 16000)


def speak(text: str, voice: str, speed_wpm: int, out: Path, rate: int, work: Path) -> None:
    """Speak ``text`` with espeak-ng into ``out`` (mono 16-bit WAV at ``rate`` Hz)."""
    raw = work / "raw.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed_wpm), "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", "-D", "-R", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(out),
         "silence", "-l", "1", "0.02", "0.5%", "-1", "0.25", "0.5%",
         "reverse", "silence", "1", "0.02", "0.5%", "reverse",
         "gain", "-n", "-3", "pad", "0.1", "0.2"],
        check=True,
    )


def tone_pattern(notes: list[list[float]], level: float, rate: int, out: Path) -> None:
    """Write notes ((frequency Hz, length s) pairs) as a soft mono 16-bit WAV at ``rate`` Hz.

    Each note: a sine plus a quiet octave, 30 ms attack, exponential decay, so the file loops
    without clicks (it starts and ends at zero).
    """
    samples = array.array("h")
    for freq, length_s in notes:
        count = int(rate * length_s)
        attack = int(rate * 0.03)
        for i in range(count):
            t = i / rate
            envelope = min(1.0, i / attack) * math.exp(-3.0 * t / length_s) * min(1.0, (count - i) / attack)
            value = math.sin(2 * math.pi * freq * t) + 0.3 * math.sin(4 * math.pi * freq * t)
            samples.append(int(32767 * level * envelope * value / 1.3))
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sounds", type=Path, default=ROOT / "sounds", help="output folder (default: sounds/)")
    parser.add_argument("--texts", type=Path, default=ROOT / "sounds" / "prompts.yaml")
    parser.add_argument("--language", action="append", help="only these languages (repeatable)")
    parser.add_argument("--stage", action="append", help="only these stages (repeatable)")
    args = parser.parse_args(argv)

    spec = yaml.safe_load(args.texts.read_text(encoding="utf-8"))
    voices: dict[str, str] = spec["voices"]
    languages = args.language or list(voices)
    stages = set(args.stage or [*spec["prompts"], *spec["music"]])
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None and any(s in spec["prompts"] for s in stages):
            print(f"make_sounds: {tool} is not installed (apt-get install espeak-ng sox)", file=sys.stderr)
            return 2

    with tempfile.TemporaryDirectory() as tmp:
        for language in languages:
            for rate in RATES:
                folder = args.sounds / language / str(rate)
                folder.mkdir(parents=True, exist_ok=True)
                for stage, texts in spec["prompts"].items():
                    if stage in stages:
                        speak(texts[language], voices[language], spec["speed_wpm"], folder / f"{stage}.wav",
                              rate, Path(tmp))
                for stage, music in spec["music"].items():
                    if stage in stages:
                        tone_pattern(music["notes"], music["level"], rate, folder / f"{stage}.wav")
            print(f"make_sounds: {language}: {len(stages)} stage(s) x {len(RATES)} rates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
