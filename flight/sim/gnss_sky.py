"""The GNSS satellites a receiver in orbit sees: nominal constellations, look angles, DOPs.

The constellations are nominal Walker patterns on circular orbits, not almanacs: GPS as 24
satellites in 6 planes at 55 deg and 26 560 km (the baseline 24-slot constellation), Galileo as
24/3/1 at 56 deg and 29 600 km. That gives the right number of satellites in view, a plausible
sky that moves at the right rates, and dilution-of-precision values computed from real geometry,
which is all the simulated receiver's messages need; the PRNs are slot numbers, not the live
constellation's.

Visibility: a satellite is tracked when it is above the receiver's local horizontal plane (a
zenith-facing patch antenna) and the line of sight clears the Earth and 100 km of atmosphere; it is
used in the solution above `solution_mask_deg`.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from flight.sim import frames
from flight.sim.frames import Vec3

MU_EARTH_KM3_S2: Final = 398600.4418
GRAZING_RADIUS_KM: Final = 6378.137 + 100.0


class GnssSystem(IntEnum):
    """NMEA 4.10 system IDs."""

    GPS = 1
    GALILEO = 3

    @property
    def talker(self) -> str:
        return "GP" if self is GnssSystem.GPS else "GA"

    @property
    def ubx_gnss_id(self) -> int:
        return 0 if self is GnssSystem.GPS else 2

    @property
    def nmea_signal_id(self) -> int:
        """NMEA 4.10 signal ID of the civil signal tracked (GPS L1 C/A = 1, Galileo E1 = 7)."""
        return 1 if self is GnssSystem.GPS else 7


@dataclass(frozen=True)
class Walker:
    """A Walker i:t/p/f constellation on circular orbits."""

    system: GnssSystem
    satellites: int
    planes: int
    phasing: int
    inclination_deg: float
    semi_major_axis_km: float

    def positions(self, seconds: float) -> list[tuple[int, Vec3]]:
        """(slot number from 1, inertial position in km) at `seconds` since J2000."""
        per_plane = self.satellites // self.planes
        n = math.sqrt(MU_EARTH_KM3_S2 / self.semi_major_axis_km**3)
        ci, si = math.cos(math.radians(self.inclination_deg)), math.sin(
            math.radians(self.inclination_deg))
        out = []
        a = self.semi_major_axis_km
        for p in range(self.planes):
            raan = 2.0 * math.pi * p / self.planes
            co, so = math.cos(raan), math.sin(raan)
            for j in range(per_plane):
                u = (2.0 * math.pi * (j / per_plane + self.phasing * p / self.satellites)
                     + n * seconds)
                cu, su = math.cos(u), math.sin(u)
                out.append((p * per_plane + j + 1,
                            (a * (co * cu - so * su * ci), a * (so * cu + co * su * ci),
                             a * su * si)))
        return out


GPS: Final = Walker(GnssSystem.GPS, 24, 6, 2, 55.0, 26560.0)
GALILEO: Final = Walker(GnssSystem.GALILEO, 24, 3, 1, 56.0, 29600.0)
CONSTELLATIONS: Final = {GnssSystem.GPS: GPS, GnssSystem.GALILEO: GALILEO}


@dataclass(frozen=True, slots=True)
class SkySatellite:
    system: GnssSystem
    prn: int
    elevation_deg: float
    azimuth_deg: float
    used: bool
    los_enu: Vec3  # unit line of sight, east-north-up


@dataclass(frozen=True, slots=True)
class Dops:
    gdop: float
    pdop: float
    hdop: float
    vdop: float
    tdop: float


def sky(r_teme_km: Vec3, lat_deg: float, lon_deg: float, gmst: float, seconds_j2000: float,
        systems: tuple[GnssSystem, ...], solution_mask_deg: float = 5.0) -> list[SkySatellite]:
    """The satellites a receiver at `r_teme_km` tracks, sorted by system and PRN. Azimuth and
    elevation are in the receiver's local geodetic frame (for GSV and NAV-SAT)."""
    east, north, up = frames.enu_basis(lat_deg, lon_deg + math.degrees(gmst))  # in TEME axes
    e0, e1, e2 = east
    n0, n1, n2 = north
    u0, u1, u2 = up
    r0, r1, r2 = r_teme_km
    out = []
    for system in systems:
        for prn, r_sv in CONSTELLATIONS[system].positions(seconds_j2000):
            # frames.sub/norm/dot and _clears_earth, written out: this runs for every
            # satellite of every epoch
            d0, d1, d2 = r_sv[0] - r0, r_sv[1] - r1, r_sv[2] - r2
            dd = d0 * d0 + d1 * d1 + d2 * d2
            rng = math.sqrt(dd)
            u = (d0 * u0 + d1 * u1 + d2 * u2) / rng
            if u < 0.0:
                continue
            t = -(r0 * d0 + r1 * d1 + r2 * d2) / dd
            if not (t <= 0.0 or t >= 1.0):  # the closest approach lies between the two
                c0, c1, c2 = r0 + t * d0, r1 + t * d1, r2 + t * d2
                if not math.sqrt(c0 * c0 + c1 * c1 + c2 * c2) > GRAZING_RADIUS_KM:
                    continue
            e = (d0 * e0 + d1 * e1 + d2 * e2) / rng
            n = (d0 * n0 + d1 * n1 + d2 * n2) / rng
            el = math.degrees(math.asin(min(1.0, u)))
            out.append(SkySatellite(system, prn, el, math.degrees(math.atan2(e, n)) % 360.0,
                                    el >= solution_mask_deg, (e, n, u)))
    return out


def _invert4(m: list[list[float]]) -> list[list[float]] | None:
    """Gauss-Jordan inverse of a 4x4 matrix with partial pivoting; None if singular."""
    a = [row[:] + [1.0 if i == j else 0.0 for j in range(4)] for i, row in enumerate(m)]
    for col in range(4):
        pivot = max(range(col, 4), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        inv = 1.0 / a[col][col]
        a[col] = [x * inv for x in a[col]]
        for r in range(4):
            if r != col and a[r][col] != 0.0:
                f = a[r][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col], strict=True)]
    return [row[4:] for row in a]


def dops(satellites: list[SkySatellite]) -> Dops | None:
    """Dilution of precision from the used satellites' geometry (one receiver clock for all
    systems: the inter-system bias is taken as known); None with fewer than four or a
    degenerate geometry."""
    rows = [(-s.los_enu[0], -s.los_enu[1], -s.los_enu[2], 1.0) for s in satellites if s.used]
    if len(rows) < 4:
        return None
    cols = list(zip(*rows, strict=True))
    # symmetric: the upper triangle, mirrored (each element summed over the rows in order)
    normal = [[0.0] * 4 for _ in range(4)]
    for i in range(4):
        for j in range(i, 4):
            normal[i][j] = normal[j][i] = sum(map(operator.mul, cols[i], cols[j]))
    q = _invert4(normal)
    if q is None:
        return None
    e, n, u, c = q[0][0], q[1][1], q[2][2], q[3][3]
    return Dops(math.sqrt(e + n + u + c), math.sqrt(e + n + u), math.sqrt(e + n), math.sqrt(u),
                math.sqrt(c))
