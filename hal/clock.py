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
    __slots__ = ("predicate", "deadline", "gate")

    def __init__(
        self, predicate: Callable[[], bool], deadline: float | None, gate: threading.Lock
    ) -> None:
        self.predicate = predicate
        self.deadline = deadline
        self.gate = gate


def _never() -> bool:
    return False


SETTLE_TIMEOUT_S: Final = 10.0


class SimClock:
    """Simulated time: starts at `start` and moves only when advanced or slept on.

    The barrier passes a baton rather than broadcasting: a waiting worker blocks on its own gate
    (a lock), the thread that moves time or notifies opens the gates of the workers it wakes and
    then blocks on one lock of its own (`_all_waiting`) until the last of them waits again. A wake
    therefore costs one hand-over each way and no thread runs only to find it has nothing to do,
    which matters on a loaded machine where every needless wake-up waits for a CPU. An idle step
    (no deadline reached, no predicate true) takes no thread switch at all.
    """

    def __init__(self, start: float = 0.0, *, settle_timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        self._now = float(start)
        self._lock = threading.Lock()  # guards the fields below
        self._workers = 0  # threads from start_worker still alive
        self._running = 0  # of those, the ones not waiting on the clock
        self._waiters: list[_Waiter] = []
        self._scheduler_waits = False  # a scheduler blocks on _all_waiting for _running == 0
        self._all_waiting = threading.Lock()
        self._all_waiting.acquire()
        self._schedule = threading.RLock()  # one thread at a time moves time or runs wakes
        self._gates: dict[int, threading.Lock] = {}  # the gate of each worker, by thread ident
        self._settle_timeout_s = settle_timeout_s

    def monotonic(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (advance by {seconds} s)")
        self._move(self._now + seconds)

    def sleep_until(self, deadline: float) -> None:
        if self._workers:
            if self._in_worker():
                self.wait_for(_never, deadline)
            else:
                self._move(max(deadline, self._now))
        elif deadline > self._now:
            self._now = deadline

    # --- worker threads --------------------------------------------------------------------------

    def start_worker(self, target: Callable[[], None], name: str) -> threading.Thread:
        """Start `target` in a thread that takes part in the barrier until it returns."""

        def run() -> None:
            gate = threading.Lock()
            gate.acquire()
            ident = threading.get_ident()
            self._gates[ident] = gate
            try:
                target()
            finally:
                with self._lock:
                    del self._gates[ident]
                    self._workers -= 1
                    last = self._ran_locked()
                if last:
                    self._all_waiting.release()

        with self._lock:  # counted before it runs: time cannot move until it first waits
            self._workers += 1
            self._running += 1
        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    def wait_for(self, predicate: Callable[[], bool], deadline: float | None = None) -> bool:
        """Worker side: block until `predicate()` holds (True) or time reaches `deadline` (False).

        The predicate is also evaluated by the thread that moves time or notifies, under the
        clock's lock, at every step of time: keep it a cheap look at shared state.
        """
        with self._lock:
            if predicate():
                return True
            if deadline is not None and self._now >= deadline:
                return False
            gate = self._gates.get(threading.get_ident())
            if gate is None:
                raise RuntimeError("SimClock.wait_for blocks only in a thread from start_worker")
            self._waiters.append(_Waiter(predicate, deadline, gate))
            last = self._ran_locked()
        if last:  # the baton goes back as this thread blocks, not while it holds the clock's lock
            self._all_waiting.release()
        gate.acquire()
        return predicate()

    def notify(self) -> None:
        """State that waiting workers look at has changed: wake those whose predicate holds.

        From a worker, the woken workers run alongside it; from any other thread, this returns
        once they all wait again."""
        if not self._workers:
            return
        if self._in_worker():
            with self._lock:
                woken = self._due_locked()
            for w in woken:  # they run alongside this worker
                w.gate.release()
            return
        with self._schedule:
            self._settle()
            with self._lock:
                woken = self._due_locked()
            if woken:
                self._run(woken)

    @property
    def workers(self) -> int:
        return self._workers

    def _in_worker(self) -> bool:
        return threading.get_ident() in self._gates

    def _ran_locked(self) -> bool:
        """A worker stopped running (it waits, or it returned); True when it was the last one and
        must hand the baton back (release `_all_waiting`) to the waiting scheduler."""
        self._running -= 1
        if not self._running and self._scheduler_waits:
            self._scheduler_waits = False
            return True
        return False

    def _move(self, to: float) -> None:
        """Move time to `to`, stopping at every worker deadline on the way so that each worker
        runs at exactly the instant it asked for."""
        with self._schedule:
            self._settle()
            while True:  # ends at `to`, which is at least now
                with self._lock:
                    step = to
                    for w in self._waiters:
                        d = w.deadline
                        if d is not None and d < step:
                            step = d
                    if step > self._now:
                        self._now = step
                    woken = self._due_locked()
                if woken:
                    self._run(woken)
                if step >= to:
                    return

    def _due_locked(self) -> list[_Waiter]:
        """Take every waiter whose deadline has come or whose predicate holds off the waiting
        list and count it as running; the caller opens their gates."""
        now = self._now
        woken: list[_Waiter] = []
        for w in self._waiters:
            d = w.deadline
            if (d is not None and now >= d) or w.predicate():
                woken.append(w)
        if woken:
            self._waiters = [w for w in self._waiters if w not in woken]
            self._running += len(woken)
        return woken

    def _run(self, woken: list[_Waiter]) -> None:
        """Scheduler side: let the woken workers run and block until all wait again. The gates
        open just before this thread blocks, so a woken worker finds the interpreter free at
        once instead of waking only to wait for it (which costs a CPU round trip on a loaded
        machine)."""
        with self._lock:
            self._scheduler_waits = True
        for w in woken:
            w.gate.release()
        self._await_all()

    def _settle(self) -> None:
        """Block until every worker waits on the clock (the scheduling side of the barrier)."""
        with self._lock:
            if not self._running:
                return
            self._scheduler_waits = True
        self._await_all()

    def _await_all(self) -> None:
        if self._all_waiting.acquire(timeout=self._settle_timeout_s):
            return
        with self._lock:
            if not self._scheduler_waits:  # the last worker waited just as the timeout expired
                self._all_waiting.acquire()
                return
            self._scheduler_waits = False
            running, workers = self._running, self._workers
        raise SimClockStall(
            f"{running} of {workers} worker threads did not wait on the clock within "
            f"{self._settle_timeout_s} s"
        )
