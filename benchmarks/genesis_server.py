"""Peer (d): the asyncio ``genesis`` package's outbound server running the reference flow.

genesis's own set-up subscribes with ``filter Unique-ID`` + ``event plain all``; to run
the same commands as every other peer it is started with events and linger off and the
handler sends ``myevents`` and ``linger`` itself. After the hangup it waits for
CHANNEL_HANGUP_COMPLETE (it reaches genesis's handlers; the linger notice, in the same
write, does not), then sends ``exit``. Executes block on the
CHANNEL_EXECUTE_COMPLETE whose Application-UUID is the Event-UUID genesis sent.

    python genesis_server.py PORT
"""

import asyncio
import logging
import sys

from genesis import Outbound, Session


async def reference_flow(session: Session) -> None:
    ended = asyncio.Event()
    session.on("CHANNEL_HANGUP_COMPLETE", lambda event: ended.set())  # comes with the linger notice
    await session.send("myevents")
    await session.send("linger")
    await session.sendmsg("execute", "answer", block=True, timeout=10)
    await session.sendmsg("execute", "playback", "/sounds/en/greeting.wav", block=True, timeout=10)
    await session.sendmsg("hangup", "", "NORMAL_CLEARING")
    await asyncio.wait_for(ended.wait(), 10)
    await session.send("exit")


async def main() -> None:
    logging.getLogger("genesis").setLevel(logging.WARNING)
    server = Outbound(reference_flow, "127.0.0.1", int(sys.argv[1]), events=False, linger=False)
    await server.start()


if __name__ == "__main__":
    asyncio.run(main())
