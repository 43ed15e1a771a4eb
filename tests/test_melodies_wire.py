"""Melodies on real calls: the fake FreeSWITCH receives the paths of the line's language
and its custom MP3s, and those paths find the shipped files the way mod_sndfile looks."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsrouter.replay.fakefs import Scenario
from tests.harness import SETTINGS, EngineHarness, write_config
from tests.mp3_frames import write_mp3

SOUNDS = Path(__file__).resolve().parents[1] / "sounds"

LINES = {
    "berlin": """\
        number: "+4930123456"
        kind: rented
        timezone: Europe/Berlin
        language: de
        routing:
          greeting: true
          group: sales
    """,
    "madrid": """\
        number: "+34911234567"
        kind: rented
        timezone: Europe/Madrid
        language: es
        routing:
          greeting: true
          group: sales
        melodies:
          greeting: melodies/hola.mp3
    """,
}


def sndfile_lookup(path: str, rate_hz: int) -> Path | None:
    """The file FreeSWITCH's mod_sndfile opens for ``playback <path>`` on a ``rate_hz`` call:
    ``<dir>/<rate_hz>/<name>``, else ``48000``, ``32000``, ``16000`` sub-folders, else ``path``
    (sndfile_file_open, src/mod/formats/mod_sndfile/mod_sndfile.c)."""
    folder, name = Path(path).parent, Path(path).name
    for rate in (rate_hz, 48000, 32000, 16000):
        if (folder / str(rate) / name).is_file():
            return folder / str(rate) / name
    return Path(path) if Path(path).is_file() else None


@pytest.fixture
def melody_engine(tmp_path):
    config = write_config(tmp_path / "config", lines=LINES,
                          settings=SETTINGS.replace("sounds: ../sounds", f"sounds: {SOUNDS}"))
    write_mp3(config / "melodies" / "hola.mp3", seconds=2)
    harness = EngineHarness(config, db_url=f"sqlite:///{tmp_path / 'x.db'}")
    harness.start()
    yield harness
    harness.stop()


def played(fake) -> list[str]:
    return [e.arg for e in fake.executed if e.app == "playback"]


def test_a_german_line_plays_the_german_greeting_which_mod_sndfile_finds_at_every_rate(melody_engine):
    fake = melody_engine.call(Scenario(destination="+4930123456", endpoints={"user/101": "answer"}))
    greeting = played(fake)[0]
    assert greeting == str(SOUNDS / "de" / "greeting.wav")
    assert sndfile_lookup(greeting, 8000) == SOUNDS / "de" / "8000" / "greeting.wav"
    assert sndfile_lookup(greeting, 16000) == SOUNDS / "de" / "16000" / "greeting.wav"
    assert sndfile_lookup(greeting, 48000) == SOUNDS / "de" / "16000" / "greeting.wav"
    record = melody_engine.record(fake.scenario.uuid)
    assert [s["melody"] for s in record.route if s["step"] == "greeting"] == [greeting]


def test_a_spanish_line_plays_its_own_greeting_mp3_and_spanish_built_ins_for_the_other_stages(melody_engine, tmp_path):
    fake = melody_engine.call(Scenario(destination="+34911234567"))  # nobody answers: voicemail
    greeting, *rest = played(fake)
    assert greeting == str(tmp_path / "config" / "melodies" / "hola.mp3")
    assert rest == [str(SOUNDS / "es" / "voicemail.wav")]
    [multiset] = [e.arg for e in fake.executed if e.app == "multiset"]
    assert f"transfer_ringback={SOUNDS / 'es' / 'hold.wav'}" in multiset.split()
    for path in rest + [str(SOUNDS / "es" / "hold.wav")]:
        assert sndfile_lookup(path, 8000).parent == SOUNDS / "es" / "8000"
