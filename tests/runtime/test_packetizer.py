import struct

import pytest

from flight.runtime.component import Channel, Component
from flight.runtime.errors import ConfigError
from flight.runtime.executive import RateGroup
from flight.runtime.runtime import Runtime
from flight.runtime.types import BOOL, F32, I16, U8, String
from flight.svc.health import HealthMonitor
from flight.svc.packetizer import TlmPacketizer
from hal.clock import SimClock

from .helpers import Faulty, collect


class Source(Component):
    a = Channel(1, U8)
    b = Channel(2, F32)
    c = Channel(3, I16)
    d = Channel(4, BOOL)
    e = Channel(5, String(6))

    def init(self):
        self.k = 0

    def cycle(self):
        self.k += 1
        self.tlm(self.a, self.k % 256)
        self.tlm(self.b, self.k / 4)
        self.tlm(self.c, -self.k)
        self.tlm(self.d, self.k % 2 == 0)
        self.tlm(self.e, f"k{self.k}")


def packets(*defs, max_per_cycle=0):
    return {"packets": list(defs), "max_per_cycle": max_per_cycle}


def pkt(name, sid, period, channels, priority=10):
    return {"name": name, "id": sid, "period_s": period, "channels": channels,
            "priority": priority}


def build(config, run_s=1.0):
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    rt.add(Source("src", 0x1000))
    rt.add(TlmPacketizer("hk", 0x0700), config=config)
    rt.add_group(RateGroup("g", 0x0300, divisor=1), ["src", "hk"])
    out = collect(rt, "hk.packets")
    rt.run(run_s)
    return rt, out


def test_layout_values_and_rates():
    all_channels = ["src.a", "src.b", "src.c", "src.d", "src.e"]
    rt, out = build(packets(pkt("all", 7, 0.5, all_channels), pkt("one", 8, 0.1, ["src.a"])))
    assert [p.sid for p in out].count(7) == 2 and [p.sid for p in out].count(8) == 10
    first = next(p for p in out if p.sid == 7)
    assert first.pack()[:2] == b"\x00\x07"
    assert struct.unpack(">Bfh?6s", first.payload) == (1, 0.25, -1, False, b"k1\0\0\0\0")
    defs = rt.components["hk"].packet_definitions()
    assert defs[0]["layout"] == ">Bfh?6s" and defs[0]["length"] == 2 + 1 + 4 + 2 + 1 + 6
    assert defs[0]["channel_ids"] == [0x1001, 0x1002, 0x1003, 0x1004, 0x1005]
    assert rt.telemetry.get("hk.sent") == 12


def test_priorities_order_and_the_per_cycle_budget():
    defs = [pkt(f"p{i}", i, 0.1, ["src.a"], priority=p) for i, p in ((1, 5), (2, 1), (3, 3))]
    rt, out = build(packets(*defs), run_s=0.1)
    assert [p.sid for p in out] == [2, 3, 1]
    rt, out = build(packets(pkt("p1", 1, 0.2, ["src.a"], priority=1),
                            pkt("p2", 2, 0.4, ["src.a"], priority=2),
                            pkt("p3", 3, 0.4, ["src.a"], priority=3), max_per_cycle=1), run_s=1.0)
    # p1 and p3 fall on the same cycle (0.2 s, 0.6 s); one fits: p3 waits one cycle
    assert [p.sid for p in out] == [1, 2, 1, 3, 1, 2, 1, 3, 1, 2]
    assert [round(p.time, 1) for p in out if p.sid == 3] == [0.3, 0.7]
    assert rt.telemetry.get("hk.deferred") == 2 and rt.telemetry.get("hk.skipped") == 0
    rt, out = build(packets(*[pkt(f"p{i}", i, 0.1, ["src.a"], priority=i) for i in (1, 2, 3)],
                            max_per_cycle=1), run_s=1.0)
    assert [p.sid for p in out] == [1] * 10  # overload: the least important starve, counted
    assert rt.telemetry.get("hk.skipped") == 18


def test_a_value_that_does_not_fit_is_zeroed_and_reported():
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    src = rt.add(Source("src", 0x1000))
    rt.add(TlmPacketizer("hk", 0x0700), config=packets(pkt("p", 1, 0.1, ["src.a", "src.c"])))
    rt.add_group(RateGroup("g", 0x0300, divisor=1), ["hk"])
    out = collect(rt, "hk.packets")
    rt.boot()
    src.tlm(src.a, 300)
    src.tlm(src.c, -5)
    rt.run(0.1)
    assert struct.unpack(">Bh", out[0].payload) == (0, -5)
    assert rt.telemetry.get("hk.pack_errors") == 1


@pytest.mark.parametrize(("config", "key"), [
    (packets(pkt("p", 0, 1.0, ["src.a"])), "packets[0].id"),
    (packets(pkt("p", 1, 0.0, ["src.a"])), "packets[0].period_s"),
    (packets(pkt("p", 1, 1.0, [])), "packets[0].channels"),
    (packets(pkt("p", 1, 1.0, ["src.a", "src.a"])), "packets[0].channels"),
    (packets(pkt("p", 1, 1.0, ["src.a"]), pkt("q", 1, 1.0, ["src.b"])), "packets[1].id"),
    (packets(pkt("p", 1, 1.0, ["src.a"], priority=0)), "packets[0].priority"),
    ({"packets": [{"name": "p", "id": 1, "period_s": 1, "channels": ["src.a"], "x": 1}]},
     "packets[0].x"),
    ({"colour": 1}, "colour"),
    (packets(pkt("p", 1, 0.25, ["src.a"])), "packets[0].period_s"),
])
def test_bad_packet_definitions(config, key):
    with pytest.raises(ConfigError) as info:
        build(config)
    assert info.value.key == key and info.value.component == "hk"


def test_health_monitor_reports_changes():
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    rt.add(Faulty("bad", 0x1000))
    rt.add(HealthMonitor("health", 0x0800))
    rt.add_group(RateGroup("g", 0x0300, divisor=1), ["bad", "health"])
    events = collect(rt, "sys.events")
    rt.run(1.0)
    assert rt.telemetry.get("health.worst") == 1 and rt.telemetry.get("health.warning") == 1
    assert rt.telemetry.get("health.isolated") == 10
    changed = [e for e in events if e.event_id == 0x0801]
    assert len(changed) == 1 and changed[0].args[0] == "bad"
