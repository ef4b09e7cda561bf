"""The transmit queue's priorities and drop policy, and pacing to the air rate on the SimClock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.radio import KissConfig, KissRadio, TransparentConfig, TransparentRadio
from drivers.radio.pacing import TxPacer
from drivers.radio.sik_sim import SimSikRadio
from drivers.radio.txqueue import Priority, TxQueue
from hal.clock import SimClock

from .helpers import open_link, run


def test_priority_order_and_fifo_within_a_priority() -> None:
    q = TxQueue()
    for frame, priority in [
        (b"p1", Priority.PLAYBACK),
        (b"e1", Priority.EVENTS),
        (b"r1", Priority.REALTIME),
        (b"p2", Priority.PLAYBACK),
        (b"r2", Priority.REALTIME),
    ]:
        assert q.push(frame, priority)
    assert [q.pop() for _ in range(6)] == [b"r1", b"r2", b"e1", b"p1", b"p2", None]


def test_full_queue_evicts_newest_lower_priority() -> None:
    q = TxQueue(max_frames=3)
    q.push(b"p1", Priority.PLAYBACK)
    q.push(b"p2", Priority.PLAYBACK)
    q.push(b"e1", Priority.EVENTS)
    assert q.push(b"r1", Priority.REALTIME)
    assert q.counters.evicted[Priority.PLAYBACK] == 1
    assert [q.pop() for _ in range(3)] == [b"r1", b"e1", b"p1"]


def test_full_queue_drops_new_frame_of_equal_or_lower_priority() -> None:
    q = TxQueue(max_frames=2)
    q.push(b"r1", Priority.REALTIME)
    q.push(b"e1", Priority.EVENTS)
    assert not q.push(b"e2", Priority.EVENTS)
    assert not q.push(b"p1", Priority.PLAYBACK)
    assert q.counters.dropped[Priority.EVENTS] == 1
    assert q.counters.dropped[Priority.PLAYBACK] == 1
    assert q.counters.drops == 2
    assert len(q) == 2


def test_byte_bound_evicts_only_when_it_makes_room() -> None:
    q = TxQueue(max_frames=10, max_bytes=100)
    q.push(bytes(40), Priority.PLAYBACK)
    q.push(bytes(50), Priority.REALTIME)
    # 60 octets of events need the 40 of playback evicted: done.
    assert q.push(bytes(50), Priority.EVENTS)
    assert q.counters.evicted[Priority.PLAYBACK] == 1
    # 60 octets of realtime would need more than all lower frames: nothing is evicted.
    assert not q.push(bytes(60), Priority.REALTIME)
    assert q.counters.evicted[Priority.EVENTS] == 0 and q.octets == 100
    assert not q.push(bytes(101), Priority.REALTIME)
    assert q.counters.dropped[Priority.REALTIME] == 2


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("push"), st.integers(1, 60), st.sampled_from(list(Priority))),
            st.just(("pop", 0, None)),
        ),
        max_size=200,
    )
)
def test_queue_accounting(ops: list) -> None:
    q = TxQueue(max_frames=8, max_bytes=200)
    popped = 0
    last_priority: dict[bytes, Priority] = {}
    for index, (op, size, priority) in enumerate(ops):
        if op == "push":
            frame = index.to_bytes(2, "big") + bytes(size)
            if q.push(frame, priority):
                last_priority[frame] = priority
        else:
            frame = q.pop()
            if frame is not None:
                popped += 1
                head = last_priority.pop(frame)
                assert all(head <= p for p in last_priority.values())
        assert len(q) <= 8 and q.octets <= 200
    c = q.counters
    assert sum(c.enqueued) == popped + len(q) + sum(c.evicted)


def test_pacer_token_bucket(clock: SimClock) -> None:
    pacer = TxPacer(clock, rate_bytes_per_s=1000, burst_bytes=100)
    assert pacer.available() == 100
    pacer.consume(100)
    assert pacer.available() == 0
    assert pacer.ready_at(50) == pytest.approx(0.05)
    clock.advance(0.02)
    assert pacer.available() == 20
    clock.advance(10)
    assert pacer.available() == 100  # never more than the burst
    with pytest.raises(ValueError):
        TxPacer(clock, rate_bytes_per_s=0)


def test_kiss_driver_paces_to_the_air_rate(clock: SimClock) -> None:
    """9600 bit/s air rate over a 115200 baud UART: at most 960 octets/s plus one burst, in any
    window, and the rate is actually reached."""
    link = open_link(clock, baudrate=115200)
    radio = KissRadio(link.a, clock, KissConfig(air_rate_bps=9600, max_queue_frames=200))
    for _ in range(200):
        assert radio.send(bytes(100))
    arrivals: list[tuple[float, int]] = []

    class Sink:
        def poll(self) -> None:
            got = len(link.b.read(link.b.in_waiting or 1))
            if got:
                arrivals.append((clock.monotonic(), got))

    run(clock, [radio, Sink()], 10.0)
    total = sum(n for _, n in arrivals)
    assert total >= 0.95 * 960 * 10
    for i, (t0, _) in enumerate(arrivals):
        in_window = sum(n for t, n in arrivals[i:] if t < t0 + 1.0)
        assert in_window <= 960 + radio.config.burst_bytes + 20


def test_pacing_keeps_a_slow_radio_from_overflowing(clock: SimClock) -> None:
    """A SiK radio at 8 kbit/s on a 57600 baud UART: paced to its air rate, its 2 kB serial
    buffer never overflows; written at UART speed, it does and drops data."""

    def overflow(air_rate_bps: int) -> int:
        link = open_link(clock, baudrate=57600)
        modem = SimSikRadio(link.b, clock)
        modem.air_rate_kbps = 8
        radio = TransparentRadio(
            link.a, clock, TransparentConfig(air_rate_bps=air_rate_bps, max_queue_frames=200)
        )
        for _ in range(40):
            radio.send(bytes(223))
        run(clock, [radio, modem], 12.0)
        return modem.serial_rx_overflow

    assert overflow(8000) == 0
    assert overflow(1_000_000) > 1000


def test_next_deadline_lets_a_simulation_sleep(clock: SimClock) -> None:
    link = open_link(clock, baudrate=115200)
    radio = KissRadio(link.a, clock, KissConfig(air_rate_bps=9600, silence_timeout_s=100))
    for _ in range(20):
        radio.send(bytes(100))
    octets = radio.queue.octets
    polls = 0
    while polls < 1000:
        radio.poll()
        polls += 1
        if not radio.transmitting:
            break
        clock.sleep_until(radio.next_deadline)
    assert radio.stats.bytes_out == octets
    # One burst at once, the rest at 960 octets/s, in about one poll per burst.
    assert clock.monotonic() == pytest.approx((octets - 256) / 960, rel=0.02)
    assert polls <= octets // 256 + 2
