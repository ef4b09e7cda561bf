"""CCSDS Space Packets (133.0-B-2): the packet value, per-APID sequence counts, idle packets and
telemetry packets time-stamped with a CUC in the secondary header.

Primary header, 6 octets big-endian: version (3 bits, 000), type (1 = telecommand), secondary
header flag, APID (11 bits; 0x7FF = idle), sequence flags (2 bits), sequence count (14 bits), data
length (16 bits, octets in the data field minus one). The data field (1..65536 octets) holds the
secondary header, if any, then the user data; `SpacePacket.data` is that whole field.

Telemetry secondary header: a CUC with its P-field (1 + 4 coarse + 2 fine octets by default), so a
ground tool reads the time without knowing the mission's format.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from flight.link._values import frozen_value, raw_constructor
from flight.link.errors import (
    FieldValueError,
    LengthMismatchError,
    TruncatedError,
    VersionError,
)
from hal.timecode import Epoch, TimeCodeError, decode_cuc, encode_cuc

HEADER_OCTETS: Final[int] = 6
MAX_DATA_OCTETS: Final[int] = 65536
MAX_PACKET_OCTETS: Final[int] = HEADER_OCTETS + MAX_DATA_OCTETS
MAX_APID: Final[int] = 0x7FF
IDLE_APID: Final[int] = 0x7FF
SEQUENCE_MODULUS: Final[int] = 1 << 14
IDLE_FILL: Final[int] = 0x55
MIN_PACKET_OCTETS: Final[int] = HEADER_OCTETS + 1

_HEADER: Final = struct.Struct(">HHH")


class PacketType(IntEnum):
    TM = 0
    TC = 1


class SequenceFlags(IntEnum):
    CONTINUATION = 0b00
    FIRST = 0b01
    LAST = 0b10
    UNSEGMENTED = 0b11


_TYPES: Final = (PacketType.TM, PacketType.TC)
_FLAGS: Final = tuple(SequenceFlags(v) for v in range(4))


@frozen_value
@dataclass(frozen=True, slots=True)
class SpacePacket:
    """One space packet; `data` is the packet data field (secondary header + user data)."""

    apid: int
    sequence_count: int
    data: bytes
    packet_type: PacketType = PacketType.TM
    secondary_header: bool = False
    sequence_flags: SequenceFlags = SequenceFlags.UNSEGMENTED

    def __post_init__(self) -> None:
        if (
            self.apid >> 11
            or self.sequence_count >> 14
            or type(self.data) is not bytes
            or not 0 < len(self.data) <= MAX_DATA_OCTETS
            or type(self.packet_type) is not PacketType
            or type(self.sequence_flags) is not SequenceFlags
        ):
            self._validate()

    def _validate(self) -> None:
        if not 0 <= self.apid <= MAX_APID:
            raise FieldValueError("APID", self.apid, f"0..{MAX_APID}")
        if not 0 <= self.sequence_count < SEQUENCE_MODULUS:
            raise FieldValueError("sequence count", self.sequence_count, "0..16383")
        if type(self.data) is not bytes:
            object.__setattr__(self, "data", bytes(self.data))
        if not 1 <= len(self.data) <= MAX_DATA_OCTETS:
            raise FieldValueError("packet data field length", len(self.data), "1..65536 octets")
        if type(self.packet_type) is not PacketType:
            object.__setattr__(self, "packet_type", PacketType(self.packet_type))
        if type(self.sequence_flags) is not SequenceFlags:
            object.__setattr__(self, "sequence_flags", SequenceFlags(self.sequence_flags))

    @property
    def is_idle(self) -> bool:
        return self.apid == IDLE_APID

    @property
    def packed_length(self) -> int:
        return HEADER_OCTETS + len(self.data)

    def pack(self) -> bytes:
        return (
            _HEADER.pack(
                (self.packet_type << 12) | (self.secondary_header << 11) | self.apid,
                (self.sequence_flags << 14) | self.sequence_count,
                len(self.data) - 1,
            )
            + self.data
        )

    def pack_into(self, buffer: bytearray | memoryview, offset: int = 0) -> int:
        """Write the packet at `buffer[offset:]`; returns the octets written."""
        end = offset + HEADER_OCTETS + len(self.data)
        if end > len(buffer):
            raise TruncatedError("space packet buffer", end, len(buffer))
        _HEADER.pack_into(
            buffer, offset,
            (self.packet_type << 12) | (self.secondary_header << 11) | self.apid,
            (self.sequence_flags << 14) | self.sequence_count,
            len(self.data) - 1,
        )
        buffer[offset + HEADER_OCTETS : end] = self.data
        return end - offset

    @classmethod
    def unpack(cls, data: bytes | bytearray | memoryview) -> SpacePacket:
        """The packet that is exactly `data`; trailing or missing octets are an error."""
        size = len(data)
        if size < MIN_PACKET_OCTETS:
            raise TruncatedError("space packet", MIN_PACKET_OCTETS, size)
        word0, word1, length = _HEADER.unpack_from(data, 0)
        if word0 >> 13:
            raise VersionError("space packet", word0 >> 13, 0)
        if length + MIN_PACKET_OCTETS != size:
            if length + MIN_PACKET_OCTETS > size:
                raise TruncatedError("space packet", length + MIN_PACKET_OCTETS, size)
            raise LengthMismatchError("space packet", length + MIN_PACKET_OCTETS, size)
        return _new_packet(
            word0 & 0x7FF,
            word1 & 0x3FFF,
            bytes(data[HEADER_OCTETS:]),
            _TYPES[(word0 >> 12) & 1],
            word0 & 0x800 != 0,
            _FLAGS[word1 >> 14],
        )

    @classmethod
    def unpack_from(
        cls, buffer: bytes | bytearray | memoryview, offset: int = 0
    ) -> tuple[SpacePacket, int]:
        """(packet, octets consumed) for the packet starting at `buffer[offset]`."""
        available = len(buffer) - offset
        if available < MIN_PACKET_OCTETS:
            raise TruncatedError("space packet", MIN_PACKET_OCTETS, max(available, 0))
        word0, word1, length = _HEADER.unpack_from(buffer, offset)
        if word0 >> 13:
            raise VersionError("space packet", word0 >> 13, 0)
        total = HEADER_OCTETS + length + 1
        if total > available:
            raise TruncatedError("space packet", total, available)
        packet = _new_packet(
            word0 & 0x7FF,
            word1 & 0x3FFF,
            bytes(buffer[offset + HEADER_OCTETS : offset + total]),
            _TYPES[(word0 >> 12) & 1],
            word0 & 0x800 != 0,
            _FLAGS[word1 >> 14],
        )
        return packet, total

    @classmethod
    def idle(cls, packed_length: int, sequence_count: int = 0) -> SpacePacket:
        """An idle packet (APID 0x7FF) of exactly `packed_length` octets, filled with 0x55."""
        if not MIN_PACKET_OCTETS <= packed_length <= MAX_PACKET_OCTETS:
            raise FieldValueError("idle packet length", packed_length, "7..65542 octets")
        return cls(IDLE_APID, sequence_count, bytes((IDLE_FILL,)) * (packed_length - HEADER_OCTETS))


_new_packet: Final = raw_constructor(SpacePacket)


def packet_length_at(buffer: bytes | bytearray | memoryview, offset: int = 0) -> int:
    """Total octets of the packet whose header starts at `buffer[offset]` (needs 6 octets)."""
    if len(buffer) - offset < HEADER_OCTETS:
        raise TruncatedError("space packet header", HEADER_OCTETS, len(buffer) - offset)
    return HEADER_OCTETS + 1 + ((buffer[offset + 4] << 8) | buffer[offset + 5])


def idle_packet_bytes(packed_length: int) -> bytes:
    """The octets of an idle packet of `packed_length` (7..65542), sequence count 0."""
    if not MIN_PACKET_OCTETS <= packed_length <= MAX_PACKET_OCTETS:
        raise FieldValueError("idle packet length", packed_length, "7..65542 octets")
    return (
        _HEADER.pack(IDLE_APID, SequenceFlags.UNSEGMENTED << 14, packed_length - HEADER_OCTETS - 1)
        + bytes((IDLE_FILL,)) * (packed_length - HEADER_OCTETS)
    )


# ---------------------------------------------------------------- telemetry time stamps


def telemetry_packet(
    apid: int,
    sequence_count: int,
    time_s: float,
    user_data: bytes,
    *,
    coarse_octets: int = 4,
    fine_octets: int = 2,
) -> SpacePacket:
    """A TM packet whose secondary header is the CUC of `time_s` (TAI seconds since 1958)."""
    stamp = encode_cuc(time_s, coarse_octets=coarse_octets, fine_octets=fine_octets)
    return SpacePacket(apid, sequence_count, stamp + user_data, PacketType.TM, True)


def telemetry_time(packet: SpacePacket) -> tuple[float, bytes]:
    """(TAI seconds since 1958, user data) of a packet made by `telemetry_packet`."""
    if not packet.secondary_header:
        raise FieldValueError("secondary header flag", False, "set on a time-stamped packet")
    try:
        seconds, used = decode_cuc(packet.data, epoch=Epoch.CCSDS)
    except TimeCodeError as error:
        raise FieldValueError("telemetry time stamp", packet.data[:8].hex(), str(error)) from error
    return seconds, packet.data[used:]


# ---------------------------------------------------------------- sequence counts


class SequenceCounters:
    """On board: the next 14-bit source sequence count of each APID (starting at 0)."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}

    def next(self, apid: int) -> int:
        count = self._next.get(apid, 0)
        self._next[apid] = (count + 1) % SEQUENCE_MODULUS
        return count


@dataclass(frozen=True, slots=True)
class ApidStatistics:
    packets: int
    gaps: int
    missing: int
    last_count: int


class SequenceMonitor:
    """On the ground: detects gaps in each APID's sequence count.

    A count that is not the successor of the last one seen is a gap; the packets presumed missing
    are the counts skipped, modulo 2^14 (a repeated count counts as a gap of 16383: a counter reset
    or a duplicate, either way worth reporting).
    """

    def __init__(self) -> None:
        self._last: dict[int, int] = {}
        self._packets: dict[int, int] = {}
        self._gaps: dict[int, int] = {}
        self._missing: dict[int, int] = {}

    def observe(self, apid: int, sequence_count: int) -> int:
        """Record one packet; returns the number of packets missing before it (0 if none)."""
        last = self._last.get(apid)
        self._last[apid] = sequence_count
        self._packets[apid] = self._packets.get(apid, 0) + 1
        if last is None:
            return 0
        missing = (sequence_count - last - 1) % SEQUENCE_MODULUS
        if missing:
            self._gaps[apid] = self._gaps.get(apid, 0) + 1
            self._missing[apid] = self._missing.get(apid, 0) + missing
        return missing

    def statistics(self, apid: int) -> ApidStatistics:
        return ApidStatistics(
            self._packets.get(apid, 0), self._gaps.get(apid, 0), self._missing.get(apid, 0),
            self._last.get(apid, -1),
        )

    @property
    def apids(self) -> list[int]:
        return sorted(self._last)


__all__ = [
    "HEADER_OCTETS",
    "IDLE_APID",
    "MAX_APID",
    "SEQUENCE_MODULUS",
    "ApidStatistics",
    "PacketType",
    "SequenceCounters",
    "SequenceFlags",
    "SequenceMonitor",
    "SpacePacket",
    "idle_packet_bytes",
    "packet_length_at",
    "telemetry_packet",
    "telemetry_time",
]
