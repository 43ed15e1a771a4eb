"""The committed built-in prompt set in sounds/: complete, well-formed, audible, plausible.

These tests read the WAVs in the repository; they never need espeak-ng or sox.
"""

from __future__ import annotations

import array
import importlib.util
import math
import wave
from pathlib import Path

import pytest
import yaml

from fsrouter.flow.melodies import BUILTIN_RATES_HZ, BUILTIN_STAGES
from fsrouter.flow.model_line import LANGUAGES

REPO = Path(__file__).resolve().parents[1]
SOUNDS = REPO / "sounds"
TEXTS = yaml.safe_load((SOUNDS / "prompts.yaml").read_text(encoding="utf-8"))

#: Below this RMS (16-bit full scale 32767; about -36 dBFS) a prompt counts as silent.
RMS_FLOOR = 500
#: Spoken letters per second of plausible speech (people speak about 10-15).
LETTERS_PER_S = (7.0, 20.0)

FILES = [(language, stage, rate) for language in LANGUAGES for stage in BUILTIN_STAGES for rate in BUILTIN_RATES_HZ]


def read_wav(path: Path) -> tuple[wave._wave_params, array.array]:
    with wave.open(str(path)) as wav:
        return wav.getparams(), array.array("h", wav.readframes(wav.getnframes()))


def rms(samples: array.array) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def test_the_texts_file_covers_every_stage_in_all_six_languages():
    spoken, music = TEXTS["prompts"], TEXTS["music"]
    assert set(spoken) | set(music) == set(BUILTIN_STAGES) and not set(spoken) & set(music)
    for stage, texts in spoken.items():
        assert set(texts) == set(LANGUAGES), stage
        assert all(text.strip() for text in texts.values()), stage
    assert set(TEXTS["voices"]) == set(LANGUAGES)


@pytest.mark.parametrize("language, stage, rate", FILES, ids=["/".join(map(str, f)) for f in FILES])
def test_every_stage_is_a_mono_16_bit_wav_of_its_folder_rate_and_not_silent(language, stage, rate):
    params, samples = read_wav(SOUNDS / language / str(rate) / f"{stage}.wav")
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, rate)
    assert params.nframes > rate  # longer than a second
    assert rms(samples) > RMS_FLOOR


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_spoken_prompt_lasts_as_long_as_its_text_takes_to_say(language):
    for stage, texts in TEXTS["prompts"].items():
        letters = sum(ch.isalpha() for ch in texts[language])
        for rate in BUILTIN_RATES_HZ:
            params, _ = read_wav(SOUNDS / language / str(rate) / f"{stage}.wav")
            seconds = params.nframes / params.framerate
            low, high = LETTERS_PER_S
            assert low <= letters / seconds <= high, f"{language}/{rate}/{stage}: {letters} letters in {seconds:.2f} s"


def test_the_hold_music_is_a_loop_of_a_few_seconds_that_starts_and_ends_at_zero():
    for language in LANGUAGES:
        for rate in BUILTIN_RATES_HZ:
            params, samples = read_wav(SOUNDS / language / str(rate) / "hold.wav")
            assert 2 <= params.nframes / rate <= 10
            assert abs(samples[0]) < 100 and abs(samples[-1]) < 100  # no click where it loops
            assert rms(samples) > RMS_FLOOR


def test_the_sound_set_stays_well_under_15_mb():
    total = sum(p.stat().st_size for p in SOUNDS.rglob("*") if p.is_file())
    assert total < 12 * 1024 * 1024, f"{total / 1048576:.1f} MiB"


def test_the_music_regenerates_byte_for_byte_from_the_texts_file_without_espeak(tmp_path):
    spec = importlib.util.spec_from_file_location("make_sounds", REPO / "scripts" / "make_sounds.py")
    make_sounds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_sounds)
    assert make_sounds.main(["--sounds", str(tmp_path), "--language", "de", "--stage", "hold"]) == 0
    for rate in BUILTIN_RATES_HZ:
        relative = Path("de", str(rate), "hold.wav")
        assert (tmp_path / relative).read_bytes() == (SOUNDS / relative).read_bytes()
