"""WGS 84 conversions the fix assembler needs: ECEF to geodetic, ECEF velocity to NED, GPS time."""

from __future__ import annotations

import datetime as dt
import math
from typing import Final

WGS84_A: Final = 6378137.0
WGS84_F: Final = 1.0 / 298.257223563
WGS84_B: Final = WGS84_A * (1.0 - WGS84_F)
WGS84_E2: Final = WGS84_F * (2.0 - WGS84_F)
WGS84_EP2: Final = WGS84_E2 / (1.0 - WGS84_E2)

GPS_EPOCH: Final = dt.datetime(1980, 1, 6, tzinfo=dt.UTC)
SECONDS_PER_WEEK: Final = 604800


def ecef_to_geodetic(x: float, y: float, z: float) -> tuple[float, float, float]:
    """(lat_deg, lon_deg, height above ellipsoid m); Bowring's start, refined to sub-millimetre."""
    lon = math.atan2(y, x)
    p = math.hypot(x, y)
    if p < 1e-9:
        lat = math.copysign(math.pi / 2, z)
        return math.degrees(lat), math.degrees(lon), abs(z) - WGS84_B
    theta = math.atan2(z * WGS84_A, p * WGS84_B)
    lat = math.atan2(
        z + WGS84_EP2 * WGS84_B * math.sin(theta) ** 3,
        p - WGS84_E2 * WGS84_A * math.cos(theta) ** 3,
    )
    for _ in range(3):
        sin_lat = math.sin(lat)
        n = WGS84_A / math.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
        height = p / math.cos(lat) - n
        lat = math.atan2(z, p * (1.0 - WGS84_E2 * n / (n + height)))
    sin_lat = math.sin(lat)
    n = WGS84_A / math.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    cos_lat = math.cos(lat)
    if abs(cos_lat) > 1e-3:
        height = p / cos_lat - n
    else:
        height = z / sin_lat - n * (1.0 - WGS84_E2)
    return math.degrees(lat), math.degrees(lon), height


def ecef_to_ned_velocity(
    lat_deg: float, lon_deg: float, vx: float, vy: float, vz: float
) -> tuple[float, float, float]:
    """Rotate an ECEF velocity into north, east, down at the given position."""
    lat = math.radians(lat_deg)
    lon = math.radians(lon_deg)
    sl, cl = math.sin(lat), math.cos(lat)
    so, co = math.sin(lon), math.cos(lon)
    north = -sl * co * vx - sl * so * vy + cl * vz
    east = -so * vx + co * vy
    down = -cl * co * vx - cl * so * vy - sl * vz
    return north, east, down


def gps_to_utc(week: int, tow_s: float, leap_s: int) -> dt.datetime:
    """UTC of GPS week/time of week, given GPS - UTC in seconds."""
    micro = round(tow_s * 1e6)
    return GPS_EPOCH + dt.timedelta(weeks=week, microseconds=micro) - dt.timedelta(seconds=leap_s)
