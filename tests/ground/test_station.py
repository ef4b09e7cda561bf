"""The ground station's Python API against a satellite on the simulated clock: identification
and the dictionary check, commanding by name with verification, telemetry and events awaited
and kept in histories, the archive, a restart of the ground station, a receive-only station."""

from __future__ import annotations

import csv

import pytest

from flight.ground.archive import Archive
from flight.ground.dictionary import CommandArgumentError
from flight.ground.station import (
    AwaitTimeout,
    CommandFailed,
    DictionaryMismatchError,
    GroundError,
    TelemetryUpdate,
)
from flight.link import TmFrame
from flight.runtime.errors import ReasonCode
from flight.runtime.records import Severity, Stage


def test_identify_and_command_by_name(satellite) -> None:
    sat = satellite()
    station = sat.station()
    assert station.identify() == sat.dictionary.dictionary_id
    report = station.send_and_await_completion("probe.set_mode", "SCIENCE", reason="test")
    assert report.stage is Stage.COMPLETED and sat.probe.current.name == "SCIENCE"
    update = station.await_telemetry("probe.mode", 1, timeout=5)
    assert update.display == "SCIENCE" and update.time <= sat.clock.monotonic()
    event = station.await_event("probe.mode_set")
    assert event.message == "mode SCIENCE for test" and event.severity is Severity.ACTIVITY_HI
    request = station.send_command("probe.record", n=3)
    assert station.await_completion(request).stage is Stage.COMPLETED
    assert [r.stage for r in station.verification_history(request)] == [
        Stage.ACCEPTED, Stage.STARTED, Stage.COMPLETED]
    assert sat.probe.calls == [3]


def test_a_satellite_with_another_dictionary_is_never_commanded(satellite) -> None:
    sat = satellite(extra=True)
    other = satellite().dictionary
    station = sat.station(dictionary=other)
    with pytest.raises(DictionaryMismatchError) as info:
        station.send_command("probe.record", 1)
    assert info.value.expected == other.dictionary_id
    assert info.value.reported == sat.dictionary.dictionary_id
    sat.run(2.0)
    assert sat.uplink.received == 0  # not even a COP-1 control frame went up


def test_failures_and_argument_errors(satellite) -> None:
    sat = satellite()
    station = sat.station()
    station.identify()
    with pytest.raises(CommandFailed) as info:
        station.send_and_await_completion("probe.refuse")
    assert info.value.report.stage is Stage.COMPLETION_FAILED
    assert info.value.report.reason is ReasonCode.BUSY
    sent = station.link.counters.tc_frames_sent
    for bad, reason in [
        (lambda: station.send_command("probe.record", 1001), ReasonCode.OUT_OF_RANGE),
        (lambda: station.send_command("probe.record", "1"), ReasonCode.WRONG_ARG_TYPE),
        (lambda: station.send_command("probe.record"), ReasonCode.WRONG_ARG_COUNT),
        (lambda: station.send_command("probe.record", 1, 2), ReasonCode.WRONG_ARG_COUNT),
        (lambda: station.send_command("probe.record", m=2), ReasonCode.WRONG_ARG_COUNT),
        (lambda: station.send_command("probe.set_mode", "DANCE", "x"), ReasonCode.OUT_OF_RANGE),
        (lambda: station.send_command("probe.set_mode", 1, "x" * 21), ReasonCode.OUT_OF_RANGE),
    ]:
        with pytest.raises(CommandArgumentError) as error:
            bad()
        assert error.value.reason is reason
    with pytest.raises(ValueError, match="did you mean probe.record"):
        station.send_command("probe.recrod", 1)
    assert station.link.counters.tc_frames_sent == sent
    with pytest.raises(AwaitTimeout):
        station.await_telemetry("probe.count", 99, timeout=1.0)
    with pytest.raises(AwaitTimeout):
        station.await_event("probe.mode_set", timeout=1.0, start=station.mark())


def test_histories_marks_and_predicates(satellite) -> None:
    sat = satellite()
    station = sat.station()
    station.identify()
    station.run_for(2.0)
    mark = station.mark()
    for n in range(3):
        station.send_and_await_completion("probe.record", n)
    update = station.await_telemetry("probe.count", lambda v: v >= 3, start=mark)
    assert isinstance(update, TelemetryUpdate) and update.value == 3
    counts = [u.value for u in station.telemetry_history("probe.count", start=mark)]
    assert counts == sorted(counts) and counts[-1] == 3
    assert all(u.channel == "probe.count" for u in station.telemetry_history("probe.count"))
    assert len(station.telemetry_history(start=mark)) < len(station.telemetry_history())
    names = {e.name for e in station.event_history(start=mark)}
    assert "cmd.dispatched" in names
    assert len(station.verification_history(start=mark)) == 9
    assert station.latest["probe.level"].value == pytest.approx(3.5)


def test_everything_is_archived_with_reception_time(satellite, tmp_path) -> None:
    sat = satellite()
    archive = Archive(tmp_path / "ground.sqlite", sat.dictionary.body)
    corrupt = CorruptingTransport(sat.transport)
    station = sat.station(archive=archive, transport=corrupt)
    station.identify()
    station.send_and_await_completion("probe.record", 5)
    station.send_and_await_completion("probe.set_mode", 1, "archive")
    station.run_for(3.0)
    counts = archive.counts()
    assert counts["frames"] == station.link.counters.frames_received
    assert counts["packets"] > 0 and counts["telemetry"] > 0 and counts["events"] > 0
    assert counts["verifications"] == 6 and counts["commands"] == 2
    rejected = archive.frame_history(good=False)
    assert len(rejected) == corrupt.corrupted > 0 and rejected[0].reason == "ChecksumError"
    mode = archive.telemetry_history("probe.mode")[-1]
    assert mode.display == "SCIENCE" and mode.received >= 1.7e9
    assert archive.event_history("probe.mode_set")[0].message == "mode SCIENCE for archive"
    assert [c.name for c in archive.command_history()] == ["probe.record", "probe.set_mode"]
    assert archive.verification_history("probe.record", stage=Stage.COMPLETED)
    rows = archive.export_csv(["probe.count"], tmp_path / "count.csv")
    with open(tmp_path / "count.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == rows > 0 and table[-1]["value"] == "1"
    archive.close()


class CorruptingTransport:
    """Damages every 20th TM frame on its way to the ground."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.corrupted = 0
        self.count = 0

    def send(self, frame: bytes) -> bool:
        return self.inner.send(frame)

    def poll(self) -> list[bytes]:
        out = []
        for frame in self.inner.poll():
            self.count += 1
            if self.count % 20 == 0:
                frame = frame[:100] + bytes([frame[100] ^ 1]) + frame[101:]
                self.corrupted += 1
            out.append(frame)
        return out


def test_a_restarted_ground_station_continues_the_sequence_numbers(satellite) -> None:
    sat = satellite()
    first = sat.station()
    for n in range(3):
        first.send_and_await_completion("probe.record", n)
    second = sat.station()  # a fresh ARSN counter: it must learn where the first one stopped
    second.send_and_await_completion("probe.record", 10)
    assert sat.probe.calls == [0, 1, 2, 10]
    assert not sat.uplink.rejections


def test_a_station_without_keys_only_receives(satellite) -> None:
    sat = satellite()
    station = sat.station(keys=None)
    station.run_for(2.0)
    assert station.latest["probe.mode"].display == "IDLE"
    assert not station.link.ready and station.link.counters.tc_frames_sent == 0
    with pytest.raises(GroundError, match="only receives"):
        station.send_command("probe.record", 1)


def test_frames_from_another_spacecraft_are_counted_not_decoded(satellite) -> None:
    sat = satellite()
    station = sat.station()
    foreign = TmFrame(0x155, 0, 0, 0, bytes(1103), first_header_pointer=0x7FE, ocf=0).pack()
    sat.rt.bus.publish("downlink.tx_frame", (0, foreign))
    station.run_for(1.0)
    assert station.link.rejected["WrongSpacecraftError"] == 1
    assert not station.decode_errors
