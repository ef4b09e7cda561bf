"""Pure-Python reference implementation of every `flight.codec` function, for tests to compare with.

Slow by design: written for clarity, straight from the CCSDS texts, sharing no code with the C.
"""

from flight.codec.reference.link import (
    CaduSync,
    cadu_decode,
    cadu_encode,
    crc16,
    crc32c,
    randomize,
    rs_decode,
    rs_encode,
)
from flight.codec.reference.rice import rice_compress, rice_decompress

__all__ = [
    "CaduSync",
    "cadu_decode",
    "cadu_encode",
    "crc16",
    "crc32c",
    "randomize",
    "rice_compress",
    "rice_decompress",
    "rs_decode",
    "rs_encode",
]
