"""EslConnection's writes and ids: a command larger than the socket buffer still goes out
whole and in order, and Event-UUIDs have the form FreeSWITCH shows for them."""

from __future__ import annotations

import re
import socket

import gevent
import structlog

from fsrouter.esl import FrameParser
from fsrouter.replay.fsframes import command_reply
from fsrouter.session.connection import EslConnection, new_uuid

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_new_uuid_gives_distinct_version_4_uuids():
    ids = [new_uuid() for _ in range(5000)]
    assert all(UUID4.match(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_command_larger_than_the_socket_buffer_is_sent_whole_then_the_next_one():
    ours, peer = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    conn = EslConnection(ours, log=structlog.get_logger(), reply_timeout_s=5)
    conn.start()
    body = b"x" * 2_000_000
    big = b"sendmsg\ncontent-type: text/plain\ncontent-length: %d\n\n" % len(body) + body
    received = []

    def freeswitch():
        parser = FrameParser(commands=True)
        while len(received) < 2:
            frames = parser.feed(peer.recv(65536))
            received.extend(frames)
            peer.sendall(command_reply("+OK") * len(frames))

    fs = gevent.spawn(freeswitch)
    try:
        conn.send_raw(big)
        conn.send_raw(b"myevents\n\n")
        fs.join(timeout=10)
        assert [(f.command, f.body) for f in received] == [("sendmsg", body), ("myevents", b"")]
    finally:
        conn.close()
        peer.close()
