"""Test set-up: gevent monkey-patching (as in fsrouter/__main__.py) and shared fixtures."""

from gevent import monkey

monkey.patch_all()

import pytest  # noqa: E402

from fsrouter.store.postgres import install_gevent_wait_callback  # noqa: E402

install_gevent_wait_callback()

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

from tests.harness import SHIPPED, EngineHarness, write_config  # noqa: E402


@pytest.fixture
def config_dir(tmp_path):
    """A small, known config folder (see tests/harness.py) in a temporary directory."""
    return write_config(tmp_path / "config")


@pytest.fixture
def engine(tmp_path, config_dir):
    """fsrouter's engine serving on an ephemeral port with a SQLite store; stopped afterwards."""
    harness = EngineHarness(config_dir, db_url=f"sqlite:///{tmp_path / 'fsrouter.db'}")
    harness.start()
    yield harness
    harness.stop()


@pytest.fixture
def cfg(tmp_path, monkeypatch) -> Path:
    """A copy of the shipped config as ./config, with the working directory at its parent."""
    shutil.copytree(SHIPPED, tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "config"
