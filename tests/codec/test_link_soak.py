"""Long property runs of the link engine (only with --run-soak): many more random cases."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flight.codec._link as c_engine
from flight.codec import UncorrectableError
from flight.codec.reference import link as reference_engine

pytestmark = pytest.mark.soak
DEPTHS = (1, 2, 3, 4, 5, 8)


@settings(max_examples=20_000, deadline=None)
@given(st.sampled_from(DEPTHS), st.integers(0, 222), st.integers(0, 2**64 - 1),
       st.integers(0, 40))
def test_c_decoder_on_many_error_patterns(interleave: int, fill: int, seed: int, errors: int):
    rng = random.Random(seed)
    data = rng.randbytes((223 - fill) * interleave)
    block = bytearray(c_engine.rs_encode(data, interleave, fill))
    counts = []
    for k in range(interleave):
        count = min(errors, 255 - fill)
        counts.append(count)
        for position in rng.sample(range(255 - fill), count):
            block[position * interleave + k] ^= rng.randrange(1, 256)
    if max(counts) <= 16:
        assert c_engine.rs_decode(bytes(block), interleave, fill) == (data, sum(counts))
    else:
        with pytest.raises(UncorrectableError):
            c_engine.rs_decode(bytes(block), interleave, fill)


@settings(max_examples=5_000, deadline=None)
@given(st.sampled_from(DEPTHS), st.integers(0, 222), st.integers(0, 2**64 - 1),
       st.integers(0, 40))
def test_c_equals_reference_on_many_codeblocks(interleave: int, fill: int, seed: int,
                                                errors: int):
    rng = random.Random(seed)
    block = bytearray(reference_engine.rs_encode(rng.randbytes((223 - fill) * interleave),
                                                 interleave, fill))
    for position in rng.sample(range(len(block)), min(len(block), errors * interleave)):
        block[position] ^= rng.randrange(1, 256)

    def outcome(engine):
        try:
            return engine.rs_decode(bytes(block), interleave, fill)
        except UncorrectableError as failure:
            return failure.codeword

    assert outcome(c_engine) == outcome(reference_engine)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**64 - 1), st.sampled_from([1, 5]))
def test_long_impaired_streams_c_equals_reference(seed: int, interleave: int):
    rng = random.Random(seed)
    stream = bytearray()
    for _ in range(rng.randrange(5, 40)):
        cadu = bytearray(c_engine.cadu_encode(rng.randbytes(223 * interleave), interleave))
        for bit in rng.sample(range(len(cadu) * 8), rng.randrange(0, 12 * interleave)):
            cadu[bit // 8] ^= 0x80 >> (bit % 8)
        if rng.random() < 0.1:
            del cadu[rng.randrange(len(cadu))]
        if rng.random() < 0.1:
            cadu += rng.randbytes(rng.randrange(1, 2000))
        stream += cadu
    tolerance = rng.randrange(0, 9)
    results = []
    for engine in (c_engine, reference_engine):
        sync = engine.CaduSync(interleave, max_marker_errors=tolerance)
        frames, position, chunk_rng = [], 0, random.Random(seed)
        while position < len(stream):
            size = chunk_rng.randrange(1, 5000)
            frames += sync.feed(stream[position : position + size])
            position += size
        results.append((frames, sync.frames, sync.symbols_corrected, sync.uncorrectable,
                        sync.bytes_skipped, sync.sync_losses))
    assert results[0] == results[1]
