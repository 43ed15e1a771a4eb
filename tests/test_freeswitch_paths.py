"""FreeSWITCH on another host: every path sent to it is rewritten by settings' freeswitch_paths."""

import pytest

from fsrouter.errors import ConfigInvalid
from fsrouter.flow.fspaths import PathMap
from fsrouter.flow.loader import load_config
from fsrouter.replay.fakefs import Scenario
from tests.harness import SETTINGS, EngineHarness, write_config


def test_the_longest_matching_local_folder_is_rewritten_and_other_paths_are_left_alone():
    paths = PathMap({"/srv/fsr": "/mnt/a", "/srv/fsr/sounds": "/mnt/sounds"})
    assert paths.for_freeswitch("/srv/fsr/sounds/en/greeting.wav") == "/mnt/sounds/en/greeting.wav"
    assert paths.for_freeswitch("/srv/fsr/var/vm.wav") == "/mnt/a/var/vm.wav"
    assert paths.for_freeswitch("/srv/fsrouter/x.wav") == "/srv/fsrouter/x.wav"  # not a folder prefix
    assert paths.for_freeswitch("tone_stream://%(100,0,440)") == "tone_stream://%(100,0,440)"


def test_prompts_and_voicemail_go_to_freeswitch_under_its_own_mount_while_the_store_keeps_local_paths(tmp_path):
    root = tmp_path.resolve()
    settings = SETTINGS + f"freeswitch_paths:\n  {root}/sounds: /mnt/fs/sounds\n  {root}/var: /mnt/fs/var\n"
    harness = EngineHarness(write_config(tmp_path / "config", settings=settings),
                            db_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    harness.start()
    try:
        fake = harness.call(Scenario())
        [voicemail] = harness.store.voicemails.for_call(fake.scenario.uuid)
    finally:
        harness.stop()
    played = [e.arg for e in fake.executed if e.app == "playback"]
    assert played[0] == "/mnt/fs/sounds/en/greeting.wav"
    recorded = next(e.arg for e in fake.executed if e.app == "record").split()[0]
    assert recorded.startswith("/mnt/fs/var/voicemail/kyiv/")
    multiset = next(e.arg for e in fake.executed if e.app == "multiset")
    assert "transfer_ringback=/mnt/fs/sounds/en/hold.wav" in multiset
    assert voicemail.path == str(root / "var" / "voicemail" / "kyiv") + recorded[len("/mnt/fs/var/voicemail/kyiv"):]


def test_relative_freeswitch_paths_are_refused_at_load_time(tmp_path):
    config = write_config(tmp_path / "config", settings=SETTINGS + "freeswitch_paths:\n  sounds: /mnt/sounds\n")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config)
    [error] = caught.value.errors
    assert error.field.startswith("freeswitch_paths") and "absolute" in error.message and error.line


def test_a_relative_sqlite_path_in_settings_is_relative_to_the_config_folder(tmp_path):
    config = write_config(tmp_path / "config", settings=SETTINGS + "db: sqlite:///../var/fsrouter.db\n")
    assert load_config(config).settings.db == f"sqlite:///{(tmp_path / 'var' / 'fsrouter.db').resolve()}"


def test_folders_with_spaces_are_refused_because_freeswitch_splits_arguments_at_spaces(tmp_path):
    settings = SETTINGS.replace("voicemail: ../var/voicemail", "voicemail: ../var/voice mail")
    config = write_config(tmp_path / "config", settings=settings)
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config)
    [error] = caught.value.errors
    assert error.field == "folders.voicemail" and "whitespace" in error.message and error.line


def test_a_custom_melody_whose_name_has_a_space_is_refused(tmp_path):
    config = write_config(tmp_path / "config")
    (config / "melodies").mkdir()
    (config / "melodies" / "hola mundo.mp3").write_bytes(b"")
    kyiv = config / "numbers" / "kyiv.yaml"
    kyiv.write_text(kyiv.read_text() + 'melodies:\n  greeting: "melodies/hola mundo.mp3"\n')
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config)
    assert any(e.field == "melodies.greeting" and "whitespace" in e.message for e in caught.value.errors)


def test_a_root_mapping_and_dotted_keys_still_match():
    assert PathMap({"/": "/mnt/root"}).for_freeswitch("/srv/sounds/en/x.wav") == "/mnt/root/srv/sounds/en/x.wav"
    assert PathMap({"/srv/a/config/../var": "/mnt/var"}).for_freeswitch("/srv/a/var/vm.wav") == "/mnt/var/vm.wav"
