"""The framing floor: the least a *correct* outbound-socket client can do, by hand.

The same reference flow as ``floor_server.py`` (connect, myevents, nixevent and linger
in one write, answer, playback, hangup, exit), but the byte stream is cut into ESL messages as
the protocol says (PROTOCOL-NOTES §1): a header block up to the blank line, then
``Content-Length`` bytes of body. A reply is the next ``command/reply``; an execute is
done at the CHANNEL_EXECUTE_COMPLETE event whose ``Application-UUID`` header is the
``Event-UUID`` sent; the call ends at the linger / disconnect notice. So a token that
appears inside an event body (a channel variable holding ``Content-Disposition:
linger``, say) cannot fool it, which the lean floor's substring scan can be. No parsing
beyond the headers it reads, no store. Usage: python floor_framed_server.py PORT
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402
import uuid  # noqa: E402

from gevent.server import StreamServer  # noqa: E402

#: fsrouter's opening (fsrouter.session.connection.OPENING): connect, myevents, nixevent of
#: the myevents types no flow reads, linger.
OPENING = (b"connect\n\nmyevents\n\n"
           b"nixevent CHANNEL_APPLICATION CHANNEL_CREATE CHANNEL_DATA CHANNEL_DESTROY CHANNEL_EXECUTE "
           b"CHANNEL_ORIGINATE CHANNEL_UUID CHANNEL_OUTGOING CHANNEL_PARK CHANNEL_PROGRESS "
           b"CHANNEL_PROGRESS_MEDIA CHANNEL_STATE CHANNEL_UNPARK DETECTED_SPEECH NOTALK TALK\n\n"
           b"linger\n\n")


def handle(sock, _address):
    buf = b""

    def message() -> tuple[bytes, bytes]:
        """The next (header block, body), framed by the blank line and Content-Length."""
        nonlocal buf
        while True:
            end = buf.find(b"\n\n")
            if end >= 0:
                head = buf[:end]
                at = head.find(b"Content-Length: ")
                size = int(head[at + 16:].split(b"\n", 1)[0]) if at >= 0 else 0
                if len(buf) >= end + 2 + size:
                    body = buf[end + 2:end + 2 + size]
                    buf = buf[end + 2 + size:]
                    return head, body
            data = sock.recv(65536)
            if not data:
                raise ConnectionError
            buf += data

    def reply() -> None:
        while b"Content-Type: command/reply" not in message()[0]:
            pass

    def command(text: str) -> None:
        sock.sendall(text.encode())
        reply()

    def execute(app: str, arg: str | None = None) -> None:
        u = str(uuid.uuid4()).encode()
        msg = f"sendmsg\ncall-command: execute\nexecute-app-name: {app}\n"
        msg += f"execute-app-arg: {arg}\n" if arg else ""
        sock.sendall(msg.encode() + b"Event-UUID: " + u + b"\n\n")
        while True:
            head, body = message()
            if (b"text/event-plain" in head and body.startswith(b"Event-Name: CHANNEL_EXECUTE_COMPLETE\n")
                    and b"\nApplication-UUID: " + u + b"\n" in body):
                return

    def until_notice(disposition: bytes) -> None:
        while True:
            head, _ = message()
            if b"Content-Type: text/disconnect-notice" in head and b"Content-Disposition: " + disposition in head:
                return

    try:
        sock.sendall(OPENING)  # in one write, as fsrouter sends it
        for _ in range(4):
            reply()
        execute("answer")
        execute("playback", "/sounds/en/greeting.wav")
        command("sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
        until_notice(b"linger")
        sock.sendall(b"exit\n\n")
        until_notice(b"disconnect")
    except ConnectionError:
        pass


if __name__ == "__main__":
    StreamServer(("127.0.0.1", int(sys.argv[1])), handle, backlog=1024).serve_forever()
