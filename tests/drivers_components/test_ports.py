"""Opening the hardware a deployment binds: serial ports and PPS lines by URL, shared simulated
hardware per run."""

from __future__ import annotations

import pytest

from drivers.ports import BindingError, open_port, request_pps, sim_gpio_chip, sim_serial_hub
from hal.clock import MonotonicClock, SimClock
from hal.gpio import Edge, GpioError
from hal.serial import SerialSettingError, SimSerialPort, UnknownSchemeError


def test_sim_ports_of_one_run_share_a_hub() -> None:
    clock, resources = SimClock(), {}
    flight = open_port(
        "sim://gnss", clock=clock, resources=resources, seed=3, baudrate=9600, timeout=0
    )
    device = open_port("sim://gnss?end=b", clock=clock, resources=resources, baudrate=9600)
    assert isinstance(flight, SimSerialPort) and flight.link is device.link
    assert sim_serial_hub(resources).seed == 3 and flight.is_open and device.is_open
    device.write(b"$GPGGA")
    clock.advance(0.1)
    assert flight.read(6) == b"$GPGGA"


def test_real_ports_refuse_the_simulated_clock_and_unknown_schemes_are_named() -> None:
    with pytest.raises(SerialSettingError):
        open_port("/dev/ttyS0", clock=SimClock(), resources={})
    with pytest.raises(UnknownSchemeError):
        open_port("nope://x", clock=SimClock(), resources={})


def test_a_simulated_pps_line_sees_the_edges_the_device_schedules() -> None:
    clock, resources = SimClock(), {}
    line, owned = request_pps("sim://gpio:5", clock=clock, resources=resources, consumer="t")
    assert owned is None  # the run's chip, not closed with the line
    chip = sim_gpio_chip(resources, clock, "gpio")
    chip.schedule_pps(5, first_edge=1.0, count=3)
    clock.advance(3.5)
    events = line.read_events(timeout=0)
    assert [(e.edge, e.timestamp) for e in events] == [
        (Edge.RISING, 1.0),
        (Edge.RISING, 2.0),
        (Edge.RISING, 3.0),
    ]
    with pytest.raises(BindingError):
        sim_gpio_chip(resources, SimClock(), "gpio")  # one run, one clock


@pytest.mark.parametrize(
    "url",
    [
        "sim://gpio",
        "sim://:3",
        "sim://gpio:x",
        "sim://gpio:64",
        "/dev/gpiochip0",
        "/dev/gpiochip0:",
    ],
)
def test_malformed_pps_urls(url: str) -> None:
    with pytest.raises(BindingError) as err:
        request_pps(url, clock=SimClock(), resources={}, consumer="t")
    assert err.value.url == url


def test_a_real_gpio_chip_needs_the_real_clock_and_must_exist() -> None:
    with pytest.raises(BindingError, match="real clock"):
        request_pps("/dev/gpiochip0:GPS_PPS", clock=SimClock(), resources={}, consumer="t")
    with pytest.raises(GpioError):
        request_pps("/dev/gpiochip97:4", clock=MonotonicClock(), resources={}, consumer="t")
