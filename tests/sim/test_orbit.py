"""Orbit: SGP4 through our wrapper against Vallado's published vectors, TEME to Earth-fixed against
Vallado's worked example, geodesy round trips, ground-track sanity, bad TLEs rejected."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flight.sim import frames
from flight.sim.errors import PropagationError, SimError, TleError
from flight.sim.orbit import DEFAULT_TLE, Orbit, tle_checksum, validate_tle
from flight.sim.timebase import TimeBase

# From SGP4-VER.TLE and tcppver.out (Vallado, "Revisiting Spacetrack Report #3", AIAA 2006-6753,
# the verification set shipped with the sgp4 package): minutes from epoch, TEME km and km/s.
VECTORS = {
    "06251": (
        ("1 06251U 62025E   06176.82412014  .00008885  00000-0  12808-3 0  3985",
         "2 06251  58.0579  54.0425 0030035 139.1568 221.1854 15.56387291  6774"),
        [(0.0, (3988.31022699, 5498.96657235, 0.90055879),
          (-3.290032738, 2.357652820, 6.496623475)),
         (120.0, (-3935.69800083, 409.10980837, 5471.33577327),
          (-3.374784183, -6.635211043, -1.942056221)),
         (360.0, (4993.62642836, 2890.54969900, -3600.40145627),
          (0.347333429, 5.707031557, 5.070699638))],
    ),
    "28057": (
        ("1 28057U 03049A   06177.78615833  .00000060  00000-0  35940-4 0  1836",
         "2 28057  98.4283 247.6961 0000884  88.1964 271.9322 14.35478080140550"),
        [(0.0, (-2715.28237486, -6619.26436889, -0.01341443),
          (-1.008587273, 0.422782003, 7.385272942)),
         (240.0, (1483.17364291, 5395.21248786, 4448.65907172),
          (2.560540387, 4.039025766, -5.736648561)),
         (480.0, (411.09332812, -1728.99769152, -6935.45548810),
          (-2.935970964, -6.684085058, 1.492800886))],
    ),
}


@pytest.mark.parametrize("satnum", sorted(VECTORS))
def test_sgp4_verification_vectors(satnum: str) -> None:
    (line1, line2), rows = VECTORS[satnum]
    orbit = Orbit(line1, line2)
    for minutes, r_ref, v_ref in rows:
        s = orbit.state(orbit.epoch + dt.timedelta(minutes=minutes))
        assert math.dist(s.r_teme_km, r_ref) < 2e-5  # 2 cm: the epoch is held to the microsecond
        assert math.dist(s.v_teme_km_s, v_ref) < 1e-7


def test_teme_to_ecef_matches_vallado_example() -> None:
    # Vallado, Fundamentals of Astrodynamics, example 3-15 / AIAA 2006-6753 appendix:
    # 2004-04-06 07:51:28.386009 UTC, UT1 - UTC = -0.4399619 s.
    r_teme = (5094.18016210, 6127.64465950, 6380.34453270)
    v_teme = (-4.746131487, 0.785818041, 5.531931288)
    r_pef = (-1033.47503120, 7901.30558560, 6380.34453270)
    v_pef = (-3.2256327470, -2.8724425110, 5.5319312880)
    r_itrf = (-1033.4793830, 7901.2952754, 6380.3565958)
    tb = TimeBase(dt.datetime(2004, 4, 6, 7, 51, 28, 386009, tzinfo=dt.UTC), dut1_s=-0.4399619)
    r, v = frames.teme_to_ecef(r_teme, v_teme, frames.gmst_rad(*tb.jd_ut1(0.0)))
    assert math.dist(r, r_pef) < 1e-3  # under a metre: GMST and the rotation are right
    assert math.dist(v, v_pef) < 1e-6
    # neglecting polar motion costs this much against the true ITRF position (documented ~17 m)
    assert 5e-3 < math.dist(r, r_itrf) < 2e-2
    back = frames.ecef_to_teme(r, frames.gmst_rad(*tb.jd_ut1(0.0)))
    assert math.dist(back, r_teme) < 1e-9


@given(st.floats(-90, 90), st.floats(-180, 180), st.floats(-5_000.0, 40_000_000.0))
def test_geodetic_round_trip(lat: float, lon: float, alt: float) -> None:
    g = frames.ecef_to_geodetic(frames.geodetic_to_ecef(lat, lon, alt))
    assert g.lat_deg == pytest.approx(lat, abs=1e-9)
    if abs(lat) < 89.999:
        assert math.cos(math.radians(g.lon_deg - lon)) == pytest.approx(1.0, abs=1e-15)
    assert g.alt_m == pytest.approx(alt, abs=1e-3)


def test_geodetic_known_points() -> None:
    assert frames.geodetic_to_ecef(0, 0, 0) == pytest.approx((6378137.0, 0, 0))
    assert frames.geodetic_to_ecef(90, 0, 0)[2] == pytest.approx(frames.WGS84_B_M)
    g = frames.ecef_to_geodetic((0.0, 0.0, -frames.WGS84_B_M - 100.0))
    assert (g.lat_deg, g.alt_m) == (-90.0, pytest.approx(100.0))


def test_default_orbit_is_a_530_km_sun_synchronous_orbit() -> None:
    orbit = Orbit.default()
    assert orbit.epoch == dt.datetime(2022, 4, 19, 10, 54, 29, 464416, tzinfo=dt.UTC)
    assert 95.0 < orbit.period_s / 60 < 95.4
    alts, lats = [], []
    for k in range(0, int(orbit.period_s), 20):
        s = orbit.state(orbit.epoch + dt.timedelta(seconds=k))
        alts.append(s.geodetic.alt_m)
        lats.append(s.geodetic.lat_deg)
        radius = frames.norm(s.r_ecef_m)
        assert frames.norm(s.r_teme_km) * 1000 == pytest.approx(radius, rel=1e-12)
    assert 525e3 < min(alts) and max(alts) < 555e3  # near circular: the ellipsoid's 21 km shows
    # the highest latitude reached is 180 deg - inclination (geodetic, a hair above geocentric)
    assert max(lats) == pytest.approx(180.0 - orbit.inclination_deg, abs=0.3)
    assert min(lats) == pytest.approx(orbit.inclination_deg - 180.0, abs=0.3)


def _ascending_nodes(orbit: Orbit, start: dt.datetime, count: int) -> list[tuple[float, float]]:
    """(seconds from start, longitude) of the first `count` ascending equator crossings."""
    def z(t: float) -> float:
        return orbit.state(start + dt.timedelta(seconds=t)).r_ecef_m[2]

    found, t = [], 0.0
    while len(found) < count:
        if z(t) < 0 <= z(t + 30):
            lo, hi = t, t + 30
            while hi - lo > 1e-4:
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if z(mid) < 0 else (lo, mid)
            found.append((lo, orbit.state(start + dt.timedelta(seconds=lo)).geodetic.lon_deg))
        t += 30
    return found


def test_ground_track_moves_west_by_earth_rotation_per_orbit() -> None:
    orbit = Orbit.default()
    nodes = _ascending_nodes(orbit, orbit.epoch, 4)
    node_rate = 360.0 / (365.2422 * 86400.0)  # sun-synchronous: the node follows the Sun
    earth_rate = math.degrees(frames.EARTH_ROTATION_RAD_S)
    for (t1, lon1), (t2, lon2) in zip(nodes, nodes[1:], strict=False):
        shift = (lon2 - lon1 + 180.0) % 360.0 - 180.0
        assert shift == pytest.approx(-(earth_rate - node_rate) * (t2 - t1), abs=0.02)
        assert t2 - t1 == pytest.approx(orbit.period_s, rel=2e-3)  # nodal vs anomalistic


def test_sun_synchronous_builder() -> None:
    epoch = dt.datetime(2024, 3, 20, 3, 6, tzinfo=dt.UTC)
    orbit = Orbit.sun_synchronous(epoch, 500.0, 10.5)
    assert orbit.inclination_deg == pytest.approx(97.40, abs=0.05)  # the textbook 500 km value
    validate_tle(orbit.line1, orbit.line2)
    s = orbit.state(epoch)
    assert 480e3 < s.geodetic.alt_m < 530e3
    with pytest.raises(SimError, match="LTAN"):
        Orbit.sun_synchronous(epoch, 500.0, 24.0)
    with pytest.raises(SimError, match="altitude"):
        Orbit.sun_synchronous(epoch, 50.0, 10.0)


def _with_checksum(line: str) -> str:
    return line[:68] + str(tle_checksum(line))


@pytest.mark.parametrize(("line1", "line2", "line", "field"), [
    (DEFAULT_TLE[0][:-1] + "0", DEFAULT_TLE[1], 1, "checksum"),
    (DEFAULT_TLE[0], DEFAULT_TLE[1][:-1] + "5", 2, "checksum"),
    (DEFAULT_TLE[0][:60], DEFAULT_TLE[1], 1, "length"),
    ("3" + DEFAULT_TLE[0][1:], DEFAULT_TLE[1], 1, "line number"),
    (DEFAULT_TLE[0], _with_checksum(DEFAULT_TLE[1][:2] + "51088" + DEFAULT_TLE[1][7:]), 2,
     "catalogue number"),
    (DEFAULT_TLE[0], _with_checksum(DEFAULT_TLE[1][:8] + " 97.4x71" + DEFAULT_TLE[1][16:]), 2,
     "inclination"),
    (DEFAULT_TLE[0], DEFAULT_TLE[1][:68] + "x", 2, "checksum"),
])
def test_malformed_tle_is_rejected_with_line_and_field(line1: str, line2: str, line: int,
                                                       field: str) -> None:
    with pytest.raises(TleError) as info:
        Orbit(line1, line2)
    assert (info.value.line, info.value.field) == (line, field)
    assert isinstance(info.value, ValueError)


def test_propagation_failure_is_an_error_with_the_code() -> None:
    orbit = Orbit.default()
    with pytest.raises(PropagationError) as info:
        orbit.state(orbit.epoch + dt.timedelta(days=3000))  # decayed by then
    assert info.value.code == 6
    assert info.value.minutes_from_epoch > 0
