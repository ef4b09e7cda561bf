"""The product store: files with CRC-32C, the catalog, the quota, boot repair, CFDP, power loss."""

from __future__ import annotations

import os
import random
import signal
import struct
import subprocess
import sys
import time

import pytest

from flight.cfdp import IndicationKind, TransmissionMode
from flight.cfdp.errors import FilestoreError
from flight.codec import crc32c
from flight.runtime.component import Health
from flight.runtime.errors import ConfigError, ReasonCode
from flight.runtime.records import HousekeepingPacket, Stage
from flight.svc.products import (
    MAX_PATH_OCTETS,
    BadPath,
    FileCategory,
    FileCorrupt,
    FileStore,
    StoreError,
    StoreFull,
    UnknownFile,
    blob_name,
    decode_header,
    normalize_path,
)
from hal.storage import Storage, open_storage, sim_disk

from .services_rig import (
    T0,
    CuttingDisk,
    DeadDisk,
    PowerCut,
    build,
    events_named,
    new_disk,
    on_disk,
    power_cycle,
    send,
)

PRODUCT = FileCategory.PRODUCT


def test_a_stored_file_reads_back_with_its_crc32c_metadata_and_telemetry():
    rt = build(new_disk())
    store = rt.components["store"]
    data = random.Random(1).randbytes(5000)
    info = store.write("img/a.raw", data, category=PRODUCT, priority=3, meta={"target": "x"})
    assert (info.file_id, info.path, info.size, info.crc32c) == (1, "img/a.raw", 5000,
                                                                crc32c(data))
    assert info.created_tai == T0 and info.meta == {"target": "x"} and not info.downlinked
    assert store.read("img/a.raw") == store.read(1) == store.read("1") == data
    assert store.info("/img//a.raw") == info  # paths are normalized
    assert rt.telemetry.get("store.files") == rt.telemetry.get("store.products") == 1
    assert rt.telemetry.get("store.used_bytes") == info.disk_octets > 5000
    assert rt.telemetry.get("store.free_bytes") == 4 * 1024 * 1024 - info.disk_octets
    assert events_named(rt, "store.file_stored")[0].args == (1, "img/a.raw", 5000, crc32c(data))
    assert store.write("tables/t", b"", category=FileCategory.TABLE, priority=1).size == 0
    assert rt.telemetry.get("store.products") == 1 and rt.telemetry.get("store.files") == 2


@pytest.mark.parametrize("path", ["", "/", "..", "a/../../b", "a\x00b", "tab\there", "1234",
                                  "x" * (MAX_PATH_OCTETS + 1)])
def test_bad_paths_are_refused_with_a_reason(path):
    with pytest.raises(BadPath):
        normalize_path(path)
    rt = build(new_disk())
    with pytest.raises(BadPath):
        rt.components["store"].write(path, b"x", category=PRODUCT, priority=1)
    assert rt.telemetry.get("store.errors") == 1
    assert events_named(rt, "store.store_failed")


def test_storing_a_path_again_replaces_the_file():
    rt = build(new_disk())
    store = rt.components["store"]
    first = store.write("seq/a.seq", b"one", category=FileCategory.SEQUENCE, priority=0)
    second = store.write("seq/a.seq", b"two!", category=FileCategory.SEQUENCE, priority=0)
    assert second.file_id == first.file_id + 1
    assert store.read("seq/a.seq") == b"two!" and rt.telemetry.get("store.files") == 1
    with pytest.raises(UnknownFile):
        store.read(first.file_id)
    assert rt.telemetry.get("store.used_bytes") == second.disk_octets


def test_quota_deletes_the_least_important_oldest_files_first_never_priority_0():
    rt = build(new_disk(), store={"quota_bytes": 10_000})
    store = rt.components["store"]
    keep = store.write("keep", bytes(1500), category=PRODUCT, priority=0)
    files = {}
    for name, priority in [("p5-old", 5), ("p2-old", 2), ("p5-new", 5), ("p9", 9), ("p2-new", 2)]:
        files[name] = store.write(name, bytes(1500), category=PRODUCT, priority=priority)
    evicted_order = []
    for i in range(4):
        store.write(f"new{i}", bytes(1500), category=PRODUCT, priority=1)
        evicted_order += [e.args[1] for e in events_named(rt, "store.quota_deleted")
                          if e.args[1] not in evicted_order]
    assert evicted_order == ["p9", "p5-old", "p5-new", "p2-old"]
    assert {f.path for f in store.file_list()} == {"keep", "p2-new", "new0", "new1", "new2",
                                                    "new3"}
    assert rt.telemetry.get("store.quota_deletions") == 4
    assert rt.telemetry.get("store.used_bytes") <= 10_000
    with pytest.raises(StoreFull) as full:
        store.write("huge", bytes(20_000), category=PRODUCT, priority=1)
    assert full.value.needed > 20_000
    assert store.read(keep.file_id) == bytes(1500)


def test_file_commands_by_path_or_id():
    disk = new_disk()
    rt = build(disk)
    store = rt.components["store"]
    a = store.write("a", b"aaa", category=PRODUCT, priority=4)
    store.write("b", b"bbb", category=PRODUCT, priority=4)
    assert send(rt, "store.set_priority", "a", 0).stage is Stage.COMPLETED
    assert send(rt, "store.mark_downlinked", str(a.file_id)).stage is Stage.COMPLETED
    assert send(rt, "store.delete_file", "b").stage is Stage.COMPLETED
    assert send(rt, "store.delete_file", "b").reason is ReasonCode.NOT_FOUND
    assert send(rt, "store.mark_downlinked", "nope").reason is ReasonCode.NOT_FOUND
    assert send(rt, "store.verify", "a").stage is Stage.COMPLETED
    assert send(rt, "store.list_files", 0, 10).stage is Stage.COMPLETED
    listed = events_named(rt, "store.file_listed")
    assert [e.args[:2] for e in listed] == [(a.file_id, "a")]
    assert listed[0].args[5:] == ("2025-03-20T00:00:00.000000Z", True)
    assert rt.telemetry.get("store.pending_downlink") == 0
    power_cycle(disk)
    again = build(disk).components["store"]
    (only,) = again.file_list()
    assert (only.path, only.priority, only.downlinked) == ("a", 0, True)


def test_corruption_on_the_medium_is_caught_on_read_and_by_verify():
    disk = new_disk()
    rt = build(disk)
    store = rt.components["store"]
    info = store.write("x", bytes(range(256)) * 4, category=PRODUCT, priority=3)
    store.write("y", b"fine", category=PRODUCT, priority=3)
    backend = sim_disk(disk[len("mem://"):])
    blob = bytearray(backend.read(blob_name(info.file_id)))
    blob[-10] ^= 0x40  # a bit flip in the data
    backend.write(blob_name(info.file_id), bytes(blob))
    with pytest.raises(FileCorrupt) as bad:
        store.read("x")
    assert bad.value.expected == info.crc32c and bad.value.actual != info.crc32c
    assert send(rt, "store.verify", "x").reason is ReasonCode.STORAGE_ERROR
    assert send(rt, "store.verify_all").reason is ReasonCode.STORAGE_ERROR
    assert events_named(rt, "store.verified")[-1].args == (2, 1)
    assert events_named(rt, "store.corrupt")[0].args[0] == "x"


def test_boot_repairs_whatever_a_crash_left():
    disk = new_disk()
    rt = build(disk)
    store = rt.components["store"]
    a = store.write("a", b"alpha", category=PRODUCT, priority=3)
    b = store.write("b", b"bravo", category=PRODUCT, priority=3)
    backend = sim_disk(disk[len("mem://"):])
    # a file stored but not catalogued, a catalogued file lost, a half-written temp file, and
    # a replacement interrupted before the old version was deleted
    orphan = store.write("orphan", b"orphan data", category=PRODUCT, priority=2, meta={"m": 1})
    replaced_old = store.write("r", b"old", category=PRODUCT, priority=2)
    raw_orphan = backend.read(blob_name(orphan.file_id))
    raw_old = backend.read(blob_name(replaced_old.file_id))
    store.store.delete("orphan")
    replaced_new = store.write("r", b"new", category=PRODUCT, priority=2)
    rt.shutdown()
    for name, raw in [(blob_name(orphan.file_id), raw_orphan),
                      (blob_name(replaced_old.file_id), raw_old),
                      (blob_name(99) + ".tmp", b"half a fi")]:
        backend.write(name, raw)
        backend.sync(name)
    backend.delete(blob_name(b.file_id))
    backend.sync_dir()
    again = build(disk)
    fs = again.components["store"].store
    assert {f.path: f.file_id for f in fs.files()} == {
        "a": a.file_id, "orphan": orphan.file_id, "r": replaced_new.file_id}
    assert fs.read("orphan") == b"orphan data" and fs.find("orphan").meta == {"m": 1}
    assert fs.read("r") == b"new"
    repairs = {(e.args[1], e.args[2]) for e in events_named(again, "store.repaired")}
    assert repairs == {("orphan", "recovered"), ("b", "missing"), ("r", "recovered"),
                       ("r", "superseded")}
    opened = events_named(again, "store.opened")[0].args
    assert opened[2:] == (2, 1, 1)
    assert not [n for n in backend.names() if n.endswith(".tmp")]
    # the repaired catalog is what the next boot finds, with nothing left to repair
    third = build(disk)
    assert events_named(third, "store.repaired") == []
    assert {f.path for f in third.components["store"].file_list()} == {"a", "orphan", "r"}


def test_an_unreadable_catalog_is_rebuilt_from_the_files():
    disk = new_disk()
    rt = build(disk)
    store = rt.components["store"]
    for i in range(5):
        store.write(f"f{i}", bytes([i]) * 100, category=PRODUCT, priority=1 + i)
    store.store.journal.compact(store.store._state())
    backend = sim_disk(disk[len("mem://"):])
    backend.write("catalog.snap", b"garbage")
    backend.sync("catalog.snap")
    again = build(disk)
    assert events_named(again, "store.catalog_rebuilt")
    files = again.components["store"].file_list()
    assert [(f.path, f.priority) for f in files] == [(f"f{i}", 1 + i) for i in range(5)]


def test_decode_header_rejects_damaged_headers():
    fs = FileStore(Storage(sim_disk(new_disk()[6:])), quota_bytes=100_000, now_tai=lambda: T0)
    fs.open()
    info, _ = fs.write("a", b"data", category=PRODUCT, priority=1)
    blob = fs.backend.read(blob_name(info.file_id))
    assert decode_header("a", blob)[0].path == "a"
    for bad in (blob[:10], b"XXXX" + blob[4:], blob[:-1], blob[:25] + b"\xff" + blob[26:]):
        with pytest.raises(FileCorrupt):
            decode_header("a", bad)


def test_housekeeping_is_recorded_into_files():
    rt = build(new_disk(), store={"hk_period_s": 10.0})
    store = rt.components["store"]
    rt.connect("test.hk", "store.housekeeping")
    topic = rt.bus.topic("test.hk")
    for i in range(25):
        topic.publish(HousekeepingPacket(7, float(i), 2, struct.pack(">f", i / 2)))
        rt.run(1.0)
    recorded = [f for f in store.file_list() if f.category is FileCategory.HOUSEKEEPING]
    assert len(recorded) == 2
    hk = recorded[0]
    assert hk.path == "hk/20250320T000000.hk" and hk.meta["records"] == 11  # t = 0..10 s
    data = store.read(hk.path)
    records = []
    pos = 0
    while pos < len(data):
        tai, sid, length = struct.unpack_from(">dHH", data, pos)
        records.append((tai - T0, sid, struct.unpack(">f", data[pos + 12 + 2:pos + 12 + length])))
        pos += 12 + length
    assert [r[0] for r in records] == [float(i) for i in range(11)]
    assert records[3][1:] == (7, (1.5,))
    rt.shutdown()  # the part recorded since is flushed at shutdown
    assert rt.telemetry.get("store.hk_files") == 3


def test_the_store_is_a_cfdp_filestore_uplink_atomic_downlink_by_path():
    from tests.cfdp.harness import make_pair

    rt = build(new_disk())
    store = rt.components["store"]
    pair = make_pair(loss=0.2, seed=11, remote={"transmission_mode": TransmissionMode.ACKNOWLEDGED})
    pair.sat.filestore = store.filestore()
    software = random.Random(3).randbytes(40_000)
    pair.ground_files.files["up/pass.seq"] = b"+0 probe.hit 1\n"
    pair.ground_files.files["up/image.bin"] = software
    pair.ground.put(2, "up/pass.seq", "seq/pass.seq")
    pair.run()
    pair.ground.put(2, "up/image.bin", "sw/image.bin")
    pair.run()
    assert store.read("sw/image.bin") == software
    assert store.info("seq/pass.seq").category is FileCategory.SEQUENCE
    assert store.info("sw/image.bin").category is FileCategory.UPLINK
    product = store.write("img/1.r121", random.Random(4).randbytes(30_000), category=PRODUCT,
                          priority=2)
    pair.sat.put(1, "img/1.r121", "down/1.r121")
    pair.run()
    assert pair.ground_files.files["down/1.r121"] == store.read(product.file_id)
    finished = pair.of_kind(pair.ground_events, IndicationKind.TRANSACTION_FINISHED)
    assert len(finished) == 3
    filestore = store.filestore()
    with pytest.raises(FilestoreError):
        filestore.open_read("missing")
    with pytest.raises(FilestoreError):
        filestore.check_name("../etc/passwd")
    partial = filestore.create_partial()
    partial.write(4, b"tail")
    partial.write(0, b"head")
    assert partial.read(0, 8) == b"headtail"
    partial.discard()
    assert [f.path for f in store.file_list()] == ["seq/pass.seq", "sw/image.bin", "img/1.r121"]


# --- power loss -------------------------------------------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Ledger:
    """What a storing process acknowledged, from its output: what must be in the store."""

    def __init__(self) -> None:
        self.expected: dict[str, int] = {}  # path -> file ID acknowledged
        self.marked: dict[str, int] = {}  # path -> file ID acknowledged as downlinked
        self.gone: set[int] = set()  # file IDs deleted, evicted or replaced for sure

    def read(self, lines: list[str]) -> set[str]:
        """Apply a run's output; returns the paths whose state the kill left in doubt."""
        doubt: set[str] = set()
        for line in lines:
            word, path, *rest = line.split()
            if word in ("storing", "deleting", "marking"):
                doubt = {path}
            elif word == "evicting":
                doubt.add(path)
                if self.expected.get(path) == int(rest[0]):
                    del self.expected[path]
            elif word == "acked":
                old = self.expected.get(path)
                if old is not None:
                    self.gone.add(old)
                self.expected[path] = int(rest[0])
                doubt = set()
            elif word == "deleted":
                self.gone.add(self.expected.pop(path))
                doubt = set()
            elif word == "marked":
                self.marked[path] = self.expected[path]
                doubt = set()
            elif word == "full":
                doubt = set()
        return doubt

    def check(self, fs: FileStore, doubt: set[str]) -> None:
        from .store_child import content

        on_disk = {int(n[2:]) for n in fs.backend.names() if n.startswith("f.")}
        assert on_disk == set(fs.catalog), "catalog and files disagree"
        assert not [n for n in fs.backend.names() if n.endswith(".tmp")]
        assert fs.used_bytes == sum(len(fs.backend.read(blob_name(i))) for i in on_disk)
        found = {f.path: f for f in fs.files()}
        for path, file_id in self.expected.items():
            if path not in doubt:
                assert path in found and found[path].file_id == file_id, f"lost {path}"
        for path, info in found.items():
            assert fs.read(path) == content(info.meta), f"{path} has the wrong content"
            assert path in self.expected or path in doubt, f"{path} resurrected"
            assert info.file_id not in self.gone
            if self.marked.get(path) == info.file_id:
                assert info.downlinked, f"{path} lost its downlink mark"
        for path in doubt:  # settle what the kill left open
            if path in found:
                self.expected[path] = found[path].file_id
            else:
                self.expected.pop(path, None)


def _kill_storing_child(directory, run, rng):
    child = subprocess.Popen([sys.executable, "-m", "tests.svc.store_child", str(directory),
                              str(run)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "ready\n"
    time.sleep(rng.uniform(0.0, 0.08))
    child.send_signal(signal.SIGKILL)
    rest = child.stdout.read()
    child.wait()
    return rest.splitlines()


def store_crash_campaign(directory, kills, seed):
    from .store_child import QUOTA

    rng = random.Random(seed)
    ledger = Ledger()
    interrupted = 0
    for run in range(1, kills + 1):
        lines = _kill_storing_child(directory, run, rng)
        doubt = ledger.read(lines)
        interrupted += bool(doubt)
        fs = FileStore(open_storage(f"file:{directory}"), quota_bytes=QUOTA,
                       now_tai=lambda: T0)
        fs.open()
        ledger.check(fs, doubt)
    return interrupted


def test_killed_while_storing_keeps_every_acknowledged_file_intact(tmp_path):
    interrupted = store_crash_campaign(tmp_path, kills=30, seed=1)
    assert interrupted >= 10


@pytest.mark.soak
def test_killed_while_storing_soak(tmp_path):
    store_crash_campaign(tmp_path, kills=500, seed=2)


def power_cut_store_campaign(monkeypatch, cuts, seed):
    """Cut the power at random storage operations while storing, replacing, deleting and
    marking files; after every reboot the store holds exactly what was acknowledged."""
    import flight.svc.products as module

    from .store_child import content

    rng = random.Random(seed)
    disk = CuttingDisk(random.Random(seed + 1))
    url = on_disk(monkeypatch, disk, module)
    ledger = Ledger()
    k = 0
    for run in range(cuts):
        disk.budget = disk.operations + rng.randrange(1, 150)
        lines: list[str] = []
        try:
            fs = FileStore(module.open_storage(url), quota_bytes=40_000, now_tai=lambda: T0,
                           on_evict=lambda f, out=lines: out.append(f"evicting {f.path} "
                                                                    f"{f.file_id}"))
            fs.journal.min_compact_bytes = 1024
            fs.open()
            while True:
                k += 1
                files = fs.files()
                action = rng.random()
                if action < 0.1 and files:
                    path = rng.choice(files).path
                    lines.append(f"deleting {path}")
                    fs.delete(path)
                    lines.append(f"deleted {path}")
                    continue
                if action < 0.2 and files:
                    path = rng.choice(files).path
                    lines.append(f"marking {path}")
                    fs.mark_downlinked(path)
                    lines.append(f"marked {path}")
                    continue
                path = rng.choice(files).path if action < 0.3 and files else f"p/{k}"
                meta = {"run": run, "k": k, "size": rng.randrange(0, 3000)}
                lines.append(f"storing {path}")
                try:
                    info, _ = fs.write(path, content(meta), category=PRODUCT,
                                       priority=0 if rng.random() < 0.02 else rng.randrange(1, 6),
                                       meta=meta)
                except StoreFull:
                    lines.append(f"full {path}")
                    continue
                lines.append(f"acked {path} {info.file_id}")
        except PowerCut:
            pass
        doubt = ledger.read(lines)
        fs = FileStore(Storage(disk), quota_bytes=40_000, now_tai=lambda: T0)
        fs.open()
        ledger.check(fs, doubt)
    return len(ledger.expected)


def test_power_cut_while_storing_keeps_the_store_consistent(monkeypatch):
    assert power_cut_store_campaign(monkeypatch, cuts=150, seed=5) > 5


@pytest.mark.soak
def test_power_cut_while_storing_soak(monkeypatch):
    power_cut_store_campaign(monkeypatch, cuts=5000, seed=6)


def test_a_dead_medium_is_reported_and_the_rest_runs(monkeypatch):
    import flight.svc.products as products
    import flight.svc.scheduler as scheduler

    url = on_disk(monkeypatch, DeadDisk(), products, scheduler)
    rt = build(url)
    assert rt.components["store"].health is Health.FAULT
    assert rt.components["sched"].health is Health.FAULT
    assert send(rt, "store.delete_file", "x").reason is ReasonCode.COMPONENT_UNAVAILABLE
    entry = rt.command("probe.hit", 1).pack()
    assert send(rt, "sched.insert", T0 + 5, entry).reason is ReasonCode.STORAGE_ERROR
    assert send(rt, "sched.clear").reason is ReasonCode.STORAGE_ERROR
    with pytest.raises(StoreError):
        rt.components["store"].write("a", b"x", category=PRODUCT, priority=1)
    send(rt, "imager.power", True)
    assert send(rt, "imager.capture", "lake", 1).reason is ReasonCode.COMPONENT_UNAVAILABLE
    rt.run(5.0)  # the runtime goes on


def test_a_bad_time_binding_is_a_deployment_error():
    with pytest.raises(ConfigError) as err:
        build(new_disk(), time_url="epoch:yesterday")
    assert err.value.key == "hardware.time" and "ISO 8601" in err.value.detail
    with pytest.raises(ConfigError, match="no time source"):
        build(new_disk(), time_url="resource:gps")


def test_housekeeping_recording_can_be_decimated_per_structure_id():
    rt = build(new_disk(), store={"hk_period_s": 60.0, "hk_decimation": {"7": 3, "9": 1}})
    rt.connect("test.hk", "store.housekeeping")
    topic = rt.bus.topic("test.hk")
    for i in range(12):
        for sid in (7, 8, 9):
            topic.publish(HousekeepingPacket(sid, float(i), 2, bytes([i])))
        rt.run(1.0)
    rt.components["store"].flush_housekeeping()
    (hk,) = rt.components["store"].file_list()
    data = rt.components["store"].read(hk.path)
    sids = []
    pos = 0
    while pos < len(data):
        _, sid, length = struct.unpack_from(">dHH", data, pos)
        sids.append((sid, data[pos + 12 + 2]))
        pos += 12 + length
    assert sids == sorted([(7, i) for i in range(0, 12, 3)] + [(9, i) for i in range(12)],
                          key=lambda s: (s[1], s[0]))
    with pytest.raises(ConfigError, match="hk_decimation.x"):
        build(new_disk(), store={"hk_decimation": {"x": 2}}, boot=False)
