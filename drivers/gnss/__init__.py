"""GNSS receiver driver: NMEA 0183 and UBX decoding, per-epoch fixes, u-blox configuration."""

from drivers.gnss.fix import Fix, FixAssembler, FixMode, GnssTime
from drivers.gnss.stream import DecoderCounters, StreamDecoder, decode

__all__ = [
    "DecoderCounters",
    "Fix",
    "FixAssembler",
    "FixMode",
    "GnssTime",
    "StreamDecoder",
    "decode",
]
