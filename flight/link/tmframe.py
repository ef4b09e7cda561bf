"""TM Transfer Frames (132.0-B-3).

Primary header, 6 octets: version (00), spacecraft ID (10 bits), VCID (3 bits), OCF flag, master
channel frame count (8 bits), virtual channel frame count (8 bits), data field status (16 bits:
secondary header flag, synchronisation flag, packet order flag, segment length ID (2 bits, 11 for
packets), first header pointer (11 bits: offset of the first packet header in the data field,
0x7FF when no packet starts in this frame, 0x7FE when the frame holds only idle data)). Then an
optional secondary header (an ID octet, version 00 + length - 1, and up to 63 octets), the data
field, the optional operational control field (4 octets: the CLCW) and the optional FECF
(CRC-16/CCITT-FALSE over everything before it).

Frames are fixed-length on a channel (1115 octets by default: a Reed-Solomon (255,223) codeblock
of interleave 5); the length, like the presence of the FECF, is a managed parameter.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

from flight.codec import crc16
from flight.link.errors import (
    ChecksumError,
    FieldValueError,
    LengthMismatchError,
    OversizedError,
    TruncatedError,
    VersionError,
)

PRIMARY_HEADER_OCTETS: Final[int] = 6
OCF_OCTETS: Final[int] = 4
FECF_OCTETS: Final[int] = 2
DEFAULT_FRAME_LENGTH: Final[int] = 1115
MAX_FRAME_OCTETS: Final[int] = 2048
MAX_SPACECRAFT_ID: Final[int] = 0x3FF
MAX_VCID: Final[int] = 7
FHP_NO_PACKET_START: Final[int] = 0x7FF
FHP_IDLE_ONLY: Final[int] = 0x7FE
MAX_SECONDARY_HEADER_DATA: Final[int] = 63

_HEADER: Final = struct.Struct(">HBBH")
_WORD: Final = struct.Struct(">I")
_CRC: Final = struct.Struct(">H")


def data_field_octets(
    frame_length: int = DEFAULT_FRAME_LENGTH,
    *,
    ocf: bool = True,
    fecf: bool = True,
    secondary_header_octets: int = 0,
) -> int:
    """Octets left for packets in a frame of `frame_length` with these optional fields."""
    return (
        frame_length
        - PRIMARY_HEADER_OCTETS
        - (1 + secondary_header_octets if secondary_header_octets else 0)
        - (OCF_OCTETS if ocf else 0)
        - (FECF_OCTETS if fecf else 0)
    )


class _TmFrameFields(NamedTuple):
    spacecraft_id: int
    virtual_channel_id: int
    master_frame_count: int
    virtual_frame_count: int
    data: bytes
    first_header_pointer: int = 0
    ocf: int | None = None
    secondary_header: bytes | None = None
    sync_flag: bool = False
    packet_order: bool = False
    segment_length_id: int = 0b11


class TmFrame(_TmFrameFields):
    """One TM frame. `ocf` is the 32-bit operational control field word (a CLCW), or None.

    A frozen value built on a named tuple rather than a dataclass: frames pass at up to tens of
    thousands a second, and a tuple is built in a third of the time (it compares equal to a plain
    tuple of the same fields, which nothing here relies on).
    """

    __slots__ = ()

    def __new__(
        cls,
        spacecraft_id: int,
        virtual_channel_id: int,
        master_frame_count: int,
        virtual_frame_count: int,
        data: bytes,
        first_header_pointer: int = 0,
        ocf: int | None = None,
        secondary_header: bytes | None = None,
        sync_flag: bool = False,
        packet_order: bool = False,
        segment_length_id: int = 0b11,
    ) -> TmFrame:
        # One cheap test on the hot path (x >> n is non-zero for x < 0 or x >= 2**n); the
        # thorough one names the fault.
        if (
            spacecraft_id >> 10
            or virtual_channel_id >> 3
            or master_frame_count >> 8
            or virtual_frame_count >> 8
            or first_header_pointer >> 11
            or segment_length_id >> 2
            or (ocf is not None and ocf >> 32)
            or type(data) is not bytes
            or len(data) > MAX_FRAME_OCTETS - PRIMARY_HEADER_OCTETS - 64 - 6
            or secondary_header is not None
        ):
            data, secondary_header = _validate(
                spacecraft_id, virtual_channel_id, master_frame_count, virtual_frame_count,
                data, first_header_pointer, ocf, secondary_header, segment_length_id,
            )
        return _new_tuple(cls, (
            spacecraft_id, virtual_channel_id, master_frame_count, virtual_frame_count, data,
            first_header_pointer, ocf, secondary_header, sync_flag, packet_order,
            segment_length_id,
        ))

    def packed_length(self, *, fecf: bool = True) -> int:
        return (
            PRIMARY_HEADER_OCTETS
            + (1 + len(self.secondary_header) if self.secondary_header is not None else 0)
            + len(self.data)
            + (OCF_OCTETS if self.ocf is not None else 0)
            + (FECF_OCTETS if fecf else 0)
        )

    def pack(self, *, fecf: bool = True) -> bytes:
        scid, vcid, mc_count, vc_count, data, fhp, ocf, secondary, sync, order, slid = self
        if secondary is not None:
            buffer = bytearray(self.packed_length(fecf=fecf))
            self.pack_into(buffer, 0, fecf=fecf)
            return bytes(buffer)
        head = _HEADER.pack(
            (scid << 4) | (vcid << 1) | (ocf is not None), mc_count, vc_count,
            (sync << 14) | (order << 13) | (slid << 11) | fhp,
        )
        body = head + data if ocf is None else b"".join((head, data, _WORD.pack(ocf)))
        return body + _CRC.pack(crc16(body)) if fecf else body

    def pack_into(self, buffer: bytearray | memoryview, offset: int = 0, *,
                  fecf: bool = True) -> int:
        """Write the frame at `buffer[offset:]`; returns the octets written."""
        total = self.packed_length(fecf=fecf)
        if offset + total > len(buffer):
            raise TruncatedError("TM frame buffer", offset + total, len(buffer))
        secondary = self.secondary_header
        _HEADER.pack_into(
            buffer, offset,
            (self.spacecraft_id << 4) | (self.virtual_channel_id << 1) | (self.ocf is not None),
            self.master_frame_count,
            self.virtual_frame_count,
            ((secondary is not None) << 15)
            | (self.sync_flag << 14)
            | (self.packet_order << 13)
            | (self.segment_length_id << 11)
            | self.first_header_pointer,
        )
        pos = offset + PRIMARY_HEADER_OCTETS
        if secondary is not None:
            buffer[pos] = len(secondary)
            buffer[pos + 1 : pos + 1 + len(secondary)] = secondary
            pos += 1 + len(secondary)
        buffer[pos : pos + len(self.data)] = self.data
        pos += len(self.data)
        if self.ocf is not None:
            _WORD.pack_into(buffer, pos, self.ocf)
            pos += OCF_OCTETS
        if fecf:
            _CRC.pack_into(buffer, pos, crc16(memoryview(buffer)[offset:pos]))
        return total

    @classmethod
    def unpack(
        cls,
        data: bytes | bytearray | memoryview,
        *,
        fecf: bool = True,
        frame_length: int | None = DEFAULT_FRAME_LENGTH,
    ) -> TmFrame:
        """The frame that is exactly `data`, its FECF checked when `fecf`.

        `frame_length` is the channel's fixed length (None accepts any length up to 2048).
        """
        if type(data) is not bytes:
            data = bytes(data)
        size = len(data)
        if size != frame_length:
            _check_size(size, frame_length, fecf)
        word0, mc_count, vc_count, status = _HEADER.unpack_from(data, 0)
        end = size
        if fecf:
            end -= FECF_OCTETS
            if crc16(data):  # over a frame and its correct FECF, this CRC leaves 0
                received = (data[end] << 8) | data[end + 1]
                raise ChecksumError("TM frame", received, crc16(memoryview(data)[:end]))
        if word0 >> 14:
            raise VersionError("TM frame", word0 >> 14, 0)
        ocf = None
        if word0 & 1:
            end -= OCF_OCTETS
            if end < PRIMARY_HEADER_OCTETS:
                raise TruncatedError("TM frame OCF", PRIMARY_HEADER_OCTETS + OCF_OCTETS, size)
            ocf = _WORD.unpack_from(data, end)[0]
        start = PRIMARY_HEADER_OCTETS
        secondary = None
        if status & 0x8000:
            if start >= end:
                raise TruncatedError("TM frame secondary header", start + 1, end)
            length = data[start] & 0x3F
            if data[start] >> 6:
                raise VersionError("TM frame secondary header", data[start] >> 6, 0)
            if length == 0 or start + 1 + length > end:
                raise FieldValueError(
                    "secondary header length", length, f"1..{end - start - 1} octets here"
                )
            secondary = bytes(data[start + 1 : start + 1 + length])
            start += 1 + length
        return _new_tuple(cls, (  # valid by construction: no checks
            word0 >> 4,
            (word0 >> 1) & 0b111,
            mc_count,
            vc_count,
            data[start:end],
            status & 0x7FF,
            ocf,
            secondary,
            status & 0x4000 != 0,
            status & 0x2000 != 0,
            (status >> 11) & 0b11,
        ))


_new_tuple: Final = tuple.__new__


def _validate(
    spacecraft_id: int, virtual_channel_id: int, master_frame_count: int,
    virtual_frame_count: int, data: bytes, first_header_pointer: int, ocf: int | None,
    secondary_header: bytes | None, segment_length_id: int,
) -> tuple[bytes, bytes | None]:
    """Every field check, naming the fault; returns data and secondary header as bytes."""
    if not 0 <= spacecraft_id <= MAX_SPACECRAFT_ID:
        raise FieldValueError("spacecraft ID", spacecraft_id, "0..1023")
    if not 0 <= virtual_channel_id <= MAX_VCID:
        raise FieldValueError("VCID", virtual_channel_id, "0..7")
    if not 0 <= master_frame_count <= 0xFF:
        raise FieldValueError("master channel frame count", master_frame_count, "0..255")
    if not 0 <= virtual_frame_count <= 0xFF:
        raise FieldValueError("VC frame count", virtual_frame_count, "0..255")
    if not 0 <= first_header_pointer <= FHP_NO_PACKET_START:
        raise FieldValueError("first header pointer", first_header_pointer, "0..0x7FF")
    if not 0 <= segment_length_id <= 0b11:
        raise FieldValueError("segment length ID", segment_length_id, "0..3")
    if ocf is not None and not 0 <= ocf < 1 << 32:
        raise FieldValueError("OCF", ocf, "a 32-bit word")
    data = bytes(data)
    if secondary_header is not None:
        if not 1 <= len(secondary_header) <= MAX_SECONDARY_HEADER_DATA:
            raise FieldValueError(
                "secondary header data length", len(secondary_header), "1..63 octets"
            )
        secondary_header = bytes(secondary_header)
    size = (
        PRIMARY_HEADER_OCTETS + len(data) + FECF_OCTETS
        + (1 + len(secondary_header) if secondary_header is not None else 0)
        + (OCF_OCTETS if ocf is not None else 0)
    )
    if size > MAX_FRAME_OCTETS:
        raise OversizedError("TM frame", size, MAX_FRAME_OCTETS)
    return data, secondary_header


def _check_size(size: int, frame_length: int | None, fecf: bool) -> None:
    """Only called when `size` is not the channel's frame length (or there is none)."""
    minimum = PRIMARY_HEADER_OCTETS + (FECF_OCTETS if fecf else 0)
    if frame_length is not None:
        if size < frame_length:
            raise TruncatedError("TM frame", frame_length, size)
        raise LengthMismatchError("TM frame", frame_length, size)
    if size > MAX_FRAME_OCTETS:
        raise OversizedError("TM frame", size, MAX_FRAME_OCTETS)
    if size < minimum:
        raise TruncatedError("TM frame", minimum, size)

