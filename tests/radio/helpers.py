"""Helpers for the radio tests: simulated links on a SimClock, stepped like a rate group."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from hal.clock import SimClock
from hal.serial import SimSerialLink


class Pollable(Protocol):
    def poll(self) -> object: ...


def open_link(clock: SimClock, baudrate: int = 57600, **kwargs: object) -> SimSerialLink:
    """A simulated cable whose two ends are open and never block (timeouts 0)."""
    link = SimSerialLink(clock, **kwargs)
    for end in (link.a, link.b):
        end.configure(baudrate=baudrate, timeout=0, write_timeout=0)
        end.open()
    return link


def run(
    clock: SimClock,
    parts: Iterable[Pollable],
    seconds: float,
    *,
    step_s: float = 0.01,
    until: Callable[[], bool] | None = None,
) -> float:
    """Poll every part each `step_s` of simulated time for `seconds` or until `until()`;
    returns the simulated time it took."""
    start = clock.monotonic()
    parts = list(parts)
    while clock.monotonic() - start < seconds:
        for part in parts:
            part.poll()
        if until is not None and until():
            break
        clock.advance(step_s)
    return clock.monotonic() - start
