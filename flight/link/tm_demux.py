"""On the ground: TM frames back into packets, per virtual channel, surviving lost frames.

Per virtual channel the demultiplexer keeps the packet in progress. A frame continues it up to the
first header pointer, then packets are cut by their length fields. A gap in the VC frame count
means frames were lost: the partial packet is discarded (counted) and reassembly resynchronises
on the next frame whose FHP names a packet start. An FHP that disagrees with where the packet in
progress ends is counted and handled the same way. Master channel gaps are counted too; only-idle
frames and idle packets are counted and dropped. Bad frames (CRC, length, version, spacecraft ID)
are counted by fault and never raise.

The OCF word of every good frame goes to `on_ocf` (the CLCW, for FOP-1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from flight.link.errors import LinkError, WrongSpacecraftError, WrongVirtualChannelError
from flight.link.spacepacket import HEADER_OCTETS, IDLE_APID, SequenceMonitor
from flight.link.tmframe import (
    DEFAULT_FRAME_LENGTH,
    FHP_IDLE_ONLY,
    FHP_NO_PACKET_START,
    TmFrame,
)


@dataclass(slots=True)
class DemuxCounters:
    frames: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # by exception class name
    master_gaps: int = 0
    master_frames_lost: int = 0
    vc_gaps: int = 0
    vc_frames_lost: int = 0
    idle_frames: int = 0
    packets: int = 0
    idle_packets: int = 0
    partial_packets_discarded: int = 0
    fhp_errors: int = 0
    frames_skipped_out_of_sync: int = 0


class _Channel:
    __slots__ = ("next_count", "partial", "in_sync")

    def __init__(self) -> None:
        self.next_count: int | None = None
        self.partial = bytearray()
        self.in_sync = False


class TmDemultiplexer:
    def __init__(
        self,
        spacecraft_id: int,
        *,
        frame_length: int | None = DEFAULT_FRAME_LENGTH,
        fecf: bool = True,
        vcids: set[int] | None = None,
        on_ocf: Callable[[int], None] | None = None,
    ) -> None:
        self.spacecraft_id = spacecraft_id
        self.frame_length = frame_length
        self.fecf = fecf
        self.vcids = frozenset(vcids) if vcids is not None else None
        self.on_ocf = on_ocf
        self.counters = DemuxCounters()
        self.sequence = SequenceMonitor()
        self._channels: dict[int, _Channel] = {}
        self._next_master: int | None = None

    def receive(self, octets: bytes) -> list[tuple[int, bytes]]:
        """Packets (VCID, octets) completed by this frame; a bad frame is counted, yields []."""
        try:
            frame = TmFrame.unpack(octets, fecf=self.fecf, frame_length=self.frame_length)
            if frame.spacecraft_id != self.spacecraft_id:
                raise WrongSpacecraftError(frame.spacecraft_id, self.spacecraft_id)
            if self.vcids is not None and frame.virtual_channel_id not in self.vcids:
                raise WrongVirtualChannelError(frame.virtual_channel_id, self.vcids)
        except LinkError as error:
            self.counters.rejected[type(error).__name__] += 1
            return []
        return self.receive_frame(frame)

    def receive_frame(self, frame: TmFrame) -> list[tuple[int, bytes]]:
        counters = self.counters
        counters.frames += 1
        if frame.ocf is not None and self.on_ocf is not None:
            self.on_ocf(frame.ocf)
        if self._next_master is not None and frame.master_frame_count != self._next_master:
            counters.master_gaps += 1
            counters.master_frames_lost += (frame.master_frame_count - self._next_master) & 0xFF
        self._next_master = (frame.master_frame_count + 1) & 0xFF
        vcid = frame.virtual_channel_id
        channel = self._channels.get(vcid)
        if channel is None:
            channel = self._channels[vcid] = _Channel()
        if channel.next_count is not None and frame.virtual_frame_count != channel.next_count:
            counters.vc_gaps += 1
            counters.vc_frames_lost += (frame.virtual_frame_count - channel.next_count) & 0xFF
            self._lose_sync(channel)
        channel.next_count = (frame.virtual_frame_count + 1) & 0xFF
        fhp = frame.first_header_pointer
        data = frame.data
        if fhp == FHP_IDLE_ONLY:
            counters.idle_frames += 1
            return []
        out: list[tuple[int, bytes]] = []
        if fhp == FHP_NO_PACKET_START:
            if channel.in_sync:
                channel.partial += data
                self._complete(channel, vcid, out, frame_ends_here=True)
            else:
                counters.frames_skipped_out_of_sync += 1
            return out
        if fhp >= len(data):
            counters.fhp_errors += 1
            self._lose_sync(channel)
            return out
        if channel.in_sync:
            channel.partial += data[:fhp]
            self._complete(channel, vcid, out, frame_ends_here=False)
        channel.in_sync = True
        self._cut(channel, vcid, data, fhp, out)
        return out

    def _complete(self, channel: _Channel, vcid: int, out: list[tuple[int, bytes]], *,
                  frame_ends_here: bool) -> None:
        """Emit the packet in progress if the octets so far complete it.

        With `frame_ends_here` (the frame had no packet start) the packet may end anywhere from
        the end of this frame on; otherwise (the FHP marks the next packet) it must end exactly
        at the FHP. When the two disagree the partial packet is discarded and counted.
        """
        partial = channel.partial
        if not partial:
            return
        total = (
            HEADER_OCTETS + 1 + ((partial[4] << 8) | partial[5])
            if len(partial) >= HEADER_OCTETS
            else None
        )
        if total is not None and len(partial) == total:
            self._emit(vcid, bytes(partial), out)
            partial.clear()
        elif not frame_ends_here or (total is not None and len(partial) > total):
            self.counters.fhp_errors += 1
            self._lose_sync(channel)

    def _cut(self, channel: _Channel, vcid: int, data: bytes, pos: int,
             out: list[tuple[int, bytes]]) -> None:
        size = len(data)
        while pos < size:
            if size - pos < HEADER_OCTETS:
                break
            total = HEADER_OCTETS + 1 + ((data[pos + 4] << 8) | data[pos + 5])
            if pos + total > size:
                break
            self._emit(vcid, data[pos : pos + total], out)
            pos += total
        channel.partial = bytearray(data[pos:])

    def _emit(self, vcid: int, packet: bytes, out: list[tuple[int, bytes]]) -> None:
        apid = ((packet[0] & 0x07) << 8) | packet[1]
        if apid == IDLE_APID:
            self.counters.idle_packets += 1
            return
        self.counters.packets += 1
        self.sequence.observe(apid, ((packet[2] & 0x3F) << 8) | packet[3])
        out.append((vcid, packet))

    def _lose_sync(self, channel: _Channel) -> None:
        if channel.partial:
            self.counters.partial_packets_discarded += 1
        channel.partial = bytearray()
        channel.in_sync = False
