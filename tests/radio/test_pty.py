"""End to end over real pseudo-terminals through pyserial: the flight side and the ground side
each open a tty path, as they would two USB-serial adapters joined by a cable."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from drivers.radio import (
    KissConfig,
    KissRadio,
    LinkState,
    Priority,
    TransparentConfig,
    TransparentRadio,
)
from hal.clock import MonotonicClock
from hal.serial import PtyBridge, SerialPort, open_serial


@pytest.fixture
def ports() -> Iterator[tuple[SerialPort, SerialPort]]:
    with PtyBridge() as bridge:
        a = open_serial(bridge.path_a, baudrate=115200, timeout=0, write_timeout=0)
        b = open_serial(bridge.path_b, baudrate=115200, timeout=0, write_timeout=0)
        try:
            yield a, b
        finally:
            a.close()
            b.close()


def pump(parts: list, done: Callable[[], bool], limit_s: float = 10.0) -> None:
    clock = MonotonicClock()
    end = clock.monotonic() + limit_s
    while not done() and clock.monotonic() < end:
        for part in parts:
            part.poll()
        clock.sleep_until(clock.monotonic() + 0.005)


class Collect:
    def __init__(self, driver: KissRadio | TransparentRadio) -> None:
        self.driver = driver
        self.frames: list = []

    def poll(self) -> None:
        self.frames.extend(self.driver.poll())


def test_kiss_over_a_pty_pair(ports: tuple[SerialPort, SerialPort]) -> None:
    a, b = ports
    clock = MonotonicClock()
    sat = Collect(
        KissRadio(a, clock, KissConfig(local="SAT1", destination="GND", air_rate_bps=115200))
    )
    gnd = Collect(
        KissRadio(b, clock, KissConfig(local="GND", destination="SAT1", air_rate_bps=115200))
    )
    for i in range(50):
        sat.driver.send(bytes([i]) * 200 + b"\xc0\xdb", Priority.PLAYBACK)
        gnd.driver.send(f"command {i}".encode())
    pump([sat, gnd], lambda: len(sat.frames) == 50 and len(gnd.frames) == 50)
    assert [f.info for f in gnd.frames] == [bytes([i]) * 200 + b"\xc0\xdb" for i in range(50)]
    assert [f.info for f in sat.frames] == [f"command {i}".encode() for i in range(50)]
    for side in (sat, gnd):
        assert side.driver.stats.crc_failures == 0 and side.driver.stats.port_errors == 0
        assert side.driver.link.state is LinkState.UP


def test_cadus_over_a_pty_pair(ports: tuple[SerialPort, SerialPort]) -> None:
    a, b = ports
    clock = MonotonicClock()
    config = TransparentConfig(air_rate_bps=115200, interleave=5)
    sat = Collect(TransparentRadio(a, clock, config))
    gnd = Collect(TransparentRadio(b, clock, config))
    frames = [bytes([i]) * 1115 for i in range(10)]
    started = time.monotonic()
    for frame in frames:
        sat.driver.send(frame)
    pump([sat, gnd], lambda: len(gnd.frames) == 10)
    elapsed = time.monotonic() - started
    assert gnd.frames == frames
    assert gnd.driver.stats.crc_failures == 0
    # Paced at 11520 octets/s: ten 1279-octet CADUs take at least (12790 - 256) / 11520 s.
    assert elapsed >= (12790 - 256) / 11520 * 0.95


def test_kiss_over_pyserial_loop_url() -> None:
    """pyserial's loop:// hands back what is written: a station hears its own frames. Its write
    refuses any data under write_timeout=0 (it models the line time and gives up at once): the
    driver counts that and carries on; with no write timeout its queue never blocks."""
    refusing = open_serial("loop://", baudrate=115200, timeout=0, write_timeout=0)
    try:
        radio = KissRadio(refusing, MonotonicClock(), KissConfig(local="SAT1", destination="SAT1"))
        radio.send(b"x")
        assert radio.poll() == []
        assert radio.stats.port_errors == 1 and radio.stats.tx_aborted == 1
    finally:
        refusing.close()
    port = open_serial("loop://", baudrate=115200, timeout=0)
    try:
        me = Collect(
            KissRadio(port, MonotonicClock(), KissConfig(local="SAT1", destination="SAT1"))
        )
        for i in range(5):
            me.driver.send(bytes([i]) * 50)
        pump([me], lambda: len(me.frames) == 5, limit_s=5.0)
        assert [f.info for f in me.frames] == [bytes([i]) * 50 for i in range(5)]
    finally:
        port.close()
