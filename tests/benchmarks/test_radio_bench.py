"""The serial radio driver (issue 4): "sustains a 115,200 baud serial link at full rate with under
20% of one core".

Measured for real, not modelled: the flight-side driver runs in this thread on one end of a
pseudo-terminal pair opened through pyserial (`PtyBridge`), polled at 100 Hz like a rate group,
keeping its queue topped up (frames are encoded as they are queued, as telemetry would be), while a
ground-side driver in another thread does the same the other way, so the flight driver sends and
receives 11,520 octets/s at once. Its CPU time is `time.thread_time()` of this thread over the
run, so the ground thread and the pty relay thread do not count, and neither does time spent
waiting for the next tick. The ratio is CPU time / wall time; the issue asks for < 0.20.

Also, codec speed against a peer in the same run: KISS framing (encode + streaming deframe) and
AX.25 UI frames (encode + decode) against aioax25's implementations of the same.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from aioax25.frame import AX25Frame, AX25UnnumberedInformationFrame
from aioax25.kiss import KISSCommand

from drivers.radio import (
    KissConfig,
    KissRadio,
    Priority,
    TransparentConfig,
    TransparentRadio,
    UiFrame,
    ax25,
)
from drivers.radio.kiss import KissDeframer, kiss_encode
from hal.clock import MonotonicClock
from hal.serial import PtyBridge, open_serial

BAUD = 115200
OCTETS_PER_S = BAUD / 10
RATE_HZ = 100
MAX_CPU_FRACTION = 0.20


def _drivers(mode: str, a, b, clock):
    if mode == "kiss":
        flight = KissRadio(a, clock, KissConfig(local="SAT1", destination="GND", air_rate_bps=BAUD))
        ground = KissRadio(b, clock, KissConfig(local="GND", destination="SAT1", air_rate_bps=BAUD))
        payload = bytes(range(200))  # ~221 octets on the line

        def feeder(driver: KissRadio) -> Callable[[], None]:
            return lambda: driver.send(payload, Priority.PLAYBACK)

    else:
        config = TransparentConfig(air_rate_bps=BAUD, interleave=1)
        flight = TransparentRadio(a, clock, config)
        ground = TransparentRadio(b, clock, config)
        frame = bytes(range(223))  # 259-octet CADUs

        def feeder(driver: TransparentRadio) -> Callable[[], None]:
            return lambda: driver.send(frame, Priority.PLAYBACK)

    return flight, ground, feeder(flight), feeder(ground)


def _run_side(driver, feed, stop: Callable[[], bool], clock: MonotonicClock) -> int:
    received = 0
    tick = clock.monotonic()
    while not stop():
        while len(driver.queue) < 8:
            feed()
        received += len(driver.poll())
        tick += 1 / RATE_HZ
        clock.sleep_until(tick)
    return received


@pytest.mark.parametrize("mode", ["kiss", "transparent"])
def test_full_rate_115200_cpu(benchmark, mode: str) -> None:
    seconds = 0.5 if benchmark.disabled else 4.0
    clock = MonotonicClock()
    outcome: dict[str, float] = {}

    def run_once() -> None:
        with PtyBridge() as bridge:
            a = open_serial(bridge.path_a, baudrate=BAUD, timeout=0, write_timeout=0)
            b = open_serial(bridge.path_b, baudrate=BAUD, timeout=0, write_timeout=0)
            flight, ground, feed_flight, feed_ground = _drivers(mode, a, b, clock)
            stop = threading.Event()
            ground_thread = threading.Thread(
                target=_run_side, args=(ground, feed_ground, stop.is_set, clock)
            )
            ground_thread.start()
            try:
                start_wall, start_cpu = time.monotonic(), time.thread_time()
                start_process = time.process_time()
                bytes_out, bytes_in = flight.stats.bytes_out, flight.stats.bytes_in
                end = start_wall + seconds
                frames = _run_side(flight, feed_flight, lambda: time.monotonic() >= end, clock)
                wall = time.monotonic() - start_wall
                cpu = time.thread_time() - start_cpu
                process = time.process_time() - start_process
            finally:
                stop.set()
                ground_thread.join()
                a.close()
                b.close()
            outcome.update(
                wall_s=wall,
                cpu_s=cpu,
                cpu_fraction=cpu / wall,
                # Both drivers, the pty relay thread and the test loop, for reference.
                process_cpu_fraction=process / wall,
                out_octets_per_s=(flight.stats.bytes_out - bytes_out) / wall,
                in_octets_per_s=(flight.stats.bytes_in - bytes_in) / wall,
                frames_in=frames,
                crc_failures=flight.stats.crc_failures,
                dropped_by_bridge=sum(bridge.dropped.values()),
            )

    benchmark.pedantic(run_once, rounds=1, iterations=1)
    benchmark.extra_info.update({k: round(v, 4) for k, v in outcome.items()})
    assert outcome["crc_failures"] == 0 and outcome["dropped_by_bridge"] == 0
    assert outcome["frames_in"] > 0
    if benchmark.disabled:
        return
    # Full rate both ways (the pacer's burst lets the first second run a little above it).
    assert outcome["out_octets_per_s"] >= 0.95 * OCTETS_PER_S
    assert outcome["in_octets_per_s"] >= 0.90 * OCTETS_PER_S
    assert outcome["cpu_fraction"] < MAX_CPU_FRACTION, outcome


def _ui_frames() -> list[UiFrame]:
    return [
        UiFrame.build("GND", "SAT1-1", bytes((i + j) & 0xFF for j in range(200)), via=["RELAY-2"])
        for i in range(64)
    ]


def test_kiss_framing_vs_aioax25(compare) -> None:
    payloads = [ax25.encode(f) for f in _ui_frames()]
    stream = b"".join(kiss_encode(p) for p in payloads)

    def ours() -> None:
        for p in payloads:
            kiss_encode(p)
        KissDeframer().feed(stream)

    def peer() -> None:
        for p in payloads:
            b"\xc0" + bytes(KISSCommand(port=0, cmd=0, payload=p)) + b"\xc0"
        for part in stream.split(b"\xc0"):
            if part:
                KISSCommand.decode(part)

    compare(ours, peer, peer_name="aioax25 KISSCommand encode/decode", min_ratio=5.0)


def test_ax25_ui_vs_aioax25(compare) -> None:
    frames = _ui_frames()
    wires = [ax25.encode(f) for f in frames]
    theirs = [
        AX25UnnumberedInformationFrame(
            destination="GND", source="SAT1-1", repeaters=["RELAY-2"], pid=0xF0, payload=f.info,
            cr=True,
        )
        for f in frames
    ]  # fmt: skip
    assert [bytes(t) for t in theirs] == wires

    def ours() -> None:
        for f in frames:
            ax25.encode(f)
        for w in wires:
            ax25.decode(w)

    def peer() -> None:
        for t in theirs:
            bytes(t)
        for w in wires:
            AX25Frame.decode(w)

    compare(ours, peer, peer_name="aioax25 AX25Frame encode/decode", min_ratio=4.0)
