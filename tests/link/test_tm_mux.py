"""TM virtual-channel multiplexing on board and demultiplexing on the ground."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.codec import CaduSync, cadu_decode
from flight.link.clcw import Clcw
from flight.link.errors import FieldValueError
from flight.link.spacepacket import IDLE_APID, SpacePacket
from flight.link.tm_demux import TmDemultiplexer
from flight.link.tm_mux import TmMultiplexer, VirtualChannel
from flight.link.tmframe import FHP_IDLE_ONLY, FHP_NO_PACKET_START, TmFrame

SCID = 0x1AB
CHANNELS = [
    VirtualChannel(0, "realtime", priority=0),
    VirtualChannel(1, "events", priority=1),
    VirtualChannel(2, "playback", priority=3),
    VirtualChannel(3, "files", priority=3),
]


def packets_for(rng: random.Random, vcid: int, count: int, max_len: int = 3000) -> list[bytes]:
    apid = 0x100 + vcid
    return [
        SpacePacket(apid, i % 16384, rng.randbytes(rng.randint(1, max_len))).pack()
        for i in range(count)
    ]


def run(mux: TmMultiplexer, demux: TmDemultiplexer, frames: int, lose=lambda i: False):
    got: dict[int, list[bytes]] = {}
    raw_frames = []
    for i in range(frames):
        raw = mux.next_frame()
        raw_frames.append(raw)
        if lose(i):
            continue
        for vcid, packet in demux.receive(raw):
            got.setdefault(vcid, []).append(packet)
    return got, raw_frames


def test_packets_cross_frames_and_come_back_per_channel() -> None:
    rng = random.Random(1)
    mux = TmMultiplexer(SCID, CHANNELS)
    demux = TmDemultiplexer(SCID)
    sent = {vcid: packets_for(rng, vcid, 40) for vcid in range(4)}
    for vcid, packets in sent.items():
        for packet in packets:
            assert mux.submit(vcid, packet)
    total = sum(len(p) for ps in sent.values() for p in ps)
    got, raw = run(mux, demux, total // mux.data_octets + 10)
    assert got == sent
    assert demux.counters.vc_gaps == demux.counters.master_gaps == 0
    assert demux.counters.packets == 160 and demux.counters.fhp_errors == 0
    frames = [TmFrame.unpack(r) for r in raw]
    assert [f.master_frame_count for f in frames] == [i & 0xFF for i in range(len(frames))]
    assert any(f.first_header_pointer == FHP_NO_PACKET_START for f in frames)
    assert frames[-1].first_header_pointer == FHP_IDLE_ONLY and frames[-1].virtual_channel_id == 7


def test_priority_order_and_first_header_pointer() -> None:
    mux = TmMultiplexer(SCID, CHANNELS)
    big = SpacePacket(0x20, 0, bytes(3000)).pack()
    small = SpacePacket(0x21, 0, bytes(10)).pack()
    mux.submit(2, big)
    mux.submit(0, small)
    first = TmFrame.unpack(mux.next_frame())
    assert first.virtual_channel_id == 0 and first.first_header_pointer == 0
    assert first.data[: len(small)] == small
    idle = SpacePacket.unpack(first.data[len(small) :])
    assert idle.apid == IDLE_APID
    frames = [TmFrame.unpack(mux.next_frame()) for _ in range(3)]
    assert [f.virtual_channel_id for f in frames] == [2, 2, 2]
    assert [f.virtual_frame_count for f in frames] == [0, 1, 2]
    assert [f.first_header_pointer for f in frames] == [0, FHP_NO_PACKET_START, 3006 - 2206]


def test_idle_packet_too_short_for_the_frame_spans_into_the_next() -> None:
    mux = TmMultiplexer(SCID, CHANNELS)
    demux = TmDemultiplexer(SCID)
    packet = SpacePacket(0x30, 0, bytes(mux.data_octets - 6 - 3)).pack()  # leaves 3 octets
    mux.submit(1, packet)
    got, raw = run(mux, demux, 3)
    assert got == {1: [packet]}
    second = TmFrame.unpack(raw[1])
    assert second.virtual_channel_id == 1 and second.first_header_pointer == 4
    assert demux.counters.idle_packets == 2 and demux.counters.fhp_errors == 0


def test_ocf_carries_the_latest_clcw() -> None:
    mux = TmMultiplexer(SCID, CHANNELS)
    clcw = Clcw(virtual_channel_id=1, report_value=77, retransmit=True)
    seen: list[int] = []
    demux = TmDemultiplexer(SCID, on_ocf=seen.append)
    demux.receive(mux.next_frame())
    mux.set_ocf(clcw.to_word())
    demux.receive(mux.next_frame())
    assert seen == [0, clcw.to_word()] and Clcw.from_word(seen[-1]) == clcw


def test_cadus_decode_back_to_the_frames() -> None:
    rng = random.Random(2)
    mux_a, mux_b = TmMultiplexer(SCID, CHANNELS), TmMultiplexer(SCID, CHANNELS)
    for packet in packets_for(rng, 0, 10):
        mux_a.submit(0, packet)
        mux_b.submit(0, packet)
    cadus = [mux_a.next_cadu() for _ in range(8)]
    frames = [mux_b.next_frame() for _ in range(8)]
    assert all(len(c) == 4 + 1275 for c in cadus)
    assert cadu_decode(cadus[0]) == (frames[0], 0)
    assert CaduSync().feed(b"".join(cadus)) == frames


def test_lost_frames_discard_partial_packets_and_resync() -> None:
    rng = random.Random(3)
    mux = TmMultiplexer(SCID, CHANNELS)
    demux = TmDemultiplexer(SCID)
    sent = packets_for(rng, 2, 200, max_len=2500)
    for packet in sent:
        mux.submit(2, packet)
    lost = {5, 6, 20, 41}
    got, _ = run(mux, demux, 300, lose=lambda i: i in lost)
    received = got[2]
    assert set(received) <= set(sent)
    assert received == [p for p in sent if p in set(received)]  # in order, none corrupted
    assert len(sent) - len(received) >= 4
    counters = demux.counters
    assert counters.vc_gaps == counters.master_gaps == 3
    assert counters.vc_frames_lost == counters.master_frames_lost == 4
    assert counters.partial_packets_discarded >= 1
    assert demux.sequence.statistics(0x102).missing == len(sent) - len(received)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    loss=st.floats(0, 0.3),
    sizes=st.lists(st.integers(1, 2500), min_size=1, max_size=60),
)
def test_demux_never_emits_a_packet_that_was_not_sent(seed: int, loss: float, sizes) -> None:
    rng = random.Random(seed)
    mux = TmMultiplexer(SCID, CHANNELS)
    demux = TmDemultiplexer(SCID)
    sent: dict[int, list[bytes]] = {}
    for i, size in enumerate(sizes):
        vcid = rng.randrange(4)
        packet = SpacePacket(0x40 + vcid, i, rng.randbytes(size)).pack()
        sent.setdefault(vcid, []).append(packet)
        mux.submit(vcid, packet)
    frames = sum(sizes) // 1000 + 20
    got, _ = run(mux, demux, frames, lose=lambda i: rng.random() < loss)
    for vcid, packets in got.items():
        assert packets == [p for p in sent[vcid] if p in set(packets)]
    if loss == 0:
        assert got == sent


def test_bad_frames_are_counted_not_raised() -> None:
    mux = TmMultiplexer(SCID, CHANNELS)
    demux = TmDemultiplexer(SCID, vcids={0, 1, 2, 3, 7})
    good = mux.next_frame()
    damaged = bytearray(good)
    damaged[100] ^= 4
    other = TmMultiplexer(SCID + 1, CHANNELS).next_frame()
    wrong_vc = TmMultiplexer(SCID, [VirtualChannel(5, "x", 0)], idle_vcid=5).next_frame()
    for raw in (bytes(damaged), good[:-1], good + b"\x00", other, wrong_vc, b"", bytes(1115)):
        assert demux.receive(raw) == []
    assert demux.counters.rejected == {
        "ChecksumError": 2, "TruncatedError": 2, "LengthMismatchError": 1,
        "WrongSpacecraftError": 1, "WrongVirtualChannelError": 1,
    }
    assert demux.counters.frames == 0
    rng = random.Random(4)
    for _ in range(200):
        demux.receive(rng.randbytes(rng.choice([1115, rng.randrange(2100)])))
    assert demux.counters.frames == 0


def test_frame_with_inconsistent_first_header_pointer_resyncs() -> None:
    demux = TmDemultiplexer(SCID, frame_length=None, fecf=False)
    packet = SpacePacket(0x50, 0, bytes(20)).pack()  # 26 octets
    frames = [
        TmFrame(SCID, 0, 0, 0, packet[:10], 0),
        TmFrame(SCID, 0, 1, 1, packet[10:20] + packet, 10),  # says the packet ends 6 early
        TmFrame(SCID, 0, 2, 2, packet, 0),
    ]
    got = [demux.receive(f.pack(fecf=False)) for f in frames]
    assert got == [[], [(0, packet)], [(0, packet)]]
    assert demux.counters.fhp_errors == 1 and demux.counters.partial_packets_discarded == 1


def test_submit_checks_and_queue_limit() -> None:
    mux = TmMultiplexer(SCID, [VirtualChannel(0, "rt", 0, queue_limit_octets=100)])
    packet = SpacePacket(1, 0, bytes(60)).pack()
    assert mux.submit(0, packet) is True
    assert mux.submit(0, packet) is False
    assert mux.counters(0).packets_dropped == 1 and mux.pending_octets(0) == 66
    with pytest.raises(FieldValueError):
        mux.submit(4, packet)
    with pytest.raises(FieldValueError):
        mux.submit(0, packet[:-1])
    with pytest.raises(FieldValueError):
        TmMultiplexer(SCID, [VirtualChannel(0, "a", 0), VirtualChannel(0, "b", 1)])
