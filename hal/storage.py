"""Non-volatile storage: a directory of named blobs written atomically, and bounded record logs.

Two layers. A backend offers the few primitives a POSIX directory offers (write, append, fsync a
file, rename, fsync the directory, read, list, delete), with nothing durable until synced:

- `FileBackend(root)`: a real directory (Linux: fsync on files and on the directory), created
  owner-only (0700) when missing;
- `SimBackend()`: in memory, with `power_loss()` that throws away everything not yet synced,
  tearing unsynced appends at a random point, as a power cut would.

`Storage(backend)` builds on them:

- `save(name, data)`: atomically replace a blob. The data goes to ``name.tmp`` with a header
  (magic, length, CRC-32), the file is fsynced, renamed over ``name``, and the directory fsynced:
  power loss at any instant leaves either the old blob or the new one, never a mix. With
  ``secret=True`` (keys) the temporary file is a new file created owner-only (0600) before a
  single octet goes in, so the blob is never readable by group or others, whatever the umask;
- `load(name)`: read and check the header and CRC; raises `StorageMissing` or `StorageCorrupt`;
- `restrict(name)`: make a blob saved without ``secret`` owner-only (0600), e.g. keys written by
  an older version;
- `record_log(name, max_bytes)`: a `RecordLog`, an append-only log of records in segment files
  ``name.<first seq>``, each record framed with its length and CRC-32; the oldest segment is
  deleted when the log outgrows `max_bytes` (the records lost are counted), and a torn record at
  the end of the last segment (power lost mid-append) is detected and skipped on reopening.

`open_storage(url)` picks the backend: a path or ``file:PATH`` is a directory (``~`` expands to
the home directory), ``mem://NAME`` a process-wide simulated disk called NAME (the same NAME
gives the same disk, so a restarted runtime in the same process finds what it wrote).
"""

from __future__ import annotations

import os
import random
import stat
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

MAGIC: Final = b"ASv1"
_HEADER: Final = struct.Struct(">4sII")  # magic, length, CRC-32 of the data
_RECORD: Final = struct.Struct(">II")  # length, CRC-32 of the record
MAX_RECORD_OCTETS: Final = 1 << 20
TMP_SUFFIX: Final = ".tmp"
FILE_MODE: Final = 0o644
SECRET_MODE: Final = 0o600  # blobs holding secrets: the owner only
DIR_MODE: Final = 0o700  # a storage directory FileBackend creates


class StorageError(OSError):
    """Base of storage failures."""


class StorageMissing(StorageError, FileNotFoundError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no stored blob named {name!r}")
        self.name = name


class StorageCorrupt(StorageError, ValueError):
    """A stored blob whose header or CRC does not check; carries what was expected and found."""

    def __init__(self, name: str, detail: str, *, expected: int | None = None,
                 actual: int | None = None) -> None:
        super().__init__(f"stored blob {name!r} is corrupt: {detail}")
        self.name = name
        self.detail = detail
        self.expected = expected
        self.actual = actual


@runtime_checkable
class Backend(Protocol):
    """The primitives of a directory; writes are volatile until `sync`/`sync_dir`."""

    def write(self, name: str, data: bytes, *, secret: bool = False) -> None:
        """Create or truncate `name` and write `data`; `secret`: readable by the owner only."""
        ...

    def append(self, name: str, data: bytes) -> None: ...

    def sync(self, name: str) -> None:
        """Make the content of `name` durable (fsync)."""
        ...

    def rename(self, src: str, dst: str) -> None:
        """Atomically replace `dst` by `src` (durable after `sync_dir`)."""
        ...

    def sync_dir(self) -> None:
        """Make creations, renames and deletions durable (fsync of the directory)."""
        ...

    def read(self, name: str) -> bytes:
        """The content of `name`; `FileNotFoundError` if there is none."""
        ...

    def delete(self, name: str) -> None: ...

    def names(self) -> list[str]: ...

    def restrict(self, name: str) -> bool:
        """Make the existing `name` readable by the owner only; True if it was not."""
        ...


class FileBackend:
    """A real directory, created owner-only (`DIR_MODE`) if missing.

    An existing directory keeps its mode (it may be the user's): `root_mode` holds it and
    `exposed` says whether group or others can enter it, for the owner of the storage to report.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.fspath(root)
        os.makedirs(self.root, mode=DIR_MODE, exist_ok=True)
        self.root_mode = stat.S_IMODE(os.stat(self.root).st_mode)
        self._append_fds: dict[str, int] = {}

    @property
    def exposed(self) -> bool:
        """Group or others have some access to the directory."""
        return bool(self.root_mode & 0o077)

    def _path(self, name: str) -> str:
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"storage name {name!r} must be a plain file name")
        return os.path.join(self.root, name)

    def write(self, name: str, data: bytes, *, secret: bool = False) -> None:
        self._close(name)
        path = self._path(name)
        if secret:
            # O_TRUNC would keep the mode of a file left behind: start from a new inode, created
            # 0600 (the umask can only narrow it), then set exactly 0600 before writing.
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            if secret:
                os.fchmod(fd, SECRET_MODE)
            _write_all(fd, data)
        finally:
            os.close(fd)

    def restrict(self, name: str) -> bool:
        path = self._path(name)
        if not stat.S_IMODE(os.stat(path).st_mode) & 0o077:
            return False
        os.chmod(path, SECRET_MODE)
        return True

    def append(self, name: str, data: bytes) -> None:
        fd = self._append_fds.get(name)
        if fd is None:
            fd = os.open(self._path(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
            self._append_fds[name] = fd
        _write_all(fd, data)

    def sync(self, name: str) -> None:
        fd = self._append_fds.get(name)
        if fd is not None:
            os.fsync(fd)
            return
        fd = os.open(self._path(name), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def rename(self, src: str, dst: str) -> None:
        self._close(src)
        self._close(dst)
        os.replace(self._path(src), self._path(dst))

    def sync_dir(self) -> None:
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self, name: str) -> bytes:
        with open(self._path(name), "rb") as f:
            return f.read()

    def delete(self, name: str) -> None:
        self._close(name)
        try:
            os.unlink(self._path(name))
        except FileNotFoundError:
            pass

    def names(self) -> list[str]:
        return sorted(os.listdir(self.root))

    def close(self) -> None:
        for name in list(self._append_fds):
            self._close(name)

    def _close(self, name: str) -> None:
        fd = self._append_fds.pop(name, None)
        if fd is not None:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


@dataclass(eq=False)
class _Inode:
    data: bytearray = field(default_factory=bytearray)
    durable: bytes = b""


class SimBackend:
    """An in-memory directory with the durability rules of a POSIX file system.

    Each file is an inode with its current data and the part made durable by `sync`; the
    directory has its current entries and the ones made durable by `sync_dir`. `power_loss()`
    reverts to the durable state; an unsynced append to a durable file may survive partially
    (a torn write), cut at a random octet chosen by `rng`.
    """

    def __init__(self) -> None:
        self._dir: dict[str, _Inode] = {}
        self._durable_dir: dict[str, _Inode] = {}
        self._lock = threading.Lock()
        self.power_losses = 0

    def write(self, name: str, data: bytes, *, secret: bool = False) -> None:
        """`secret` changes nothing: an in-memory disk has no other users."""
        with self._lock:
            inode = self._dir.get(name)
            if inode is None:
                inode = self._dir[name] = _Inode()
            inode.data = bytearray(data)

    def append(self, name: str, data: bytes) -> None:
        with self._lock:
            inode = self._dir.get(name)
            if inode is None:
                inode = self._dir[name] = _Inode()
            inode.data += data

    def sync(self, name: str) -> None:
        with self._lock:
            inode = self._entry(name)
            inode.durable = bytes(inode.data)

    def rename(self, src: str, dst: str) -> None:
        with self._lock:
            self._dir[dst] = self._entry(src)
            del self._dir[src]

    def sync_dir(self) -> None:
        with self._lock:
            self._durable_dir = dict(self._dir)

    def read(self, name: str) -> bytes:
        with self._lock:
            return bytes(self._entry(name).data)

    def delete(self, name: str) -> None:
        with self._lock:
            self._dir.pop(name, None)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._dir)

    def restrict(self, name: str) -> bool:
        self.read(name)  # FileNotFoundError as a directory gives
        return False

    def power_loss(self, rng: random.Random | None = None) -> None:
        """Lose everything not synced. With `rng`, unsynced appends survive torn at random."""
        with self._lock:
            self.power_losses += 1
            self._dir = dict(self._durable_dir)
            for inode in dict.fromkeys(self._dir.values()):
                kept = inode.durable
                if rng is not None and bytes(inode.data[: len(kept)]) == kept:
                    extra = len(inode.data) - len(kept)
                    if extra > 0:
                        kept = bytes(inode.data[: len(kept) + rng.randrange(extra + 1)])
                inode.data = bytearray(kept)
                inode.durable = kept

    def _entry(self, name: str) -> _Inode:
        inode = self._dir.get(name)
        if inode is None:
            raise FileNotFoundError(name)
        return inode


class Storage:
    """Atomic blobs and record logs over a backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def save(self, name: str, data: bytes, *, secret: bool = False) -> None:
        """Atomically replace blob `name` with `data` (durable when this returns). `secret`:
        the blob, and its temporary file from its creation, are readable by the owner only."""
        tmp = name + TMP_SUFFIX
        b = self.backend
        blob = _HEADER.pack(MAGIC, len(data), zlib.crc32(data)) + data
        if secret:
            b.write(tmp, blob, secret=True)
        else:  # backends written before `secret` existed take two arguments
            b.write(tmp, blob)
        b.sync(tmp)
        b.rename(tmp, name)
        b.sync_dir()

    def load(self, name: str) -> bytes:
        try:
            raw = self.backend.read(name)
        except FileNotFoundError:
            raise StorageMissing(name) from None
        if len(raw) < _HEADER.size:
            raise StorageCorrupt(name, f"{len(raw)} octets, shorter than the header",
                                 expected=_HEADER.size, actual=len(raw))
        magic, length, crc = _HEADER.unpack_from(raw)
        if magic != MAGIC:
            raise StorageCorrupt(name, f"magic {magic!r}, expected {MAGIC!r}")
        data = raw[_HEADER.size:]
        if len(data) != length:
            raise StorageCorrupt(name, f"{len(data)} data octets, header says {length}",
                                 expected=length, actual=len(data))
        actual = zlib.crc32(data)
        if actual != crc:
            raise StorageCorrupt(name, f"CRC-32 0x{actual:08X}, header says 0x{crc:08X}",
                                 expected=crc, actual=actual)
        return data

    def exists(self, name: str) -> bool:
        return name in self.backend.names()

    def restrict(self, name: str) -> bool:
        """Make the stored blob `name` owner-only (one saved without `secret`, e.g. by an older
        version); True if group or others could read it. `StorageMissing` if there is none."""
        try:
            return self.backend.restrict(name)
        except FileNotFoundError:
            raise StorageMissing(name) from None

    def delete(self, name: str) -> None:
        self.backend.delete(name)
        self.backend.sync_dir()

    def record_log(
        self, name: str, *, max_bytes: int, segment_bytes: int | None = None
    ) -> RecordLog:
        return RecordLog(self.backend, name, max_bytes=max_bytes, segment_bytes=segment_bytes)


class RecordLog:
    """A bounded, append-only log of records that survives restarts.

    Records are numbered from 0 for the life of the log (`next_seq`); `dropped` counts records
    lost to the bound (the oldest segments are deleted first) and `torn` the records found
    damaged when the log was opened. `append` is volatile until `flush` (one fsync).
    """

    def __init__(self, backend: Backend, name: str, *, max_bytes: int,
                 segment_bytes: int | None = None) -> None:
        if max_bytes < 1024:
            raise ValueError(f"record log max_bytes {max_bytes} must be at least 1024")
        self.backend = backend
        self.name = name
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(512, max_bytes // 8)
        if not 0 < self.segment_bytes <= max_bytes:
            raise ValueError(f"segment_bytes {self.segment_bytes} must be in 1..{max_bytes}")
        self.torn = 0
        self._segments: list[tuple[int, int]] = []  # (first seq, size in octets), oldest first
        self._counts: dict[int, int] = {}  # records per segment
        self._dirty = False
        self._open()

    def _segment_name(self, first_seq: int) -> str:
        return f"{self.name}.{first_seq:012d}"

    def _open(self) -> None:
        prefix = self.name + "."
        firsts = sorted(
            int(n[len(prefix):]) for n in self.backend.names()
            if n.startswith(prefix) and n[len(prefix):].isdigit()
        )
        for first in firsts:
            raw = self.backend.read(self._segment_name(first))
            count, good = _scan(raw)
            if good != len(raw):
                self.torn += 1
            self._segments.append((first, good))
            self._counts[first] = count
        self.next_seq = (self._segments[-1][0] + self._counts[self._segments[-1][0]]
                         if self._segments else 0)
        if self._segments and self._segments[-1][1] != len(
            self.backend.read(self._segment_name(self._segments[-1][0]))
        ):
            self._start_segment()  # never append behind a torn tail

    def _start_segment(self) -> None:
        first = self.next_seq
        if self._segments and self._segments[-1][0] == first:
            # the torn segment holds no good record past `first`: rewrite it from its good part
            raw = self.backend.read(self._segment_name(first))[: self._segments[-1][1]]
            self.backend.write(self._segment_name(first), raw)
            self.backend.sync(self._segment_name(first))
            return
        self.backend.write(self._segment_name(first), b"")
        self.backend.sync(self._segment_name(first))
        self.backend.sync_dir()
        self._segments.append((first, 0))
        self._counts[first] = 0

    @property
    def dropped(self) -> int:
        """Records lost to the bound since the log was created."""
        return self._segments[0][0] if self._segments else self.next_seq

    @property
    def size(self) -> int:
        return sum(size for _, size in self._segments)

    def __len__(self) -> int:
        return sum(self._counts.values())

    def append(self, record: bytes) -> int:
        """Append one record; returns its sequence number."""
        if len(record) > MAX_RECORD_OCTETS:
            raise ValueError(f"record of {len(record)} octets exceeds {MAX_RECORD_OCTETS}")
        framed = _RECORD.pack(len(record), zlib.crc32(record)) + record
        if not self._segments or self._segments[-1][1] + len(framed) > self.segment_bytes and (
            self._counts[self._segments[-1][0]] > 0
        ):
            if self._dirty:
                self.flush()
            self._start_segment()
        first, size = self._segments[-1]
        self.backend.append(self._segment_name(first), framed)
        self._segments[-1] = (first, size + len(framed))
        self._counts[first] += 1
        seq = self.next_seq
        self.next_seq += 1
        self._dirty = True
        self._enforce_bound()
        return seq

    def _enforce_bound(self) -> None:
        deleted = False
        while len(self._segments) > 1 and self.size > self.max_bytes:
            first, _ = self._segments.pop(0)
            del self._counts[first]
            self.backend.delete(self._segment_name(first))
            deleted = True
        if deleted:
            self.backend.sync_dir()

    def flush(self) -> None:
        """Make every appended record durable."""
        if self._dirty and self._segments:
            self.backend.sync(self._segment_name(self._segments[-1][0]))
        self._dirty = False

    def records(self) -> Iterator[tuple[int, bytes]]:
        """(seq, record) of every retained record, oldest first."""
        for first, _ in list(self._segments):
            raw = self.backend.read(self._segment_name(first))
            seq = first
            for record in _records(raw):
                yield seq, record
                seq += 1

    def clear(self) -> None:
        """Delete every record (sequence numbers carry on; the cleared ones count as dropped)."""
        for first, _ in self._segments:
            self.backend.delete(self._segment_name(first))
        self._segments.clear()
        self._counts.clear()
        self.backend.sync_dir()
        self._start_segment()


def _records(raw: bytes) -> Iterator[bytes]:
    pos = 0
    end = len(raw)
    while pos + _RECORD.size <= end:
        length, crc = _RECORD.unpack_from(raw, pos)
        start = pos + _RECORD.size
        if length > MAX_RECORD_OCTETS or start + length > end:
            return
        record = raw[start:start + length]
        if zlib.crc32(record) != crc:
            return
        yield record
        pos = start + length


def _scan(raw: bytes) -> tuple[int, int]:
    """(records, octets) of the good prefix of a segment."""
    count = 0
    pos = 0
    for record in _records(raw):
        count += 1
        pos += _RECORD.size + len(record)
    return count, pos


_SIM_DISKS: dict[str, SimBackend] = {}
_SIM_LOCK: Final = threading.Lock()


def sim_disk(name: str) -> SimBackend:
    """The process-wide simulated disk called `name` (created on first use)."""
    with _SIM_LOCK:
        disk = _SIM_DISKS.get(name)
        if disk is None:
            disk = _SIM_DISKS[name] = SimBackend()
        return disk


def open_storage(url: str) -> Storage:
    """Storage at `url`: a directory path, ``file:PATH``, or ``mem://NAME`` (simulated disk)."""
    if url.startswith("mem://"):
        name = url[len("mem://"):]
        if not name:
            raise ValueError("mem:// storage needs a disk name, e.g. mem://refsat")
        return Storage(sim_disk(name))
    if url.startswith("file:"):
        url = url[len("file:"):]
        if url.startswith("//"):
            url = url[2:]
    if not url or "://" in url:
        raise ValueError(f"storage URL {url!r}: expected a path, file:PATH or mem://NAME")
    return Storage(FileBackend(os.path.expanduser(url)))
