"""The fixed PDU header (727.0-B-5 section 5.1) and the PDU CRC.

Octet 0: version (3 bits, 001), PDU type, direction, transmission mode, CRC flag, large file flag.
Octets 1-2: PDU data field length (octets after the header, the CRC included).
Octet 3: segmentation control, length of entity IDs less one (3 bits), segment metadata flag,
length of the transaction sequence number less one (3 bits).
Then the source entity ID, the transaction sequence number and the destination entity ID, all
big-endian.

`PduHeader` holds what a transaction fixes for all its PDUs; the PDU type, the data field length and
the segment metadata flag belong to each PDU and are written by the PDU classes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from flight.cfdp.defs import (
    CFDP_VERSION,
    MAX_ID_OCTETS,
    Direction,
    PduType,
    SegmentationControl,
    TransmissionMode,
)
from flight.cfdp.errors import (
    PduCrcError,
    PduFieldError,
    PduLengthError,
    PduTruncatedError,
    PduVersionError,
)
from flight.codec import crc16

FIXED_OCTETS: Final[int] = 4
CRC_OCTETS: Final[int] = 2
MAX_DATA_FIELD_OCTETS: Final[int] = 0xFFFF

_FIXED: Final = struct.Struct(">BHB")
_DIRECTIONS: Final = (Direction.TOWARD_RECEIVER, Direction.TOWARD_SENDER)
_MODES: Final = (TransmissionMode.ACKNOWLEDGED, TransmissionMode.UNACKNOWLEDGED)
_SEG_CTRL: Final = (SegmentationControl.NOT_PRESERVED, SegmentationControl.PRESERVED)

# Decoded headers by their octets (the length field left out): every PDU of a transaction has the
# same, so the receiver's hot path skips building and checking the value again.
_DECODED: dict[bytes, PduHeader] = {}
_DECODED_LIMIT: Final = 256


def octets_for(value: int) -> int:
    """The fewest octets (1..8) that hold the unsigned `value`."""
    return max(1, (value.bit_length() + 7) // 8)


@dataclass(frozen=True, slots=True)
class PduHeader:
    """The per-transaction part of the fixed header. Lengths are in octets (1..8)."""

    direction: Direction
    transmission_mode: TransmissionMode
    source_entity_id: int
    transaction_seq_num: int
    destination_entity_id: int
    entity_id_length: int = 2
    seq_num_length: int = 2
    crc: bool = False
    large_file: bool = False
    segmentation_control: SegmentationControl = SegmentationControl.NOT_PRESERVED

    def __post_init__(self) -> None:
        for name in ("entity_id_length", "seq_num_length"):
            n = getattr(self, name)
            if n.__class__ is not int or not 1 <= n <= MAX_ID_OCTETS:
                raise PduFieldError(name, n, f"1..{MAX_ID_OCTETS} octets")
        for name, width in (
            ("source_entity_id", self.entity_id_length),
            ("destination_entity_id", self.entity_id_length),
            ("transaction_seq_num", self.seq_num_length),
        ):
            v = getattr(self, name)
            if v.__class__ is not int or not 0 <= v < 1 << (8 * width):
                raise PduFieldError(name, v, f"an unsigned integer of {width} octets")

    @property
    def fss_octets(self) -> int:
        """Width of file-size-sensitive fields (offsets, sizes): 8 with the large file flag."""
        return 8 if self.large_file else 4

    @property
    def octets(self) -> int:
        return FIXED_OCTETS + 2 * self.entity_id_length + self.seq_num_length

    def toward(self, direction: Direction) -> PduHeader:
        """The same transaction's header for PDUs travelling `direction`."""
        if direction is self.direction:
            return self
        return PduHeader(
            direction, self.transmission_mode, self.source_entity_id, self.transaction_seq_num,
            self.destination_entity_id, self.entity_id_length, self.seq_num_length, self.crc,
            self.large_file, self.segmentation_control,
        )

    def prefix(self, pdu_type: PduType, segment_metadata: bool = False) -> tuple[int, bytes]:
        """(octet 0, octets 3..end): the header around the data field length, which varies."""
        first = (
            (CFDP_VERSION << 5) | (pdu_type << 4) | (self.direction << 3)
            | (self.transmission_mode << 2) | (self.crc << 1) | self.large_file
        )
        e, s = self.entity_id_length, self.seq_num_length
        tail = bytes(((self.segmentation_control << 7) | ((e - 1) << 4)
                      | (segment_metadata << 3) | (s - 1),))
        tail += (
            self.source_entity_id.to_bytes(e, "big")
            + self.transaction_seq_num.to_bytes(s, "big")
            + self.destination_entity_id.to_bytes(e, "big")
        )
        return first, tail

    def frame(self, pdu_type: PduType, body: bytes, segment_metadata: bool = False) -> bytes:
        """The whole PDU: this header, `body` as the data field, and the CRC if the flag is set."""
        first, tail = self.prefix(pdu_type, segment_metadata)
        length = len(body) + (CRC_OCTETS if self.crc else 0)
        if length > MAX_DATA_FIELD_OCTETS:
            raise PduFieldError("PDU data field length", length, f"at most {MAX_DATA_FIELD_OCTETS}")
        pdu = bytes((first, length >> 8, length & 0xFF)) + tail + body
        if self.crc:
            pdu += crc16(pdu).to_bytes(2, "big")
        return pdu


def unpack_header(data: bytes) -> tuple[PduHeader, PduType, bool, int, int]:
    """Parse and check the header of the PDU `data` (exactly one PDU).

    Returns (header, PDU type, segment metadata flag, start, end): the data field is
    ``data[start:end]``, the CRC (checked here) excluded.
    """
    size = len(data)
    if size < FIXED_OCTETS:
        raise PduTruncatedError("PDU header", FIXED_OCTETS, size)
    first, length, third = _FIXED.unpack_from(data)
    version = first >> 5
    if version != CFDP_VERSION:
        raise PduVersionError(version, CFDP_VERSION)
    e = ((third >> 4) & 0x7) + 1
    s = (third & 0x7) + 1
    start = FIXED_OCTETS + 2 * e + s
    if size < start:
        raise PduTruncatedError("PDU header", start, size)
    if size - start != length:
        raise PduLengthError("PDU data field", length, size - start)
    crc = bool(first & 0x02)
    end = size
    if crc:
        if length < CRC_OCTETS:
            raise PduTruncatedError("PDU data field with CRC", CRC_OCTETS, length)
        end -= CRC_OCTETS
        received = (data[end] << 8) | data[end + 1]
        computed = crc16(data[:end])
        if received != computed:
            raise PduCrcError(received, computed)
    key = bytes(data[3:start]) + bytes((first,))
    header = _DECODED.get(key)
    if header is None:
        header = _decode_header(data, first, third, e, s, start, crc)
        if len(_DECODED) >= _DECODED_LIMIT:
            _DECODED.clear()
        _DECODED[key] = header
    pdu_type = PduType.FILE_DATA if first & 0x10 else PduType.FILE_DIRECTIVE
    return header, pdu_type, bool(third & 0x08), start, end


def _decode_header(data: bytes, first: int, third: int, e: int, s: int, start: int,
                   crc: bool) -> PduHeader:
    return PduHeader(
        _DIRECTIONS[(first >> 3) & 1],
        _MODES[(first >> 2) & 1],
        int.from_bytes(data[FIXED_OCTETS:FIXED_OCTETS + e], "big"),
        int.from_bytes(data[FIXED_OCTETS + e:FIXED_OCTETS + e + s], "big"),
        int.from_bytes(data[FIXED_OCTETS + e + s:start], "big"),
        e,
        s,
        crc,
        bool(first & 0x01),
        _SEG_CTRL[third >> 7],
    )
