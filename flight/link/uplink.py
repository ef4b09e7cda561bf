"""On board: the telecommand receive path, from frame octets to space packets, I/O-free.

    octets -> TC frame (length, version, FECF) -> spacecraft ID, VCID -> SDLS (SPI, SA, MAC,
    anti-replay) -> FARM-1 -> commit the ARSN -> MAP reassembly -> space packets

Anything rejected before FARM-1 is counted under a `RejectReason` and its frame data is never
interpreted; the CLCW for the downlink OCF and the FSR come from here too. The uplink component
(`flight.link.uplink_component`) feeds `receive` with the TC frames it cuts from the radio's
frames and hands `take_packets` to the command dispatcher and the file receiver.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Final

from flight.link.clcw import Clcw
from flight.link.errors import (
    ChecksumError,
    LinkError,
    WrongSpacecraftError,
    WrongVirtualChannelError,
)
from flight.link.farm import Farm1, FarmEvent
from flight.link.sdls import RejectReason, Sdls, SdlsError
from flight.link.segments import MapReassembler, SegmentCounters
from flight.link.spacepacket import SequenceFlags, SpacePacket
from flight.link.tcframe import TcFrame

#: FARM-1 outcomes that used the frame: its ARSN is committed, so a recording of it never verifies
#: again. Control commands count too, or a recorded Set V(R) could be replayed to upset COP-1.
_CONSUMED: Final = frozenset({
    FarmEvent.AD_ACCEPTED, FarmEvent.BD_ACCEPTED, FarmEvent.UNLOCK, FarmEvent.SET_V_R,
    FarmEvent.SET_V_R_IN_LOCKOUT,
})


@dataclass(frozen=True, slots=True)
class UplinkChannel:
    """A TC virtual channel as configured on board."""

    vcid: int
    segmented: bool = True  # frames carry a segment header (MAP ID)
    secured: bool = True  # every frame must pass SDLS
    farm_window: int = 10
    farm_buffer: int = 16


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: RejectReason
    error: LinkError


UplinkOutcome = FarmEvent | Rejected


class TcUplink:
    def __init__(self, spacecraft_id: int, channels: list[UplinkChannel], *,
                 sdls: Sdls | None = None, fecf: bool = True) -> None:
        if any(c.secured for c in channels) and sdls is None:
            raise ValueError("a secured virtual channel needs an Sdls instance")
        self.spacecraft_id = spacecraft_id
        self.fecf = fecf
        self.sdls = sdls
        self._channels = {c.vcid: c for c in channels}
        self.farms = {c.vcid: Farm1(c.vcid, window_width=c.farm_window,
                                    buffer_capacity=c.farm_buffer) for c in channels}
        self._reassemblers = {c.vcid: MapReassembler() for c in channels}
        self.rejections: Counter[RejectReason] = Counter()
        self.frames_accepted = 0

    def receive(self, octets: bytes) -> UplinkOutcome:
        """Process one received frame; never raises for bad input."""
        try:
            frame = self._validate(octets)
            channel = self._channels[frame.virtual_channel_id]
            verified = None
            if channel.secured:
                assert self.sdls is not None
                verified = self.sdls.process(frame, octets)
                frame = verified.frame
        except SdlsError as error:
            return self._reject(error.reason, error)
        except ChecksumError as error:
            return self._reject(RejectReason.BAD_FECF, error)
        except WrongSpacecraftError as error:
            return self._reject(RejectReason.WRONG_SCID, error)
        except WrongVirtualChannelError as error:
            return self._reject(RejectReason.WRONG_VCID, error)
        except LinkError as error:
            return self._reject(RejectReason.MALFORMED, error)
        farm = self.farms[frame.virtual_channel_id]
        event = farm.receive(frame)
        if farm.accepts(event):
            self.frames_accepted += 1
        if verified is not None and event in _CONSUMED:
            assert self.sdls is not None
            self.sdls.commit(verified)
        return event

    def _validate(self, octets: bytes) -> TcFrame:
        """Frame checks (length, version, FECF) first, so a damaged frame counts as damaged; then
        the address; then the segment header, which only the VC's configuration announces."""
        frame = TcFrame.unpack(octets, fecf=self.fecf)
        if frame.spacecraft_id != self.spacecraft_id:
            raise WrongSpacecraftError(frame.spacecraft_id, self.spacecraft_id)
        channel = self._channels.get(frame.virtual_channel_id)
        if channel is None:
            raise WrongVirtualChannelError(frame.virtual_channel_id, set(self._channels))
        if not channel.segmented or frame.control_command:
            return frame
        segment_header = frame.data[0]
        return replace(
            frame, data=frame.data[1:], map_id=segment_header & 0x3F,
            segment_flags=SequenceFlags(segment_header >> 6),
        )

    def _reject(self, reason: RejectReason, error: LinkError) -> Rejected:
        self.rejections[reason] += 1
        return Rejected(reason, error)

    def take_packets(self) -> list[tuple[int, SpacePacket]]:
        """(VCID, packet) for every packet completed by frames FARM-1 accepted, in order."""
        out = []
        for vcid, farm in self.farms.items():
            reassembler = self._reassemblers[vcid]
            while (frame := farm.take()) is not None:
                map_id = frame.map_id if frame.map_id is not None else 0
                for packet in reassembler.feed(frame.data, frame.segment_flags, map_id):
                    out.append((vcid, packet))
        return out

    def clcw(self, vcid: int, *, no_rf_available: bool = False, no_bit_lock: bool = False) -> Clcw:
        return self.farms[vcid].clcw(no_rf_available=no_rf_available, no_bit_lock=no_bit_lock)

    def reassembly_counters(self, vcid: int) -> SegmentCounters:
        return self._reassemblers[vcid].counters
