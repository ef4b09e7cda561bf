"""The onboard TC path without security: segmentation, bypass and control frames, counting."""

from __future__ import annotations

import random

import pytest

from flight.link import SpacePacket, TcFrame, TcUplink, UplinkChannel
from flight.link.farm import FarmEvent
from flight.link.sdls import RejectReason
from flight.link.segments import MapReassembler, segment, split_packets
from flight.link.spacepacket import PacketType, SequenceFlags
from flight.link.tcframe import UNLOCK, set_v_r
from flight.link.uplink import Rejected

SCID = 0x155


def packet(n: int, size: int = 20) -> bytes:
    return SpacePacket(0x10 + n % 4, n, bytes([n % 256]) * size, PacketType.TC).pack()


def test_segment_and_reassemble_across_maps() -> None:
    big, small = packet(1, 2500), packet(2)
    reassembler = MapReassembler()
    parts = segment(big, 1000)
    assert [flags for flags, _ in parts] == [
        SequenceFlags.FIRST, SequenceFlags.CONTINUATION, SequenceFlags.LAST]
    out = []
    for flags, part in parts[:2]:
        out += reassembler.feed(part, flags, map_id=1)
    out += reassembler.feed(small + small, SequenceFlags.UNSEGMENTED, map_id=2)  # blocked packets
    out += reassembler.feed(parts[2][1], parts[2][0], map_id=1)
    assert [p.pack() for p in out] == [small, small, big]
    assert segment(small, 1000) == [(SequenceFlags.UNSEGMENTED, small)]
    with pytest.raises(ValueError):
        segment(small, 0)


def test_segment_sequence_errors_are_counted() -> None:
    reassembler = MapReassembler()
    assert reassembler.feed(b"middle", SequenceFlags.CONTINUATION) == []
    assert reassembler.feed(b"end", SequenceFlags.LAST) == []
    reassembler.feed(packet(1)[:10], SequenceFlags.FIRST)
    reassembler.feed(packet(1)[:10], SequenceFlags.FIRST)
    assert reassembler.feed(packet(3)[:-1], SequenceFlags.UNSEGMENTED) == []
    counters = reassembler.counters
    assert (counters.segment_sequence_errors, counters.malformed_packets) == (4, 1)
    assert [p.pack() for p in split_packets(packet(1) + packet(2))] == [packet(1), packet(2)]


def test_clear_uplink_with_bypass_and_control_frames() -> None:
    link = TcUplink(SCID, [UplinkChannel(0, segmented=True, secured=False),
                           UplinkChannel(1, segmented=False, secured=False)])
    frames = [
        TcFrame(SCID, 0, 0, packet(0), map_id=5),
        TcFrame(SCID, 0, 9, packet(1), map_id=5),  # far ahead of V(R): lockout
        TcFrame(SCID, 0, 0, packet(2), bypass=True, map_id=5),
        TcFrame(SCID, 0, 0, set_v_r(9), bypass=True, control_command=True),
        TcFrame(SCID, 0, 9, packet(1), map_id=5),
        TcFrame(SCID, 1, 200, packet(3)),  # lockout on VC 1
        TcFrame(SCID, 1, 0, UNLOCK, bypass=True, control_command=True),
    ]
    outcomes = [link.receive(frame.pack()) for frame in frames]
    assert outcomes == [
        FarmEvent.AD_ACCEPTED, FarmEvent.AD_LOCKOUT, FarmEvent.BD_ACCEPTED,
        FarmEvent.SET_V_R_IN_LOCKOUT, FarmEvent.AD_IN_LOCKOUT, FarmEvent.AD_LOCKOUT,
        FarmEvent.UNLOCK,
    ]
    assert [p.pack() for _, p in link.take_packets()] == [packet(0), packet(2)]
    assert link.clcw(0).lockout and not link.clcw(1).lockout
    assert link.frames_accepted == 2 and not link.rejections


def test_every_bad_frame_is_counted_by_reason() -> None:
    link = TcUplink(SCID, [UplinkChannel(0, secured=False)])
    good = TcFrame(SCID, 0, 0, packet(0), map_id=0).pack()
    cases = {
        RejectReason.WRONG_SCID: TcFrame(SCID + 1, 0, 0, b"x").pack(),
        RejectReason.WRONG_VCID: TcFrame(SCID, 3, 0, b"x").pack(),
        RejectReason.BAD_FECF: good[:-1] + bytes([good[-1] ^ 1]),
        RejectReason.MALFORMED: good[:-4],
    }
    for reason, octets in cases.items():
        outcome = link.receive(octets)
        assert isinstance(outcome, Rejected) and outcome.reason == reason
    assert dict(link.rejections) == dict.fromkeys(cases, 1)
    rng = random.Random(1)
    for _ in range(2000):
        assert isinstance(link.receive(rng.randbytes(rng.randrange(1100))), Rejected)
    assert link.receive(good) == FarmEvent.AD_ACCEPTED


def test_secured_channel_needs_sdls() -> None:
    with pytest.raises(ValueError):
        TcUplink(SCID, [UplinkChannel(0)])
