"""A satellite with the product store, the imager, the link components and the file transfer
component, and a ground station with its CFDP entity attached to the satellite's bus through a
link that loses frames; all on one simulated clock."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

from flight.ground.dictionary import GroundDictionary
from flight.ground.files import GroundFiles
from flight.ground.link import GroundLink
from flight.ground.station import GroundStation
from flight.ground.transport import BusTransport
from flight.link.devkeys import GroundKeys
from flight.link.downlink_component import Downlink
from flight.link.uplink_component import Uplink
from flight.payload.imager import Imager
from flight.runtime import dictionary
from flight.runtime.executive import RateGroup
from flight.runtime.records import EventRecord
from flight.runtime.runtime import Runtime
from flight.runtime.topics import EVENTS
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.files import FileTransfer
from flight.svc.packetizer import TlmPacketizer
from flight.svc.params import ParameterDatabase
from flight.svc.products import ProductStore
from hal.clock import SimClock
from hal.storage import open_storage

from .services_rig import epoch_url

_disks = itertools.count()


class LossyTransport:
    """Loses each frame with probability `down` (TM) or `up` (TC); never reorders. Frames can
    also be cut off entirely (`in_contact = False`: outside a pass)."""

    def __init__(self, inner: BusTransport, *, down: float, up: float, seed: int) -> None:
        self.inner = inner
        self.down = down
        self.up = up
        self.rng = random.Random(seed)
        self.lost = [0, 0]  # TC, TM
        self.passed = [0, 0]
        self.in_contact = True

    def send(self, frame: bytes) -> bool:
        if not self.in_contact or self.rng.random() < self.up:
            self.lost[0] += 1
            return True
        self.passed[0] += 1
        return self.inner.send(frame)

    def poll(self) -> list[bytes]:
        kept = []
        for frame in self.inner.poll():
            if not self.in_contact or self.rng.random() < self.down:
                self.lost[1] += 1
            else:
                self.passed[1] += 1
                kept.append(frame)
        return kept


class FileSat:
    def __init__(self, folder: Path, *, disk: str | None = None, down: float = 0.0,
                 up: float = 0.0, seed: int = 1, air_rate_bps: int = 256_000,
                 files: dict[str, Any] | None = None, ground: dict[str, Any] | None = None,
                 size: int = 128) -> None:
        self.disk = disk or f"mem://files-test-{next(_disks)}"
        self.clock = SimClock()
        rt = self.rt = Runtime("filesat", clock=self.clock, tick_hz=10, seed=3)
        hw = {"storage": self.disk, "time": epoch_url()}
        rt.add(CommandDispatcher("cmd", 0x0400))
        rt.add(ParameterDatabase("prmdb", 0x0500), hardware={"storage": self.disk})
        self.store: ProductStore = rt.add(ProductStore("store", 0x0C00), hardware=hw,
                                          config={"quota_bytes": 4 * 1024 * 1024})
        self.imager: Imager = rt.add(Imager("imager", 0x1200), hardware={"time": epoch_url()},
                                     config={"width": size, "height": size, "powered": True})
        self.uplink: Uplink = rt.add(Uplink("uplink", 0x0E00), hardware={"storage": self.disk},
                                     config={"provision_dev_keys": True})
        self.downlink: Downlink = rt.add(Downlink("downlink", 0x0F00),
                                         config={"air_rate_bps": air_rate_bps})
        self.files: FileTransfer = rt.add(FileTransfer("files", 0x1300),
                                          hardware={"storage": self.disk}, config=files or {})
        rt.add(TlmPacketizer("hk", 0x0700), config={"packets": [
            {"name": "system", "id": 1, "period_s": 1.0,
             "channels": ["executive.dictionary_id", "uplink.arsn", "files.active",
                          "files.downlinked", "files.uplinked"]},
        ]})
        rt.add_group(RateGroup("rg10hz", 0x0300, divisor=1), ["files", "downlink", "hk"])
        rt.add_group(RateGroup("rg1hz", 0x0310, divisor=10), ["uplink", "store"])
        for source, dest in [
            ("radio.rx_frame", "uplink.rx_frame"), ("uplink.commands", "cmd.commands"),
            ("uplink.clcw", "downlink.ocf"), ("hk.packets", "downlink.housekeeping"),
            ("cmd.verification", "downlink.verification"),
            ("uplink.file_pdus", "files.uplink_pdus"),
            ("files.downlink_pdus", "downlink.file_pdus"),
        ]:
            rt.connect(source, dest)
        self.events: list[EventRecord] = []
        rt.bus.subscribe(EVENTS, self.events.append, depth=100_000)
        self.bus_transport = BusTransport(rt)
        self.transport = LossyTransport(self.bus_transport, down=down, up=up, seed=seed)
        rt.boot()
        self.keys = GroundKeys.decode(open_storage(self.disk).load("sdls-ground.key"))
        self.dictionary = GroundDictionary(dictionary.build(rt))
        link = GroundLink(self.uplink.profile, self.keys, self.clock, self.transport)
        self.ground = GroundFiles(link, folder, wall_time=lambda: 1.7e9 + self.clock.monotonic(),
                                  **(ground or {}))
        self.station = GroundStation(self.dictionary, link, files=self.ground, wait=self.wait,
                                     poll_interval_s=0.1, identify_timeout_s=10.0,
                                     wall_time=lambda: 1.7e9 + self.clock.monotonic())

    def run(self, seconds: float) -> None:
        self.rt.run(seconds)

    def wait(self, deadline: float) -> None:
        self.run(max(deadline - self.clock.monotonic(), 0.1))

    def command(self, name: str, *args: Any) -> Any:
        """Dispatch a command on board now (as a sequence would); the final report."""
        return self.rt.components["cmd"].dispatch(self.rt.command(name, *args))

    def capture(self, target: str, priority: int) -> int:
        """A product from the imager; its file ID."""
        report = self.command("imager.capture", target, priority)
        assert report.stage.name == "COMPLETED", report
        return self.imager.store.file_list()[-1].file_id

    def event_names(self) -> list[str]:
        self.rt.bus.pump()
        return [self.rt.registry.events[e.event_id].name for e in self.events]

    def events_named(self, name: str) -> list[EventRecord]:
        self.rt.bus.pump()
        return [e for e in self.events if self.rt.registry.events[e.event_id].name == name]

    def channel(self, name: str) -> Any:
        return self.rt.telemetry.get(name)
