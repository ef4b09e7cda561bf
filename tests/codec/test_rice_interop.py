"""Interoperability with libaec (through imagecodecs), in both directions.

Same parameters on both sides, spelled out: imagecodecs passes `flags` straight to libaec
(AEC_DATA_PREPROCESS, AEC_DATA_SIGNED, AEC_DATA_MSB; never AEC_DATA_3BYTE, AEC_RESTRICTED or
AEC_PAD_RSI here) and takes the samples as raw octets. Two libaec conventions differ from ours:
its encoder wants signed samples as bare n-bit patterns (we take them sign-extended), and its
decoder returns them as bare n-bit patterns when preprocessing is off. The helpers below convert,
and compare the samples themselves. libaec (via imagecodecs) also wants the output buffer to
hold whole blocks, so decoding asks for that and keeps the first `count` samples.

Beyond interoperability, our streams are octet-for-octet identical to libaec's: both pick the
same option and split position for every block. The tests assert that too.
"""

from __future__ import annotations

import itertools

import imagecodecs
import numpy as np
import pytest
from test_rice import ENGINES, make_samples, octets_for, pack, unpack

AEC_DATA_SIGNED = 1
AEC_DATA_MSB = 4
AEC_DATA_PREPROCESS = 8


def libaec_flags(*, preprocess: bool, signed: bool, msb_first: bool) -> int:
    return (
        (AEC_DATA_PREPROCESS if preprocess else 0)
        | (AEC_DATA_SIGNED if signed else 0)
        | (AEC_DATA_MSB if msb_first else 0)
    )


def libaec_encode(values: np.ndarray, *, bits, block_size, rsi, preprocess, signed, msb_first):
    patterns = values & ((1 << bits) - 1)  # libaec's encoder: n-bit two's complement patterns
    return imagecodecs.aec_encode(
        pack(patterns, bits, False, msb_first), bitspersample=bits,
        flags=libaec_flags(preprocess=preprocess, signed=signed, msb_first=msb_first),
        blocksize=block_size, rsi=rsi,
    )


def libaec_decode(stream: bytes, count: int, *, bits, block_size, rsi, preprocess, signed,
                  msb_first) -> np.ndarray:
    whole_blocks = -(-count // block_size) * block_size
    decoded = imagecodecs.aec_decode(
        stream, bitspersample=bits,
        flags=libaec_flags(preprocess=preprocess, signed=signed, msb_first=msb_first),
        blocksize=block_size, rsi=rsi, out=whole_blocks * octets_for(bits),
    )
    patterns = unpack(decoded[: count * octets_for(bits)], bits, False, msb_first)
    patterns &= (1 << bits) - 1
    if signed:
        return np.where(patterns >> (bits - 1), patterns - (1 << bits), patterns)
    return patterns


INTEROP_BITS = (1, 2, 3, 5, 7, 8, 9, 12, 13, 15, 16, 17, 20, 24, 25, 31, 32)
KINDS = ("walk", "noise", "zeros", "sparse", "extremes")


def interop_cases():
    """A spread of parameters: every width listed, every block size, both signs and layouts."""
    for n, (bits, block_size) in enumerate(itertools.product(INTEROP_BITS, (8, 16, 32, 64))):
        for preprocess, signed in itertools.product((True, False), (False, True)):
            yield pytest.param(
                {
                    "bits": bits, "block_size": block_size, "rsi": (1, 5, 128, 4096)[n % 4],
                    "preprocess": preprocess, "signed": signed, "msb_first": n % 3 != 1,
                },
                id=f"n{bits}-J{block_size}-{'pp' if preprocess else 'raw'}-"
                f"{'s' if signed else 'u'}",
            )


@pytest.mark.parametrize("parameters", list(interop_cases()))
def test_libaec_interop_both_ways(parameters: dict) -> None:
    rice = ENGINES["c"]
    bits, signed, msb_first = parameters["bits"], parameters["signed"], parameters["msb_first"]
    for n, kind in enumerate(KINDS):
        count = (1, 333, 2048 + 5, 64 * 64 + 17, 700)[n]
        values = make_samples(kind, count, bits, signed, seed=100 * n + bits)
        samples = pack(values, bits, signed, msb_first)

        ours = rice.compress(samples, **parameters)
        np.testing.assert_array_equal(libaec_decode(ours, count, **parameters), values)

        theirs = libaec_encode(values, **parameters)
        assert rice.decompress(theirs, count=count, **parameters) == samples

        assert ours == theirs, f"{kind}: streams differ (interoperable, but not identical)"


@pytest.mark.parametrize("bits", [8, 16, 32])
def test_reference_reads_libaec_and_libaec_reads_reference(bits: int) -> None:
    rice = ENGINES["reference"]
    parameters = {"bits": bits, "block_size": 16, "rsi": 4, "preprocess": True, "signed": True,
                  "msb_first": True}
    values = make_samples("walk", 300, bits, True, seed=bits)
    samples = pack(values, bits, True, True)
    ours = rice.compress(samples, **parameters)
    np.testing.assert_array_equal(libaec_decode(ours, 300, **parameters), values)
    theirs = libaec_encode(values, **parameters)
    assert rice.decompress(theirs, count=300, **parameters) == samples
    assert ours == theirs


def test_zero_segment_stream_matches_libaec() -> None:
    parameters = {"bits": 16, "block_size": 16, "rsi": 128, "preprocess": True,
                  "signed": False, "msb_first": True}
    zeros = np.zeros(64 * 16, np.int64)
    assert libaec_encode(zeros, **parameters) == bytes([0x00, 0x00, 0x00, 0x40])


def test_image_interop() -> None:
    """A 256x256 16-bit image with structure and noise, as the benchmark uses at full size."""
    rng = np.random.default_rng(121)
    y, x = np.mgrid[0:256, 0:256]
    image = 20000 + 50 * x + 30 * y + rng.normal(0, 12, (256, 256))
    values = np.clip(np.rint(image), 0, 65535).astype(np.int64).ravel()
    for msb_first in (True, False):
        parameters = {"bits": 16, "block_size": 16, "rsi": 128, "preprocess": True,
                      "signed": False, "msb_first": msb_first}
        samples = pack(values, 16, False, msb_first)
        ours = ENGINES["c"].compress(samples, **parameters)
        assert ours == libaec_encode(values, **parameters)
        assert ENGINES["c"].decompress(ours, count=values.size, **parameters) == samples
