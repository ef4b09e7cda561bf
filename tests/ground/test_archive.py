"""The ground archive: round trips of every record kind, history queries, CSV export, threads,
bad files, persistence and schema migrations."""

from __future__ import annotations

import csv
import io
import math
import os
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any

import pytest

from flight.ground import archive as archive_module
from flight.ground.archive import SCHEMA_VERSION, Archive, ArchiveError
from flight.ground.dictionary import GroundDictionary
from flight.link import ChecksumError, PacketType, SpacePacket, TmFrame, telemetry_packet
from flight.link.errors import LinkError
from flight.link.sdls import RejectReason
from flight.runtime import dictionary
from flight.runtime.component import Channel, Component, Event, command
from flight.runtime.errors import CommandError, ReasonCode
from flight.runtime.executive import RateGroup
from flight.runtime.records import Command, EventRecord, Severity, Stage, TlmSample, Verification
from flight.runtime.runtime import Runtime
from flight.runtime.types import BOOL, F32, SCALAR, U64, Bytes, Enum, String
from flight.svc.dispatcher import CommandDispatcher
from hal.clock import SimClock
from hal.time import tai_to_utc, utc_to_tai

T0 = 1_700_000_000.0  # a reception time (POSIX seconds)
TAI0 = utc_to_tai(datetime(2025, 6, 1, 12, 0, 0))  # an onboard time (TAI seconds since 1958)


class Mode(IntEnum):
    SAFE = 0
    NOMINAL = 1
    SCIENCE = 2


class Probe(Component):
    """One channel of every value type, two events and a command."""

    count = Channel(1, U64)
    volts = Channel(2, F32, unit="V")
    armed = Channel(3, BOOL)
    label = Channel(4, String(16))
    mode = Channel(5, Enum(Mode))
    blob = Channel(6, Bytes(8))
    anything = Channel(7, SCALAR)

    tripped = Event(1, Severity.WARNING_HI, "tripped at {volts:.2f} V in mode {mode}",
                    throttle=None, volts=F32, mode=Enum(Mode))
    note = Event(2, Severity.ACTIVITY_LO, "note: {text}", throttle=None, text=String(40))

    def cycle(self) -> None:
        self.tlm(self.count, int(self.now() * 10))

    @command(1, mode=Enum(Mode))
    def set_mode(self, mode: Mode) -> None:
        """Change mode (refused for SAFE)."""
        if mode is Mode.SAFE:
            raise CommandError(ReasonCode.EXECUTION_FAILED, "use the safe-mode command")
        self.tlm(self.mode, mode)
        self.emit(self.tripped, 7.25, mode)


class Ticker:
    """An injected reception clock: each call one millisecond later."""

    def __init__(self, start: float = T0) -> None:
        self.t = start

    def __call__(self) -> float:
        self.t += 0.001
        return self.t


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    rt = Runtime("archive-test", clock=SimClock(), tick_hz=10)
    rt.add(Probe("probe", 0x1000))
    rt.add(CommandDispatcher("cmd", 0x0400))
    rt.add_group(RateGroup("rg1hz", 0x0310, divisor=10), ["probe"])
    rt.boot()
    return rt


@pytest.fixture(scope="module")
def dictionary_json(runtime: Runtime) -> dict[str, Any]:
    return dictionary.build(runtime)


@pytest.fixture
def archive(tmp_path: Path, dictionary_json: dict[str, Any]) -> Archive:
    with Archive(tmp_path / "ground.db", dictionary_json, now=Ticker()) as a:
        yield a


def channel_id(rt: Runtime, name: str) -> int:
    return next(e.channel_id for e in rt.registry.channels.values() if e.name == name)


def event_id(rt: Runtime, name: str) -> int:
    return next(e.event_id for e in rt.registry.events.values() if e.name == name)


def over_the_wire(sample: TlmSample) -> TlmSample:
    """The sample as the ground decodes it (msgpack: enumerations arrive as integers)."""
    return TlmSample.unpack(sample.pack(), sample.time)


# ---------------------------------------------------------------- schema and files


def test_new_archive_has_the_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with Archive(path) as a:
        assert a.schema_version == SCHEMA_VERSION
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA application_id").fetchone()[0] == archive_module.APPLICATION_ID
        versions = [r[0] for r in raw.execute("SELECT version FROM schema_version")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
    finally:
        raw.close()


def test_reopen_keeps_everything(tmp_path: Path, dictionary_json: dict[str, Any],
                                 runtime: Runtime) -> None:
    path = tmp_path / "persist.db"
    volts = channel_id(runtime, "probe.volts")
    with Archive(path, dictionary_json, now=Ticker()) as a:
        a.store_telemetry([TlmSample(volts, TAI0 + i, 3.0 + i) for i in range(5)])
        a.store_command_sent(runtime.command("probe.set_mode", 1, seq=9))
    with pytest.raises(ArchiveError, match="closed"):
        a.telemetry_history()
    with Archive(path) as again:  # no dictionary: names come from the file
        assert [r.value for r in again.telemetry_history("probe.volts")] == [3.0, 4.0, 5.0, 6.0,
                                                                             7.0]
        assert again.command_history("probe.set_mode")[0].seq == 9
        assert again.counts()["telemetry"] == 5


def test_stored_means_committed(archive: Archive, runtime: Runtime) -> None:
    """What a store call reports stored is visible to any other connection at once."""
    archive.store_telemetry(TlmSample(channel_id(runtime, "probe.count"), TAI0, 1))
    row_id = archive.store_event(EventRecord(event_id(runtime, "probe.note"), Severity.ACTIVITY_LO,
                                             TAI0, ("hello",)))
    other = sqlite3.connect(archive.path)
    try:
        assert other.execute("SELECT count(*) FROM telemetry").fetchone()[0] == 1
        assert other.execute("SELECT message FROM events WHERE id = ?", (row_id,)).fetchone() == (
            "note: hello",)
    finally:
        other.close()


def test_file_that_is_not_a_database_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(ArchiveError, match="not a ground archive") as caught:
        Archive(path)
    assert caught.value.path == str(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == bytes(range(256)) * 64  # left untouched


def test_foreign_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    raw.commit()
    raw.close()
    with pytest.raises(ArchiveError, match="application_id") as caught:
        Archive(path)
    assert str(path) in str(caught.value)
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert [r[0] for r in raw.execute("SELECT name FROM sqlite_master")] == ["orders"]
    finally:
        raw.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Archive(path).close()
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO schema_version VALUES (?, 0)", (SCHEMA_VERSION + 1,))
    raw.commit()
    raw.close()
    with pytest.raises(ArchiveError, match=f"schema version {SCHEMA_VERSION + 1} is newer"):
        Archive(path)


def test_archive_without_its_version_table_is_reported_damaged(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    Archive(path).close()
    raw = sqlite3.connect(path)
    raw.execute("DROP TABLE schema_version")
    raw.commit()
    raw.close()
    with pytest.raises(ArchiveError, match="damaged ground archive"):
        Archive(path)


def test_older_archive_is_migrated_on_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           runtime: Runtime) -> None:
    path = tmp_path / "old.db"
    with Archive(path) as a:
        a.store_telemetry(TlmSample(channel_id(runtime, "probe.count"), TAI0, 42))
    upgrade = ("ALTER TABLE events ADD COLUMN station TEXT",)
    monkeypatch.setattr(archive_module, "MIGRATIONS", (*archive_module.MIGRATIONS, upgrade))
    monkeypatch.setattr(archive_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with Archive(path) as a:
        assert a.schema_version == SCHEMA_VERSION + 1
        assert [r.value for r in a.telemetry_history()] == [42]
    raw = sqlite3.connect(path)
    try:
        assert "station" in [r[1] for r in raw.execute("PRAGMA table_info(events)")]
    finally:
        raw.close()


def test_failed_migration_leaves_the_archive_as_it_was(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "stuck.db"
    Archive(path).close()
    broken = ("ALTER TABLE events ADD COLUMN ok TEXT", "ALTER TABLE no_such_table ADD COLUMN x")
    monkeypatch.setattr(archive_module, "MIGRATIONS", (*archive_module.MIGRATIONS, broken))
    monkeypatch.setattr(archive_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(ArchiveError, match="no_such_table"):
        Archive(path)
    monkeypatch.undo()
    with Archive(path) as a:
        assert a.schema_version == SCHEMA_VERSION
    raw = sqlite3.connect(path)
    try:
        assert "ok" not in [r[1] for r in raw.execute("PRAGMA table_info(events)")]
    finally:
        raw.close()


# ---------------------------------------------------------------- frames and packets


def test_frames_good_and_rejected(archive: Archive) -> None:
    good = TmFrame(0xAB, 3, 17, 5, bytes(range(256)) * 4 + bytes(79), first_header_pointer=0,
                   ocf=0x01020304).pack()
    damaged = bytearray(good)
    damaged[100] ^= 0x10
    with pytest.raises(ChecksumError) as caught:
        TmFrame.unpack(bytes(damaged))
    first = archive.store_frame(good)
    archive.store_frame(bytes(damaged), rejected=caught.value)
    archive.store_frame(b"\x01\x02", rejected="TruncatedError")
    archive.store_frame(good, rejected=RejectReason.WRONG_SCID)

    rows = archive.frame_history()
    assert [r.id for r in rows][0] == first
    assert [(r.good, r.reason) for r in rows] == [
        (True, None), (False, "ChecksumError"), (False, "TruncatedError"), (False, "WRONG_SCID")]
    assert rows[0].data == good and rows[1].data == bytes(damaged)
    assert (rows[0].spacecraft_id, rows[0].vcid, rows[0].master_frame_count,
            rows[0].virtual_frame_count) == (0xAB, 3, 17, 5)
    assert rows[1].detail == str(caught.value)
    assert rows[2].vcid is None and rows[2].data == b"\x01\x02"
    assert rows[0].received < rows[1].received < rows[2].received
    assert [r.reason for r in archive.frame_history(good=False)] == [
        "ChecksumError", "TruncatedError", "WRONG_SCID"]
    assert len(archive.frame_history(vcid=3)) == 3


def test_packets_with_and_without_time_stamps(archive: Archive) -> None:
    stamped = telemetry_packet(0x42, 16383, TAI0 + 0.5, b"payload")
    archive.store_packet(stamped, vcid=0)
    archive.store_packet(stamped.pack(), vcid=1)  # octets, as the TM demultiplexer gives them
    plain = SpacePacket(0x43, 7, b"\x00\x01", PacketType.TC)
    archive.store_packet(plain)
    with pytest.raises(LinkError):
        archive.store_packet(b"\x00\x42\xc0")
    rows = archive.packet_history()
    assert len(rows) == 3
    assert rows[0].data == rows[1].data == stamped.pack()
    assert [r.vcid for r in rows] == [0, 1, None]
    assert rows[0].onboard_time == pytest.approx(TAI0 + 0.5, abs=2**-16)
    assert (rows[2].apid, rows[2].sequence_count, rows[2].onboard_time) == (0x43, 7, None)
    assert SpacePacket.unpack(rows[2].data) == plain
    assert [r.sequence_count for r in archive.packet_history(apid=0x42)] == [16383, 16383]


# ---------------------------------------------------------------- telemetry


def test_every_value_type_round_trips(archive: Archive, runtime: Runtime) -> None:
    cid = {name: channel_id(runtime, f"probe.{name}")
           for name in ("count", "volts", "armed", "label", "mode", "blob", "anything")}
    sent = [
        TlmSample(cid["count"], TAI0, 2**64 - 1),
        TlmSample(cid["volts"], TAI0, 7.25),
        TlmSample(cid["armed"], TAI0, True),
        TlmSample(cid["label"], TAI0, "héllo"),
        TlmSample(cid["mode"], TAI0, Mode.SCIENCE),
        TlmSample(cid["blob"], TAI0, b"\x00\xff\x10"),
        TlmSample(cid["anything"], TAI0, -3),
        TlmSample(cid["volts"], TAI0 + 1, math.inf),
        TlmSample(cid["volts"], TAI0 + 2, math.nan),
        TlmSample(cid["anything"], TAI0 + 1, None),
        TlmSample(0x7777, TAI0, [1, "two", b"3"]),  # not in the dictionary
    ]
    assert archive.store_telemetry([over_the_wire(s) for s in sent]) == len(sent)
    rows = archive.telemetry_history()
    assert [r.channel_id for r in rows] == [s.channel_id for s in sent]
    by_name = {r.channel: r for r in rows[:7]}
    assert by_name["probe.count"].value == 2**64 - 1
    assert by_name["probe.volts"].value == 7.25 and type(by_name["probe.volts"].value) is float
    assert by_name["probe.anything"].value == -3 and type(by_name["probe.anything"].value) is int
    assert by_name["probe.armed"].value is True and by_name["probe.armed"].display == "True"
    assert by_name["probe.label"].value == "héllo"
    assert by_name["probe.mode"].value == 2 and by_name["probe.mode"].display == "SCIENCE"
    assert by_name["probe.blob"].value == b"\x00\xff\x10" and by_name["probe.blob"].display == (
        "00ff10")
    assert rows[7].value == math.inf
    assert math.isnan(rows[8].value) and rows[8].display == "nan"
    assert rows[9].value is None
    assert rows[10].channel == "channel_0x7777" and rows[10].value == [1, "two", b"3"]
    assert all(r.onboard_time == s.time for r, s in zip(rows, sent, strict=True))


def test_ground_dictionary_names_like_its_json(tmp_path: Path, runtime: Runtime,
                                               dictionary_json: dict[str, Any]) -> None:
    with Archive(tmp_path / "gd.db", GroundDictionary(dictionary_json)) as a:
        a.store_telemetry(TlmSample(channel_id(runtime, "probe.mode"), TAI0, 1))
        assert (a.latest("probe.mode").display, a.channels()) == ("NOMINAL", ["probe.mode"])


def test_enum_members_unknown_to_the_dictionary_keep_their_number(
    archive: Archive, runtime: Runtime,
) -> None:
    archive.store_telemetry(TlmSample(channel_id(runtime, "probe.mode"), TAI0, 9))
    assert archive.latest("probe.mode").display == "9"


def test_archive_of_a_running_satellite(tmp_path: Path, dictionary_json: dict[str, Any]) -> None:
    """Telemetry, events and verification reports produced by a real runtime, through their
    wire encodings, come back with the dictionary's names and the onboard messages."""
    rt = Runtime("archive-test", clock=SimClock(), tick_hz=10)
    probe = rt.add(Probe("probe", 0x1000))
    rt.add(CommandDispatcher("cmd", 0x0400))
    rt.add_group(RateGroup("rg1hz", 0x0310, divisor=10), ["probe"])
    events: list[EventRecord] = []
    reports: list[Verification] = []
    rt.bus.subscribe("sys.events", events.append, depth=100)
    rt.bus.subscribe("cmd.verification", reports.append, depth=100)
    rt.run(2.0)
    dispatch = rt.components["cmd"].dispatch
    dispatch(rt.command("probe.set_mode", int(Mode.SCIENCE), seq=1))
    dispatch(rt.command("probe.set_mode", int(Mode.SAFE), seq=2))
    rt.run(1.0)
    assert dictionary.build(rt)["hash"] == dictionary_json["hash"]

    with Archive(tmp_path / "sat.db", dictionary_json, now=Ticker()) as a:
        mode = rt.telemetry.sample(probe.base_id + Probe.mode.id)
        a.store_telemetry(over_the_wire(mode))
        for record in events:
            a.store_event(EventRecord.unpack(record.pack(), record.time))
        for report in reports:
            a.store_verification(Verification.unpack(report.pack(), report.time))

        latest = a.latest("probe.mode")
        assert (latest.value, latest.display, latest.onboard_time) == (2, "SCIENCE", mode.time)
        tripped = a.event_history("probe.tripped")
        assert [e.message for e in tripped] == [Probe.tripped.format((7.25, Mode.SCIENCE))]
        assert tripped[0].severity is Severity.WARNING_HI and tripped[0].args == (7.25, 2)
        assert len(a.event_history()) == len(events)
        stages = [(r.seq, r.stage, r.reason) for r in a.verification_history("probe.set_mode")]
        assert stages == [(r.seq, r.stage, r.reason) for r in reports]
        assert (2, Stage.COMPLETION_FAILED, ReasonCode.EXECUTION_FAILED) in stages
        failed = a.verification_history(seq=2, where=lambda r: r.failed)
        assert [r.stage for r in failed] == [Stage.COMPLETION_FAILED]


# ---------------------------------------------------------------- queries


@pytest.fixture
def filled(archive: Archive, runtime: Runtime) -> Archive:
    """volts at onboard TAI0 + i, received T0 + i, for i in 0..9; count every other second."""
    volts, count = channel_id(runtime, "probe.volts"), channel_id(runtime, "probe.count")
    for i in range(10):
        samples = [TlmSample(volts, TAI0 + i, float(i))]
        if i % 2 == 0:
            samples.append(TlmSample(count, TAI0 + i, i))
        archive.store_telemetry(samples, received=T0 + i)
    return archive


def test_history_by_channel_name_id_and_several(filled: Archive, runtime: Runtime) -> None:
    volts = [r.value for r in filled.telemetry_history("probe.volts")]
    assert volts == [float(i) for i in range(10)]
    assert [r.value for r in filled.telemetry_history(channel_id(runtime, "probe.volts"))] == volts
    both = filled.telemetry_history(["probe.count", channel_id(runtime, "probe.volts")])
    assert len(both) == 15
    assert [r.received for r in both] == sorted(r.received for r in both)
    assert filled.telemetry_history("probe.nothing") == []
    assert filled.telemetry_history([]) == []
    assert filled.channels() == ["probe.count", "probe.volts"]


def test_time_ranges_are_inclusive_on_either_time_base(filled: Archive) -> None:
    received = filled.telemetry_history("probe.volts", since=T0 + 2, until=T0 + 5)
    assert [r.value for r in received] == [2.0, 3.0, 4.0, 5.0]
    onboard = filled.telemetry_history("probe.volts", since=TAI0 + 7, by="onboard")
    assert [r.value for r in onboard] == [7.0, 8.0, 9.0]
    as_dates = filled.telemetry_history(
        "probe.volts", since=datetime.fromtimestamp(T0 + 8, UTC),
        until=datetime.fromtimestamp(T0 + 9, UTC).replace(tzinfo=None),
    )
    assert [r.value for r in as_dates] == [8.0, 9.0]
    onboard_dates = filled.telemetry_history(
        "probe.volts", until=tai_to_utc(TAI0 + 1), by="onboard")
    assert [r.value for r in onboard_dates] == [0.0, 1.0]
    with pytest.raises(ValueError, match="time base"):
        filled.telemetry_history(by="ground")  # type: ignore[arg-type]


def test_limit_keeps_the_latest_in_time_order(filled: Archive) -> None:
    assert [r.value for r in filled.telemetry_history("probe.volts", limit=3)] == [7.0, 8.0, 9.0]
    assert filled.telemetry_history("probe.volts", limit=0) == []
    odd = filled.telemetry_history("probe.volts", limit=2, where=lambda r: r.value % 2 == 1)
    assert [r.value for r in odd] == [7.0, 9.0]
    high = filled.telemetry_history(where=lambda r: r.value >= 8)
    assert [(r.channel, r.value) for r in high] == [("probe.volts", 8.0), ("probe.count", 8),
                                                    ("probe.volts", 9.0)]


def test_latest_is_by_onboard_time_so_playback_does_not_hide_the_current_value(
    filled: Archive, runtime: Runtime,
) -> None:
    assert filled.latest("probe.volts").value == 9.0
    filled.store_telemetry(TlmSample(channel_id(runtime, "probe.volts"), TAI0 - 100, -1.0),
                           received=T0 + 20)
    assert filled.latest("probe.volts").value == 9.0
    assert filled.telemetry_history("probe.volts", limit=1)[0].value == -1.0  # last received
    assert filled.latest("probe.armed") is None


def test_event_queries(archive: Archive, runtime: Runtime) -> None:
    note, tripped = event_id(runtime, "probe.note"), event_id(runtime, "probe.tripped")
    for i in range(6):
        archive.store_event(EventRecord(note, Severity.ACTIVITY_LO, TAI0 + i, (f"n{i}",)),
                            received=T0 + i)
    archive.store_event(EventRecord(tripped, Severity.WARNING_HI, TAI0 + 6, (6.0, 1)),
                        received=T0 + 6)
    archive.store_event(EventRecord(0x999, Severity.FATAL, TAI0 + 7, (1, "x")), received=T0 + 7)
    archive.store_event(EventRecord(note, Severity.ACTIVITY_LO, TAI0 + 8, ("a", "b")),
                        message="decoded elsewhere", received=T0 + 8)

    assert len(archive.event_history("probe.note")) == 7
    assert len(archive.event_history(note)) == 7
    assert [e.name for e in archive.event_history(severity=Severity.WARNING_HI)] == [
        "probe.tripped"]
    assert [e.name for e in archive.event_history(min_severity="warning_lo")] == [
        "probe.tripped", "event_0x999"]
    with pytest.raises(ValueError, match="severity 'LOUD': expected one of DIAGNOSTIC"):
        archive.event_history(severity="LOUD")
    assert [e.args for e in archive.event_history("probe.note", since=T0 + 4, until=T0 + 5)] == [
        ("n4",), ("n5",)]
    assert archive.event_history(since=TAI0 + 7, by="onboard")[0].message == "event 0x999 (1, 'x')"
    last = archive.event_history(limit=1)[0]
    assert last.message == "decoded elsewhere" and last.args == ("a", "b")
    unformattable = archive.event_history(where=lambda e: "unformattable" in e.message)
    assert unformattable == []  # the explicit message replaced it
    archive.store_event(EventRecord(note, Severity.ACTIVITY_LO, TAI0, ()), received=T0 + 9)
    assert "unformattable" in archive.event_history(limit=1)[0].message


def test_verification_and_command_queries(archive: Archive, runtime: Runtime) -> None:
    opcode = runtime.registry.command("probe.set_mode").opcode
    for seq in range(3):
        archive.store_command_sent(runtime.command("probe.set_mode", seq, seq=seq), sent=T0 + seq)
        for stage in (Stage.ACCEPTED, Stage.STARTED, Stage.COMPLETED):
            archive.store_verification(Verification(opcode, seq, stage, ReasonCode.OK, TAI0 + seq),
                                       received=T0 + seq + 0.5)
    archive.store_verification(Verification(0xDEAD, 5, Stage.ACCEPTANCE_FAILED,
                                            ReasonCode.UNKNOWN_OPCODE, TAI0))
    archive.store_command_sent(Command(0xDEAD, (1, "x", b"\x00"), 5), name="raw.poke",
                               sent=T0 + 10)

    assert [r.stage for r in archive.verification_history(seq=1)] == [
        Stage.ACCEPTED, Stage.STARTED, Stage.COMPLETED]
    completed = archive.verification_history("probe.set_mode", stage=Stage.COMPLETED)
    assert [r.seq for r in completed] == [0, 1, 2]
    assert [r.seq for r in archive.verification_history(opcode, since=T0 + 1.5)] == [1, 1, 1, 2, 2,
                                                                                    2]
    unknown = archive.verification_history(0xDEAD)
    assert unknown[0].failed and unknown[0].name == "opcode_0xDEAD"
    assert unknown[0].reason is ReasonCode.UNKNOWN_OPCODE

    sent = archive.command_history("probe.set_mode")
    assert [(c.seq, c.args, c.sent) for c in sent] == [(s, (s,), T0 + s) for s in range(3)]
    assert Command.unpack(sent[2].data) == runtime.command("probe.set_mode", 2, seq=2)
    poke = archive.command_history(0xDEAD)[0]
    assert (poke.name, poke.args) == ("raw.poke", (1, "x", b"\x00"))
    assert archive.command_history(until=T0 + 1) == sent[:2]


def test_transaction_is_all_or_nothing(archive: Archive, runtime: Runtime) -> None:
    volts = channel_id(runtime, "probe.volts")
    with archive.transaction():
        archive.store_frame(b"\x00" * 10)
        archive.store_telemetry(TlmSample(volts, TAI0, 1.0))
        with archive.transaction():
            archive.store_telemetry(TlmSample(volts, TAI0, 2.0))
    with pytest.raises(RuntimeError), archive.transaction():
        archive.store_frame(b"\x01" * 10)
        archive.store_telemetry(TlmSample(volts, TAI0, 3.0))
        raise RuntimeError("decoder fault")
    assert archive.counts() == {"frames": 1, "packets": 0, "telemetry": 2, "events": 0,
                                "verifications": 0, "commands": 0}


# ---------------------------------------------------------------- CSV


def test_csv_long_format(filled: Archive, tmp_path: Path) -> None:
    out = tmp_path / "volts.csv"
    assert filled.export_csv(["probe.volts", "probe.count"], out, since=T0 + 6) == 6
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["received_utc", "onboard_utc", "onboard_s", "channel", "value",
                             "display"]
    assert [(r["channel"], r["value"]) for r in rows] == [
        ("probe.volts", "6.0"), ("probe.count", "6"), ("probe.volts", "7.0"),
        ("probe.volts", "8.0"), ("probe.count", "8"), ("probe.volts", "9.0")]
    first = rows[0]
    received = datetime.fromisoformat(first["received_utc"])
    assert received.tzinfo is not None and received.utcoffset() == timedelta(0)
    assert received.timestamp() == pytest.approx(T0 + 6, abs=1e-6)
    assert first["received_utc"].endswith("Z")
    assert datetime.fromisoformat(first["onboard_utc"]) == tai_to_utc(TAI0 + 6)
    assert float(first["onboard_s"]) == TAI0 + 6


def test_csv_values_of_every_kind_and_unset_onboard_clock(archive: Archive,
                                                          runtime: Runtime) -> None:
    cid = {n: channel_id(runtime, f"probe.{n}") for n in ("armed", "mode", "blob", "label")}
    archive.store_telemetry([
        TlmSample(cid["armed"], 12.5, False),  # 12.5 s after boot: no UTC for that
        TlmSample(cid["mode"], 13.0, 1),
        TlmSample(cid["blob"], 13.0, b"\xbe\xef"),
        TlmSample(cid["label"], 13.0, 'say "hi", twice'),
        TlmSample(cid["armed"], 1e12, True),  # a corrupted time stamp: past the year 9999
    ])
    out = io.StringIO()
    assert archive.export_csv(None, out) == 5
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["channel"], r["value"], r["display"]) for r in rows] == [
        ("probe.armed", "0", "False"), ("probe.mode", "1", "NOMINAL"),
        ("probe.blob", "beef", "beef"), ("probe.label", 'say "hi", twice', 'say "hi", twice'),
        ("probe.armed", "1", "True")]
    assert rows[0]["onboard_utc"] == "" and rows[0]["onboard_s"] == "12.5"
    assert rows[4]["onboard_utc"] == "" and float(rows[4]["onboard_s"]) == 1e12


def test_csv_wide_format_forward_fills(filled: Archive) -> None:
    out = io.StringIO()
    written = filled.export_csv(["probe.volts", "probe.count"], out, until=T0 + 3, wide=True)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["received_utc", "probe.volts", "probe.count"]
    assert [r[1:] for r in rows[1:]] == [["0.0", "0"], ["1.0", "0"], ["2.0", "2"], ["3.0", "2"]]
    assert written == 4
    by_onboard = io.StringIO()
    filled.export_csv("probe.count", by_onboard, wide=True, by="onboard")
    rows = list(csv.reader(io.StringIO(by_onboard.getvalue())))
    assert rows[0] == ["onboard_utc", "onboard_s", "probe.count"]
    assert [float(r[1]) for r in rows[1:]] == [TAI0 + i for i in range(0, 10, 2)]
    assert datetime.fromisoformat(rows[1][0]) == tai_to_utc(TAI0)


def test_csv_wide_starts_empty_before_the_first_sample(archive: Archive, runtime: Runtime) -> None:
    volts, count = channel_id(runtime, "probe.volts"), channel_id(runtime, "probe.count")
    archive.store_telemetry(TlmSample(volts, TAI0, 1.0), received=T0)
    archive.store_telemetry(TlmSample(count, TAI0, 5), received=T0 + 1)
    out = io.StringIO()
    archive.export_csv([count, volts], out, wide=True)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [["received_utc", "probe.count", "probe.volts"],
                    [rows[1][0], "", "1.0"], [rows[2][0], "5", "1.0"]]


# ---------------------------------------------------------------- threads


def test_reader_thread_writes_while_scripts_query(archive: Archive, runtime: Runtime) -> None:
    volts = channel_id(runtime, "probe.volts")
    batches, size = 200, 50
    errors: list[BaseException] = []
    started = threading.Event()

    def decoder() -> None:
        try:
            for b in range(batches):
                archive.store_telemetry(
                    [TlmSample(volts, TAI0 + b, float(b * size + i)) for i in range(size)])
                archive.store_event(EventRecord(event_id(runtime, "probe.note"),
                                                Severity.ACTIVITY_LO, TAI0 + b, (str(b),)))
                started.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            started.set()

    writer = threading.Thread(target=decoder)
    writer.start()
    started.wait(5)
    seen = []
    while writer.is_alive() or not seen:
        n = len(archive.telemetry_history("probe.volts"))
        assert n % size == 0  # a batch is visible whole or not at all
        seen.append(n)
        latest = archive.latest("probe.volts")
        assert latest is not None and latest.value >= seen[-1] - 1
    writer.join()
    assert not errors
    assert seen == sorted(seen)
    values = [r.value for r in archive.telemetry_history("probe.volts")]
    assert values == [float(v) for v in range(batches * size)]
    assert len(archive.event_history("probe.note")) == batches


def test_concurrent_writers_lose_nothing(archive: Archive, runtime: Runtime) -> None:
    count = channel_id(runtime, "probe.count")

    def write(base: int) -> None:
        for i in range(100):
            archive.store_telemetry(TlmSample(count, TAI0, base + i))
            archive.store_frame(bytes([base % 256]) * 8)

    threads = [threading.Thread(target=write, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    values = sorted(r.value for r in archive.telemetry_history("probe.count"))
    assert values == sorted(k * 1000 + i for k in range(4) for i in range(100))
    assert archive.counts()["frames"] == 400


def test_connections_of_finished_threads_are_closed(archive: Archive, runtime: Runtime) -> None:
    archive.store_telemetry(TlmSample(channel_id(runtime, "probe.count"), TAI0, 1))

    def query() -> None:
        assert archive.latest("probe.count").value == 1

    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_files()
    for _ in range(20):  # scripts that query from short-lived threads
        worker = threading.Thread(target=query)
        worker.start()
        worker.join()
    assert open_files() - before <= 3  # the last thread's connection: database, WAL, index
