"""Non-volatile storage: atomic blobs, CRC-checked loads, bounded record logs, power loss."""

import os
import random
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.storage import (
    DIR_MODE,
    SECRET_MODE,
    TMP_SUFFIX,
    FileBackend,
    RecordLog,
    SimBackend,
    Storage,
    StorageCorrupt,
    StorageMissing,
    open_storage,
    sim_disk,
)


@pytest.fixture(params=["file", "sim"])
def backend(request, tmp_path):
    return FileBackend(tmp_path / "nvm") if request.param == "file" else SimBackend()


def test_save_and_load_round_trip(backend):
    st_ = Storage(backend)
    st_.save("a", b"first")
    st_.save("a", b"second, longer")
    assert st_.load("a") == b"second, longer"
    assert backend.names() == ["a"]  # no temporary file left behind
    with pytest.raises(StorageMissing):
        st_.load("b")


@pytest.mark.parametrize("damage", ["flip", "truncate", "magic", "short"])
def test_corruption_is_detected(backend, damage):
    st_ = Storage(backend)
    st_.save("a", b"parameters" * 10)
    raw = bytearray(backend.read("a"))
    if damage == "flip":
        raw[20] ^= 0x01
    elif damage == "truncate":
        raw = raw[:-3]
    elif damage == "magic":
        raw[0] = ord("X")
    else:
        raw = raw[:5]
    backend.write("a", bytes(raw))
    with pytest.raises(StorageCorrupt) as info:
        st_.load("a")
    assert isinstance(info.value, ValueError)
    if damage == "flip":
        assert info.value.expected != info.value.actual


def test_sim_power_loss_during_save_leaves_old_or_new():
    """Cut power after every primitive of a save: the blob is always the old or the new one."""
    steps = ["write", "sync", "rename", "sync_dir"]
    for cut_after in range(len(steps) + 1):
        disk = SimBackend()
        st_ = Storage(disk)
        st_.save("p", b"old")
        calls = []

        class Cut(Exception):
            pass

        def wrap(name, fn, calls=calls, cut_after=cut_after):
            def inner(*a):
                if len(calls) == cut_after:
                    raise Cut
                calls.append(name)
                return fn(*a)
            return inner

        for name in steps:
            setattr(disk, name, wrap(name, getattr(SimBackend, name).__get__(disk)))
        with pytest.raises(Cut) if cut_after < len(steps) else _nothing():
            st_.save("p", b"new")
        for name in steps:
            delattr(disk, name)
        disk.power_loss(random.Random(cut_after))
        assert Storage(disk).load("p") == (b"new" if cut_after == len(steps) else b"old")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_unsynced_writes_vanish_on_power_loss():
    disk = SimBackend()
    disk.write("x", b"abc")
    disk.power_loss()
    assert disk.names() == []
    disk.write("x", b"abc")
    disk.sync("x")
    disk.power_loss()
    assert disk.names() == []  # the directory entry was never made durable
    disk.write("x", b"abc")
    disk.sync("x")
    disk.sync_dir()
    disk.append("x", b"defgh")
    disk.power_loss(random.Random(3))
    assert disk.read("x").startswith(b"abc") and len(disk.read("x")) <= 8


def test_record_log_appends_flushes_and_reopens(backend):
    log = RecordLog(backend, "ev", max_bytes=4096)
    for i in range(10):
        assert log.append(f"record {i}".encode()) == i
    log.flush()
    again = RecordLog(backend, "ev", max_bytes=4096)
    assert [(s, r) for s, r in again.records()] == [(i, f"record {i}".encode()) for i in range(10)]
    assert again.next_seq == 10 and again.dropped == 0 and again.torn == 0
    assert again.append(b"eleven") == 10


def test_record_log_is_bounded_oldest_dropped_first(backend):
    log = RecordLog(backend, "ev", max_bytes=2048, segment_bytes=512)
    for i in range(200):
        log.append(b"x" * 40 + i.to_bytes(2, "big"))
    log.flush()
    assert log.size <= 2048
    kept = list(log.records())
    assert kept[-1][0] == 199
    assert log.dropped == kept[0][0] == 200 - len(kept)
    assert [s for s, _ in kept] == list(range(log.dropped, 200))
    reopened = RecordLog(backend, "ev", max_bytes=2048, segment_bytes=512)
    assert reopened.dropped == log.dropped and len(reopened) == len(kept)


def test_record_log_clear_keeps_numbering(backend):
    log = RecordLog(backend, "ev", max_bytes=4096)
    for _ in range(5):
        log.append(b"r")
    log.clear()
    assert list(log.records()) == [] and log.dropped == 5
    assert log.append(b"s") == 5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=60), min_size=1, max_size=40),
       st.integers(0, 2**32 - 1), st.integers(0, 39))
def test_record_log_survives_power_loss_at_any_point(records, seed, flush_every):
    """Whatever survives is a prefix of what was appended, with everything flushed included; the
    log keeps working after reopening."""
    disk = SimBackend()
    log = RecordLog(disk, "ev", max_bytes=1 << 20, segment_bytes=256)
    flushed = 0
    for i, rec in enumerate(records):
        log.append(rec)
        if flush_every and i % flush_every == 0:
            log.flush()
            flushed = i + 1
    disk.power_loss(random.Random(seed))
    again = RecordLog(disk, "ev", max_bytes=1 << 20, segment_bytes=256)
    survived = [r for _, r in again.records()]
    assert survived == records[: len(survived)]
    assert len(survived) >= flushed
    seq = again.append(b"after")
    again.flush()
    third = RecordLog(disk, "ev", max_bytes=1 << 20, segment_bytes=256)
    assert [r for _, r in third.records()] == survived + [b"after"]
    assert seq == len(survived)


def test_open_storage_urls(tmp_path):
    assert isinstance(open_storage(str(tmp_path / "a")).backend, FileBackend)
    assert isinstance(open_storage(f"file:{tmp_path}/b").backend, FileBackend)
    assert open_storage("mem://disk1").backend is sim_disk("disk1")
    home = open_storage("~/.cache").backend
    assert isinstance(home, FileBackend) and not home.root.startswith("~")
    for bad in ("mem://", "ftp://x", ""):
        with pytest.raises(ValueError):
            open_storage(bad)


def test_file_backend_refuses_path_names(tmp_path):
    with pytest.raises(ValueError):
        FileBackend(tmp_path).write("../escape", b"")


# --- permissions: secret blobs and the directory ----------------------------------------------


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test (restored after it)."""
    saved = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(saved)


def _spy_writes(monkeypatch) -> list[int]:
    """The mode of the file behind every `os.write`: what another user could read at that
    instant."""
    modes: list[int] = []
    real_write = os.write

    def write(fd, data):
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    return modes


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o277])
def test_secret_blob_is_owner_only_from_its_first_octet(tmp_path, monkeypatch, umask, mask):
    umask(mask)
    backend = FileBackend(tmp_path / "nvm")
    storage = Storage(backend)
    storage.save("key", b"old, public")  # an earlier version saved it 0644
    stale = tmp_path / "nvm" / ("key" + TMP_SUFFIX)
    stale.write_bytes(b"left by a power cut")  # a temporary file O_TRUNC would reuse
    os.chmod(stale, 0o666)
    modes = _spy_writes(monkeypatch)
    storage.save("key", b"\x01" * 32, secret=True)
    monkeypatch.undo()
    assert modes, "the blob was written"
    assert all(mode == SECRET_MODE for mode in modes), [oct(m) for m in modes]
    assert _mode(tmp_path / "nvm" / "key") == SECRET_MODE
    assert storage.load("key") == b"\x01" * 32
    assert backend.names() == ["key"]


def test_plain_blobs_keep_their_mode(tmp_path, umask):
    umask(0o022)
    storage = Storage(FileBackend(tmp_path / "nvm"))
    storage.save("params", b"p")
    assert _mode(tmp_path / "nvm" / "params") == 0o644


def test_restrict_tightens_an_exposed_blob_once(tmp_path, umask):
    umask(0o022)
    storage = Storage(FileBackend(tmp_path / "nvm"))
    storage.save("old-key", b"k")
    assert storage.restrict("old-key") is True
    assert _mode(tmp_path / "nvm" / "old-key") == SECRET_MODE
    assert storage.restrict("old-key") is False
    with pytest.raises(StorageMissing):
        storage.restrict("none")
    sim = Storage(SimBackend())
    sim.save("k", b"k", secret=True)
    assert sim.load("k") == b"k" and sim.restrict("k") is False
    with pytest.raises(StorageMissing):
        sim.restrict("none")


@pytest.mark.parametrize("mask", [0o000, 0o022])
def test_storage_creates_its_directory_owner_only(tmp_path, umask, mask):
    umask(mask)
    backend = open_storage(str(tmp_path / "state" / "nvm")).backend
    assert _mode(tmp_path / "state" / "nvm") == DIR_MODE
    assert backend.root_mode == DIR_MODE and not backend.exposed


def test_existing_directory_keeps_its_mode_and_is_reported(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    backend = FileBackend(shared)
    assert _mode(shared) == 0o755, "a directory the storage did not create is left as it is"
    assert backend.root_mode == 0o755 and backend.exposed
