"""Spacecraft time scales and the GNSS/PPS discipline loop."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyubx2.ubxhelpers import utc2itow

from hal.clock import SimClock
from hal.time import (
    LEAP_SECONDS,
    ClockTimeSource,
    DisciplinedTime,
    GpsTime,
    PpsPairing,
    SyncState,
    TimeJump,
    TimeNotSetError,
    TimeScaleError,
    gps_to_tai,
    gps_to_utc,
    is_leap_second,
    tai_to_gps,
    tai_to_utc,
    utc_fields_to_tai,
    utc_to_gps,
    utc_to_tai,
)
from hal.timecode import decode_cds, decode_cuc, encode_cds, encode_cuc

TZDATA_LEAP_LIST = Path("/usr/share/zoneinfo/leap-seconds.list")
NTP_EPOCH = date(1900, 1, 1)


def test_table_values_and_expiry() -> None:
    assert LEAP_SECONDS.tai_minus_utc(datetime(2017, 1, 1)) == 37
    assert LEAP_SECONDS.tai_minus_utc(datetime(2016, 12, 31, 23, 59, 59)) == 36
    assert LEAP_SECONDS.tai_minus_utc(datetime(1972, 1, 1)) == 10
    assert LEAP_SECONDS.tai_minus_utc(datetime(2000, 6, 1)) == 32
    with pytest.raises(TimeScaleError):
        LEAP_SECONDS.tai_minus_utc(datetime(1971, 12, 31))
    assert not LEAP_SECONDS.is_expired(datetime(2025, 1, 1))
    assert LEAP_SECONDS.is_expired(datetime(2030, 1, 1))
    assert LEAP_SECONDS.tai_minus_utc(datetime(2030, 1, 1)) == 37  # last value carries on
    assert LEAP_SECONDS.leap_at_end_of(date(2016, 12, 31)) == 1
    assert LEAP_SECONDS.leap_at_end_of(date(2016, 12, 30)) == 0


@pytest.mark.skipif(not TZDATA_LEAP_LIST.exists(), reason="no tzdata leap-seconds.list here")
def test_table_agrees_with_tzdata_leap_seconds_list() -> None:
    theirs: list[tuple[date, int]] = []
    expires = None
    for line in TZDATA_LEAP_LIST.read_text().splitlines():
        if line.startswith("#@"):
            expires = NTP_EPOCH + timedelta(seconds=int(line.split()[1]))
        elif line and not line.startswith("#"):
            ntp, offset = line.split()[:2]
            theirs.append((NTP_EPOCH + timedelta(seconds=int(ntp)), int(offset)))
    ours = list(zip(LEAP_SECONDS.starts, LEAP_SECONDS.tai_minus_utc_s, strict=True))
    assert ours == theirs[: len(ours)]
    assert expires is not None and LEAP_SECONDS.expires <= expires or len(theirs) > len(ours)


def test_tai_on_the_ccsds_epoch_scale_through_timecodes() -> None:
    tai = utc_to_tai(datetime(2000, 1, 1, tzinfo=UTC))
    assert tai == (date(2000, 1, 1) - date(1958, 1, 1)).days * 86400 + 32
    cds, _ = decode_cds(encode_cds(tai))
    assert cds == tai
    cuc, _ = decode_cuc(encode_cuc(tai + 0.5))
    assert cuc == tai + 0.5


def test_leap_second_is_a_real_second() -> None:
    before = utc_to_tai(datetime(2016, 12, 31, 23, 59, 59))
    after = utc_to_tai(datetime(2017, 1, 1))
    assert after - before == 2
    inside = utc_fields_to_tai(2016, 12, 31, 23, 59, 60.25)
    assert inside == before + 1.25
    assert is_leap_second(inside) and not is_leap_second(after) and not is_leap_second(before)
    assert tai_to_utc(inside) == datetime(2016, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert tai_to_utc(after) == datetime(2017, 1, 1, tzinfo=UTC)
    with pytest.raises(TimeScaleError, match="leap second"):
        utc_fields_to_tai(2016, 12, 30, 23, 59, 60)
    with pytest.raises(TimeScaleError):
        utc_fields_to_tai(2016, 12, 31, 23, 59, 61)


def test_aware_datetimes_are_converted_to_utc() -> None:
    cest = timezone(timedelta(hours=2))
    assert utc_to_tai(datetime(2024, 6, 1, 14, tzinfo=cest)) == utc_to_tai(datetime(2024, 6, 1, 12))


@given(st.datetimes(min_value=datetime(1972, 1, 1), max_value=datetime(2040, 1, 1)))
def test_utc_tai_round_trip(utc: datetime) -> None:
    back = tai_to_utc(utc_to_tai(utc))
    assert abs(back.replace(tzinfo=None) - utc) <= timedelta(microseconds=1)


@given(st.datetimes(min_value=datetime(2017, 1, 2), max_value=datetime(2026, 6, 1)))
def test_gps_week_and_tow_agree_with_pyubx2(utc: datetime) -> None:
    utc = utc.replace(microsecond=0)
    week, itow_ms = utc2itow(utc, 18)
    ours = utc_to_gps(utc)
    if itow_ms >= 604_800_000:  # pyubx2 does not carry into the next week
        week, itow_ms = week + 1, itow_ms - 604_800_000
    assert (ours.week, round(ours.tow * 1000)) == (week, itow_ms)


def test_gps_time_facts() -> None:
    assert utc_to_gps(datetime(1980, 1, 6)) == GpsTime(0, 0.0)
    assert utc_to_gps(datetime(2024, 1, 1)) == GpsTime(2295, 86_418.0)  # Monday, GPS-UTC 18 s
    assert gps_to_utc(GpsTime(2295, 86_418.0)) == datetime(2024, 1, 1, tzinfo=UTC)
    assert gps_to_tai(GpsTime(1, 0)) - gps_to_tai(GpsTime(0, 0)) == 604_800
    with pytest.raises(TimeScaleError):
        GpsTime(0, 604_800)
    with pytest.raises(TimeScaleError):
        tai_to_gps(0.0)


# -- discipline -----------------------------------------------------------------------------

START_UTC = datetime(2025, 3, 1, 12, 0, 0)
START_TAI = utc_to_tai(START_UTC)


class Receiver:
    """A GNSS receiver and a local oscillator: monotonic time runs at (1 + drift) against TAI,
    PPS edges come on whole TAI seconds, and the fix naming that second follows `latency` later."""

    def __init__(
        self,
        clock: SimClock,
        drift: float,
        latency: float = 0.3,
        jitter_s: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.clock = clock
        self.drift = drift
        self.latency = latency
        self.jitter_s = jitter_s
        self.rng = random.Random(seed)
        self.m0 = clock.monotonic()

    def monotonic_of(self, tai: float) -> float:
        return self.m0 + (tai - START_TAI) / (1 + self.drift)

    def true_tai(self, m: float) -> float:
        return START_TAI + (m - self.m0) * (1 + self.drift)

    def second(
        self, k: int, time: DisciplinedTime, label_offset: float = 0.0, fix_first: bool = False
    ) -> None:
        edge = self.monotonic_of(START_TAI + k) + self.rng.gauss(0, self.jitter_s)
        received = self.monotonic_of(START_TAI + k + self.latency)
        self.clock.sleep_until(received)
        fix = START_TAI + k + label_offset
        if fix_first:
            time.on_fix_tai(fix, received)
            time.on_pps(edge)
        else:
            time.on_pps(edge)
            time.on_fix_tai(fix, received)


def test_unset_time_refuses_to_be_read() -> None:
    time = DisciplinedTime(SimClock())
    assert time.status().state is SyncState.UNSET
    with pytest.raises(TimeNotSetError):
        time.tai()


def test_fix_alone_gives_coarse_time() -> None:
    clock = SimClock(50.0)
    time = DisciplinedTime(clock, fix_latency_s=0.1)
    time.on_fix(START_UTC, 50.0)
    assert time.status().state is SyncState.COARSE
    assert time.tai() == pytest.approx(START_TAI + 0.1)
    assert time.utc() == (START_UTC + timedelta(seconds=0.1)).replace(tzinfo=UTC)


def test_pps_locks_and_tracks_a_drifting_oscillator() -> None:
    clock = SimClock(1000.0)
    rx = Receiver(clock, drift=50e-6)
    time = DisciplinedTime(clock)
    for k in range(40):
        rx.second(k, time)
    status = time.status()
    assert status.state is SyncState.LOCKED and status.samples == 40
    assert status.drift_ppm == pytest.approx(50.0, abs=0.05)
    assert abs(status.time_error_s) < 1e-7
    assert time.tai() == pytest.approx(rx.true_tai(clock.monotonic()), abs=1e-6)
    assert status.jumps == 0 and status.outliers == 0


def test_jittery_pps_keeps_the_error_near_the_jitter() -> None:
    clock = SimClock()
    rx = Receiver(clock, drift=-20e-6, jitter_s=1e-6, seed=4)
    time = DisciplinedTime(clock)
    errors = []
    for k in range(120):
        rx.second(k, time)
        if k >= 20:
            errors.append(time.tai() - rx.true_tai(clock.monotonic()))
    assert max(abs(e) for e in errors) < 5e-6
    assert time.status().drift_ppm == pytest.approx(-20.0, abs=1.0)


def test_fix_read_before_its_edge_still_pairs() -> None:
    clock = SimClock()
    rx = Receiver(clock, drift=10e-6)
    time = DisciplinedTime(clock)
    for k in range(20):
        rx.second(k, time, fix_first=True)
    assert time.status().samples == 20
    assert time.tai() == pytest.approx(rx.true_tai(clock.monotonic()), abs=1e-6)


def test_fix_preceding_the_edge_names_the_next_second() -> None:
    clock = SimClock()
    time = DisciplinedTime(clock, pairing=PpsPairing.FIX_PRECEDES_EDGE)
    for k in range(10):
        clock.sleep_until(k + 0.6)
        time.on_fix_tai(START_TAI + k, k + 0.6)  # "the next pulse starts second k + 1"
        clock.sleep_until(k + 1.0)
        time.on_pps(k + 1.0)
    assert time.status().samples == 10
    assert time.tai() == pytest.approx(START_TAI + 10, abs=1e-9)


def test_confirmed_jump_steps_time_and_is_reported() -> None:
    clock = SimClock()
    rx = Receiver(clock, drift=0.0)
    jumps: list[TimeJump] = []
    time = DisciplinedTime(clock, on_jump=jumps.append)
    for k in range(10):
        rx.second(k, time)
    rx.second(10, time, label_offset=1.0)
    assert time.status().jumps == 0  # one sample is not yet a jump
    rx.second(11, time, label_offset=1.0)
    assert len(jumps) == 1 and jumps[0].size_s == pytest.approx(1.0)
    assert time.status().jumps == 1
    assert time.tai() == pytest.approx(rx.true_tai(clock.monotonic()) + 1.0, abs=1e-9)


def test_lone_outlier_is_dropped_and_counted() -> None:
    clock = SimClock()
    rx = Receiver(clock, drift=0.0)
    time = DisciplinedTime(clock)
    for k in range(10):
        rx.second(k, time)
    rx.second(10, time, label_offset=-1.0)
    for k in range(11, 15):
        rx.second(k, time)
    status = time.status()
    assert status.jumps == 0 and status.outliers == 1
    assert time.tai() == pytest.approx(rx.true_tai(clock.monotonic()), abs=1e-9)


def test_holdover_after_pps_stops() -> None:
    clock = SimClock()
    rx = Receiver(clock, drift=30e-6)
    time = DisciplinedTime(clock, holdover_after_s=3.0)
    for k in range(30):
        rx.second(k, time)
    clock.advance(10.0)
    assert time.status().state is SyncState.HOLDOVER
    assert time.tai() == pytest.approx(rx.true_tai(clock.monotonic()), abs=2e-6)


def test_unstable_gains_are_refused() -> None:
    with pytest.raises(ValueError, match="unstable"):
        DisciplinedTime(SimClock(), phase_gain=1.0, frequency_gain=2.5)


def test_clock_time_source_for_simulations() -> None:
    clock = SimClock(5.0)
    source = ClockTimeSource(clock, START_TAI)
    assert source.tai() == START_TAI + 5.0
    assert source.status().state is SyncState.LOCKED
