"""Key material on disk is readable by its owner only: the key store's blobs, the development
ground key file and the non-volatile storage directory, at every step of key management and
from the first octet written (whatever the umask), and blobs left readable by an older version
are made owner-only when the key store loads them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from flight.link.devkeys import provision, read_key_file
from flight.link.keystore import KEY_OCTETS, KeyState, KeyStore, StorageBlobs, wrap_key
from flight.link.profile import LinkProfile
from flight.link.uplink_component import Uplink
from flight.runtime.executive import RateGroup
from flight.runtime.records import Stage
from flight.runtime.runtime import Runtime
from flight.svc.dispatcher import CommandDispatcher
from hal.clock import SimClock
from hal.storage import DIR_MODE, SECRET_MODE, FileBackend, Storage, open_storage

MASTER = bytes(range(32))
SESSION = bytes(range(32, 64))
GROUND_KEY_FILE = "sdls-ground.key"


def _is_key_blob(name: str) -> bool:
    """Key store blobs (index and keys) and the ground key file: the SA record next to them
    holds only a key ID and a sequence number, which telemetry shows anyway."""
    return name.startswith("sdls-key") or name == GROUND_KEY_FILE


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _key_files(nvm: Path) -> dict[str, int]:
    return {p.name: _mode(p) for p in nvm.iterdir() if _is_key_blob(p.name)}


@pytest.fixture(params=[0o000, 0o022, 0o277], ids=["umask000", "umask022", "umask277"])
def umask(request):
    saved = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(saved)


@pytest.fixture
def written_modes(monkeypatch) -> list[int]:
    """The mode of the file behind every `os.write` in the test: what another user could have
    read at that instant."""
    modes: list[int] = []
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    return modes


def test_key_blobs_are_owner_only_through_load_activate_rekey_destroy(tmp_path, umask,
                                                                     written_modes):
    nvm = tmp_path / "nvm"
    keys = KeyStore(StorageBlobs(open_storage(str(nvm))))
    keys.install_master(1, MASTER)
    steps = [
        lambda: keys.load_wrapped(10, wrap_key(MASTER, SESSION), 1),
        lambda: keys.activate(10),
        lambda: keys.load_wrapped(11, wrap_key(MASTER, SESSION[::-1]), 1),  # rekey: a new key
        lambda: keys.activate(11),
        lambda: keys.deactivate(10),
        lambda: keys.destroy(10),
    ]
    for step in steps:
        step()
        modes = _key_files(nvm)
        assert modes and set(modes.values()) == {SECRET_MODE}, modes
    assert {"sdls-keys", "sdls-key-00001", "sdls-key-00010", "sdls-key-00011"} <= set(
        _key_files(nvm))
    assert written_modes and all(m == SECRET_MODE for m in written_modes), [
        oct(m) for m in written_modes]
    assert _mode(nvm) == DIR_MODE & ~umask
    again = KeyStore(StorageBlobs(open_storage(str(nvm))))
    assert again.states() == {1: KeyState.ACTIVE, 10: KeyState.DESTROYED, 11: KeyState.ACTIVE}
    assert again.cipher(11) is not None


def test_blobs_left_readable_by_an_older_version_are_restricted_on_load(tmp_path):
    nvm = tmp_path / "nvm"
    keys = KeyStore(StorageBlobs(Storage(FileBackend(nvm))))
    keys.install_master(1, MASTER)
    keys.load_wrapped(10, wrap_key(MASTER, SESSION), 1)
    for name in _key_files(nvm):
        os.chmod(nvm / name, 0o644)  # as saved before key blobs were secret
    again = KeyStore(StorageBlobs(Storage(FileBackend(nvm))))
    assert again.states() == {1: KeyState.ACTIVE, 10: KeyState.PRE_ACTIVE}
    assert set(_key_files(nvm).values()) == {SECRET_MODE}
    assert again.unreadable == []


def test_ground_key_file_is_owner_only_from_its_first_octet(tmp_path, umask, written_modes):
    nvm = tmp_path / "refsat"
    storage = open_storage(str(nvm))
    keys = KeyStore(StorageBlobs(storage))
    ground = provision(keys, storage, LinkProfile(), GROUND_KEY_FILE,
                       random_bytes=lambda n: bytes(n))
    assert ground is not None
    assert _mode(nvm / GROUND_KEY_FILE) == SECRET_MODE
    assert set(_key_files(nvm).values()) == {SECRET_MODE}
    assert written_modes and all(m == SECRET_MODE for m in written_modes)
    assert _mode(nvm) == DIR_MODE & ~umask
    assert read_key_file(nvm / GROUND_KEY_FILE).key_id == ground.key_id


def test_uplink_component_keeps_its_nvm_owner_only_through_key_commands(tmp_path):
    nvm = tmp_path / "nvm"
    rt = Runtime("keysat", clock=SimClock(), tick_hz=10)
    cmd = rt.add(CommandDispatcher("cmd", 0x0400))
    uplink = rt.add(Uplink("uplink", 0x0900), hardware={"storage": str(nvm)},
                    config={"provision_dev_keys": True})
    rt.add_group(RateGroup("rg1hz", 0x0310, divisor=10), ["uplink"])
    rt.boot()
    ground = read_key_file(nvm / GROUND_KEY_FILE)
    new_key = os.urandom(KEY_OCTETS)
    for name, *args in [
        ("uplink.load_key", 11, ground.wrap(new_key), ground.master_key_id),
        ("uplink.activate_key", 11),
        ("uplink.rekey_sa", ground.spi, 11),
        ("uplink.deactivate_key", ground.key_id),
        ("uplink.destroy_key", ground.key_id),
    ]:
        report = cmd.dispatch(rt.command(name, *args))
        assert report.stage is Stage.COMPLETED, (name, report)
        modes = _key_files(nvm)
        assert set(modes.values()) == {SECRET_MODE}, (name, modes)
    assert uplink.keys is not None and uplink.keys.state(11) is KeyState.ACTIVE
    assert GROUND_KEY_FILE in _key_files(nvm) and "sdls-keys" in _key_files(nvm)
    rt.shutdown()
