import random

from flight.runtime.component import Component, Event, Throttle
from flight.runtime.executive import RateGroup
from flight.runtime.records import EventRecord, Severity, Stage
from flight.runtime.runtime import Runtime
from flight.runtime.types import U32
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.event_log import EventLog
from hal.clock import SimClock
from hal.storage import sim_disk

_n = iter(range(1_000_000))


class Source(Component):
    tick = Event(1, Severity.ACTIVITY_LO, "tick {n}", throttle=None, n=U32)
    alarm = Event(2, Severity.WARNING_HI, "alarm {n}", throttle=Throttle(2, 100.0), n=U32)

    def init(self):
        self.n = 0

    def cycle(self):
        self.n += 1
        self.emit(self.tick, self.n)
        self.emit(self.alarm, self.n)


def build(url, max_bytes=4096):
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    rt.add(Source("src", 0x1000))
    rt.add(CommandDispatcher("cmd", 0x0400, ))
    rt.add(EventLog("evlog", 0x0600), hardware={"storage": url}, config={"max_bytes": max_bytes})
    rt.add_group(RateGroup("g", 0x0300, divisor=1), ["src", "evlog"])
    rt.boot()
    return rt


def test_events_are_logged_and_survive_a_restart():
    url = f"mem://evlog-{next(_n)}"
    rt = build(url, max_bytes=1 << 20)
    rt.run(1.0)
    rt.shutdown()
    stored = [r for _, r in rt.components["evlog"].stored()]
    ticks = [r.args[0] for r in stored if r.event_id == 0x1001]
    assert ticks == list(range(1, 11))
    assert all(isinstance(r, EventRecord) for r in stored)
    again = build(url, max_bytes=1 << 20)
    assert [r for _, r in again.components["evlog"].stored()][: len(stored)] == stored
    assert again.telemetry.get("evlog.retained") >= len(stored)


def test_the_log_is_bounded_and_counts_drops():
    url = f"mem://evlog-{next(_n)}"
    rt = build(url, max_bytes=4096)
    rt.run(30.0)
    evlog = rt.components["evlog"]
    evlog.cycle()  # telemetry reports the log as of the log's last cycle
    log = evlog.log
    assert log.size <= 4096 and log.dropped > 0
    assert rt.telemetry.get("evlog.dropped") == log.dropped
    seqs = [s for s, _ in rt.components["evlog"].stored()]
    assert seqs == list(range(log.dropped, log.next_seq))


def test_throttled_events_are_counted():
    url = f"mem://evlog-{next(_n)}"
    rt = build(url, max_bytes=1 << 20)
    rt.run(5.0)
    stored = [r for _, r in rt.components["evlog"].stored()]
    assert [r.args for r in stored if r.event_id == 0x1002] == [(1,), (2,)]
    rt.run(95.5)  # the window of 100 s reopens at 100 s: 998 alarms were suppressed
    assert rt.telemetry.get("evlog.suppressed") == 998
    stored = [r for _, r in rt.components["evlog"].stored()]
    assert [r.args[0] for r in stored if r.event_id == 0x1002] == [1, 2, 1001, 1002]
    assert any(r.event_id == 0x0602 and r.args == (0x1002, 998) for r in stored)


def test_power_loss_loses_at_most_the_unflushed_cycle():
    name = f"evlog-{next(_n)}"
    rt = build(f"mem://{name}", max_bytes=1 << 20)
    rt.run(2.0)
    flushed = len(rt.components["evlog"].log)
    rt.components["src"].cycle()  # events appended but not yet flushed
    rt.bus.pump()
    sim_disk(name).power_loss(random.Random(1))
    again = build(f"mem://{name}", max_bytes=1 << 20)
    kept = list(again.components["evlog"].stored())
    assert len(kept) >= flushed


def test_play_back_and_clear_by_command():
    url = f"mem://evlog-{next(_n)}"
    rt = build(url, max_bytes=1 << 20)
    played = []
    rt.bus.subscribe("evlog.playback", played.append, depth=100)
    rt.run(1.0)
    d = rt.components["cmd"]
    assert d.dispatch(rt.command("evlog.play_back", 3, 5)).stage is Stage.COMPLETED
    rt.bus.pump()
    assert len(played) == 5
    assert d.dispatch(rt.command("evlog.clear")).stage is Stage.COMPLETED
    assert rt.telemetry.get("evlog.retained") == 0
