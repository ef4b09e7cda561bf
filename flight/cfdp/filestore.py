"""Where CFDP reads the files it sends and builds the files it receives.

The engine needs little: open a file to read segments at offsets, and a partial file to write
segments at offsets and then either `finalize` it under its name (atomically: the data goes to a
temporary file that is fsynced and renamed over the name, then the directory is fsynced, so power
loss leaves the old file or the whole new one, never a mix) or `discard` it.

`hal.storage` stores whole blobs in a flat directory, which does not fit a file built out of order
at offsets; hence this small interface with two implementations:

- `NativeFilestore(root)`: a directory; names are relative to it (a leading ``/`` is dropped) and
  may not leave it; partial files live in ``root/.cfdp-partial``;
- `MemoryFilestore()`: a dict of names to bytes, for tests and emulation.
"""

from __future__ import annotations

import itertools
import os
import posixpath
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable

from flight.cfdp.errors import FilestoreError

PARTIAL_DIR: Final = ".cfdp-partial"


@runtime_checkable
class ReadFile(Protocol):
    size: int

    def read(self, offset: int, length: int) -> bytes: ...

    def close(self) -> None: ...


@runtime_checkable
class PartialFile(Protocol):
    def write(self, offset: int, data: bytes) -> None: ...

    def read(self, offset: int, length: int) -> bytes: ...

    def finalize(self, name: str) -> None:
        """Make the data durable under `name`, replacing any file of that name atomically."""
        ...

    def discard(self) -> None: ...


@runtime_checkable
class Filestore(Protocol):
    def open_read(self, name: str) -> ReadFile:
        """Raises `FilestoreError` when the file is missing or the name is not allowed."""
        ...

    def create_partial(self) -> PartialFile: ...

    def check_name(self, name: str) -> None:
        """Raise `FilestoreError` if a received file could not be stored under `name`."""
        ...


def normalize(name: str) -> str:
    """`name` as a clean relative path, or `FilestoreError` if it is empty or climbs out."""
    path = posixpath.normpath("/" + name.replace("\\", "/")).lstrip("/")
    parts = name.replace("\\", "/").split("/")
    if not path or path == "." or ".." in parts or "\x00" in name:
        raise FilestoreError(name, "not a file name inside the filestore")
    if path.split("/", 1)[0] == PARTIAL_DIR:
        raise FilestoreError(name, f"{PARTIAL_DIR} is reserved for partial files")
    return path


class _NativeRead:
    __slots__ = ("_fd", "size")

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self.size = os.fstat(self._fd).st_size

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class _NativePartial:
    __slots__ = ("_store", "_fd", "path")

    def __init__(self, store: NativeFilestore, path: str) -> None:
        self._store = store
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)

    def write(self, offset: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, offset)
            view = view[written:]
            offset += written

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)

    def finalize(self, name: str) -> None:
        target = self._store.path_of(name)
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1
        parent = os.path.dirname(target)
        os.makedirs(parent, exist_ok=True)
        os.replace(self.path, target)
        _fsync_dir(parent)

    def discard(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class NativeFilestore:
    """A directory of the host file system (created if missing)."""

    _serial = itertools.count()

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.fspath(root))
        os.makedirs(os.path.join(self.root, PARTIAL_DIR), exist_ok=True)

    def path_of(self, name: str) -> str:
        return os.path.join(self.root, normalize(name))

    def check_name(self, name: str) -> None:
        path = self.path_of(name)
        if os.path.isdir(path):
            raise FilestoreError(name, "is a directory")

    def open_read(self, name: str) -> ReadFile:
        path = self.path_of(name)
        try:
            return _NativeRead(path)
        except OSError as e:
            raise FilestoreError(name, e.strerror or str(e)) from None

    def create_partial(self) -> PartialFile:
        name = f"{os.getpid()}-{next(self._serial)}.part"
        return _NativePartial(self, os.path.join(self.root, PARTIAL_DIR, name))

    def discard_stale_partials(self) -> int:
        """Delete partial files left by an earlier run (power lost mid-transfer); return how
        many."""
        directory = os.path.join(self.root, PARTIAL_DIR)
        count = 0
        for entry in os.listdir(directory):
            os.unlink(os.path.join(directory, entry))
            count += 1
        return count


class BytesRead:
    """A whole file's content in memory, offered as a `ReadFile`."""

    __slots__ = ("_data", "size")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.size = len(data)

    def read(self, offset: int, length: int) -> bytes:
        return self._data[offset:offset + length]

    def close(self) -> None:
        self._data = b""


class BufferedPartial:
    """A file being received, held in memory until `finalize` hands it to `on_finalize(name,
    data)`; `on_close()`, if given, hears that the partial was finalized or discarded."""

    __slots__ = ("_on_finalize", "_on_close", "_buffer")

    def __init__(
        self,
        on_finalize: Callable[[str, bytes], None],
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._on_finalize = on_finalize
        self._on_close = on_close
        self._buffer = bytearray()

    def write(self, offset: int, data: bytes) -> None:
        end = offset + len(data)
        if end > len(self._buffer):
            self._buffer.extend(bytes(end - len(self._buffer)))
        self._buffer[offset:end] = data

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self._buffer[offset:offset + length])

    def finalize(self, name: str) -> None:
        self._on_finalize(name, bytes(self._buffer))
        self._buffer = bytearray()
        self._closed()

    def discard(self) -> None:
        self._buffer = bytearray()
        self._closed()

    def _closed(self) -> None:
        if self._on_close is not None:
            self._on_close()


class MemoryFilestore:
    """Files in a dict (`files`, normalized name to content); `partials` counts open partials."""

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files: dict[str, bytes] = {normalize(k): v for k, v in (files or {}).items()}
        self.partials = 0

    def check_name(self, name: str) -> None:
        normalize(name)

    def open_read(self, name: str) -> ReadFile:
        data = self.files.get(normalize(name))
        if data is None:
            raise FilestoreError(name, "no such file")
        return BytesRead(data)

    def create_partial(self) -> PartialFile:
        self.partials += 1
        return BufferedPartial(self._store_file, self._partial_closed)

    def _store_file(self, name: str, data: bytes) -> None:
        self.files[normalize(name)] = data

    def _partial_closed(self) -> None:
        self.partials -= 1
