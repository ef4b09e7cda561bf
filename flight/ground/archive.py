"""The ground archive: every frame, packet, telemetry value, event, verification report and
command sent, in one SQLite file, with history queries and CSV export.

Times. `received` is the ground's reception time (for commands: the time sent), POSIX seconds
(UTC) from the injected `now` callable. `onboard_time` is the spacecraft's time as the record
carries it: TAI seconds since 1958-01-01 (`hal.time`) once the satellite's time is set; before
that, whatever its clock counts (seconds since boot).

Durability. Each `store_*` call (or `transaction()` block) commits before it returns, so what
it reported stored survives a crash of the ground station. The file is in WAL mode with
`synchronous=NORMAL`: a commit does not wait for fsync, so after a power loss or an operating
system crash the transactions since the last WAL checkpoint may be gone, but the file stays
consistent. That is SQLite's recommended setting for WAL, and what makes archiving tens of
thousands of values per second cheap.

Threads. The ground station decodes in a reader thread while scripts query: every thread gets its
own connection (WAL lets readers run while a writer commits; a thread's connection is closed when
the next one is opened after it ended, or by `close()`), and one lock serialises writers so that
two threads never wait on SQLite's own file lock.

Schema. `schema_version` holds one row per migration applied; `MIGRATIONS[i]` takes the schema
from version i to i + 1 in one transaction, so a later version appends a migration and older
archives are upgraded when opened. The file's SQLite `application_id` marks it as ours: any other
database, or a file that is not a database at all, is refused with an `ArchiveError` naming it.

Values. Telemetry values keep their type (int, float, bool, str, bytes, enumeration, or anything
else msgpack carries) and a display form: an enumeration's member name from the dictionary, the
hex of octets, the text of the rest. Integers beyond SQLite's 64 bits (U64 channels) are stored
as text and come back as int; NaN (which SQLite stores as NULL) comes back as NaN.
"""

from __future__ import annotations

import csv
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum, IntEnum
from pathlib import Path
from typing import IO, Any, Final, Literal, TypeVar

import msgpack

from flight.link.errors import LinkError
from flight.link.spacepacket import PacketType, SpacePacket, telemetry_time
from flight.runtime.errors import ReasonCode
from flight.runtime.records import Command, EventRecord, Severity, Stage, TlmSample, Verification
from hal.time import TimeScaleError, tai_to_utc, utc_to_tai

APPLICATION_ID: Final[int] = 0x41534B59  # "ASKY"

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        "CREATE TABLE frames (id INTEGER PRIMARY KEY, received REAL NOT NULL,"
        " good INTEGER NOT NULL, reason TEXT, detail TEXT, spacecraft_id INTEGER,"
        " vcid INTEGER, master_frame_count INTEGER, virtual_frame_count INTEGER,"
        " data BLOB NOT NULL)",
        "CREATE INDEX frames_received ON frames (received)",
        "CREATE TABLE packets (id INTEGER PRIMARY KEY, received REAL NOT NULL, vcid INTEGER,"
        " apid INTEGER NOT NULL, sequence_count INTEGER NOT NULL, onboard_time REAL,"
        " data BLOB NOT NULL)",
        "CREATE INDEX packets_apid ON packets (apid, received)",
        "CREATE INDEX packets_received ON packets (received)",
        "CREATE TABLE channels (name TEXT NOT NULL, channel_id INTEGER NOT NULL,"
        " PRIMARY KEY (name, channel_id)) WITHOUT ROWID",
        "CREATE TABLE telemetry (id INTEGER PRIMARY KEY, received REAL NOT NULL,"
        " onboard_time REAL NOT NULL, channel_id INTEGER NOT NULL, channel TEXT NOT NULL,"
        " kind TEXT NOT NULL, value, display TEXT NOT NULL)",
        "CREATE INDEX telemetry_channel_received ON telemetry (channel_id, received)",
        "CREATE INDEX telemetry_channel_onboard ON telemetry (channel_id, onboard_time)",
        "CREATE INDEX telemetry_received ON telemetry (received)",
        "CREATE TABLE events (id INTEGER PRIMARY KEY, received REAL NOT NULL,"
        " onboard_time REAL NOT NULL, event_id INTEGER NOT NULL, name TEXT NOT NULL,"
        " severity INTEGER NOT NULL, message TEXT NOT NULL, args BLOB NOT NULL)",
        "CREATE INDEX events_name ON events (name, received)",
        "CREATE INDEX events_received ON events (received)",
        "CREATE TABLE verifications (id INTEGER PRIMARY KEY, received REAL NOT NULL,"
        " onboard_time REAL NOT NULL, opcode INTEGER NOT NULL, name TEXT NOT NULL,"
        " seq INTEGER NOT NULL, stage INTEGER NOT NULL, reason INTEGER NOT NULL)",
        "CREATE INDEX verifications_seq ON verifications (seq, received)",
        "CREATE INDEX verifications_received ON verifications (received)",
        "CREATE TABLE commands (id INTEGER PRIMARY KEY, sent REAL NOT NULL,"
        " opcode INTEGER NOT NULL, name TEXT NOT NULL, seq INTEGER NOT NULL,"
        " args BLOB NOT NULL, data BLOB NOT NULL)",
        "CREATE INDEX commands_sent ON commands (sent)",
    ),
    (
        "CREATE TABLE file_transfers (id INTEGER PRIMARY KEY, finished REAL NOT NULL,"
        " uplink INTEGER NOT NULL, source_entity INTEGER NOT NULL, seq INTEGER NOT NULL,"
        " source_file TEXT NOT NULL, destination_file TEXT NOT NULL, size INTEGER,"
        " condition TEXT NOT NULL, delivery TEXT, local_path TEXT, crc32c INTEGER)",
        "CREATE INDEX file_transfers_finished ON file_transfers (finished)",
    ),
)
"""`MIGRATIONS[i]` takes the schema from version i to i + 1."""

SCHEMA_VERSION: Final[int] = len(MIGRATIONS)
BUSY_TIMEOUT_S: Final[float] = 30.0
_INT64_MIN: Final[int] = -(1 << 63)
_INT64_MAX: Final[int] = (1 << 63) - 1
_TM_HEADER_OCTETS: Final[int] = 6

TimeBase = Literal["received", "onboard"]
Since = float | datetime | None
ChannelSpec = str | int | Iterable[str | int] | None
_Row = TypeVar("_Row")


class ArchiveError(ValueError):
    """The archive file cannot be used (not a database, another application's, a newer schema,
    damaged) or a write failed; `path` names the file, `detail` the fault."""

    def __init__(self, path: str | Path, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = str(path)
        self.detail = detail


# ---------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True)
class FrameRow:
    """A received TM frame; header fields as received (unchecked), None if it was too short."""

    id: int
    received: float
    good: bool
    reason: str | None
    detail: str | None
    spacecraft_id: int | None
    vcid: int | None
    master_frame_count: int | None
    virtual_frame_count: int | None
    data: bytes


@dataclass(frozen=True, slots=True)
class PacketRow:
    """A received space packet (`data` is the whole packet) and its secondary-header time."""

    id: int
    received: float
    vcid: int | None
    apid: int
    sequence_count: int
    onboard_time: float | None
    data: bytes


@dataclass(frozen=True, slots=True)
class TelemetryRow:
    id: int
    received: float
    onboard_time: float
    channel_id: int
    channel: str
    value: Any
    display: str


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    received: float
    onboard_time: float
    event_id: int
    name: str
    severity: Severity | int
    message: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class VerificationRow:
    id: int
    received: float
    onboard_time: float
    opcode: int
    name: str
    seq: int
    stage: Stage | int
    reason: ReasonCode | int

    @property
    def failed(self) -> bool:
        return self.stage in (Stage.ACCEPTANCE_FAILED, Stage.START_FAILED, Stage.COMPLETION_FAILED)


@dataclass(frozen=True, slots=True)
class CommandRow:
    """A command sent on the uplink; `data` is its packed form (the TC packet data field)."""

    id: int
    sent: float
    opcode: int
    name: str
    seq: int
    args: tuple[Any, ...]
    data: bytes


@dataclass(frozen=True)
class FileTransferRow:
    """A CFDP transfer that ended: `uplink` (ground to satellite) or downlink, the CFDP
    transaction (source entity, sequence number), names at both ends, its outcome (condition
    and delivery code names), and for a file received its local path and CRC-32C."""

    id: int
    finished: float
    uplink: bool
    source_entity: int
    seq: int
    source_file: str
    destination_file: str
    size: int | None
    condition: str
    delivery: str | None
    local_path: str | None
    crc32c: int | None

    @property
    def complete(self) -> bool:
        return self.condition == "NO_ERROR" and self.delivery == "DATA_COMPLETE"


# ---------------------------------------------------------------- values


def _as_enum(enum: type[IntEnum], value: int) -> Any:
    try:
        return enum(value)
    except ValueError:
        return value


def encode_value(value: Any, members: dict[int, str] | None = None) -> tuple[str, Any, str]:
    """(kind, stored value, display form) of a telemetry value; `members` names an
    enumeration's values (from the dictionary)."""
    kind = type(value)
    if kind is float:
        return "float", value, repr(value)
    if kind is int or (isinstance(value, int) and not isinstance(value, bool | IntEnum)):
        value = int(value)
        stored = value if _INT64_MIN <= value <= _INT64_MAX else str(value)
        if members is not None:
            return "enum", stored, members.get(value, str(value))
        return "int", stored, str(value)
    if kind is bool:
        return "bool", int(value), str(value)
    if isinstance(value, IntEnum):
        return "enum", int(value), value.name
    if kind is str:
        return "str", value, value
    if isinstance(value, bytes | bytearray | memoryview):
        octets = bytes(value)
        return "bytes", octets, octets.hex()
    if value is None:
        return "none", None, "None"
    return "msgpack", msgpack.packb(value), repr(value)


def decode_value(kind: str, stored: Any) -> Any:
    """The value `encode_value` stored (enumerations come back as their integer)."""
    if kind == "float":
        return math.nan if stored is None else float(stored)
    if kind in ("int", "enum"):
        return int(stored)
    if kind == "bool":
        return bool(stored)
    if kind == "msgpack":
        return msgpack.unpackb(stored, raw=False)
    return stored


def _csv_value(kind: str, stored: Any, display: str) -> str:
    """The value column of a CSV export: numbers as numbers (bools 1/0, enumerations by value),
    text as text, octets in hex, anything else in its display form."""
    if kind in ("int", "enum", "bool"):
        return str(stored)
    if kind == "float":
        return "nan" if stored is None else repr(float(stored))
    if kind == "str":
        return stored
    return display


def iso_utc(posix_s: float) -> str:
    """ISO-8601 UTC, microseconds, 'Z' suffix, of POSIX seconds."""
    return datetime.fromtimestamp(posix_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_utc_of_tai(tai_s: float) -> str:
    """ISO-8601 UTC of TAI seconds since 1958; '' before the leap-second table starts (1972),
    which is where an onboard clock that was never set (counting from boot) lands, and past the
    calendar's year 9999."""
    try:
        return tai_to_utc(tai_s).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (TimeScaleError, OverflowError):
        return ""


# ---------------------------------------------------------------- dictionary index


class _Names:
    """What the archive needs from the dictionary: names, enumeration members, event formats."""

    def __init__(self, dictionary: Mapping[str, Any] | Any | None) -> None:
        d = getattr(dictionary, "body", dictionary) or {}
        self.channels: dict[int, tuple[str, dict[int, str] | None]] = {}
        for c in d.get("channels", ()):
            members = c.get("type", {}).get("members")
            self.channels[c["id"]] = (
                c["name"], {v: k for k, v in members.items()} if members else None,
            )
        self.events: dict[int, tuple[str, str, tuple[str, ...]]] = {
            e["id"]: (e["name"], e.get("format", ""), tuple(a["name"] for a in e.get("args", ())))
            for e in d.get("events", ())
        }
        self.commands: dict[int, str] = {c["opcode"]: c["name"] for c in d.get("commands", ())}

    def channel(self, channel_id: int) -> tuple[str, dict[int, str] | None]:
        found = self.channels.get(channel_id)
        return found if found is not None else (f"channel_0x{channel_id:X}", None)

    def command(self, opcode: int) -> str:
        return self.commands.get(opcode, f"opcode_0x{opcode:X}")

    def event(self, record: EventRecord) -> tuple[str, str]:
        """(name, formatted message), formatted as on board (`Event.format`)."""
        found = self.events.get(record.event_id)
        if found is None:
            return f"event_0x{record.event_id:X}", f"event 0x{record.event_id:X} {record.args!r}"
        name, fmt, arg_names = found
        try:
            return name, fmt.format(**dict(zip(arg_names, record.args, strict=True)))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return name, f"{fmt} {record.args!r} (unformattable: {exc})"


# ---------------------------------------------------------------- the archive


def _frame_header(data: bytes) -> tuple[int | None, int | None, int | None, int | None]:
    """(spacecraft ID, VCID, master and virtual frame counts) from a TM primary header."""
    if len(data) < _TM_HEADER_OCTETS:
        return None, None, None, None
    word = (data[0] << 8) | data[1]
    return (word >> 4) & 0x3FF, (word >> 1) & 0x7, data[2], data[3]


def _reason(rejected: str | Enum | BaseException) -> tuple[str, str | None]:
    if isinstance(rejected, BaseException):
        return type(rejected).__name__, str(rejected)
    if isinstance(rejected, Enum):
        return rejected.name, None
    return rejected, None


def _pack_args(args: Sequence[Any]) -> bytes:
    return msgpack.packb(list(args), use_bin_type=True)


def _unpack_args(blob: bytes) -> tuple[Any, ...]:
    return tuple(msgpack.unpackb(blob, raw=False))


class Archive:
    """The ground station's archive in the SQLite file `path` (created if absent).

    `dictionary` (the JSON dictionary as loaded, or a `GroundDictionary`, whose `body` that is)
    names channels, events and commands and gives enumeration members; without it names are
    made from the numbers. `now` gives reception times (POSIX seconds)."""

    def __init__(
        self,
        path: str | Path,
        dictionary: Mapping[str, Any] | Any | None = None,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.now = now
        self._names = _Names(dictionary)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._connections_lock = threading.Lock()
        self._closed = False
        self._open()

    # ------------------------------------------------------------ connections and schema

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise ArchiveError(self.path, f"cannot open: {exc}") from exc
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            conn.close()
            raise ArchiveError(self.path, f"not a ground archive: {exc}") from exc
        with self._connections_lock:
            for thread in [t for t in self._connections if not t.is_alive()]:
                self._connections.pop(thread).close()
            self._connections[threading.current_thread()] = conn
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise ArchiveError(self.path, "archive is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            self._local.depth = 0
        return conn

    def _open(self) -> None:
        conn = self._conn()
        try:
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            self.close()
            raise ArchiveError(self.path, f"not a ground archive: {exc}") from exc
        if application_id != APPLICATION_ID and (application_id != 0 or tables):
            self.close()
            raise ArchiveError(
                self.path,
                f"not a ground archive: a SQLite database of application_id "
                f"{application_id:#010x} with {tables} schema objects (expected "
                f"{APPLICATION_ID:#010x})",
            )
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise ArchiveError(self.path, f"cannot use write-ahead logging (mode {mode!r})")
            self._migrate(conn)
        except ArchiveError:
            self.close()
            raise
        except sqlite3.DatabaseError as exc:
            self.close()
            raise ArchiveError(self.path, f"cannot open: {exc}") from exc

    def _migrate(self, conn: sqlite3.Connection) -> None:
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = self._read_version(conn)
                if version > SCHEMA_VERSION:
                    raise ArchiveError(
                        self.path,
                        f"schema version {version} is newer than this software reads "
                        f"(up to {SCHEMA_VERSION})",
                    )
                if version == 0:
                    conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    conn.execute(
                        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
                        " applied REAL NOT NULL)"
                    )
                for target in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[target - 1]:
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version VALUES (?, ?)", (target, self.now()))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _read_version(self, conn: sqlite3.Connection) -> int:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if exists is None:
            if conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
                raise ArchiveError(self.path, "damaged ground archive: no schema_version table")
            return 0
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        if row[0] is None:
            raise ArchiveError(self.path, "damaged ground archive: schema_version is empty")
        return int(row[0])

    @property
    def schema_version(self) -> int:
        return self._read_version(self._conn())

    def close(self) -> None:
        """Close every thread's connection; later calls raise `ArchiveError`."""
        self._closed = True
        with self._connections_lock:
            connections, self._connections = self._connections, {}
        for conn in connections.values():
            conn.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ writing

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several stores into one commit: nothing in the block is stored (or reported
        stored) until the block ends, and an exception stores none of it."""
        with self._write_lock:
            conn = self._conn()
            local = self._local
            if local.depth:
                local.depth += 1
                try:
                    yield
                finally:
                    local.depth -= 1
                return
            local.depth = 1
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback(conn)
                raise ArchiveError(self.path, f"write failed: {exc}") from exc
            except BaseException:
                self._rollback(conn)
                raise
            finally:
                local.depth = 0

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def store_frame(
        self,
        data: bytes,
        *,
        rejected: str | Enum | BaseException | None = None,
        received: float | None = None,
    ) -> int:
        """Archive one received TM frame; `rejected` is why it was refused (an exception such
        as a `LinkError`, a `RejectReason`, or text), None for a good frame. Returns its id."""
        reason, detail = (None, None) if rejected is None else _reason(rejected)
        octets = bytes(data)
        with self.transaction():
            return self._conn().execute(
                "INSERT INTO frames (received, good, reason, detail, spacecraft_id, vcid,"
                " master_frame_count, virtual_frame_count, data) VALUES (?,?,?,?,?,?,?,?,?)",
                (self.now() if received is None else received, rejected is None, reason, detail,
                 *_frame_header(octets), octets),
            ).lastrowid

    def store_packet(
        self, packet: SpacePacket | bytes, *, vcid: int | None = None,
        received: float | None = None,
    ) -> int:
        """Archive one space packet (a `SpacePacket`, or its octets as the TM demultiplexer
        gives them: malformed octets raise the `LinkError` naming the fault). The onboard time
        is the CUC of a TM packet's secondary header, None if it has none or it does not decode.
        Returns its id."""
        if isinstance(packet, SpacePacket):
            octets = packet.pack()
        else:
            octets = bytes(packet)
            packet = SpacePacket.unpack(octets)
        onboard: float | None = None
        if packet.secondary_header and packet.packet_type is PacketType.TM:
            try:
                onboard = telemetry_time(packet)[0]
            except LinkError:
                onboard = None
        with self.transaction():
            return self._conn().execute(
                "INSERT INTO packets (received, vcid, apid, sequence_count, onboard_time, data)"
                " VALUES (?,?,?,?,?,?)",
                (self.now() if received is None else received, vcid, packet.apid,
                 packet.sequence_count, onboard, octets),
            ).lastrowid

    def store_telemetry(
        self,
        samples: TlmSample | Iterable[TlmSample | tuple[int, float, Any]],
        *,
        received: float | None = None,
    ) -> int:
        """Archive one `TlmSample` or many (any `(channel_id, onboard_time, value)` tuples), in
        one transaction; returns how many."""
        if isinstance(samples, TlmSample):
            samples = (samples,)
        at = self.now() if received is None else received
        names = self._names
        rows = []
        for channel_id, onboard, value in samples:
            name, members = names.channel(channel_id)
            rows.append((at, onboard, channel_id, name, *encode_value(value, members)))
        with self.transaction():
            conn = self._conn()
            conn.executemany(
                "INSERT OR IGNORE INTO channels VALUES (?, ?)", {(r[3], r[2]) for r in rows},
            )
            conn.executemany(
                "INSERT INTO telemetry (received, onboard_time, channel_id, channel, kind, value,"
                " display) VALUES (?,?,?,?,?,?,?)", rows,
            )
        return len(rows)

    def store_event(
        self, record: EventRecord, *, message: str | None = None, received: float | None = None,
    ) -> int:
        """Archive one event; its message is formatted from the dictionary unless given."""
        name, formatted = self._names.event(record)
        with self.transaction():
            return self._conn().execute(
                "INSERT INTO events (received, onboard_time, event_id, name, severity, message,"
                " args) VALUES (?,?,?,?,?,?,?)",
                (self.now() if received is None else received, record.time, record.event_id,
                 name, int(record.severity), formatted if message is None else message,
                 _pack_args(record.args)),
            ).lastrowid

    def store_verification(self, report: Verification, *, received: float | None = None) -> int:
        """Archive one command verification report."""
        with self.transaction():
            return self._conn().execute(
                "INSERT INTO verifications (received, onboard_time, opcode, name, seq, stage,"
                " reason) VALUES (?,?,?,?,?,?,?)",
                (self.now() if received is None else received, report.time, report.opcode,
                 self._names.command(report.opcode), report.seq, int(report.stage),
                 int(report.reason)),
            ).lastrowid

    def store_command_sent(
        self, command: Command, *, name: str | None = None, sent: float | None = None,
    ) -> int:
        """Log one command handed to the uplink (its name from the dictionary unless given)."""
        with self.transaction():
            return self._conn().execute(
                "INSERT INTO commands (sent, opcode, name, seq, args, data) VALUES (?,?,?,?,?,?)",
                (self.now() if sent is None else sent, command.opcode,
                 self._names.command(command.opcode) if name is None else name, command.seq,
                 _pack_args(command.args), command.pack()),
            ).lastrowid

    def store_file_transfer(
        self, *, uplink: bool, source_entity: int, seq: int, source_file: str,
        destination_file: str, size: int | None, condition: str, delivery: str | None,
        local_path: str | None = None, crc32c: int | None = None, finished: float | None = None,
    ) -> int:
        """Archive the outcome of one file transfer (see `FileTransferRow`)."""
        with self.transaction():
            return self._conn().execute(
                "INSERT INTO file_transfers (finished, uplink, source_entity, seq, source_file,"
                " destination_file, size, condition, delivery, local_path, crc32c)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (self.now() if finished is None else finished, int(uplink), source_entity, seq,
                 source_file, destination_file, size, condition, delivery, local_path, crc32c),
            ).lastrowid

    # ------------------------------------------------------------ reading

    def _select(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        try:
            yield from self._conn().execute(sql, params)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(self.path, f"read failed: {exc}") from exc

    def _query(
        self,
        table: str,
        columns: str,
        conditions: list[tuple[str, Sequence[Any]]],
        time_column: str,
        since: Since,
        until: Since,
        tai: bool,
    ) -> tuple[str, list[Any]]:
        """SELECT of `columns` under `conditions` and `since <= time_column <= until`."""
        clauses = [c for c, _ in conditions]
        params: list[Any] = [p for _, ps in conditions for p in ps]
        if since is not None:
            clauses.append(f"{time_column} >= ?")
            params.append(_seconds(since, tai))
        if until is not None:
            clauses.append(f"{time_column} <= ?")
            params.append(_seconds(until, tai))
        sql = f"SELECT {columns} FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return sql, params

    def _history(
        self,
        table: str,
        columns: str,
        make: Callable[..., _Row],
        conditions: list[tuple[str, Sequence[Any]]],
        time_column: str,
        since: Since,
        until: Since,
        limit: int | None,
        where: Callable[[_Row], bool] | None,
        tai: bool = False,
    ) -> list[_Row]:
        """Rows in time order (ties in archive order); with `limit`, the latest that many
        (after `where`), still oldest first."""
        sql, params = self._query(table, columns, conditions, time_column, since, until, tai)
        if limit is None:
            rows = (make(*r) for r in self._select(f"{sql} ORDER BY {time_column}, id", params))
            return [r for r in rows if where(r)] if where is not None else list(rows)
        if limit <= 0:
            return []
        if where is None:
            sql += f" ORDER BY {time_column} DESC, id DESC LIMIT ?"
            found = [make(*r) for r in self._select(sql, [*params, limit])]
        else:
            found = []
            for r in self._select(f"{sql} ORDER BY {time_column} DESC, id DESC", params):
                row = make(*r)
                if where(row):
                    found.append(row)
                    if len(found) == limit:
                        break
        found.reverse()
        return found

    def _channel_condition(self, channel: ChannelSpec) -> list[tuple[str, Sequence[Any]]]:
        if channel is None:
            return []
        specs = [channel] if isinstance(channel, str | int) else list(channel)
        ids = [c for c in specs if isinstance(c, int)]
        names = [c for c in specs if isinstance(c, str)]
        parts: list[str] = []
        params: list[Any] = []
        if ids:
            parts.append(f"channel_id IN ({','.join('?' * len(ids))})")
            params += ids
        if names:
            marks = ",".join("?" * len(names))
            parts.append(
                f"(channel_id IN (SELECT channel_id FROM channels WHERE name IN ({marks}))"
                f" AND channel IN ({marks}))"
            )
            params += names + names
        if not parts:
            return [("0", ())]
        return [("(" + " OR ".join(parts) + ")", params)]

    def telemetry_history(
        self,
        channel: ChannelSpec = None,
        since: Since = None,
        until: Since = None,
        limit: int | None = None,
        *,
        where: Callable[[TelemetryRow], bool] | None = None,
        by: TimeBase = "received",
    ) -> list[TelemetryRow]:
        """Telemetry samples of `channel` (a name, an ID or several; None: all), with `since <=
        t <= until` on reception time (or, `by="onboard"`, onboard time; datetimes are UTC), in
        that time's order, filtered by the predicate `where`; `limit` keeps the latest."""
        return self._history(
            "telemetry", _TELEMETRY_COLUMNS, _telemetry_row, self._channel_condition(channel),
            _time_column(by), since, until, limit, where, tai=by == "onboard",
        )

    def latest(self, channel: str | int) -> TelemetryRow | None:
        """The sample of `channel` with the latest onboard time (ties: the last archived), so
        playback of older data never hides the current value; None if never received."""
        found = self._history(
            "telemetry", _TELEMETRY_COLUMNS, _telemetry_row, self._channel_condition(channel),
            "onboard_time", None, None, 1, None,
        )
        return found[0] if found else None

    def channels(self) -> list[str]:
        """Names of the channels archived so far, sorted."""
        return [r[0] for r in self._select("SELECT DISTINCT name FROM channels ORDER BY name", ())]

    def event_history(
        self,
        name: str | int | None = None,
        severity: Severity | str | int | None = None,
        since: Since = None,
        until: Since = None,
        limit: int | None = None,
        *,
        min_severity: Severity | str | int | None = None,
        where: Callable[[EventRow], bool] | None = None,
        by: TimeBase = "received",
    ) -> list[EventRow]:
        """Events by name (or event ID), exact `severity` and/or `min_severity`, time range and
        predicate, as `telemetry_history`."""
        conditions: list[tuple[str, Sequence[Any]]] = []
        if isinstance(name, str):
            conditions.append(("name = ?", (name,)))
        elif name is not None:
            conditions.append(("event_id = ?", (name,)))
        if severity is not None:
            conditions.append(("severity = ?", (_severity(severity),)))
        if min_severity is not None:
            conditions.append(("severity >= ?", (_severity(min_severity),)))
        return self._history(
            "events", _EVENT_COLUMNS, _event_row, conditions, _time_column(by), since, until,
            limit, where, tai=by == "onboard",
        )

    def verification_history(
        self,
        command: str | int | None = None,
        seq: int | None = None,
        stage: Stage | int | None = None,
        since: Since = None,
        until: Since = None,
        limit: int | None = None,
        *,
        where: Callable[[VerificationRow], bool] | None = None,
        by: TimeBase = "received",
    ) -> list[VerificationRow]:
        """Verification reports by command name (or opcode), sequence number, stage, time range
        and predicate, as `telemetry_history`."""
        conditions: list[tuple[str, Sequence[Any]]] = []
        if isinstance(command, str):
            conditions.append(("name = ?", (command,)))
        elif command is not None:
            conditions.append(("opcode = ?", (command,)))
        if seq is not None:
            conditions.append(("seq = ?", (seq,)))
        if stage is not None:
            conditions.append(("stage = ?", (int(stage),)))
        return self._history(
            "verifications", _VERIFICATION_COLUMNS, _verification_row, conditions,
            _time_column(by), since, until, limit, where, tai=by == "onboard",
        )

    def command_history(
        self,
        command: str | int | None = None,
        since: Since = None,
        until: Since = None,
        limit: int | None = None,
        *,
        where: Callable[[CommandRow], bool] | None = None,
    ) -> list[CommandRow]:
        """Commands sent, by name (or opcode) and time sent."""
        conditions: list[tuple[str, Sequence[Any]]] = []
        if isinstance(command, str):
            conditions.append(("name = ?", (command,)))
        elif command is not None:
            conditions.append(("opcode = ?", (command,)))
        return self._history(
            "commands", _COMMAND_COLUMNS, _command_row, conditions, "sent", since, until, limit,
            where,
        )

    def frame_history(
        self,
        vcid: int | None = None,
        good: bool | None = None,
        since: Since = None,
        until: Since = None,
        limit: int | None = None,
        *,
        where: Callable[[FrameRow], bool] | None = None,
    ) -> list[FrameRow]:
        """Frames by VCID, good or rejected, and reception time."""
        conditions: list[tuple[str, Sequence[Any]]] = []
        if vcid is not None:
            conditions.append(("vcid = ?", (vcid,)))
        if good is not None:
            conditions.append(("good = ?", (int(good),)))
        return self._history(
            "frames", _FRAME_COLUMNS, _frame_row, conditions, "received", since, until, limit,
            where,
        )

    def packet_history(
        self,
        apid: int | None = None,
        since: Since = None,
        until: Since = None,
        limit: int | None = None,
        *,
        where: Callable[[PacketRow], bool] | None = None,
    ) -> list[PacketRow]:
        """Packets by APID and reception time."""
        conditions = [] if apid is None else [("apid = ?", (apid,))]
        return self._history(
            "packets", _PACKET_COLUMNS, _packet_row, conditions, "received", since, until, limit,
            where,
        )

    def file_transfer_history(
        self,
        name: str | None = None,
        since: Since = None,
        until: Since = None,
        limit: int | None = None,
        *,
        where: Callable[[FileTransferRow], bool] | None = None,
    ) -> list[FileTransferRow]:
        """File transfers by file name (either end's) and time finished."""
        conditions: list[tuple[str, Sequence[Any]]] = []
        if name is not None:
            conditions.append(("(source_file = ? OR destination_file = ?)", (name, name)))
        return self._history(
            "file_transfers", _FILE_TRANSFER_COLUMNS, _file_transfer_row, conditions,
            "finished", since, until, limit, where,
        )

    def counts(self) -> dict[str, int]:
        """Rows archived per kind."""
        return {
            table: next(self._select(f"SELECT count(*) FROM {table}", ()))[0]
            for table in ("frames", "packets", "telemetry", "events", "verifications", "commands")
        }

    # ------------------------------------------------------------ export

    def export_csv(
        self,
        channels: ChannelSpec,
        path_or_file: str | Path | IO[str],
        since: Since = None,
        until: Since = None,
        *,
        wide: bool = False,
        by: TimeBase = "received",
    ) -> int:
        """Write telemetry of `channels` (None: all) as CSV; returns the data rows written.

        Long format (the default), one row per sample in time order:
        ``received_utc, onboard_utc, onboard_s, channel, value, display``: ISO-8601 UTC
        reception time; the onboard time in ISO-8601 UTC (TAI converted with the leap-second
        table; empty for a clock never set) and in seconds as carried; the value as a number
        (bools 1/0, enumerations by value), text, or hex octets; its display form.

        Wide format: one column per channel (in the order asked; None: every channel archived,
        by name), one row per distinct time (`by`: reception time as ``received_utc``, or
        onboard time as ``onboard_utc, onboard_s``), each channel holding its last value so far
        (forward fill; empty before its first sample).
        """
        time_column = _time_column(by)
        sql, params = self._query(
            "telemetry", "received, onboard_time, channel, kind, value, display",
            self._channel_condition(channels), time_column, since, until, by == "onboard",
        )
        samples = self._select(f"{sql} ORDER BY {time_column}, id", params)
        if isinstance(path_or_file, str | Path):
            with open(path_or_file, "w", newline="", encoding="utf-8") as out:
                return self._write_csv(out, samples, channels, wide, by)
        return self._write_csv(path_or_file, samples, channels, wide, by)

    def _write_csv(
        self, out: IO[str], samples: Iterator[tuple[Any, ...]], channels: ChannelSpec,
        wide: bool, by: TimeBase,
    ) -> int:
        writer = csv.writer(out, lineterminator="\n")
        written = 0
        if not wide:
            writer.writerow(
                ("received_utc", "onboard_utc", "onboard_s", "channel", "value", "display")
            )
            for received, onboard, name, kind, stored, display in samples:
                writer.writerow((iso_utc(received), iso_utc_of_tai(onboard), repr(onboard), name,
                                 _csv_value(kind, stored, display), display))
                written += 1
            return written
        order = self._column_names(channels)
        column = {name: i for i, name in enumerate(order)}
        writer.writerow(
            (*(("received_utc",) if by == "received" else ("onboard_utc", "onboard_s")), *order)
        )
        current = [""] * len(order)
        pending: float | None = None
        for received, onboard, name, kind, stored, display in samples:
            index = column.get(name)
            if index is None:  # a channel first archived after the columns were chosen
                continue
            at = received if by == "received" else onboard
            if pending is not None and at != pending:
                writer.writerow((*_time_fields(pending, by), *current))
                written += 1
            pending = at
            current[index] = _csv_value(kind, stored, display)
        if pending is not None:
            writer.writerow((*_time_fields(pending, by), *current))
            written += 1
        return written

    def _column_names(self, channels: ChannelSpec) -> list[str]:
        """The wide export's columns: each channel asked for by its archived name(s)."""
        if channels is None:
            return self.channels()
        order: list[str] = []
        for spec in [channels] if isinstance(channels, str | int) else list(channels):
            names = [spec] if isinstance(spec, str) else [r[0] for r in self._select(
                "SELECT name FROM channels WHERE channel_id = ? ORDER BY name", (spec,))]
            order += [n for n in names if n not in order]
        return order


def _time_fields(at: float, by: TimeBase) -> tuple[str, ...]:
    return (iso_utc(at),) if by == "received" else (iso_utc_of_tai(at), repr(at))


def _time_column(by: TimeBase) -> str:
    if by == "received":
        return "received"
    if by == "onboard":
        return "onboard_time"
    raise ValueError(f"time base {by!r}: expected 'received' or 'onboard'")


def _seconds(at: float | datetime, tai: bool) -> float:
    """A query bound in the column's seconds: POSIX for reception, TAI for onboard times."""
    if isinstance(at, datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return utc_to_tai(at) if tai else at.timestamp()
    return float(at)


def _severity(value: Severity | str | int) -> int:
    if not isinstance(value, str):
        return int(value)
    try:
        return int(Severity[value.upper()])
    except KeyError:
        raise ValueError(
            f"severity {value!r}: expected one of {', '.join(Severity.__members__)}"
        ) from None


_TELEMETRY_COLUMNS: Final = "id, received, onboard_time, channel_id, channel, kind, value, display"
_EVENT_COLUMNS: Final = "id, received, onboard_time, event_id, name, severity, message, args"
_VERIFICATION_COLUMNS: Final = "id, received, onboard_time, opcode, name, seq, stage, reason"
_COMMAND_COLUMNS: Final = "id, sent, opcode, name, seq, args, data"
_FRAME_COLUMNS: Final = (
    "id, received, good, reason, detail, spacecraft_id, vcid, master_frame_count,"
    " virtual_frame_count, data"
)
_PACKET_COLUMNS: Final = "id, received, vcid, apid, sequence_count, onboard_time, data"
_FILE_TRANSFER_COLUMNS: Final = (
    "id, finished, uplink, source_entity, seq, source_file, destination_file, size, condition,"
    " delivery, local_path, crc32c"
)


def _telemetry_row(
    row_id: int, received: float, onboard: float, channel_id: int, channel: str,
    kind: str, stored: Any, display: str,
) -> TelemetryRow:
    return TelemetryRow(row_id, received, onboard, channel_id, channel, decode_value(kind, stored),
                        display)


def _event_row(
    row_id: int, received: float, onboard: float, event_id: int, name: str,
    severity: int, message: str, args: bytes,
) -> EventRow:
    return EventRow(row_id, received, onboard, event_id, name, _as_enum(Severity, severity),
                    message, _unpack_args(args))


def _verification_row(
    row_id: int, received: float, onboard: float, opcode: int, name: str, seq: int,
    stage: int, reason: int,
) -> VerificationRow:
    return VerificationRow(row_id, received, onboard, opcode, name, seq, _as_enum(Stage, stage),
                           _as_enum(ReasonCode, reason))


def _command_row(
    row_id: int, sent: float, opcode: int, name: str, seq: int, args: bytes,
    data: bytes,
) -> CommandRow:
    return CommandRow(row_id, sent, opcode, name, seq, _unpack_args(args), data)


def _file_transfer_row(row_id: int, finished: float, uplink: int, *rest: Any) -> FileTransferRow:
    return FileTransferRow(row_id, finished, bool(uplink), *rest)


def _frame_row(
    row_id: int, received: float, good: int, reason: str | None, detail: str | None,
    scid: int | None, vcid: int | None, mcfc: int | None, vcfc: int | None, data: bytes,
) -> FrameRow:
    return FrameRow(row_id, received, bool(good), reason, detail, scid, vcid, mcfc, vcfc, data)


def _packet_row(
    row_id: int, received: float, vcid: int | None, apid: int, seq: int,
    onboard: float | None, data: bytes,
) -> PacketRow:
    return PacketRow(row_id, received, vcid, apid, seq, onboard, data)
