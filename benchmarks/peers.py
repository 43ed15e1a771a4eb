"""The servers under test, each in its own process, and what /proc says about them.

Peers run the reference flow (connect, myevents, linger, answer, playback, hangup, exit):
(a) the floor, (a2) the floor that frames messages as the protocol says, (b) greenswitch's OutboundESLServer, (c) greenswitch's OutboundSession on a
gevent StreamServer, (d) genesis's asyncio Outbound server, (e) ``fsrouter serve`` with its
store writing the call record; (f) ``fsrouter serve`` on the realistic flow.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Peer:
    """key: short name; label: table row; argv(port, folder) -> command line; flow: reference | realistic."""

    key: str
    label: str
    argv: object
    flow: str = "reference"


PEER_VENV = HERE / ".venv"  # genesis and its ~40 dependencies (anyio's pytest plugin among them) stay out of .venv


def peer_python() -> str:
    """The interpreter of benchmarks/.venv (created with benchmarks/requirements.txt on first use)."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PEER_VENV} for the genesis peer", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(HERE / "requirements.txt")], check=True)
    return str(python)


def _script(name: str, *args: str, python=lambda: sys.executable):
    return lambda port, _folder: [python(), str(HERE / name), *args, str(port)]


REALISTIC_LINES = 256  # each line has its own menu and group of two, so calls in flight never share an employee


def realistic_dids() -> tuple[str, ...]:
    return tuple(f"+38044{1000000 + n}" for n in range(REALISTIC_LINES))


def write_realistic(target: Path) -> None:
    """config_realistic/ with its one line, menu, group and pair of employees repeated
    REALISTIC_LINES times: a call rings its own line's pair, like independent callers do."""
    shutil.copy(HERE / "config_realistic" / "settings.yaml", target / "settings.yaml")
    line = (HERE / "config_realistic" / "numbers" / "kyiv.yaml").read_text()
    menu = (HERE / "config_realistic" / "ivr.yaml").read_text().split("  main:\n", 1)[1]
    (target / "numbers").mkdir()
    employees, groups, menus = ["employees:"], ["groups:"], ["ivr:"]
    for n, did in enumerate(realistic_dids()):
        employees += [f"  a_{n}: {{name: A{n}, extension: \"1{n:03d}\", endpoint: user/1{n:03d}, phones: []}}",
                      f"  b_{n}: {{name: B{n}, extension: \"2{n:03d}\", endpoint: user/2{n:03d}, phones: []}}"]
        groups.append(f"  sales_{n}: {{members: [a_{n}, b_{n}], strategy: in_order, ring_time: 20, no_answer: hangup}}")
        menus.append(f"  main_{n}:\n" + menu.replace("group: sales", f"group: sales_{n}"))
        (target / "numbers" / f"line_{n}.yaml").write_text(
            line.replace('"+380441234567"', f'"{did}"').replace("ivr: main", f"ivr: main_{n}")
                .replace("group: sales", f"group: sales_{n}"))
    (target / "employees.yaml").write_text("\n".join(employees) + "\n")
    (target / "groups.yaml").write_text("\n".join(groups) + "\n")
    (target / "ivr.yaml").write_text("\n".join(menus))


def _fsrouter(config: str):
    def argv(port: int, folder: Path) -> list[str]:
        target = folder / config
        if config == "config_realistic":
            target.mkdir()
            write_realistic(target)
        else:
            shutil.copytree(HERE / config, target)
        settings = target / "settings.yaml"  # folders: the repo's prompts, scratch space in the run's folder
        settings.write_text(settings.read_text().replace("../../sounds", str(HERE.parent / "sounds"))
                            .replace("../../var/bench", str(folder / "var")))
        return [sys.executable, "-m", "fsrouter", "serve", "--config", str(target),
                "--db", f"sqlite:///{folder / (config + '.db')}", "--listen", f"127.0.0.1:{port}"]
    return argv


PEERS = [
    Peer("floor", "(a) floor: bare StreamServer", _script("floor_server.py")),
    Peer("floor-framed", "(a2) floor, framing messages", _script("floor_framed_server.py")),
    Peer("gs-own", "(b) greenswitch OutboundESLServer", _script("greenswitch_server.py", "own")),
    Peer("gs-stream", "(c) greenswitch on StreamServer", _script("greenswitch_server.py", "stream")),
    Peer("genesis", "(d) genesis (asyncio)", _script("genesis_server.py", python=peer_python)),
    Peer("fsrouter", "(e) fsrouter serve", _fsrouter("config")),
]
REALISTIC = Peer("fsrouter-realistic", "(f) fsrouter, realistic flow", _fsrouter("config_realistic"), "realistic")


class Server:
    """One running peer: start, wait until it listens, read its CPU time and RSS, stop."""

    def __init__(self, peer: Peer, folder: Path):
        self.peer = peer
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(peer.argv(self.port, folder), stdout=subprocess.DEVNULL,
                                     stderr=open(folder / f"{peer.key}.stderr", "wb"))

    def wait_listening(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.peer.label} exited with {self.proc.returncode}: {self.proc.args}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"{self.peer.label} did not listen on {self.port}")

    def cpu_s(self) -> float:
        """utime + stime of the server process so far, in seconds (/proc/<pid>/stat)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * _TICK_S

    def wait_quiet(self, *, window_s: float = 0.2, busy_s: float = 0.01, timeout_s: float = 60.0) -> float:
        """Wait until this server is idle: under ``busy_s`` seconds of CPU over a
        ``window_s`` window (at most ``timeout_s``). A peer that is still tearing calls
        down after its load (genesis's asyncio server after 5,000 held calls, greenswitch
        lingering a second per session) would otherwise take CPU from the next peer's
        load. Returns the seconds waited."""
        start = time.monotonic()
        cpu = self.cpu_s()
        while time.monotonic() - start < timeout_s:
            time.sleep(window_s)
            now = self.cpu_s()
            if now - cpu < busy_s:
                break
            cpu = now
        return time.monotonic() - start

    def rss_bytes(self) -> int:
        """Resident set size now (/proc/<pid>/statm, resident pages)."""
        with open(f"/proc/{self.proc.pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
