"""NMEA sentence decoding per type, talkers, empty fields, faults; interop with pynmea2."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pynmea2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.gnss import nmea
from drivers.gnss.errors import GnssDecodeError, NmeaFieldError, NmeaLengthError
from drivers.gnss.framer import Framer, NmeaFrame
from drivers.gnss.nmea import Constellation

DATA = Path(__file__).resolve().parents[1] / "data" / "gnss"


def sentence(address: str, *fields: str) -> bytes:
    return nmea.build(address, list(fields))[:-2]


def test_gga_values() -> None:
    s = nmea.parse(b"$GNGGA,003956.00,4552.65403,S,17030.00668,E,1,12,0.64,14.2,M,1.8,M,,*56")
    assert isinstance(s, nmea.Gga)
    assert s.talker == "GN" and s.time_s == pytest.approx(2396.0)
    assert s.lat_deg == pytest.approx(-(45 + 52.65403 / 60)) and s.lon_deg > 170.5
    assert (s.quality, s.satellites, s.hdop, s.alt_msl_m, s.geoid_sep_m) == (1, 12, 0.64, 14.2, 1.8)
    assert s.dgps_age_s is None and s.dgps_station is None


def test_gga_empty_fields_are_none() -> None:
    s = nmea.parse(b"$GPGGA,,,,,,0,,,,M,,M,,*66")
    assert isinstance(s, nmea.Gga)
    assert s.time_s is None and s.lat_deg is None and s.alt_msl_m is None and s.quality == 0


def test_rmc_values_and_two_digit_year() -> None:
    s = nmea.parse(
        sentence(
            "GPRMC",
            "081437.000",
            "A",
            "5212.981473",
            "N",
            "00653.102458",
            "E",
            "0.039",
            "12.5",
            "230808",
            "2.1",
            "W",
            "A",
        )
    )
    assert isinstance(s, nmea.Rmc)
    assert s.date == dt.date(2008, 8, 23) and s.status == "A" and s.faa_mode == "A"
    assert s.speed_mps == pytest.approx(0.039 * 1852 / 3600) and s.track_deg == 12.5
    assert s.magvar_deg == -2.1
    old = nmea.parse(sentence("GPRMC", "235946.005", "V", "", "", "", "", "", "", "050180", "", ""))
    assert old.date == dt.date(1980, 1, 5)


def test_gsa_with_and_without_system_id() -> None:
    s = nmea.parse(b"$GNGSA,A,3,13,16,21,15,10,29,27,20,,,,,1.05,0.64,0.83,1*03")
    assert isinstance(s, nmea.Gsa)
    assert s.mode == 3 and s.prns == (13, 16, 21, 15, 10, 29, 27, 20) and s.system_id == 1
    assert (s.pdop, s.hdop, s.vdop) == (1.05, 0.64, 0.83)
    old = nmea.parse(b"$GPGSA,A,1,,,,,,,,,,,,,,,*1E")
    assert old.mode == 1 and old.prns == () and old.pdop is None and old.system_id is None


def test_gsv_satellites_and_signal_id() -> None:
    s = nmea.parse(b"$GAGSV,2,2,07,27,18,333,,30,16,279,,05,11,185,41,,,,,7*4F")
    assert isinstance(s, nmea.Gsv)
    assert (s.sentences, s.number, s.in_view, s.signal_id) == (2, 2, 7, 7)
    assert [v.prn for v in s.satellites] == [27, 30, 5]
    assert s.satellites[0].snr_dbhz is None and s.satellites[2].snr_dbhz == 41


def test_gsv_is_checked_when_decoded_and_converted_when_read() -> None:
    s = nmea.parse(b"$GPGSV,3,3,10,71,23,216,,72,43,277,,0*7E")
    assert isinstance(s, nmea.Gsv) and s.fields == b"3,3,10,71,23,216,,72,43,277,,0"
    assert s.satellites == (
        nmea.SatelliteInView(71, 23, 216, None),
        nmea.SatelliteInView(72, 43, 277, None),
    )
    assert s.signal_id == 0
    # a bad satellite field is rejected when the sentence is decoded, not when it is read
    with pytest.raises(NmeaFieldError) as info:
        nmea.parse(
            sentence("GPGSV", "1", "1", "02", "07", "4x", "033", "", "09", "12", "147", "44")
        )
    assert info.value.sentence == "GSV" and info.value.index == 5
    with pytest.raises(NmeaFieldError) as info:
        nmea.parse(sentence("GPGSV", "1", "", "02", "07", "40", "033", ""))
    assert info.value.index == 2
    # what the fast check leaves to int() (a sign, a space) is still decoded
    signed = nmea.parse(sentence("GPGSV", "1", "1", " 1", "07", "-3", "033", "+5"))
    assert signed.in_view == 1 and signed.satellites == (nmea.SatelliteInView(7, -3, 33, 5),)
    header_only = nmea.parse(sentence("GLGSV", "1", "1", "00"))
    assert header_only.satellites == () and header_only.signal_id is None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["", "0", "1", "07", "12", "359", "-3", "+4", " 5", "x", "1_0", "99999"]),
        max_size=22,
    )
)
def test_an_accepted_gsv_reads_without_error(fields: list[str]) -> None:
    try:
        s = nmea.parse(sentence("GAGSV", *fields))
    except GnssDecodeError:
        return
    assert isinstance(s, nmea.Gsv)
    values = (s.sentences, s.number, s.in_view, s.satellites, s.signal_id)
    assert all(isinstance(v, int) for v in values[:3])


def test_gsv_of_every_capture_agrees_with_pynmea2() -> None:
    """pynmea2 knows four satellite blocks and no NMEA 4.10 signal ID: compare whole blocks."""
    compared = 0
    for capture in sorted(DATA.glob("*.log")):
        for frame in Framer().feed(capture.read_bytes()):
            if not isinstance(frame, NmeaFrame) or frame.sentence[3:6] != b"GSV":
                continue
            ours = nmea.parse(frame.sentence)
            theirs = pynmea2.parse(frame.sentence.decode(), check=True)
            assert isinstance(ours, nmea.Gsv)
            header = (int(theirs.num_messages), int(theirs.msg_num), int(theirs.num_sv_in_view))
            assert (ours.sentences, ours.number, ours.in_view) == header
            blocks = (len(theirs.data) - 3) // 4
            expected = [
                nmea.SatelliteInView(
                    *(
                        int(v) if v else None
                        for v in theirs.data[3 + 4 * k : 7 + 4 * k]  # prn, elevation, azimuth, snr
                    )
                )
                for k in range(blocks)
                if theirs.data[3 + 4 * k]
            ]
            assert list(ours.satellites) == expected, frame.sentence
            last = theirs.data[-1] if (len(theirs.data) - 3) % 4 == 1 else ""
            assert ours.signal_id == (int(last) if last else None)
            compared += 1
    assert compared > 3000


def test_gns_zda_vtg_gll() -> None:
    gns = nmea.parse(b"$GNGNS,120213.000,5957.0062,N,01100.6429,E,NDD,11,1.3,168.9,39.5,,,V*57")
    assert isinstance(gns, nmea.Gns) and gns.modes == "NDD" and gns.nav_status == "V"
    zda = nmea.parse(b"$GPZDA,120213.000,31,07,2022,+00,00*79")
    assert isinstance(zda, nmea.Zda) and zda.date == dt.date(2022, 7, 31) and zda.zone_hours == 0
    vtg = nmea.parse(b"$GNVTG,286.35,T,,M,0.00,N,0.00,K,A*29")
    assert isinstance(vtg, nmea.Vtg) and vtg.track_deg == 286.35 and vtg.track_mag_deg is None
    gll = nmea.parse(b"$GPGLL,4215.07753,N,08811.88592,W,203451.000,A,D*45")
    assert isinstance(gll, nmea.Gll) and gll.lon_deg < 0 and gll.faa_mode == "D"


@pytest.mark.parametrize("talker", ["GP", "GL", "GA", "GB", "BD", "GQ", "QZ", "GN"])
def test_every_talker(talker: str) -> None:
    s = nmea.parse(
        sentence(
            f"{talker}GSA",
            "A",
            "3",
            "01",
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
            "",
            "2.0",
            "1.0",
            "1.5",
        )
    )
    assert s.talker == talker and nmea.Talker(talker)
    expected = nmea.TALKER_CONSTELLATION[talker]
    assert nmea.constellation_of_prn(1, talker) == (expected or Constellation.GPS)


def test_prn_ranges_map_to_constellations() -> None:
    assert nmea.constellation_of_prn(70, "GN") is Constellation.GLONASS
    assert nmea.constellation_of_prn(209, "GB") is Constellation.BEIDOU
    assert nmea.constellation_of_prn(209, "GP") is Constellation.BEIDOU
    assert nmea.constellation_of_prn(133, "GP") is Constellation.SBAS
    assert nmea.constellation_of_prn(999, "GN") is None


def test_bad_field_is_named() -> None:
    with pytest.raises(NmeaFieldError) as info:
        nmea.parse(
            sentence(
                "GPGGA",
                "003956.00",
                "45x2.6",
                "S",
                "17030.00668",
                "E",
                "1",
                "12",
                "0.64",
                "14.2",
                "M",
                "1.8",
                "M",
                "",
                "",
            )
        )
    assert info.value.index == 2 and info.value.sentence == "GGA"
    with pytest.raises(NmeaFieldError) as info:
        nmea.parse(sentence("GPRMC", "256000", "A", "", "", "", "", "", "", "010120"))
    assert info.value.index == 1
    with pytest.raises(NmeaFieldError):
        nmea.parse(sentence("GPZDA", "120000", "31", "02", "2022", "00", "00"))


def test_coordinates_that_are_not_finite_or_negative_are_rejected() -> None:
    for lat in ("nan", "inf", "-4807.038", "4867.5"):
        with pytest.raises(NmeaFieldError) as info:
            nmea.parse(sentence("GPGLL", lat, "N", "01131.000", "E", "120000", "A", "A"))
        assert info.value.index == 1
    with pytest.raises(NmeaFieldError) as info:
        nmea.parse(sentence("GPGLL", "4807.038", "X", "01131.000", "E", "120000", "A", "A"))
    assert info.value.index == 1
    south_west = nmea.parse(sentence("GPGLL", "0000.000", "S", "00030.000", "W", "120000", "A"))
    assert isinstance(south_west, nmea.Gll)
    assert math.copysign(1.0, south_west.lat_deg) == -1.0 and south_west.lon_deg == -0.5


def test_short_sentence_and_unsupported_type() -> None:
    with pytest.raises(NmeaLengthError) as info:
        nmea.parse(sentence("GPGGA", "003956.00"))
    assert info.value.expected == 15 and info.value.actual == 2
    with pytest.raises(nmea.UnsupportedSentence):
        nmea.parse(sentence("PGRME", "15.0", "M"))
    with pytest.raises(nmea.UnsupportedSentence):
        nmea.parse(sentence("GPTXT", "01", "01", "01", "hello"))
    with pytest.raises(nmea.UnsupportedSentence):  # a non-ASCII talker, outside the framer
        nmea.parse(b"$\xff\xfeGGA,,,,,,0,,,,M,,M,,*00")
    other_talker = nmea.parse(sentence("XXVTG", "054.7", "T", "", "M", "", "N", "", "K"))
    assert isinstance(other_talker, nmea.Vtg) and other_talker.talker == "XX"


# ---------------------------------------------------------------- interop with pynmea2


def test_pynmea2_built_sentences_decode() -> None:
    gga = pynmea2.GGA(
        "GN",
        "GGA",
        (
            "123519.50",
            "4807.038",
            "N",
            "01131.324",
            "W",
            "1",
            "08",
            "0.9",
            "545.4",
            "M",
            "46.9",
            "M",
            "",
            "",
        ),
    )
    ours = nmea.parse(str(gga).encode())
    assert isinstance(ours, nmea.Gga)
    assert ours.lat_deg == pytest.approx(gga.latitude, abs=1e-9)
    assert ours.lon_deg == pytest.approx(gga.longitude, abs=1e-9)
    assert ours.alt_msl_m == float(gga.altitude) and ours.satellites == int(gga.num_sats)
    rmc = pynmea2.RMC(
        "GP",
        "RMC",
        (
            "225446.33",
            "A",
            "4916.45",
            "N",
            "12311.12",
            "W",
            "000.5",
            "054.7",
            "191194",
            "020.3",
            "E",
            "A",
        ),
    )
    ours_rmc = nmea.parse(str(rmc).encode())
    assert ours_rmc.date == rmc.datestamp and ours_rmc.lat_deg == pytest.approx(rmc.latitude)
    assert ours_rmc.time_s == pytest.approx(22 * 3600 + 54 * 60 + 46.33)
    gsa = pynmea2.GSA(
        "GL",
        "GSA",
        ("A", "3", "65", "66", "", "", "", "", "", "", "", "", "", "", "2.5", "1.3", "2.1"),
    )
    assert nmea.parse(str(gsa).encode()).prns == (65, 66)
    vtg = pynmea2.VTG("GA", "VTG", ("054.7", "T", "034.4", "M", "005.5", "N", "010.2", "K", "A"))
    assert nmea.parse(str(vtg).encode()).speed_mps == pytest.approx(5.5 * 1852 / 3600)
    zda = pynmea2.ZDA("GN", "ZDA", ("160012.71", "11", "03", "2004", "-1", "00"))
    assert nmea.parse(str(zda).encode()).date == dt.date(2004, 3, 11)


def test_what_we_build_pynmea2_parses() -> None:
    line = nmea.build("GBGSV", ["1", "1", "02", "209", "07", "033", "", "201", "49", "147", "44"])
    parsed = pynmea2.parse(line.decode().strip(), check=True)
    assert parsed.talker == "GB" and parsed.sentence_type == "GSV"
    ours = nmea.parse(line.strip())
    assert [s.prn for s in ours.satellites] == [int(parsed.sv_prn_num_1), int(parsed.sv_prn_num_2)]
