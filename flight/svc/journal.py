"""A table kept in non-volatile storage as a snapshot plus an append-only journal of changes.

Rewriting a 10,000-entry table on every change costs O(table) per change; appending the change
costs O(change). `Journal` keeps both: a snapshot blob (``NAME.snap``, written with
`Storage.save`: temp file, fsync, rename, fsync of the directory, CRC-32 checked on load) and a
`RecordLog` of the changes made since (``NAME-G.<seq>`` segments, each record framed with its
length and CRC-32, a torn tail skipped on reopening). The owner replays snapshot + changes at
boot, and compacts (writes a new snapshot, starts an empty journal) once the journal has grown
past the snapshot's size, so compaction costs O(1) amortized per change.

Generations make compaction crash-consistent. The snapshot names the generation G of the journal
that continues it. Compaction saves snapshot G+1 atomically (which names the new, empty journal
G+1), then deletes journal G. Power lost before the rename leaves snapshot G and journal G (the
old state, complete); after it, snapshot G+1, whose journal is empty or missing, and a stale
journal G that opening deletes. No record is ever counted twice or lost.

Nothing is durable before `commit()` (one fsync); the owner decides what a commit acknowledges.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import msgpack

from hal.storage import TMP_SUFFIX, RecordLog, Storage, StorageMissing

SNAPSHOT_SUFFIX: Final = ".snap"
SEGMENT_BYTES: Final = 64 * 1024
NEVER_DROP_BYTES: Final = 1 << 40  # the record log's bound: compaction keeps journals far below
MIN_COMPACT_BYTES: Final = 64 * 1024


class JournalError(ValueError):
    """A snapshot or journal record that does not decode as this journal's format."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"journal {name}: {detail}")
        self.name = name
        self.detail = detail


class Journal:
    """Snapshot + change journal of one table; see the module notes."""

    def __init__(self, storage: Storage, name: str, *,
                 min_compact_bytes: int = MIN_COMPACT_BYTES) -> None:
        if not name.isidentifier():
            raise ValueError(f"journal name {name!r} must be an identifier")
        self.storage = storage
        self.name = name
        self.min_compact_bytes = min_compact_bytes
        self.generation = 0
        self.snapshot_bytes = 0
        self.compactions = 0
        self.torn = 0
        self._log: RecordLog | None = None

    def _log_name(self, generation: int) -> str:
        return f"{self.name}-{generation}"

    def open(self) -> tuple[Any, list[Any]]:
        """(snapshot state or None, the changes recorded after it, oldest first).

        Raises `StorageCorrupt` if the snapshot does not check and `JournalError` if it or a
        record is not in this format: the owner decides how to rebuild.
        """
        state: Any = None
        # until the snapshot names its generation, the newest on the medium: a compaction after
        # a failed open must start a generation no stale journal has
        self.generation = max(self._generations(), default=0)
        self.snapshot_bytes = 0
        try:
            raw = self.storage.load(self.name + SNAPSHOT_SUFFIX)
        except StorageMissing:
            pass
        else:
            body = _decode(self.name, raw)
            if type(body) is not list or len(body) != 2 or type(body[0]) is not int:
                raise JournalError(self.name, "snapshot is not [generation, state]")
            self.generation, state = body
            self.snapshot_bytes = len(raw)
        self._delete_stale_generations()
        self._log = self.storage.record_log(
            self._log_name(self.generation), max_bytes=NEVER_DROP_BYTES,
            segment_bytes=SEGMENT_BYTES,
        )
        self.torn = self._log.torn
        changes = [_decode(self.name, record) for _, record in self._log.records()]
        return state, changes

    def _segments(self) -> list[tuple[int, str]]:
        """(generation, name) of every journal segment on the medium."""
        prefix = self.name + "-"
        out = []
        for name in self.storage.backend.names():
            if name.startswith(prefix):
                generation, dot, seq = name[len(prefix):].partition(".")
                if dot and generation.isdigit() and seq.isdigit():
                    out.append((int(generation), name))
        return out

    def _generations(self) -> set[int]:
        return {generation for generation, _ in self._segments()}

    def _delete_stale_generations(self) -> None:
        """Delete journals of other generations, and a snapshot half-written by a compaction
        that power cut short."""
        backend = self.storage.backend
        stale = [name for generation, name in self._segments() if generation != self.generation]
        if self.name + SNAPSHOT_SUFFIX + TMP_SUFFIX in backend.names():
            stale.append(self.name + SNAPSHOT_SUFFIX + TMP_SUFFIX)
        for name in stale:
            backend.delete(name)
        if stale:
            backend.sync_dir()

    def append(self, change: Any) -> None:
        """Record one change (volatile until `commit`)."""
        self._require_open().append(msgpack.packb(change))

    def commit(self) -> None:
        """Make every appended change durable (one fsync)."""
        self._require_open().flush()

    @property
    def journal_bytes(self) -> int:
        return self._require_open().size

    def should_compact(self) -> bool:
        """True once the journal outgrew both the last snapshot and the minimum."""
        size = self.journal_bytes
        return size > self.min_compact_bytes and size > self.snapshot_bytes

    def compact(self, state: Any) -> None:
        """Replace snapshot + journal by a snapshot of `state` (which must include every
        committed and appended change) and an empty journal. Also the way to start afresh
        after `open` failed."""
        if self._log is not None:
            self._log.flush()
        raw = msgpack.packb([self.generation + 1, state])
        self.storage.save(self.name + SNAPSHOT_SUFFIX, raw)
        self.generation += 1
        self.snapshot_bytes = len(raw)
        self.compactions += 1
        self._log = None
        self._delete_stale_generations()
        self._log = self.storage.record_log(
            self._log_name(self.generation), max_bytes=NEVER_DROP_BYTES,
            segment_bytes=SEGMENT_BYTES,
        )

    def _require_open(self) -> RecordLog:
        if self._log is None:
            raise RuntimeError(f"journal {self.name} is not open")
        return self._log


def _decode(name: str, raw: bytes) -> Any:
    try:
        return msgpack.unpackb(raw, raw=False, strict_map_key=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise JournalError(name, f"undecodable record: {type(exc).__name__}: {exc}") from None


def records_of(changes: list[Any]) -> Iterator[tuple[str, list[Any]]]:
    """(kind, fields) of journal changes written as ``[kind, field, ...]`` lists; anything else
    raises `JournalError`."""
    for change in changes:
        if type(change) is not list or not change or type(change[0]) is not str:
            raise JournalError("journal", f"change {change!r} is not [kind, ...]")
        yield change[0], change[1:]
