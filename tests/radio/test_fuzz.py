"""Fuzzing the receive paths: random bytes, streams chopped anywhere, oversized frames. Only
counters move; nothing raises; good frames in the noise still come through."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.radio import KissConfig, KissRadio, TransparentConfig, TransparentRadio
from drivers.radio.kiss import KissDeframer, kiss_encode
from flight.codec import cadu_encode
from hal.clock import SimClock

from .helpers import open_link


def chop(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=30))
def test_deframer_is_chunking_invariant(data: bytes, cuts: list[int]) -> None:
    whole = KissDeframer(max_frame=64)
    expected = whole.feed(data)
    pieces = KissDeframer(max_frame=64)
    got = [frame for piece in chop(data, cuts) for frame in pieces.feed(piece)]
    assert got == expected
    assert pieces.counters == whole.counters
    assert all(len(f.payload) <= 64 for f in got)


@given(
    st.lists(
        st.tuples(
            st.binary(max_size=80), st.binary(max_size=40).map(lambda b: b.replace(b"\xc0", b""))
        ),
        max_size=20,
    ),
    st.lists(st.integers(0, 5000), max_size=20),
)
def test_good_frames_survive_interleaved_garbage(items: list, cuts: list[int]) -> None:
    stream = b"".join(garbage + kiss_encode(payload) for payload, garbage in items)
    d = KissDeframer(max_frame=64)
    out = [f.payload for piece in chop(stream, cuts) for f in d.feed(piece)]
    remaining = iter(out)
    wanted = [payload for payload, _ in items if len(payload) <= 64]
    assert all(payload in remaining for payload in wanted)
    assert d.counters.oversized >= sum(1 for payload, _ in items if len(payload) > 64)


@given(st.integers(2, 300), st.integers(0, 700))
def test_oversized_boundary(max_frame: int, size: int) -> None:
    d = KissDeframer(max_frame=max_frame)
    frames = d.feed(kiss_encode(b"\xdb" * size) + kiss_encode(b"ok"))
    if size <= max_frame:
        assert [f.payload for f in frames] == [b"\xdb" * size, b"ok"]
    else:
        assert [f.payload for f in frames] == [b"ok"] and d.counters.oversized == 1


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.binary(max_size=600), max_size=40))
def test_kiss_driver_takes_any_input(chunks: list[bytes]) -> None:
    clock = SimClock()
    link = open_link(clock, baudrate=115200)
    radio = KissRadio(link.a, clock, KissConfig(local="SAT1", max_frame=256))
    for chunk in chunks:
        if chunk:
            link.b.write(chunk)
        clock.advance(0.06)
        radio.poll()
    # SAT1 <- GND, UI, "!"
    good = kiss_encode(bytes.fromhex("A6 82 A8 62 40 40 E0 8E 9C 88 40 40 40 61 03 F0 21"))
    link.b.write(good)
    clock.advance(0.01)
    frames = radio.poll()
    assert [f.info for f in frames] == [b"!"]  # a good frame after the noise is delivered
    stats = radio.stats
    assert stats.bytes_in == sum(map(len, chunks)) + len(good)
    assert stats.crc_failures <= sum(stats.rejected.values())


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.binary(max_size=600), max_size=30))
def test_transparent_driver_takes_any_input(chunks: list[bytes]) -> None:
    clock = SimClock()
    link = open_link(clock, baudrate=115200)
    radio = TransparentRadio(link.a, clock, TransparentConfig())
    for chunk in chunks:
        if chunk:
            link.b.write(chunk)
        clock.advance(0.06)
        radio.poll()
    frame = bytes(range(223))
    link.b.write(cadu_encode(frame, 1) + cadu_encode(frame, 1))
    clock.advance(0.1)
    assert frame in radio.poll()


@pytest.mark.soak
@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=20000), st.lists(st.integers(0, 20000), max_size=100))
def test_deframer_soak(data: bytes, cuts: list[int]) -> None:
    test_deframer_is_chunking_invariant.hypothesis.inner_test(data, cuts)
