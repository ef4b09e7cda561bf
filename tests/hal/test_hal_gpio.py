"""GPIO: the simulated chip in depth, the Linux backend's error paths and packing."""

from __future__ import annotations

import errno
from datetime import datetime

import pytest

from hal.clock import SimClock
from hal.gpio import (
    Bias,
    Drive,
    Edge,
    EdgeDetect,
    GpioError,
    LineConfig,
    LinuxGpioChip,
    SimGpioChip,
)
from hal.gpio.linux import (
    LINE_EVENT,
    LINE_REQUEST_SIZE,
    LineFlag,
    line_flags,
    pack_line_request,
    unpack_line_events,
)
from hal.time import DisciplinedTime, SyncState, utc_to_tai

PPS = 4
RADIO_ENABLE = 7


def test_pps_edges_carry_their_scheduled_timestamps() -> None:
    clock = SimClock(10.0)
    chip = SimGpioChip(clock)
    pps = chip.request_input(PPS, edges=EdgeDetect.RISING)
    chip.schedule_pps(PPS, first_edge=10.5, count=3)
    events = pps.read_events(timeout=2.0)
    assert [(e.edge, e.timestamp, e.seqno) for e in events] == [(Edge.RISING, 10.5, 1)]
    assert clock.monotonic() == 10.5
    clock.advance(5.0)
    later = pps.read_events(timeout=0)
    assert [e.timestamp for e in later] == [11.5, 12.5]  # falling edges were not asked for
    assert pps.read_events(timeout=1.0) == [] and clock.monotonic() == 16.5


def test_pps_from_gpio_disciplines_spacecraft_time() -> None:
    clock = SimClock()
    chip = SimGpioChip(clock)
    pps = chip.request_input(PPS, edges=EdgeDetect.RISING)
    time = DisciplinedTime(clock)
    tai0 = utc_to_tai(datetime(2025, 1, 1))
    chip.schedule_pps(PPS, first_edge=1.0, count=5)
    for k in range(5):
        (edge,) = pps.read_events(timeout=2.0)
        clock.advance(0.25)  # the fix for that second arrives a quarter second later
        time.on_pps(edge.timestamp)
        time.on_fix_tai(tai0 + k, clock.monotonic())
    assert time.status().state is SyncState.LOCKED
    assert time.tai_at(5.0) == pytest.approx(tai0 + 4, abs=1e-9)


def test_both_edges_and_active_low_report_logical_values() -> None:
    clock = SimClock()
    chip = SimGpioChip(clock)
    line = chip.request_input(2, edges=EdgeDetect.BOTH, active_low=True)
    chip.drive(2, True)  # pin high = logically inactive
    clock.advance(1.0)
    chip.drive(2, False)
    assert line.value() is True
    assert [e.edge for e in line.read_events()] == [Edge.FALLING, Edge.RISING]


def test_event_buffer_drops_the_oldest_and_seqno_shows_it() -> None:
    clock = SimClock()
    chip = SimGpioChip(clock)
    line = chip.request_input(0, edges=EdgeDetect.RISING)
    for _ in range(20):
        chip.drive(0, True)
        chip.drive(0, False)
    events = line.read_events(max_events=64)
    assert len(events) == 16 and line.overflows == 4
    assert [e.seqno for e in events] == list(range(5, 21))


def test_outputs_keep_a_history_for_pulse_widths() -> None:
    clock = SimClock()
    chip = SimGpioChip(clock)
    reset = chip.request_output(3, initial=False, active_low=True, drive=Drive.OPEN_DRAIN)
    assert chip.level(3) is True  # inactive active-low line sits high
    reset.set(True)
    clock.advance(0.01)
    reset.set(False)
    assert chip.history(3) == [(0.0, True), (0.0, False), (0.01, True)]
    enable = chip.request_output(RADIO_ENABLE, initial=True)
    assert enable.value() is True and chip.level(RADIO_ENABLE) is True


def test_requests_are_validated_and_exclusive() -> None:
    clock = SimClock()
    chip = SimGpioChip(clock, num_lines=8)
    with pytest.raises(GpioError, match="not on this chip"):
        chip.request_input(8)
    line = chip.request_input(1)
    with pytest.raises(GpioError, match="busy"):
        chip.request_output(1)
    with pytest.raises(GpioError, match="without edge detection"):
        line.read_events()
    line.close()
    with pytest.raises(GpioError, match="released"):
        line.value()
    chip.request_output(1).close()
    with pytest.raises(ValueError, match="consumer"):
        chip.request_input(2, consumer="x" * 32)
    with pytest.raises(ValueError, match="debounce"):
        chip.request_input(2, debounce_s=-1)


def test_bias_sets_an_undriven_input() -> None:
    chip = SimGpioChip(SimClock())
    assert chip.request_input(5, bias=Bias.PULL_UP).value() is True
    assert chip.request_input(6, bias=Bias.PULL_DOWN).value() is False


def test_waiting_forever_for_an_unscheduled_edge_is_an_error() -> None:
    chip = SimGpioChip(SimClock())
    line = chip.request_input(0, edges=EdgeDetect.RISING)
    with pytest.raises(GpioError, match="forever"):
        line.read_events(timeout=None)


def test_linux_chip_absent_is_a_clear_error() -> None:
    with pytest.raises(GpioError) as err:
        LinuxGpioChip("/dev/gpiochip-not-here")
    assert err.value.errno == errno.ENOENT
    assert "/dev/gpiochip-not-here" in str(err.value) and "gpiochipN" in str(err.value)


def test_linux_chip_on_a_non_gpio_device_is_refused() -> None:
    with pytest.raises(GpioError) as err:
        LinuxGpioChip("/dev/null")
    assert err.value.errno == errno.ENOTTY


def test_line_request_layout_and_flags() -> None:
    config = LineConfig(
        False, EdgeDetect.BOTH, Bias.PULL_DOWN, active_low=True, debounce_s=1e-4, consumer="pps"
    )
    assert line_flags(config) == (
        LineFlag.INPUT
        | LineFlag.ACTIVE_LOW
        | LineFlag.EDGE_RISING
        | LineFlag.EDGE_FALLING
        | LineFlag.BIAS_PULL_DOWN
    )
    packed = pack_line_request(17, config)
    assert len(packed) == LINE_REQUEST_SIZE == 592
    assert packed[:4] == (17).to_bytes(4, "little") and packed[256:260] == b"pps\0"


def test_edge_events_unpack() -> None:
    raw = LINE_EVENT.pack(1_500_000_000, 1, 4, 1, 1, 0, 0, 0, 0, 0, 0) + LINE_EVENT.pack(
        2_500_000_000, 2, 4, 2, 2, 0, 0, 0, 0, 0, 0
    )
    events = unpack_line_events(raw)
    assert [(e.edge, e.timestamp, e.seqno) for e in events] == [
        (Edge.RISING, 1.5, 1),
        (Edge.FALLING, 2.5, 2),
    ]
