"""The time base an emulated board and its rig share: the host's monotonic clock, scaled.

Two processes on one host read the same CLOCK_MONOTONIC (`time.monotonic()` on Linux), so a
clock defined as

    t = (CLOCK_MONOTONIC - origin) * speed

reads the same in the flight process (`flight run --speed N --clock-origin ORIGIN`) and in the
rig, with no messages between them. It is a real-time clock, not a simulated one: it runs whether
or not anyone looks, sleeps really sleep (1/speed of the clock's seconds), and real serial ports
and pseudo-terminals work on it. A flight process that is killed and started again with the same
origin finds the clock where a board's would be after the same time without power.

`UTC = epoch + t` (the emulation's epoch is the UTC at clock reading 0) maps it to the orbit
simulator's time line (`flight.sim.TimeBase(epoch, t0=0)`) and to spacecraft time
(`flight run --epoch`).

It subclasses `MonotonicClock` because it is the machine's clock, paced differently: the HAL
accepts it wherever a real clock is required (pyserial ports, Linux GPIO lines).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from hal.clock import MonotonicClock


class ScaledClock(MonotonicClock):
    """The host's monotonic clock, `speed` times faster, reading 0 at `origin` (host seconds)."""

    def __init__(self, speed: float = 1.0, origin: float | None = None) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"clock speed {speed} must be a positive number")
        super().__init__()
        self.speed = float(speed)
        self.origin = time.monotonic() if origin is None else float(origin)

    def monotonic(self) -> float:
        return (time.monotonic() - self.origin) * self.speed

    def host_time(self, t: float) -> float:
        """The host's `time.monotonic()` at which this clock reads `t`."""
        return self.origin + t / self.speed

    def sleep_until(self, deadline: float) -> None:
        real = self.host_time(deadline)
        while (remaining := real - time.monotonic()) > 0:
            time.sleep(remaining)

    def wait_for(self, predicate: Callable[[], bool], deadline: float | None = None) -> bool:
        """Block until `predicate()` holds (True) or the clock reaches `deadline` (False)."""
        real = None if deadline is None else self.host_time(deadline)
        with self._cond:
            while not predicate():
                if real is None:
                    self._cond.wait()
                    continue
                remaining = real - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True
