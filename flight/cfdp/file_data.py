"""The File Data PDU (727.0-B-5 section 5.3): optional segment metadata, the offset of the segment
in the file (32 bits, 64 with the large file flag), and the segment's octets.

With the header's segment metadata flag set, the data field starts with one octet (record
continuation state, 2 bits; segment metadata length, 6 bits) and up to 63 octets of metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from flight.cfdp.defs import PduType, RecordContinuationState
from flight.cfdp.errors import PduFieldError, PduTruncatedError
from flight.cfdp.header import CRC_OCTETS, MAX_DATA_FIELD_OCTETS, PduHeader, unpack_header
from flight.codec import crc16

MAX_SEGMENT_METADATA_OCTETS: Final[int] = 63
_RCS: Final = tuple(RecordContinuationState)


@dataclass(frozen=True, slots=True)
class FileDataPdu:
    """One file segment. `record_continuation_state` is None when the PDU has no segment
    metadata (the usual case); then `segment_metadata` is empty."""

    header: PduHeader
    offset: int
    data: bytes
    record_continuation_state: RecordContinuationState | None = None
    segment_metadata: bytes = b""

    def pack(self) -> bytes:
        h = self.header
        width = h.fss_octets
        if self.offset.__class__ is not int or not 0 <= self.offset < 1 << (8 * width):
            raise PduFieldError("segment offset", self.offset, f"an unsigned {8 * width}-bit value")
        if self.record_continuation_state is None:
            if self.segment_metadata:
                raise PduFieldError("segment metadata", self.segment_metadata,
                                    "empty without a record continuation state")
            body = self.offset.to_bytes(width, "big") + self.data
            return h.frame(PduType.FILE_DATA, body)
        if len(self.segment_metadata) > MAX_SEGMENT_METADATA_OCTETS:
            raise PduFieldError("segment metadata length", len(self.segment_metadata),
                                f"at most {MAX_SEGMENT_METADATA_OCTETS} octets")
        body = bytes(((self.record_continuation_state << 6) | len(self.segment_metadata),))
        body += self.segment_metadata + self.offset.to_bytes(width, "big") + self.data
        return h.frame(PduType.FILE_DATA, body, segment_metadata=True)

    @classmethod
    def unpack(cls, data: bytes) -> FileDataPdu:
        header, pdu_type, segment_metadata, start, end = unpack_header(data)
        if pdu_type != PduType.FILE_DATA:
            raise PduFieldError("PDU kind", "file directive", "file data")
        return cls._from_body(header, segment_metadata, data, start, end)

    @classmethod
    def _from_body(cls, header: PduHeader, segment_metadata: bool, data: bytes, pos: int,
                   end: int) -> FileDataPdu:
        state = None
        meta = b""
        if segment_metadata:
            if pos >= end:
                raise PduTruncatedError("segment metadata", 1, 0)
            state = _RCS[data[pos] >> 6]
            stop = pos + 1 + (data[pos] & 0x3F)
            if stop > end:
                raise PduTruncatedError("segment metadata", stop - pos, end - pos)
            meta = bytes(data[pos + 1:stop])
            pos = stop
        width = 8 if header.large_file else 4
        if pos + width > end:
            raise PduTruncatedError("file data offset", width, end - pos)
        offset = int.from_bytes(data[pos:pos + width], "big")
        return cls(header, offset, bytes(data[pos + width:end]), state, meta)


class FileDataFramer:
    """Packs the file data PDUs (without segment metadata) of one transaction, the header octets
    computed once: the sender's hot path. Same octets as `FileDataPdu(header, ...).pack()`."""

    __slots__ = ("_first", "_tail", "_crc", "_width", "_limit")

    def __init__(self, header: PduHeader) -> None:
        self._first, self._tail = header.prefix(PduType.FILE_DATA)
        self._crc = CRC_OCTETS if header.crc else 0
        self._width = header.fss_octets
        self._limit = 1 << (8 * self._width)

    def pack(self, offset: int, data: bytes) -> bytes:
        length = self._width + len(data) + self._crc
        if length > MAX_DATA_FIELD_OCTETS:
            raise PduFieldError("PDU data field length", length,
                                f"at most {MAX_DATA_FIELD_OCTETS}")
        if not 0 <= offset < self._limit:
            raise PduFieldError("segment offset", offset, f"below {self._limit}")
        pdu = b"".join((bytes((self._first, length >> 8, length & 0xFF)), self._tail,
                        offset.to_bytes(self._width, "big"), data))
        if self._crc:
            pdu += crc16(pdu).to_bytes(2, "big")
        return pdu
