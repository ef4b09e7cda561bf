"""Known answers, on both engines: CRCs, randomizer, Reed-Solomon (against `reedsolo`), CADUs."""

from __future__ import annotations

import binascii
import random

import pytest
import reedsolo

import flight.codec
import flight.codec._link as c_engine

DEPTHS = (1, 2, 3, 4, 5, 8)

# CCSDS 131.0-B Annex F, T_alpha^-1: the conventional-basis symbol of each dual-basis bit
# (bit 0 = least significant). The rest of the mapping follows by linearity over GF(2).
DUAL_BIT_TO_CONVENTIONAL = (0xCC, 0xAC, 0x79, 0xF0, 0xFD, 0x2E, 0x42, 0xC5)


def _to_conventional(dual: int) -> int:
    value = 0
    for bit, image in enumerate(DUAL_BIT_TO_CONVENTIONAL):
        if dual >> bit & 1:
            value ^= image
    return value


TO_CONVENTIONAL = bytes(_to_conventional(d) for d in range(256))
TO_DUAL = bytes(TO_CONVENTIONAL.index(c) for c in range(256))

# reedsolo with the CCSDS code: F(x) = 0x187, roots beta^112 .. beta^143 with beta = alpha^11 = 0xAD
CCSDS_RS = reedsolo.RSCodec(32, nsize=255, c_exp=8, prim=0x187, fcr=112, generator=0xAD)


def reedsolo_codeblock(data: bytes, interleave: int, virtual_fill: int) -> bytes:
    """The CCSDS codeblock built with reedsolo in the conventional basis, then mapped to dual."""
    kept = 223 - virtual_fill
    block = bytearray(data) + bytearray(32 * interleave)
    for k in range(interleave):
        message = bytes(TO_CONVENTIONAL[data[j * interleave + k]] for j in range(kept))
        codeword = CCSDS_RS.encode(message)  # a shorter message is a shortened codeword
        for j, symbol in enumerate(codeword[kept:]):
            block[(kept + j) * interleave + k] = TO_DUAL[symbol]
    return bytes(block)


def test_the_compiled_engine_is_the_one_under_test() -> None:
    assert c_engine.BACKEND == "c"
    assert c_engine.lib.AS_RS_N == 255 and c_engine.lib.AS_ASM == 0x1ACFFC1D
    assert flight.codec.crc16 is c_engine.crc16


def test_dual_basis_matrix_is_the_annex_f_one() -> None:
    # the first row of the published dual-to-conventional table, CCSDS 131.0-B Annex F
    assert TO_CONVENTIONAL[:16] == bytes.fromhex("00cc ac60 79b5 d519 f03c 5c90 8945 25e9")
    assert TO_DUAL[:8] == bytes.fromhex("007b afd4 99e2 364d")


def test_crc16_check_value(link) -> None:
    assert link.crc16(b"123456789") == 0x29B1
    assert link.crc16(b"") == 0xFFFF
    assert link.crc16(b"", init=0x1234) == 0x1234


def test_crc16_equals_the_stdlib_crc_hqx(link) -> None:
    rng = random.Random(16)
    for length in (1, 2, 7, 8, 15, 16, 17, 31, 33, 1115, 4099):
        data = rng.randbytes(length)
        init = rng.randrange(0x10000)
        assert link.crc16(data) == binascii.crc_hqx(data, 0xFFFF)
        assert link.crc16(data, init) == binascii.crc_hqx(data, init)


@pytest.mark.parametrize(
    ("data", "crc"),
    [
        (b"123456789", 0xE3069283),
        (bytes(32), 0x8A9136AA),  # RFC 3720 B.4
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (bytes(range(31, -1, -1)), 0x113FDB5C),
        (b"", 0),
    ],
)
def test_crc32c_known_values(link, data: bytes, crc: int) -> None:
    assert link.crc32c(data) == crc


def test_crcs_chain(link) -> None:
    data = random.Random(3).randbytes(1000)
    for cut in (0, 1, 7, 8, 9, 500, 999, 1000):
        assert link.crc16(data[cut:], link.crc16(data[:cut])) == link.crc16(data)
        assert link.crc32c(data[cut:], link.crc32c(data[:cut])) == link.crc32c(data)


def test_crcs_take_any_bytes_like(link) -> None:
    data = b"123456789"
    for view in (bytearray(data), memoryview(data), memoryview(b"xx" + data)[2:]):
        assert link.crc16(view) == 0x29B1
        assert link.crc32c(view) == 0xE3069283


def test_randomizer_sequence_and_period(link) -> None:
    sequence = link.randomize(bytes(255 * 3))
    assert sequence[:8] == bytes.fromhex("FF480EC09A0D70BC")
    assert sequence[:255] == sequence[255:510] == sequence[510:]
    for divisor in (3, 5, 15, 17, 51, 85):  # no shorter period: 255 = 3 * 5 * 17
        assert sequence[:divisor] != sequence[divisor : 2 * divisor]


def test_randomizer_is_self_inverse(link) -> None:
    data = random.Random(7).randbytes(5000)
    assert link.randomize(link.randomize(data)) == data
    assert link.randomize(b"") == b""


@pytest.mark.parametrize("interleave", DEPTHS)
@pytest.mark.parametrize("virtual_fill", [0, 1, 100, 222])
def test_rs_encode_matches_reedsolo(link, interleave: int, virtual_fill: int) -> None:
    rng = random.Random(interleave * 1000 + virtual_fill)
    data = rng.randbytes((223 - virtual_fill) * interleave)
    block = link.rs_encode(data, interleave, virtual_fill)
    assert block == reedsolo_codeblock(data, interleave, virtual_fill)
    assert link.rs_decode(block, interleave, virtual_fill) == (data, 0)


def test_rs_codeword_is_a_codeword_for_reedsolo() -> None:
    data = random.Random(11).randbytes(223)
    codeword = bytes(TO_CONVENTIONAL[s] for s in c_engine.rs_encode(data))
    assert CCSDS_RS.check(codeword) == [True]


def test_rs_all_zero_and_all_ones(link) -> None:
    assert link.rs_encode(bytes(223)) == bytes(255)
    assert link.rs_encode(b"\xff" * 223) == reedsolo_codeblock(b"\xff" * 223, 1, 0)


@pytest.mark.parametrize("interleave", DEPTHS)
def test_cadu_is_marker_plus_randomized_codeblock(link, interleave: int) -> None:
    frame = random.Random(interleave).randbytes(223 * interleave)
    cadu = link.cadu_encode(frame, interleave)
    assert cadu[:4] == bytes.fromhex("1ACFFC1D")
    assert len(cadu) == 4 + 255 * interleave
    assert link.randomize(cadu[4:]) == reedsolo_codeblock(frame, interleave, 0)
    assert link.cadu_decode(cadu, interleave) == (frame, 0)


def test_cadu_default_interleave_is_5(link) -> None:
    frame = bytes(range(223)) * 5
    assert len(link.cadu_encode(frame)) == 1279
    assert link.cadu_decode(link.cadu_encode(frame)) == (frame, 0)
