"""Space packets: round trips, spacepackets interop, time stamps, sequence counts, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spacepackets.ccsds.spacepacket import PacketType as PeerType
from spacepackets.ccsds.spacepacket import SequenceFlags as PeerFlags
from spacepackets.ccsds.spacepacket import SpacePacket as PeerPacket
from spacepackets.ccsds.spacepacket import SpacePacketHeader

from flight.link.errors import (
    FieldValueError,
    LengthMismatchError,
    LinkError,
    TruncatedError,
    VersionError,
)
from flight.link.spacepacket import (
    IDLE_APID,
    PacketType,
    SequenceCounters,
    SequenceFlags,
    SequenceMonitor,
    SpacePacket,
    idle_packet_bytes,
    packet_length_at,
    telemetry_packet,
    telemetry_time,
)

packets = st.builds(
    SpacePacket,
    apid=st.integers(0, 0x7FF),
    sequence_count=st.integers(0, 0x3FFF),
    data=st.binary(min_size=1, max_size=300),
    packet_type=st.sampled_from(PacketType),
    secondary_header=st.booleans(),
    sequence_flags=st.sampled_from(SequenceFlags),
)


def test_known_encoding() -> None:
    packet = SpacePacket(0x123, 0x2A, b"\xAA\xBB", PacketType.TC, True)
    assert packet.pack() == bytes.fromhex("1923 c02a 0001 aabb")


@given(packets)
def test_round_trip(packet: SpacePacket) -> None:
    raw = packet.pack()
    assert len(raw) == packet.packed_length
    assert SpacePacket.unpack(raw) == packet
    buffer = bytearray(3 + len(raw) + 5)
    assert packet.pack_into(buffer, 3) == len(raw)
    assert SpacePacket.unpack_from(buffer, 3) == (packet, len(raw))
    assert packet_length_at(buffer, 3) == len(raw)


@given(packets)
def test_spacepackets_decodes_ours(packet: SpacePacket) -> None:
    raw = packet.pack()
    header = SpacePacketHeader.unpack(raw)
    assert header.apid == packet.apid
    assert header.seq_count == packet.sequence_count
    assert int(header.packet_type) == packet.packet_type
    assert header.sec_header_flag == packet.secondary_header
    assert int(header.seq_flags) == packet.sequence_flags
    assert header.packet_len == len(raw)
    assert raw[6 : header.packet_len] == packet.data


@given(
    apid=st.integers(0, 0x7FF),
    count=st.integers(0, 0x3FFF),
    data=st.binary(min_size=1, max_size=300),
    ptype=st.sampled_from(PeerType),
    flags=st.sampled_from(PeerFlags),
)
def test_we_decode_spacepackets(apid, count, data, ptype, flags) -> None:
    header = SpacePacketHeader(ptype, apid, count, len(data) - 1, seq_flags=flags)
    raw = bytes(PeerPacket(header, None, data).pack())
    packet = SpacePacket.unpack(raw)
    assert (packet.apid, packet.sequence_count, packet.data) == (apid, count, data)
    assert (packet.packet_type, packet.sequence_flags) == (int(ptype), int(flags))


def test_idle_packets() -> None:
    idle = SpacePacket.idle(20)
    assert idle.is_idle and idle.apid == IDLE_APID and idle.packed_length == 20
    assert idle.pack() == idle_packet_bytes(20)
    assert SpacePacket.unpack(idle_packet_bytes(7)).is_idle
    with pytest.raises(FieldValueError):
        idle_packet_bytes(6)


def test_telemetry_time_stamp() -> None:
    packet = telemetry_packet(0x42, 7, 2_000_000_000.5, b"hk")
    assert packet.secondary_header and packet.data[:1] == b"\x1e"
    assert telemetry_time(SpacePacket.unpack(packet.pack())) == (2_000_000_000.5, b"hk")
    with pytest.raises(FieldValueError):
        telemetry_time(SpacePacket(0x42, 0, b"no header"))
    with pytest.raises(FieldValueError):
        telemetry_time(SpacePacket(0x42, 0, b"\x40bad", secondary_header=True))


def test_sequence_counters_wrap_per_apid() -> None:
    counters = SequenceCounters()
    assert [counters.next(5) for _ in range(3)] == [0, 1, 2]
    assert counters.next(6) == 0
    for _ in range(16381):
        counters.next(5)
    assert counters.next(5) == 0


def test_sequence_monitor_detects_gaps_across_wrap() -> None:
    monitor = SequenceMonitor()
    assert [monitor.observe(1, c) for c in (16382, 16383, 0, 3, 4)] == [0, 0, 0, 2, 0]
    assert monitor.observe(2, 100) == 0
    stats = monitor.statistics(1)
    assert (stats.packets, stats.gaps, stats.missing, stats.last_count) == (5, 1, 2, 4)
    assert monitor.apids == [1, 2]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"apid": 0x800}, "APID"),
        ({"apid": -1}, "APID"),
        ({"sequence_count": 1 << 14}, "sequence count"),
        ({"data": b""}, "packet data field length"),
        ({"data": bytes(65537)}, "packet data field length"),
    ],
)
def test_construction_rejects_bad_fields(kwargs, field) -> None:
    fields = {"apid": 1, "sequence_count": 0, "data": b"x"} | kwargs
    with pytest.raises(FieldValueError) as info:
        SpacePacket(**fields)
    assert info.value.field == field


def test_construction_normalises_types() -> None:
    packet = SpacePacket(1, 2, bytearray(b"ab"), 1, False, 3)
    assert type(packet.data) is bytes and packet.packet_type is PacketType.TC
    assert packet.sequence_flags is SequenceFlags.UNSEGMENTED
    with pytest.raises(AttributeError):
        packet.apid = 3  # type: ignore[misc]


def test_bad_input_is_named() -> None:
    good = SpacePacket(1, 2, b"abcd").pack()
    with pytest.raises(TruncatedError) as info:
        SpacePacket.unpack(good[:5])
    assert (info.value.needed, info.value.got) == (7, 5)
    with pytest.raises(TruncatedError):
        SpacePacket.unpack(good[:-1])
    with pytest.raises(LengthMismatchError) as mismatch:
        SpacePacket.unpack(good + b"\x00")
    assert (mismatch.value.declared, mismatch.value.actual) == (10, 11)
    with pytest.raises(VersionError):
        SpacePacket.unpack(bytes([0x20]) + good[1:])
    with pytest.raises(TruncatedError):
        SpacePacket.unpack_from(good, 8)
    with pytest.raises(TruncatedError):
        SpacePacket(1, 2, b"abcd").pack_into(bytearray(9))


@given(st.binary(max_size=64), st.integers(0, 70))
def test_random_bytes_never_crash(data: bytes, offset: int) -> None:
    for call in (lambda: SpacePacket.unpack(data), lambda: SpacePacket.unpack_from(data, offset)):
        try:
            call()
        except LinkError:
            pass
