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


def test_the_generator_check_says_when_a_second_generator_gave_more():
    run = _run_module()
    assert "not the bottleneck" in run.generator_verdict({1: 1679, 2: 1680})
    line = run.generator_verdict({1: 1176, 2: 1398})
    assert "19% more" in line and "may be the floor's bottleneck" in line


def test_each_target_of_issue_8_is_judged_from_the_run_s_figures():
    run = _run_module()
    figures = {"floor": {"c50": {"cps": 1629.0}},
               "gs-stream": {"c50": {"cps": 398.0}},
               "fsrouter": {"c50": {"cps": 910.0}, "seq": {"setup_p50": 0.13},
                            "c200": {"setup_p99": 9.43}, "held": {"kb": 17.6}},
               "fsrouter-realistic": {"c50": {"cps": 342.0}}}
    assert run.target_verdicts(figures) == [
        ">= 1,000 calls/s at c50: 910 NOT met", ">= 0.55x the floor at c50: 0.559 met",
        "ahead of every peer: met", "sequential setup p50 <= 0.5 ms: 0.13 met",
        "c200 setup p99 <= 10 ms: 9.43 met", "<= 60 KB per held call: 17.60 met",
        "realistic >= 300 flows/s at c50: 342 met"]
    assert run.target_verdicts({}) == []  # nothing run, nothing judged


def test_failed_calls_are_counted_apart_from_the_latencies_and_the_rate():
    run = _run_module()
    ok = [(0.001, 0.010, True, 0.001, True)] * 99
    stalled = [(20.0, 20.0, False, 20.0, False)]
    figures = run.load_figures(ok + stalled, elapsed_s=1.0, cpu_s=0.099)
    assert figures["failed"] == 1 and figures["cps"] == 99
    assert figures["setup_p99"] == 1.0 and figures["flow_p99"] == 10.0  # not the stalled call's 20 s
    assert round(figures["cpu_ms"], 3) == 1.0 and figures["unstamped"] == 0
    assert run.load_figures(stalled, 1.0, 0.0)["failed"] == 1  # all failed: still figures, no crash
