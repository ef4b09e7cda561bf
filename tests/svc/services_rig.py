"""A small deployment of the scheduler, sequencer, product store and imager for the service
tests, on the simulated clock and a simulated disk that a test can power-cycle."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flight.payload.imager import Imager
from flight.runtime.component import Component, command
from flight.runtime.errors import CommandError, ReasonCode
from flight.runtime.executive import RateGroup
from flight.runtime.records import Command, EventRecord
from flight.runtime.runtime import Runtime
from flight.runtime.topics import EVENTS
from flight.runtime.types import U32
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.params import ParameterDatabase
from flight.svc.products import ProductStore
from flight.svc.scheduler import Scheduler
from flight.svc.sequencer import Sequencer
from hal.clock import SimClock
from hal.storage import SimBackend, Storage, open_storage, sim_disk
from hal.time import utc_to_tai

EPOCH = datetime(2025, 3, 20)
T0 = utc_to_tai(EPOCH)  # TAI at the simulated clock's zero when booted at `EPOCH`
_disks = itertools.count()


def new_disk() -> str:
    return f"mem://svc-test-{next(_disks)}"


def epoch_url(offset_s: float = 0.0) -> str:
    """A spacecraft-time binding starting `offset_s` after `EPOCH`."""
    from datetime import timedelta

    return "epoch:" + (EPOCH + timedelta(seconds=offset_s)).isoformat() + "Z"


class Probe(Component):
    """Records every `hit` with the simulated time it ran at; `fail` always fails."""

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.hits: list[tuple[int, float]] = []

    @command(1, tag=U32)
    def hit(self, tag: int) -> None:
        self.hits.append((tag, self.now()))

    @command(2)
    def fail(self) -> None:
        raise CommandError(ReasonCode.EXECUTION_FAILED, "told to fail")


def build(disk: str, *, offset_s: float = 0.0, sched: Mapping[str, Any] | None = None,
          seq: Mapping[str, Any] | None = None, store: Mapping[str, Any] | None = None,
          imager: Mapping[str, Any] | None = None, boot: bool = True,
          time_url: str | None = None, resources: Mapping[str, Any] | None = None) -> Runtime:
    """cmd, prmdb, probe, store, sched, seq, imager on `disk`; spacecraft time starts
    `offset_s` after EPOCH (a restart after a reset of that long, if the disk was used before)."""
    rt = Runtime("svc", clock=SimClock(), tick_hz=10, seed=5, resources=resources)
    time = time_url or epoch_url(offset_s)
    hw = {"storage": disk, "time": time}
    rt.add(CommandDispatcher("cmd", 0x0400))
    rt.add(ParameterDatabase("prmdb", 0x0500), hardware={"storage": disk})
    rt.add(Probe("probe", 0x2000))
    rt.add(ProductStore("store", 0x0C00), hardware=hw,
           config={"quota_bytes": 4 * 1024 * 1024, **(store or {})})
    rt.add(Scheduler("sched", 0x0A00), hardware=hw, config={"store": "store", **(sched or {})})
    rt.add(Sequencer("seq", 0x0B00), config={"store": "store", **(seq or {})})
    rt.add(Imager("imager", 0x1200), hardware={"time": time},
           config={"width": 64, "height": 48, **(imager or {})})
    rt.add_group(RateGroup("rg10hz", 0x0300, divisor=1), ["sched", "seq"])
    rt.add_group(RateGroup("rg1hz", 0x0310, divisor=10), ["store"])
    rt.events = []
    rt.bus.subscribe(EVENTS, rt.events.append, depth=100_000)
    if boot:
        rt.boot()
    return rt


def event_names(rt: Runtime) -> list[str]:
    rt.bus.pump()
    return [rt.registry.events[e.event_id].name for e in rt.events]


def events_named(rt: Runtime, name: str) -> list[EventRecord]:
    rt.bus.pump()
    return [e for e in rt.events if rt.registry.events[e.event_id].name == name]


def send(rt: Runtime, name: str, *args: Any):
    """Dispatch command `name` now; returns the final verification report."""
    return rt.components["cmd"].dispatch(rt.command(name, *args))


def hit(rt: Runtime, tag: int) -> Command:
    return rt.command("probe.hit", tag)


def power_cycle(disk: str) -> None:
    """Lose everything on the simulated disk that was not synced."""
    sim_disk(disk[len("mem://"):]).power_loss()


class PowerCut(BaseException):
    """Raised where the power was cut (a BaseException: no handler in the software catches it,
    as none could catch a real power cut)."""


class CuttingDisk(SimBackend):
    """A simulated disk whose power is cut at its `budget`-th write, append, sync, rename or
    delete: unsynced data is lost (appends torn at random) and `PowerCut` is raised."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng
        self.budget: int | None = None
        self.operations = 0

    def _tick(self) -> None:
        self.operations += 1
        if self.budget is not None and self.operations >= self.budget:
            self.budget = None
            self.power_loss(self.rng)
            raise PowerCut

    def write(self, name: str, data: bytes) -> None:
        self._tick()
        super().write(name, data)

    def append(self, name: str, data: bytes) -> None:
        self._tick()
        super().append(name, data)

    def sync(self, name: str) -> None:
        self._tick()
        super().sync(name)

    def rename(self, src: str, dst: str) -> None:
        self._tick()
        super().rename(src, dst)

    def sync_dir(self) -> None:
        self._tick()
        super().sync_dir()

    def delete(self, name: str) -> None:
        self._tick()
        super().delete(name)


def on_disk(monkeypatch: Any, disk: SimBackend, *modules: Any) -> str:
    """Make `modules` open `disk` for the storage URL returned."""
    url = f"mem://cutting-{id(disk)}"
    real = open_storage

    def opener(u: str) -> Storage:
        return Storage(disk) if u == url else real(u)

    for module in modules:
        monkeypatch.setattr(module, "open_storage", opener)
    return url


class DeadDisk(SimBackend):
    """A medium that fails every operation (a dead flash chip)."""

    def _fail(self, *args: Any) -> Any:
        raise OSError(5, "Input/output error")

    write = append = sync = rename = sync_dir = read = delete = names = _fail
