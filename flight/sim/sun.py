"""The Sun: a low-precision ephemeris and the Earth's shadow on the satellite.

Ephemeris. The Astronomical Almanac's low-precision formula (section C, "Low precision formulas
for the Sun"), good to 0.01 deg in direction between 1950 and 2050:

    n = JD - 2451545.0
    L = 280.460 + 0.9856474 n          mean longitude, corrected for aberration (deg)
    g = 357.528 + 0.9856003 n          mean anomaly (deg)
    lambda = L + 1.915 sin g + 0.020 sin 2g,  beta = 0
    epsilon = 23.439 - 0.0000004 n     obliquity (deg)
    R = 1.00014 - 0.01671 cos g - 0.00014 cos 2g   (au)

It gives coordinates referred to the mean equator and equinox of date; TEME (the satellite's
frame) differs from that by the equation of the equinoxes, at most ~1.2 arcsec, far below the
formula's own error, so the vector is used in TEME directly. UTC stands in for TT (69 s of solar
motion is 0.0008 deg).

Shadow. A conical model of a spherical Earth (Montenbruck and Gill, "Satellite Orbits", 3.4.2):
from the satellite, the Sun's disc (apparent radius a) and the Earth's (b) lie c apart; the visible
fraction of the solar disc is 1 when c >= a + b, 0 inside the umbra (c <= b - a), and 1 minus the
overlap of two circles in between (the penumbra). The Earth's flattening (21 km) and its
atmosphere's refraction are neglected: they move eclipse entry by a few seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from flight.sim.frames import Vec3, cross, dot, norm, sub
from flight.sim.timebase import J2000_JD

AU_KM: Final = 149_597_870.7
SUN_RADIUS_KM: Final = 695_700.0  # IAU 2015 nominal
EARTH_RADIUS_KM: Final = 6378.137
SOLAR_CONSTANT_W_M2: Final = 1361.0  # at 1 au (Kopp and Lean 2011)


@dataclass(frozen=True, slots=True)
class SunPosition:
    """The Sun's geocentric position, mean equator and equinox of date (used as TEME)."""

    r_km: Vec3
    distance_au: float
    right_ascension_rad: float
    declination_rad: float
    ecliptic_longitude_rad: float

    @property
    def declination_deg(self) -> float:
        return math.degrees(self.declination_rad)

    @property
    def right_ascension_deg(self) -> float:
        return math.degrees(self.right_ascension_rad) % 360.0


def sun_position(jd: float, fraction: float = 0.0) -> SunPosition:
    """The Astronomical Almanac's low-precision Sun at the Julian date `jd + fraction`."""
    n = (jd - J2000_JD) + fraction
    L = math.radians((280.460 + 0.9856474 * n) % 360.0)  # noqa: N806 (the almanac's names)
    g = math.radians((357.528 + 0.9856003 * n) % 360.0)
    lam = L + math.radians(1.915 * math.sin(g) + 0.020 * math.sin(2.0 * g))
    eps = math.radians(23.439 - 0.0000004 * n)
    dist = 1.00014 - 0.01671 * math.cos(g) - 0.00014 * math.cos(2.0 * g)
    sl, cl = math.sin(lam), math.cos(lam)
    ce, se = math.cos(eps), math.sin(eps)
    r = dist * AU_KM
    return SunPosition((r * cl, r * ce * sl, r * se * sl), dist,
                       math.atan2(ce * sl, cl) % (2.0 * math.pi), math.asin(se * sl),
                       lam % (2.0 * math.pi))


class Lighting(IntEnum):
    SUNLIT = 0
    PENUMBRA = 1
    UMBRA = 2


@dataclass(frozen=True, slots=True)
class Shadow:
    fraction: float  # visible fraction of the solar disc, 0 (umbra) .. 1 (full sun)
    lighting: Lighting


def shadow(r_sat_km: Vec3, r_sun_km: Vec3) -> Shadow:
    """How much of the Sun a satellite at `r_sat_km` sees past a spherical Earth."""
    to_sun = sub(r_sun_km, r_sat_km)
    d_sun = norm(to_sun)
    d_sat = norm(r_sat_km)
    a = math.asin(SUN_RADIUS_KM / d_sun)
    b = math.asin(min(1.0, EARTH_RADIUS_KM / d_sat))
    cos_c = -dot(r_sat_km, to_sun) / (d_sat * d_sun)
    c = math.acos(max(-1.0, min(1.0, cos_c)))
    if c >= a + b:
        return Shadow(1.0, Lighting.SUNLIT)
    if c <= b - a:
        return Shadow(0.0, Lighting.UMBRA)
    # partial overlap of the discs (a < b always holds for the Earth seen from orbit)
    x = (c * c + a * a - b * b) / (2.0 * c)
    y = math.sqrt(max(0.0, a * a - x * x))
    area = (a * a * math.acos(max(-1.0, min(1.0, x / a)))
            + b * b * math.acos(max(-1.0, min(1.0, (c - x) / b))) - c * y)
    return Shadow(min(1.0, max(0.0, 1.0 - area / (math.pi * a * a))), Lighting.PENUMBRA)


def beta_angle_rad(r_km: Vec3, v_km_s: Vec3, r_sun_km: Vec3) -> float:
    """Angle between the orbit plane and the Sun direction (positive on the orbit normal's side).
    """
    h = cross(r_km, v_km_s)
    return math.asin(max(-1.0, min(1.0, dot(h, r_sun_km) / (norm(h) * norm(r_sun_km)))))


def cylindrical_eclipse_fraction(altitude_km: float, beta_rad: float) -> float:
    """Fraction of a circular orbit spent in a cylindrical shadow (the textbook closed form)."""
    r = EARTH_RADIUS_KM + altitude_km
    limit = math.sqrt(altitude_km * altitude_km + 2.0 * EARTH_RADIUS_KM * altitude_km)
    cos_b = math.cos(beta_rad)
    if r * cos_b <= limit:
        return 0.0
    return math.acos(limit / (r * cos_b)) / math.pi
