"""KISS framing: hand-made vectors from the KISS spec, the deframer's rejections and resync, and
agreement with an independent implementation (aioax25's KISS command classes)."""

from __future__ import annotations

import pytest
from aioax25.kiss import KISSCommand
from hypothesis import given
from hypothesis import strategies as st

from drivers.radio.kiss import (
    FEND,
    KissCommand,
    KissDeframer,
    KissFrame,
    KissTncParams,
    kiss_encode,
    kiss_return,
)


def test_data_frame_vector() -> None:
    # FEND, type 0x00 (port 0, data), "TEST", FEND
    assert kiss_encode(b"TEST") == bytes.fromhex("C0 00 54 45 53 54 C0")


def test_escapes_vector() -> None:
    # FEND -> FESC TFEND, FESC -> FESC TFESC; TFEND/TFESC alone are ordinary data
    assert kiss_encode(b"\xc0\xdb\xdc\xdd") == bytes.fromhex("C0 00 DB DC DB DD DC DD C0")


def test_port_in_high_nibble_and_type_octet_escaped() -> None:
    assert kiss_encode(b"x", port=5) == bytes.fromhex("C0 50 78 C0")
    # Port 12 data is type 0xC0, which must be escaped or it would end the frame.
    assert kiss_encode(b"x", port=12) == bytes.fromhex("C0 DB DC 78 C0")


def test_parameter_commands() -> None:
    params = KissTncParams(
        txdelay_ms=300, persistence=63, slottime_ms=100, txtail_ms=20, full_duplex=True
    )
    assert params.frames(port=1) == [
        bytes.fromhex("C0 11 1E C0"),  # TXDELAY 30 x 10 ms
        bytes.fromhex("C0 12 3F C0"),  # P = 63: p = 64/256
        bytes.fromhex("C0 13 0A C0"),  # SLOTTIME 10 x 10 ms
        bytes.fromhex("C0 14 02 C0"),  # TXTAIL 2 x 10 ms
        bytes.fromhex("C0 15 01 C0"),  # FULLDUPLEX on
    ]
    assert kiss_return() == bytes.fromhex("C0 FF C0")
    assert kiss_encode(b"\x01\x02", command=KissCommand.SETHARDWARE) == bytes.fromhex(
        "C0 06 01 02 C0"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"txdelay_ms": 305}, "multiple of 10"),
        ({"slottime_ms": 2560}, "0..2550"),
        ({"txtail_ms": -10}, "0..2550"),
        ({"persistence": 256}, "octet"),
    ],
)
def test_parameter_validation(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KissTncParams(**kwargs)


def test_encode_rejects_bad_port_and_return() -> None:
    with pytest.raises(ValueError, match="0..15"):
        kiss_encode(b"", port=16)
    with pytest.raises(ValueError, match="kiss_return"):
        kiss_encode(b"", command=KissCommand.RETURN)


def test_deframer_skips_garbage_before_first_fend() -> None:
    d = KissDeframer()
    frames = d.feed(b"noise" + kiss_encode(b"one") + kiss_encode(b"two", port=3))
    assert frames == [KissFrame(0, 0, b"one"), KissFrame(3, 0, b"two")]
    assert d.counters.bytes_skipped == 5
    assert d.counters.frames == 2
    assert d.counters.empty == 1  # the closing FEND of one and the opening FEND of two
    assert d.counters.rejected == 0


def test_deframer_round_trips_escapes_and_return() -> None:
    d = KissDeframer()
    payload = bytes(range(256))
    assert d.feed(kiss_encode(payload, port=12)) == [KissFrame(12, 0, payload)]
    (ret,) = d.feed(kiss_return())
    assert (ret.port, ret.command, ret.type_octet) == (15, KissCommand.RETURN, 0xFF)


@pytest.mark.parametrize(
    "body",
    [
        bytes.fromhex("00 41 DB 41 42"),  # FESC followed by 'A'
        bytes.fromhex("00 41 DB"),  # FESC at the end of the frame
        bytes.fromhex("00 DB DB DC"),  # FESC FESC
    ],
)
def test_bad_escape_drops_the_frame_and_resyncs(body: bytes) -> None:
    d = KissDeframer()
    frames = d.feed(b"\xc0" + body + b"\xc0" + kiss_encode(b"ok"))
    assert frames == [KissFrame(0, 0, b"ok")]
    assert d.counters.bad_escapes == 1


def test_oversized_frames_dropped_at_the_limit() -> None:
    d = KissDeframer(max_frame=10)
    frames = d.feed(kiss_encode(b"x" * 10) + kiss_encode(b"x" * 11) + kiss_encode(b"\xc0" * 10))
    assert [f.payload for f in frames] == [b"x" * 10, b"\xc0" * 10]
    assert d.counters.oversized == 1


def test_endless_frame_costs_bounded_memory() -> None:
    d = KissDeframer(max_frame=100)
    d.feed(b"\xc0")
    for _ in range(1000):
        assert d.feed(b"\x55" * 1000) == []
        assert len(d._buffer) <= 2 * (100 + 1)
    assert d.feed(b"\xc0" + kiss_encode(b"after")[1:]) == [KissFrame(0, 0, b"after")]
    assert d.counters.oversized == 1


def test_reset_forgets_a_partial_frame() -> None:
    d = KissDeframer()
    d.feed(kiss_encode(b"partial")[:-3])
    d.reset()
    assert d.feed(b"tail\xc0" + kiss_encode(b"next")) == [KissFrame(0, 0, b"next")]
    assert d.counters.bytes_skipped == 4


@given(payload=st.binary(max_size=300), port=st.integers(0, 15), cmd=st.integers(0, 6))
def test_encoding_equals_aioax25(payload: bytes, port: int, cmd: int) -> None:
    ours = kiss_encode(payload, port, KissCommand(cmd))
    theirs = bytes(KISSCommand(port=port, cmd=cmd, payload=payload))
    assert ours == bytes((FEND,)) + theirs + bytes((FEND,))


@given(payload=st.binary(min_size=1, max_size=300), port=st.integers(0, 15))
def test_decoding_agrees_with_aioax25(payload: bytes, port: int) -> None:
    wire = kiss_encode(payload, port)
    theirs = KISSCommand.decode(wire[1:-1])
    (ours,) = KissDeframer().feed(wire)
    assert (ours.port, ours.command, ours.payload) == (theirs.port, theirs.cmd, theirs.payload)
    peer_wire = b"\xc0" + bytes(KISSCommand(port=port, cmd=0, payload=payload)) + b"\xc0"
    assert KissDeframer().feed(peer_wire) == [ours]
