"""On board: telemetry packets onto TM virtual channels, into fixed-length frames and CADUs.

Each virtual channel has a queue of packets and a priority; every frame goes to the highest-
priority channel with something queued (ties: the order given), so real-time housekeeping
pre-empts playback. Packets span frames freely; the first header pointer names the first packet
that starts in the frame (0x7FF when none does). A frame whose channel runs dry before the frame
is full is completed with an idle packet (APID 0x7FF) — the radio wants a frame now, not later;
when no channel has anything, an only-idle-data frame (FHP 0x7FE) goes out on the idle channel.
An idle packet too short to fit (the frame has under 7 octets left) spans into that channel's next
frame, like any packet.

Every frame carries the latest CLCW (set by FARM-1) in its OCF and a FECF; `next_cadu` adds the
channel coding (RS(255,223), interleave 5 for 1115-octet frames, randomizer, sync marker) through
the C engine.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from typing import Final

from flight.codec import cadu_encode, crc16
from flight.link.errors import FieldValueError
from flight.link.spacepacket import MIN_PACKET_OCTETS, idle_packet_bytes, packet_length_at
from flight.link.tmframe import (
    DEFAULT_FRAME_LENGTH,
    FECF_OCTETS,
    FHP_IDLE_ONLY,
    FHP_NO_PACKET_START,
    MAX_VCID,
    OCF_OCTETS,
    PRIMARY_HEADER_OCTETS,
    data_field_octets,
)

_HEADER: Final = struct.Struct(">HBBH")
_WORD: Final = struct.Struct(">I")
_CRC: Final = struct.Struct(">H")
_RS_DATA_OCTETS: Final[int] = 223
_IDLE_DATA: Final[int] = 0x55


@dataclass(frozen=True, slots=True)
class VirtualChannel:
    """One downlink virtual channel: lower `priority` numbers go first."""

    vcid: int
    name: str
    priority: int
    queue_limit_octets: int = 1 << 20

    def __post_init__(self) -> None:
        if not 0 <= self.vcid <= MAX_VCID:
            raise FieldValueError("VCID", self.vcid, "0..7")


@dataclass(slots=True)
class ChannelCounters:
    packets_queued: int = 0
    packets_dropped: int = 0
    octets_queued: int = 0
    frames: int = 0
    idle_packets: int = 0


class _Queue:
    __slots__ = ("channel", "packets", "head_offset", "octets", "frame_count", "counters")

    def __init__(self, channel: VirtualChannel) -> None:
        self.channel = channel
        self.packets: deque[bytes] = deque()
        self.head_offset = 0  # octets of packets[0] already sent
        self.octets = 0  # octets not yet sent
        self.frame_count = 0
        self.counters = ChannelCounters()


class TmMultiplexer:
    def __init__(
        self,
        spacecraft_id: int,
        channels: list[VirtualChannel],
        *,
        frame_length: int = DEFAULT_FRAME_LENGTH,
        idle_vcid: int = 7,
        ocf: bool = True,
        fecf: bool = True,
    ) -> None:
        vcids = [c.vcid for c in channels]
        if len(set(vcids)) != len(vcids):
            raise FieldValueError("virtual channels", vcids, "distinct VCIDs")
        if not 0 <= spacecraft_id <= 0x3FF:
            raise FieldValueError("spacecraft ID", spacecraft_id, "0..1023")
        self.spacecraft_id = spacecraft_id
        self.frame_length = frame_length
        self.has_ocf = ocf
        self.has_fecf = fecf
        self.data_octets = data_field_octets(frame_length, ocf=ocf, fecf=fecf)
        if self.data_octets < MIN_PACKET_OCTETS:
            raise FieldValueError("frame length", frame_length, "room for a 7-octet packet")
        order = sorted(range(len(channels)), key=lambda i: (channels[i].priority, i))
        self._queues: dict[int, _Queue] = {c.vcid: _Queue(c) for c in channels}
        self._by_priority: list[_Queue] = [self._queues[channels[i].vcid] for i in order]
        idle = self._queues.get(idle_vcid) or _Queue(VirtualChannel(idle_vcid, "idle", 1 << 30))
        self._idle = idle
        self._master_count = 0
        self._ocf_word = 0
        self._frame = bytearray(frame_length)
        self._view = memoryview(self._frame)
        self._idle_data = bytes((_IDLE_DATA,)) * self.data_octets
        self.frames = 0
        self.idle_frames = 0

    # ------------------------------------------------------------ inputs

    def set_ocf(self, word: int) -> None:
        """The word for the OCF of the following frames (the CLCW)."""
        if not 0 <= word < 1 << 32:
            raise FieldValueError("OCF", word, "a 32-bit word")
        self._ocf_word = word

    def submit(self, vcid: int, packet: bytes) -> bool:
        """Queue one complete space packet; False (and counted) when the channel's queue is full.

        The packet must be whole and well formed (its length field matches): the multiplexer
        trusts it, and a malformed one would desynchronise the ground's reassembly.
        """
        queue = self._queues.get(vcid)
        if queue is None:
            raise FieldValueError("VCID", vcid, f"one of {sorted(self._queues)}")
        size = len(packet)
        if size < MIN_PACKET_OCTETS or packet_length_at(packet) != size:
            raise FieldValueError("space packet length", size, "equal to its length field")
        if queue.octets + size > queue.channel.queue_limit_octets:
            queue.counters.packets_dropped += 1
            return False
        queue.packets.append(bytes(packet))
        queue.octets += size
        queue.counters.packets_queued += 1
        queue.counters.octets_queued += size
        return True

    def pending_octets(self, vcid: int) -> int:
        return self._queues[vcid].octets

    def counters(self, vcid: int) -> ChannelCounters:
        return self._queues[vcid].counters

    # ------------------------------------------------------------ outputs

    def next_frame(self) -> bytes:
        """The next TM frame (always one: idle when nothing is queued)."""
        self._build()
        return bytes(self._frame)

    def next_cadu(self) -> bytes:
        """The next frame, channel-coded (needs a frame of 223 x interleave octets)."""
        self._build()
        return cadu_encode(self._frame, self.frame_length // _RS_DATA_OCTETS)

    def _build(self) -> None:
        for queue in self._by_priority:
            if queue.octets:
                fhp = self._fill(queue)
                break
        else:
            queue = self._idle
            self._view[PRIMARY_HEADER_OCTETS : PRIMARY_HEADER_OCTETS + self.data_octets] = (
                self._idle_data
            )
            fhp = FHP_IDLE_ONLY
            self.idle_frames += 1
        frame = self._frame
        _HEADER.pack_into(
            frame, 0,
            (self.spacecraft_id << 4) | (queue.channel.vcid << 1) | self.has_ocf,
            self._master_count,
            queue.frame_count,
            0x1800 | fhp,  # segment length ID 11, no secondary header, sync 0, order 0
        )
        self._master_count = (self._master_count + 1) & 0xFF
        queue.frame_count = (queue.frame_count + 1) & 0xFF
        queue.counters.frames += 1
        self.frames += 1
        end = PRIMARY_HEADER_OCTETS + self.data_octets
        if self.has_ocf:
            _WORD.pack_into(frame, end, self._ocf_word)
            end += OCF_OCTETS
        if self.has_fecf:
            _CRC.pack_into(frame, end, crc16(self._view[:end]))
            end += FECF_OCTETS

    def _fill(self, queue: _Queue) -> int:
        """Copy packet octets into the data field; returns the first header pointer."""
        view = self._view
        pos = PRIMARY_HEADER_OCTETS
        end = pos + self.data_octets
        fhp = FHP_NO_PACKET_START
        packets = queue.packets
        while pos < end:
            if not packets:
                packets.append(idle_packet_bytes(max(end - pos, MIN_PACKET_OCTETS)))
                queue.octets += len(packets[0])
                queue.counters.idle_packets += 1
            packet = packets[0]
            offset = queue.head_offset
            if offset == 0 and fhp == FHP_NO_PACKET_START:
                fhp = pos - PRIMARY_HEADER_OCTETS
            take = len(packet) - offset
            if take <= end - pos:
                view[pos : pos + take] = packet if offset == 0 else memoryview(packet)[offset:]
                packets.popleft()
                queue.head_offset = 0
            else:
                take = end - pos
                view[pos:end] = memoryview(packet)[offset : offset + take]
                queue.head_offset = offset + take
            pos += take
            queue.octets -= take
        return fhp
