"""Call-setup latency of `fsrouter serve` beside the floor, in one run.

Both servers run as their own processes; this process plays FreeSWITCH for every call
(fsrouter.replay.fakefs, frames shaped like the real captures). Two loads, each with
``--concurrency`` calls in flight at all times:

* ``held``: calls arrive one by one at a steady rate (concurrency / greeting length, as
  independent callers do) and every greeting plays for ``--playback`` seconds, so about
  ``--concurrency`` calls are up at any time: the setup latency a caller sees then;
* ``flat out``: playbacks end at once, calls are pushed as fast as this one generator
  process can (calls/s here is bounded by the generator as much as by the server).

Setup latency = TCP connection made -> first command received (``connect``); flow time =
connection made -> socket closed. Figures are medians over rounds, peers interleaved.

    python benchmarks/setup_latency.py [--calls 1000] [--concurrency 100] [--rounds 3] [--playback 1.0]
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.pool  # noqa: E402

from fsrouter.replay.fakefs import FakeFreeSwitch, Scenario  # noqa: E402

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.args}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server did not listen: {proc.args}")


def start_floor(port: int, _tmp: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "floor_server.py"), str(port)])


def start_fsrouter(port: int, tmp: Path) -> subprocess.Popen:
    config = tmp / "config"
    shutil.copytree(HERE / "config", config)
    env = {**os.environ, "FSROUTER_LISTEN": f"127.0.0.1:{port}", "FSROUTER_DB": f"sqlite:///{tmp / 'bench.db'}"}
    return subprocess.Popen([sys.executable, "-m", "fsrouter", "serve", "--config", str(config)], env=env,
                            stdout=subprocess.DEVNULL)


def run_calls(port: int, calls: int, concurrency: int, playback_s: float = 0.0) -> dict:
    """Play ``calls`` calls: flat out with ``concurrency`` in flight, or (playback_s > 0)
    arriving every playback_s / concurrency seconds."""
    pool = gevent.pool.Pool(concurrency if not playback_s else None)
    results = []

    def one():
        fake = FakeFreeSwitch(Scenario(playback_s=playback_s)).run(("127.0.0.1", port))
        first_app = next(t for t, d, _ in fake.transcript if d == "app")
        results.append((first_app, fake.transcript[-1][0], fake.closed_by))

    started = time.perf_counter()
    t0, spacing_s = time.monotonic(), playback_s / concurrency
    for i in range(calls):
        if spacing_s:
            gevent.sleep(max(0.0, t0 + i * spacing_s - time.monotonic()))
        pool.spawn(one)
    pool.join()
    elapsed = time.perf_counter() - started
    setup = sorted(r[0] * 1000 for r in results)
    flow = sorted(r[1] * 1000 for r in results)

    def pct(values, p):
        return values[min(len(values) - 1, int(len(values) * p))]

    return {"setup_p50": pct(setup, 0.5), "setup_p99": pct(setup, 0.99), "flow_p50": pct(flow, 0.5),
            "flow_p99": pct(flow, 0.99), "cps": calls / elapsed,
            "ok": sum(1 for r in results if r[2] == "fs"), "calls": calls}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--playback", type=float, default=1.0, help="s each greeting plays in the held load")
    args = parser.parse_args()
    peers = {"floor (bare StreamServer)": start_floor, "fsrouter serve": start_fsrouter}
    loads = {"held": args.playback, "flat out": 0.0}
    figures = {(name, load): [] for name in peers for load in loads}
    with tempfile.TemporaryDirectory() as tmp:
        procs = {}
        try:
            for name, start in peers.items():
                port = free_port()
                folder = Path(tmp) / name.split()[0]
                folder.mkdir()
                procs[name] = (start(port, folder), port)
                wait_listening(port, procs[name][0])
                run_calls(port, 50, 10)  # warm-up
            for _ in range(args.rounds):  # interleaved: A B A B ...
                for load, playback_s in loads.items():
                    for name, (_, port) in procs.items():
                        calls = args.calls if not playback_s else max(args.concurrency * 3, args.calls // 4)
                        figures[(name, load)].append(run_calls(port, calls, args.concurrency, playback_s))
        finally:
            for proc, _ in procs.values():
                proc.terminate()
                proc.wait(timeout=30)
    keys = ["setup_p50", "setup_p99", "flow_p50", "flow_p99", "cps"]
    median = {n: {k: statistics.median(r[k] for r in rs) for k in keys} for n, rs in figures.items()}
    print(f"\n{args.concurrency} calls in flight, {args.rounds} rounds (medians); held: greeting {args.playback:g} s")
    print(f"{'load':<10}{'server':<28}{'setup p50 ms':>13}{'setup p99 ms':>13}{'flow p50 ms':>12}"
          f"{'flow p99 ms':>12}{'calls/s':>9}{'x floor':>9}")
    for (name, load), m in median.items():
        floor = median[("floor (bare StreamServer)", load)]
        print(f"{load:<10}{name:<28}{m['setup_p50']:>13.2f}{m['setup_p99']:>13.2f}{m['flow_p50']:>12.2f}"
              f"{m['flow_p99']:>12.2f}{m['cps']:>9.0f}{m['cps'] / floor['cps']:>9.2f}")
    failed = {f"{n} / {load}": sum(1 for r in rs if r["ok"] < r.get("calls", 0)) for (n, load), rs in figures.items()}
    if any(failed.values()):
        print(f"calls that did not end cleanly: {failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
