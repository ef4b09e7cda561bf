"""Clocks for scheduling: injected everywhere so tests and the emulator run faster than real time.

`MonotonicClock` follows the machine's monotonic time; `SimClock` is advanced explicitly (or jumps
to a deadline when something sleeps), so a whole deployment runs as fast as the CPU allows and the
same inputs give the same run, bit for bit.

Threads. A blocking part of a component (a driver's reader) runs in a worker thread started with
`clock.start_worker(...)`. Inside it, waits go through the clock: `sleep_until(deadline)` and
`wait_for(predicate, deadline)`; whoever changes the state a predicate looks at calls `notify()`.
On the real clock these are ordinary condition-variable waits. On `SimClock` they form a barrier:
when the scheduling thread moves time (or notifies), every worker whose deadline has come or whose
predicate is now true runs, and the call returns only once all workers are waiting again; time
moving past several worker deadlines stops at each of them in turn. Time
therefore never moves while a worker is busy, and a worker sees exactly the simulated instants it
asked for, which keeps threaded deployments reproducible on the simulated clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds since an arbitrary epoch; never goes backwards."""
        ...

    def sleep_until(self, deadline: float) -> None:
        """Return once `monotonic()` has reached `deadline` (at once if it already has)."""
        ...


@runtime_checkable
class ThreadClock(Clock, Protocol):
    """A clock that worker threads can block on (both clocks here implement it)."""

    def start_worker(self, target: Callable[[], None], name: str) -> threading.Thread: ...

    def wait_for(self, predicate: Callable[[], bool], deadline: float | None = None) -> bool: ...

    def notify(self) -> None: ...


class MonotonicClock:
    """The machine's monotonic clock; sleeps against absolute deadlines so schedules don't drift."""

    def __init__(self) -> None:
        self._cond = threading.Condition()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep_until(self, deadline: float) -> None:
        while (remaining := deadline - time.monotonic()) > 0:
            time.sleep(remaining)

    def start_worker(self, target: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread

    def wait_for(self, predicate: Callable[[], bool], deadline: float | None = None) -> bool:
        """Block until `predicate()` holds (True) or `deadline` passes (False)."""
        with self._cond:
            while not predicate():
                if deadline is None:
                    self._cond.wait()
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def notify(self) -> None:
        with self._cond:
            self._cond.notify_all()


class SimClockStall(RuntimeError):
    """A worker thread did not return to a clock wait within the settle timeout (real seconds)."""


class _Waiter:
    __slots__ = ("predicate", "deadline", "woken")

    def __init__(self, predicate: Callable[[], bool], deadline: float | None) -> None:
        self.predicate = predicate
        self.deadline = deadline
        self.woken = False


def _never() -> bool:
    return False


SETTLE_TIMEOUT_S: Final = 10.0


class SimClock:
    """Simulated time: starts at `start` and moves only when advanced or slept on."""

    def __init__(self, start: float = 0.0, *, settle_timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        self._now = float(start)
        self._cond = threading.Condition()
        self._workers = 0
        self._waiters: list[_Waiter] = []
        self._local = threading.local()
        self._settle_timeout_s = settle_timeout_s

    def monotonic(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (advance by {seconds} s)")
        self._move(self._now + seconds)

    def sleep_until(self, deadline: float) -> None:
        if self._in_worker():
            self.wait_for(_never, deadline)
        elif self._workers:
            self._move(max(deadline, self._now))
        elif deadline > self._now:
            self._now = deadline

    # --- worker threads --------------------------------------------------------------------------

    def start_worker(self, target: Callable[[], None], name: str) -> threading.Thread:
        """Start `target` in a thread that takes part in the barrier until it returns."""

        def run() -> None:
            self._local.worker = True
            try:
                target()
            finally:
                with self._cond:
                    self._workers -= 1
                    self._cond.notify_all()

        with self._cond:
            self._workers += 1  # counted before it runs: time cannot move until it first waits
        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    def wait_for(self, predicate: Callable[[], bool], deadline: float | None = None) -> bool:
        """Worker side: block until `predicate()` holds (True) or time reaches `deadline` (False).

        The predicate is also evaluated by the thread that moves time or notifies, under the
        clock's lock: keep it a cheap look at shared state.
        """
        with self._cond:
            if predicate():
                return True
            if deadline is not None and self._now >= deadline:
                return False
            if not self._in_worker():
                raise RuntimeError("SimClock.wait_for blocks only in a thread from start_worker")
            waiter = _Waiter(predicate, deadline)
            self._waiters.append(waiter)
            self._cond.notify_all()
            while not waiter.woken:
                self._cond.wait()
            return predicate()

    def notify(self) -> None:
        """State that waiting workers look at has changed: wake those whose predicate holds."""
        if not self._workers:
            return
        with self._cond:
            self._wake()
            if not self._in_worker():
                self._settle()

    @property
    def workers(self) -> int:
        return self._workers

    def _in_worker(self) -> bool:
        return getattr(self._local, "worker", False)

    def _move(self, to: float) -> None:
        """Move time to `to`, stopping at every worker deadline on the way so that each worker
        runs at exactly the instant it asked for."""
        with self._cond:
            self._settle()
            while True:
                due = [w.deadline for w in self._waiters if w.deadline is not None]
                step = min(due) if due else to
                if step >= to:
                    break
                self._now = max(self._now, step)
                self._wake()
                self._settle()
            self._now = to
            self._wake()
            self._settle()

    def _wake(self) -> None:
        now = self._now
        still = []
        for w in self._waiters:
            if (w.deadline is not None and now >= w.deadline) or w.predicate():
                w.woken = True
            else:
                still.append(w)
        if len(still) != len(self._waiters):
            self._waiters = still
            self._cond.notify_all()

    def _settle(self) -> None:
        limit = time.monotonic() + self._settle_timeout_s
        while len(self._waiters) < self._workers:
            remaining = limit - time.monotonic()
            if remaining <= 0:
                raise SimClockStall(
                    f"{self._workers - len(self._waiters)} of {self._workers} worker threads did "
                    f"not wait on the clock within {self._settle_timeout_s} s"
                )
            self._cond.wait(remaining)
