"""GNSS decoding against its peers: pynmea2 for NMEA, pyubx2 for UBX NAV-PVT (issue 4).

Like for like: pynmea2.parse(line, check=True) per sentence against our framer (checksum checked)
and sentence decoder turning the same sentences into values; UBXReader.parse(frame) against our
framer (checksum checked) and NAV-PVT decoder on the same frame.
"""

from __future__ import annotations

from pathlib import Path

import pynmea2
from pyubx2 import UBXReader

from drivers.gnss import nmea, ubx
from drivers.gnss.framer import Framer
from drivers.gnss.stream import strip_comment_header

DATA = Path(__file__).resolve().parents[1] / "data" / "gnss"
DECODED = (b"GGA", b"RMC", b"GSA", b"GSV", b"GNS", b"ZDA", b"VTG", b"GLL")


def _sentences() -> list[bytes]:
    data = strip_comment_header((DATA / "ublox-zed-f9p-nmea.log").read_bytes())
    lines = [x.strip() for x in data.split(b"\n")]
    return [x for x in lines if x.startswith(b"$") and x[3:6] in DECODED][:200]


def test_nmea_decode_vs_pynmea2(compare) -> None:
    lines = _sentences()
    texts = [x.decode() for x in lines]
    stream = b"".join(x + b"\r\n" for x in lines)

    def ours() -> None:
        parse = nmea.parse
        for frame in Framer().feed(stream):
            parse(frame.sentence)  # type: ignore[union-attr]

    def peer() -> None:
        for text in texts:
            pynmea2.parse(text, check=True)

    compare(ours, peer, peer_name="pynmea2.parse(check=True)", min_ratio=2.0)


def test_ubx_nav_pvt_decode_vs_pyubx2(compare) -> None:
    data = (DATA / "ublox-neo-m8n.log").read_bytes()
    start = data.index(b"\xb5\x62\x01\x07")
    raw = data[start : start + 100]

    def ours() -> None:
        [frame] = Framer().feed(raw)
        ubx.decode(frame)  # type: ignore[arg-type]

    def peer() -> None:
        UBXReader.parse(raw)

    compare(ours, peer, peer_name="pyubx2 UBXReader.parse", min_ratio=2.0)
