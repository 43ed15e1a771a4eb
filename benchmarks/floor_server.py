"""The floor: the least an outbound-socket server can do for the reference flow, by hand.

connect, myevents, nixevent, linger (in one write, then their four replies), answer, playback,
hangup, exit on a bare gevent StreamServer,
waiting for each execute's CHANNEL_EXECUTE_COMPLETE by Application-UUID with a plain
bytes scan (the CHANNEL_EXECUTE before it carries the same Application-UUID, so the scan
looks for the COMPLETE's event name first). No parsing beyond that, no store.
Usage: python floor_server.py PORT
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

    def wait_for(token: bytes):
        nonlocal buf
        while token not in buf:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError
            buf += data
        buf = buf[buf.index(token) + len(token):]

    def command(text: str, until: bytes = b"Reply-Text"):
        sock.sendall(text.encode())
        wait_for(until)

    try:
        sock.sendall(OPENING)  # in one write, as fsrouter sends it
        for reply in (b"Control: ", b"Reply-Text", b"Reply-Text", b"Reply-Text"):
            wait_for(reply)
        for app, arg in (("answer", None), ("playback", "/sounds/en/greeting.wav")):
            u = str(uuid.uuid4())
            msg = f"sendmsg\ncall-command: execute\nexecute-app-name: {app}\n"
            msg += f"execute-app-arg: {arg}\n" if arg else ""
            sock.sendall((msg + f"Event-UUID: {u}\n\n").encode())
            wait_for(b"Event-Name: CHANNEL_EXECUTE_COMPLETE\n")
            wait_for(b"Application-UUID: " + u.encode())
        command("sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
        wait_for(b"Content-Disposition: linger")
        sock.sendall(b"exit\n\n")
        wait_for(b"Content-Disposition: disconnect")
    except ConnectionError:
        pass


if __name__ == "__main__":
    StreamServer(("127.0.0.1", int(sys.argv[1])), handle, backlog=1024).serve_forever()
