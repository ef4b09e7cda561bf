"""The onboard downlink component: telemetry, events, verification reports and files into TM
frames for the radio, paced to what the radio can send.

    hk.packets (HousekeepingPacket)  -> APID housekeeping   -> VC real-time (priority 0)
    cmd.verification (Verification)  -> APID verification   -> VC real-time
    sys.events (EventRecord)         -> APID event          -> VC events    (priority 1)
    file_pdus (bytes, CFDP PDUs)     -> APID file downlink  -> VC files     (priority 2)
    uplink.clcw (int)                -> the OCF of every frame
                                     -> radio.tx_frame as (0, 223 x I octet TM frame)

Every packet carries the record's time as a CUC in its secondary header (TAI seconds since 1958
from the spacecraft time bound as `time`, as `flight.svc.sctime` reads it; without a binding, or
while that source has no time yet, the runtime clock's reading) and a 14-bit sequence count per
APID (`flight.link.spacepacket`); the multiplexer (`TmMultiplexer`) packs them into
fixed-length frames by VC priority, completes short frames with idle packets and sends only-idle
frames when nothing is queued, so the CLCW keeps flowing.

Pacing: the radio sends `air_rate_bps / (CADU octets x bits_per_octet)` frames per second; each
cycle the component earns credit at that rate and produces one frame per whole credit; credit a
cycle leaves unused (after a stall) is banked up to `burst_frames`, no more. Frames are built as
late as possible, so a packet waiting in a VC queue can still be overtaken by a more urgent one,
and the radio's queue stays near empty instead of filling with frames built ahead of time (whose
CLCW would be stale by the time they go out). Every frame goes to the radio at one priority, so
its queue sends them in the order built: the VC priorities are the multiplexer's, and a frame
that overtook an older one in the radio would send the master channel frame count and the CLCW
backwards (FOP-1 alerts on a CLCW whose N(R) went back). Set `air_rate_bps` to the radio's air
rate and `bits_per_octet` to its pacer's (10 bits per octet by default).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from enum import IntEnum
from typing import Any, ClassVar, Final

from flight.link.profile import LinkProfile
from flight.link.spacepacket import SequenceCounters
from flight.link.tm_mux import TmMultiplexer, VirtualChannel
from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Output,
    Throttle,
    Update,
    input_port,
)
from flight.runtime.errors import ConfigError
from flight.runtime.records import EventRecord, HousekeepingPacket, Severity, Verification
from flight.runtime.topics import EVENTS
from flight.runtime.types import F64, U8, U32, Enum
from flight.svc.sctime import component_time, tai_or_none
from hal.time import TimeSource
from hal.timecode import cuc_pfield

CADU_OVERHEAD_OCTETS: Final[int] = 4  # attached sync marker
RS_CODEBLOCK_OCTETS: Final[int] = 255
DEFAULT_AIR_RATE_BPS: Final[int] = 64_000
DEFAULT_BITS_PER_OCTET: Final[float] = 10.0
RADIO_PRIORITY: Final[int] = 0  # one priority for every frame: the radio keeps their order
_ON_CHANGE: Final = Update.ON_CHANGE
_TM_HEADER_CUC: Final = struct.Struct(">HHHBIH")  # primary header, then the CUC (P-field, 4 + 2)
_CUC_PFIELD: Final[int] = cuc_pfield(4, 2)
_CUC_OCTETS: Final[int] = 7
_CUC_FINE: Final[int] = 1 << 16
_CUC_MAX_TICKS: Final[int] = (1 << 48) - 1
_TM_SECONDARY: Final[int] = 0x0800  # secondary header flag in the first header word
_UNSEGMENTED: Final[int] = 0xC000


class PacketKind(IntEnum):
    HOUSEKEEPING = 0
    EVENT = 1
    VERIFICATION = 2
    FILE = 3


class Downlink(Component):
    """Telemetry into TM frames for the radio."""

    LINK_PROFILE: ClassVar[bool] = True

    frames_sent = Channel(1, U32, update=_ON_CHANGE, doc="TM frames handed to the radio")
    idle_frames = Channel(2, U32, update=_ON_CHANGE, doc="only-idle frames among them")
    housekeeping_packets = Channel(3, U32, update=_ON_CHANGE, doc="housekeeping packets queued")
    event_packets = Channel(4, U32, update=_ON_CHANGE, doc="event packets queued")
    verification_packets = Channel(5, U32, update=_ON_CHANGE, doc="verification packets queued")
    file_packets = Channel(6, U32, update=_ON_CHANGE, doc="file packets queued")
    packets_dropped = Channel(7, U32, update=_ON_CHANGE,
                              doc="packets refused because their VC queue was full")
    queued_octets = Channel(8, U32, update=_ON_CHANGE, doc="octets waiting in all VC queues")
    frame_rate_hz = Channel(9, F64, unit="Hz", update=_ON_CHANGE, doc="pacing rate")
    last_vcid = Channel(10, U8, update=_ON_CHANGE, doc="VC of the last frame sent")

    queue_full = Event(1, Severity.WARNING_LO, "VC {vcid} queue full: {kind} packet dropped",
                       throttle=Throttle(5, 60.0), vcid=U8, kind=Enum(PacketKind))

    tx_frame = Output("(priority, TM frame) for the radio (connect to radio.tx_frame)")

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.profile = LinkProfile()
        self.air_rate_bps: float = DEFAULT_AIR_RATE_BPS
        self.bits_per_octet = DEFAULT_BITS_PER_OCTET
        self.burst_frames = 2
        self.send_idle = True
        self.queue_octets = {"realtime": 16 * 1024, "events": 16 * 1024, "files": 64 * 1024}
        self.mux: TmMultiplexer | None = None
        self.sequence = SequenceCounters()
        self.counts = [0, 0, 0, 0]  # housekeeping, event, verification, file packets queued
        self.dropped = 0
        self._reported: tuple[int, ...] = ()  # the counters _report last wrote
        self._credit = 0.0
        self._last: float | None = None
        self._routes: dict[PacketKind, tuple[int, int]] = {}
        self._time: TimeSource | None = None

    # ------------------------------------------------------------ lifecycle

    def configure(self, config: Mapping[str, Any]) -> None:
        self.profile, rest = LinkProfile.from_config(config)
        for key, value in rest.items():
            if key in ("air_rate_bps", "bits_per_octet"):
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise ConfigError(key, f"{value!r} must be a positive number")
                setattr(self, key, float(value))
            elif key == "burst_frames":
                if type(value) is not int or value < 1:
                    raise ConfigError(key, f"{value!r} must be a positive integer")
                self.burst_frames = value
            elif key == "send_idle":
                if type(value) is not bool:
                    raise ConfigError(key, "must be true or false")
                self.send_idle = value
            elif key == "queue_octets":
                if not isinstance(value, dict) or set(value) - set(self.queue_octets) or not all(
                    type(v) is int and v >= 1024 for v in value.values()
                ):
                    raise ConfigError(key, "must be a table of realtime/events/files = octets "
                                           "(at least 1024 each)")
                self.queue_octets.update(value)
            else:
                raise ConfigError(key, "unknown setting (known: the link profile's keys, "
                                       "air_rate_bps, bits_per_octet, burst_frames, send_idle, "
                                       "queue_octets)")
        p = self.profile
        self.mux = TmMultiplexer(
            p.spacecraft_id,
            [VirtualChannel(p.vc_realtime, "realtime", 0, self.queue_octets["realtime"]),
             VirtualChannel(p.vc_events, "events", 1, self.queue_octets["events"]),
             VirtualChannel(p.vc_files, "files", 2, self.queue_octets["files"])],
            frame_length=p.frame_octets, idle_vcid=p.vc_idle,
        )
        self._routes = {
            PacketKind.HOUSEKEEPING: (p.vc_realtime, p.apid_housekeeping),
            PacketKind.VERIFICATION: (p.vc_realtime, p.apid_verification),
            PacketKind.EVENT: (p.vc_events, p.apid_event),
            PacketKind.FILE: (p.vc_files, p.apid_file_downlink),
        }

    @property
    def frame_rate(self) -> float:
        """Frames per second the radio sends at its air rate."""
        cadu = CADU_OVERHEAD_OCTETS + RS_CODEBLOCK_OCTETS * self.profile.interleave
        return self.air_rate_bps / (cadu * self.bits_per_octet)

    def init(self) -> None:
        if "time" in self.context.hardware:
            self._time = component_time(self)

    def start(self) -> None:
        self._last = self.now()
        self.tlm(self.frame_rate_hz, self.frame_rate)

    def cycle(self) -> None:
        assert self.mux is not None
        now = self.now()
        last = now if self._last is None else self._last
        self._last = now
        self._credit = min(self._credit, float(self.burst_frames)) + (now - last) * self.frame_rate
        mux = self.mux
        send = self.tx_frame.send
        sent = 0
        while self._credit >= 1.0:
            if not self.send_idle and not self.queued:
                self._credit = 0.0
                break
            frame = mux.next_frame()
            send((RADIO_PRIORITY, frame))
            self._credit -= 1.0
            sent += 1
        if sent:
            self.tlm(self.last_vcid, (frame[1] >> 1) & 0x07)
        self._report()

    @property
    def queued(self) -> int:
        """Octets waiting in the virtual channel queues."""
        assert self.mux is not None
        p = self.profile
        return sum(self.mux.pending_octets(v) for v in (p.vc_realtime, p.vc_events, p.vc_files))

    def _report(self) -> None:
        assert self.mux is not None
        counts = self.counts
        counters = (self.mux.frames, self.mux.idle_frames, counts[0], counts[1], counts[2],
                    counts[3], self.dropped, self.queued)
        if counters != self._reported:  # on-change channels: unchanged, nothing to write
            self._reported = counters
            for channel, value in zip(_COUNTER_CHANNELS, counters, strict=True):
                self.tlm(channel, value)

    # ------------------------------------------------------------ inputs

    @input_port(depth=64, policy="drop_oldest")
    def housekeeping(self, packet: HousekeepingPacket) -> None:
        """Housekeeping packets (connect hk.packets here)."""
        self._queue(PacketKind.HOUSEKEEPING, packet.time, packet.pack())

    @input_port(depth=64, policy="drop_oldest")
    def verification(self, report: Verification) -> None:
        """Command verification reports (connect cmd.verification here)."""
        self._queue(PacketKind.VERIFICATION, report.time, report.pack())

    @input_port(depth=256, policy="drop_oldest", topic=EVENTS)
    def events(self, record: EventRecord) -> None:
        """Every event of the deployment."""
        self._queue(PacketKind.EVENT, record.time, record.pack())

    @input_port(depth=64, policy="reject")
    def file_pdus(self, pdu: bytes) -> None:
        """CFDP PDUs to send to the ground (from the file component)."""
        self._queue(PacketKind.FILE, self.now(), bytes(pdu))

    @input_port(depth=4, policy="drop_oldest")
    def ocf(self, word: int) -> None:
        """The CLCW for the operational control field (connect uplink.clcw here)."""
        assert self.mux is not None
        self.mux.set_ocf(word)

    def _queue(self, kind: PacketKind, time_s: float, data: bytes) -> None:
        assert self.mux is not None
        vcid, apid = self._routes[kind]
        if self._time is not None:
            tai = tai_or_none(self._time)
            if tai is not None:
                time_s += tai - self.now()
        # hal.timecode.encode_cuc's value, computed directly: floor(t x 2^16) is exact for a
        # float, and the general encoder's exact arithmetic is most of a packet's cost
        ticks = min(max(math.floor(time_s * _CUC_FINE), 0), _CUC_MAX_TICKS)
        packet = _TM_HEADER_CUC.pack(
            _TM_SECONDARY | apid, _UNSEGMENTED | self.sequence.next(apid),
            _CUC_OCTETS + len(data) - 1, _CUC_PFIELD, ticks >> 16, ticks & 0xFFFF,
        ) + data
        if self.mux.submit(vcid, packet):
            self.counts[kind] += 1
        else:
            self.dropped += 1
            self.emit(self.queue_full, vcid, kind)


# written by the cycle's report, in this order, when any of them changed
_COUNTER_CHANNELS: Final = (
    Downlink.frames_sent, Downlink.idle_frames, Downlink.housekeeping_packets,
    Downlink.event_packets, Downlink.verification_packets, Downlink.file_packets,
    Downlink.packets_dropped, Downlink.queued_octets,
)
