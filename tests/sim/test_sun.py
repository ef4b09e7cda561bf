"""Sun position against almanac events, and the Earth's shadow on LEO orbits."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from flight.sim.orbit import Orbit
from flight.sim.sun import (
    Lighting,
    beta_angle_rad,
    cylindrical_eclipse_fraction,
    shadow,
    sun_position,
)
from flight.sim.timebase import julian_date


def _sun(y: int, mo: int, d: int, h: int, mi: int) -> object:
    return sun_position(*julian_date(dt.datetime(y, mo, d, h, mi, tzinfo=dt.UTC)))


# 2024 equinoxes and solstices (US Naval Observatory, to the minute); mean obliquity 23.4361 deg.
def test_equinoxes_have_zero_declination() -> None:
    march = _sun(2024, 3, 20, 3, 6)
    september = _sun(2024, 9, 22, 12, 44)
    assert march.declination_deg == pytest.approx(0.0, abs=0.01)
    assert september.declination_deg == pytest.approx(0.0, abs=0.01)
    assert (march.right_ascension_deg + 180.0) % 360.0 == pytest.approx(180.0, abs=0.01)
    assert september.right_ascension_deg == pytest.approx(180.0, abs=0.01)


def test_solstices_reach_the_obliquity() -> None:
    assert _sun(2024, 6, 20, 20, 51).declination_deg == pytest.approx(23.436, abs=0.01)
    assert _sun(2024, 12, 21, 9, 20).declination_deg == pytest.approx(-23.436, abs=0.01)
    assert _sun(2024, 6, 20, 20, 51).right_ascension_deg == pytest.approx(90.0, abs=0.01)


def test_distance_at_perihelion_and_aphelion() -> None:
    assert _sun(2024, 1, 3, 0, 39).distance_au == pytest.approx(0.98331, abs=2e-4)
    assert _sun(2024, 7, 5, 5, 6).distance_au == pytest.approx(1.01673, abs=2e-4)


def _eclipse_stats(orbit: Orbit, start: dt.datetime, step_s: float = 2.0) -> tuple[float, float,
                                                                                  float, float]:
    """(eclipse fraction, mean altitude km, beta deg, longest penumbra s) over one orbit."""
    n = int(orbit.period_s / step_s)
    dark = 0.0
    alts, penumbra, run = [], 0.0, 0.0
    for k in range(n):
        utc = start + dt.timedelta(seconds=k * step_s)
        s = orbit.state(utc)
        sun = sun_position(*julian_date(utc))
        sh = shadow(s.r_teme_km, sun.r_km)
        dark += 1.0 - sh.fraction
        alts.append(math.dist((0, 0, 0), s.r_teme_km) - 6378.137)
        run = run + step_s if sh.lighting is Lighting.PENUMBRA else 0.0
        penumbra = max(penumbra, run)
    s = orbit.state(start)
    beta = beta_angle_rad(s.r_teme_km, s.v_teme_km_s, sun_position(*julian_date(start)).r_km)
    return dark / n, sum(alts) / len(alts), math.degrees(beta), penumbra


def test_low_beta_500_km_orbit_spends_about_37_percent_in_eclipse() -> None:
    epoch = dt.datetime(2024, 3, 20, 3, 6, tzinfo=dt.UTC)
    orbit = Orbit.sun_synchronous(epoch, 500.0, 12.0)  # noon-midnight at the equinox: beta ~ 0
    fraction, alt, beta, penumbra = _eclipse_stats(orbit, epoch)
    assert abs(beta) < 1.0
    assert 0.34 < fraction < 0.40
    assert fraction == pytest.approx(cylindrical_eclipse_fraction(alt, math.radians(beta)),
                                     abs=0.005)
    assert 4.0 <= penumbra <= 16.0  # a LEO penumbra lasts about 8-10 s


def test_default_orbit_eclipse_matches_the_closed_form_at_its_beta() -> None:
    orbit = Orbit.default()
    fraction, alt, beta, _ = _eclipse_stats(orbit, orbit.epoch)
    assert 20.0 < beta < 35.0
    assert fraction == pytest.approx(cylindrical_eclipse_fraction(alt, math.radians(beta)),
                                     abs=0.01)


def test_dawn_dusk_orbit_near_solstice_is_never_in_eclipse() -> None:
    epoch = dt.datetime(2024, 6, 20, 20, 51, tzinfo=dt.UTC)
    orbit = Orbit.sun_synchronous(epoch, 550.0, 6.0)
    fraction, _, beta, _ = _eclipse_stats(orbit, epoch, step_s=10.0)
    assert abs(beta) > 70.0
    assert fraction == 0.0
    assert cylindrical_eclipse_fraction(550.0, math.radians(beta)) == 0.0


def test_shadow_geometry_limits() -> None:
    sun = (1.496e8, 0.0, 0.0)
    assert shadow((7000.0, 0.0, 0.0), sun).lighting is Lighting.SUNLIT
    umbra = shadow((-7000.0, 0.0, 0.0), sun)
    assert (umbra.fraction, umbra.lighting) == (0.0, Lighting.UMBRA)
    # at the shadow's edge, half the disc is hidden
    edge = shadow((-7000.0, 6378.137, 0.0), sun)
    assert edge.lighting is Lighting.PENUMBRA
    assert edge.fraction == pytest.approx(0.5, abs=0.1)
