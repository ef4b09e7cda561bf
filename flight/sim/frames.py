"""Reference frames: TEME (what SGP4 produces) to Earth-fixed, WGS-84 geodesy, topocentric look
angles.

TEME to ECEF. SGP4's True Equator, Mean Equinox frame differs from the pseudo-Earth-fixed frame
(PEF) by one rotation about the z axis through the Greenwich mean sidereal time of the IAU-82 model,
evaluated at UT1 (Vallado et al., "Revisiting Spacetrack Report #3", AIAA 2006-6753, section
"TEME"): r_PEF = Rz(GMST) r_TEME, and for velocity the Earth's rotation is taken out,
v_PEF = Rz(GMST) v_TEME - omega x r_PEF. PEF to ITRF (true ECEF) is polar motion, a rotation by
x_p, y_p of at most ~0.5 arcsec: at most ~15 m at the Earth's surface and ~17 m at LEO. We neglect
it (and so treat PEF as ECEF); the test against Vallado's worked example shows the size.

Vectors are plain 3-tuples of floats (metres, or kilometres where a name says so): the simulator
needs no numpy at run time.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

from flight.sim.timebase import J2000_JD

Vec3 = tuple[float, float, float]

WGS84_A_M: Final = 6378137.0
WGS84_F: Final = 1.0 / 298.257223563
WGS84_B_M: Final = WGS84_A_M * (1.0 - WGS84_F)
WGS84_E2: Final = WGS84_F * (2.0 - WGS84_F)
WGS84_EP2: Final = WGS84_E2 / (1.0 - WGS84_E2)
EARTH_ROTATION_RAD_S: Final = 7.292115146706979e-5  # as Vallado's teme2ecef uses it
SPEED_OF_LIGHT_M_S: Final = 299_792_458.0
TWO_PI: Final = 2.0 * math.pi


def dot(a: Vec3, b: Vec3) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def cross(a: Vec3, b: Vec3) -> Vec3:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def norm(a: Vec3) -> float:
    return math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])


def sub(a: Vec3, b: Vec3) -> Vec3:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def scale(a: Vec3, k: float) -> Vec3:
    return (a[0] * k, a[1] * k, a[2] * k)


def unit(a: Vec3) -> Vec3:
    n = norm(a)
    return (a[0] / n, a[1] / n, a[2] / n)


def gmst_rad(jd_ut1: float, fraction: float = 0.0) -> float:
    """Greenwich mean sidereal time, IAU-82 (the model TEME is defined with), in [0, 2 pi)."""
    t = ((jd_ut1 - J2000_JD) + fraction) / 36525.0
    seconds = (-6.2e-6 * t * t * t + 0.093104 * t * t
               + (876600.0 * 3600.0 + 8640184.812866) * t + 67310.54841)
    return math.radians(seconds / 240.0) % TWO_PI


def rotate_z(v: Vec3, angle: float) -> Vec3:
    """The frame rotation R3(angle): coordinates of `v` in a frame turned by `angle` about z."""
    c, s = math.cos(angle), math.sin(angle)
    return (c * v[0] + s * v[1], -s * v[0] + c * v[1], v[2])


def teme_to_ecef(r: Vec3, v: Vec3, gmst: float) -> tuple[Vec3, Vec3]:
    """Position and velocity from TEME to Earth-fixed (PEF, polar motion neglected); any length
    unit, velocity in that unit per second."""
    rp = rotate_z(r, gmst)
    vp = rotate_z(v, gmst)
    w = EARTH_ROTATION_RAD_S
    return rp, (vp[0] + w * rp[1], vp[1] - w * rp[0], vp[2])


def ecef_to_teme(r: Vec3, gmst: float) -> Vec3:
    """Earth-fixed position to TEME (inverse rotation of `teme_to_ecef`)."""
    return rotate_z(r, -gmst)


class Geodetic(NamedTuple):
    lat_deg: float
    lon_deg: float
    alt_m: float  # above the WGS-84 ellipsoid


def geodetic_to_ecef(lat_deg: float, lon_deg: float, alt_m: float) -> Vec3:
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    sl, cl = math.sin(lat), math.cos(lat)
    n = WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * sl * sl)
    return ((n + alt_m) * cl * math.cos(lon), (n + alt_m) * cl * math.sin(lon),
            (n * (1.0 - WGS84_E2) + alt_m) * sl)


def ecef_to_geodetic(r: Vec3) -> Geodetic:
    """Heikkinen's closed form (exact to well under a millimetre for any height above ~ -6000 km).
    """
    x, y, z = r
    a, b, e2 = WGS84_A_M, WGS84_B_M, WGS84_E2
    p = math.hypot(x, y)
    lon = math.degrees(math.atan2(y, x))
    if p < 1.0:  # on the polar axis: the closed form divides by p
        return Geodetic(math.copysign(90.0, z), lon, abs(z) - b)
    f = 54.0 * b * b * z * z
    g = p * p + (1.0 - e2) * z * z - e2 * (a * a - b * b)
    c = e2 * e2 * f * p * p / (g * g * g)
    s = math.cbrt(1.0 + c + math.sqrt(c * c + 2.0 * c))
    k = s + 1.0 + 1.0 / s
    pp = f / (3.0 * k * k * g * g)
    q = math.sqrt(1.0 + 2.0 * e2 * e2 * pp)
    r0 = (-(pp * e2 * p) / (1.0 + q)
          + math.sqrt(max(0.0, 0.5 * a * a * (1.0 + 1.0 / q)
                          - pp * (1.0 - e2) * z * z / (q * (1.0 + q)) - 0.5 * pp * p * p)))
    dp = p - e2 * r0
    u = math.hypot(dp, z)
    v = math.sqrt(dp * dp + (1.0 - e2) * z * z)
    z0 = b * b * z / (a * v)
    return Geodetic(math.degrees(math.atan2(z + WGS84_EP2 * z0, p)), lon,
                    u * (1.0 - b * b / (a * v)))


def enu_basis(lat_deg: float, lon_deg: float) -> tuple[Vec3, Vec3, Vec3]:
    """East, north and up unit vectors (ECEF) at a geodetic latitude and longitude."""
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    sl, cl = math.sin(lat), math.cos(lat)
    so, co = math.sin(lon), math.cos(lon)
    return (-so, co, 0.0), (-sl * co, -sl * so, cl), (cl * co, cl * so, sl)


def ecef_to_ned_velocity(lat_deg: float, lon_deg: float, v: Vec3) -> Vec3:
    east, north, up = enu_basis(lat_deg, lon_deg)
    return dot(v, north), dot(v, east), -dot(v, up)


class Look(NamedTuple):
    """Where a target appears from a site: azimuth from true north clockwise, elevation above the
    ellipsoid's tangent plane (no refraction), slant range, and its rate (positive receding)."""

    azimuth_deg: float
    elevation_deg: float
    range_m: float
    range_rate_m_s: float


def look_angles(site: Vec3, basis: tuple[Vec3, Vec3, Vec3], target: Vec3,
                target_velocity: Vec3 = (0.0, 0.0, 0.0)) -> Look:
    """Topocentric look from an Earth-fixed `site` (with its `enu_basis`) to an ECEF target."""
    d = sub(target, site)
    rng = norm(d)
    east, north, up = basis
    e, n, u = dot(d, east), dot(d, north), dot(d, up)
    az = math.degrees(math.atan2(e, n)) % 360.0
    el = math.degrees(math.asin(max(-1.0, min(1.0, u / rng))))
    return Look(az, el, rng, dot(d, target_velocity) / rng)
