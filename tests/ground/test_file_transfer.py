"""The ground station's file API against a satellite with the product store and the file transfer
component, on the simulated clock: files received into the folder and archived, uplinks with
progress and checksum-verified completion, names that would leave the folder refused, loss of
signal seen from the ground, a receive-only station, the script verbs and `flight ground` usage."""

from __future__ import annotations

import itertools
import json
import random
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from flight.cfdp import ConditionCode, IndicationKind
from flight.cli import main
from flight.deployments import resolve
from flight.ground.archive import Archive
from flight.ground.cli import run_line
from flight.ground.dictionary import GroundDictionary
from flight.ground.files import GroundFiles
from flight.ground.link import GroundLink
from flight.ground.station import AwaitTimeout, GroundError, GroundStation
from flight.ground.transport import BusTransport
from flight.link.devkeys import GroundKeys
from flight.link.downlink_component import Downlink
from flight.link.uplink_component import Uplink
from flight.runtime import dictionary
from flight.runtime.deployment import Deployment
from flight.runtime.executive import RateGroup
from flight.runtime.runtime import Runtime
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.files import FileTransfer
from flight.svc.packetizer import TlmPacketizer
from flight.svc.products import FileCategory, ProductStore
from hal.clock import SimClock
from hal.storage import open_storage

_disks = itertools.count()
TIME = "epoch:2025-03-20T00:00:00Z"


class Gate:
    """A transport that can be cut off (outside a pass nothing gets through either way)."""

    def __init__(self, inner: BusTransport) -> None:
        self.inner = inner
        self.open = True

    def send(self, frame: bytes) -> bool:
        return self.inner.send(frame) if self.open else True

    def poll(self) -> list[bytes]:
        frames = self.inner.poll()
        return frames if self.open else []


class FileSat:
    """Dispatcher, store, file transfer, uplink, downlink, housekeeping; the ground on the bus."""

    def __init__(self, folder: Path, *, keys: bool = True,
                 archive: Archive | None = None) -> None:
        self.disk = f"mem://ground-files-{next(_disks)}"
        self.clock = SimClock()
        rt = self.rt = Runtime("filesat", clock=self.clock, tick_hz=10)
        rt.add(CommandDispatcher("cmd", 0x0400))
        self.store = rt.add(ProductStore("store", 0x0C00),
                            hardware={"storage": self.disk, "time": TIME})
        self.files = rt.add(FileTransfer("files", 0x1300), hardware={"storage": self.disk})
        self.uplink = rt.add(Uplink("uplink", 0x0E00), hardware={"storage": self.disk},
                             config={"provision_dev_keys": True})
        rt.add(Downlink("downlink", 0x0F00), config={"air_rate_bps": 256_000})
        rt.add(TlmPacketizer("hk", 0x0700), config={"packets": [
            {"name": "system", "id": 1, "period_s": 1.0,
             "channels": ["executive.dictionary_id", "uplink.arsn"]}]})
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
        self.transport = Gate(BusTransport(rt))
        rt.boot()
        ground_keys = GroundKeys.decode(open_storage(self.disk).load("sdls-ground.key"))
        link = GroundLink(self.uplink.profile, ground_keys if keys else None, self.clock,
                          self.transport)
        self.ground = GroundFiles(link, folder, wall_time=self.wall_time)
        self.station = GroundStation(GroundDictionary(dictionary.build(rt)), link,
                                     files=self.ground, archive=archive, wait=self.wait,
                                     poll_interval_s=0.1, identify_timeout_s=10.0,
                                     wall_time=self.wall_time)

    def wall_time(self) -> float:
        return 1.7e9 + self.clock.monotonic()

    def wait(self, deadline: float) -> None:
        self.rt.run(max(deadline - self.clock.monotonic(), 0.1))

    def product(self, path: str, size: int, priority: int = 3) -> tuple[int, bytes]:
        data = random.Random(path).randbytes(size)
        info = self.store.write(path, data, category=FileCategory.PRODUCT, priority=priority)
        return info.file_id, data

    def command(self, name: str, *args: Any) -> Any:
        return self.rt.components["cmd"].dispatch(self.rt.command(name, *args))


def test_files_arrive_in_the_folder_and_in_the_archive(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "pass.db")
    sat = FileSat(tmp_path / "in", archive=archive)
    station = sat.station
    assert station.received_files() == []
    fids = [sat.product(f"img/{n}.r121", 5000 + 1000 * n)[0] for n in range(3)]
    sat.command("files.downlink_pending", 255, 10, 2)
    station.identify()
    for n, fid in enumerate(fids):
        received = station.await_file(f"img/{n}.r121", timeout=60)
        assert received.path == tmp_path / "in" / "img" / f"{n}.r121"
        assert received.path.read_bytes() == sat.store.read(fid)
    assert [f.name for f in station.received_files()] == [f"img/{n}.r121" for n in range(3)]
    assert not any((tmp_path / "in" / ".cfdp-partial").iterdir())
    rows = archive.file_transfer_history()
    assert [(r.destination_file, r.uplink, r.complete) for r in rows] == [
        (f"img/{n}.r121", False, True) for n in range(3)]
    assert rows[1].size == 6000 and rows[1].local_path == str(tmp_path / "in/img/1.r121")
    assert rows[1].crc32c == sat.store.info(fids[1]).crc32c
    assert archive.file_transfer_history("img/2.r121")[0].seq == rows[2].seq


def test_an_uplink_reports_progress_and_completes_checksum_verified(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "pass.db")
    sat = FileSat(tmp_path / "in", archive=archive)
    updates = []
    sat.ground.listeners.append(updates.append)
    local = tmp_path / "params.bin"
    local.write_bytes(random.Random(5).randbytes(12_345))
    tid = sat.station.put_file(str(local), "params/set-7.bin")
    status = sat.station.await_transfer(tid, timeout=60)
    assert status.file_size == 12_345 and status.destination_file == "params/set-7.bin"
    assert sat.store.read("params/set-7.bin") == local.read_bytes()
    kinds = [u.kind for u in updates if u.transaction == tid]
    assert kinds[0] is IndicationKind.TRANSACTION and kinds[-1] is \
        IndicationKind.TRANSACTION_FINISHED
    assert IndicationKind.EOF_SENT in kinds and all(u.uplink for u in updates)
    row = archive.file_transfer_history("params/set-7.bin")[0]
    assert row.uplink and row.complete and row.source_file == str(local)
    # class 1 too: the satellite asked for closure, so completion is still confirmed
    tid = sat.station.put_file(str(local), "params/set-8.bin", cls=1)
    sat.station.await_transfer(tid, timeout=60)
    assert sat.store.read("params/set-8.bin") == local.read_bytes()


def test_uplink_request_errors(tmp_path: Path) -> None:
    sat = FileSat(tmp_path / "in")
    with pytest.raises(OSError, match="No such file"):
        sat.station.put_file(str(tmp_path / "missing.bin"), "x.bin")
    with pytest.raises(ValueError, match="class 3"):
        sat.station.put_file(str(tmp_path / "missing.bin"), "x.bin", cls=3)
    with pytest.raises(AwaitTimeout, match="no file nothing.bin"):
        sat.station.await_file("nothing.bin", timeout=2.0)
    bare = GroundStation(sat.station.dictionary, sat.station.link)
    with pytest.raises(GroundError, match="no file folder"):
        bare.await_file("x", timeout=0.1)


def test_a_name_that_would_leave_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "in"
    sat = FileSat(folder)
    fid, _ = sat.product("img/a.r121", 3000)
    sat.station.identify()
    for name in ("../../escape.bin", "/../escape.bin", ".cfdp-partial/x"):
        sat.files.entity.put(1, "img/a.r121", name)
    sat.station.run_for(20.0)
    assert sat.station.received_files() == []
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []
    faults = sat.ground.entity.counters.faults
    assert faults[ConditionCode.FILESTORE_REJECTION] == 3
    assert sat.rt.telemetry.get("files.failed") == 3
    assert not sat.store.info(fid).downlinked


def test_the_ground_suspends_when_the_downlink_falls_silent(tmp_path: Path) -> None:
    sat = FileSat(tmp_path / "in")
    sat.product("img/b.r121", 60_000)
    sat.station.identify()
    sat.command("files.downlink", "img/b.r121", 2)
    sat.station.run_for(0.6)
    assert sat.ground.entity.transfers()  # receiving
    sat.transport.open = False  # loss of signal
    sat.rt.bus.publish("files.link", False)
    sat.station.run_for(15.0)
    assert sat.ground.suspended and sat.ground.entity.transfers()[0].suspended
    sat.transport.open = True
    sat.rt.bus.publish("files.link", True)
    received = sat.station.await_file("img/b.r121", timeout=60)
    assert not sat.ground.suspended and received.size == 60_000


def test_a_receive_only_station_gets_class_1_files(tmp_path: Path) -> None:
    sat = FileSat(tmp_path / "in", keys=False)
    fid, data = sat.product("img/c.r121", 8000)
    sat.command("files.downlink", str(fid), 1)
    received = sat.station.await_file("img/c.r121", timeout=30)
    assert received.path.read_bytes() == data
    assert sat.ground.pdus_unsent >= 1  # its Finished could not go up
    with pytest.raises(GroundError, match="only receives"):
        sat.station.put_file(str(received.path), "x.bin")


def test_script_verbs_put_and_await_file(tmp_path: Path) -> None:
    sat = FileSat(tmp_path / "in")
    local = tmp_path / "pass.seq"
    local.write_text("+0 cmd.no_op\n")
    out = StringIO()
    run_line(sat.station, f"put {local} seq/pass.seq", 10.0, out)
    assert sat.store.read("seq/pass.seq") == local.read_bytes()
    assert sat.store.info("seq/pass.seq").category is FileCategory.SEQUENCE
    sat.product("img/d.r121", 2000)
    sat.command("files.downlink", "img/d.r121", 2)
    run_line(sat.station, "await-file img/d.r121 30", 10.0, out)
    assert out.getvalue().splitlines() == [
        f"seq/pass.seq: {local.stat().st_size} octets stored on board (transaction 1:0)",
        f"img/d.r121: 2000 octets in {tmp_path / 'in' / 'img' / 'd.r121'}",
    ]


@pytest.fixture(scope="module")
def refsat_dictionary(tmp_path_factory) -> str:
    rt = Deployment.load(resolve("refsat")).build(clock=SimClock())
    path = tmp_path_factory.mktemp("dict") / "refsat.json"
    path.write_text(json.dumps(dictionary.build(rt)))
    return str(path)


def test_flight_ground_files_usage(refsat_dictionary: str, tmp_path: Path, capsys) -> None:
    common = ["ground", "--dictionary", refsat_dictionary, "--no-archive", "--port", "loop://"]
    assert main([*common, "put", "a.bin", "a.bin"]) == 2
    assert "put needs --files" in capsys.readouterr().err
    assert main([*common, "--files", str(tmp_path / "in"), "monitor", "--duration", "0.2"]) == 0
    assert (tmp_path / "in" / ".cfdp-partial").is_dir()
