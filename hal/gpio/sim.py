"""A simulated GPIO chip on the injected clock: tests and the emulator drive its input pins and
watch its output pins; flight code sees the same `GpioChip` as on Linux.

Pin levels are physical; requested lines read logical values (active-low inverts) and report edges
on the logical value. Input changes can be applied now (`drive`) or scheduled (`schedule`,
`schedule_pps`); scheduled changes are applied lazily, in time order, whenever the chip is used,
and each produces an edge event stamped with its scheduled time. Like the kernel, each request
buffers a bounded number of events and drops the oldest when full (`overflows` counts them, and
the event sequence numbers show the gap). Outputs keep a history of (time, level) for checking
pulse widths, e.g. of a reset line.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from typing import Final

from hal.clock import Clock
from hal.gpio.base import (
    Bias,
    Edge,
    EdgeDetect,
    EdgeEvent,
    GpioChip,
    GpioError,
    InputLine,
    LineConfig,
    OutputLine,
)

EVENTS_PER_LINE: Final[int] = 16  # the kernel's default event buffer for a one-line request


class SimInputLine(InputLine):
    def __init__(self, chip: SimGpioChip, offset: int, config: LineConfig) -> None:
        super().__init__(offset, config)
        self._chip = chip
        self._events: deque[EdgeEvent] = deque()
        self._seqno = 0
        self.overflows = 0

    def _get(self) -> bool:
        self._chip.settle()
        return self._chip.level(self.offset) != self.config.active_low

    def deliver(self, old_level: bool, new_level: bool, when: float) -> None:
        if old_level == new_level:
            return
        rising = new_level != self.config.active_low
        wanted = EdgeDetect.RISING if rising else EdgeDetect.FALLING
        if not self.config.edges & wanted:
            return
        self._seqno += 1
        if len(self._events) == EVENTS_PER_LINE:
            self._events.popleft()
            self.overflows += 1
        edge = Edge.RISING if rising else Edge.FALLING
        self._events.append(EdgeEvent(self.offset, edge, when, self._seqno, self._seqno))

    def _read_events(self, timeout: float | None, max_events: int) -> list[EdgeEvent]:
        clock = self._chip.clock
        deadline = None if timeout is None else clock.monotonic() + timeout
        while True:
            self._chip.settle()
            if self._events:
                count = min(max_events, len(self._events))
                return [self._events.popleft() for _ in range(count)]
            now = clock.monotonic()
            if deadline is not None and now >= deadline:
                return []
            wake = self._chip.next_change(self.offset)
            if wake is None:
                if deadline is None:
                    raise GpioError(
                        f"simulated line {self.offset}: waiting forever for an edge nothing is "
                        "scheduled to make"
                    )
                wake = deadline
            elif deadline is not None:
                wake = min(wake, deadline)
            clock.sleep_until(wake)

    def _release(self) -> None:
        self._chip.release(self.offset)


class SimOutputLine(OutputLine):
    def __init__(self, chip: SimGpioChip, offset: int, config: LineConfig) -> None:
        super().__init__(offset, config)
        self._chip = chip
        chip.set_level(offset, config.initial != config.active_low)

    def _get(self) -> bool:
        return self._chip.level(self.offset) != self.config.active_low

    def _set(self, value: bool) -> None:
        self._chip.set_level(self.offset, value != self.config.active_low)

    def _release(self) -> None:
        self._chip.release(self.offset)


class SimGpioChip(GpioChip):
    def __init__(self, clock: Clock, num_lines: int = 32, *, name: str = "sim-gpio") -> None:
        if num_lines < 1:
            raise ValueError(f"a chip has at least one line, not {num_lines}")
        self.clock = clock
        self.num_lines = num_lines
        self.name = name
        self._levels = [False] * num_lines
        self._driven: set[int] = set()  # pins something has set; the others float to their bias
        self._requests: dict[int, SimInputLine | SimOutputLine] = {}
        self._schedule: list[tuple[float, int, int, bool]] = []  # (time, order, offset, level)
        self._order = itertools.count()
        self._history: dict[int, list[tuple[float, bool]]] = {}

    # -- the test/emulator side -------------------------------------------------------------

    def drive(self, offset: int, level: bool) -> None:
        """Set the physical level of a pin from outside, now."""
        self._check_offset(offset)
        self.settle()
        self._change(offset, bool(level), self.clock.monotonic())

    def schedule(self, offset: int, level: bool, at: float) -> None:
        """Set the physical level of a pin at clock time `at` (not before now)."""
        self._check_offset(offset)
        if at < self.clock.monotonic():
            raise ValueError(f"cannot schedule a pin change in the past ({at} < now)")
        heapq.heappush(self._schedule, (at, next(self._order), offset, bool(level)))

    def schedule_pps(
        self,
        offset: int,
        first_edge: float,
        count: int,
        *,
        period_s: float = 1.0,
        width_s: float = 0.1,
    ) -> None:
        """`count` pulses: high at first_edge + k * period for `width_s`, like a GNSS 1 PPS."""
        if not 0 < width_s < period_s:
            raise ValueError(f"pulse width {width_s} s must be inside the period {period_s} s")
        for k in range(count):
            self.schedule(offset, True, first_edge + k * period_s)
            self.schedule(offset, False, first_edge + k * period_s + width_s)

    def level(self, offset: int) -> bool:
        """The physical level of a pin now (what a scope would show)."""
        self._check_offset(offset)
        self.settle()
        return self._levels[offset]

    def history(self, offset: int) -> list[tuple[float, bool]]:
        """(time, physical level) of every change of an output pin."""
        return list(self._history.get(offset, []))

    # -- used by the lines ------------------------------------------------------------------

    def settle(self) -> None:
        now = self.clock.monotonic()
        while self._schedule and self._schedule[0][0] <= now:
            when, _, offset, level = heapq.heappop(self._schedule)
            self._change(offset, level, when)

    def next_change(self, offset: int) -> float | None:
        return min((t for t, _, o, _ in self._schedule if o == offset), default=None)

    def _change(self, offset: int, level: bool, when: float) -> None:
        old = self._levels[offset]
        self._levels[offset] = level
        self._driven.add(offset)
        line = self._requests.get(offset)
        if isinstance(line, SimInputLine):
            line.deliver(old, level, when)

    def set_level(self, offset: int, level: bool) -> None:
        self.settle()
        self._levels[offset] = level
        self._driven.add(offset)
        self._history.setdefault(offset, []).append((self.clock.monotonic(), level))

    def release(self, offset: int) -> None:
        del self._requests[offset]

    def _claim(self, offset: int, config: LineConfig) -> None:
        if offset in self._requests:
            raise GpioError(f"line {offset} of {self.name} is busy (already requested)")
        if config.bias in (Bias.PULL_UP, Bias.PULL_DOWN) and not config.output:
            self.settle()
            if offset not in self._driven:
                self._levels[offset] = config.bias is Bias.PULL_UP

    def _request_input(self, offset: int, config: LineConfig) -> InputLine:
        self._claim(offset, config)
        line = SimInputLine(self, offset, config)
        self._requests[offset] = line
        return line

    def _request_output(self, offset: int, config: LineConfig) -> OutputLine:
        self._claim(offset, config)
        line = SimOutputLine(self, offset, config)
        self._requests[offset] = line
        return line

    def close(self) -> None:
        for line in list(self._requests.values()):
            line.close()
