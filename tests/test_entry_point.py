"""The console entry point's process-wide gevent settings."""

import os
import subprocess
import sys

PROBE = "import fsrouter.__main__, gevent; print(gevent.config.track_greenlet_tree)"


def _probe(**env) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "GEVENT_TRACK_GREENLET_TREE"}
    environ.update(env)
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=environ, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_engine_does_not_record_every_greenlets_spawning_stack():
    assert _probe() == "False"


def test_gevents_own_variable_still_turns_greenlet_tree_tracking_on():
    assert _probe(GEVENT_TRACK_GREENLET_TREE="1") == "True"
