"""The C engine equals the pure-Python reference on random inputs, function by function."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

import flight.codec._link as c_engine
from flight.codec import UncorrectableError
from flight.codec.reference import link as reference_engine

DEPTHS = (1, 2, 3, 4, 5, 8)
buffers = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=300).map(bytearray),
    st.binary(max_size=300).map(memoryview),
    st.binary(min_size=1, max_size=300).map(lambda b: memoryview(b)[1:]),
)


@settings(max_examples=300, deadline=None)
@given(buffers, st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF))
def test_crcs(data, init16: int, init32: int) -> None:
    assert c_engine.crc16(data) == reference_engine.crc16(data)
    assert c_engine.crc16(data, init16) == reference_engine.crc16(data, init16)
    assert c_engine.crc32c(data) == reference_engine.crc32c(data)
    assert c_engine.crc32c(data, init32) == reference_engine.crc32c(data, init32)


@settings(max_examples=200, deadline=None)
@given(st.one_of(buffers, st.binary(min_size=2000, max_size=6000)))
def test_randomize(data) -> None:
    assert c_engine.randomize(data) == reference_engine.randomize(data)


def _outcome(decode, *args):
    try:
        return decode(*args)
    except UncorrectableError as failure:
        return ("uncorrectable", failure.codeword, str(failure))


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(DEPTHS),
    st.sampled_from([0, 0, 1, 50, 200, 222]),
    st.integers(0, 2**32 - 1),
    st.integers(0, 40),
)
def test_rs_encode_and_decode(interleave: int, virtual_fill: int, seed: int, errors: int) -> None:
    rng = random.Random(seed)
    data = rng.randbytes((223 - virtual_fill) * interleave)
    block = c_engine.rs_encode(data, interleave, virtual_fill)
    assert block == reference_engine.rs_encode(data, interleave, virtual_fill)
    damaged = bytearray(block)
    for position in rng.sample(range(len(block)), min(errors * interleave, len(block))):
        damaged[position] ^= rng.randrange(1, 256)
    assert _outcome(c_engine.rs_decode, bytes(damaged), interleave, virtual_fill) == _outcome(
        reference_engine.rs_decode, bytes(damaged), interleave, virtual_fill
    )


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(DEPTHS), st.integers(0, 2**32 - 1), st.integers(0, 24), st.integers(0, 3))
def test_cadu_encode_and_decode(interleave: int, seed: int, errors: int, marker_bits: int) -> None:
    rng = random.Random(seed)
    frame = rng.randbytes(223 * interleave)
    cadu = c_engine.cadu_encode(frame, interleave)
    assert cadu == reference_engine.cadu_encode(frame, interleave)
    damaged = bytearray(cadu)
    for position in rng.sample(range(4, len(cadu)), errors * interleave):
        damaged[position] ^= rng.randrange(1, 256)
    for bit in rng.sample(range(32), marker_bits):
        damaged[bit // 8] ^= 0x80 >> (bit % 8)
    assert _outcome(c_engine.cadu_decode, bytes(damaged), interleave) == _outcome(
        reference_engine.cadu_decode, bytes(damaged), interleave
    )


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.data())
def test_rs_decode_of_arbitrary_octets(noise: bytes, data: st.DataObject) -> None:
    """Random codeblocks (not near any codeword) get the same verdict from both."""
    interleave = data.draw(st.sampled_from(DEPTHS))
    virtual_fill = data.draw(st.integers(180, 222))
    length = (255 - virtual_fill) * interleave
    block = (noise * (length // max(len(noise), 1) + 1))[:length] if noise else bytes(length)
    assert _outcome(c_engine.rs_decode, block, interleave, virtual_fill) == _outcome(
        reference_engine.rs_decode, block, interleave, virtual_fill
    )
