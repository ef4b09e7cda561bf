"""SDLS key management (355.1-B extended procedures, the key part): states, OTAR, storage.

Keys are 256-bit AES keys named by a 16-bit key ID. Master keys, installed before launch, only
unwrap session keys; session keys, uploaded wrapped (AES key wrap, RFC 3394, under a master key),
only protect frames. A session key moves PRE_ACTIVE -> ACTIVE -> DEACTIVATED -> DESTROYED (destroy
is allowed from any state); only an ACTIVE key protects or verifies frames, and a deactivated key
never comes back.

Every change is written to non-volatile storage before the call returns, one blob per key plus an
index, through any object with `read(name)`/`write(name, data)` (`StorageBlobs` adapts the
runtime's atomic `hal.storage.Storage`, saving every blob as a secret: readable by the owner only,
from the creation of its temporary file on). Destroying a key overwrites its blob without the key.
Key material never appears in a repr, an exception, telemetry (`states()`) or a log: it lives in
`_KeyMaterial`, whose repr is a placeholder.
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import Final, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from flight.link.errors import LinkError

KEY_OCTETS: Final[int] = 32
WRAPPED_KEY_OCTETS: Final[int] = KEY_OCTETS + 8
INDEX_BLOB: Final[str] = "sdls-keys"
_BLOB_VERSION: Final[int] = 1
_KEY_RECORD: Final = struct.Struct(">BBB")  # version, state, role


class KeyState(IntEnum):
    PRE_ACTIVE = 1
    ACTIVE = 2
    DEACTIVATED = 3
    DESTROYED = 4


class KeyRole(IntEnum):
    MASTER = 1  # key-encryption key: unwraps uploaded session keys
    SESSION = 2  # traffic key: used by security associations


class BlobStore(Protocol):
    def read(self, name: str) -> bytes:
        """The blob `name`; `FileNotFoundError` or `KeyError` if there is none."""
        ...

    def write(self, name: str, data: bytes) -> None:
        """Durably replace the blob `name`."""
        ...


class StorageBlobs:
    """`hal.storage.Storage` (atomic save/load with CRC) seen as a `BlobStore` of secrets.

    Blobs are saved owner-only (`secret=True`); a blob read back that group or others can read
    (saved 0644 by a version before that) is made owner-only at once."""

    def __init__(self, storage: object) -> None:
        self._storage = storage

    def read(self, name: str) -> bytes:
        data: bytes = self._storage.load(name)  # type: ignore[attr-defined]
        try:
            self._storage.restrict(name)  # type: ignore[attr-defined]
        except OSError:  # a read-only medium: the key stays usable, its mode as it was
            pass
        return data

    def write(self, name: str, data: bytes) -> None:
        self._storage.save(name, data, secret=True)  # type: ignore[attr-defined]


class KeyManagementError(LinkError):
    """A key management command that cannot be carried out; names the key and the reason."""

    def __init__(self, key_id: int, reason: str) -> None:
        super().__init__(f"key {key_id}: {reason}")
        self.key_id = key_id
        self.reason = reason


class _KeyMaterial:
    """Holds key octets; never shows them."""

    __slots__ = ("_octets", "_cipher")

    def __init__(self, octets: bytes) -> None:
        self._octets = octets
        self._cipher: AESGCM | None = None

    def __repr__(self) -> str:
        return "<key material>"

    def cipher(self) -> AESGCM:
        if self._cipher is None:
            self._cipher = AESGCM(self._octets)
        return self._cipher


class _Key:
    __slots__ = ("state", "role", "material")

    def __init__(self, state: KeyState, role: KeyRole, material: _KeyMaterial | None) -> None:
        self.state = state
        self.role = role
        self.material = material


def _check_key_id(key_id: int) -> None:
    if not 0 <= key_id <= 0xFFFF:
        raise KeyManagementError(key_id, "key IDs are 0..65535")


class KeyStore:
    def __init__(self, storage: BlobStore) -> None:
        self._storage = storage
        self._keys: dict[int, _Key] = {}
        self.unreadable: list[str] = []
        self._load()

    def __repr__(self) -> str:
        listed = ", ".join(f"{k}:{key.role.name}/{key.state.name}" for k, key in
                           sorted(self._keys.items()))
        return f"KeyStore({listed})"

    # ------------------------------------------------------------ commands

    def install_master(self, key_id: int, key: bytes) -> None:
        """Install a master key (before launch, or on the ground); ACTIVE at once."""
        _check_key_id(key_id)
        if len(key) != KEY_OCTETS:
            raise KeyManagementError(key_id, f"a master key is {KEY_OCTETS} octets")
        if key_id in self._keys and self._keys[key_id].state != KeyState.DESTROYED:
            raise KeyManagementError(key_id, "already in use; destroy it first")
        self._put(key_id, _Key(KeyState.ACTIVE, KeyRole.MASTER, _KeyMaterial(bytes(key))))

    def load_wrapped(self, key_id: int, wrapped: bytes, master_key_id: int) -> None:
        """OTAR: unwrap a session key with an active master key; it becomes PRE_ACTIVE."""
        _check_key_id(key_id)
        master = self._keys.get(master_key_id)
        if master is None or master.role != KeyRole.MASTER or master.state != KeyState.ACTIVE:
            raise KeyManagementError(key_id, f"master key {master_key_id} is not an active master")
        if key_id in self._keys and self._keys[key_id].state != KeyState.DESTROYED:
            raise KeyManagementError(key_id, "already in use; destroy it first")
        if len(wrapped) != WRAPPED_KEY_OCTETS:
            raise KeyManagementError(key_id, f"a wrapped key is {WRAPPED_KEY_OCTETS} octets")
        assert master.material is not None
        try:
            octets = aes_key_unwrap(master.material._octets, bytes(wrapped))
        except InvalidUnwrap:
            raise KeyManagementError(key_id, "unwrap failed (wrong master or damaged)") from None
        self._put(key_id, _Key(KeyState.PRE_ACTIVE, KeyRole.SESSION, _KeyMaterial(octets)))

    def activate(self, key_id: int) -> None:
        self._transition(key_id, KeyState.PRE_ACTIVE, KeyState.ACTIVE)

    def deactivate(self, key_id: int) -> None:
        self._transition(key_id, KeyState.ACTIVE, KeyState.DEACTIVATED)

    def destroy(self, key_id: int) -> None:
        key = self._keys.get(key_id)
        if key is None or key.state == KeyState.DESTROYED:
            raise KeyManagementError(key_id, "no such key")
        self._put(key_id, _Key(KeyState.DESTROYED, key.role, None))

    def _transition(self, key_id: int, before: KeyState, after: KeyState) -> None:
        key = self._keys.get(key_id)
        if key is None or key.role != KeyRole.SESSION:
            raise KeyManagementError(key_id, "no such session key")
        if key.state != before:
            raise KeyManagementError(
                key_id, f"is {key.state.name}; {after.name} needs {before.name}"
            )
        self._put(key_id, _Key(after, key.role, key.material))

    # ------------------------------------------------------------ queries

    def state(self, key_id: int) -> KeyState | None:
        key = self._keys.get(key_id)
        return None if key is None else key.state

    def states(self) -> dict[int, KeyState]:
        """Key ID -> state, for telemetry (no key material)."""
        return {key_id: key.state for key_id, key in sorted(self._keys.items())}

    def cipher(self, key_id: int) -> AESGCM | None:
        """The AES-GCM instance of an ACTIVE session key, else None."""
        key = self._keys.get(key_id)
        if key is None or key.state != KeyState.ACTIVE or key.role != KeyRole.SESSION:
            return None
        assert key.material is not None
        return key.material.cipher()

    def ctr_key(self, key_id: int) -> bytes | None:
        """The raw octets of an ACTIVE session key, for the encryption-only (CTR) service."""
        key = self._keys.get(key_id)
        if key is None or key.state != KeyState.ACTIVE or key.role != KeyRole.SESSION:
            return None
        assert key.material is not None
        return key.material._octets

    # ------------------------------------------------------------ storage

    def _put(self, key_id: int, key: _Key) -> None:
        record = _KEY_RECORD.pack(_BLOB_VERSION, key.state, key.role)
        if key.material is not None:
            record += key.material._octets
        self._storage.write(_blob_name(key_id), record)
        new = key_id not in self._keys
        self._keys[key_id] = key
        if new:
            self._storage.write(INDEX_BLOB, b"".join(k.to_bytes(2, "big") for k in
                                                     sorted(self._keys)))

    def _load(self) -> None:
        """Read the keys back; a blob that cannot be read or decoded is skipped and named in
        `unreadable` (for an event), so a damaged record costs one key, not the key store."""
        index = self._read(INDEX_BLOB)
        if index is None:
            return
        for i in range(0, len(index) - 1, 2):
            key_id = int.from_bytes(index[i : i + 2], "big")
            name = _blob_name(key_id)
            record = self._read(name)
            if record is None:
                continue
            key = _decode_record(record)
            if key is None:
                self.unreadable.append(name)
            else:
                self._keys[key_id] = key

    def _read(self, name: str) -> bytes | None:
        try:
            return self._storage.read(name)
        except (FileNotFoundError, KeyError):
            return None
        except (OSError, ValueError):  # e.g. hal.storage.StorageCorrupt
            self.unreadable.append(name)
            return None


def _decode_record(record: bytes) -> _Key | None:
    if len(record) < _KEY_RECORD.size:
        return None
    version, state, role = _KEY_RECORD.unpack_from(record)
    material = record[_KEY_RECORD.size :]
    if (
        version != _BLOB_VERSION
        or state not in set(KeyState)
        or role not in set(KeyRole)
    ):
        return None
    if state == KeyState.DESTROYED:
        return _Key(KeyState(state), KeyRole(role), None)
    if len(material) != KEY_OCTETS:
        return None
    return _Key(KeyState(state), KeyRole(role), _KeyMaterial(material))


def _blob_name(key_id: int) -> str:
    return f"sdls-key-{key_id:05d}"


def wrap_key(master_key: bytes, key: bytes) -> bytes:
    """Ground side of OTAR: the RFC 3394 wrapping of `key` under `master_key`."""
    return aes_key_wrap(master_key, key)
