"""The link half of the C engine against its peers (issue 2's minimum ratios).

Peers: `binascii.crc_hqx` (the stdlib's C CRC-16/CCITT-FALSE), `reedsolo` 1.7 (pure Python,
with the CCSDS code's parameters) and a plain copy of the buffer for the randomizer.
"""

from __future__ import annotations

import binascii
import random

import pytest
import reedsolo

from flight.codec import cadu_encode, crc16, randomize, rs_decode, rs_encode

MIB = random.Random(1).randbytes(1 << 20)
FRAME = random.Random(2).randbytes(1115)
CCSDS_RS = reedsolo.RSCodec(32, nsize=255, c_exp=8, prim=0x187, fcr=112, generator=0xAD)


def test_peer_reedsolo_is_pure_python() -> None:
    assert reedsolo.__file__.endswith(".py")


def test_crc16_1mib(compare) -> None:
    compare(lambda: crc16(MIB), lambda: binascii.crc_hqx(MIB, 0xFFFF),
            peer_name="binascii.crc_hqx", min_ratio=5)


def test_crc16_per_1115_octet_frame(compare) -> None:
    compare(lambda: crc16(FRAME), lambda: binascii.crc_hqx(FRAME, 0xFFFF),
            peer_name="binascii.crc_hqx", min_ratio=1)


def test_rs_encode_interleave_5(compare) -> None:
    messages = [bytearray(FRAME[k::5]) for k in range(5)]
    compare(lambda: rs_encode(FRAME, 5), lambda: [CCSDS_RS.encode(m) for m in messages],
            peer_name="reedsolo RSCodec.encode x5", min_ratio=500)


def _with_errors(codeword: bytes, count: int, rng: random.Random) -> bytearray:
    damaged = bytearray(codeword)
    for position in rng.sample(range(len(codeword)), count):
        damaged[position] ^= rng.randrange(1, 256)
    return damaged


def test_rs_decode_8_errors_per_codeword(compare) -> None:
    rng = random.Random(3)
    block = bytearray(rs_encode(FRAME, 5))
    for k in range(5):
        block[k::5] = _with_errors(block[k::5], 8, rng)
    block = bytes(block)
    received = [_with_errors(CCSDS_RS.encode(bytearray(FRAME[k::5])), 8, rng) for k in range(5)]
    assert rs_decode(block, 5) == (FRAME, 40)
    assert all(CCSDS_RS.decode(r)[2] for r in received)
    compare(lambda: rs_decode(block, 5), lambda: [CCSDS_RS.decode(r) for r in received],
            peer_name="reedsolo RSCodec.decode x5", min_ratio=100)


def test_randomize_1mib(compare) -> None:
    compare(lambda: randomize(MIB), lambda: bytes(bytearray(MIB)),
            peer_name="bytes(bytearray(x)) copy", min_ratio=0.2)


@pytest.mark.parametrize("frames", [1, 64])
def test_cadu_encode_vs_rs_encode(compare, frames: int) -> None:
    batch = [random.Random(n).randbytes(1115) for n in range(frames)]
    compare(lambda: [cadu_encode(f) for f in batch], lambda: [rs_encode(f, 5) for f in batch],
            peer_name="rs_encode(frame, 5)", min_ratio=0.8)
