"""``fsrouter transcript from-pcap``: event-socket TCP connections in a capture -> transcripts.

Packets are read with dpkt (pcap and pcapng; Ethernet, Linux cooked SLL/SLL2, raw IP and
BSD loopback link types, IPv4 and IPv6). Each TCP connection to or from ``port`` (the
outbound socket fsrouter listens on: FreeSWITCH is the client, so bytes *to* the port are
``fs`` and bytes *from* it ``app``) becomes one transcript. Each direction's stream is
reassembled by sequence number (out-of-order segments held back, retransmitted bytes
dropped) and framed by the same FrameParser the engine uses, so a frame split over
several segments, and several frames in one segment, come out as whole frames; a frame's
``t`` is the capture time of the segment that completed it, from the connection's first
packet. A FIN or RST ends the transcript (``eof`` from the side that sent it first).
"""

from __future__ import annotations

import socket as pysocket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import dpkt

from fsrouter.errors import EslProtocolError, TranscriptError
from fsrouter.esl import FrameParser
from fsrouter.esl import names as N
from fsrouter.replay.transcript import APP, FS, SUFFIX, write_transcript


@dataclass
class _Stream:
    """One direction of a connection: reassembly by sequence number into the parser."""

    direction: str
    parser: FrameParser
    next_seq: int | None = None
    held: dict[int, bytes] = field(default_factory=dict)

    def add(self, seq: int, data: bytes, syn: bool) -> list:
        if syn:
            self.next_seq = (seq + 1) & 0xFFFFFFFF
            return []
        if self.next_seq is None:  # capture began mid-connection
            self.next_seq = seq
        if data:
            self.held.setdefault(seq, data)
        frames = []
        while True:
            chunk = self._take()
            if chunk is None:
                return frames
            frames += self.parser.feed(chunk)

    def _take(self) -> bytes | None:
        for seq in list(self.held):
            offset = (self.next_seq - seq) & 0xFFFFFFFF
            data = self.held[seq]
            if offset == 0 or 0 < offset < len(data):  # in order, or overlapping what we have
                del self.held[seq]
                data = data[offset:]
                self.next_seq = (self.next_seq + len(data)) & 0xFFFFFFFF
                return data
            if offset < 0x80000000 and offset >= len(data):  # wholly retransmitted
                del self.held[seq]
        return None


@dataclass
class Connection:
    """One TCP connection: its frames (t, direction, raw) and how it ended."""

    key: tuple
    t0: float
    streams: dict[str, _Stream]
    frames: list = field(default_factory=list)
    eof: tuple[float, str] | None = None

    @property
    def call_uuid(self) -> str | None:
        for _, direction, raw in self.frames:
            if direction == FS:
                frames = FrameParser().feed(raw)
                try:
                    return frames[0].event().get(N.Header.UNIQUE_ID) if frames else None
                except EslProtocolError:
                    return None
        return None


def _ip_packets(path: Path):
    """(timestamp, dpkt IP packet) for every IPv4/IPv6 packet in a pcap or pcapng file."""
    with path.open("rb") as fh:
        magic = fh.read(4)
        fh.seek(0)
        reader = dpkt.pcapng.Reader(fh) if magic == b"\x0a\x0d\x0d\x0a" else dpkt.pcap.Reader(fh)
        linktype = reader.datalink()
        for ts, buf in reader:
            ip = _decode_link(linktype, buf)
            if isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)):
                yield float(ts), ip


def _decode_link(linktype: int, buf: bytes):
    try:
        if linktype == dpkt.pcap.DLT_EN10MB:
            return dpkt.ethernet.Ethernet(buf).data
        if linktype == dpkt.pcap.DLT_LINUX_SLL:
            return dpkt.sll.SLL(buf).data
        if linktype == 276:  # LINKTYPE_LINUX_SLL2 (tcpdump -i any on new libpcap): 20-byte header
            return _raw_ip(buf[20:])
        if linktype in (dpkt.pcap.DLT_NULL, dpkt.pcap.DLT_LOOP):
            return _raw_ip(buf[4:])
        if linktype in (dpkt.pcap.DLT_RAW, 101, 228, 229):
            return _raw_ip(buf)
    except (dpkt.UnpackError, IndexError):
        return None
    return None


def _raw_ip(buf: bytes):
    if not buf:
        return None
    return dpkt.ip.IP(buf) if buf[0] >> 4 == 4 else dpkt.ip6.IP6(buf)


def _addr(ip, raw: bytes) -> str:
    family = pysocket.AF_INET if isinstance(ip, dpkt.ip.IP) else pysocket.AF_INET6
    return pysocket.inet_ntop(family, raw)


def read_connections(path: str | Path, *, port: int = 8084) -> list[Connection]:
    """Every event-socket connection on ``port`` in the capture, in order of first packet.

    Raises TranscriptError for an unreadable capture or a stream that is not ESL.
    """
    path = Path(path)
    connections: dict[tuple, Connection] = {}
    try:
        for ts, ip in _ip_packets(path):
            tcp = ip.data
            if not isinstance(tcp, dpkt.tcp.TCP) or port not in (tcp.sport, tcp.dport):
                continue
            src, dst = _addr(ip, ip.src), _addr(ip, ip.dst)
            direction = FS if tcp.dport == port else APP
            client = (src, tcp.sport) if direction == FS else (dst, tcp.dport)
            key = client + ((dst, tcp.dport) if direction == FS else (src, tcp.sport))
            conn = connections.get(key)
            syn = bool(tcp.flags & dpkt.tcp.TH_SYN)
            if conn is None or (syn and direction == FS and conn.eof is not None):
                if conn is not None:  # the same ports used again: a new connection
                    connections[key + (len(connections),)] = connections.pop(key)
                conn = connections[key] = Connection(key, ts, {
                    FS: _Stream(FS, FrameParser(commands=False)), APP: _Stream(APP, FrameParser(commands=True))})
            try:
                frames = conn.streams[direction].add(tcp.seq, bytes(tcp.data), syn)
            except EslProtocolError as exc:
                raise TranscriptError(str(path), None, f"connection {key}: {direction} bytes are not ESL: {exc}") from None
            conn.frames += [(round(ts - conn.t0, 6), direction, f.raw) for f in frames]
            if tcp.flags & (dpkt.tcp.TH_FIN | dpkt.tcp.TH_RST) and conn.eof is None:
                conn.eof = (round(ts - conn.t0, 6), direction)
    except (dpkt.UnpackError, ValueError, OSError) as exc:
        raise TranscriptError(str(path), None, f"cannot read the capture: {exc}") from None
    return [c for c in connections.values() if c.frames]


def pcap_to_transcripts(path: str | Path, out_dir: str | Path, *, port: int = 8084,
                        config: dict | None = None) -> list[Path]:
    """Write one ``<call uuid>.esl.jsonl`` per connection into ``out_dir``; returns the files.

    The application side is taken to be fsrouter (the capture is of its port). config:
    header keys ``config`` and ``paths`` of the config the captured engine ran with, so
    ``fsrouter replay`` finds it and can match its folders (see runner.header_for_config).
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TranscriptError(str(out_dir), None, f"cannot create the output folder: {exc.strerror or exc}") from None
    written = []
    for n, conn in enumerate(read_connections(path, port=port), 1):
        name = conn.call_uuid or f"connection-{n}"
        header = {"recorded_at": datetime.fromtimestamp(conn.t0, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "peer": f"{conn.key[0]}:{conn.key[1]}",
                  "description": f"from capture {Path(path).name}, TCP connection {n}",
                  "app": f"fsrouter at {conn.key[2]}:{conn.key[3]} (from a packet capture)",
                  "source": "pcap", "call_uuid": conn.call_uuid, **(config or {})}
        target = out_dir / f"{name}{SUFFIX}"
        write_transcript(target, header, conn.frames, conn.eof)
        written.append(target)
    return written
