"""A small satellite (dispatcher, uplink, downlink, housekeeping, a test component) and a ground
station attached to its bus, on the simulated clock."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from enum import IntEnum
from typing import Any

import pytest

from flight.ground.archive import Archive
from flight.ground.dictionary import GroundDictionary
from flight.ground.link import GroundLink
from flight.ground.station import GroundStation
from flight.ground.transport import BusTransport
from flight.link.devkeys import GroundKeys
from flight.link.downlink_component import Downlink
from flight.link.uplink_component import Uplink
from flight.runtime import dictionary
from flight.runtime.component import Channel, Component, Event, Update, command
from flight.runtime.errors import CommandError, ReasonCode
from flight.runtime.executive import RateGroup
from flight.runtime.records import Severity
from flight.runtime.runtime import Runtime
from flight.runtime.types import F32, U32, Enum, String
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.packetizer import TlmPacketizer
from hal.clock import SimClock
from hal.storage import open_storage

_disk = itertools.count()


class ProbeMode(IntEnum):
    IDLE = 0
    SCIENCE = 1


class Probe(Component):
    """A test component: a mode, a counter channel, and commands that succeed or fail."""

    mode = Channel(1, Enum(ProbeMode), update=Update.ON_CHANGE)
    count = Channel(2, U32, update=Update.ON_CHANGE)
    level = Channel(3, F32)
    mode_set = Event(1, Severity.ACTIVITY_HI, "mode {mode} for {reason}", throttle=None,
                     mode=Enum(ProbeMode), reason=String(20))

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.current = ProbeMode.IDLE
        self.calls: list[int] = []

    def cycle(self) -> None:
        self.tlm(self.mode, self.current)
        self.tlm(self.count, len(self.calls))
        self.tlm(self.level, 0.5 + len(self.calls))

    @command(1, mode=Enum(ProbeMode), reason=String(20))
    def set_mode(self, mode: ProbeMode, reason: str) -> None:
        self.current = mode
        self.emit(self.mode_set, mode, reason)

    @command(2, n=U32(max=1000))
    def record(self, n: int) -> None:
        self.calls.append(n)

    @command(3)
    def refuse(self) -> None:
        raise CommandError(ReasonCode.BUSY, "not now")


class Satellite:
    def __init__(self, disk: str | None = None, *, extra: bool = False) -> None:
        self.disk = disk or f"mem://ground-tests-{next(_disk)}"
        self.clock = SimClock()
        rt = self.rt = Runtime("groundsat", clock=self.clock, tick_hz=10)
        self.cmd = rt.add(CommandDispatcher("cmd", 0x0400))
        self.probe = rt.add(Probe("probe", 0x2000))
        if extra:  # a different dictionary
            rt.add(Probe("probe2", 0x2100))
        self.uplink = rt.add(Uplink("uplink", 0x0900), hardware={"storage": self.disk},
                             config={"provision_dev_keys": True})
        self.downlink = rt.add(Downlink("downlink", 0x0A00), config={"air_rate_bps": 500_000})
        rt.add(TlmPacketizer("hk", 0x0700), config={"packets": [
            {"name": "system", "id": 1, "period_s": 1.0,
             "channels": ["executive.dictionary_id", "uplink.arsn", "cmd.accepted"]},
            {"name": "probe", "id": 2, "period_s": 0.5,
             "channels": ["probe.mode", "probe.count", "probe.level"]},
        ]})
        rt.add_group(RateGroup("rg10hz", 0x0300, divisor=1), ["downlink", "hk", "probe"])
        rt.add_group(RateGroup("rg1hz", 0x0310, divisor=10), ["uplink"])
        rt.connect("radio.rx_frame", "uplink.rx_frame")
        rt.connect("uplink.commands", "cmd.commands")
        rt.connect("uplink.clcw", "downlink.ocf")
        rt.connect("hk.packets", "downlink.housekeeping")
        rt.connect("cmd.verification", "downlink.verification")
        self.transport = BusTransport(rt)
        rt.boot()
        self.keys = GroundKeys.decode(open_storage(self.disk).load("sdls-ground.key"))
        self.dictionary = GroundDictionary(dictionary.build(rt))

    def run(self, seconds: float) -> None:
        self.rt.run(seconds)

    def wait(self, deadline: float) -> None:
        self.run(max(deadline - self.clock.monotonic(), 0.1))

    def station(self, *, keys: GroundKeys | None | bool = True, archive: Archive | None = None,
                dictionary: GroundDictionary | None = None,
                transport: Any = None) -> GroundStation:
        link = GroundLink(self.uplink.profile, self.keys if keys is True else keys or None,
                          self.clock, transport or self.transport)
        return GroundStation(dictionary or self.dictionary, link, archive=archive,
                             wait=self.wait, poll_interval_s=0.1,
                             wall_time=lambda: 1.7e9 + self.clock.monotonic(),
                             identify_timeout_s=5.0)


@pytest.fixture
def satellite() -> Callable[..., Satellite]:
    return Satellite
