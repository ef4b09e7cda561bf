"""Per-epoch fix assembly, time information for discipline, the offline API and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pyubx2 import GET, UBXMessage

from drivers.gnss import FixMode, StreamDecoder, decode, nmea
from drivers.gnss.geodesy import ecef_to_geodetic, gps_to_utc
from drivers.gnss.nmea import Constellation
from drivers.gnss.stream import strip_comment_header

DATA = Path(__file__).resolve().parents[1] / "data" / "gnss"
ROOT = Path(__file__).resolve().parents[2]


def line(address: str, *fields: str) -> bytes:
    return nmea.build(address, list(fields))


def epoch(t: str, lat: str = "4807.038") -> bytes:
    return (
        line("GPRMC", t, "A", lat, "N", "01131.000", "E", "10.0", "90.0", "230394", "", "")
        + line(
            "GPGGA",
            t,
            lat,
            "N",
            "01131.000",
            "E",
            "1",
            "08",
            "0.9",
            "545.4",
            "M",
            "46.9",
            "M",
            "",
            "",
        )
        + line(
            "GPGSA",
            "A",
            "3",
            "04",
            "05",
            "09",
            "12",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "2.5",
            "1.3",
            "2.1",
        )
        + line(
            "GLGSA",
            "A",
            "3",
            "65",
            "71",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "2.5",
            "1.3",
            "2.1",
        )
        + line("GPZDA", t, "23", "03", "1994", "00", "00")
    )


def test_one_fix_per_nmea_epoch_with_all_fields() -> None:
    fixes = decode(epoch("123519.00") + epoch("123520.00", "4807.040"))
    assert [f.time for f in fixes] == [
        dt.datetime(1994, 3, 23, 12, 35, s, tzinfo=dt.UTC) for s in (19, 20)
    ]
    f = fixes[0]
    assert f.mode is FixMode.FIX_3D
    assert f.lat == pytest.approx(48 + 7.038 / 60) and f.lon == pytest.approx(11 + 31 / 60)
    assert (f.alt_msl, f.alt_hae) == (545.4, pytest.approx(592.3))
    assert f.speed == pytest.approx(10 * 1852 / 3600) and f.track == 90.0
    assert (f.pdop, f.hdop, f.vdop) == (2.5, 1.3, 2.1)
    assert f.satellites_used == {Constellation.GPS: 4, Constellation.GLONASS: 2}
    assert f.timing is not None and f.timing.utc == f.time and f.timing.confirmed


def test_fixes_do_not_depend_on_read_sizes() -> None:
    data = strip_comment_header((DATA / "ublox-8.log").read_bytes())
    whole = decode(data)
    decoder = StreamDecoder()
    pieces = []
    for k in range(0, len(data), 13):
        pieces += decoder.feed(data[k : k + 13])
    assert pieces + decoder.flush() == whole


def test_no_fix_epochs_and_empty_fields() -> None:
    data = line("GPRMC", "010203", "V", "", "", "", "", "", "", "010120", "", "") + line(
        "GPGGA", "010203", "", "", "", "", "0", "00", "", "", "M", "", "M", "", ""
    )
    fixes = decode(data)
    assert fixes and all(f.mode is FixMode.NO_FIX and f.lat is None for f in fixes)
    assert all(f.time is None for f in fixes)  # an invalid RMC gives no date


def pvt(itow: int, second: int) -> bytes:
    return UBXMessage(
        "NAV",
        "NAV-PVT",
        GET,
        iTOW=itow,
        year=2024,
        month=3,
        day=28,
        hour=15,
        min=57,
        second=second,
        validDate=1,
        validTime=1,
        fullyResolved=1,
        fixType=3,
        gnssFixOk=1,
        numSV=9,
        lon=-117.0207302,
        lat=46.4045956,
        height=247522,
        hMSL=265694,
        gSpeed=253,
        headMot=67.5,
        pDOP=1.2,
        confirmedDate=1,
        confirmedTime=1,
    ).serialize()


def test_ubx_epochs_leap_seconds_and_eoe() -> None:
    timegps = UBXMessage(
        "NAV",
        "NAV-TIMEGPS",
        GET,
        iTOW=403075000,
        week=2307,
        leapS=18,
        towValid=1,
        weekValid=1,
        leapSValid=1,
        tAcc=12,
    ).serialize()
    sat = UBXMessage(
        "NAV",
        "NAV-SAT",
        GET,
        iTOW=403075000,
        version=1,
        numSvs=2,
        gnssId_01=0,
        svId_01=3,
        svUsed_01=1,
        gnssId_02=2,
        svId_02=4,
        svUsed_02=1,
    ).serialize()
    eoe = UBXMessage("NAV", "NAV-EOE", GET, iTOW=403075000).serialize()
    decoder = StreamDecoder()
    assert decoder.feed(pvt(403075000, 37) + timegps + sat) == []
    [fix] = decoder.feed(eoe)  # NAV-EOE closes the epoch without waiting for the next one
    assert fix.time == dt.datetime(2024, 3, 28, 15, 57, 37, tzinfo=dt.UTC)
    assert fix.mode is FixMode.FIX_3D and fix.source == "ubx"
    assert (fix.alt_hae, fix.alt_msl) == (pytest.approx(247.522), pytest.approx(265.694))
    assert fix.satellites_used == {Constellation.GPS: 1, Constellation.GALILEO: 1}
    t = fix.timing
    assert t is not None and (t.gps_week, t.tow_s, t.leap_seconds) == (2307, 403075.0, 18)
    assert t.leap_valid and t.fully_resolved and t.confirmed and t.accuracy_ns == 12
    assert gps_to_utc(t.gps_week, t.tow_s, t.leap_seconds) == fix.time
    second = decoder.feed(pvt(403076000, 38)) + decoder.flush()
    assert [f.time.second for f in second] == [38]


def test_leap_seconds_from_timeutc() -> None:
    utc = UBXMessage(
        "NAV",
        "NAV-TIMEUTC",
        GET,
        iTOW=403075000,
        tAcc=5,
        year=2024,
        month=3,
        day=28,
        hour=15,
        min=57,
        sec=37,
        validTOW=1,
        validWKN=1,
        validUTC=1,
    ).serialize()
    [fix] = decode(pvt(403075000, 37) + utc)
    assert fix.timing is not None and fix.timing.leap_seconds == 18


def test_ecef_conversion_matches_gpsd_on_m8t() -> None:
    lat, lon, hae = ecef_to_geodetic(-2386071.06, -3922190.51, 4414360.73)
    assert (lat, lon, hae) == (
        pytest.approx(44.068809596, abs=1e-8),
        pytest.approx(-121.314309171, abs=1e-8),
        pytest.approx(1110.6751, abs=1e-3),
    )


def test_cli_prints_json_lines_and_strips_the_header() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "drivers.gnss", str(DATA / "quectel-L70.log"), "--counters"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    rows = [json.loads(r) for r in out.stdout.splitlines()]
    assert len(rows) == 16
    assert rows[0]["time"] == "2022-03-09T15:01:19.000Z" and rows[0]["mode"] == 3
    assert set(rows[0]) >= {"time", "mode", "lat", "lon", "alt_hae", "alt_msl", "speed", "track"}
    counters = json.loads(out.stderr)
    assert counters["decoded"]["GGA"] == 16 and counters["nmea_bad_checksum"] == 0


def test_comment_header_stripping() -> None:
    assert strip_comment_header(b"# a\n# b\r\n$GP\n# not header\n") == b"$GP\n# not header\n"
    assert strip_comment_header(b"# only") == b""
    assert strip_comment_header(b"\xb5b") == b"\xb5b"
