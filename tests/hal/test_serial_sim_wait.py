"""Blocking reads of a simulated port from worker threads: they wait on the clock for the far end's
writes instead of polling every simulated millisecond, and a close from another thread ends them."""

from __future__ import annotations

import threading
import time

import pytest

from hal.clock import MonotonicClock, SimClock
from hal.serial import PortNotOpenError, SimSerialLink


def _link(clock, baudrate: int = 9600, timeout: float | None = 100.0) -> SimSerialLink:
    link = SimSerialLink(clock)
    link.a.configure(baudrate=baudrate, timeout=timeout)
    link.b.configure(baudrate=baudrate, timeout=0)
    link.a.open()
    link.b.open()
    return link


def test_an_idle_worker_read_costs_one_wake_not_one_per_millisecond() -> None:
    clock = SimClock()
    link = _link(clock)
    results: list[tuple[float, bytes]] = []

    def reader() -> None:
        data = link.a.read(1)
        results.append((clock.monotonic(), data))

    clock.start_worker(reader, "reader")
    started = time.perf_counter()
    clock.advance(150.0)  # 100 000 polling steps would take seconds of real time
    assert time.perf_counter() - started < 1.0
    assert results == [(100.0, b"")]


def test_a_write_wakes_the_waiting_worker_at_the_octets_arrival() -> None:
    clock = SimClock()
    link = _link(clock)
    results: list[tuple[float, bytes]] = []

    def reader() -> None:
        data = link.a.read(3)
        results.append((clock.monotonic(), data))

    clock.start_worker(reader, "reader")
    clock.advance(5.0)
    link.b.write(b"abcdef")
    clock.advance(1.0)
    char_time = link.a.settings.character_time_s
    assert results == [(pytest.approx(5.0 + 3 * char_time), b"abc")]
    assert link.a.in_waiting == 3


def test_closing_the_port_ends_a_waiting_worker_read() -> None:
    clock = SimClock()
    link = _link(clock, timeout=None)
    outcome: list[BaseException] = []

    def reader() -> None:
        try:
            link.a.read(10)
        except PortNotOpenError as exc:
            outcome.append(exc)

    thread = clock.start_worker(reader, "reader")
    clock.advance(1.0)
    link.a.close()
    thread.join(timeout=5.0)
    assert not thread.is_alive() and len(outcome) == 1


def test_on_the_real_clock_a_waiting_read_wakes_on_the_write() -> None:
    clock = MonotonicClock()
    link = _link(clock, baudrate=115200, timeout=5.0)
    got: list[tuple[float, bytes]] = []

    def reader() -> None:
        data = link.a.read(4)
        got.append((time.monotonic(), data))

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.05)
    written = time.monotonic()
    link.b.write(b"ping")
    thread.join(timeout=5.0)
    assert got and got[0][1] == b"ping"
    assert got[0][0] - written < 0.5  # woken by the write, not at the 5 s timeout


def test_a_single_threaded_read_still_polls_and_times_out() -> None:
    clock = SimClock()
    link = _link(clock, timeout=0.25)
    assert link.a.read(1) == b"" and clock.monotonic() == pytest.approx(0.25)
    link.b.write(b"x")
    assert link.a.read(1) == b"x"
