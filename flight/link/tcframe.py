"""TC Transfer Frames (232.0-B-4) and the COP-1 control commands (232.1-B-2).

Primary header, 5 octets: version (00), bypass flag, control command flag, spare (00), spacecraft
ID (10 bits), VCID (6 bits), frame length (10 bits, total octets minus one), frame sequence number
N(S) (8 bits). Then, on a virtual channel that uses MAP multiplexing, a 1-octet segment header
(sequence flags, MAP ID) in every frame but control commands; the data; the FECF (CRC-16/CCITT-
FALSE over the rest of the frame), when the mission uses it. A frame is at most 1024 octets.

Whether a virtual channel carries segment headers and FECFs is a managed parameter, not in the
frame: `unpack` is told. Flags (bypass, control) name the frame type: AD (0,0), BD (1,0), BC (1,1);
(0,1) is illegal.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from typing import Final

from flight.codec import crc16
from flight.link._values import frozen_value, raw_constructor
from flight.link.errors import (
    ChecksumError,
    FieldValueError,
    LengthMismatchError,
    OversizedError,
    TruncatedError,
    VersionError,
)
from flight.link.spacepacket import SequenceFlags

PRIMARY_HEADER_OCTETS: Final[int] = 5
SEGMENT_HEADER_OCTETS: Final[int] = 1
FECF_OCTETS: Final[int] = 2
MAX_FRAME_OCTETS: Final[int] = 1024
MAX_SPACECRAFT_ID: Final[int] = 0x3FF
MAX_VCID: Final[int] = 0x3F
MAX_MAP_ID: Final[int] = 0x3F

_HEADER: Final = struct.Struct(">HHB")
_FLAGS: Final = tuple(SequenceFlags(v) for v in range(4))


class FrameType(Enum):
    AD = "AD"  # sequence-controlled data (FARM-1 type-A)
    BD = "BD"  # expedited data, bypasses FARM-1 checks
    BC = "BC"  # expedited control command to FARM-1 (Unlock, Set V(R))


@frozen_value
@dataclass(frozen=True, slots=True)
class TcFrame:
    """One TC frame; `data` is the frame data field after the segment header (if any)."""

    spacecraft_id: int
    virtual_channel_id: int
    sequence_number: int
    data: bytes
    bypass: bool = False
    control_command: bool = False
    map_id: int | None = None
    segment_flags: SequenceFlags = SequenceFlags.UNSEGMENTED

    def __post_init__(self) -> None:
        if not 0 <= self.spacecraft_id <= MAX_SPACECRAFT_ID:
            raise FieldValueError("spacecraft ID", self.spacecraft_id, "0..1023")
        if not 0 <= self.virtual_channel_id <= MAX_VCID:
            raise FieldValueError("VCID", self.virtual_channel_id, "0..63")
        if not 0 <= self.sequence_number <= 0xFF:
            raise FieldValueError("frame sequence number", self.sequence_number, "0..255")
        if self.control_command and not self.bypass:
            raise FieldValueError("control command flag", 1, "0 unless the bypass flag is set")
        if self.map_id is not None:
            if not 0 <= self.map_id <= MAX_MAP_ID:
                raise FieldValueError("MAP ID", self.map_id, "0..63")
            if self.control_command:
                raise FieldValueError("MAP ID", self.map_id, "None on a control command frame")
        elif self.segment_flags != SequenceFlags.UNSEGMENTED:
            raise FieldValueError(
                "segment flags", self.segment_flags, "UNSEGMENTED without a segment header"
            )
        if type(self.data) is not bytes:
            object.__setattr__(self, "data", bytes(self.data))
        if type(self.segment_flags) is not SequenceFlags:
            object.__setattr__(self, "segment_flags", SequenceFlags(self.segment_flags))
        if self.packed_length(fecf=True) > MAX_FRAME_OCTETS:
            raise OversizedError("TC frame", self.packed_length(fecf=True), MAX_FRAME_OCTETS)

    @property
    def frame_type(self) -> FrameType:
        if not self.bypass:
            return FrameType.AD
        return FrameType.BC if self.control_command else FrameType.BD

    @property
    def header_octets(self) -> int:
        """Primary header plus segment header."""
        return PRIMARY_HEADER_OCTETS + (self.map_id is not None)

    def packed_length(self, *, fecf: bool = True) -> int:
        return self.header_octets + len(self.data) + (FECF_OCTETS if fecf else 0)

    def header(self, total_length: int) -> bytes:
        """Primary (and segment) header of this frame once it is `total_length` octets long.

        For SDLS, which must authenticate the header of the frame it is still building.
        """
        if not self.header_octets < total_length <= MAX_FRAME_OCTETS:
            raise FieldValueError("TC frame length", total_length, f"up to {MAX_FRAME_OCTETS}")
        head = _HEADER.pack(
            (self.bypass << 13) | (self.control_command << 12) | self.spacecraft_id,
            (self.virtual_channel_id << 10) | (total_length - 1),
            self.sequence_number,
        )
        if self.map_id is None:
            return head
        return head + bytes(((self.segment_flags << 6) | self.map_id,))

    def pack(self, *, fecf: bool = True) -> bytes:
        total = self.packed_length(fecf=fecf)
        body = self.header(total) + self.data
        if not fecf:
            return body
        return body + crc16(body).to_bytes(2, "big")

    @classmethod
    def unpack(
        cls,
        data: bytes | bytearray | memoryview,
        *,
        segment_header: bool = False,
        fecf: bool = True,
    ) -> TcFrame:
        """The frame that is exactly `data`, its FECF checked when `fecf`."""
        size = len(data)
        minimum = PRIMARY_HEADER_OCTETS + (FECF_OCTETS if fecf else 0) + 1
        if size < minimum:
            raise TruncatedError("TC frame", minimum, size)
        if size > MAX_FRAME_OCTETS:
            raise OversizedError("TC frame", size, MAX_FRAME_OCTETS)
        word0, word1, sequence = _HEADER.unpack_from(data, 0)
        declared = (word1 & 0x3FF) + 1
        if declared != size:  # a truncated or padded frame: named as such, before the FECF
            raise LengthMismatchError("TC frame", declared, size)
        end = size
        if fecf:
            end -= FECF_OCTETS
            if crc16(data):  # over a frame and its correct FECF, this CRC leaves 0
                received = (data[end] << 8) | data[end + 1]
                raise ChecksumError("TC frame", received, crc16(memoryview(data)[:end]))
        if word0 >> 14:
            raise VersionError("TC frame", word0 >> 14, 0)
        bypass, control = bool(word0 & 0x2000), bool(word0 & 0x1000)
        if control and not bypass:
            raise FieldValueError("control command flag", 1, "0 unless the bypass flag is set")
        start = PRIMARY_HEADER_OCTETS
        map_id, flags = None, SequenceFlags.UNSEGMENTED
        if segment_header and not control:
            if end <= start:
                raise TruncatedError("TC frame segment header", start + 1 + FECF_OCTETS, size)
            map_id, flags = data[start] & 0x3F, _FLAGS[data[start] >> 6]
            start += 1
        return _raw_frame(
            word0 & 0x3FF, word1 >> 10, sequence, bytes(data[start:end]), bypass, control, map_id,
            flags,
        )


_raw_frame: Final = raw_constructor(TcFrame)


# ---------------------------------------------------------------- COP-1 control commands

UNLOCK: Final[bytes] = b"\x00"
_SET_V_R_PREFIX: Final[bytes] = b"\x82\x00"


@dataclass(frozen=True, slots=True)
class Unlock:
    pass


@dataclass(frozen=True, slots=True)
class SetVr:
    value: int


ControlCommand = Unlock | SetVr


def set_v_r(value: int) -> bytes:
    """Data field of the Set V(R) control command."""
    if not 0 <= value <= 0xFF:
        raise FieldValueError("V(R)", value, "0..255")
    return _SET_V_R_PREFIX + bytes((value,))


def parse_control_command(data: bytes) -> ControlCommand:
    """The COP-1 control command in a BC frame's data field."""
    if data == UNLOCK:
        return Unlock()
    if len(data) == 3 and data[:2] == _SET_V_R_PREFIX:
        return SetVr(data[2])
    raise FieldValueError("COP-1 control command", data.hex(), "00 (Unlock) or 82 00 nn (Set V(R))")
