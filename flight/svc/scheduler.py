"""The onboard schedule: commands tagged with an absolute spacecraft time (TAI), run on time.

Time. Entries carry TAI seconds since 1958 (`hal.time`); spacecraft time comes from the
component's `time` binding (`flight.svc.sctime`), a function of the executive's monotonic clock.
Each cycle the scheduler reads TAI once and runs every entry whose time has come: an entry tagged
T runs in the first cycle whose reading is at or after T, so in the 10 Hz group it runs within
0.1 s after T. The schedule never converts entry times into clock deadlines, so when spacecraft
time is corrected (a GNSS time step) entries follow the corrected time. While the source has no
time (a receiver without a fix) nothing runs (`time_valid` is false).

Cost. Entries sit in a binary heap ordered by (time, ID) beside a dict by ID; a cycle looks at
the heap's head only: O(1) when nothing is due, O(log n) per entry run. A deleted entry stays in
the heap until it reaches the head (lazy deletion); the heap is rebuilt when stale items outnumber
live ones, O(1) amortized. At most `max_per_cycle` entries run per cycle; more run in the next
cycles, in time order.

Late entries. An entry found more than `late_window_s` past its time (spacecraft time stepped
forward, or the flight software was down) is skipped with an event, never run. Entries whose time
passed while the software was down are handled at the first cycle with valid time by
`late_policy`: ``run`` runs those no more than `late_window_s` late (oldest first) and skips the
rest; ``skip`` skips them all.

Persistence (`flight.svc.journal`): a snapshot plus an append-only journal of inserts, deletes,
clears and removals, compacted once the journal outgrows the snapshot, so a change costs one
small append and one fsync, not a rewrite of 10,000 entries. A command that loads entries
completes only once they are durable.

At most once. Before running a cycle's due entries the scheduler appends one record naming them
and commits it (fsync); only then does it hand them to the dispatcher. Power lost before the
commit: the entries are still scheduled and run after the reset (or are skipped, by the late
policy), and none of them had run. Power lost after it: they are gone from the schedule, so none
can run twice; one that had not started yet is lost, which the ground sees from the missing
verification report. Exactly once would need the commands' own effects to be recorded in the
same transaction as the schedule's, which no command here can offer; at most once is the safe
side for spacecraft commands (a thruster firing or a mode change run twice is worse than one
missed and reported).

Leap seconds. UTC labels (a table's ``2025-03-20T10:42:07Z``, the UTC in events, a `system` or
`epoch:` time binding) become TAI through the leap-second table, which the scheduler puts in use
for the process at boot (`hal.time.use_leap_seconds`), before any time source is opened: the
newest of the shipped table, the deployment's file (setting `leap_seconds`, an IERS/NTP
`leap-seconds.list` or a JSON table) and the one a ground command loaded from the product store
(`load_leap_seconds`, kept in storage as ``<file>.leap``). Past the table's expiry a leap second
may have come that it does not know: the scheduler says so (`leap_table_expired`, event
`leap_expired`) from the first cycle with spacecraft time past that date.
"""

from __future__ import annotations

import heapq
import math
import os
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any, Final, NamedTuple

from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Health,
    Throttle,
    Update,
    command,
)
from flight.runtime.errors import ArgumentError, CommandError, ConfigError, DecodeError, ReasonCode
from flight.runtime.records import MAX_COMMAND_OCTETS, Command, Severity, Verification
from flight.runtime.registry import CommandEntry, Registry
from flight.runtime.types import BOOL, F64, U16, U32, Bytes, Enum, String
from flight.svc.command_text import (
    CommandTextError,
    TimeKind,
    compile_text,
    format_args,
    unseal,
)
from flight.svc.journal import Journal, JournalError, records_of
from flight.svc.products import FileCategory, StoreError
from flight.svc.sctime import component_time, tai_or_none, utc_text
from hal.storage import Storage, StorageMissing, open_storage
from hal.time import (
    LEAP_SECONDS,
    LeapSecondFileError,
    LeapSecondTable,
    TimeSource,
    leap_seconds,
    use_leap_seconds,
)

DEFAULT_CAPACITY: Final = 10_000
MAX_EMBEDDED_COMMAND: Final = MAX_COMMAND_OCTETS - 48  # inside an insert command's own TC
LEAP_SUFFIX: Final = ".leap"  # the blob of the leap-second table loaded by command
# TAI seconds near 2e9 are floats with a resolution of about 0.24 us, so "now" computed by the
# ground or a sequence and "now" computed here can differ by an ulp: such an entry is due, not past.
PAST_TOLERANCE_S: Final = 1e-6


class LatePolicy(StrEnum):
    RUN = "run"
    SKIP = "skip"


class Entry(NamedTuple):
    entry_id: int
    tai: float
    command: Command
    packed: bytes


class Schedule:
    """Entries by ID and a min-heap of (time, ID) with lazy deletion (see the module notes)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.entries: dict[int, Entry] = {}
        self.heap: list[tuple[float, int]] = []

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: Entry) -> None:
        self.entries[entry.entry_id] = entry
        heapq.heappush(self.heap, (entry.tai, entry.entry_id))

    def remove(self, entry_id: int) -> Entry | None:
        entry = self.entries.pop(entry_id, None)
        if entry is not None and len(self.heap) > 2 * len(self.entries) + 64:
            self.heap = [(e.tai, e.entry_id) for e in self.entries.values()]
            heapq.heapify(self.heap)
        return entry

    def clear(self) -> int:
        count = len(self.entries)
        self.entries.clear()
        self.heap.clear()
        return count

    def next_time(self) -> float | None:
        heap = self.heap
        entries = self.entries
        while heap and heap[0][1] not in entries:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: float, limit: int) -> list[Entry]:
        """Up to `limit` live entries due at `now`, in (time, ID) order, removed."""
        heap = self.heap
        entries = self.entries
        due: list[Entry] = []
        while heap and heap[0][0] <= now and len(due) < limit:
            _, entry_id = heapq.heappop(heap)
            entry = entries.pop(entry_id, None)
            if entry is not None:
                due.append(entry)
        return due

    def in_order(self) -> list[Entry]:
        return sorted(self.entries.values(), key=lambda e: (e.tai, e.entry_id))


class Scheduler(Component):
    """Runs commands at absolute spacecraft times; the schedule survives resets."""

    entries = Channel(1, U32, update=Update.ON_CHANGE, doc="entries in the schedule")
    next_tai = Channel(2, F64, unit="s", update=Update.ON_CHANGE,
                       doc="TAI of the next entry (0 when the schedule is empty)")
    dispatched = Channel(3, U32, update=Update.ON_CHANGE, doc="entries run since boot")
    failed = Channel(4, U32, update=Update.ON_CHANGE,
                     doc="entries whose command failed verification since boot")
    skipped = Channel(5, U32, update=Update.ON_CHANGE,
                      doc="entries skipped as too late since boot")
    inserted = Channel(6, U32, update=Update.ON_CHANGE, doc="entries inserted since boot")
    time_valid = Channel(7, BOOL, update=Update.ON_CHANGE,
                         doc="spacecraft time is set (entries can run)")
    journal_bytes = Channel(8, U32, unit="B", update=Update.ON_CHANGE,
                            doc="journal size since the last snapshot")
    leap_table_expired = Channel(9, BOOL, update=Update.ON_CHANGE,
                                 doc="spacecraft time is past the leap-second table's expiry")

    entry_inserted = Event(1, Severity.ACTIVITY_LO,
                           "entry {entry_id} at {utc}: {command}",
                           entry_id=U32, utc=String(32), command=String(64))
    entry_deleted = Event(2, Severity.ACTIVITY_HI, "entry {entry_id} deleted", throttle=None,
                          entry_id=U32)
    schedule_cleared = Event(3, Severity.ACTIVITY_HI, "schedule cleared: {count} entries deleted",
                             throttle=None, count=U32)
    entry_ran = Event(4, Severity.ACTIVITY_LO,
                      "entry {entry_id} ran {command}, {late_ms} ms after its time",
                      entry_id=U32, command=String(64), late_ms=U32)
    entry_failed = Event(5, Severity.WARNING_LO,
                         "entry {entry_id}: {command} failed: {reason}",
                         throttle=Throttle(20, 60.0), entry_id=U32, command=String(64),
                         reason=Enum(ReasonCode))
    entry_skipped = Event(6, Severity.WARNING_LO,
                          "entry {entry_id} ({command}) skipped: {late_s:.1f} s late",
                          throttle=Throttle(20, 60.0), entry_id=U32, command=String(64),
                          late_s=F64)
    missed_at_boot = Event(7, Severity.WARNING_LO,
                           "{missed} entries came due while down: {run} to run late ({policy}), "
                           "{skipped} skipped", throttle=None, missed=U32, run=U32,
                           policy=String(8), skipped=U32)
    table_loaded = Event(8, Severity.ACTIVITY_HI, "table {file}: {count} entries inserted",
                         throttle=None, file=String(128), count=U32)
    load_rejected = Event(9, Severity.WARNING_LO, "table {file} rejected: {reason}",
                          throttle=Throttle(10, 60.0), file=String(128), reason=String(160))
    entry_listed = Event(10, Severity.ACTIVITY_LO,
                         "entry {entry_id} at {utc}: {command} {args}", throttle=None,
                         entry_id=U32, utc=String(32), command=String(64), args=String(120))
    dumped = Event(11, Severity.ACTIVITY_HI, "schedule of {count} entries written to {file}",
                   throttle=None, count=U32, file=String(128))
    restored = Event(12, Severity.ACTIVITY_HI,
                     "schedule restored: {count} entries (journal generation {generation}, "
                     "{torn} torn)", throttle=None, count=U32, generation=U32, torn=U32)
    storage_failed = Event(13, Severity.WARNING_HI, "schedule storage failed: {detail}",
                           throttle=Throttle(5, 60.0), detail=String(120))
    leap_expired = Event(14, Severity.WARNING_HI,
                         "leap-second table {source} expired on {expires}: UTC may be a leap "
                         "second off; load a newer one", throttle=None, source=String(80),
                         expires=String(10))
    leap_loaded = Event(15, Severity.ACTIVITY_HI,
                        "leap-second table {source} in use: TAI-UTC {tai_minus_utc} s, expires "
                        "{expires}", throttle=None, source=String(80), tai_minus_utc=U16,
                        expires=String(10))
    leap_rejected = Event(16, Severity.WARNING_LO, "leap-second table {source} refused: {reason}",
                          throttle=Throttle(10, 60.0), source=String(80), reason=String(160))

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.dispatcher_name = "cmd"
        self.store_name: str | None = None
        self.file = "sched"
        self.capacity = DEFAULT_CAPACITY
        self.late_policy = LatePolicy.RUN
        self.late_window_s = 300.0
        self.max_per_cycle = 100
        self.schedule = Schedule(self.capacity)
        self.journal: Journal | None = None
        self.time: TimeSource | None = None
        self.commands: dict[int, CommandEntry] = {}
        self.by_name: dict[str, CommandEntry] = {}
        self.store: Any = None
        self._dispatch: Callable[[Command], Verification] | None = None
        self._next_id = 1
        self._boot_pending = True
        self._time_ok: bool | None = None
        self._counts = {"dispatched": 0, "failed": 0, "skipped": 0, "inserted": 0}
        self.leap_file: str | None = None
        self._storage: Storage | None = None
        self._leap_expiry_tai = LEAP_SECONDS.expiry_tai
        self._leap_expired: bool | None = None

    def configure(self, config: Mapping[str, Any]) -> None:
        for key, value in config.items():
            if key in ("dispatcher", "store"):
                if type(value) is not str or not value.isidentifier():
                    raise ConfigError(key, f"{value!r} must be a component instance name")
                setattr(self, f"{key}_name", value)
            elif key == "file":
                if type(value) is not str or not value.isidentifier():
                    raise ConfigError(key, f"{value!r} must be a plain name")
                self.file = value
            elif key in ("capacity", "max_per_cycle"):
                if type(value) is not int or not 1 <= value <= 1_000_000:
                    raise ConfigError(key, f"{value!r} must be an integer in 1..1000000")
                setattr(self, key, value)
            elif key == "late_policy":
                try:
                    self.late_policy = LatePolicy(value)
                except ValueError:
                    raise ConfigError(key, f"{value!r} must be run or skip") from None
            elif key == "late_window_s":
                if not isinstance(value, int | float) or isinstance(value, bool) or not (
                    0 <= value < math.inf
                ):
                    raise ConfigError(key, f"{value!r} must be a number of seconds >= 0")
                self.late_window_s = float(value)
            elif key == "leap_seconds":
                if type(value) is not str or not value.strip():
                    raise ConfigError(key, f"{value!r} must be the path of a leap-second file")
                self.leap_file = value
            else:
                raise ConfigError(key, "unknown setting (known: dispatcher, store, file, "
                                       "capacity, max_per_cycle, late_policy, late_window_s, "
                                       "leap_seconds)")
        self.schedule = Schedule(self.capacity)

    def registry_ready(self, registry: Registry) -> None:
        dispatcher = registry.components.get(self.dispatcher_name)
        if dispatcher is None or not callable(getattr(dispatcher, "dispatch", None)):
            raise ConfigError("dispatcher", f"no command dispatcher named "
                                            f"{self.dispatcher_name!r}")
        self._dispatch = dispatcher.dispatch
        if self.store_name is not None:
            self.store = registry.components.get(self.store_name)
            if self.store is None or not callable(getattr(self.store, "read", None)):
                raise ConfigError("store", f"no product store named {self.store_name!r}")
        self.commands = dict(registry.commands)
        self.by_name = {e.name: e for e in registry.commands.values()}

    # --- boot ---------------------------------------------------------------------------------

    def restore(self) -> None:
        self._storage = storage = open_storage(self.hardware("storage"))
        self._restore_leap_table(storage)
        self.time = component_time(self)
        now = tai_or_none(self.time)
        if now is not None:
            self._check_leap_expiry(now)
        journal = Journal(storage, self.file)
        try:
            state, changes = journal.open()
            self._replay(state, changes)
        except (OSError, JournalError, DecodeError) as exc:
            self.schedule.clear()
            self.emit(self.storage_failed, f"schedule lost: {exc}"[:120])
            try:
                journal.compact(self._state())
            except OSError as again:  # no storage at all: run without a schedule
                self.emit(self.storage_failed, f"no schedule storage: {again}"[:120])
                self.set_health(Health.FAULT, "schedule storage unusable")
                self._report()
                return
        self.journal = journal
        self.emit(self.restored, len(self.schedule), journal.generation, journal.torn)
        self._report()

    def _restore_leap_table(self, storage: Storage) -> None:
        """Put in use the newest good table of: shipped, deployment file, loaded by command."""
        tables = [LEAP_SECONDS]
        if self.leap_file is not None:
            path = os.path.expanduser(self.leap_file)
            try:
                tables.append(self._checked_leap(LeapSecondTable.load(path)))
            except (OSError, LeapSecondFileError) as exc:
                self.emit(self.leap_rejected, path[-80:], str(exc)[:160])
        blob = self.file + LEAP_SUFFIX
        try:
            tables.append(self._checked_leap(LeapSecondTable.parse(storage.load(blob), blob)))
        except StorageMissing:
            pass
        except (OSError, LeapSecondFileError) as exc:
            self.emit(self.leap_rejected, blob, str(exc)[:160])
        self._use_leap(max(tables, key=lambda t: t.expires))  # the shipped table on a tie

    @staticmethod
    def _checked_leap(table: LeapSecondTable) -> LeapSecondTable:
        day = table.first_disagreement(LEAP_SECONDS)
        if day is not None:
            raise LeapSecondFileError(table.source, f"contradicts the shipped table on {day}")
        return table

    def _use_leap(self, table: LeapSecondTable) -> None:
        use_leap_seconds(table)
        self._leap_expiry_tai = table.expiry_tai
        self._leap_expired = None
        if table is not LEAP_SECONDS:
            self.emit(self.leap_loaded, table.source[-80:], table.tai_minus_utc_s[-1],
                      table.expires.isoformat())

    def _check_leap_expiry(self, now: float) -> None:
        expired = now >= self._leap_expiry_tai
        if expired is self._leap_expired:
            return
        self._leap_expired = expired
        self.tlm(self.leap_table_expired, expired)
        if expired:
            table = leap_seconds()
            self.emit(self.leap_expired, table.source[-80:], table.expires.isoformat())

    def _replay(self, state: Any, changes: list[Any]) -> None:
        if state is not None:
            if type(state) is not list or len(state) != 2 or type(state[0]) is not int:
                raise JournalError(self.file, "snapshot is not [next_id, entries]")
            self._next_id = state[0]
            for row in state[1]:
                self.schedule.add(self._entry(*row))
        for kind, fields in records_of(changes):
            if kind == "i":
                entry = self._entry(*fields)
                self.schedule.add(entry)
                self._next_id = max(self._next_id, entry.entry_id + 1)
            elif kind == "d":
                self.schedule.remove(fields[0])
            elif kind == "x":
                for entry_id in fields[0]:
                    self.schedule.remove(entry_id)
            elif kind == "c":
                self.schedule.clear()
            else:
                raise JournalError(self.file, f"unknown change {kind!r}")

    @staticmethod
    def _entry(entry_id: Any, tai: Any, packed: Any) -> Entry:
        if type(entry_id) is not int or type(tai) is not float or type(packed) is not bytes:
            raise JournalError("sched", f"entry {entry_id!r} has fields of the wrong type")
        return Entry(entry_id, tai, Command.unpack(packed), packed)

    def _state(self) -> list[Any]:
        return [self._next_id,
                [[e.entry_id, e.tai, e.packed] for e in self.schedule.entries.values()]]

    # --- the cycle ------------------------------------------------------------------------------

    def cycle(self) -> None:
        now = tai_or_none(self.time)  # type: ignore[arg-type]
        if now is None:
            if self._time_ok is not False:
                self._time_ok = False
                self.tlm(self.time_valid, False)
            return
        if self._time_ok is not True:
            self._time_ok = True
            self.tlm(self.time_valid, True)
        if (now >= self._leap_expiry_tai) is not self._leap_expired:
            self._check_leap_expiry(now)
        if self._boot_pending:
            self._boot_pending = False
            self._missed_while_down(now)
        heap = self.schedule.heap
        if not heap or heap[0][0] > now:
            return
        self._run_due(now)

    def _missed_while_down(self, now: float) -> None:
        missed = [e for e in self.schedule.entries.values() if e.tai <= now]
        if not missed:
            return
        late = [e for e in missed if self.late_policy is LatePolicy.RUN
                and now - e.tai <= self.late_window_s]
        keep = {e.entry_id for e in late}
        dropped = sorted((e for e in missed if e.entry_id not in keep),
                         key=lambda e: (e.tai, e.entry_id))
        self.emit(self.missed_at_boot, len(missed), len(late), str(self.late_policy),
                  len(dropped))
        if dropped:
            self._remove_durably(dropped)
            self._skip(dropped, now)

    def _run_due(self, now: float) -> None:
        due = self.schedule.pop_due(now, self.max_per_cycle)
        if not due:
            return
        run: list[Entry] = []
        late: list[Entry] = []
        for entry in due:
            (late if now - entry.tai > self.late_window_s else run).append(entry)
        if not self._remove_durably(due):
            for entry in due:
                self.schedule.add(entry)
            return
        self._skip(late, now)
        dispatch = self._dispatch
        assert dispatch is not None
        for entry in run:
            report = dispatch(entry.command)
            name = self._name(entry.command.opcode)
            if report.failed:
                self._counts["failed"] += 1
                self.emit(self.entry_failed, entry.entry_id, name, report.reason)
            else:
                self._counts["dispatched"] += 1
                self.emit(self.entry_ran, entry.entry_id, name,
                          min(round((now - entry.tai) * 1000), 0xFFFFFFFF))
        self._report()

    def _remove_durably(self, entries: list[Entry]) -> bool:
        """Record the entries as gone (run or skipped) and make it durable: the at-most-once
        point. False if storage failed (the entries are then not run)."""
        for entry in entries:
            self.schedule.remove(entry.entry_id)
        try:
            self._journal().append(["x", [e.entry_id for e in entries]])
            self._commit()
        except (OSError, CommandError) as exc:
            self.emit(self.storage_failed, str(exc)[:120])
            return False
        return True

    def _skip(self, entries: Iterable[Entry], now: float) -> None:
        for entry in entries:
            self._counts["skipped"] += 1
            self.emit(self.entry_skipped, entry.entry_id, self._name(entry.command.opcode),
                      now - entry.tai)
        self._report()

    def _name(self, opcode: int) -> str:
        entry = self.commands.get(opcode)
        return entry.name if entry is not None else f"0x{opcode:X}"

    def _report(self) -> None:
        self.tlm(self.entries, len(self.schedule))
        next_time = self.schedule.next_time()
        self.tlm(self.next_tai, next_time if next_time is not None else 0.0)
        self.tlm(self.dispatched, self._counts["dispatched"])
        self.tlm(self.failed, self._counts["failed"])
        self.tlm(self.skipped, self._counts["skipped"])
        self.tlm(self.inserted, self._counts["inserted"])
        if self.journal is not None and self.journal._log is not None:
            self.tlm(self.journal_bytes, min(self.journal.journal_bytes, 0xFFFFFFFF))

    def _journal(self) -> Journal:
        if self.journal is None:
            raise CommandError(ReasonCode.STORAGE_ERROR, f"{self.name} has no usable storage")
        return self.journal

    def _commit(self) -> None:
        journal = self._journal()
        journal.commit()
        if journal.should_compact():
            journal.compact(self._state())

    # --- loading ------------------------------------------------------------------------------

    def check_command(self, cmd: Command) -> CommandEntry:
        """The dictionary entry of `cmd` if its opcode exists and its arguments check."""
        entry = self.commands.get(cmd.opcode)
        if entry is None:
            raise CommandError(ReasonCode.UNKNOWN_OPCODE, f"no command has opcode "
                                                          f"0x{cmd.opcode:X}")
        if len(cmd.args) != len(entry.arg_types):
            raise CommandError(ReasonCode.WRONG_ARG_COUNT, f"{entry.name} takes "
                               f"{len(entry.arg_types)} arguments, got {len(cmd.args)}")
        try:
            for kind, arg in zip(entry.arg_types, cmd.args, strict=True):
                kind.check(arg)
        except ArgumentError as exc:
            raise CommandError(exc.reason, f"{entry.name}: {exc.detail}") from None
        return entry

    def insert_many(self, items: Iterable[tuple[float, Command]]) -> list[int]:
        """Check and insert entries, all or none; durable when this returns. Returns the IDs."""
        checked: list[tuple[float, Command, bytes]] = []
        now = tai_or_none(self.time) if self.time is not None else None
        for tai, cmd in items:
            if isinstance(tai, bool) or not isinstance(tai, int | float) or not (
                0 <= tai < math.inf
            ):
                raise CommandError(ReasonCode.OUT_OF_RANGE, f"time {tai!r} is not TAI seconds")
            tai = float(tai)
            if now is not None and tai < now - PAST_TOLERANCE_S:
                raise CommandError(ReasonCode.OUT_OF_RANGE,
                                   f"time TAI {tai} is {now - tai:.3f} s in the past")
            self.check_command(cmd)
            packed = cmd.pack()
            if len(packed) > MAX_EMBEDDED_COMMAND:
                raise CommandError(ReasonCode.OUT_OF_RANGE, f"command of {len(packed)} octets, "
                                                            f"at most {MAX_EMBEDDED_COMMAND}")
            checked.append((tai, cmd, packed))
        if len(self.schedule) + len(checked) > self.capacity:
            raise CommandError(ReasonCode.EXECUTION_FAILED,
                               f"schedule full: {len(self.schedule)} of {self.capacity} entries, "
                               f"{len(checked)} more asked")
        journal = self._journal()
        ids = []
        for tai, cmd, packed in checked:
            entry = Entry(self._next_id, tai, cmd, packed)
            self._next_id += 1
            journal.append(["i", entry.entry_id, tai, packed])
            self.schedule.add(entry)
            ids.append(entry.entry_id)
        try:
            self._commit()
        except OSError as exc:
            for entry_id in ids:
                self.schedule.remove(entry_id)
            self.emit(self.storage_failed, str(exc)[:120])
            raise CommandError(ReasonCode.STORAGE_ERROR, str(exc)) from None
        self._counts["inserted"] += len(ids)
        self._report()
        return ids

    def load_text(self, text: str | bytes, source: str = "<table>") -> list[int]:
        """Insert every line of a schedule table (see `flight.svc.command_text`)."""
        data = text.encode() if isinstance(text, str) else text
        try:
            body, _ = unseal(data)
            lines = compile_text(body, self.by_name, times=TimeKind.ABSOLUTE, source=source,
                                 max_lines=self.capacity)
        except (CommandTextError, ValueError) as exc:
            raise CommandError(ReasonCode.OUT_OF_RANGE, str(exc)) from None
        return self.insert_many((line.time, line.command) for line in lines)

    def table_text(self) -> str:
        """The schedule as a table `load_text` reads back, in time order, IDs in comments."""
        out = []
        for e in self.schedule.in_order():
            entry = self.commands.get(e.command.opcode)
            name = entry.name if entry is not None else f"0x{e.command.opcode:X}"
            args = format_args(entry, e.command.args) if entry is not None else ""
            out.append(f"TAI:{e.tai!r} {name} {args}".rstrip() + f"  # id {e.entry_id}, "
                       f"{_utc(e.tai)}")
        return "\n".join(out) + ("\n" if out else "")

    # --- commands ---------------------------------------------------------------------------

    @command(1, time_tai=F64, command=Bytes(MAX_EMBEDDED_COMMAND))
    def insert(self, time_tai: float, command: bytes) -> None:
        """Run `command` (a packed command, as in a TC) at `time_tai` (TAI s since 1958)."""
        try:
            cmd = Command.unpack(command)
        except DecodeError as exc:
            raise CommandError(ReasonCode.MALFORMED, exc.detail) from None
        (entry_id,) = self.insert_many([(time_tai, cmd)])
        self.emit(self.entry_inserted, entry_id, _utc(time_tai), self._name(cmd.opcode))

    @command(2, entry_id=U32)
    def delete(self, entry_id: int) -> None:
        """Delete one entry."""
        entry = self.schedule.entries.get(entry_id)
        if entry is None:
            raise CommandError(ReasonCode.NOT_FOUND, f"no entry {entry_id} in the schedule")
        self._journal().append(["d", entry_id])
        self.schedule.remove(entry_id)  # before the commit, which may write a snapshot
        try:
            self._commit_or_fail()
        except CommandError:
            self.schedule.add(entry)
            raise
        self.emit(self.entry_deleted, entry_id)
        self._report()

    @command(3)
    def clear(self) -> None:
        """Delete every entry."""
        self._journal().append(["c"])
        entries = list(self.schedule.entries.values())
        self.schedule.clear()  # before the commit, which may write a snapshot
        try:
            self._commit_or_fail()
        except CommandError:
            for entry in entries:
                self.schedule.add(entry)
            raise
        self.emit(self.schedule_cleared, len(entries))
        self._report()

    def _commit_or_fail(self) -> None:
        try:
            self._commit()
        except OSError as exc:
            self.emit(self.storage_failed, str(exc)[:120])
            raise CommandError(ReasonCode.STORAGE_ERROR, str(exc)) from None

    @command(4, file=String(128))
    def load_table(self, file: str) -> None:
        """Insert every entry of a table file in the product store (all or none)."""
        data = self._read_file(file)
        try:
            ids = self.load_text(data, source=file)
        except CommandError as exc:
            self.emit(self.load_rejected, file, exc.detail[:160])
            raise
        self.emit(self.table_loaded, file, len(ids))

    def _read_file(self, file: str) -> bytes:
        if self.store is None:
            raise CommandError(ReasonCode.COMPONENT_UNAVAILABLE, "no product store configured")
        try:
            return self.store.read(file)
        except StoreError as exc:
            self.emit(self.load_rejected, file, str(exc)[:160])
            raise CommandError(exc.reason, str(exc)) from None

    @command(5, file=String(128))
    def dump(self, file: str) -> None:
        """Write the schedule as a table file into the product store (for downlink)."""
        if self.store is None:
            raise CommandError(ReasonCode.COMPONENT_UNAVAILABLE, "no product store configured")
        try:
            self.store.write(file, self.table_text().encode(), category=FileCategory.TABLE,
                             priority=3, meta={"kind": "schedule", "entries": len(self.schedule)})
        except StoreError as exc:
            raise CommandError(exc.reason, str(exc)) from None
        self.emit(self.dumped, len(self.schedule), file)

    @command(7, file=String(128))
    def load_leap_seconds(self, file: str) -> None:
        """Put in use the leap-second table in `file` of the product store (uplinked by CFDP:
        an IERS/NTP leap-seconds.list or a JSON table) if it checks, agrees with the shipped
        table and expires later than the table in use; kept in storage for every later boot."""
        data = self._read_file(file)
        try:
            table = self._checked_leap(LeapSecondTable.parse(data, file))
            if table.expires <= leap_seconds().expires:
                raise LeapSecondFileError(file, f"expires on {table.expires}, not after the "
                                                f"table in use ({leap_seconds().expires})")
        except LeapSecondFileError as exc:
            self.emit(self.leap_rejected, file[-80:], str(exc)[:160])
            raise CommandError(ReasonCode.EXECUTION_FAILED, str(exc)) from None
        if self._storage is None:
            raise CommandError(ReasonCode.STORAGE_ERROR, f"{self.name} has no storage")
        try:
            self._storage.save(self.file + LEAP_SUFFIX, data)
        except OSError as exc:
            self.emit(self.storage_failed, str(exc)[:120])
            raise CommandError(ReasonCode.STORAGE_ERROR, str(exc)) from None
        self._use_leap(table)
        now = tai_or_none(self.time) if self.time is not None else None
        if now is not None:
            self._check_leap_expiry(now)

    @command(6, first=U32, max_count=U16(min=1, max=100))
    def list_entries(self, first: int, max_count: int) -> None:
        """Report entries in time order, from position `first`, at most `max_count`, in events."""
        for e in self.schedule.in_order()[first:first + max_count]:
            entry = self.commands.get(e.command.opcode)
            args = format_args(entry, e.command.args) if entry is not None else ""
            self.emit(self.entry_listed, e.entry_id, _utc(e.tai), self._name(e.command.opcode),
                      args.encode()[:120].decode(errors="ignore"))


def _utc(tai: float) -> str:
    try:
        return utc_text(tai)
    except ValueError:
        return f"TAI:{tai!r}"
