"""The GNSS sky model: nominal constellations, visibility from orbit, DOPs against numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flight.sim.gnss_sky import GALILEO, GPS, GnssSystem, SkySatellite, dops, sky
from flight.sim.orbit import Orbit
from flight.sim.timebase import J2000_JD, TimeBase


def test_constellations_have_their_radii_and_periods() -> None:
    for walker, period_h in ((GPS, 11.967), (GALILEO, 14.08)):
        positions = walker.positions(0.0)
        assert len(positions) == 24
        assert [p for p, _ in positions] == list(range(1, 25))
        for _, r in positions:
            assert math.dist((0, 0, 0), r) == pytest.approx(walker.semi_major_axis_km)
        later = walker.positions(period_h * 3600.0)
        assert math.dist(positions[0][1], later[0][1]) < 50.0  # back after one period


def test_sky_from_orbit_and_dops_against_numpy() -> None:
    orbit = Orbit.default()
    tb = TimeBase(orbit.epoch)
    for t in range(0, 6000, 600):
        jd, fr = tb.jd(float(t))
        s = orbit.state_jd(jd, fr)
        seconds = ((jd - J2000_JD) + fr) * 86400.0
        sats = sky(s.r_teme_km, s.geodetic.lat_deg, s.geodetic.lon_deg, s.gmst_rad, seconds,
                   (GnssSystem.GPS, GnssSystem.GALILEO))
        gps = [x for x in sats if x.system is GnssSystem.GPS]
        assert 8 <= len(gps) <= 18  # more than the ~10 a ground receiver sees: no Earth below
        assert all(0.0 <= x.elevation_deg <= 90.0 and 0.0 <= x.azimuth_deg < 360.0 for x in sats)
        assert all(x.used == (x.elevation_deg >= 5.0) for x in sats)
        d = dops(sats)
        g = np.array([[-x.los_enu[0], -x.los_enu[1], -x.los_enu[2], 1.0] for x in sats if x.used])
        q = np.linalg.inv(g.T @ g)
        assert d.hdop == pytest.approx(math.sqrt(q[0, 0] + q[1, 1]), rel=1e-9)
        assert d.vdop == pytest.approx(math.sqrt(q[2, 2]), rel=1e-9)
        assert d.pdop == pytest.approx(math.sqrt(d.hdop**2 + d.vdop**2), rel=1e-9)
        assert d.gdop == pytest.approx(math.sqrt(np.trace(q)), rel=1e-9)
        assert d.pdop < 3.0


def test_too_few_or_degenerate_geometry_has_no_dops() -> None:
    up = SkySatellite(GnssSystem.GPS, 1, 90.0, 0.0, True, (0.0, 0.0, 1.0))
    assert dops([up] * 3) is None
    assert dops([up] * 5) is None  # all in one direction: singular
