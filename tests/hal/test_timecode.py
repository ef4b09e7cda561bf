"""CCSDS 301.0-B time codes: known values, round trips, interop with spacepackets, bad input."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spacepackets.ccsds.time import CdsShortTimestamp

from hal.timecode import (
    CCSDS_EPOCH_OFFSET_FROM_1970_S,
    Epoch,
    TimeCodeError,
    TimeCodeFormatError,
    TimeCodeRangeError,
    TimeCodeTooShortError,
    cds_pfield,
    cuc_pfield,
    decode_cds,
    decode_cuc,
    encode_cds,
    encode_cuc,
)


def test_cuc_pfield_known_values() -> None:
    # 0 | 001 | 11 | 10: CCSDS epoch, 4 coarse, 2 fine (the common 0x1E)
    assert cuc_pfield(4, 2) == 0x1E
    assert cuc_pfield(1, 0) == 0x10
    assert cuc_pfield(4, 3, Epoch.AGENCY) == 0x2F


def test_cuc_known_value() -> None:
    assert encode_cuc(0x01020304 + 0.5) == bytes.fromhex("1e 01020304 8000")
    assert encode_cuc(1.25, coarse_octets=1, fine_octets=1, pfield=False) == b"\x01\x40"
    assert decode_cuc(bytes.fromhex("1e 01020304 8000 ff")) == (0x01020304 + 0.5, 7)


def test_cuc_truncates_to_the_started_tick() -> None:
    tick = 2**-16
    assert decode_cuc(encode_cuc(10 + 0.9999 * tick))[0] == 10
    assert decode_cuc(encode_cuc(10 + tick))[0] == 10 + tick


@given(
    coarse=st.integers(1, 4),
    fine=st.integers(0, 3),
    data=st.data(),
    epoch=st.sampled_from(Epoch),
)
def test_cuc_round_trip_bytes(coarse: int, fine: int, data: st.DataObject, epoch: Epoch) -> None:
    ticks = data.draw(st.integers(0, (1 << (8 * (coarse + fine))) - 1))
    seconds = Fraction(ticks, 1 << (8 * fine))
    encoded = encode_cuc(seconds, coarse_octets=coarse, fine_octets=fine, epoch=epoch)
    value, used = decode_cuc(encoded + b"tail", epoch=epoch)
    assert used == 1 + coarse + fine
    assert value == pytest.approx(float(seconds), abs=2**-52 * 2**32)
    if 8 * (coarse + fine) <= 53:  # exactly representable: the bytes round trip too
        assert encode_cuc(value, coarse_octets=coarse, fine_octets=fine, epoch=epoch) == encoded
    implicit = decode_cuc(encoded[1:], pfield=False, coarse_octets=coarse, fine_octets=fine)
    assert implicit == (value, coarse + fine)


@given(st.floats(0, 2**32, exclude_max=True, allow_nan=False))
def test_cuc_float_round_trip_within_one_tick(seconds: float) -> None:
    value, _ = decode_cuc(encode_cuc(seconds, fine_octets=3))
    assert 0 <= seconds - value < 2**-24 + 2**-21


def test_cds_matches_spacepackets_cds_short() -> None:
    assert encode_cds(0x0102 * 86400 + 0x03040506 / 1000) == CdsShortTimestamp(
        0x0102, 0x03040506
    ).pack()
    stamp = CdsShortTimestamp(23000, 45_296_789)
    seconds, used = decode_cds(stamp.pack())
    assert used == 7
    assert seconds == pytest.approx(23000 * 86400 + 45_296.789)
    # both place 1970-01-01 at CCSDS day 4383
    assert encode_cds(-CCSDS_EPOCH_OFFSET_FROM_1970_S)[1:3] == (4383).to_bytes(2, "big")


def test_cds_pfields() -> None:
    assert cds_pfield() == 0x40
    assert cds_pfield(3, 2) == 0x45
    assert cds_pfield(2, 4, Epoch.AGENCY) == 0x4A


@given(
    day_octets=st.sampled_from([2, 3]),
    subms=st.sampled_from([0, 2, 4]),
    day=st.integers(0, 65535),
    ms=st.integers(0, 86_399_999),
    frac=st.integers(0, 999_999_999),
)
def test_cds_round_trip(day_octets: int, subms: int, day: int, ms: int, frac: int) -> None:
    per_ms = {0: 1, 2: 1000, 4: 10**9}[subms]
    sub = frac % per_ms if subms else 0
    exact = Fraction(day * 86_400_000 + ms) / 1000 + Fraction(sub, 1000 * per_ms)
    encoded = encode_cds(exact, day_octets=day_octets, submillisecond_octets=subms)
    assert len(encoded) == 1 + day_octets + 4 + subms
    value, used = decode_cds(encoded)
    assert used == len(encoded)
    assert value == pytest.approx(float(exact), abs=1e-6)
    assert encoded[1 + day_octets : 5 + day_octets] == ms.to_bytes(4, "big")
    implicit, n = decode_cds(encoded[1:], pfield=False, day_octets=day_octets,
                             submillisecond_octets=subms)
    assert (implicit, n) == (value, len(encoded) - 1)


def test_cds_microseconds_known_value() -> None:
    encoded = encode_cds(Fraction(86400 + 1) + Fraction(2, 1000) + Fraction(3, 10**6),
                         submillisecond_octets=2)
    assert encoded == bytes.fromhex("41 0001 000003ea 0003")


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: encode_cuc(-1), TimeCodeRangeError),
        (lambda: encode_cuc(2**32), TimeCodeRangeError),
        (lambda: encode_cuc(256, coarse_octets=1), TimeCodeRangeError),
        (lambda: encode_cuc(float("nan")), TimeCodeRangeError),
        (lambda: encode_cuc(1, coarse_octets=5), TimeCodeRangeError),
        (lambda: encode_cuc(1, fine_octets=4), TimeCodeRangeError),
        (lambda: decode_cuc(b""), TimeCodeTooShortError),
        (lambda: decode_cuc(b"\x1e\x00\x00"), TimeCodeTooShortError),
        (lambda: decode_cuc(b"\x9e" + bytes(8)), TimeCodeFormatError),
        (lambda: decode_cuc(b"\x40" + bytes(8)), TimeCodeFormatError),
        (lambda: decode_cuc(b"\x2e" + bytes(8), epoch=Epoch.CCSDS), TimeCodeFormatError),
        (lambda: encode_cds(-0.001), TimeCodeRangeError),
        (lambda: encode_cds(65536 * 86400), TimeCodeRangeError),
        (lambda: encode_cds(0, day_octets=4), TimeCodeRangeError),
        (lambda: encode_cds(0, submillisecond_octets=3), TimeCodeRangeError),
        (lambda: decode_cds(b"\x43" + bytes(10)), TimeCodeFormatError),
        (lambda: decode_cds(b"\x1e" + bytes(10)), TimeCodeFormatError),
        (lambda: decode_cds(b"\x48" + bytes(10), epoch=Epoch.CCSDS), TimeCodeFormatError),
        (lambda: decode_cds(b"\x40\x00\x00\x05\x26\x5f\xe8"), TimeCodeRangeError),
        (lambda: decode_cds(b"\x41" + bytes(6) + b"\x03\xe8"), TimeCodeRangeError),
        (lambda: decode_cds(b"\x40\x00"), TimeCodeTooShortError),
    ],
)
def test_bad_input_raises_specific_errors(call, error) -> None:
    with pytest.raises(error):
        call()


def test_leap_second_millisecond_accepted() -> None:
    value, _ = decode_cds(b"\x40\x00\x00" + (86_400_500).to_bytes(4, "big"))
    assert value == 86_400.5


def test_errors_carry_numbers() -> None:
    with pytest.raises(TimeCodeTooShortError) as info:
        decode_cuc(b"\x1e\x00")
    assert (info.value.needed, info.value.got) == (7, 2)
    assert isinstance(info.value, TimeCodeError) and isinstance(info.value, ValueError)


@given(st.binary(max_size=16))
def test_decoders_never_fail_otherwise(data: bytes) -> None:
    for decode in (decode_cuc, decode_cds):
        try:
            value, used = decode(data)
        except TimeCodeError:
            continue
        assert 0 <= used <= len(data) and value >= 0
