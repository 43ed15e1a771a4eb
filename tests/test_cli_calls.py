"""``fsrouter calls show | list`` and ``fsrouter recordings purge | quota`` on calls made through the wire."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fsrouter import cli_recordings
from fsrouter.cli import build_parser, main
from fsrouter.cli_calls import parse_since
from fsrouter.replay.fakefs import Scenario
from tests.harness import EngineHarness, write_config

LINE = """\
    number: "+380441234567"
    kind: rented
    timezone: Europe/Kyiv
    routing:
      greeting: false
      group: sales
    crm:
      enabled: true
      create_lead: auto
      lead_source: "Winter ads"
    recording:
      enabled: true
      monthly_limit: 10
      retention_days: 30
    rating:
      enabled: true
"""


@pytest.fixture
def made_call(tmp_path):
    engine = EngineHarness(write_config(tmp_path / "config", lines={"kyiv": LINE}),
                           db_url=f"sqlite:///{tmp_path / 'x.db'}")
    engine.start()
    try:
        yield engine, engine.call(Scenario(caller="+380509998877", endpoints={"user/101": "answer"}, digits=["5"]))
    finally:
        engine.stop()


def cli(tmp_path, *argv):
    return main([argv[0], "--config", str(tmp_path / "config"), "--db", f"sqlite:///{tmp_path / 'x.db'}",
                 *argv[1:]])


def test_calls_show_prints_route_crm_match_lead_recording_and_rating(tmp_path, made_call, capsys):
    _, fake = made_call
    assert cli(tmp_path, "calls", "show", fake.scenario.uuid) == 0
    out = capsys.readouterr().out
    assert f"call        {fake.scenario.uuid}" in out
    assert "answered" in out and "by alice" in out
    assert "group employee=alice result=answered" in out
    assert "crm:        +380509998877: no match" in out
    assert '"created": true' in out and '"responsible": "alice"' in out
    assert "recording:  " in out and "size=32364 B duration=2.02 s" in out
    assert "rating:     5 for alice" in out


def test_calls_list_shows_calls_since_a_time_and_an_unknown_call_is_an_error(tmp_path, made_call, capsys):
    _, fake = made_call
    assert cli(tmp_path, "calls", "list", "--since", "1h") == 0
    out = capsys.readouterr().out
    assert fake.scenario.uuid in out and "rating=5" in out
    assert cli(tmp_path, "calls", "list", "--since", "2999-01-01") == 0
    assert capsys.readouterr().out == ""
    assert cli(tmp_path, "calls", "show", "no-such-call") == 1


def test_since_reads_spans_and_iso_times_as_utc():
    now = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
    assert parse_since("90m", now=now) == now - timedelta(minutes=90)
    assert parse_since("7d", now=now) == now - timedelta(days=7)
    assert parse_since("2026-03-01") == datetime(2026, 3, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("argv, says", [
    (["--since", "yesterday"], "'yesterday' is neither an ISO date/time"),
    (["--limit", "-1"], "'-1' is not a whole number from 1 to 1,000,000"),
    (["--limit", "ten"], "'ten' is not a whole number from 1 to 1,000,000"),
    (["--limit", "99999999999999999999999"], "is not a whole number from 1 to 1,000,000"),
    (["--since", "99999999999h"], "'99999999999h' is neither an ISO date/time"),
    (["--since", "9999999d"], "'9999999d' is neither an ISO date/time"),
])
def test_a_bad_since_or_limit_is_a_usage_error_that_says_what_it_takes(argv, says, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["calls", "list", *argv])
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err


def test_recordings_quota_prints_used_and_remaining_for_this_month(tmp_path, made_call, capsys):
    assert cli(tmp_path, "recordings", "quota", "--line", "kyiv") == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("kyiv: ") and out.endswith("used 1 of 10, remaining 9")
    assert cli(tmp_path, "recordings", "quota", "--line", "nowhere") == 1


def test_recordings_purge_dry_run_lists_old_files_and_purge_deletes_them_with_their_rows(tmp_path, made_call,
                                                                                        capsys):
    engine, fake = made_call
    [rec] = engine.store.recordings.for_call(fake.scenario.uuid)
    args = build_parser().parse_args(["recordings", "--config", str(tmp_path / "config"), "--db",
                                      f"sqlite:///{tmp_path / 'x.db'}", "purge", "--dry-run"])
    later = rec.created_at + timedelta(days=31)
    assert cli_recordings.run(args, now=rec.created_at + timedelta(days=29)) == 0
    assert "0 recording(s)" in capsys.readouterr().out
    assert cli_recordings.run(args, now=later) == 0
    assert f"would delete {rec.path}" in capsys.readouterr().out
    assert Path(rec.path).exists()
    args.dry_run = False
    assert cli_recordings.run(args, now=later) == 0
    assert f"deleted {rec.path}" in capsys.readouterr().out
    assert not Path(rec.path).exists()
    assert engine.store.recordings.for_call(fake.scenario.uuid) == []


def test_calls_list_still_reads_the_store_when_a_line_file_is_broken(tmp_path, made_call, capsys):
    """serve keeps its old config after a bad edit; the call records must stay readable."""
    _, fake = made_call
    line = tmp_path / "config" / "numbers" / "kyiv.yaml"
    line.write_text(line.read_text().replace("monthly_limit: 10", "monthly_limit: ten"))
    assert cli(tmp_path, "calls", "list") == 0
    assert fake.scenario.uuid in capsys.readouterr().out


def test_calls_list_names_a_broken_settings_file(tmp_path, made_call, capsys):
    settings = tmp_path / "config" / "settings.yaml"
    settings.write_text(settings.read_text() + "max_calls: many\n")
    assert cli(tmp_path, "calls", "list") == 1
    assert "settings.yaml" in capsys.readouterr().err
