"""The satellite's orbit: a TLE propagated with SGP4 (the `sgp4` package, Vallado's code), in TEME
and converted to Earth-fixed and geodetic coordinates.

`Orbit(line1, line2)` validates the element set first (line numbers, columns, catalogue numbers,
the modulo-10 checksums) so a mistyped TLE is an error that names the line and field, not an orbit
somewhere else. `Orbit.sun_synchronous(...)` builds one from design elements (altitude, local
time of the ascending node) for scenarios that want a particular lighting; its TLE lines are
exported so a scenario can record them.

The default orbit is a real public element set (CelesTrak GP data) of the CubeSat STORK-1 (NORAD
51087, international designator 2022-002DH, launched on Transporter-3), epoch 2022-04-19
10:54:29.464 UTC: 527-532 km geocentric altitude (530-550 km above the ellipsoid), inclination
97.50 deg, sun-synchronous with its ascending node at 22:00 local time (descending 10:00), beta
angle 27 deg at the epoch, so about a third of each 95.2-minute orbit is in eclipse. SGP4 from one
TLE is good to about a kilometre per day from its epoch; scenarios a few days from the epoch stay
realistic.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Final

from sgp4.api import SGP4_ERRORS, WGS72, Satrec
from sgp4.exporter import export_tle

from flight.sim import frames
from flight.sim.errors import PropagationError, SimError, TleError
from flight.sim.frames import Geodetic, Vec3
from flight.sim.sun import sun_position
from flight.sim.timebase import SECONDS_PER_DAY, as_utc, julian_date

DEFAULT_TLE_NAME: Final = "STORK-1"
DEFAULT_TLE: Final = (
    "1 51087U 22002DH  22109.45450769  .00008886  00000+0  50878-3 0  9991",
    "2 51087  97.4971 177.4889 0011957 274.8199 207.1507 15.12799091 14480",
)

MU_WGS72_KM3_S2: Final = 398600.8
RE_WGS72_KM: Final = 6378.135
J2_WGS72: Final = 0.001082616
SIDEREAL_YEAR_S: Final = 365.2421897 * SECONDS_PER_DAY  # tropical year: the node must follow it
_SGP4_EPOCH_JD: Final = 2433281.5  # 1949-12-31 00:00 UT, sgp4init's epoch origin


def tle_checksum(line: str) -> int:
    """Modulo-10 sum of the digits of columns 1-68, each minus sign counting 1."""
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


def _check_line(number: int, line: str) -> None:
    if len(line) != 69:
        raise TleError(number, "length", f"{len(line)} characters, expected 69")
    if line[0] != str(number) or line[1] != " ":
        raise TleError(number, "line number", f"starts {line[:2]!r}, expected '{number} '")
    if not line[68].isdigit():
        raise TleError(number, "checksum", f"column 69 is {line[68]!r}, not a digit")
    expected = tle_checksum(line)
    if int(line[68]) != expected:
        raise TleError(number, "checksum",
                       f"column 69 says {line[68]}, the line sums to {expected}")


def validate_tle(line1: str, line2: str) -> None:
    """Raise `TleError` unless both lines are well-formed and belong together."""
    _check_line(1, line1)
    _check_line(2, line2)
    if line1[2:7] != line2[2:7]:
        raise TleError(2, "catalogue number",
                       f"{line2[2:7]!r} differs from line 1's {line1[2:7]!r}")
    for column, name, text in ((8, "inclination", line2[8:16]), (17, "RAAN", line2[17:25]),
                               (26, "eccentricity", line2[26:33]),
                               (52, "mean motion", line2[52:63])):
        try:
            float(text)
        except ValueError:
            raise TleError(2, name, f"columns {column + 1}-{column + len(text)} read "
                                    f"{text!r}") from None
    if float(line2[52:63]) <= 0:
        raise TleError(2, "mean motion", f"{line2[52:63].strip()} rev/day is not positive")


@dataclass(frozen=True, slots=True)
class OrbitState:
    """The satellite at one instant: TEME (km, km/s, as SGP4 gives them), Earth-fixed (m, m/s)
    and geodetic (WGS-84)."""

    r_teme_km: Vec3
    v_teme_km_s: Vec3
    r_ecef_m: Vec3
    v_ecef_m_s: Vec3
    geodetic: Geodetic
    gmst_rad: float

    @property
    def speed_m_s(self) -> float:
        """Inertial speed."""
        return frames.norm(self.v_teme_km_s) * 1000.0


class Orbit:
    """A satellite's SGP4 orbit."""

    def __init__(self, line1: str, line2: str, name: str = "") -> None:
        line1, line2 = line1.rstrip("\r\n "), line2.rstrip("\r\n ")
        validate_tle(line1, line2)
        self.line1 = line1
        self.line2 = line2
        self.name = name or f"NORAD {line1[2:7].strip()}"
        self._sat = Satrec.twoline2rv(line1, line2, WGS72)
        if self._sat.error:
            raise TleError(2, "elements", SGP4_ERRORS.get(self._sat.error, str(self._sat.error)))

    @classmethod
    def default(cls) -> Orbit:
        return cls(*DEFAULT_TLE, name=DEFAULT_TLE_NAME)

    @classmethod
    def from_satrec(cls, sat: Satrec, name: str) -> Orbit:
        line1, line2 = export_tle(sat)
        return cls(line1, line2, name)

    @classmethod
    def sun_synchronous(cls, epoch: dt.datetime, altitude_km: float, ltan_hours: float, *,
                        mean_anomaly_deg: float = 0.0, bstar: float = 0.0,
                        satnum: int = 99999, name: str = "") -> Orbit:
        """A circular sun-synchronous orbit: the inclination that makes J2 turn the node 360 deg
        per tropical year at this altitude, and the node placed at local time `ltan_hours`
        (apparent solar time, from the Sun's right ascension at `epoch`) on the ascending pass."""
        if not 150.0 <= altitude_km <= 6000.0:
            raise SimError(f"altitude {altitude_km} km is outside the 150-6000 km SSO range")
        if not 0.0 <= ltan_hours < 24.0:
            raise SimError(f"LTAN {ltan_hours} h is not a time of day")
        a = RE_WGS72_KM + altitude_km
        n = math.sqrt(MU_WGS72_KM3_S2 / a**3)  # rad/s
        node_rate = 2.0 * math.pi / SIDEREAL_YEAR_S
        cos_i = -node_rate / (1.5 * n * J2_WGS72 * (RE_WGS72_KM / a) ** 2)
        if cos_i < -1.0:
            raise SimError(f"no sun-synchronous inclination exists at {altitude_km} km")
        jd, fr = julian_date(epoch)
        sun = sun_position(jd, fr)
        raan = (sun.right_ascension_rad + math.radians((ltan_hours - 12.0) * 15.0)) % (2 * math.pi)
        sat = Satrec()
        sat.sgp4init(WGS72, "i", satnum, (jd - _SGP4_EPOCH_JD) + fr, bstar, 0.0, 0.0, 0.0, 0.0,
                     math.acos(cos_i), math.radians(mean_anomaly_deg), n * 60.0, raan)
        return cls.from_satrec(sat, name or f"SSO {altitude_km:g} km LTAN {ltan_hours:g} h")

    @property
    def epoch(self) -> dt.datetime:
        """The TLE's epoch (UTC), to the microsecond."""
        days = (self._sat.jdsatepoch - 2440587.5) + self._sat.jdsatepochF
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=days)

    @property
    def period_s(self) -> float:
        """Anomalistic period from SGP4's mean motion."""
        return 2.0 * math.pi / self._sat.no_kozai * 60.0

    @property
    def inclination_deg(self) -> float:
        return math.degrees(self._sat.inclo)

    def teme(self, jd: float, fraction: float) -> tuple[Vec3, Vec3]:
        """TEME position (km) and velocity (km/s) at the UTC Julian date `jd + fraction`."""
        error, r, v = self._sat.sgp4(jd, fraction)
        if error:
            minutes = ((jd - self._sat.jdsatepoch) + (fraction - self._sat.jdsatepochF)) * 1440.0
            raise PropagationError(error, SGP4_ERRORS.get(error, "unknown"), minutes)
        return (r[0], r[1], r[2]), (v[0], v[1], v[2])

    def ecef_jd(self, jd: float, fraction: float, dut1_s: float = 0.0) -> tuple[Vec3, Vec3]:
        """Earth-fixed position (m) and velocity (m/s) only: the fast path for pass searches."""
        r, v = self.teme(jd, fraction)
        re, ve = frames.teme_to_ecef(r, v, frames.gmst_rad(jd, fraction + dut1_s / SECONDS_PER_DAY))
        return ((re[0] * 1000.0, re[1] * 1000.0, re[2] * 1000.0),
                (ve[0] * 1000.0, ve[1] * 1000.0, ve[2] * 1000.0))

    def state_jd(self, jd: float, fraction: float, dut1_s: float = 0.0) -> OrbitState:
        r, v = self.teme(jd, fraction)
        gmst = frames.gmst_rad(jd, fraction + dut1_s / SECONDS_PER_DAY)
        re, ve = frames.teme_to_ecef(r, v, gmst)
        r_m = (re[0] * 1000.0, re[1] * 1000.0, re[2] * 1000.0)
        return OrbitState(r, v, r_m, (ve[0] * 1000.0, ve[1] * 1000.0, ve[2] * 1000.0),
                          frames.ecef_to_geodetic(r_m), gmst)

    def state(self, utc: dt.datetime, dut1_s: float = 0.0) -> OrbitState:
        return self.state_jd(*julian_date(as_utc(utc)), dut1_s)

    def __repr__(self) -> str:
        return f"Orbit({self.name!r}, epoch {self.epoch.isoformat()})"
