"""``fsrouter transcript show FILE`` | ``check FILE|DIR...`` | ``from-pcap CAPTURE [--port P] -o DIR``.

show: a call's timeline; check: validate transcripts (exit 1 naming file:line); from-pcap:
one transcript per event-socket TCP connection of a tcpdump/Wireshark capture.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("transcript", help="ESL session transcripts: show, check, from-pcap")
    sub = p.add_subparsers(dest="transcript_command", required=True)
    show = sub.add_parser("show", help="a readable timeline of one call")
    show.add_argument("file")
    check = sub.add_parser("check", help="validate transcripts; exit 1 with file:line: message per problem")
    check.add_argument("paths", nargs="+", metavar="FILE|DIR")
    pcap = sub.add_parser("from-pcap", help="turn a capture of the event-socket port into transcripts")
    pcap.add_argument("capture", help="pcap or pcapng file (tcpdump -w, Wireshark)")
    pcap.add_argument("--port", type=int, default=8084, help="the outbound event-socket port (default 8084)")
    pcap.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the transcripts")
    pcap.add_argument("--config", default=None,
                      help="the config folder the captured engine ran with (named in each header for replay)")
    return p


def run(args) -> int:
    from fsrouter.errors import ConfigInvalid, TranscriptError
    from fsrouter.replay.transcript import find_transcripts, read_transcript

    try:
        if args.transcript_command == "show":
            from fsrouter.replay.show import render

            print(render(read_transcript(args.file)))
            return 0
        if args.transcript_command == "check":
            bad = 0
            for path in find_transcripts(args.paths):
                try:
                    t = read_transcript(path)
                    print(f"{path}: ok ({len(t.entries)} frames{'' if t.eof else ', no end line'})")
                except TranscriptError as exc:
                    bad += 1
                    print(str(exc), file=sys.stderr)
            return 1 if bad else 0
        from fsrouter.replay.pcap import pcap_to_transcripts
        from fsrouter.replay.runner import header_for_config

        config = header_for_config(args.config) if args.config else None
        written = pcap_to_transcripts(args.capture, args.output, port=args.port, config=config)
        for path in written:
            print(path)
        print(f"{len(written)} transcript(s) from {args.capture}")
        return 0 if written else 1
    except TranscriptError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except ConfigInvalid as exc:
        for error in exc.errors:
            print(error.render(), file=sys.stderr)
        return 1
