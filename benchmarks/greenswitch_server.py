"""Peers (b) and (c): greenswitch running the reference flow, used as its README shows.

connect, myevents, linger, answer, playback (blocking: greenswitch waits for the
CHANNEL_EXECUTE_COMPLETE whose ``variable_current_application`` names the app), hangup,
wait for the linger notice, exit.

    python greenswitch_server.py own PORT      # (b) greenswitch's OutboundESLServer
    python greenswitch_server.py stream PORT   # (c) greenswitch's OutboundSession on a gevent StreamServer
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

import gevent.event  # noqa: E402
from gevent.server import StreamServer  # noqa: E402
from greenswitch.esl import OutboundESLServer, OutboundSession, OutboundSessionHasGoneAway  # noqa: E402


def reference_flow(session: OutboundSession) -> None:
    """The reference flow on a connected greenswitch session; ends with ``exit`` sent."""
    lingered = gevent.event.Event()
    session.register_handle("DISCONNECT", lambda event: lingered.set())
    session.myevents()
    session.linger()
    session.call_command("answer", block=True)
    session.playback("/sounds/en/greeting.wav", block=True)
    session.send("sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING")
    lingered.wait(10)


class ReferenceApp:
    """greenswitch's application shape: built with the session, ``run()`` plays the call."""

    def __init__(self, session):
        self.session = session

    def run(self) -> None:
        try:
            reference_flow(self.session)
        except OutboundSessionHasGoneAway:
            pass  # OutboundESLServer calls session.stop() (exit) when run() returns


def handle_stream(sock, address) -> None:
    session = OutboundSession(address, sock)
    try:
        session.connect()
        reference_flow(session)
    except OutboundSessionHasGoneAway:
        pass
    finally:
        session.stop()


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "own":
        OutboundESLServer(bind_address="127.0.0.1", bind_port=port, application=ReferenceApp,
                          max_connections=100000).listen()
    else:
        StreamServer(("127.0.0.1", port), handle_stream, backlog=1024).serve_forever()


if __name__ == "__main__":
    main()
