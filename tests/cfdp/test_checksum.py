"""File checksums against independent references, and the interval sets behind gap tracking."""

from __future__ import annotations

import os
import random
import struct
import zlib
from pathlib import Path

import pytest
from cfdppy.crc import calc_modular_checksum
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.cfdp import Checksum, ChecksumType, file_checksum
from flight.cfdp.ranges import Ranges


def modular_reference(data: bytes) -> int:
    """727.0-B-5 4.2.2 written out: zero-padded big-endian 32-bit words, summed mod 2**32."""
    padded = data + bytes(-len(data) % 4)
    return sum(struct.unpack(f">{len(padded) // 4}I", padded)) % (1 << 32)


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 1023, 4096, 100_001])
def test_modular_matches_reference_and_cfdppy(size: int, tmp_path: Path) -> None:
    data = random.Random(size).randbytes(size)
    path = tmp_path / "f"
    path.write_bytes(data)
    ours = file_checksum(ChecksumType.MODULAR, lambda o, n: data[o:o + n], size)
    assert ours == modular_reference(data)
    assert ours.to_bytes(4, "big") == calc_modular_checksum(path)


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=6), st.randoms())
@settings(max_examples=200, deadline=None)
def test_modular_takes_segments_in_any_order(data: bytes, cuts: list[int], rng) -> None:
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    segments = list(zip(bounds, bounds[1:], strict=False))
    rng.shuffle(segments)
    checksum = Checksum(ChecksumType.MODULAR)
    for start, end in segments:
        checksum.update(data[start:end], start)
    assert checksum.value == modular_reference(data)


def test_crc_types_against_known_values() -> None:
    check = b"123456789"
    read = lambda o, n: check[o:o + n]  # noqa: E731
    assert file_checksum(ChecksumType.CRC32C, read, 9) == 0xE3069283  # the CRC-32C check value
    assert file_checksum(ChecksumType.CRC32, read, 9) == 0xCBF43926 == zlib.crc32(check)
    assert file_checksum(ChecksumType.NULL, read, 9) == 0
    big = os.urandom(3 << 20)  # crosses the chunk size
    assert file_checksum(ChecksumType.CRC32, lambda o, n: big[o:o + n], len(big)) == \
        zlib.crc32(big)


def test_crc_needs_order_and_unsupported_types_refused() -> None:
    c = Checksum(ChecksumType.CRC32C)
    c.update(b"abc", 0)
    with pytest.raises(ValueError, match="in order"):
        c.update(b"x", 10)
    with pytest.raises(ValueError, match="not supported"):
        Checksum(ChecksumType.CRC32_PROXIMITY1)
    with pytest.raises(ValueError, match="ended at 2"):
        file_checksum(ChecksumType.CRC32, lambda o, n: b"ab"[o:o + n], 5)


# --- Ranges ---------------------------------------------------------------------------------

class NaiveSet:
    def __init__(self) -> None:
        self.octets: set[int] = set()

    def add(self, start: int, end: int) -> int:
        new = set(range(start, end)) - self.octets
        self.octets |= new
        return len(new)

    def gaps(self, start: int, end: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for i in range(start, end):
            if i not in self.octets:
                if out and out[-1][1] == i:
                    out[-1] = (out[-1][0], i + 1)
                else:
                    out.append((i, i + 1))
        return out


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 40)), max_size=40),
       st.integers(0, 250), st.integers(0, 250))
@settings(max_examples=300, deadline=None)
def test_ranges_against_a_naive_set(spans, lo, hi) -> None:
    ranges, naive = Ranges(), NaiveSet()
    for start, length in spans:
        assert ranges.add(start, start + length) == naive.add(start, start + length)
        assert ranges.total == len(naive.octets)
        pairs = ranges.intervals()
        assert all(a < b for a, b in pairs)
        assert all(b1 < a2 for (_, b1), (a2, _) in zip(pairs, pairs[1:], strict=False))
    assert ranges.gaps(lo, hi) == naive.gaps(lo, hi)
    assert ranges.covers(lo, hi) == (not naive.gaps(lo, hi))


def test_ranges_pop_front_in_chunks() -> None:
    r = Ranges()
    r.add(10, 25)
    r.add(40, 42)
    assert r.pop_front(10) == (10, 20)
    assert r.pop_front(10) == (20, 25)
    assert r.pop_front(10) == (40, 42)
    assert r.pop_front(10) is None
    assert r.total == 0 and not r
