"""The ground end of the space link over a frame transport: SDLS and FOP-1 on the way up, TM
frame checks and demultiplexing on the way down. No threads, no I/O of its own: `poll()` moves
what the transport has, and the clock drives FOP-1's timer.

    send_packet(apid, data) -> TC space packet -> FOP-1 (type AD, N(S)) -> SDLS (SPI, IV, ARSN,
      MAC, FECF) -> padded to the radio frame -> transport.send
    transport.poll -> TM frame (FECF, length, version, spacecraft, VCID) -> packets by VC
      (TmDemultiplexer) and the OCF -> CLCW -> FOP-1

COP-1 starts by itself: on the first CLCW of the TC channel, V(S) takes the satellite's V(R) and
FOP-1 sends an Unlock (Initiate AD with Unlock), which clears a lockout left by an earlier pass;
after an alert (transmission limit, lockout, an inconsistent CLCW) it does the same on the next
CLCW. Packets FOP-1 dropped on an alert are reported by `take_purged`, so the station can tell its
caller that a command may not have arrived.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Protocol

from flight.link.clcw import Clcw
from flight.link.devkeys import GroundKeys
from flight.link.errors import (
    LinkError,
    OversizedError,
    WrongSpacecraftError,
    WrongVirtualChannelError,
)
from flight.link.fop import Fop1, FopAlert, FopState
from flight.link.profile import PAD_OCTET, LinkProfile
from flight.link.sdls import Sdls
from flight.link.spacepacket import PacketType, SequenceCounters, SpacePacket
from flight.link.tcframe import TcFrame
from flight.link.tm_demux import TmDemultiplexer
from flight.link.tmframe import TmFrame
from hal.clock import Clock


class Transport(Protocol):
    """Whatever moves radio frames: a `drivers.radio.TransparentRadio` on a serial port, or a
    runtime's bus in tests (`flight.ground.transport`)."""

    def send(self, frame: bytes) -> bool:
        """Queue one radio frame; False if it was dropped."""
        ...

    def poll(self) -> list[bytes]:
        """Do pending I/O; the radio frames received since the last call."""
        ...


@dataclass(frozen=True, slots=True)
class ReceivedFrame:
    """One radio frame as received: the TM frame if it passed the checks, else the fault."""

    octets: bytes
    frame: TmFrame | None
    error: LinkError | None


@dataclass(slots=True)
class GroundLinkCounters:
    frames_received: int = 0
    frames_rejected: int = 0
    clcw_errors: int = 0
    tc_frames_sent: int = 0
    tc_frames_dropped: int = 0
    tc_packets_confirmed: int = 0
    initiations: int = 0


class GroundLink:
    def __init__(
        self,
        profile: LinkProfile,
        keys: GroundKeys | None,
        clock: Clock,
        transport: Transport,
        *,
        t1_s: float = 3.0,
        transmission_limit: int = 5,
        on_frame: Callable[[ReceivedFrame], None] | None = None,
    ) -> None:
        if keys is not None and keys.spi != profile.spi:
            raise ValueError(f"the key file is for SPI {keys.spi}, the link uses SPI "
                             f"{profile.spi}")
        self.profile = profile
        self.clock = clock
        self.transport = transport
        self.on_frame = on_frame
        self.keys = keys
        self.sdls: Sdls | None = None
        if keys is not None:
            self.sdls = Sdls(keys.key_store())
            self.sdls.add(profile.sa_parameters)
            if keys.key_id != profile.key_id:
                self.sdls.rekey(profile.spi, keys.key_id)
            self.sdls.start(profile.spi)
        self.fop = Fop1(
            profile.spacecraft_id, profile.tc_vcid, clock,
            window_width=profile.farm_window // 2, t1_initial_s=t1_s,
            transmission_limit=transmission_limit, map_id=profile.tc_map_id,
            encoder=self._protect,
        )
        self.demux = TmDemultiplexer(profile.spacecraft_id, frame_length=profile.frame_octets,
                                     on_ocf=self._ocf)
        self.sequence = SequenceCounters()
        self.counters = GroundLinkCounters()
        self.rejected: Counter[str] = Counter()
        self.clcw: Clcw | None = None
        #: Start COP-1 on the next CLCW. A station clears it until it knows the ARSN to use.
        self.initiate = True
        self.alerts: list[FopAlert] = []
        self._purged: deque[Hashable] = deque()
        self._pad = bytes((PAD_OCTET,)) * profile.frame_octets
        self._tm_vcids = {profile.vc_realtime, profile.vc_events, profile.vc_files,
                          profile.vc_idle}

    # ------------------------------------------------------------ uplink

    @property
    def ready(self) -> bool:
        """FOP-1 takes packets (AD service initiated or being initiated)."""
        return self.fop.state is not FopState.INITIAL

    @property
    def can_command(self) -> bool:
        """Keys were given: without them the link only receives."""
        return self.sdls is not None

    def send_packet(self, apid: int, data: bytes, tag: Hashable = None) -> bool:
        """Queue one TC packet for sequence-controlled delivery; False if FOP-1 refuses it (AD
        service not initiated yet, or its queue is full). A packet larger than one frame
        carries raises `OversizedError`."""
        if len(data) + 6 > self.profile.max_tc_packet_octets:
            raise OversizedError("TC packet", len(data) + 6, self.profile.max_tc_packet_octets)
        if not self.ready:
            return False
        packet = SpacePacket(apid, self.sequence.next(apid), bytes(data), PacketType.TC)
        accepted = self.fop.transmit_ad(packet.pack(), tag)
        self._flush()
        return accepted

    def stop_ad(self) -> None:
        """Terminate the AD service (its frames are purged) and hold COP-1: no initiation on
        CLCWs until `reinitiate` (after a reboot of the satellite, until its ARSN is known)."""
        self.initiate = False
        if self.fop.state is not FopState.INITIAL:
            self.fop.terminate_ad()
        self._flush()

    def reinitiate(self) -> None:
        """Initiate AD with Set V(R) to the present V(S) (232.1-B-2 5.2): the right start for a
        FARM-1 that rebooted, whatever CLCW of the old boot is still on the way, since only a
        FARM-1 that took the Set V(R) reports that V(R). After an alert, COP-1 starts again on
        a CLCW, as usual."""
        self.initiate = True
        if self.sdls is None:
            return
        fop = self.fop
        if fop.state is not FopState.INITIAL:
            fop.terminate_ad()
        fop.initiate_ad_with_set_v_r(fop.v_s)
        self.counters.initiations += 1
        self._flush()

    def set_next_arsn(self, number: int) -> None:
        """Continue the SA's anti-replay sequence numbers at `number` (after a restart of the
        ground station, from the satellite's `uplink.arsn` telemetry + 1)."""
        if self.sdls is not None:
            sa = self.sdls.association(self.profile.spi)
            sa.next_sequence_number = max(sa.next_sequence_number, number)

    def use_key(self, keys: GroundKeys) -> None:
        """Protect the following frames with `keys`' session key (after `uplink.rekey_sa`)."""
        if self.sdls is None:
            raise ValueError("a receive-only link (no keys) cannot change keys")
        if self.sdls.keys.state(keys.key_id) is None:
            keys.install_session(self.sdls.keys)
        self.sdls.rekey(self.profile.spi, keys.key_id)
        self.keys = keys

    def _protect(self, frame: TcFrame) -> bytes:
        assert self.sdls is not None
        return self.sdls.apply(frame, self.profile.spi)

    def take_purged(self) -> list[Hashable]:
        out = list(self._purged)
        self._purged.clear()
        return out

    # ------------------------------------------------------------ poll

    def poll(self) -> list[tuple[int, bytes]]:
        """Move frames both ways; returns the TM packets (VCID, octets) completed."""
        packets: list[tuple[int, bytes]] = []
        for octets in self.transport.poll():
            received = self._check(octets)
            if self.on_frame is not None:
                self.on_frame(received)
            if received.frame is not None:
                packets += self.demux.receive_frame(received.frame)
        self.fop.poll()
        self._flush()
        return packets

    def _check(self, octets: bytes) -> ReceivedFrame:
        self.counters.frames_received += 1
        p = self.profile
        try:
            frame = TmFrame.unpack(octets, frame_length=p.frame_octets)
            if frame.spacecraft_id != p.spacecraft_id:
                raise WrongSpacecraftError(frame.spacecraft_id, p.spacecraft_id)
            if frame.virtual_channel_id not in self._tm_vcids:
                raise WrongVirtualChannelError(frame.virtual_channel_id, self._vcids)
        except LinkError as error:
            self.counters.frames_rejected += 1
            self.rejected[type(error).__name__] += 1
            return ReceivedFrame(bytes(octets), None, error)
        return ReceivedFrame(bytes(octets), frame, None)

    def _ocf(self, word: int) -> None:
        try:
            clcw = Clcw.from_word(word)
        except LinkError:
            self.counters.clcw_errors += 1
            return
        if clcw.virtual_channel_id != self.profile.tc_vcid:
            return
        self.clcw = clcw
        fop = self.fop
        if fop.state is FopState.INITIAL:
            if fop.suspend_state == 0 and self.sdls is not None and self.initiate:
                fop.set_v_s(clcw.report_value)
                fop.initiate_ad_with_unlock()
                self.counters.initiations += 1
        else:
            fop.on_clcw(clcw)
        self._flush()

    def _flush(self) -> None:
        fop = self.fop
        for frame in fop.take_frames():
            if self.transport.send(frame + self._pad[len(frame):]):
                self.counters.tc_frames_sent += 1
            else:
                self.counters.tc_frames_dropped += 1
        self.alerts += fop.take_alerts()
        self.counters.tc_packets_confirmed += len(fop.take_confirmations())
        self._purged.extend(fop.take_purged())
