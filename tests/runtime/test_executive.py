import time

import pytest

from flight.runtime.component import Component, Health, Output, ThreadedComponent, input_port
from flight.runtime.errors import ConfigError
from flight.runtime.executive import RateGroup
from flight.runtime.runtime import Runtime
from flight.runtime.topics import EVENTS
from hal.clock import MonotonicClock, SimClock

from .helpers import Counter, Faulty, collect


class Recorder(Component):
    def __init__(self, name, base_id, log):
        super().__init__(name, base_id)
        self.log = log

    def cycle(self):
        self.log.append((self.name, round(self.now(), 6)))


def test_rate_groups_from_divisor_and_offset_fastest_first():
    log = []
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    for name in ("a", "b", "c", "d"):
        rt.add(Recorder(name, 0x1000 + 0x100 * ord(name), log))
    rt.add_group(RateGroup("slow", 0x500, divisor=10, offset=3), ["d"])
    rt.add_group(RateGroup("mid", 0x600, divisor=5), ["c"])
    rt.add_group(RateGroup("fast", 0x700, divisor=1), ["a", "b"])
    rt.run(1.0)
    assert rt.clock.monotonic() == 1.0
    assert [n for n, t in log if t == 0.0] == ["a", "b", "c"]
    assert [t for n, t in log if n == "c"] == [0.0, 0.5]
    assert [t for n, t in log if n == "d"] == [0.3]
    assert [n for n, t in log if t == 0.3] == ["a", "b", "d"]
    assert len([1 for n, _ in log if n == "a"]) == 10
    assert rt.telemetry.get("fast.cycles") == 10 and rt.telemetry.get("slow.cycles") == 1


def test_run_continues_the_same_schedule():
    log = []
    rt = Runtime("t", clock=SimClock(), tick_hz=4)
    rt.add(Recorder("a", 0x1000, log))
    rt.add_group(RateGroup("g", 0x500, divisor=2, offset=1), ["a"])
    rt.run(1.0)
    rt.run(1.0)
    assert [t for _, t in log] == [0.25, 0.75, 1.25, 1.75]


@pytest.mark.parametrize(("kw", "key"), [
    (dict(divisor=0), "divisor"), (dict(divisor=2, offset=2), "offset"),
    (dict(divisor=1.5), "divisor"),
])
def test_bad_rate_groups(kw, key):
    with pytest.raises(ConfigError) as info:
        RateGroup("g", 0x500, **kw)
    assert info.value.key == key


def test_a_member_in_two_groups_or_without_cycle_is_refused():
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    rt.add(Counter("c", 0x1000))
    rt.add_group(RateGroup("g1", 0x500, divisor=1), ["c"])
    with pytest.raises(ConfigError, match="already a member of rate group g1"):
        rt.add_group(RateGroup("g2", 0x600, divisor=2), ["c"])
    with pytest.raises(ConfigError, match="no cycle"):
        rt.add_group(RateGroup("g3", 0x700, divisor=2), ["bus"])
    with pytest.raises(ConfigError):
        Runtime("t", clock=SimClock(), tick_hz=0)


def test_a_raising_member_is_isolated_and_the_group_keeps_running():
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    bad = rt.add(Faulty("bad", 0x1000))
    ctr = rt.add(Counter("ctr", 0x2000))
    rt.add_group(RateGroup("g", 0x500, divisor=1), ["bad", "ctr"])
    events = collect(rt, EVENTS)
    rt.run(1.0)
    assert ctr.n == 10
    assert bad.health is Health.WARNING and "sensor on fire" in bad.health_reason
    assert bad.faults == 10
    assert rt.telemetry.get("g.member_faults") == 10
    faults = [e for e in events if e.event_id == 0x500 + RateGroup.member_fault.id]
    assert faults[0].args == ("bad", "RuntimeError: sensor on fire")
    assert len(faults) == 10  # within the throttle of 10 per minute


class Slow(Component):
    """Takes `cost` seconds of (simulated) time on the cycles listed."""

    def __init__(self, name, base_id, clock, cost, on):
        super().__init__(name, base_id)
        self.sim, self.cost, self.on, self.k = clock, cost, on, 0

    def cycle(self):
        if self.k in self.on:
            self.sim.advance(self.cost)
        self.k += 1


def test_cycle_slips_are_counted_with_max_time_and_event():
    clock = SimClock()
    rt = Runtime("t", clock=clock, tick_hz=10)
    rt.add(Slow("slow", 0x1000, clock, 0.15, {2}))
    rt.add_group(RateGroup("g", 0x500, divisor=2), ["slow"])  # 5 Hz: 0.2 s period
    events = collect(rt, EVENTS)
    rt.run(2.0)
    assert rt.telemetry.get("g.cycle_slips") == 0
    assert rt.telemetry.get("g.max_time_us") == 150000
    clock2 = SimClock()
    rt2 = Runtime("t", clock=clock2, tick_hz=10)
    rt2.add(Slow("slow", 0x1000, clock2, 0.25, {2}))
    rt2.add_group(RateGroup("g", 0x500, divisor=2), ["slow"])
    events = collect(rt2, EVENTS)
    rt2.run(2.0)
    assert rt2.telemetry.get("g.cycle_slips") == 1
    slip = [e for e in events if e.event_id == 0x500 + RateGroup.cycle_slip.id]
    assert len(slip) == 1 and slip[0].args[1] == 50000


def test_executive_skips_whole_ticks_it_fell_behind():
    clock = SimClock()
    log = []
    rt = Runtime("t", clock=clock, tick_hz=10)
    rt.add(Recorder("rec", 0x2000, log))
    rt.add(Slow("slow", 0x1000, clock, 0.35, {3}))
    rt.add_group(RateGroup("g", 0x500, divisor=1), ["rec", "slow"])
    events = collect(rt, EVENTS)
    rt.run(1.0)
    times = [t for _, t in log]
    # the cycle of 0.3 s ends at 0.65 s: ticks 0.4 and 0.5 are skipped, 0.6 runs late
    assert times == [0.0, 0.1, 0.2, 0.3, 0.65, 0.7, 0.8, 0.9]
    assert rt.executive.stats.skipped == 2
    assert rt.telemetry.get("executive.ticks_skipped") == 2
    assert rt.telemetry.get("g.cycle_slips") == 3  # the overrunning cycle and two skipped
    assert any(e.event_id == 0x100 + 1 and e.args == (2, 4) for e in events)


def _trace(seed_shift):
    rt = Runtime("t", clock=SimClock(100.0 + seed_shift * 0), tick_hz=20)
    rt.add(Counter("ctr", 0x1000))
    rt.add_group(RateGroup("g", 0x500, divisor=3, offset=1), ["ctr"])
    events = collect(rt, EVENTS)
    rt.run(10.0)
    return [(e.event_id, e.time, e.args) for e in events], dict(rt.telemetry.values_ref())


def test_simulated_runs_are_reproducible():
    assert _trace(0) == _trace(1)


def test_real_time_ticks_follow_absolute_deadlines():
    starts = []
    rt = Runtime("t", clock=MonotonicClock(), tick_hz=100)
    rt.add(Recorder("rec", 0x1000, starts))
    rt.add_group(RateGroup("g", 0x500, divisor=1), ["rec"])
    rt.run(0.3)
    t0 = rt.executive.time_origin
    lateness = [t - (t0 + k / 100) for k, (_, t) in enumerate(starts)]
    assert len(starts) == 30
    assert min(lateness) >= 0
    assert lateness[-1] < 0.005  # no drift accumulates


def test_speed_paces_a_simulated_run():
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    start = time.monotonic()
    rt.run(1.0, speed=10.0)
    elapsed = time.monotonic() - start
    assert 0.08 <= elapsed < 0.5


def test_stop_from_another_place_ends_the_run():
    rt = Runtime("t", clock=SimClock(), tick_hz=10)

    class Stopper(Component):
        def cycle(self):
            if self.now() >= 0.5:
                rt.stop()

    rt.add(Stopper("s", 0x1000))
    rt.add_group(RateGroup("g", 0x500, divisor=1), ["s"])
    rt.run()
    assert rt.executive.stats.ticks == 6


class Beacon(ThreadedComponent):
    """A worker that wakes at its own simulated instants and reports them."""

    out = Output()

    def __init__(self, name, base_id, period):
        super().__init__(name, base_id)
        self.period = period

    def worker(self):
        t = self.clock.monotonic()
        while not self.stopping:
            t += self.period
            self.sleep_until(t)
            if self.stopping:
                return
            self.out.send(("beacon", self.name, round(self.clock.monotonic(), 6)))


class Echo(ThreadedComponent):
    """A worker that blocks until the executive gives it work, then answers."""

    out = Output()

    def init(self):
        self.pending = []

    @input_port(depth=8)
    def requests(self, msg):
        self.pending.append(msg)
        self.clock.notify()

    def worker(self):
        while True:
            self.wait_for(lambda: bool(self.pending) or self.stopping, None)
            if self.stopping:
                return
            msg = self.pending.pop(0)
            self.out.send(("echo", msg, round(self.clock.monotonic(), 6)))


class Pinger(Component):
    out = Output()

    def init(self):
        self.k = 0
        self.heard = []

    def cycle(self):
        self.k += 1
        if self.k % 3 == 0:
            self.out.send(self.k)

    @input_port(depth=64)
    def heard_port(self, msg):
        self.heard.append((round(self.now(), 6), msg))


def _threaded_run():
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    rt.add(Beacon("b1", 0x1000, 0.37))
    rt.add(Beacon("b2", 0x1100, 0.5))
    rt.add(Echo("echo", 0x1200))
    p = rt.add(Pinger("ping", 0x1300))
    rt.add_group(RateGroup("g", 0x500, divisor=1), ["ping"])
    for src in ("b1.out", "b2.out", "echo.out"):
        rt.connect(src, "ping.heard_port", depth=64)
    rt.connect("ping.out", "echo.requests")
    rt.run(3.0)
    rt.shutdown()
    assert all(not c.thread.is_alive() for c in (rt.components["b1"], rt.components["echo"]))
    return p.heard


def test_worker_threads_hand_over_deterministically_on_the_sim_clock():
    heard = _threaded_run()
    beacons = [(t, m) for t, m in heard if m[0] == "beacon" and m[1] == "b1"]
    # a beacon made at 0.37 s is on the bus at the next tick, 0.4 s
    assert beacons[0] == (0.4, ("beacon", "b1", 0.37))
    echoes = [(t, m) for t, m in heard if m[0] == "echo"]
    assert echoes[0] == (0.3, ("echo", 3, 0.2))  # ping sent at 0.2, echoed at once, heard at 0.3
    for _ in range(3):
        assert _threaded_run() == heard


class RealIo(ThreadedComponent):
    """A worker blocked in real I/O (here a queue with a real timeout), outside the barrier."""

    SIM_BARRIER = False
    out = Output()

    def init(self):
        import queue

        self.port = queue.Queue()

    def worker(self):
        import queue

        while not self.stopping:
            try:
                item = self.port.get(timeout=0.01)
            except queue.Empty:
                continue
            self.out.send(item)


def test_a_worker_outside_the_barrier_runs_on_the_sim_clock():
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    io = rt.add(RealIo("io", 0x1000))
    got = collect(rt, "io.out")
    rt.boot()
    assert rt.clock.workers == 0
    io.port.put(b"frame")
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        rt.run(0.1)
    rt.shutdown()
    assert got == [b"frame"] and not io.thread.is_alive()


def test_a_long_stall_counts_the_skipped_cycles_of_each_group():
    clock = SimClock()
    rt = Runtime("t", clock=clock, tick_hz=10)
    rt.add(Slow("slow", 0x1000, clock, 100.0, {0}))
    rt.add(Recorder("rec", 0x2000, []))
    rt.add_group(RateGroup("fast", 0x500, divisor=1), ["slow"])
    rt.add_group(RateGroup("slow5", 0x600, divisor=5, offset=2), ["rec"])
    rt.run(200.0)
    # tick 0 ran until t = 100 s: ticks 1..999 were skipped, tick 1000 ran late
    assert rt.executive.stats.skipped == 999
    assert rt.groups["fast"].slips == 1000  # the stalled cycle and 999 skipped ones
    assert rt.groups["slow5"].slips == len([j for j in range(1, 1000) if j % 5 == 2])
    assert rt.telemetry.get("fast.cycles") == 2000 - 999
