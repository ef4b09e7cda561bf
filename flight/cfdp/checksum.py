"""File checksums of CFDP (727.0-B-5 section 4.2.2 and the SANA checksum identifiers registry).

- MODULAR (type 0, the default): the file read as big-endian 32-bit words aligned on 4-octet
  boundaries from the start of the file (the last word padded with zeros), summed modulo 2**32.
  A sum does not care about order, so segments can be added at their offsets in any order.
- CRC32C (type 2): Castagnoli, through the C engine (`flight.codec.crc32c`).
- CRC32 (type 3): IEEE 802.3, through `zlib.crc32`.
- NULL (type 15): always 0 (no check).

The Proximity-1 CRC-32 (type 1) is not implemented: a receiver that meets it declares an
unsupported checksum type.
"""

from __future__ import annotations

import array
import sys
import zlib
from collections.abc import Callable
from typing import Final

from flight.cfdp.defs import ChecksumType
from flight.codec import crc32c

SUPPORTED: Final = frozenset(
    {ChecksumType.MODULAR, ChecksumType.CRC32C, ChecksumType.CRC32, ChecksumType.NULL}
)
_LITTLE: Final = sys.byteorder == "little"
CHUNK_OCTETS: Final[int] = 1 << 20


def modular_sum(data: bytes, offset: int = 0) -> int:
    """This segment's share of the modular checksum when it sits at `offset` in the file."""
    lead = offset & 3
    if lead:
        data = bytes(lead) + data
    tail = -len(data) & 3
    if tail:
        data = bytes(data) + bytes(tail)
    words = array.array("I")
    words.frombytes(data)
    if _LITTLE:
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


class Checksum:
    """An incremental file checksum. CRC types need the segments in file order from offset 0;
    the modular checksum takes them at any offset, in any order (each octet once)."""

    __slots__ = ("kind", "value", "_next")

    def __init__(self, kind: ChecksumType) -> None:
        if kind not in SUPPORTED:
            raise ValueError(f"checksum type {kind!r} is not supported here")
        self.kind = kind
        self.value = 0
        self._next = 0

    def update(self, data: bytes, offset: int) -> None:
        kind = self.kind
        if kind == ChecksumType.MODULAR:
            self.value = (self.value + modular_sum(data, offset)) & 0xFFFFFFFF
            return
        if kind == ChecksumType.NULL:
            return
        if offset != self._next:
            raise ValueError(f"{kind.name} needs segments in order: offset {offset}, "
                             f"expected {self._next}")
        self._next = offset + len(data)
        if kind == ChecksumType.CRC32C:
            self.value = crc32c(data, self.value)
        else:
            self.value = zlib.crc32(data, self.value)


def file_checksum(kind: ChecksumType, read: Callable[[int, int], bytes], size: int) -> int:
    """The checksum of the first `size` octets that `read(offset, length)` returns."""
    checksum = Checksum(kind)
    if kind == ChecksumType.NULL:
        return 0
    offset = 0
    while offset < size:
        chunk = read(offset, min(CHUNK_OCTETS, size - offset))
        if not chunk:
            raise ValueError(f"file ended at {offset} octets, expected {size}")
        checksum.update(chunk, offset)
        offset += len(chunk)
    return checksum.value
