"""The payload-encoding engine: CRCs, CCSDS randomizer, Reed-Solomon, CADUs, CCSDS 121 coding.

The functions are implemented in C (sources in `flight/codec/src`, compiled by cffi when the package
is installed) and, with the same behaviour, in pure Python in `flight.codec.reference`, which the
tests compare the C engine with. `BACKEND` is ``"c"`` when the compiled engine is in use.
"""

from flight.codec._link import BACKEND as _LINK_BACKEND
from flight.codec._link import (
    CaduSync,
    cadu_decode,
    cadu_encode,
    crc16,
    crc32c,
    randomize,
    rs_decode,
    rs_encode,
)
from flight.codec._rice import BACKEND as _RICE_BACKEND
from flight.codec._rice import rice_compress, rice_decompress
from flight.codec.errors import CodecError, UncorrectableError

BACKEND: str = "c" if _LINK_BACKEND == _RICE_BACKEND == "c" else "python"

__all__ = [
    "BACKEND",
    "CaduSync",
    "CodecError",
    "UncorrectableError",
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
