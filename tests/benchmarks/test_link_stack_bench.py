"""The space-link stack (issue 5): codecs against spacepackets, and the two onboard paths.

Ratios (same run, interleaved): space packet encode and decode >= 1.5x spacepackets; TM frame
(1115 octets) build with FECF and parse with FECF check >= 2x spacepackets (whose FECF is
`fastcrc`, the CRC spacepackets itself checks frames with). Absolute, asserted only when
benchmarking (`make bench`): the uplink path authenticates (AES-256-GCM) and decodes >= 5,000 TC
frames/s; the downlink multiplexer turns telemetry packets into CADUs at >= 50 Mbit/s of packets.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import fastcrc
from spacepackets.ccsds.spacepacket import PacketType as PeerType
from spacepackets.ccsds.spacepacket import SpacePacket as PeerPacket
from spacepackets.ccsds.spacepacket import SpacePacketHeader
from spacepackets.ccsds.tm_frame import (
    MasterChannelId,
    TmFramePrimaryHeader,
    TmTransferFrame,
    TransferFrameDataFieldStatus,
)

from flight.link import (
    KeyStore,
    SaParameters,
    Sdls,
    ServiceType,
    SpacePacket,
    StorageBlobs,
    TcFrame,
    TcUplink,
    TmFrame,
    TmMultiplexer,
    UplinkChannel,
    VirtualChannel,
    telemetry_packet,
    wrap_key,
)
from flight.link.farm import FarmEvent
from flight.link.spacepacket import PacketType
from hal.storage import SimBackend, Storage

USER_DATA = random.Random(1).randbytes(64)
RAW_PACKET = SpacePacket(0x123, 77, USER_DATA).pack()
FRAME_DATA = random.Random(2).randbytes(1115 - 6 - 4 - 2)
OCF = 0x01000000
RAW_FRAME = TmFrame(0x2A, 3, 10, 20, FRAME_DATA, 0, OCF).pack()
SCID = 0x2A
UPLINK_FRAMES = 1000
DOWNLINK_OCTETS = 2_000_000


def _peer_frame_header() -> TmFramePrimaryHeader:
    status = TransferFrameDataFieldStatus(False, False, False, 3, 0)
    return TmFramePrimaryHeader(MasterChannelId(0, 0x2A), 3, True, 10, 20, status)


def test_space_packet_encode(compare) -> None:
    def peer() -> bytes:
        header = SpacePacketHeader(PeerType.TM, 0x123, 77, len(USER_DATA) - 1)
        return bytes(PeerPacket(header, None, USER_DATA).pack())

    assert peer() == RAW_PACKET
    compare(lambda: SpacePacket(0x123, 77, USER_DATA).pack(), peer,
            peer_name="spacepackets SpacePacket.pack", min_ratio=1.5)


def test_space_packet_decode(compare) -> None:
    def peer() -> PeerPacket:
        header = SpacePacketHeader.unpack(RAW_PACKET)
        return PeerPacket(header, None, RAW_PACKET[6 : header.packet_len])

    assert peer().user_data == SpacePacket.unpack(RAW_PACKET).data
    compare(lambda: SpacePacket.unpack(RAW_PACKET), peer,
            peer_name="spacepackets SpacePacketHeader.unpack", min_ratio=1.5)


def test_tm_frame_build_with_fecf(compare) -> None:
    ocf = OCF.to_bytes(4, "big")

    def peer() -> bytes:
        header = _peer_frame_header()
        fecf = fastcrc.crc16.ibm_3740(header.pack() + FRAME_DATA + ocf).to_bytes(2, "big")
        return TmTransferFrame(1115, header, None, FRAME_DATA, ocf, fecf).pack()

    assert peer() == RAW_FRAME
    compare(lambda: TmFrame(0x2A, 3, 10, 20, FRAME_DATA, 0, OCF).pack(), peer,
            peer_name="spacepackets TmTransferFrame.pack", min_ratio=2)


def test_tm_frame_parse_with_fecf_check(compare) -> None:
    peer = TmTransferFrame.unpack(RAW_FRAME, 1115, True)
    assert peer.data_field == TmFrame.unpack(RAW_FRAME).data
    compare(lambda: TmFrame.unpack(RAW_FRAME),
            lambda: TmTransferFrame.unpack(RAW_FRAME, 1115, True),
            peer_name="spacepackets TmTransferFrame.unpack", min_ratio=2)


def _best_seconds(run: Callable[[], None], setup: Callable[[], None], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        setup()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _sdls(session: bytes) -> Sdls:
    keys = KeyStore(StorageBlobs(Storage(SimBackend())))
    master = bytes(range(32))
    keys.install_master(1, master)
    keys.load_wrapped(10, wrap_key(master, session), 1)
    keys.activate(10)
    sdls = Sdls(keys)
    sdls.add(SaParameters(1, ServiceType.AUTHENTICATED_ENCRYPTION, SCID, 1, 10))
    sdls.start(1)
    return sdls


def test_uplink_authenticates_and_decodes_5000_frames_per_second(benchmark) -> None:
    session = random.Random(3).randbytes(32)
    ground = _sdls(session)
    frames = [
        ground.apply(TcFrame(SCID, 1, n % 256, SpacePacket(0x40, n % 16384, USER_DATA,
                                                          PacketType.TC).pack(), map_id=0), 1)
        for n in range(UPLINK_FRAMES)
    ]
    state: dict[str, TcUplink] = {}

    def setup() -> None:
        state["link"] = TcUplink(SCID, [UplinkChannel(1, farm_buffer=UPLINK_FRAMES)],
                                 sdls=_sdls(session))

    def run() -> None:
        link = state["link"]
        for octets in frames:
            link.receive(octets)
        packets = link.take_packets()
        assert len(packets) == UPLINK_FRAMES

    setup()
    link = state["link"]
    assert link.receive(frames[0]) == FarmEvent.AD_ACCEPTED
    benchmark.pedantic(run, setup=setup, rounds=1 if benchmark.disabled else 5)
    if benchmark.disabled:
        return
    rate = UPLINK_FRAMES / _best_seconds(run, setup, 5)
    benchmark.extra_info.update(frames_per_s=round(rate), required=5000)
    assert rate >= 5000, f"uplink: {rate:.0f} TC frames/s, required 5,000"


def test_downlink_multiplexer_50_mbit_s(benchmark) -> None:
    rng = random.Random(4)
    packets = []
    octets = 0
    while octets < DOWNLINK_OCTETS:
        packet = telemetry_packet(0x100 + len(packets) % 8, len(packets) % 16384,
                                  2e9 + len(packets), rng.randbytes(rng.randint(40, 400))).pack()
        packets.append((len(packets) % 3, packet))
        octets += len(packet)
    channels = [VirtualChannel(0, "realtime", 0), VirtualChannel(1, "events", 1),
                VirtualChannel(2, "playback", 2, queue_limit_octets=1 << 24)]
    state: dict[str, TmMultiplexer] = {}

    def setup() -> None:
        state["mux"] = TmMultiplexer(SCID, channels)

    def run() -> None:
        mux = state["mux"]
        for vcid, packet in packets:
            mux.submit(vcid, packet)
        cadus = 0
        while mux.pending_octets(0) or mux.pending_octets(1) or mux.pending_octets(2):
            mux.next_cadu()
            cadus += 1
        assert cadus >= octets // mux.data_octets

    benchmark.pedantic(run, setup=setup, rounds=1 if benchmark.disabled else 3)
    if benchmark.disabled:
        return
    mbit_s = octets * 8 / _best_seconds(run, setup, 3) / 1e6
    benchmark.extra_info.update(packet_mbit_s=round(mbit_s, 1), required=50)
    assert mbit_s >= 50, f"downlink: {mbit_s:.1f} Mbit/s of packets, required 50"
