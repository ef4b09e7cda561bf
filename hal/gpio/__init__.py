"""GPIO: input lines with timestamped edge events and output lines; a Linux backend on the GPIO
character device (uAPI v2) and a simulated chip on the injected clock."""

from hal.gpio.base import (
    Bias,
    Drive,
    Edge,
    EdgeDetect,
    EdgeEvent,
    GpioChip,
    GpioError,
    InputLine,
    LineConfig,
    OutputLine,
)
from hal.gpio.linux import LinuxGpioChip
from hal.gpio.sim import SimGpioChip

__all__ = [
    "Bias",
    "Drive",
    "Edge",
    "EdgeDetect",
    "EdgeEvent",
    "GpioChip",
    "GpioError",
    "InputLine",
    "LineConfig",
    "LinuxGpioChip",
    "OutputLine",
    "SimGpioChip",
]
