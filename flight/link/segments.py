"""TC segmentation (232.0-B-4 MAP service): packets cut into frame-sized segments and put back.

A segment header's sequence flags say whether a frame's data is a whole unit (11: one or more
complete packets), the first (01), a middle (00) or the last (10) part of one packet. On board,
one reassembler per MAP ID joins the parts; a part out of order discards what was being joined.
Without segment headers, every frame data field holds complete packets.
"""

from __future__ import annotations

from dataclasses import dataclass

from flight.link.errors import FieldValueError, LinkError
from flight.link.spacepacket import SequenceFlags, SpacePacket


def segment(packet: bytes, max_octets: int) -> list[tuple[SequenceFlags, bytes]]:
    """Ground side: a packet as (sequence flags, segment) parts of at most `max_octets`."""
    if max_octets < 1:
        raise FieldValueError("segment size", max_octets, "at least 1 octet")
    if len(packet) <= max_octets:
        return [(SequenceFlags.UNSEGMENTED, packet)]
    parts = [packet[i : i + max_octets] for i in range(0, len(packet), max_octets)]
    flags = [SequenceFlags.FIRST] + [SequenceFlags.CONTINUATION] * (len(parts) - 2)
    return list(zip([*flags, SequenceFlags.LAST], parts, strict=True))


@dataclass(slots=True)
class SegmentCounters:
    packets: int = 0
    malformed_packets: int = 0
    segment_sequence_errors: int = 0


def split_packets(data: bytes) -> list[SpacePacket]:
    """The complete packets that exactly fill `data` (raises `LinkError` on any leftover)."""
    packets = []
    pos = 0
    while pos < len(data):
        packet, used = SpacePacket.unpack_from(data, pos)
        packets.append(packet)
        pos += used
    return packets


class MapReassembler:
    """Board side: frame data units of one virtual channel (by MAP ID) into space packets."""

    def __init__(self) -> None:
        self._partial: dict[int, bytearray] = {}
        self.counters = SegmentCounters()

    def feed(self, data: bytes, flags: SequenceFlags = SequenceFlags.UNSEGMENTED,
             map_id: int = 0) -> list[SpacePacket]:
        if flags == SequenceFlags.UNSEGMENTED:
            if self._partial.pop(map_id, None) is not None:
                self.counters.segment_sequence_errors += 1
            return self._packets(data)
        if flags == SequenceFlags.FIRST:
            if self._partial.get(map_id) is not None:
                self.counters.segment_sequence_errors += 1
            self._partial[map_id] = bytearray(data)
            return []
        partial = self._partial.get(map_id)
        if partial is None:
            self.counters.segment_sequence_errors += 1
            return []
        partial += data
        if flags == SequenceFlags.CONTINUATION:
            return []
        del self._partial[map_id]
        return self._packets(bytes(partial))

    def _packets(self, data: bytes) -> list[SpacePacket]:
        try:
            packets = split_packets(data)
        except LinkError:
            self.counters.malformed_packets += 1
            return []
        self.counters.packets += len(packets)
        return packets
