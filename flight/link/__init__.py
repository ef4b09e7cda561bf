"""The CCSDS space link: space packets, TC and TM frames, COP-1, TM virtual channels and SDLS.

Codecs and I/O-free, clock-injected state machines; the onboard link components and the ground
station drive them. The guide is docs/space-link.md.
"""

from flight.link.clcw import Clcw
from flight.link.errors import (
    ChecksumError,
    FieldValueError,
    LengthMismatchError,
    LinkError,
    OversizedError,
    TruncatedError,
    VersionError,
    WrongSpacecraftError,
    WrongVirtualChannelError,
)
from flight.link.farm import Farm1, FarmEvent, FarmState
from flight.link.fop import Fop1, FopAlert, FopState, TimeoutType
from flight.link.keystore import KeyState, KeyStore, StorageBlobs, wrap_key
from flight.link.sdls import RejectReason, SaParameters, Sdls, SdlsError, ServiceType
from flight.link.spacepacket import (
    PacketType,
    SequenceCounters,
    SequenceFlags,
    SequenceMonitor,
    SpacePacket,
    telemetry_packet,
    telemetry_time,
)
from flight.link.tcframe import TcFrame
from flight.link.tm_demux import TmDemultiplexer
from flight.link.tm_mux import TmMultiplexer, VirtualChannel
from flight.link.tmframe import TmFrame
from flight.link.uplink import TcUplink, UplinkChannel

__all__ = [
    "ChecksumError",
    "Clcw",
    "Farm1",
    "FarmEvent",
    "FarmState",
    "FieldValueError",
    "Fop1",
    "FopAlert",
    "FopState",
    "KeyState",
    "KeyStore",
    "LengthMismatchError",
    "LinkError",
    "OversizedError",
    "PacketType",
    "RejectReason",
    "SaParameters",
    "Sdls",
    "SdlsError",
    "SequenceCounters",
    "SequenceFlags",
    "SequenceMonitor",
    "ServiceType",
    "SpacePacket",
    "StorageBlobs",
    "TcFrame",
    "TcUplink",
    "TimeoutType",
    "TmDemultiplexer",
    "TmFrame",
    "TmMultiplexer",
    "TruncatedError",
    "UplinkChannel",
    "VersionError",
    "VirtualChannel",
    "WrongSpacecraftError",
    "WrongVirtualChannelError",
    "telemetry_packet",
    "telemetry_time",
    "wrap_key",
]
