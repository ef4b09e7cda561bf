"""The rig's CADU tap: framing in any chunking, Reed-Solomon counts, faults on the wire."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.codec import CaduSync, cadu_encode
from flight.emulation.wire import CaduTap, WireFaults

INTERLEAVE = 1


def _cadus(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [cadu_encode(bytes(rng.randrange(256) for _ in range(223)), INTERLEAVE)
            for _ in range(n)]


def _feed(tap: CaduTap, stream: bytes, cuts: list[int]) -> bytes:
    out = b""
    start = 0
    for cut in sorted(set(c % (len(stream) + 1) for c in cuts)) + [len(stream)]:
        out += tap.feed(stream[start:cut])
        start = cut
    return out


@settings(max_examples=50, deadline=None)
@given(cuts=st.lists(st.integers(0, 10_000), max_size=20), garbage=st.binary(max_size=40))
def test_clean_stream_passes_unchanged_in_any_chunking(cuts, garbage):
    cadus = _cadus(5)
    stream = garbage + b"".join(cadus)
    tap = CaduTap(INTERLEAVE, "t")
    out = _feed(tap, stream, cuts)
    assert out == stream
    assert tap.counters.cadus == 5 and tap.counters.cadus_corrected == 0
    assert tap.counters.octets == len(stream) and tap.pending == 0


def test_corrections_are_counted_per_cadu_and_match_the_receiver():
    cadus = [bytearray(c) for c in _cadus(6, seed=1)]
    for i, errors in ((1, 3), (3, 16), (4, 40)):  # 40 symbol errors: beyond RS(255,223)
        for k in range(errors):
            cadus[i][4 + 6 * k] ^= 0x5A
    stream = b"".join(cadus)
    tap = CaduTap(INTERLEAVE, "t")
    assert tap.feed(stream) == stream
    c = tap.counters
    assert (c.cadus, c.cadus_corrected, c.symbols_corrected, c.cadus_uncorrectable) == (
        6, 2, 19, 1)
    sync = CaduSync(INTERLEAVE)
    assert len(sync.feed(stream)) == 5 and sync.symbols_corrected == 19  # the ground agrees


def test_frame_loss_drops_whole_cadus_and_outage_drops_everything():
    cadus = _cadus(200, seed=2)
    tap = CaduTap(INTERLEAVE, "loss", WireFaults(frame_loss=0.25))
    out = tap.feed(b"".join(cadus))
    kept = [out[i:i + len(cadus[0])] for i in range(0, len(out), len(cadus[0]))]
    assert all(k in cadus for k in kept)
    assert len(kept) + tap.counters.cadus_dropped == 200
    assert 30 <= tap.counters.cadus_dropped <= 70
    tap.faults.outage = True
    assert tap.feed(cadus[0]) == b"" and tap.counters.octets_lost_to_outage == len(cadus[0])


def test_extra_bit_errors_are_injected_and_corrected():
    cadus = _cadus(100, seed=3)
    tap = CaduTap(INTERLEAVE, "ber", WireFaults(extra_ber=1e-3))
    out = tap.feed(b"".join(cadus))
    c = tap.counters
    assert 150 <= c.bit_errors_injected <= 270  # about 1e-3 of 207,200 bits
    assert c.cadus_corrected > 50 and c.cadus_uncorrectable == 0
    assert CaduSync(INTERLEAVE).feed(out) == CaduSync(INTERLEAVE).feed(b"".join(cadus))


def test_a_stream_cut_mid_cadu_is_flushed_and_bad_faults_are_refused():
    cadu = _cadus(1)[0]
    tap = CaduTap(INTERLEAVE, "t")
    assert tap.feed(cadu[:100]) == b"" and tap.pending == 100
    assert tap.flush() == cadu[:100] and tap.pending == 0
    assert tap.feed(cadu) == cadu
    with pytest.raises(ValueError, match="fraction"):
        WireFaults(frame_loss=1.5)
    with pytest.raises(ValueError, match="bit error rate"):
        WireFaults(extra_ber=-1)
