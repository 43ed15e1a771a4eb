"""Custom melodies at load time (MP3 by content, <= 2 MiB, inside config/, stereo warned)
and the resolver that names the files FreeSWITCH plays."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fsrouter import cli
from fsrouter.errors import ConfigInvalid, MelodyError
from fsrouter.flow.loader import load_config
from fsrouter.flow.melodies import MelodyResolver
from tests.harness import SETTINGS, write_config
from tests.mp3_frames import write_mp3

SOUNDS = Path(__file__).resolve().parents[1] / "sounds"
LINE = """\
    number: "+34911234567"
    kind: rented
    timezone: Europe/Madrid
    language: es
    routing:
      greeting: true
      group: sales
    melodies:
      hold: default
      greeting: {greeting}
"""


def config_with_greeting(tmp_path: Path, greeting: str) -> Path:
    settings = SETTINGS.replace("sounds: ../sounds", f"sounds: {SOUNDS}")
    return write_config(tmp_path / "config", lines={"madrid": LINE.format(greeting=greeting)}, settings=settings)


def the_one_problem(config: Path):
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config)
    (error,) = caught.value.errors
    assert (error.path, error.line, error.field) == (str(config / "numbers" / "madrid.yaml"), 10, "melodies.greeting")
    return error


def test_a_mono_mp3_under_config_is_accepted_without_warnings(tmp_path):
    config = config_with_greeting(tmp_path, "melodies/hola.mp3")
    write_mp3(config / "melodies" / "hola.mp3", seconds=3)
    assert load_config(config).warnings == ()


def test_a_2_5_mb_mp3_is_refused_naming_its_size(tmp_path):
    config = config_with_greeting(tmp_path, "melodies/big.mp3")
    write_mp3(config / "melodies" / "big.mp3", size_bytes=int(2.5 * 1024 * 1024))
    assert "big.mp3 is 2.5 MiB; a melody may be at most 2 MiB" in the_one_problem(config).message


def test_an_mp3_of_exactly_2_mib_is_accepted(tmp_path):
    config = config_with_greeting(tmp_path, "melodies/edge.mp3")
    path = write_mp3(config / "melodies" / "edge.mp3", size_bytes=2 * 1024 * 1024)
    assert path.stat().st_size <= 2 * 1024 * 1024
    load_config(config)


def test_a_wav_renamed_mp3_is_refused_as_wave_audio(tmp_path):
    config = config_with_greeting(tmp_path, "melodies/fake.mp3")
    (config / "melodies").mkdir()
    (config / "melodies" / "fake.mp3").write_bytes((SOUNDS / "es" / "8000" / "greeting.wav").read_bytes())
    assert "fake.mp3 is WAVE audio, not MP3" in the_one_problem(config).message


def test_a_file_that_is_no_audio_at_all_is_refused(tmp_path):
    config = config_with_greeting(tmp_path, "melodies/notes.mp3")
    (config / "melodies").mkdir()
    (config / "melodies" / "notes.mp3").write_text("these are not the sounds you are looking for\n" * 20)
    assert "notes.mp3 is not an MP3 file" in the_one_problem(config).message


def test_a_stereo_mp3_is_accepted_with_a_warning_at_its_line(tmp_path):
    config = config_with_greeting(tmp_path, "melodies/stereo.mp3")
    write_mp3(config / "melodies" / "stereo.mp3", stereo=True)
    (warning,) = load_config(config).warnings
    assert (warning.line, warning.field) == (10, "melodies.greeting")
    assert "stereo.mp3 is stereo; mono is preferred" in warning.message


def test_fsrouter_check_prints_the_stereo_warning_and_succeeds(tmp_path, capsys):
    config = config_with_greeting(tmp_path, "melodies/stereo.mp3")
    write_mp3(config / "melodies" / "stereo.mp3", stereo=True)
    assert cli.main(["check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"warning: {config}/numbers/madrid.yaml:10: melodies.greeting: stereo.mp3 is stereo" in out
    assert "ok: 1 line(s)" in out


def test_fsrouter_check_names_the_file_and_the_reason_for_a_refused_melody(tmp_path, capsys):
    config = config_with_greeting(tmp_path, "melodies/fake.mp3")
    (config / "melodies").mkdir()
    (config / "melodies" / "fake.mp3").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    assert cli.main(["check", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"{config}/numbers/madrid.yaml:10: melodies.greeting: fake.mp3 is" in err


def test_a_path_with_dot_dot_is_refused(tmp_path):
    config = config_with_greeting(tmp_path, "../outside.mp3")
    write_mp3(tmp_path / "outside.mp3")
    assert "leaves the config folder" in the_one_problem(config).message


def test_a_symlink_out_of_the_config_folder_is_refused(tmp_path):
    config = config_with_greeting(tmp_path, "melodies/link.mp3")
    (config / "melodies").mkdir()
    os.symlink(write_mp3(tmp_path / "elsewhere" / "x.mp3"), config / "melodies" / "link.mp3")
    assert "leads outside the config folder" in the_one_problem(config).message


def test_an_ivr_prompt_that_is_a_renamed_wav_is_refused(tmp_path):
    config = config_with_greeting(tmp_path, "default")
    (config / "menus").mkdir()
    (config / "menus" / "main.mp3").write_bytes((SOUNDS / "en" / "8000" / "ivr_menu.wav").read_bytes())
    (config / "ivr.yaml").write_text("ivr:\n  main:\n    prompt: menus/main.mp3\n    keys:\n      \"1\": {group: sales}\n")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config)
    assert [(e.field, "WAVE audio" in e.message) for e in caught.value.errors] == [("ivr.main.prompt", True)]


def test_a_missing_sounds_folder_is_a_warning_not_an_error(tmp_path):
    config = write_config(tmp_path / "config")  # sounds: ../sounds, which does not exist here
    (warning,) = load_config(config).warnings
    assert warning.field == "folders.sounds" and "not a folder here" in warning.message


# --- the resolver ---------------------------------------------------------------------

def test_a_built_in_melody_is_named_without_the_rate_folder_mod_sndfile_adds(tmp_path):
    resolver = MelodyResolver(SOUNDS, tmp_path)
    assert resolver.builtin("pt", "goodbye") == str(SOUNDS / "pt" / "goodbye.wav")
    assert resolver.builtin_files("pt", "goodbye") == [SOUNDS / "pt" / "8000" / "goodbye.wav",
                                                       SOUNDS / "pt" / "16000" / "goodbye.wav"]


def test_an_unknown_stage_or_language_has_no_built_in_melody(tmp_path):
    resolver = MelodyResolver(SOUNDS, tmp_path)
    with pytest.raises(MelodyError):
        resolver.builtin("es", "fanfare")
    with pytest.raises(MelodyError):
        resolver.builtin("fr", "greeting")


def test_the_resolver_never_names_a_file_outside_the_config_folder(tmp_path):
    resolver = MelodyResolver(SOUNDS, tmp_path / "config")
    assert resolver.file("melodies/a.mp3") == str(tmp_path / "config" / "melodies" / "a.mp3")
    for bad in ("../a.mp3", "melodies/../../a.mp3", "/etc/a.mp3"):
        with pytest.raises(MelodyError):
            resolver.file(bad)
