"""CaduSync on CADU streams with marker bit errors, garbage, lost and inserted octets, in pieces."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flight.codec._link as c_engine
from flight.codec.reference import link as reference_engine

INTERLEAVE = 5
CADU = 4 + 255 * INTERLEAVE


@dataclass(frozen=True)
class Counters:
    frames: int
    symbols_corrected: int = 0
    uncorrectable: int = 0
    bytes_skipped: int = 0
    sync_losses: int = 0


def counters(sync) -> Counters:
    return Counters(sync.frames, sync.symbols_corrected, sync.uncorrectable, sync.bytes_skipped,
                    sync.sync_losses)


def frames_and_cadus(link, count: int, seed: int, interleave: int = INTERLEAVE):
    rng = random.Random(seed)
    frames = [rng.randbytes(223 * interleave) for _ in range(count)]
    return frames, [bytearray(link.cadu_encode(f, interleave)) for f in frames]


def run(link, stream: bytes, chunk_sizes=None, **options):
    sync = link.CaduSync(INTERLEAVE, **options)
    out = []
    if chunk_sizes is None:
        out = sync.feed(stream)
    else:
        position = 0
        for size in chunk_sizes:
            out += sync.feed(stream[position : position + size])
            position += size
        out += sync.feed(stream[position:])
    return out, counters(sync), sync


def test_clean_stream_in_one_piece_and_byte_by_byte(link) -> None:
    frames, cadus = frames_and_cadus(link, 4, seed=1)
    stream = b"".join(cadus)
    out, seen, sync = run(link, stream)
    assert out == frames and seen == Counters(4)
    assert sync.locked and all(type(f) is bytes for f in out)
    out, seen, _ = run(link, stream, chunk_sizes=[1] * len(stream))
    assert out == frames and seen == Counters(4)


def test_marker_bit_errors_within_the_tolerance(link) -> None:
    frames, cadus = frames_and_cadus(link, 4, seed=2)
    for index, bits in enumerate([(0,), (3, 17), (1, 9, 31), (5, 6, 7)]):
        for bit in bits:
            cadus[index][bit // 8] ^= 0x80 >> (bit % 8)
    out, seen, _ = run(link, b"".join(cadus))
    assert out == frames and seen == Counters(4)


def test_a_marker_beyond_the_tolerance_loses_one_cadu(link) -> None:
    frames, cadus = frames_and_cadus(link, 5, seed=3)
    cadus[2][0] ^= 0xF0  # four bit errors
    out, seen, sync = run(link, b"".join(cadus))
    assert out == frames[:2] + frames[3:]
    assert seen == Counters(4, bytes_skipped=CADU, sync_losses=1)
    out, seen, _ = run(link, b"".join(cadus), max_marker_errors=4)
    assert out == frames and seen == Counters(5)


def test_garbage_before_and_between_cadus(link) -> None:
    frames, cadus = frames_and_cadus(link, 4, seed=4)
    rng = random.Random(40)
    stream = rng.randbytes(300) + cadus[0] + cadus[1] + rng.randbytes(77) + cadus[2] + cadus[3]
    out, seen, _ = run(link, stream)
    assert out == frames and seen == Counters(4, bytes_skipped=377, sync_losses=1)


def test_stream_that_starts_inside_a_cadu(link) -> None:
    frames, cadus = frames_and_cadus(link, 3, seed=5)
    stream = b"".join(cadus)[600:]
    out, seen, _ = run(link, stream)
    assert out == frames[1:] and seen == Counters(2, bytes_skipped=CADU - 600)


def test_a_lost_octet_costs_only_its_cadu(link) -> None:
    frames, cadus = frames_and_cadus(link, 5, seed=6)
    del cadus[2][500]
    out, seen, _ = run(link, b"".join(cadus))
    assert out == frames[:2] + frames[3:]
    assert seen == Counters(4, uncorrectable=1, sync_losses=1)


def test_an_inserted_octet_costs_only_its_cadu(link) -> None:
    frames, cadus = frames_and_cadus(link, 5, seed=7)
    cadus[1].insert(700, 0x55)
    out, seen, _ = run(link, b"".join(cadus))
    assert out == frames[:1] + frames[2:]
    assert seen == Counters(4, uncorrectable=1, bytes_skipped=1, sync_losses=1)


def test_a_lost_marker_octet(link) -> None:
    frames, cadus = frames_and_cadus(link, 4, seed=8)
    del cadus[1][2]
    out, seen, _ = run(link, b"".join(cadus))
    assert out == frames[:1] + frames[2:]
    assert seen == Counters(3, bytes_skipped=CADU - 1, sync_losses=1)


def test_uncorrectable_cadus_are_counted_and_dropped(link, corrupt) -> None:
    frames, cadus = frames_and_cadus(link, 4, seed=9)
    rng = random.Random(90)
    for index in (0, 2):  # the first one while searching, the other in lock
        body = link.randomize(bytes(cadus[index][4:]))
        cadus[index][4:] = link.randomize(corrupt(body, 20, rng, INTERLEAVE))
    cadus[3][4:] = link.randomize(corrupt(link.randomize(bytes(cadus[3][4:])), 9, rng, INTERLEAVE))
    out, seen, sync = run(link, b"".join(cadus))
    assert out == [frames[1], frames[3]]
    assert seen == Counters(2, symbols_corrected=9 * INTERLEAVE, uncorrectable=2)
    assert sync.locked


def test_an_uncorrectable_candidate_without_a_following_marker_is_rejected(link, corrupt) -> None:
    _, cadus = frames_and_cadus(link, 1, seed=10)
    body = link.randomize(bytes(cadus[0][4:]))
    cadus[0][4:] = link.randomize(corrupt(body, 20, random.Random(1), INTERLEAVE))
    out, seen, sync = run(link, bytes(cadus[0]) + bytes(100))
    assert out == [] and seen == Counters(0) and not sync.locked


def test_counters_start_at_zero_and_options_are_checked(link) -> None:
    sync = link.CaduSync()
    assert (sync.interleave, sync.max_marker_errors) == (5, 3)
    assert counters(sync) == Counters(0) and not sync.locked
    assert sync.feed(b"") == []
    with pytest.raises(ValueError, match="interleave"):
        link.CaduSync(6)
    with pytest.raises(ValueError, match="max_marker_errors"):
        link.CaduSync(5, max_marker_errors=9)
    with pytest.raises(TypeError, match="max_marker_errors"):
        link.CaduSync(5, max_marker_errors=1.0)
    with pytest.raises(TypeError, match="chunk"):
        sync.feed("1ACFFC1D")


def _impaired_stream(draw) -> bytes:
    """A few CADUs (interleave 1, to keep the reference quick) with random damage."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    count = draw(st.integers(1, 6))
    stream = bytearray(rng.randbytes(draw(st.integers(0, 40))))
    for _ in range(count):
        cadu = bytearray(reference_engine.cadu_encode(rng.randbytes(223), 1))
        damage = draw(st.sampled_from(["none", "none", "bits", "symbols", "lost", "inserted",
                                        "marker", "garbage"]))
        if damage == "bits":
            for bit in rng.sample(range(len(cadu) * 8), rng.randrange(1, 40)):
                cadu[bit // 8] ^= 0x80 >> (bit % 8)
        elif damage == "symbols":
            for position in rng.sample(range(4, len(cadu)), rng.randrange(10, 25)):
                cadu[position] ^= rng.randrange(1, 256)
        elif damage == "lost":
            del cadu[rng.randrange(len(cadu))]
        elif damage == "inserted":
            cadu.insert(rng.randrange(len(cadu)), rng.randrange(256))
        elif damage == "marker":
            for bit in rng.sample(range(32), rng.randrange(1, 8)):
                cadu[bit // 8] ^= 0x80 >> (bit % 8)
        elif damage == "garbage":
            cadu += rng.randbytes(rng.randrange(1, 300))
        stream += cadu
    return bytes(stream)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_c_equals_reference_on_randomly_chopped_streams(data: st.DataObject) -> None:
    stream = _impaired_stream(data.draw)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    pieces = [b - a for a, b in itertools.pairwise([0, *cuts])]
    tolerance = data.draw(st.integers(0, 5))
    results = []
    for engine in (c_engine, reference_engine):
        sync = engine.CaduSync(1, max_marker_errors=tolerance)
        frames, position = [], 0
        for size in pieces:
            frames += sync.feed(memoryview(stream)[position : position + size])
            position += size
        frames += sync.feed(stream[position:])
        results.append((frames, counters(sync), sync.locked))
    assert results[0] == results[1]
    whole = c_engine.CaduSync(1, max_marker_errors=tolerance)
    assert (whole.feed(stream), counters(whole), whole.locked) == results[0]


def test_byte_by_byte_equals_one_piece_on_an_impaired_stream(link, corrupt) -> None:
    frames, cadus = frames_and_cadus(link, 6, seed=11)
    rng = random.Random(110)
    cadus[1][0] ^= 0x01
    del cadus[2][900]
    cadus[3].insert(10, 0xAA)
    stream = rng.randbytes(50) + b"".join(cadus[:4]) + rng.randbytes(33) + b"".join(cadus[4:])
    whole = run(link, stream)
    by_byte = run(link, stream, chunk_sizes=[1] * len(stream))
    assert whole[:2] == by_byte[:2]
    assert whole[0] == [frames[0], frames[1], frames[4], frames[5]]
