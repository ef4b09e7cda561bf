"""The hardware a deployment binds to a driver component, opened from its URL.

Serial ports: a device path or pyserial URL (`/dev/ttyS2`, `/dev/pts/5`, `socket://host:port`),
opened through pyserial on the real clock; or `sim://NAME`, the flight end of a simulated link of
the run. GPIO input lines (a PPS): `CHIP:LINE`, where CHIP is a `/dev/gpiochipN` path or
`sim://NAME` and LINE an offset or, on Linux, the name the device tree gives the line
(`/dev/gpiochip0:GPS_PPS`).

Simulated hardware is shared by everything in one run through the runtime's `resources` mapping:
the first `sim://` port opened creates the run's `SimSerialHub` (its faults seeded from the run's
seed), the first `sim://NAME` GPIO chip opened creates that `SimGpioChip`, both on the run's
clock. The other end of a link (a simulated device, a test, a ground station in the same process)
opens `sim://NAME?end=b` from the same hub: `sim_serial_hub(rt.resources)`.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Final

from hal.clock import Clock, MonotonicClock
from hal.gpio import EdgeDetect, GpioChip, InputLine, LinuxGpioChip, SimGpioChip
from hal.serial import SerialPort, SerialRegistry, SimSerialHub, open_serial

SIM_SERIAL: Final = "sim_serial"  # resources key of the run's SimSerialHub
SIM_GPIO: Final = "sim_gpio"  # resources key of the run's simulated GPIO chips, by name
SIM_GPIO_LINES: Final = 64
_SIM: Final = "sim://"


class BindingError(ValueError):
    """A hardware URL that cannot name what the driver needs; carries the URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url!r}: {reason}")
        self.url = url
        self.reason = reason


def sim_serial_hub(resources: MutableMapping[str, Any], seed: int = 0) -> SimSerialHub:
    """The run's simulated serial links (created on first use)."""
    hub = resources.get(SIM_SERIAL)
    if hub is None:
        hub = resources[SIM_SERIAL] = SimSerialHub(seed=seed)
    return hub


def sim_gpio_chip(resources: MutableMapping[str, Any], clock: Clock, name: str) -> SimGpioChip:
    """The run's simulated GPIO chip `name` (created on first use, on `clock`)."""
    chips = resources.setdefault(SIM_GPIO, {})
    chip = chips.get(name)
    if chip is None:
        chip = chips[name] = SimGpioChip(clock, SIM_GPIO_LINES, name=f"sim-{name}")
    elif chip.clock is not clock:
        raise BindingError(f"{_SIM}{name}", "the simulated chip already runs on another clock")
    return chip


def open_port(
    url: str,
    *,
    clock: Clock,
    resources: MutableMapping[str, Any],
    seed: int = 0,
    **settings: object,
) -> SerialPort:
    """Open the serial port `url` with `settings` (baudrate, timeout, write_timeout, ...).

    A malformed URL or setting, or a real port on a simulated clock, raises a ValueError
    (`SerialURLError`, `SerialSettingError`); a device that cannot be opened, an OSError.
    """
    registry = SerialRegistry.with_defaults()
    registry.register("sim", sim_serial_hub(resources, seed))
    return open_serial(url, clock=clock, registry=registry, **settings)


def request_pps(
    url: str, *, clock: Clock, resources: MutableMapping[str, Any], consumer: str
) -> tuple[InputLine, GpioChip | None]:
    """The input line `url` names, requested for rising edges (a 1 PPS), and the chip to close
    with it (None for a simulated chip, which the run shares)."""
    if url.startswith(_SIM):
        chip, offset = sim_gpio_line(url, resources, clock)
        return chip.request_input(offset, edges=EdgeDetect.RISING, consumer=consumer), None
    chip_name, colon, line = url.rpartition(":")
    if not colon or not chip_name or not line:
        raise BindingError(url, "expected CHIP:LINE, e.g. /dev/gpiochip0:17 or sim://gpio:0")
    if not isinstance(clock, MonotonicClock):
        raise BindingError(url, "a real GPIO line timestamps edges on the real clock: "
                                "bind a sim:// chip on the simulated clock")  # fmt: skip
    linux = LinuxGpioChip(chip_name)
    try:
        offset = int(line) if line.isdigit() else linux.find_line(line)
        return linux.request_input(offset, edges=EdgeDetect.RISING, consumer=consumer), linux
    except BaseException:
        linux.close()
        raise


def sim_gpio_line(
    url: str, resources: MutableMapping[str, Any], clock: Clock
) -> tuple[SimGpioChip, int]:
    """The run's simulated chip and the line offset that `sim://NAME:LINE` names."""
    chip_name, colon, line = url.rpartition(":")
    name = chip_name[len(_SIM) :]
    if not colon or not name or not line.isdigit() or int(line) >= SIM_GPIO_LINES:
        raise BindingError(url, f"expected sim://NAME:LINE with LINE in 0..{SIM_GPIO_LINES - 1}")
    return sim_gpio_chip(resources, clock, name), int(line)
