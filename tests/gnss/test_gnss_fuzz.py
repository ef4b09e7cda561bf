"""Property tests: no input makes a decoder raise; faults are counted; a good frame after
garbage is still decoded (resynchronization)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.gnss import StreamDecoder, nmea, ubx
from drivers.gnss.errors import GnssDecodeError
from drivers.gnss.framer import Framer, NmeaFrame, UbxFrame

DATA = Path(__file__).resolve().parents[1] / "data" / "gnss"
SAMPLES = [
    (DATA / name).read_bytes()[-3000:]
    for name in (
        "ublox-zed-f9p-nmea.log",
        "ublox-neo-m8n.log",
        "ublox-neo-m8t.log",
        "nmea-fuzzy-cases.log",
        "navisys-gr8013.log",
    )
]
GOOD_NMEA = b"$GNGGA,003956.00,4552.65403,S,17030.00668,E,1,12,0.64,14.2,M,1.8,M,,*56\r\n"
GOOD_UBX = ubx.frame(ubx.MsgClass.ACK, ubx.AckId.ACK, b"\x06\x24")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated_capture(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(0, 20))):
        op = draw(st.sampled_from(["flip", "drop", "insert", "truncate", "ubx65535"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if not data:
            break
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "drop":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "insert":
            data[at:at] = draw(st.binary(max_size=40))
        elif op == "truncate":
            del data[at:]
        else:
            data[at:at] = b"\xb5\x62\x01\x07\xff\xff"
    return bytes(data)


def chunks(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos = [], 0
    for size in sizes:
        out.append(data[pos : pos + size])
        pos += size
    out.append(data[pos:])
    return out


def run_and_resync(garbage: bytes, sizes: list[int]) -> StreamDecoder:
    """Garbage, then a flush point (a newline), then good frames: they must come out decoded."""
    seen: list[object] = []
    decoder = StreamDecoder(seen.append)
    for piece in chunks(garbage, sizes):
        decoder.feed(piece)
    seen.clear()
    # a UBX header claiming up to 8 kB can legitimately hold back that many octets; the tail
    # below is long enough for any such wait to end, however the garbage ended
    decoder.feed(b"\n" + GOOD_NMEA + GOOD_UBX + b"\x00" * 8300 + GOOD_NMEA + GOOD_UBX)
    decoder.flush()
    assert any(isinstance(m, nmea.Gga) for m in seen)
    assert ubx.Ack(True, 0x06, 0x24) in seen
    c = decoder.counters.framing
    assert c.bytes_in == len(garbage) + 1 + 2 * (len(GOOD_NMEA) + len(GOOD_UBX)) + 8300
    return decoder


@FUZZ
@given(st.binary(max_size=2000), st.lists(st.integers(1, 300), max_size=8))
def test_random_bytes_never_raise_and_resync(garbage: bytes, sizes: list[int]) -> None:
    run_and_resync(garbage, sizes)


@FUZZ
@given(mutated_capture(), st.lists(st.integers(1, 500), max_size=8))
def test_mutated_captures_never_raise_and_resync(data: bytes, sizes: list[int]) -> None:
    run_and_resync(data, sizes)


@FUZZ
@given(st.sampled_from(SAMPLES), st.integers(0, 2999))
def test_truncations_are_counted(data: bytes, cut: int) -> None:
    cut = min(cut, len(data))
    decoder = StreamDecoder()
    decoder.feed(data[:cut])
    decoder.flush()
    c = decoder.counters.framing
    assert c.bytes_in == cut and c.bytes_skipped <= cut


@FUZZ
@given(st.binary(min_size=0, max_size=120))
def test_nmea_parser_rejects_only_with_decode_errors(body: bytes) -> None:
    try:
        nmea.parse(b"$" + body + b"*00")
    except GnssDecodeError:
        pass


@FUZZ
@given(
    st.sampled_from([t.value for t in nmea.Talker]),
    st.sampled_from(["GGA", "RMC", "GSA", "GSV", "GNS", "ZDA", "VTG", "GLL"]),
    st.lists(
        st.sampled_from(
            [
                "",
                "0",
                "1",
                "12.5",
                "-3",
                "A",
                "N",
                "W",
                "x",
                "99999999",
                "123456",
                "4807.038",
                "1e999",
                "nan",
            ]
        ),
        max_size=22,
    ),
)
def test_sentence_fields_of_any_kind_never_escape(
    talker: str, kind: str, fields: list[str]
) -> None:
    line = nmea.build(talker + kind, fields).strip()
    try:
        nmea.parse(line)
    except GnssDecodeError:
        pass


@FUZZ
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=300))
def test_ubx_decoder_rejects_only_with_decode_errors(cls: int, mid: int, payload: bytes) -> None:
    frames = Framer().feed(ubx.frame(cls, mid, payload))
    assert frames == [UbxFrame(cls, mid, payload)]
    try:
        ubx.decode(frames[0])
    except GnssDecodeError:
        pass


@FUZZ
@given(
    st.lists(st.sampled_from([GOOD_NMEA, GOOD_UBX]), min_size=1, max_size=10),
    st.lists(st.integers(1, 50), max_size=10),
)
def test_good_frames_survive_any_chunking(parts: list[bytes], sizes: list[int]) -> None:
    framer = Framer()
    frames = []
    for piece in chunks(b"".join(parts), sizes):
        frames += framer.feed(piece)
    assert [type(f) for f in frames] == [NmeaFrame if p is GOOD_NMEA else UbxFrame for p in parts]
    assert framer.counters.bytes_skipped == 0
