"""Every transcript in tests/sessions/ is a regression test: it must replay ok.

QA adds a case by dropping a ``*.esl.jsonl`` there (recorded with ``qa.record_sessions``);
its header names the config to replay with (``"config": "config"`` = tests/sessions/config).
After an intended change of behaviour, re-bless with ``fsrouter replay --update tests/sessions``.
"""

from pathlib import Path

import pytest

from fsrouter.replay.runner import ReplayOptions, opening_for, replay_all
from fsrouter.replay.transcript import find_transcripts, read_transcript
from fsrouter.session.connection import OPENING, OPENING_WITHOUT_NIXEVENT

SESSIONS = Path(__file__).with_name("sessions")
TRANSCRIPTS = find_transcripts([SESSIONS])


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.name.removesuffix(".esl.jsonl") for p in TRANSCRIPTS])
def test_the_recorded_session_replays_ok_against_the_current_engine(path):
    (result,) = replay_all([path], ReplayOptions()).results
    assert result.status == "ok", result.divergence.render() if result.divergence else result.note


def test_the_sessions_folder_holds_transcripts_of_both_openings():
    assert len(TRANSCRIPTS) >= 4
    openings = {opening_for(read_transcript(path)) for path in TRANSCRIPTS}
    assert openings == {OPENING, OPENING_WITHOUT_NIXEVENT}  # recorded before and after nixevent
