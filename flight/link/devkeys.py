"""Development keys: generated on board at first boot, handed to the ground in a key file.

A flight unit gets its master keys before launch and keeps key material nowhere but its key
store. For development and demonstrations the uplink component can instead (`provision_dev_keys =
true`) generate a fresh master key and a session key at first boot, when its key store holds no
key, activate the session key for the security association, and write a ground key file into the
same non-volatile storage: a CRC-checked `hal.storage` blob, JSON inside, named by `key_file`,
saved as a secret (owner-only, 0600, from the creation of its temporary file on).
`flight ground --key PATH` reads it. The file holds both keys in clear: a development convenience
that a flight configuration leaves off.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Final

from flight.link.keystore import KEY_OCTETS, KeyStore, StorageBlobs, wrap_key
from flight.link.profile import LinkProfile
from hal.storage import FileBackend, SimBackend, Storage, StorageError

KEY_FILE_FORMAT: Final[str] = "autonomous-sky-ground-keys/1"


class KeyFileError(ValueError):
    """A ground key file that cannot be read or does not hold what it should."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


class GroundKeys:
    """The keys the ground needs for one security association. The octets never show in a repr."""

    __slots__ = ("spi", "key_id", "master_key_id", "_key", "_master")

    def __init__(self, spi: int, key_id: int, key: bytes, master_key_id: int,
                 master_key: bytes) -> None:
        if len(key) != KEY_OCTETS or len(master_key) != KEY_OCTETS:
            raise ValueError(f"keys are {KEY_OCTETS} octets")
        self.spi = spi
        self.key_id = key_id
        self.master_key_id = master_key_id
        self._key = bytes(key)
        self._master = bytes(master_key)

    def __repr__(self) -> str:
        return (f"GroundKeys(spi={self.spi}, key {self.key_id}, master {self.master_key_id}, "
                "material hidden)")

    def key_store(self) -> KeyStore:
        """An in-memory key store holding the master key and the session key, ACTIVE."""
        store = KeyStore(StorageBlobs(Storage(SimBackend())))
        store.install_master(self.master_key_id, self._master)
        self.install_session(store)
        return store

    def install_session(self, store: KeyStore) -> None:
        """Load and activate the session key in `store` (which holds the master key)."""
        store.load_wrapped(self.key_id, wrap_key(self._master, self._key), self.master_key_id)
        store.activate(self.key_id)

    def wrap(self, new_key: bytes) -> bytes:
        """`new_key` wrapped under the master key, for the `uplink.load_key` command (OTAR)."""
        return wrap_key(self._master, new_key)

    def rekeyed(self, key_id: int, key: bytes) -> GroundKeys:
        return GroundKeys(self.spi, key_id, key, self.master_key_id, self._master)

    def encode(self) -> bytes:
        return json.dumps({
            "format": KEY_FILE_FORMAT, "spi": self.spi, "key_id": self.key_id,
            "key": self._key.hex(), "master_key_id": self.master_key_id,
            "master_key": self._master.hex(),
        }).encode()

    @classmethod
    def decode(cls, data: bytes, path: str = "<key file>") -> GroundKeys:
        try:
            body = json.loads(data)
            if body.get("format") != KEY_FILE_FORMAT:
                raise KeyFileError(path, f"not a ground key file (format {body.get('format')!r})")
            return cls(int(body["spi"]), int(body["key_id"]), bytes.fromhex(body["key"]),
                       int(body["master_key_id"]), bytes.fromhex(body["master_key"]))
        except KeyFileError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise KeyFileError(path, f"malformed ({type(exc).__name__})") from None


def provision(keys: KeyStore, storage: Storage, profile: LinkProfile, key_file: str, *,
              random_bytes: Callable[[int], bytes] = os.urandom) -> GroundKeys | None:
    """At first boot (a key store without keys): fresh master and session keys, the session key
    ACTIVE, and the ground key file saved. None when the key store already has keys."""
    if keys.states():
        return None
    master, session = random_bytes(KEY_OCTETS), random_bytes(KEY_OCTETS)
    ground = GroundKeys(profile.spi, profile.key_id, session, profile.master_key_id, master)
    storage.save(key_file, ground.encode(), secret=True)  # keys in clear: the owner only
    keys.install_master(profile.master_key_id, master)
    keys.load_wrapped(profile.key_id, wrap_key(master, session), profile.master_key_id)
    keys.activate(profile.key_id)
    return ground


def read_key_file(path: str | os.PathLike[str]) -> GroundKeys:
    """The ground key file at `path` (a blob in a `hal.storage` directory, as `provision` saved
    it)."""
    path = os.path.expanduser(os.fspath(path))
    directory, name = os.path.split(os.path.abspath(path))
    if not os.path.isfile(path):
        raise KeyFileError(path, "no such file")
    try:
        data = Storage(FileBackend(directory)).load(name)
    except StorageError as exc:
        raise KeyFileError(path, str(exc)) from None
    return GroundKeys.decode(data, path)
