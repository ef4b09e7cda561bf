"""Clocks for scheduling: injected everywhere so tests and the emulator run faster than real time.

`MonotonicClock` follows the machine's monotonic time; `SimClock` is advanced explicitly (or jumps
to a deadline when something sleeps), so a whole deployment runs as fast as the CPU allows and the
same inputs give the same run, bit for bit.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds since an arbitrary epoch; never goes backwards."""
        ...

    def sleep_until(self, deadline: float) -> None:
        """Return once `monotonic()` has reached `deadline` (at once if it already has)."""
        ...


class MonotonicClock:
    """The machine's monotonic clock; sleeps against absolute deadlines so schedules do not drift."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep_until(self, deadline: float) -> None:
        while (remaining := deadline - time.monotonic()) > 0:
            time.sleep(remaining)


class SimClock:
    """Simulated time: starts at `start` and moves only when advanced or slept on."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def monotonic(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (advance by {seconds} s)")
        self._now += seconds

    def sleep_until(self, deadline: float) -> None:
        if deadline > self._now:
            self._now = deadline
