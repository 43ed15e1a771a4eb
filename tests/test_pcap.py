"""Packet captures of the event-socket port turned into transcripts that replay ok."""

import random
from pathlib import Path

import dpkt

from fsrouter.cli import main
from fsrouter.replay.fakefs import Scenario
from fsrouter.replay.pcap import pcap_to_transcripts, read_connections
from fsrouter.replay.runner import ReplayOptions, header_for_config, replay_all
from fsrouter.replay.transcript import read_transcript

TCPDUMP_CAPTURE = Path(__file__).with_name("data") / "esl_unknown_number.pcap"  # made by tests/data/make_esl_pcap.py
FS_ADDR, APP_ADDR = (bytes([127, 0, 0, 1]), 40000), (bytes([127, 0, 0, 1]), 8084)


def write_pcap(path: Path, segments) -> Path:
    """segments: (t, "fs"|"app", payload bytes, flags, seq) -> an Ethernet/IPv4 pcap written with dpkt."""
    with path.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh)
        for t, direction, payload, flags, seq in segments:
            (src, sport), (dst, dport) = (FS_ADDR, APP_ADDR) if direction == "fs" else (APP_ADDR, FS_ADDR)
            tcp = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, flags=flags, data=payload)
            ip = dpkt.ip.IP(src=src, dst=dst, p=dpkt.ip.IP_PROTO_TCP, data=tcp)
            ip.len = len(bytes(ip))
            eth = dpkt.ethernet.Ethernet(src=b"\x00" * 6, dst=b"\x00" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
            writer.writepkt(bytes(eth), ts=t)
    return path


def segments_of(transcript, rng: random.Random):
    """The frames as TCP segments: cut at random points, glued with the next frame, one
    segment sent twice and one swapped with its successor (as a real capture may show)."""
    isn = {"fs": 1000, "app": 5000}
    seq = {d: isn[d] + 1 for d in isn}
    out = [(0.0, "fs", b"", dpkt.tcp.TH_SYN, isn["fs"]), (0.0, "app", b"", dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, isn["app"])]
    stream = []
    for t, direction, raw in transcript:
        if stream and stream[-1][1] == direction and rng.random() < 0.3:
            stream[-1] = (t, direction, stream[-1][2] + raw)  # several frames in one segment
        else:
            stream.append((t, direction, raw))
    for t, direction, data in stream:
        cuts = sorted(rng.sample(range(1, len(data)), min(2, len(data) - 1))) if len(data) > 2 else []
        pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
        for piece in pieces:
            out.append((100.0 + t, direction, piece, dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, seq[direction]))
            seq[direction] += len(piece)
    out.insert(7, out[6])  # a retransmission
    out[9], out[10] = out[10], out[9]  # out of order
    out.append((100.0 + transcript[-1][0], "fs", b"", dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK, seq["fs"]))
    return out


def test_a_tcpdump_capture_of_a_fake_freeswitch_call_becomes_a_transcript_that_replays_ok(tmp_path, config_dir):
    (path,) = pcap_to_transcripts(TCPDUMP_CAPTURE, tmp_path / "out", port=18084)
    transcript = read_transcript(path)
    assert path.name == "7e1f0c52-2b8a-4c41-9a57-1f0d9e3c6b21.esl.jsonl"
    assert [e.frame.command for e in transcript.app_entries()] == [
        "connect", "myevents", "linger", "sendmsg", "exit"]
    assert transcript.eof.direction == "fs"
    run = replay_all([path], ReplayOptions(config=config_dir))
    assert [(r.status, r.divergence) for r in run.results] == [("ok", None)]


def test_frames_split_across_segments_glued_resent_and_reordered_are_reassembled_byte_exact(engine, tmp_path, config_dir):
    fake = engine.call(Scenario(endpoints={"user/101": "busy", "user/102": "answer"}))
    capture = write_pcap(tmp_path / "split.pcap", segments_of(fake.transcript, random.Random(7)))
    (connection,) = read_connections(capture)
    assert [(d, raw) for _, d, raw in connection.frames] == [(d, raw) for _, d, raw in fake.transcript]
    assert connection.eof[1] == "fs"
    out = tmp_path / "out"
    assert main(["transcript", "from-pcap", str(capture), "-o", str(out), "--config", str(config_dir)]) == 0
    assert header_for_config(config_dir)["config_version"] == read_transcript(
        out / f"{fake.scenario.uuid}.esl.jsonl").header["config_version"]
    run = replay_all([out], ReplayOptions())
    assert [(r.status, r.divergence) for r in run.results] == [("ok", None)]


def test_a_file_that_is_not_a_capture_is_a_clear_error(tmp_path, capsys):
    bogus = tmp_path / "notes.pcap"
    bogus.write_text("not a capture")
    assert main(["transcript", "from-pcap", str(bogus), "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert f"{bogus}: cannot read the capture" in err and "Traceback" not in err
