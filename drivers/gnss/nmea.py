"""NMEA 0183 sentences: GGA, RMC, GSA, GSV, GNS, ZDA, VTG and GLL, from any talker.

`parse(sentence)` takes one checksum-verified sentence (from `$` through `*hh`, as the framer
returns it) and gives a frozen value with units in its field names; an empty field is None. The
sentence types this driver does not use raise `UnsupportedSentence`; a field that is present but
not a number or out of range raises `NmeaFieldError` naming the field. `build(...)` is the
inverse for sentences we emit (checksum added).

The hot path converts fields straight from bytes (float() and int() accept them) inside one `try`;
only when that fails do we walk the fields again to name the bad one. Decoded sentences are
immutable `NamedTuple`s rather than frozen dataclasses: a frozen dataclass pays one
`object.__setattr__` per field on construction, which alone would cost more than pynmea2's whole
parse of a sentence; a NamedTuple is built in one step (`_new`, skipping its Python-level
`__new__`) and is just as typed and immutable. The sentence's address ("GPGSV,") finds its parser
and talker with one dict lookup.

GSV, three quarters of the sentences a multi-constellation receiver sends and never used by the
fix, is checked field by field when decoded but converted only when read (`Gsv`); every other
type is converted when decoded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import IntEnum, StrEnum
from typing import Final, NamedTuple

from drivers.gnss.errors import GnssDecodeError, NmeaFieldError, NmeaLengthError
from drivers.gnss.framer import NMEA_MAX_CHARS, nmea_checksum

KNOTS_TO_MPS: Final = 1852.0 / 3600.0
KMH_TO_MPS: Final = 1000.0 / 3600.0


class Constellation(IntEnum):
    """GNSS identifiers as u-blox puts them on the wire (gnssId)."""

    GPS = 0
    SBAS = 1
    GALILEO = 2
    BEIDOU = 3
    IMES = 4
    QZSS = 5
    GLONASS = 6
    NAVIC = 7


class Talker(StrEnum):
    GPS = "GP"
    GLONASS = "GL"
    GALILEO = "GA"
    BEIDOU = "GB"
    BEIDOU_BD = "BD"
    QZSS = "GQ"
    QZSS_QZ = "QZ"
    NAVIC = "GI"
    COMBINED = "GN"


TALKER_CONSTELLATION: Final[dict[str, Constellation | None]] = {
    "GP": Constellation.GPS,
    "GL": Constellation.GLONASS,
    "GA": Constellation.GALILEO,
    "GB": Constellation.BEIDOU,
    "BD": Constellation.BEIDOU,
    "GQ": Constellation.QZSS,
    "QZ": Constellation.QZSS,
    "GI": Constellation.NAVIC,
    "GN": None,
}

#: NMEA 4.10 GNSS system ID (last field of GSA) to constellation.
SYSTEM_ID_CONSTELLATION: Final[dict[int, Constellation]] = {
    1: Constellation.GPS,
    2: Constellation.GLONASS,
    3: Constellation.GALILEO,
    4: Constellation.BEIDOU,
    5: Constellation.QZSS,
    6: Constellation.NAVIC,
}


def constellation_of_prn(prn: int, talker: str) -> Constellation | None:
    """The constellation of a satellite number as NMEA 2.x-4.0 receivers number them."""
    fixed = TALKER_CONSTELLATION.get(talker)
    if fixed is not None and fixed is not Constellation.GPS:
        return fixed
    if 1 <= prn <= 32:
        return Constellation.GPS
    if 33 <= prn <= 64 or 120 <= prn <= 158:
        return Constellation.SBAS
    if 65 <= prn <= 96:
        return Constellation.GLONASS
    if 193 <= prn <= 202:
        return Constellation.QZSS
    if 201 <= prn <= 237 or 401 <= prn <= 437:
        return Constellation.BEIDOU
    if 301 <= prn <= 356:
        return Constellation.GALILEO
    return None


class UnsupportedSentence(GnssDecodeError):
    """A well-formed sentence of a type this driver does not decode (counted, not an error)."""

    counter = "nmea_unsupported"

    def __init__(self, address: str) -> None:
        super().__init__(f"sentence type {address} is not decoded")
        self.address = address


class Gga(NamedTuple):
    talker: str
    time_s: float | None  # UTC seconds of day
    lat_deg: float | None
    lon_deg: float | None
    quality: int | None  # 0 invalid, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 DR, 8 simulated
    satellites: int | None
    hdop: float | None
    alt_msl_m: float | None
    geoid_sep_m: float | None
    dgps_age_s: float | None
    dgps_station: int | None


class Rmc(NamedTuple):
    talker: str
    time_s: float | None
    status: str  # 'A' valid, 'D' differential, 'V' invalid
    lat_deg: float | None
    lon_deg: float | None
    speed_mps: float | None
    track_deg: float | None
    date: dt.date | None
    magvar_deg: float | None  # east positive
    faa_mode: str | None
    nav_status: str | None


class Gsa(NamedTuple):
    talker: str
    selection: str  # 'A' automatic, 'M' manual
    mode: int | None  # 1 no fix, 2 2D, 3 3D
    prns: tuple[int, ...]
    pdop: float | None
    hdop: float | None
    vdop: float | None
    system_id: int | None  # NMEA 4.10


class SatelliteInView(NamedTuple):
    prn: int
    elevation_deg: int | None
    azimuth_deg: int | None
    snr_dbhz: int | None


class _GsvFields(NamedTuple):
    talker: str
    fields: bytes  # after the address, as sent: "4,1,14,01,12,320,,02,...[,signal]", all checked


class Gsv(_GsvFields):
    """Satellites in view, checked when decoded, converted when read.

    GSV is most of a receiver's NMEA (a sentence per four satellites per constellation every
    epoch: 72% of a u-blox F9P's) and the fix never uses it, so decoding keeps its fields as sent,
    as pynmea2 keeps every sentence's. Unlike pynmea2 it checks them first: a sentence whose
    fields would not convert is rejected and counted when it is decoded, like any other, so the
    properties below cannot fail. Each converts on every read: keep what you read.
    """

    __slots__ = ()

    @property
    def sentences(self) -> int:
        return int(self.fields.split(b",", 1)[0])

    @property
    def number(self) -> int:
        return int(self.fields.split(b",", 2)[1])

    @property
    def in_view(self) -> int:
        return int(self.fields.split(b",", 3)[2])

    @property
    def satellites(self) -> tuple[SatelliteInView, ...]:
        return _satellites(_after_header(self.fields))

    @property
    def signal_id(self) -> int | None:
        """NMEA 4.10 signal ID: a field after the last complete satellite, if there is one."""
        return _signal_id(_after_header(self.fields))


def _after_header(fields: bytes) -> bytes:
    parts = fields.split(b",", 3)
    return parts[3] if len(parts) == 4 else b""


def _satellites(fields: bytes) -> tuple[SatelliteInView, ...]:
    """PRN, elevation, azimuth, SNR quadruples; a trailing signal ID is not one; no PRN: skipped."""
    f = fields.split(b",")
    return tuple(
        SatelliteInView(int(f[k]), _i(f[k + 1]), _i(f[k + 2]), _i(f[k + 3]))
        for k in range(0, 4 * (len(f) // 4), 4)
        if f[k]
    )


def _signal_id(fields: bytes) -> int | None:
    if fields.count(b",") % 4:
        return None  # not 4n+1 fields
    last = fields[fields.rfind(b",") + 1 :]
    return int(last) if last else None


class Gns(NamedTuple):
    talker: str
    time_s: float | None
    lat_deg: float | None
    lon_deg: float | None
    modes: str  # one FAA mode letter per constellation
    satellites: int | None
    hdop: float | None
    alt_msl_m: float | None
    geoid_sep_m: float | None
    dgps_age_s: float | None
    dgps_station: int | None
    nav_status: str | None


class Zda(NamedTuple):
    talker: str
    time_s: float | None
    date: dt.date | None
    zone_hours: int | None
    zone_minutes: int | None


class Vtg(NamedTuple):
    talker: str
    track_deg: float | None
    track_mag_deg: float | None
    speed_mps: float | None
    faa_mode: str | None


class Gll(NamedTuple):
    talker: str
    lat_deg: float | None
    lon_deg: float | None
    time_s: float | None
    status: str  # 'A' valid, 'V' invalid
    faa_mode: str | None


Sentence = Gga | Rmc | Gsa | Gsv | Gns | Zda | Vtg | Gll


_DIGITS_AND_COMMA: Final = b"0123456789,"
_TWO_ZEROS: Final = ord("0") * 11  # two ASCII digits, codes a and b, are a * 10 + b - _TWO_ZEROS
_HEMISPHERE_SIGN: Final = {b"N": 1.0, b"E": 1.0, b"S": -1.0, b"W": -1.0}
_new: Final = tuple.__new__  # builds a NamedTuple from a tuple without its Python-level __new__


def _f(v: bytes) -> float | None:
    return float(v) if v else None


def _i(v: bytes) -> int | None:
    return int(v) if v else None


def _tod(v: bytes) -> float | None:
    """hhmmss[.sss] to seconds of day."""
    if not v:
        return None
    if len(v) < 6 or not v[:6].isdigit():
        raise ValueError("not a time of day")
    h = v[0] * 10 + v[1] - _TWO_ZEROS  # ASCII digits, checked above
    m = v[2] * 10 + v[3] - _TWO_ZEROS
    s = float(v[4:])
    if h > 23 or m > 59 or s >= 61.0:
        raise ValueError("not a time of day")
    return h * 3600 + m * 60 + s


def _coord(v: bytes, hemi: bytes) -> float | None:
    """[d]ddmm.mmmm plus hemisphere to signed degrees."""
    if not v or not hemi:
        return None
    x = float(v)
    deg, minutes = divmod(x, 100.0)  # both exact for the finite x >= 0 accepted below
    if not (minutes < 60.0 and x >= 0.0):  # also false for NaN and infinity
        raise ValueError("minutes out of range")
    sign = _HEMISPHERE_SIGN.get(hemi)
    if sign is None:
        raise ValueError("hemisphere is not N/S/E/W")
    return sign * (deg + minutes / 60.0)


def _ddmmyy(v: bytes) -> dt.date | None:
    if not v:
        return None
    if len(v) != 6 or not v.isdigit():
        raise ValueError("date is not ddmmyy")
    year = 2000 + int(v[4:6])
    if year >= 2080:  # two-digit years: 1980..2079, as GPS time began in 1980
        year -= 100
    return dt.date(year, int(v[2:4]), int(v[0:2]))


def _diagnose(name: str, fields: list[bytes], checks: dict[int, Callable[[bytes], object]]) -> None:
    """Re-run each field's conversion to name the one that failed."""
    for index, check in checks.items():
        value = fields[index] if index < len(fields) else b""
        try:
            check(value)
        except (ValueError, OverflowError) as exc:
            raise NmeaFieldError(name, index, value, str(exc)) from None
    raise NmeaFieldError(name, 0, b",".join(fields), "inconsistent fields")


def _parse_gga(t: str, s: bytes) -> Gga:
    p = s[1:-3].split(b",")
    if len(p) < 15:
        raise NmeaLengthError("GGA", 15, len(p))
    try:
        return _new(
            Gga,
            (
                t,
                _tod(p[1]),
                _coord(p[2], p[3]),
                _coord(p[4], p[5]),
                int(p[6]) if p[6] else None,
                int(p[7]) if p[7] else None,
                float(p[8]) if p[8] else None,
                float(p[9]) if p[9] else None,
                float(p[11]) if p[11] else None,
                float(p[13]) if p[13] else None,
                int(p[14]) if p[14] else None,
            ),
        )
    except (ValueError, OverflowError):
        _diagnose(
            "GGA",
            p,
            {
                1: _tod,
                2: lambda v: _coord(v, p[3]),
                4: lambda v: _coord(v, p[5]),
                6: _i,
                7: _i,
                8: _f,
                9: _f,
                11: _f,
                13: _f,
                14: _i,
            },
        )
        raise


def _parse_rmc(t: str, s: bytes) -> Rmc:
    p = s[1:-3].split(b",")
    n = len(p)
    if n < 10:
        raise NmeaLengthError("RMC", 10, n)
    try:
        knots = float(p[7]) if p[7] else None
        var = float(p[10]) if n > 11 and p[10] else None
        if var is not None and p[11] == b"W":
            var = -var
        return _new(
            Rmc,
            (
                t,
                _tod(p[1]),
                p[2].decode("ascii"),
                _coord(p[3], p[4]),
                _coord(p[5], p[6]),
                knots * KNOTS_TO_MPS if knots is not None else None,
                float(p[8]) if p[8] else None,
                _ddmmyy(p[9]),
                var,
                p[12].decode("ascii") if n > 12 and p[12] else None,
                p[13].decode("ascii") if n > 13 and p[13] else None,
            ),
        )
    except (ValueError, OverflowError):
        _diagnose(
            "RMC",
            p,
            {
                1: _tod,
                3: lambda v: _coord(v, p[4]),
                5: lambda v: _coord(v, p[6]),
                7: _f,
                8: _f,
                9: _ddmmyy,
                10: _f,
            },
        )
        raise


def _parse_gsa(t: str, s: bytes) -> Gsa:
    p = s[1:-3].split(b",")
    if len(p) < 18:
        raise NmeaLengthError("GSA", 18, len(p))
    try:
        return _new(
            Gsa,
            (
                t,
                p[1].decode("ascii"),
                int(p[2]) if p[2] else None,
                tuple(map(int, filter(None, p[3:15]))),
                float(p[15]) if p[15] else None,
                float(p[16]) if p[16] else None,
                float(p[17]) if p[17] else None,
                int(p[18]) if len(p) > 18 and p[18] else None,
            ),
        )
    except (ValueError, OverflowError):
        _diagnose("GSA", p, {i: _i for i in range(2, 15)} | {15: _f, 16: _f, 17: _f, 18: _i})
        raise


def _parse_gsv(t: str, s: bytes) -> Gsv:
    # s is "$ttGSV,..." or, with no fields at all, "$ttGSV*hh" (an empty body)
    body = s[7:-3]
    if len(s) <= NMEA_MAX_CHARS and not body.translate(None, _DIGITS_AND_COMMA):
        # every field is empty or a few ASCII digits, which int() takes when read; the three
        # header fields must not be empty
        head = body.split(b",", 3)
        if len(head) == 4 and head[0] and head[1] and head[2]:
            return _new(Gsv, (t, body))
    return _parse_gsv_checked(t, s[1:-3].split(b","))


def _parse_gsv_checked(t: str, p: list[bytes]) -> Gsv:
    """Any GSV the fast path does not take (signs, spaces, empty header fields, junk)."""
    if len(p) < 4:
        raise NmeaLengthError("GSV", 4, len(p))
    try:
        gsv = Gsv(t, b",".join(p[1:]))
        # read every property once: a field int() refuses raises now, never when read later
        _ = gsv.sentences, gsv.number, gsv.in_view, gsv.satellites, gsv.signal_id
        return gsv
    except (ValueError, OverflowError):
        _diagnose("GSV", p, {1: int, 2: int, 3: int} | {i: _i for i in range(4, len(p))})
        raise


def _parse_gns(t: str, s: bytes) -> Gns:
    p = s[1:-3].split(b",")
    if len(p) < 13:
        raise NmeaLengthError("GNS", 13, len(p))
    try:
        return _new(
            Gns,
            (
                t,
                _tod(p[1]),
                _coord(p[2], p[3]),
                _coord(p[4], p[5]),
                p[6].decode("ascii"),
                int(p[7]) if p[7] else None,
                float(p[8]) if p[8] else None,
                float(p[9]) if p[9] else None,
                float(p[10]) if p[10] else None,
                float(p[11]) if p[11] else None,
                int(p[12]) if p[12] else None,
                p[13].decode("ascii") if len(p) > 13 and p[13] else None,
            ),
        )
    except (ValueError, OverflowError):
        _diagnose(
            "GNS",
            p,
            {
                1: _tod,
                2: lambda v: _coord(v, p[3]),
                4: lambda v: _coord(v, p[5]),
                7: _i,
                8: _f,
                9: _f,
                10: _f,
                11: _f,
                12: _i,
            },
        )
        raise


def _parse_zda(t: str, s: bytes) -> Zda:
    p = s[1:-3].split(b",")
    n = len(p)
    if n < 5:
        raise NmeaLengthError("ZDA", 5, n)
    try:
        date = dt.date(int(p[4]), int(p[3]), int(p[2])) if p[2] and p[3] and p[4] else None
        return _new(
            Zda,
            (
                t,
                _tod(p[1]),
                date,
                int(p[5]) if n > 5 and p[5] else None,
                int(p[6]) if n > 6 and p[6] else None,
            ),
        )
    except (ValueError, OverflowError):
        _diagnose(
            "ZDA",
            p,
            {
                1: _tod,
                2: _i,
                3: _i,
                4: _i,
                5: _i,
                6: _i,
                0: lambda v: dt.date(int(p[4]), int(p[3]), int(p[2])),
            },
        )
        raise


def _parse_vtg(t: str, s: bytes) -> Vtg:
    p = s[1:-3].split(b",")
    if len(p) < 8:
        raise NmeaLengthError("VTG", 8, len(p))
    try:
        if p[5]:
            speed: float | None = float(p[5]) * KNOTS_TO_MPS
        else:
            speed = float(p[7]) * KMH_TO_MPS if p[7] else None
        return _new(
            Vtg,
            (
                t,
                float(p[1]) if p[1] else None,
                float(p[3]) if p[3] else None,
                speed,
                p[9].decode("ascii") if len(p) > 9 and p[9] else None,
            ),
        )
    except (ValueError, OverflowError):
        _diagnose("VTG", p, {1: _f, 3: _f, 5: _f, 7: _f})
        raise


def _parse_gll(t: str, s: bytes) -> Gll:
    p = s[1:-3].split(b",")
    if len(p) < 7:
        raise NmeaLengthError("GLL", 7, len(p))
    try:
        return _new(
            Gll,
            (
                t,
                _coord(p[1], p[2]),
                _coord(p[3], p[4]),
                _tod(p[5]),
                p[6].decode("ascii"),
                p[7].decode("ascii") if len(p) > 7 and p[7] else None,
            ),
        )
    except (ValueError, OverflowError):
        _diagnose("GLL", p, {1: lambda v: _coord(v, p[2]), 3: lambda v: _coord(v, p[4]), 5: _tod})
        raise


PARSERS: Final[dict[bytes, Callable[[str, bytes], Sentence]]] = {
    b"GGA": _parse_gga,
    b"RMC": _parse_rmc,
    b"GSA": _parse_gsa,
    b"GSV": _parse_gsv,
    b"GNS": _parse_gns,
    b"ZDA": _parse_zda,
    b"VTG": _parse_vtg,
    b"GLL": _parse_gll,
}


#: "GPGSV," -> (the GSV parser, "GP"): the known talkers' sentences, found with one lookup.
_DISPATCH: Final[dict[bytes, tuple[Callable[[str, bytes], Sentence], str]]] = {
    talker.encode("ascii") + kind + b",": (parser, talker)
    for talker in TALKER_CONSTELLATION
    for kind, parser in PARSERS.items()
}


def parse(sentence: bytes) -> Sentence:
    """Decode a checksum-verified sentence (`$...*hh`); raises a `GnssDecodeError` subclass."""
    try:
        parser, talker = _DISPATCH[sentence[1:7]]
    except KeyError:
        return _parse_any_talker(sentence)
    return parser(talker, sentence)


def _parse_any_talker(sentence: bytes) -> Sentence:
    """Other talkers (any two letters but P, proprietary), and sentences with no fields."""
    address = sentence[1:-3].split(b",", 1)[0]
    parser = PARSERS.get(address[2:]) if len(address) == 5 and address[0] != 0x50 else None
    if parser is None or not address.isascii():
        raise UnsupportedSentence(address.decode("ascii", "replace"))
    return parser(address[:2].decode("ascii"), sentence)


def build(address: str, fields: list[str]) -> bytes:
    """`$address,f1,f2,...*hh\\r\\n` with its checksum, e.g. for a PUBX poll or a test stream."""
    body = ",".join([address, *fields]).encode("ascii")
    return b"$%s*%02X\r\n" % (body, nmea_checksum(body))
