"""The rate-group executive: one tick, rate groups derived from it, a fixed order, slip detection.

The executive ticks at `tick_hz` against absolute deadlines (tick k is due at t0 + k / tick_hz,
so there is no drift). A rate group with divisor d and offset o runs on the ticks where
k mod d == o, i.e. at tick_hz / d. Each tick:

1. messages handed over by worker threads go onto the bus, component by component in deployment
   order, then the bus is pumped;
2. the rate groups due on this tick run, fastest first (ties in deployment order), each running its
   members in the listed order; the bus is pumped after each group.

A member that raises is isolated: its rate group emits a warning event, the member's health drops
to WARNING, and the next member runs. A group that has not finished one period after it was due
has slipped: counted in telemetry with an event. If the executive itself falls a whole tick or more
behind (a long cycle, a suspended process), it skips the missed ticks instead of bursting through
them, and counts them.

Time comes from the injected clock: on a `SimClock` sleeping jumps, so a deployment runs as fast as
the CPU allows and gives the same result every time; `speed` paces a simulated run at that many
times real time.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from flight.runtime.bus import SoftwareBus
from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Health,
    Throttle,
    Update,
    command,
)
from flight.runtime.errors import ConfigError
from flight.runtime.records import Severity
from flight.runtime.types import F64, U32, U64, String

MAX_TICK_HZ: Final = 1000.0


def _text(exc: BaseException, limit: int = 120) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text.encode()[:limit].decode(errors="ignore")


class RateGroup(Component):
    """A set of components run in order at tick_hz / divisor; reports its timing as telemetry."""

    cycles = Channel(1, U64, doc="cycles run since boot")
    cycle_slips = Channel(2, U32, update=Update.ON_CHANGE, doc="cycles that overran their period")
    max_time_us = Channel(3, U32, unit="us", update=Update.ON_CHANGE,
                          doc="longest cycle since boot or the last reset_stats")
    last_time_us = Channel(4, U32, unit="us", doc="duration of the last cycle")
    member_faults = Channel(5, U32, update=Update.ON_CHANGE,
                            doc="exceptions raised by members")

    cycle_slip = Event(1, Severity.WARNING_LO,
                       "cycle {cycle} overran: finished {late_us} us after its period ended",
                       throttle=Throttle(5, 60.0), cycle=U64, late_us=U32)
    member_fault = Event(2, Severity.WARNING_HI, "member {member} raised {error}",
                         throttle=Throttle(10, 60.0), member=String(32), error=String(120))
    stats_reset = Event(3, Severity.ACTIVITY_LO, "rate group statistics reset")

    def __init__(self, name: str, base_id: int, *, divisor: int, offset: int = 0) -> None:
        super().__init__(name, base_id)
        if type(divisor) is not int or divisor < 1:
            raise ConfigError("divisor", f"divisor {divisor!r} must be a positive integer")
        if type(offset) is not int or not 0 <= offset < divisor:
            raise ConfigError("offset", f"offset {offset!r} must be in 0..{divisor - 1}")
        self.divisor = divisor
        self.offset = offset
        self.period_s = 0.0
        self.members: list[Component] = []
        self._calls: list[tuple[Component, Callable[[], None]]] = []
        self._idle: set[str] = set()
        self._cycles = 0
        self._slips = 0
        self._max_s = 0.0
        self._faults = 0

    def add_member(self, member: Component) -> None:
        cycle = getattr(member, "cycle", None)
        if not callable(cycle):
            raise ConfigError("members", f"{member.name} ({type(member).__name__}) has no "
                                         "cycle() method to run in a rate group")
        self.members.append(member)
        self._calls.append((member, cycle))
        member.rate_group = self

    def set_running(self, member: Component, running: bool) -> None:
        """Run `member` in this group's cycles again, or leave it out (switched off by a mode, or
        stopped for a restart); the members keep their order."""
        if member not in self.members:
            raise ValueError(f"{member.name} is not a member of rate group {self.name}")
        if running:
            self._idle.discard(member.name)
        else:
            self._idle.add(member.name)
        self._calls = [(m, m.cycle) for m in self.members if m.name not in self._idle]

    def run(self, scheduled: float) -> None:
        now = self._now
        start = now()
        for member, cycle in self._calls:
            try:
                cycle()
            except Exception as exc:  # noqa: BLE001 - isolate the member, keep the group running
                self._fault(member, exc)
        end = now()
        self._cycles += 1
        elapsed = end - start
        base = self.base_id
        values, times = self._tlm_values, self._tlm_times  # every-cycle channels: as tlm() does
        values[base + _CYCLES] = self._cycles
        times[base + _CYCLES] = end
        values[base + _LAST_TIME] = round(elapsed * 1e6)
        times[base + _LAST_TIME] = end
        if elapsed > self._max_s:
            self._max_s = elapsed
            self._tlm_write(base + _MAX_TIME, Update.ON_CHANGE, round(elapsed * 1e6), end)
        late = end - (scheduled + self.period_s)
        if late > 0:
            self._slips += 1
            self.tlm(self.cycle_slips, self._slips)
            self.emit(self.cycle_slip, self._cycles, min(round(late * 1e6), 0xFFFFFFFF))

    def skipped(self, cycles: int) -> None:
        """The executive skipped ticks on which this group was due: each is a slip."""
        self._slips += cycles
        self.tlm(self.cycle_slips, self._slips)

    def _fault(self, member: Component, exc: BaseException) -> None:
        self._faults += 1
        member.faults += 1
        member.set_health(Health.WARNING, f"cycle raised {_text(exc, 80)}")
        self.tlm(self.member_faults, self._faults)
        self.emit(self.member_fault, member.name, _text(exc))

    @command(1)
    def reset_stats(self) -> None:
        """Reset the maximum cycle time."""
        self._max_s = 0.0
        self.tlm(self.max_time_us, 0)
        self.emit(self.stats_reset)

    @property
    def slips(self) -> int:
        return self._slips


_CYCLES: Final = RateGroup.cycles.id
_LAST_TIME: Final = RateGroup.last_time_us.id
_MAX_TIME: Final = RateGroup.max_time_us.id


@dataclass
class TickStats:
    ticks: int = 0
    skipped: int = 0


class Executive(Component):
    """Drives the rate groups from one tick; also drains worker handoffs and pumps the bus."""

    ticks = Channel(1, U64, doc="ticks run since boot")
    ticks_skipped = Channel(2, U32, update=Update.ON_CHANGE,
                            doc="ticks skipped because the executive fell behind")
    uptime_s = Channel(3, F64, unit="s", doc="time since the executive started")
    dictionary_id = Channel(4, U32, update=Update.ON_CHANGE,
                            doc="first 32 bits of the dictionary hash")

    ticks_skipped_event = Event(1, Severity.WARNING_HI,
                                "executive fell {count} ticks behind at tick {tick}; skipped them",
                                throttle=Throttle(5, 60.0), count=U32, tick=U64)
    started = Event(2, Severity.ACTIVITY_HI, "executive started at {tick_hz} Hz", tick_hz=F64)
    stopped = Event(3, Severity.ACTIVITY_HI, "executive stopped after {ticks} ticks", ticks=U64)
    dictionary = Event(4, Severity.ACTIVITY_HI, "deployment {name}, dictionary {hash}",
                       throttle=None, name=String(40), hash=String(64))
    realtime = Event(5, Severity.ACTIVITY_HI,
                     "real-time scheduling: SCHED_FIFO priority {priority}", throttle=None,
                     priority=U32)
    realtime_refused = Event(6, Severity.WARNING_LO,
                             "real-time priority {priority} refused ({error}); running without",
                             throttle=None, priority=U32, error=String(80))

    def __init__(self, name: str, base_id: int, *, tick_hz: float, bus: SoftwareBus) -> None:
        super().__init__(name, base_id)
        if not isinstance(tick_hz, int | float) or isinstance(tick_hz, bool) or not (
            0 < tick_hz <= MAX_TICK_HZ
        ):
            raise ConfigError("tick_hz", f"tick rate {tick_hz!r} must be in (0, {MAX_TICK_HZ}] Hz")
        self.tick_hz = float(tick_hz)
        self.period_s = 1.0 / self.tick_hz
        self.bus = bus
        self.groups: list[RateGroup] = []
        self.handoffs: list[Any] = []  # ThreadedComponents, drained in this order
        self.stats = TickStats()
        self.tick_hooks: list[Callable[[int], None]] = []  # called after each tick with its number
        self.housekeepers: list[Callable[[], None]] = []  # called once per second
        self._table: list[tuple[RateGroup, ...]] = [()]
        self._stop = threading.Event()
        self._t0: float | None = None
        self._k = 0
        self.dictionary_hash = ""
        self.deployment_name = ""

    def start(self) -> None:
        if self.dictionary_hash:
            self.tlm(self.dictionary_id, int(self.dictionary_hash[:8], 16))
            self.emit(self.dictionary, self.deployment_name, self.dictionary_hash)

    def request_realtime(self, priority: int) -> bool:
        """Run this thread (and the threads it starts later) under SCHED_FIFO at `priority`.

        On an onboard computer the executive must not wait behind other processes: under load,
        the kernel's ordinary scheduler delays wake-ups by milliseconds, the real-time policy
        does not. Needs CAP_SYS_NICE (root, or the systemd unit's CPUSchedulingPolicy); refused,
        the executive runs on and says so in an event.
        """
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        except (OSError, AttributeError) as exc:
            self.emit(self.realtime_refused, priority, str(exc)[:80])
            return False
        self.emit(self.realtime, priority)
        return True

    def add_group(self, group: RateGroup) -> None:
        group.period_s = group.divisor * self.period_s
        self.groups.append(group)
        self._build_table()

    def _build_table(self) -> None:
        length = 1
        for g in self.groups:
            length = math.lcm(length, g.divisor)
        order = sorted(enumerate(self.groups), key=lambda ig: (ig[1].divisor, ig[0]))
        self._table = [
            tuple(g for _, g in order if k % g.divisor == g.offset) for k in range(length)
        ]

    def stop(self) -> None:
        """Ask the executive to stop after the current tick (safe from any thread)."""
        self._stop.set()

    @property
    def time_origin(self) -> float | None:
        return self._t0

    def run(self, duration_s: float | None = None, *, speed: float | None = None) -> None:
        """Run ticks until `stop()` or until `duration_s` of clock time has passed.

        Calling `run` again continues the same schedule (the tick count carries on).
        """
        clock = self.clock
        period = self.period_s
        if self._t0 is None:
            self._t0 = clock.monotonic()
            self.emit(self.started, self.tick_hz)
        t0 = self._t0
        k = self._k
        end_k = None if duration_s is None else k + round(duration_s * self.tick_hz)
        pace_t0 = time.monotonic()
        pace_k0 = k
        sleep_until = clock.sleep_until
        now = clock.monotonic
        stop = self._stop
        table = self._table
        n_table = len(table)
        hooks = self.tick_hooks
        bus = self.bus
        per_second = max(1, round(self.tick_hz))
        while not stop.is_set() and (end_k is None or k < end_k):
            deadline = t0 + k * period
            sleep_until(deadline)
            if speed is not None:
                real = pace_t0 + (k - pace_k0) * period / speed
                while (rest := real - time.monotonic()) > 0:
                    time.sleep(rest)
            late = now() - deadline
            if late >= period:
                missed = int(late / period)
                if end_k is not None:
                    missed = min(missed, end_k - k)
                self._skip(k, missed)
                k += missed
                if end_k is not None and k >= end_k:
                    break
                deadline = t0 + k * period
            if self.handoffs:
                self._drain_handoffs()
            if bus._ready:
                bus.pump()
            for group in table[k % n_table]:
                group.run(deadline)
                if bus._ready:
                    bus.pump()
            for hook in hooks:
                hook(k)
            k += 1
            self.stats.ticks += 1
            if k % per_second == 0:
                self._housekeeping(k)
        self._k = k
        if end_k is not None and not stop.is_set():
            sleep_until(t0 + k * period)

    def _skip(self, k: int, missed: int) -> None:
        self.stats.skipped += missed
        last = k + missed - 1
        for group in self.groups:  # ticks j in [k, last] with j mod divisor == offset
            due = (last - group.offset) // group.divisor - (k - 1 - group.offset) // group.divisor
            if due:
                group.skipped(due)
        self.tlm(self.ticks_skipped, self.stats.skipped)
        self.emit(self.ticks_skipped_event, missed, k)

    def _housekeeping(self, k: int) -> None:
        self.tlm(self.ticks, k)
        for keeper in self.housekeepers:
            keeper()
        if self._t0 is not None:
            self.tlm(self.uptime_s, self.clock.monotonic() - self._t0)

    def _drain_handoffs(self) -> None:
        for comp in self.handoffs:
            comp.drain_handoff()

    def finish(self) -> None:
        self.emit(self.stopped, self._k)
        if self.bus._ready:
            self.bus.pump()
