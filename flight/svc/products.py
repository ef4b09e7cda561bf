"""The product store: files in non-volatile storage with CRC-32C, a prioritized catalog, a quota.

Everything the satellite keeps until a pass brings it home lives here as a file: payload data
products, recorded housekeeping, stored sequences, schedule tables, files uplinked by CFDP. A
file has an ID (never reused), a path (unique; storing a path again replaces the file), a
category, a priority (0 = most important and never deleted by the quota, 255 = first to go), its
size, its CRC-32C (`flight.codec.crc32c`), its creation time (TAI), free-form metadata, and
whether it was downlinked.

On the medium (`hal.storage`, a flat directory) file N is the blob ``f.NNNNNNNN``::

    >4sIIII  magic "ASF1", metadata length, metadata CRC-32C, data length, data CRC-32C
    metadata msgpack {"id", "path", "category", "priority", "created_tai", "meta"}
    data

written as ``f.NNNNNNNN.tmp``, fsynced, renamed over the name, and the directory fsynced: a file
is visible whole or not at all, and each file describes itself. The catalog (`Journal`
``catalog``: a snapshot plus an append-only journal of adds, deletes, priority changes and
downlink marks) is written after the file, and a store is acknowledged once the catalog record
is committed (fsynced). Deleting removes the file first, then records it.

Power lost at any instant therefore leaves one of: a ``.tmp`` (removed at boot: nothing
half-written is ever visible), a complete file the catalog does not know yet (recovered at boot
from its own header), or a catalog entry whose file was deleted (dropped at boot). Opening the
store reconciles catalog and directory this way, resolves two files with one path (a replacement
interrupted between writing the new file and deleting the old: the newer ID wins), and, if it
changed anything, writes a fresh catalog snapshot: after boot the catalog always matches the
files. File contents are checked against their CRC-32C on every read and by `verify`.

Quota: before a file is stored, the least important files go until it fits: the highest
priority number first, the oldest (lowest ID) first within a priority; priority 0 is never
deleted. A file that cannot fit is refused (`StoreFull`).

`StoreFilestore` offers the store to the CFDP engine (`flight.cfdp.filestore.Filestore`): files
are read by path (or ID) for downlink, and a file received by CFDP is stored atomically under
its name when the transaction completes, never before.
"""

from __future__ import annotations

import posixpath
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any, Final

import msgpack

from flight.cfdp.filestore import BufferedPartial, BytesRead
from flight.codec import crc32c
from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Health,
    Throttle,
    Update,
    command,
    input_port,
)
from flight.runtime.errors import CommandError, ConfigError, ReasonCode
from flight.runtime.records import HousekeepingPacket, Severity
from flight.runtime.types import BOOL, U8, U16, U32, U64, Enum, String
from flight.svc.journal import Journal, JournalError, records_of
from flight.svc.sctime import component_time, tai_or_none, utc_text
from hal.storage import Storage, StorageError, open_storage
from hal.time import TimeSource

MAGIC: Final = b"ASF1"
_HEADER: Final = struct.Struct(">4sIIII")
FILE_PREFIX: Final = "f."
TMP_SUFFIX: Final = ".tmp"
MAX_PATH_OCTETS: Final = 128
MAX_META_OCTETS: Final = 4096
PROTECTED: Final = 0
LOWEST: Final = 255


class FileCategory(IntEnum):
    PRODUCT = 0  # payload data products
    HOUSEKEEPING = 1  # recorded housekeeping telemetry
    SEQUENCE = 2  # command sequences
    TABLE = 3  # schedule tables and listings
    UPLINK = 4  # any other file received from the ground


class StoreError(OSError):
    """Base of the product store's refusals; `reason` is the command failure code it maps to."""

    reason = ReasonCode.STORAGE_ERROR


class UnknownFile(StoreError):
    reason = ReasonCode.NOT_FOUND

    def __init__(self, key: int | str) -> None:
        super().__init__(f"no stored file {key!r}")
        self.key = key


class StoreUnavailable(StoreError):
    """The store could not be opened (its medium failed at boot)."""

    reason = ReasonCode.COMPONENT_UNAVAILABLE

    def __init__(self, name: str) -> None:
        super().__init__(f"{name}: the store is not open (storage failed at boot)")


class BadPath(StoreError, ValueError):
    reason = ReasonCode.OUT_OF_RANGE

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"path {path!r}: {detail}")
        self.path = path
        self.detail = detail


class StoreFull(StoreError):
    """Not enough room even after deleting every file the quota may delete."""

    def __init__(self, path: str, needed: int, available: int) -> None:
        super().__init__(f"{path}: needs {needed} octets, at most {available} can be freed")
        self.path = path
        self.needed = needed
        self.available = available


class FileCorrupt(StoreError):
    """A stored file whose content or header does not match its CRC-32C."""

    def __init__(self, key: int | str, detail: str, *, expected: int | None = None,
                 actual: int | None = None) -> None:
        super().__init__(f"stored file {key!r} is corrupt: {detail}")
        self.key = key
        self.detail = detail
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True)
class StoredFile:
    """One catalog entry."""

    file_id: int
    path: str
    category: FileCategory
    priority: int
    size: int  # data octets
    crc32c: int  # of the data
    created_tai: float
    disk_octets: int  # header, metadata and data: what counts against the quota
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    downlinked: bool = False

    def row(self) -> list[Any]:
        return [self.file_id, self.path, int(self.category), self.priority, self.size,
                self.crc32c, self.created_tai, self.disk_octets, self.meta, self.downlinked]

    @classmethod
    def from_row(cls, row: Any) -> StoredFile:
        if type(row) is not list or len(row) != 10:
            raise JournalError("catalog", f"file row {row!r} is not 10 fields")
        fid, path, cat, prio, size, crc, created, disk, meta, down = row
        if not (type(fid) is int and type(path) is str and type(prio) is int and type(size) is int
                and type(crc) is int and type(disk) is int and type(meta) is dict):
            raise JournalError("catalog", f"file row {row!r} has fields of the wrong type")
        return cls(fid, path, FileCategory(cat), prio, size, crc, float(created), disk, meta,
                   bool(down))


def normalize_path(path: str) -> str:
    """`path` as a clean relative path ("images/0001.img"), or `BadPath`."""
    if type(path) is not str:
        raise BadPath(repr(path), "not a string")
    cleaned = posixpath.normpath("/" + path.replace("\\", "/")).lstrip("/")
    if not cleaned or cleaned == "." or ".." in path.replace("\\", "/").split("/"):
        raise BadPath(path, "not a file name inside the store")
    if "\x00" in path or any(ord(c) < 0x20 for c in path):
        raise BadPath(path, "control characters are not allowed")
    if len(cleaned.encode()) > MAX_PATH_OCTETS:
        raise BadPath(path, f"{len(cleaned.encode())} octets, at most {MAX_PATH_OCTETS}")
    if cleaned.isdigit():
        raise BadPath(path, "all digits: that is how file IDs are written")
    return cleaned


def blob_name(file_id: int) -> str:
    return f"{FILE_PREFIX}{file_id:08d}"


def encode_file(info: StoredFile, data: bytes) -> bytes:
    """The on-medium form of a file (see the module notes)."""
    meta = msgpack.packb({"id": info.file_id, "path": info.path, "category": int(info.category),
                          "priority": info.priority, "created_tai": info.created_tai,
                          "meta": info.meta})
    return _HEADER.pack(MAGIC, len(meta), crc32c(meta), len(data), info.crc32c) + meta + data


def decode_header(name: str, blob: bytes) -> tuple[StoredFile, int]:
    """(the file's catalog entry from its own header, data offset); `FileCorrupt` if it does
    not check."""
    if len(blob) < _HEADER.size:
        raise FileCorrupt(name, f"{len(blob)} octets, shorter than the header",
                          expected=_HEADER.size, actual=len(blob))
    magic, meta_len, meta_crc, data_len, data_crc = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise FileCorrupt(name, f"magic {magic!r}, expected {MAGIC!r}")
    start = _HEADER.size + meta_len
    if meta_len > MAX_META_OCTETS or start + data_len != len(blob):
        raise FileCorrupt(name, f"{len(blob)} octets, header says {start + data_len}",
                          expected=start + data_len, actual=len(blob))
    meta_raw = blob[_HEADER.size:start]
    actual = crc32c(meta_raw)
    if actual != meta_crc:
        raise FileCorrupt(name, "metadata CRC-32C mismatch", expected=meta_crc, actual=actual)
    try:
        m = msgpack.unpackb(meta_raw, raw=False, strict_map_key=False)
        info = StoredFile(int(m["id"]), normalize_path(m["path"]), FileCategory(m["category"]),
                          int(m["priority"]), data_len, data_crc, float(m["created_tai"]),
                          len(blob), dict(m["meta"]))
    except (ValueError, TypeError, KeyError, msgpack.UnpackException) as exc:
        raise FileCorrupt(name, f"metadata does not decode: {exc}") from None
    return info, start


@dataclass
class OpenReport:
    """What opening the store found and repaired."""

    files: int = 0
    recovered: list[StoredFile] = field(default_factory=list)  # files the catalog did not know
    missing: list[StoredFile] = field(default_factory=list)  # catalog entries without a file
    superseded: list[StoredFile] = field(default_factory=list)  # older files of a replaced path
    tmp_removed: int = 0  # half-written files removed
    damaged_removed: list[str] = field(default_factory=list)  # files whose header is corrupt
    catalog_error: str = ""  # the catalog could not be read: rebuilt from the files alone


class FileStore:
    """The store's logic over a `Storage`, without the component around it (see the module)."""

    def __init__(self, storage: Storage, *, quota_bytes: int,
                 now_tai: Callable[[], float | None], name: str = "catalog",
                 on_evict: Callable[[StoredFile], None] | None = None) -> None:
        if quota_bytes < 1:
            raise ValueError(f"quota {quota_bytes} must be positive")
        self.storage = storage
        self.backend = storage.backend
        self.quota_bytes = quota_bytes
        self.now_tai = now_tai
        self.on_evict = on_evict
        self.journal = Journal(storage, name)
        self.catalog: dict[int, StoredFile] = {}
        self.by_path: dict[str, int] = {}
        self.next_id = 1
        self.used_bytes = 0
        self.category_counts = {c: 0 for c in FileCategory}

    # --- boot -----------------------------------------------------------------------------

    def open(self) -> OpenReport:
        report = OpenReport()
        try:
            state, changes = self.journal.open()
            self._replay(state, changes)
        except (StorageError, JournalError) as exc:
            report.catalog_error = str(exc)[:120]
            self.catalog.clear()
            self.next_id = 1
        self._reconcile(report)
        self.by_path = {f.path: f.file_id for f in self.catalog.values()}
        self.used_bytes = sum(f.disk_octets for f in self.catalog.values())
        for f in self.catalog.values():
            self.category_counts[f.category] += 1
        report.files = len(self.catalog)
        if (report.recovered or report.missing or report.superseded or report.catalog_error
                or report.damaged_removed):
            self.journal.compact(self._state())
        return report

    def _replay(self, state: Any, changes: list[Any]) -> None:
        if state is not None:
            if type(state) is not list or len(state) != 2 or type(state[0]) is not int:
                raise JournalError("catalog", "snapshot is not [next_id, files]")
            self.next_id = state[0]
            for row in state[1]:
                f = StoredFile.from_row(row)
                self.catalog[f.file_id] = f
        for kind, fields in records_of(changes):
            if kind == "a":
                f = StoredFile.from_row(fields[0])
                self.catalog[f.file_id] = f
                self.next_id = max(self.next_id, f.file_id + 1)
            elif kind == "d":
                self.catalog.pop(fields[0], None)
            elif kind == "p" and fields[0] in self.catalog:
                self.catalog[fields[0]] = replace(self.catalog[fields[0]], priority=fields[1])
            elif kind == "l" and fields[0] in self.catalog:
                self.catalog[fields[0]] = replace(self.catalog[fields[0]], downlinked=True)
            elif kind not in ("p", "l"):
                raise JournalError("catalog", f"unknown change {kind!r}")

    def _reconcile(self, report: OpenReport) -> None:
        on_disk: set[int] = set()
        b = self.backend
        for name in b.names():
            if not name.startswith(FILE_PREFIX):
                continue
            digits = name[len(FILE_PREFIX):]
            if digits.endswith(TMP_SUFFIX):
                b.delete(name)
                report.tmp_removed += 1
            elif digits.isdigit():
                on_disk.add(int(digits))
        for fid in sorted(set(self.catalog) - on_disk):
            report.missing.append(self.catalog.pop(fid))
        for fid in sorted(on_disk - set(self.catalog)):
            name = blob_name(fid)
            try:
                info, _ = decode_header(name, b.read(name))
                if info.file_id != fid:
                    raise FileCorrupt(name, f"header names file {info.file_id}")
            except FileCorrupt:
                b.delete(name)
                report.damaged_removed.append(name)
                continue
            self.catalog[fid] = info
            report.recovered.append(info)
        newest: dict[str, int] = {}
        for fid in sorted(self.catalog):
            path = self.catalog[fid].path
            if path in newest:
                old = self.catalog.pop(newest[path])
                b.delete(blob_name(old.file_id))
                report.superseded.append(old)
            newest[path] = fid
        if report.tmp_removed or report.damaged_removed or report.superseded:
            b.sync_dir()
        if self.catalog:
            self.next_id = max(self.next_id, max(self.catalog) + 1)
        if on_disk:
            self.next_id = max(self.next_id, max(on_disk) + 1)

    def _state(self) -> list[Any]:
        return [self.next_id, [f.row() for f in self.catalog.values()]]

    # --- queries --------------------------------------------------------------------------

    def find(self, key: int | str) -> StoredFile:
        """The file with ID `key` (an int, or a string of digits), or at path `key`."""
        if type(key) is int or (type(key) is str and key.isdigit()):
            found = self.catalog.get(int(key))
        else:
            try:
                found = self.catalog.get(self.by_path.get(normalize_path(key), -1))
            except BadPath:
                found = None
        if found is None:
            raise UnknownFile(key)
        return found

    def files(self) -> list[StoredFile]:
        return [self.catalog[fid] for fid in sorted(self.catalog)]

    def read(self, key: int | str) -> bytes:
        """The data of a file, checked against its CRC-32C."""
        info = self.find(key)
        try:
            blob = self.backend.read(blob_name(info.file_id))
        except FileNotFoundError:
            raise FileCorrupt(key, "the file is missing from the medium") from None
        header, start = decode_header(blob_name(info.file_id), blob)
        data = blob[start:]
        actual = crc32c(data)
        if header.crc32c != info.crc32c or actual != info.crc32c:
            raise FileCorrupt(key, "data CRC-32C mismatch", expected=info.crc32c, actual=actual)
        return data

    @property
    def free_bytes(self) -> int:
        return max(0, self.quota_bytes - self.used_bytes)

    # --- changes --------------------------------------------------------------------------

    def write(self, path: str, data: bytes, *, category: FileCategory, priority: int,
              meta: Mapping[str, Any] | None = None) -> tuple[StoredFile, list[StoredFile]]:
        """Store `data` at `path` (replacing a file there); durable when this returns.

        Returns the entry and the files the quota deleted to make room."""
        path = normalize_path(path)
        if type(priority) is not int or not PROTECTED <= priority <= LOWEST:
            raise BadPath(path, f"priority {priority!r} outside {PROTECTED}..{LOWEST}")
        data = bytes(data)
        meta = dict(meta or {})
        created = self.now_tai()
        info = StoredFile(self.next_id, path, FileCategory(category), priority, len(data),
                          crc32c(data), created if created is not None else 0.0, 0, meta)
        blob = encode_file(info, data)
        if len(blob) - len(data) > MAX_META_OCTETS + _HEADER.size:
            raise BadPath(path, f"metadata of {len(blob) - len(data) - _HEADER.size} octets "
                                f"exceeds {MAX_META_OCTETS}")
        info = replace(info, disk_octets=len(blob))
        replaced = self.catalog.get(self.by_path.get(path, -1))
        evicted = self._make_room(path, len(blob), replaced)
        self.next_id += 1
        name = blob_name(info.file_id)
        b = self.backend
        b.write(name + TMP_SUFFIX, blob)
        b.sync(name + TMP_SUFFIX)
        b.rename(name + TMP_SUFFIX, name)
        b.sync_dir()
        self.journal.append(["a", info.row()])
        self._add(info)
        if replaced is not None:
            self._remove_file(replaced)
        self.journal.commit()
        self._maybe_compact()
        return info, evicted

    def _make_room(self, path: str, needed: int, keep: StoredFile | None) -> list[StoredFile]:
        if self.used_bytes + needed <= self.quota_bytes:
            return []
        candidates = sorted(
            (f for f in self.catalog.values() if f.priority != PROTECTED and f is not keep),
            key=lambda f: (-f.priority, f.file_id),
        )
        freeable = sum(f.disk_octets for f in candidates)
        if self.used_bytes - freeable + needed > self.quota_bytes:
            raise StoreFull(path, needed, self.quota_bytes - self.used_bytes + freeable)
        evicted: list[StoredFile] = []
        for victim in candidates:
            if self.used_bytes + needed <= self.quota_bytes:
                break
            if self.on_evict is not None:
                self.on_evict(victim)
            self._remove_file(victim)
            evicted.append(victim)
        return evicted

    def delete(self, key: int | str) -> StoredFile:
        info = self.find(key)
        self._remove_file(info)
        self.journal.commit()
        self._maybe_compact()
        return info

    def _remove_file(self, info: StoredFile) -> None:
        """Delete the file, then record it (committed by the caller)."""
        self.backend.delete(blob_name(info.file_id))
        self.backend.sync_dir()
        self.journal.append(["d", info.file_id])
        del self.catalog[info.file_id]
        if self.by_path.get(info.path) == info.file_id:
            del self.by_path[info.path]
        self.used_bytes -= info.disk_octets
        self.category_counts[info.category] -= 1

    def _add(self, info: StoredFile) -> None:
        self.catalog[info.file_id] = info
        self.by_path[info.path] = info.file_id
        self.used_bytes += info.disk_octets
        self.category_counts[info.category] += 1

    def set_priority(self, key: int | str, priority: int) -> StoredFile:
        info = self.find(key)
        if not PROTECTED <= priority <= LOWEST:
            raise BadPath(info.path, f"priority {priority} outside {PROTECTED}..{LOWEST}")
        return self._change(info, ["p", info.file_id, priority], priority=priority)

    def mark_downlinked(self, key: int | str) -> StoredFile:
        info = self.find(key)
        if info.downlinked:
            return info
        return self._change(info, ["l", info.file_id], downlinked=True)

    def _change(self, info: StoredFile, record: list[Any], **changes: Any) -> StoredFile:
        self.journal.append(record)
        self.journal.commit()
        new = replace(info, **changes)
        self.catalog[info.file_id] = new
        self._maybe_compact()
        return new

    def _maybe_compact(self) -> None:
        if self.journal.should_compact():
            self.journal.compact(self._state())


class StoreFilestore:
    """The product store as a CFDP `Filestore`: downlink by path or ID, atomic uplink.

    A received file is stored when its transaction completes, as category SEQUENCE if its name
    ends in ``.seq``, else UPLINK, at `uplink_priority`; `on_received` hears of it."""

    def __init__(self, store: ProductStore) -> None:
        self.store = store

    def check_name(self, name: str) -> None:
        try:
            normalize_path(name)
        except BadPath as exc:
            raise _filestore_error(name, exc.detail) from None

    def open_read(self, name: str) -> BytesRead:
        try:
            return BytesRead(self.store.read(name))
        except StoreError as exc:
            raise _filestore_error(name, str(exc)) from None

    def create_partial(self) -> BufferedPartial:
        """A file being received, held aside and stored atomically only when it completes."""
        return BufferedPartial(self.receive)

    def receive(self, name: str, data: bytes) -> None:
        category = FileCategory.SEQUENCE if name.endswith(".seq") else FileCategory.UPLINK
        try:
            self.store.write(name, data, category=category, priority=self.store.uplink_priority,
                             meta={"source": "uplink"})
        except StoreError as exc:
            raise _filestore_error(name, str(exc)) from None


def _filestore_error(name: str, reason: str) -> OSError:
    """CFDP's `FilestoreError`, imported only when a CFDP engine uses the store (the CFDP
    package is large, and most users of the store never load it)."""
    from flight.cfdp.errors import FilestoreError

    return FilestoreError(name, reason)


_HK_RECORD: Final = struct.Struct(">dHH")  # TAI, structure ID, payload length


class ProductStore(Component):
    """Files with CRC-32C in non-volatile storage, their catalog and quota; records HK."""

    used_bytes = Channel(1, U64, unit="B", update=Update.ON_CHANGE,
                         doc="octets stored (headers included), counted against the quota")
    free_bytes = Channel(2, U64, unit="B", update=Update.ON_CHANGE, doc="quota left")
    files = Channel(3, U32, update=Update.ON_CHANGE, doc="files in the catalog")
    products = Channel(4, U32, update=Update.ON_CHANGE, doc="payload data products stored")
    quota_deletions = Channel(5, U32, update=Update.ON_CHANGE,
                              doc="files deleted by the quota since boot")
    errors = Channel(6, U32, update=Update.ON_CHANGE,
                     doc="store failures and corrupt reads since boot")
    recovered = Channel(7, U32, update=Update.ON_CHANGE,
                        doc="files repaired into the catalog at the last boot")
    stored = Channel(8, U32, update=Update.ON_CHANGE, doc="files stored since boot")
    hk_files = Channel(9, U32, update=Update.ON_CHANGE,
                       doc="housekeeping recording files written since boot")
    pending_downlink = Channel(10, U32, update=Update.ON_CHANGE,
                               doc="files not yet marked downlinked")

    opened = Event(1, Severity.ACTIVITY_HI,
                   "store holds {files} files, {used} octets; repaired: {recovered} recovered, "
                   "{missing} missing, {tmp} half-written removed",
                   throttle=None, files=U32, used=U64, recovered=U32, missing=U32, tmp=U32)
    file_stored = Event(2, Severity.ACTIVITY_LO,
                        "stored file {file_id} {path}: {size} octets, CRC-32C 0x{crc:08X}",
                        file_id=U32, path=String(128), size=U32, crc=U32)
    file_deleted = Event(3, Severity.ACTIVITY_HI, "deleted file {file_id} {path}",
                         file_id=U32, path=String(128))
    quota_deleted = Event(4, Severity.WARNING_LO,
                          "quota: deleted file {file_id} {path} (priority {priority})",
                          throttle=Throttle(20, 60.0), file_id=U32, path=String(128),
                          priority=U8)
    corrupt = Event(5, Severity.WARNING_HI, "file {key} is corrupt: {detail}",
                    throttle=Throttle(10, 60.0), key=String(128), detail=String(120))
    store_failed = Event(6, Severity.WARNING_HI, "storing {path} failed: {detail}",
                         throttle=Throttle(10, 60.0), path=String(128), detail=String(120))
    file_listed = Event(7, Severity.ACTIVITY_LO,
                        "file {file_id} {path}: {size} octets, {category}, priority {priority}, "
                        "created {created}, downlinked {downlinked}",
                        throttle=None, file_id=U32, path=String(128), size=U32,
                        category=Enum(FileCategory), priority=U8, created=String(32),
                        downlinked=BOOL)
    verified = Event(8, Severity.ACTIVITY_LO, "verified {checked} files: {bad} corrupt",
                     throttle=None, checked=U32, bad=U32)
    downlinked = Event(9, Severity.ACTIVITY_LO, "file {file_id} {path} marked downlinked",
                       file_id=U32, path=String(128))
    repaired = Event(10, Severity.WARNING_LO, "boot repair: file {file_id} {path} {what}",
                     throttle=Throttle(20, 60.0), file_id=U32, path=String(128), what=String(32))
    catalog_rebuilt = Event(11, Severity.WARNING_HI,
                            "catalog unreadable ({detail}); rebuilt from the files",
                            throttle=None, detail=String(120))
    priority_set = Event(12, Severity.ACTIVITY_HI, "file {file_id} {path} priority {priority}",
                         throttle=None, file_id=U32, path=String(128), priority=U8)

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.quota = 64 * 1024 * 1024
        self.catalog_name = "catalog"
        self.uplink_priority = 1
        self.hk_period_s = 600.0
        self.hk_priority = 5
        self.hk_decimation: dict[int, int] | None = None  # SID -> record 1 packet in N
        self._hk_seen: dict[int, int] = {}
        self.store: FileStore | None = None
        self.time: TimeSource | None = None
        self._counts = {"stored": 0, "quota": 0, "errors": 0, "hk": 0}
        self._hk: list[bytes] = []
        self._hk_first: float | None = None
        self._hk_count = 0
        self._hk_opened_at: float | None = None

    def configure(self, config: Mapping[str, Any]) -> None:
        for key, value in config.items():
            if key == "quota_bytes":
                if type(value) is not int or value < 4096:
                    raise ConfigError(key, f"{value!r} must be an integer of at least 4096")
                self.quota = value
            elif key == "catalog":
                if type(value) is not str or not value.isidentifier():
                    raise ConfigError(key, f"{value!r} must be a plain name")
                self.catalog_name = value
            elif key in ("uplink_priority", "hk_priority"):
                if type(value) is not int or not PROTECTED <= value <= LOWEST:
                    raise ConfigError(key, f"{value!r} must be an integer in 0..255")
                setattr(self, key, value)
            elif key == "hk_period_s":
                if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                    raise ConfigError(key, f"{value!r} must be a positive number of seconds")
                self.hk_period_s = float(value)
            elif key == "hk_decimation":
                self.hk_decimation = _decimation(key, value)
            else:
                raise ConfigError(key, "unknown setting (known: quota_bytes, catalog, "
                                       "uplink_priority, hk_priority, hk_period_s, "
                                       "hk_decimation)")

    def restore(self) -> None:
        self.time = component_time(self)
        store = FileStore(open_storage(self.hardware("storage")), quota_bytes=self.quota,
                          now_tai=self._tai, name=self.catalog_name, on_evict=self._evicting)
        try:
            report = store.open()
        except OSError as exc:  # the medium itself fails: run without a store, say so
            self.emit(self.store_failed, "(catalog)", str(exc)[:120])
            self.set_health(Health.FAULT, "storage unusable")
            return
        self.store = store
        if report.catalog_error:
            self.emit(self.catalog_rebuilt, report.catalog_error)
        for what, infos in (("recovered", report.recovered), ("missing", report.missing),
                            ("superseded", report.superseded)):
            for info in infos:
                self.emit(self.repaired, info.file_id, info.path, what)
        self.emit(self.opened, report.files, self.store.used_bytes, len(report.recovered),
                  len(report.missing), report.tmp_removed)
        self.tlm(self.recovered, len(report.recovered))
        self._report()

    def _tai(self) -> float | None:
        return None if self.time is None else tai_or_none(self.time)

    def _require(self) -> FileStore:
        if self.store is None:
            raise StoreUnavailable(self.name)
        return self.store

    def _command_store(self) -> FileStore:
        try:
            return self._require()
        except StoreUnavailable as exc:
            raise CommandError(exc.reason, str(exc)) from None

    def _evicting(self, info: StoredFile) -> None:
        self._counts["quota"] += 1
        self.emit(self.quota_deleted, info.file_id, info.path, info.priority)

    def _report(self) -> None:
        s = self.store
        if s is None:
            return
        self.tlm(self.used_bytes, s.used_bytes)
        self.tlm(self.free_bytes, s.free_bytes)
        self.tlm(self.files, len(s.catalog))
        self.tlm(self.products, s.category_counts[FileCategory.PRODUCT])
        self.tlm(self.quota_deletions, self._counts["quota"])
        self.tlm(self.errors, self._counts["errors"])
        self.tlm(self.stored, self._counts["stored"])
        self.tlm(self.hk_files, self._counts["hk"])
        self.tlm(self.pending_downlink, sum(1 for f in s.catalog.values() if not f.downlinked))

    # --- the API other components use ---------------------------------------------------------

    def write(self, path: str, data: bytes, *, category: FileCategory, priority: int,
              meta: Mapping[str, Any] | None = None) -> StoredFile:
        """Store a file (durable on return); raises `StoreError` with the reason."""
        store = self._require()
        try:
            info, _ = store.write(path, data, category=category, priority=priority, meta=meta)
        except (StoreError, OSError) as exc:
            self._counts["errors"] += 1
            self.emit(self.store_failed, str(path)[:128], str(exc)[:120])
            self._report()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(str(exc)) from exc
        self._counts["stored"] += 1
        self.emit(self.file_stored, info.file_id, info.path, info.size, info.crc32c)
        self._report()
        return info

    def read(self, key: int | str) -> bytes:
        """A file's data, checked against its CRC-32C; raises `StoreError`."""
        store = self._require()
        try:
            return store.read(key)
        except FileCorrupt as exc:
            self._counts["errors"] += 1
            self.emit(self.corrupt, str(key)[:128], exc.detail[:120])
            self._report()
            raise

    def info(self, key: int | str) -> StoredFile:
        return self._require().find(key)

    def file_list(self) -> list[StoredFile]:
        return self._require().files()

    def filestore(self) -> StoreFilestore:
        """This store as a CFDP filestore."""
        return StoreFilestore(self)

    # --- housekeeping recording ----------------------------------------------------------------

    @input_port(depth=64, policy="drop_oldest")
    def housekeeping(self, packet: HousekeepingPacket) -> None:
        """Housekeeping packets to record, rolled into a file every `hk_period_s`; with
        `hk_decimation`, only the listed structure IDs, one packet in N."""
        if self.hk_decimation is not None:
            every = self.hk_decimation.get(packet.sid)
            if every is None:
                return
            seen = self._hk_seen.get(packet.sid, 0)
            self._hk_seen[packet.sid] = seen + 1
            if seen % every:
                return
        tai = self._tai()
        stamp = tai if tai is not None else packet.time
        payload = packet.pack()
        self._hk.append(_HK_RECORD.pack(stamp, packet.sid, len(payload)) + payload)
        if self._hk_first is None:
            self._hk_first = stamp
            self._hk_opened_at = self.now()
        self._hk_count += 1

    def cycle(self) -> None:
        if self._hk and self._hk_opened_at is not None and (
            self.now() - self._hk_opened_at >= self.hk_period_s
        ):
            self.flush_housekeeping()

    def flush_housekeeping(self) -> StoredFile | None:
        """Write the recorded housekeeping to a file now (also done every `hk_period_s`)."""
        if not self._hk or self._hk_first is None:
            return None
        data = b"".join(self._hk)
        path = f"hk/{_stamp(self._hk_first)}.hk"
        meta = {"kind": "housekeeping", "records": self._hk_count,
                "first_tai": self._hk_first, "record": "TAI f64, SID u16, length u16, packet"}
        self._hk.clear()
        self._hk_first = self._hk_opened_at = None
        self._hk_count = 0
        try:
            info = self.write(path, data, category=FileCategory.HOUSEKEEPING,
                              priority=self.hk_priority, meta=meta)
        except StoreError:
            return None
        self._counts["hk"] += 1
        self._report()
        return info

    def stop(self) -> None:
        if self.store is not None:
            self.flush_housekeeping()

    # --- commands ----------------------------------------------------------------------------

    def _command(self, action: Callable[[], StoredFile]) -> StoredFile:
        try:
            return action()
        except StoreError as exc:
            raise CommandError(exc.reason, str(exc)) from None

    @command(1, file=String(MAX_PATH_OCTETS))
    def delete_file(self, file: str) -> None:
        """Delete a file, by path or ID."""
        info = self._command(lambda: self._require().delete(file))
        self.emit(self.file_deleted, info.file_id, info.path)
        self._report()

    @command(2, file=String(MAX_PATH_OCTETS), priority=U8)
    def set_priority(self, file: str, priority: int) -> None:
        """Change a file's priority (0: never deleted by the quota; 255: deleted first)."""
        info = self._command(lambda: self._require().set_priority(file, priority))
        self.emit(self.priority_set, info.file_id, info.path, priority)

    @command(3, file=String(MAX_PATH_OCTETS))
    def mark_downlinked(self, file: str) -> None:
        """Record that the ground has the file intact."""
        info = self._command(lambda: self._require().mark_downlinked(file))
        self.emit(self.downlinked, info.file_id, info.path)
        self._report()

    @command(4, file=String(MAX_PATH_OCTETS))
    def verify(self, file: str) -> None:
        """Check a file's content against its CRC-32C."""
        self._command(lambda: (self.read(file), self._require().find(file))[1])
        self.emit(self.verified, 1, 0)

    @command(5)
    def verify_all(self) -> None:
        """Read every file and check it against its CRC-32C (a scrub of the medium)."""
        store = self._command_store()
        bad = 0
        checked = 0
        for info in store.files():
            checked += 1
            try:
                self.read(info.file_id)
            except FileCorrupt:
                bad += 1
        self.emit(self.verified, checked, bad)
        if bad:
            raise CommandError(ReasonCode.STORAGE_ERROR, f"{bad} of {checked} files corrupt")

    @command(6, first_id=U32, max_count=U16(min=1, max=100))
    def list_files(self, first_id: int, max_count: int) -> None:
        """Report up to `max_count` catalog entries from file ID `first_id` on, in events."""
        sent = 0
        for info in self._command_store().files():
            if info.file_id < first_id:
                continue
            if sent >= max_count:
                break
            created = utc_text(info.created_tai) if info.created_tai else "unknown"
            self.emit(self.file_listed, info.file_id, info.path, min(info.size, 0xFFFFFFFF),
                      info.category, info.priority, created, info.downlinked)
            sent += 1


def _stamp(tai: float) -> str:
    """A file-name-friendly UTC time stamp (20250320T104207), or the raw seconds without time."""
    try:
        return utc_text(tai)[:19].replace(":", "").replace("-", "")
    except ValueError:
        return f"t{tai:.0f}"


def _decimation(key: str, value: Any) -> dict[int, int]:
    """`hk_decimation` ({"SID" = N, ...}: record one packet in N of each listed SID)."""
    if not isinstance(value, Mapping):
        raise ConfigError(key, "must be a table of structure ID = N (record one packet in N)")
    out = {}
    for sid, every in value.items():
        if not str(sid).isdigit() or not 1 <= int(sid) <= 0xFFFF:
            raise ConfigError(f"{key}.{sid}", "not a structure ID (1..65535)")
        if type(every) is not int or every < 1:
            raise ConfigError(f"{key}.{sid}", f"{every!r} must be a positive integer")
        out[int(sid)] = every
    return out
