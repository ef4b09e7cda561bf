"""Property tests: the C engine equals the reference, and no input makes a decoder misbehave.

Decoders given random, truncated or bit-flipped streams must either return `count` samples or
raise CodecError; the C engine and the reference must agree on which, and on the samples. These
also run under AddressSanitizer/UBSan (`make sanitize`), which turns any out-of-bounds access in
the C into a failure. The long fuzzing runs are marked soak.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rice import BLOCK_SIZES, ENGINES, check_decoder_survives, octets_for, pack, sample_range

from flight.codec import CodecError

C, REFERENCE = ENGINES["c"], ENGINES["reference"]

parameters_strategy = st.fixed_dictionaries(
    {
        "bits": st.integers(1, 32),
        "block_size": st.sampled_from(BLOCK_SIZES),
        "rsi": st.integers(1, 6) | st.sampled_from([64, 65, 4096]),
        "preprocess": st.booleans(),
        "signed": st.booleans(),
        "msb_first": st.booleans(),
    }
)


@st.composite
def coding_cases(draw, max_count: int = 300) -> tuple[dict, np.ndarray]:
    """Parameters and samples: runs of constants, small steps and arbitrary values mixed."""
    parameters = draw(parameters_strategy)
    low, high = sample_range(parameters["bits"], parameters["signed"])
    pieces = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["run", "steps", "any"]),
                st.integers(low, high),
                st.integers(1, 150),
            ),
            max_size=8,
        )
    )
    values: list[int] = []
    for kind, value, length in pieces:
        if kind == "run":
            values += [value] * length
        elif kind == "steps":
            values += [min(max(value + (i % 5) - 2, low), high) for i in range(length)]
        else:
            values += draw(st.lists(st.integers(low, high), min_size=1, max_size=length))
    return parameters, np.array(values[:max_count], dtype=np.int64)


def both_decoders(data: bytes, count: int, parameters: dict) -> None:
    """The C engine and the reference agree: the same samples, or both a CodecError."""
    outcomes = []
    for rice in (C, REFERENCE):
        try:
            outcomes.append(rice.decompress(data, count=count, **parameters))
        except CodecError:
            outcomes.append(CodecError)
    assert outcomes[0] == outcomes[1]
    if outcomes[0] is not CodecError:
        assert len(outcomes[0]) == count * octets_for(parameters["bits"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(coding_cases())
def test_c_equals_reference_both_directions(case: tuple[dict, np.ndarray]) -> None:
    parameters, values = case
    samples = pack(values, parameters["bits"], parameters["signed"], parameters["msb_first"])
    stream = C.compress(samples, **parameters)
    assert REFERENCE.compress(samples, **parameters) == stream
    assert C.decompress(stream, count=len(values), **parameters) == samples
    assert REFERENCE.decompress(stream, count=len(values), **parameters) == samples


@settings(max_examples=300, deadline=None)
@given(parameters_strategy, st.binary(max_size=120), st.integers(0, 400))
def test_random_streams_c_and_reference_agree(parameters: dict, data: bytes, count: int) -> None:
    both_decoders(data, count, parameters)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(coding_cases(max_count=200), st.data())
def test_damaged_streams_c_and_reference_agree(case, data) -> None:
    parameters, values = case
    samples = pack(values, parameters["bits"], parameters["signed"], parameters["msb_first"])
    stream = bytearray(C.compress(samples, **parameters))
    damage = data.draw(st.sampled_from(["truncate", "flip", "extend", "count"]))
    count = len(values)
    if damage == "truncate":
        del stream[data.draw(st.integers(0, len(stream))) :]
    elif damage == "flip" and stream:
        for _ in range(data.draw(st.integers(1, 4))):
            stream[data.draw(st.integers(0, len(stream) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    elif damage == "extend":
        stream += data.draw(st.binary(min_size=1, max_size=16))
    else:
        count += data.draw(st.integers(1, 100))
    both_decoders(bytes(stream), count, parameters)


@pytest.mark.soak
@settings(max_examples=20000, deadline=None)
@given(parameters_strategy, st.binary(max_size=4000), st.integers(0, 100000))
def test_soak_random_streams_never_crash_the_c_decoder(parameters, data, count) -> None:
    check_decoder_survives(C.decompress, data, count=count, **parameters)


@pytest.mark.soak
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(coding_cases(max_count=2000), st.data())
def test_soak_c_equals_reference_on_longer_inputs(case, data) -> None:
    parameters, values = case
    samples = pack(values, parameters["bits"], parameters["signed"], parameters["msb_first"])
    stream = C.compress(samples, **parameters)
    assert REFERENCE.compress(samples, **parameters) == stream
    damaged = bytearray(stream)
    if damaged:
        damaged[data.draw(st.integers(0, len(damaged) - 1))] ^= data.draw(st.integers(1, 255))
    both_decoders(bytes(damaged), len(values), parameters)
