"""Test-data generation (run by hand, needs root for tcpdump): capture a fake-FreeSWITCH call
to the engine on the loopback interface and save it as tests/data/esl_unknown_number.pcap.

    sudo .venv/bin/python tests/data/make_esl_pcap.py

The call dials a number no line has (+380449999999), so the capture holds the connect,
myevents, linger, the UNALLOCATED_NUMBER hangup and the teardown, and no file paths.
Tests never run this: they read the committed capture (and write their own with dpkt).
"""

from gevent import monkey

monkey.patch_all()

import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fsrouter.app import App, Overrides  # noqa: E402
from fsrouter.replay.fakefs import FakeFreeSwitch, Scenario  # noqa: E402
from tests.harness import write_config  # noqa: E402

PORT = 18084
OUT = Path(__file__).with_name("esl_unknown_number.pcap")


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    app = App(write_config(tmp / "config"), Overrides(db=f"sqlite:///{tmp / 'x.db'}", listen=f"127.0.0.1:{PORT}"))
    app.start()
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-w", str(OUT), f"tcp port {PORT}"],
                            stderr=subprocess.PIPE)
    dump.stderr.readline()  # "listening on lo ..." once the capture runs
    FakeFreeSwitch(Scenario(destination="+380449999999", uuid="7e1f0c52-2b8a-4c41-9a57-1f0d9e3c6b21",
                            created_us=1796066462967301)).run(("127.0.0.1", PORT))
    app.server.stop(drain_timeout_s=5)
    subprocess.run(["sleep", "1"])  # let tcpdump write the last packets before it is stopped
    dump.terminate()
    dump.wait()
    print(OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
