"""The benchmark is not part of the suite; only its command line is checked to start."""

import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def test_benchmark_run_help_exits_zero_and_names_the_quick_mode():
    done = subprocess.run([sys.executable, str(RUN), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout


def _run_module():
    sys.path.insert(0, str(RUN.parent))
    try:
        import run
    finally:
        sys.path.remove(str(RUN.parent))
    return run


def test_quick_sets_only_the_options_not_given():
    run = _run_module()
    args = run.parse_args(["--quick", "--held", "5000"])
    assert (args.rounds, args.calls, args.seq, args.held, args.max_seconds) == (1, 1000, 100, 5000, 3.0)
    args = run.parse_args(["--calls", "500"])
    assert (args.rounds, args.calls, args.seq, args.held, args.max_seconds) == (3, 500, 300, 5000, 8.0)


def test_a_ratio_to_a_floor_figure_near_zero_is_not_printed():
    run = _run_module()
    assert run._ratio(0.5, 0.01).strip() == "-"
    assert run._ratio(1.0, 2.0).strip() == "0.50"
    assert run._ratio(None, 2.0).strip() == ""
