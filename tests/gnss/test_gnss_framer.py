"""The framer: interleaved NMEA/UBX, any chunking, checksums, resynchronization, bounds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.gnss import nmea, ubx
from drivers.gnss.framer import (
    NMEA_MAX_CHARS,
    Framer,
    NmeaFrame,
    UbxFrame,
    nmea_checksum,
    ubx_checksum,
)

GGA = b"$GNGGA,003956.00,4552.65403,S,17030.00668,E,1,12,0.64,14.2,M,1.8,M,,*56\r\n"
ACK = ubx.frame(ubx.MsgClass.ACK, ubx.AckId.ACK, b"\x06\x08")


def frames_of(data: bytes, chunk: int | None = None) -> tuple[list, Framer]:
    framer = Framer()
    if chunk is None:
        return framer.feed(data), framer
    out = []
    for k in range(0, len(data), chunk):
        out += framer.feed(data[k : k + chunk])
    return out, framer


def test_checksums_match_known_answers() -> None:
    assert nmea_checksum(GGA[1 : GGA.index(b"*")]) == 0x56
    body = b"\x06\x08\x06\x00\xe8\x03\x01\x00\x01\x00"  # CFG-RATE 1 Hz, from the u-blox manual
    assert ubx_checksum(body) == 0x3901
    assert nmea_checksum(b"") == 0
    assert nmea_checksum(bytes(range(127))) == 0x7F  # XOR of 0..126


@pytest.mark.parametrize("chunk", [None, 1, 2, 7, 64])
def test_interleaved_stream_in_any_chunking(chunk: int | None) -> None:
    data = GGA + ACK + GGA + ACK + ACK + GGA
    frames, framer = frames_of(data, chunk)
    assert [type(f) for f in frames] == [
        NmeaFrame,
        UbxFrame,
        NmeaFrame,
        UbxFrame,
        UbxFrame,
        NmeaFrame,
    ]
    assert frames[0].sentence == GGA[:-2]
    assert frames[1] == UbxFrame(0x05, 0x01, b"\x06\x08")
    c = framer.counters
    assert (c.nmea_frames, c.ubx_frames, c.bytes_skipped, framer.pending) == (3, 3, 0, 0)


def test_garbage_is_counted_and_skipped() -> None:
    frames, framer = frames_of(b"\x00\xffnoise" + GGA + b"\xb5\x00junk" + ACK)
    assert len(frames) == 2
    assert framer.counters.bytes_skipped == 7 + 6


def test_bad_nmea_checksum_counted_then_next_sentence_decoded() -> None:
    bad = GGA.replace(b"*56", b"*57")
    frames, framer = frames_of(bad + GGA)
    assert frames == [NmeaFrame(GGA[:-2])]
    assert framer.counters.nmea_bad_checksum == 1


def test_sentence_without_checksum_is_rejected() -> None:
    frames, framer = frames_of(b"$POLYN,TIME,RESTART_OCCURRED\r\n" + GGA)
    assert len(frames) == 1 and framer.counters.nmea_no_checksum == 1


def test_truncated_sentence_resyncs_at_next_dollar() -> None:
    frames, framer = frames_of(GGA[:30] + GGA)
    assert frames == [NmeaFrame(GGA[:-2])]
    assert framer.counters.nmea_truncated == 1
    assert framer.counters.bytes_skipped == 30


def test_sentence_cut_by_binary_resyncs_at_ubx() -> None:
    frames, framer = frames_of(GGA[:30] + ACK + GGA)
    assert [type(f) for f in frames] == [UbxFrame, NmeaFrame]
    assert framer.counters.nmea_truncated == 1


def test_oversized_sentence_is_dropped() -> None:
    long = nmea.build("GPTXT", ["x" * NMEA_MAX_CHARS])
    frames, framer = frames_of(long + GGA)
    assert frames == [NmeaFrame(GGA[:-2])] and framer.counters.nmea_oversized == 1


def test_runaway_line_without_newline_is_dropped_without_waiting_forever() -> None:
    framer = Framer()
    assert framer.feed(b"$GPGGA," + b"1" * 500) == []
    assert framer.counters.nmea_oversized == 1 and framer.pending == 0


def test_ubx_length_65535_is_rejected_at_once_and_resyncs() -> None:
    hostile = b"\xb5\x62\x01\x07\xff\xff" + b"\x00" * 40
    frames, framer = frames_of(hostile + ACK)
    assert frames == [UbxFrame(0x05, 0x01, b"\x06\x08")]
    assert framer.counters.ubx_oversized == 1
    assert framer.pending == 0


def test_bad_ubx_checksum_resyncs_inside_the_frame() -> None:
    corrupt = bytearray(ACK)
    corrupt[-1] ^= 0xFF
    frames, framer = frames_of(bytes(corrupt) + ACK)
    assert frames == [UbxFrame(0x05, 0x01, b"\x06\x08")]
    assert framer.counters.ubx_bad_checksum == 1


def test_partial_frame_waits_then_flush_counts_it() -> None:
    framer = Framer()
    assert framer.feed(ACK[:5]) == [] and framer.pending == 5
    framer.flush()
    assert framer.counters.ubx_truncated == 1 and framer.counters.bytes_skipped == 5
    assert framer.feed(GGA[:20]) == []
    framer.flush()
    assert framer.counters.nmea_truncated == 1


def test_every_input_octet_is_accounted_for() -> None:
    data = b"\r\n" + GGA + b"zz" + ACK + GGA[:40] + GGA
    frames, framer = frames_of(data)
    framed = sum(len(f.sentence) + 2 for f in frames if isinstance(f, NmeaFrame))
    framed += sum(len(f.payload) + 8 for f in frames if isinstance(f, UbxFrame))
    c = framer.counters
    assert c.bytes_in == len(data)
    assert framed + c.bytes_skipped + 2 == len(data)  # the leading CR LF is a line terminator


# ---------------------------------------------------------------- runs of lines framed at once

#: Pieces a stream is made of: good and bad sentences with CR LF, and everything that must take a
#: read off the all-at-once path for plain runs of sentences (LF alone, binary, a '$' inside).
GOOD_GSV = b"$GPGSV,4,1,14,01,12,320,,02,57,292,35,03,41,096,29,04,02,159,*7C"
PIECES = [
    GGA,
    GOOD_GSV + b"\r\n",
    GOOD_GSV[:-1] + b"D\r\n",  # wrong checksum
    GOOD_GSV[:-3] + b"\r\n",  # no checksum
    b"$GPTXT," + b"x" * NMEA_MAX_CHARS + b"*00\r\n",  # oversized
    b"$*\r\n",
    b"$\r\n",
    b"\r\n",
    GOOD_GSV + b"\n",  # LF alone
    GOOD_GSV + b"\r\r\n",
    b"$GP$GSV\r\n",
    ACK,
    b"\xff",
    b"noise",
]


class LineByLine(Framer):
    """The framer with its all-at-once path for runs of plain lines switched off."""

    def _run_of_lines(self, data: bytes, start: int, stop: int, frames: list) -> int:
        return 0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=30),
    st.lists(st.integers(1, 400), max_size=4),
)
def test_runs_framed_at_once_come_out_as_line_by_line(
    pieces: list[bytes], sizes: list[int]
) -> None:
    data = b"".join(pieces)
    outcomes = []
    for framer in (Framer(), LineByLine()):
        frames, start = [], 0
        for size in [*sizes, len(data)]:
            frames += framer.feed(data[start : start + size])
            start += size
        framer.flush()
        outcomes.append((frames, framer.counters))
    assert outcomes[0] == outcomes[1]


def test_a_run_checks_every_sentence_of_it() -> None:
    lines = [GOOD_GSV + b"\r\n"] * 50
    lines[17] = GOOD_GSV[:-1] + b"D\r\n"
    lines[33] = GOOD_GSV.replace(b",35,", b",36,") + b"\r\n"  # a changed field, same checksum
    frames, framer = frames_of(b"".join(lines))
    assert frames == [NmeaFrame(GOOD_GSV)] * 48
    assert framer.counters.nmea_bad_checksum == 2 and framer.counters.nmea_frames == 48
    assert framer.counters.bytes_skipped == 2 * len(lines[0])


def test_a_read_longer_than_a_run_is_framed_in_several() -> None:
    lines = [GOOD_GSV + b"\r\n", GGA, GOOD_GSV[:-1] + b"D\r\n"] * 1000  # about 180 kB
    data = b"".join(lines)
    frames, framer = frames_of(data)
    reference = LineByLine()
    assert frames == reference.feed(data) and framer.counters == reference.counters
    assert len(frames) == 2000 and framer.counters.nmea_bad_checksum == 1000


def test_a_long_ubx_frame_arriving_octet_by_octet() -> None:
    frame = ubx.frame(0x02, 0x15, bytes(range(256)) * 31)  # RXM-RAWX-sized: 7936 octets
    framer = Framer()
    for k in range(len(frame) - 1):
        assert framer.feed(frame[k : k + 1]) == []
    assert framer.pending == len(frame) - 1
    assert framer.feed(frame[-1:] + GGA) == [
        UbxFrame(0x02, 0x15, bytes(range(256)) * 31),
        NmeaFrame(GGA[:-2]),
    ]
    assert framer.pending == 0 and framer.counters.bytes_in == len(frame) + len(GGA)
