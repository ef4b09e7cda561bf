"""Reed-Solomon error correction: up to 16 symbol errors per codeword corrected, more detected."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flight.codec._link as c_engine
from flight.codec import UncorrectableError
from flight.codec.reference import link as reference_engine

DEPTHS = (1, 2, 3, 4, 5, 8)
ENGINE_EXAMPLES = {"c": 300, "reference": 30}


def _block_case(draw, max_fill: int = 222):
    interleave = draw(st.sampled_from(DEPTHS))
    virtual_fill = draw(st.sampled_from([0, 0, 1, 37, 190, max_fill]))
    seed = draw(st.integers(0, 2**32 - 1))
    return interleave, virtual_fill, random.Random(seed)


@pytest.mark.parametrize("name", ["c", "reference"])
def test_up_to_16_errors_per_codeword_are_corrected(name: str, corrupt) -> None:
    engine = c_engine if name == "c" else reference_engine

    @settings(max_examples=ENGINE_EXAMPLES[name], deadline=None)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        interleave, virtual_fill, rng = _block_case(data.draw)
        errors = data.draw(st.integers(0, 16), label="errors per codeword")
        payload = rng.randbytes((223 - virtual_fill) * interleave)
        block = engine.rs_encode(payload, interleave, virtual_fill)
        damaged = corrupt(block, errors, rng, interleave)
        assert engine.rs_decode(damaged, interleave, virtual_fill) == (payload, errors * interleave)

    check()


@pytest.mark.parametrize("interleave", DEPTHS)
def test_16_errors_in_every_codeword_at_every_depth(link, corrupt, interleave: int) -> None:
    rng = random.Random(interleave)
    payload = rng.randbytes(223 * interleave)
    damaged = corrupt(link.rs_encode(payload, interleave), 16, rng, interleave)
    assert link.rs_decode(damaged, interleave) == (payload, 16 * interleave)
    cadu = bytearray(link.cadu_encode(payload, interleave))
    cadu[4:] = corrupt(bytes(cadu[4:]), 16, rng, interleave)
    assert link.cadu_decode(bytes(cadu), interleave) == (payload, 16 * interleave)


@pytest.mark.parametrize("name", ["c", "reference"])
def test_17_to_32_errors_are_detected(name: str, corrupt) -> None:
    """More than 16 errors: bounded-distance decoding lands on another codeword only with
    probability about 5e-14 per codeword (the decoding spheres cover that little of the space),
    so every such codeword must be reported, naming the first one that failed."""
    engine = c_engine if name == "c" else reference_engine

    @settings(max_examples=ENGINE_EXAMPLES[name], deadline=None)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        interleave, virtual_fill, rng = _block_case(data.draw, max_fill=190)
        errors = data.draw(st.integers(17, 32), label="errors in the bad codeword")
        bad = data.draw(st.integers(0, interleave - 1), label="bad codeword")
        payload = rng.randbytes((223 - virtual_fill) * interleave)
        block = bytearray(engine.rs_encode(payload, interleave, virtual_fill))
        transmitted = 255 - virtual_fill
        for position in rng.sample(range(transmitted), errors):
            block[position * interleave + bad] ^= rng.randrange(1, 256)
        with pytest.raises(UncorrectableError) as failure:
            engine.rs_decode(bytes(block), interleave, virtual_fill)
        assert failure.value.codeword == bad
        assert str(bad) in str(failure.value)

    check()


def test_first_failed_codeword_is_named(link, corrupt) -> None:
    rng = random.Random(5)
    block = bytearray(link.rs_encode(rng.randbytes(223 * 4), 4))
    for codeword in (1, 3):
        for position in rng.sample(range(255), 20):
            block[position * 4 + codeword] ^= 0x5A
    with pytest.raises(UncorrectableError) as failure:
        link.rs_decode(bytes(block), 4)
    assert failure.value.codeword == 1


def test_a_correction_in_the_virtual_fill_is_refused(link) -> None:
    """A word one symbol from a full-length codeword whose difference lies in the (untransmitted,
    zero) virtual fill: no shortened codeword is within 16 symbols, so it must be uncorrectable
    rather than 'corrected' at a position that was never sent."""
    rng = random.Random(9)
    data = bytearray(rng.randbytes(223))
    data[0] = 0x80  # the first symbol, which virtual_fill=1 will leave out
    full = link.rs_encode(bytes(data))
    with pytest.raises(UncorrectableError):
        link.rs_decode(full[1:], 1, 1)
    damaged = bytearray(full[1:])
    for position in rng.sample(range(254), 15):
        damaged[position] ^= rng.randrange(1, 256)
    with pytest.raises(UncorrectableError):
        link.rs_decode(bytes(damaged), 1, 1)


def test_beyond_the_bound_a_decoder_can_be_led_to_a_neighbour(link) -> None:
    """What no bounded-distance decoder can detect, shown on purpose: codewords are at least 33
    symbols apart, so 17 errors chosen along the difference of two codewords put the word 16
    symbols from the other one, which is what it decodes to, reporting 16 corrections. (Random
    errors do this with probability about 5e-14 per codeword; see the test above.)"""
    rng = random.Random(13)
    sent = rng.randbytes(223)
    minimum_weight = link.rs_encode(bytes(222) + b"\x7b")  # message x^0: the generator itself
    support = [i for i, symbol in enumerate(minimum_weight) if symbol]
    assert len(support) == 33
    neighbour = bytes(a ^ b for a, b in zip(link.rs_encode(sent), minimum_weight, strict=True))
    received = bytearray(link.rs_encode(sent))
    for position in support[:17]:
        received[position] = neighbour[position]
    assert link.rs_decode(bytes(received)) == (neighbour[:223], 16)


def test_errors_in_the_parity_only_are_counted(link) -> None:
    payload = bytes(range(223))
    block = bytearray(link.rs_encode(payload))
    for position in range(223, 239):
        block[position] ^= 0xFF
    assert link.rs_decode(bytes(block)) == (payload, 16)
