"""`python -m drivers.gnss FILE`: print the fixes of a captured receiver stream as JSON lines.

A capture may open with a comment header of lines starting with '#' (receiver, date, place); it
is not part of what the receiver sent, so it is dropped before decoding, as gpsd's regression
harness treats it (its packet lexer takes '#' lines as comments, never as data). Counters go to
stderr with --counters.
"""

from __future__ import annotations

import argparse
import json
import sys

from drivers.gnss.stream import StreamDecoder, strip_comment_header


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drivers.gnss", description=__doc__.split("\n")[0]
    )
    parser.add_argument("file", help="captured byte stream (NMEA and/or UBX)")
    parser.add_argument("--counters", action="store_true", help="print decoder counters to stderr")
    args = parser.parse_args(argv)
    with open(args.file, "rb") as f:
        data = strip_comment_header(f.read())
    decoder = StreamDecoder()
    out = sys.stdout
    for fix in decoder.feed(data) + decoder.flush():
        out.write(json.dumps(fix.to_json()) + "\n")
    if args.counters:
        print(json.dumps(decoder.counters.as_dict()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
