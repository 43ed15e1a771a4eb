"""The command line given hostile or impossible input: one clear line naming what is wrong,
exit 1, never a Python traceback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from fsrouter.cli import main
from fsrouter.flow.callbacks import request_callback
from fsrouter.flow.loader import load_config
from fsrouter.store import open_store
from tests.harness import SHIPPED


@pytest.fixture
def cfg(tmp_path) -> Path:
    shutil.copytree(SHIPPED, tmp_path / "config")
    return tmp_path / "config"


def fsrouter(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fsrouter", *argv], capture_output=True, text=True,
                          timeout=timeout)


# --- freeswitch dialplan -o ----------------------------------------------------------------

@pytest.mark.parametrize("where", ["missing-folder/x.xml", "."])
def test_dialplan_to_a_file_that_cannot_be_written_is_a_clear_error_with_exit_1(cfg, tmp_path, capsys, where):
    target = tmp_path / where
    code = main(["freeswitch", "dialplan", "--config", str(cfg), "-o", str(target)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"fsrouter freeswitch: -o {target}: ") and len(err.splitlines()) == 1
    assert not list(tmp_path.glob("*.partial"))


# --- serve --listen --------------------------------------------------------------------------

def serve(cfg: Path, tmp_path: Path, listen: str) -> subprocess.CompletedProcess:
    return fsrouter("serve", "--config", str(cfg), "--db", f"sqlite:///{tmp_path / 'serve.db'}",
                    "--listen", listen, timeout=30)


def test_serve_on_a_port_in_use_names_the_address_and_exits_1(cfg, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        result = serve(cfg, tmp_path, listen)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"fsrouter serve: cannot listen on {listen}: ")


@pytest.mark.parametrize("listen", ["192.0.2.1:8084", "no-such-host.invalid:8084", "127.0.0.1:99999"])
def test_serve_on_an_address_it_cannot_bind_names_the_address_and_exits_1(cfg, tmp_path, listen):
    result = serve(cfg, tmp_path, listen)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"fsrouter serve: cannot listen on {listen}: ")


# --- callback request --------------------------------------------------------------------------

def test_callback_request_for_a_number_that_is_not_valid_exits_1_naming_it(cfg, tmp_path, capsys):
    code = main(["callback", "--config", str(cfg), "--db", f"sqlite:///{tmp_path / 'cb.db'}",
                 "request", "--line", "kyiv-sales", "--number", "12345"])
    assert code == 1
    assert "'12345' is not a phone number" in capsys.readouterr().err
    store = open_store(f"sqlite:///{tmp_path / 'cb.db'}", spool_dir=None)
    try:
        assert store.callbacks.list(None) == []
    finally:
        store.close()


def test_request_callback_refuses_a_possible_but_invalid_number_and_keeps_a_valid_national_one(cfg, tmp_path):
    config = load_config(cfg)
    store = open_store(f"sqlite:///{tmp_path / 'cb.db'}", spool_dir=None)
    now = datetime(2026, 6, 3, 10, tzinfo=timezone.utc)
    try:
        with pytest.raises(ValueError, match="'12345' is not a phone number"):
            request_callback(store, config, "kyiv-sales", "12345", now=now)
        assert request_callback(store, config, "kyiv-sales", "0501234567", now=now).number == "+380501234567"
    finally:
        store.close()


# --- simulate --at -------------------------------------------------------------------------------

@pytest.mark.parametrize("at", ["1960-06-03T10:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00",
                                "1970-01-01T00:00+00:00", "9001-01-01T00:00"])
def test_simulate_at_a_time_outside_1971_to_9000_is_refused_naming_at(cfg, capsys, at):
    code = main(["simulate", "--config", str(cfg), "--number", "+380441234567", "--caller", "+380501234567",
                 "--at", at])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"fsrouter simulate: --at: {at!r} is out of range") and "1971..9000" in err


def test_simulate_at_the_first_hour_of_1971_in_kyiv_is_simulated_at_that_time(cfg, capsys):
    code = main(["simulate", "--config", str(cfg), "--number", "+380441234567", "--caller", "+380501234567",
                 "--at", "1971-01-01T00:00"])
    assert code == 0
    assert "arrival 1971-01-01T00:00:00+03:00" in capsys.readouterr().out


def test_config_and_db_may_follow_the_subcommand_as_well_as_precede_it(tmp_path, capsys):
    import shutil
    from pathlib import Path

    from fsrouter.cli import main as cli_main

    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[1] / "config", config)
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert cli_main(["employee", "status", "bob", "started", "--config", str(config), "--db", db]) == 0
    assert cli_main(["employee", "--config", str(config), "--db", db, "list"]) == 0
    listing = capsys.readouterr().out
    assert any(line.startswith("bob") and "started" in line for line in listing.splitlines())
    assert cli_main(["calls", "list", "--config", str(config), "--db", db]) == 0
    assert cli_main(["recordings", "quota", "--config", str(config), "--db", db]) == 0


def test_crm_import_refuses_a_phone_that_is_possible_but_not_valid():
    import io

    from fsrouter.flow.crm_import import read_crm_csv

    entities, problems = read_crm_csv(io.StringIO("type,name,phones\ncontact,Bad,12345\ncontact,Good,0671234567\n"),
                                      country="UA")
    assert [e.phones for e in entities] == [["+380671234567"]] or [list(e.phones) for e in entities] == [["+380671234567"]]
    assert problems and problems[0].startswith("line 2:") and "12345" in problems[0]


def test_a_callback_request_without_an_inbound_event_socket_is_stored_with_a_warning(tmp_path, capsys):
    import shutil
    from pathlib import Path

    from fsrouter.cli import main as cli_main

    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[1] / "config", config)
    code = cli_main(["callback", "request", "--line", "kyiv-sales", "--number", "0671234567",
                     "--config", str(config), "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    captured = capsys.readouterr()
    assert code == 0 and "+380671234567" in captured.out
    assert "no esl.inbound" in captured.err


def test_a_fault_beyond_the_transcripts_frames_is_an_error_not_a_silent_ok(capsys):
    from pathlib import Path

    from fsrouter.cli import main as cli_main

    sessions = Path(__file__).resolve().parent / "sessions"
    assert cli_main(["replay", str(sessions), "--fault", "hangup-at=99999999"]) == 1
    assert "beyond this transcript" in capsys.readouterr().err


def test_a_reader_that_goes_away_ends_the_command_quietly_without_a_traceback(tmp_path):
    """``fsrouter ... | head``: the pipe's reader closes, the next print gets EPIPE."""
    import subprocess
    import sys

    script = ("import sys; from fsrouter import cli\n"
              "def spew(args):\n"
              "    for n in range(100000): print('line', n)\n"
              "    return 0\n"
              "cli.cmd_check = spew\n"
              "sys.exit(cli.main(['check']))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=tmp_path)
    assert proc.stdout.readline() == b"line 0\n"
    proc.stdout.close()  # as head does after its lines
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
