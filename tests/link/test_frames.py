"""TC and TM frames and the CLCW: round trips, interop, FECF, and every kind of bad frame."""

from __future__ import annotations

import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spacepackets.ccsds.tm_frame import (
    MasterChannelId,
    TmFramePrimaryHeader,
    TmTransferFrame,
    TransferFrameDataFieldStatus,
    TransferFrameSecondaryHeader,
)

from flight.link.clcw import Clcw
from flight.link.errors import (
    ChecksumError,
    FieldValueError,
    LengthMismatchError,
    LinkError,
    OversizedError,
    TruncatedError,
    VersionError,
)
from flight.link.spacepacket import SequenceFlags
from flight.link.tcframe import (
    UNLOCK,
    FrameType,
    SetVr,
    TcFrame,
    Unlock,
    parse_control_command,
    set_v_r,
)
from flight.link.tmframe import FHP_IDLE_ONLY, TmFrame, data_field_octets

# ---------------------------------------------------------------- TC frames

tc_frames = st.builds(
    lambda scid, vcid, seq, data, kind, map_id, flags: TcFrame(
        scid, vcid, seq, data, bypass=kind != "AD", control_command=kind == "BC",
        map_id=None if kind == "BC" else map_id,
        segment_flags=SequenceFlags.UNSEGMENTED if kind == "BC" or map_id is None else flags,
    ),
    st.integers(0, 0x3FF),
    st.integers(0, 63),
    st.integers(0, 255),
    st.binary(min_size=1, max_size=1016),
    st.sampled_from(["AD", "BD", "BC"]),
    st.none() | st.integers(0, 63),
    st.sampled_from(SequenceFlags),
)


def reference_tc_frame(scid: int, vcid: int, seq: int, data: bytes, bypass: int, control: int,
                       segment: int | None = None) -> bytes:
    """The frame per 232.0-B-4 written bit by bit, with the stdlib's CRC-16/CCITT-FALSE."""
    body = data if segment is None else bytes((segment,)) + data
    length = 5 + len(body) + 2
    bits = f"00{bypass:01b}{control:01b}00{scid:010b}{vcid:06b}{length - 1:010b}{seq:08b}"
    frame = int(bits, 2).to_bytes(5, "big") + body
    return frame + binascii.crc_hqx(frame, 0xFFFF).to_bytes(2, "big")


def test_tc_frame_matches_the_standard_bit_layout() -> None:
    frame = TcFrame(0x2A5, 0x15, 0x7E, b"hello", bypass=True, map_id=9,
                    segment_flags=SequenceFlags.FIRST)
    assert frame.pack() == reference_tc_frame(0x2A5, 0x15, 0x7E, b"hello", 1, 0, 0b01_001001)
    control = TcFrame(3, 4, 0, UNLOCK, bypass=True, control_command=True)
    assert control.pack() == reference_tc_frame(3, 4, 0, UNLOCK, 1, 1)
    assert TcFrame.unpack(reference_tc_frame(1, 2, 3, b"abc", 0, 0)) == TcFrame(1, 2, 3, b"abc")


@given(tc_frames, st.booleans())
def test_tc_round_trip(frame: TcFrame, fecf: bool) -> None:
    raw = frame.pack(fecf=fecf)
    assert len(raw) == frame.packed_length(fecf=fecf)
    assert TcFrame.unpack(raw, segment_header=frame.map_id is not None, fecf=fecf) == frame
    if fecf:
        assert binascii.crc_hqx(raw[:-2], 0xFFFF) == int.from_bytes(raw[-2:], "big")


def test_tc_frame_types_and_control_commands() -> None:
    assert TcFrame(1, 1, 0, b"x").frame_type == FrameType.AD
    assert TcFrame(1, 1, 0, b"x", bypass=True).frame_type == FrameType.BD
    assert TcFrame(1, 1, 0, UNLOCK, bypass=True, control_command=True).frame_type == FrameType.BC
    assert parse_control_command(UNLOCK) == Unlock()
    assert parse_control_command(set_v_r(17)) == SetVr(17)
    assert set_v_r(17) == b"\x82\x00\x11"
    with pytest.raises(FieldValueError):
        parse_control_command(b"\x82\x00")
    with pytest.raises(FieldValueError):
        set_v_r(256)


def test_bc_frames_never_carry_segment_headers() -> None:
    raw = TcFrame(1, 1, 0, set_v_r(5), bypass=True, control_command=True).pack()
    frame = TcFrame.unpack(raw, segment_header=True)
    assert frame.map_id is None and frame.data == set_v_r(5)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"spacecraft_id": 1024}, "spacecraft ID"),
        ({"virtual_channel_id": 64}, "VCID"),
        ({"sequence_number": 256}, "frame sequence number"),
        ({"control_command": True}, "control command flag"),
        ({"map_id": 64}, "MAP ID"),
        ({"map_id": 1, "bypass": True, "control_command": True}, "MAP ID"),
        ({"segment_flags": SequenceFlags.FIRST}, "segment flags"),
    ],
)
def test_tc_construction_rejects_bad_fields(kwargs, field) -> None:
    fields = {"spacecraft_id": 1, "virtual_channel_id": 1, "sequence_number": 0, "data": b"x"}
    with pytest.raises(FieldValueError) as info:
        TcFrame(**(fields | kwargs))
    assert info.value.field == field
    with pytest.raises(OversizedError):
        TcFrame(1, 1, 0, bytes(1018))


def test_tc_bad_frames_are_named() -> None:
    raw = TcFrame(1, 2, 3, b"payload").pack()
    with pytest.raises(TruncatedError):
        TcFrame.unpack(raw[:7])
    with pytest.raises(LengthMismatchError) as info:
        TcFrame.unpack(raw[:-1])
    assert (info.value.declared, info.value.actual) == (len(raw), len(raw) - 1)
    with pytest.raises(LengthMismatchError):
        TcFrame.unpack(raw + b"\x00")
    with pytest.raises(OversizedError):
        TcFrame.unpack(bytes(1025))
    damaged = bytearray(raw)
    damaged[6] ^= 0x10
    with pytest.raises(ChecksumError) as crc:
        TcFrame.unpack(bytes(damaged))
    assert crc.value.received == int.from_bytes(raw[-2:], "big") != crc.value.computed
    with pytest.raises(VersionError):
        TcFrame.unpack(_with_version(raw, 1))
    with pytest.raises(FieldValueError):
        TcFrame.unpack(reference_tc_frame(1, 2, 3, b"x", 0, 1))
    with pytest.raises(TruncatedError):
        TcFrame.unpack(reference_tc_frame(1, 2, 3, b"", 0, 0), segment_header=True)


def _with_version(raw: bytes, version: int) -> bytes:
    frame = bytes((raw[0] & 0x3F | version << 6,)) + raw[1:-2]
    return frame + binascii.crc_hqx(frame, 0xFFFF).to_bytes(2, "big")


@given(st.binary(max_size=1100), st.booleans(), st.booleans())
def test_tc_random_bytes_never_crash(data: bytes, segment: bool, fecf: bool) -> None:
    try:
        TcFrame.unpack(data, segment_header=segment, fecf=fecf)
    except LinkError:
        pass


# ---------------------------------------------------------------- TM frames

DATA_LEN = data_field_octets()  # 1115 - 6 - 4 - 2


@given(
    scid=st.integers(0, 0x3FF), vcid=st.integers(0, 7), mc=st.integers(0, 255),
    vc=st.integers(0, 255), fhp=st.integers(0, 0x7FF), ocf=st.none() | st.integers(0, 2**32 - 1),
    fill=st.binary(min_size=1, max_size=8), sync=st.booleans(), order=st.booleans(),
)
def test_tm_round_trip_and_spacepackets_decodes_ours(scid, vcid, mc, vc, fhp, ocf, fill,
                                                      sync, order) -> None:
    data = (fill * 2000)[: DATA_LEN + (4 if ocf is None else 0)]
    frame = TmFrame(scid, vcid, mc, vc, data, fhp, ocf, sync_flag=sync, packet_order=order)
    raw = frame.pack()
    assert len(raw) == 1115
    assert TmFrame.unpack(raw) == frame
    peer = TmTransferFrame.unpack(raw, 1115, True)
    header = peer.primary_header
    assert header.master_channel_id.spacecraft_id == scid and header.vc_id == vcid
    assert (header.master_ch_frame_count, header.vc_frame_count) == (mc, vc)
    assert header.frame_datafield_status.first_header_pointer == fhp
    assert header.frame_datafield_status.sync_flag == sync
    assert header.frame_datafield_status.packet_order_flag == order
    assert header.ocf_flag == (ocf is not None)
    assert peer.data_field == data
    if ocf is not None:
        assert int.from_bytes(peer.op_ctrl_field, "big") == ocf


def test_we_decode_spacepackets_frames() -> None:
    status = TransferFrameDataFieldStatus(True, False, False, 3, 0x123)
    header = TmFramePrimaryHeader(MasterChannelId(0, 0x155), 5, True, 200, 17, status)
    secondary = TransferFrameSecondaryHeader(0, 4, b"\x01\x02\x03\x04")
    data = bytes(range(256)) * 5
    data = data[: 1115 - 6 - 5 - 4 - 2]
    body = TmTransferFrame(1113, header, secondary, data, b"\xde\xad\xbe\xef", None).pack()
    raw = body + binascii.crc_hqx(body, 0xFFFF).to_bytes(2, "big")
    frame = TmFrame.unpack(raw)
    assert (frame.spacecraft_id, frame.virtual_channel_id) == (0x155, 5)
    assert (frame.master_frame_count, frame.virtual_frame_count) == (200, 17)
    assert frame.first_header_pointer == 0x123 and frame.ocf == 0xDEADBEEF
    assert frame.secondary_header == b"\x01\x02\x03\x04" and frame.data == data
    assert frame.pack() == raw


def test_tm_without_fecf_and_variable_length() -> None:
    frame = TmFrame(1, 2, 3, 4, b"short", FHP_IDLE_ONLY)
    raw = frame.pack(fecf=False)
    assert len(raw) == 11
    assert TmFrame.unpack(raw, fecf=False, frame_length=None) == frame
    buffer = bytearray(20)
    assert frame.pack_into(buffer, 4, fecf=False) == 11 and bytes(buffer[4:15]) == raw


def test_tm_bad_frames_are_named() -> None:
    raw = TmFrame(1, 2, 3, 4, bytes(DATA_LEN), 0, 0).pack()
    with pytest.raises(TruncatedError):
        TmFrame.unpack(raw[:-1])
    with pytest.raises(LengthMismatchError):
        TmFrame.unpack(raw + b"\x00")
    with pytest.raises(OversizedError):
        TmFrame.unpack(bytes(2049), frame_length=None)
    with pytest.raises(TruncatedError):
        TmFrame.unpack(b"\x00" * 5, frame_length=None)
    damaged = bytearray(raw)
    damaged[500] ^= 1
    with pytest.raises(ChecksumError):
        TmFrame.unpack(bytes(damaged))
    versioned = bytes((raw[0] | 0x40,)) + raw[1:-2]
    versioned += binascii.crc_hqx(versioned, 0xFFFF).to_bytes(2, "big")
    with pytest.raises(VersionError):
        TmFrame.unpack(versioned)
    with pytest.raises(FieldValueError):
        TmFrame(1, 8, 0, 0, b"x")
    with pytest.raises(FieldValueError):
        TmFrame(1, 1, 0, 0, b"x", secondary_header=b"")
    with pytest.raises(OversizedError):
        TmFrame(1, 1, 0, 0, bytes(2041))


@given(st.binary(max_size=1200), st.booleans(), st.none() | st.just(1115))
def test_tm_random_bytes_never_crash(data: bytes, fecf: bool, length: int | None) -> None:
    try:
        TmFrame.unpack(data, fecf=fecf, frame_length=length)
    except LinkError:
        pass


# ---------------------------------------------------------------- CLCW


def test_clcw_bit_layout() -> None:
    clcw = Clcw(virtual_channel_id=0x2A, report_value=0xC3, lockout=True, retransmit=True,
                farm_b_counter=2, no_bit_lock=True)
    #  0 00 000 01 101010 00 0 1 1 0 1 10 0 11000011
    assert clcw.pack() == bytes.fromhex("01a86cc3")
    assert Clcw.unpack(clcw.pack()) == clcw


@given(st.integers(0, 63), st.integers(0, 255), st.booleans(), st.booleans(), st.booleans(),
       st.integers(0, 3), st.booleans(), st.booleans())
def test_clcw_round_trip(vcid, vr, lockout, wait, retransmit, b, no_rf, no_lock) -> None:
    clcw = Clcw(vcid, vr, lockout, wait, retransmit, b, no_rf, no_lock)
    assert Clcw.from_word(clcw.to_word()) == clcw


def test_clcw_rejects_fsr_and_versions() -> None:
    with pytest.raises(FieldValueError):
        Clcw.from_word(0x8000_0000)
    with pytest.raises(VersionError):
        Clcw.from_word(0x2000_0000)
    with pytest.raises(TruncatedError):
        Clcw.unpack(b"\x00\x00\x00")
    with pytest.raises(FieldValueError):
        Clcw(64, 0)
