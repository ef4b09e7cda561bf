"""Ground stations: look angles, pass prediction against a brute-force scan, masks, schedules."""

from __future__ import annotations

import pytest

from flight.sim.errors import SimError
from flight.sim.orbit import Orbit
from flight.sim.stations import GroundStation, PassSchedule, predict_passes
from flight.sim.timebase import TimeBase

DELFT = GroundStation("Delft", 51.9990, 4.3733, 30.0, mask_deg=5.0)


@pytest.fixture(scope="module")
def orbit() -> Orbit:
    return Orbit.default()


@pytest.fixture(scope="module")
def timebase(orbit: Orbit) -> TimeBase:
    return TimeBase(orbit.epoch)


def _margin(orbit: Orbit, tb: TimeBase, station: GroundStation, t: float) -> float:
    r, _ = orbit.ecef_jd(*tb.jd(t))
    return station.margin(r)


def _scan(orbit: Orbit, tb: TimeBase, station: GroundStation, end: float,
          step: float = 1.0) -> list[tuple[float, float]]:
    """In-view intervals by brute force: the margin every `step` seconds."""
    intervals, start, t = [], None, 0.0
    while t <= end:
        up = _margin(orbit, tb, station, t) >= 0
        if up and start is None:
            start = t
        elif not up and start is not None:
            intervals.append((start, t))
            start = None
        t += step
    return intervals


def test_passes_agree_with_a_one_second_scan(orbit: Orbit, timebase: TimeBase) -> None:
    day = 86400.0
    passes = predict_passes(orbit, DELFT, timebase, 0.0, day)
    scanned = _scan(orbit, timebase, DELFT, day)
    assert 4 <= len(passes) <= 8
    # the first pass is in progress at the window's start: it is clipped there
    assert [p.aos_clipped for p in passes] == [scanned[0][0] == 0.0] + [False] * (len(passes) - 1)
    assert len(passes) == len(scanned)
    for p, (up, down) in zip(passes, scanned, strict=True):
        assert up - 1.0 <= p.aos <= up + (0.0 if p.aos_clipped else 1.0)
        assert down - 1.0 <= p.los <= down
        assert p.aos < p.tca < p.los
        assert p.duration_s < 13 * 60  # a 530 km orbit crosses a 5 deg mask in at most ~12 min
        assert p.aos_utc == timebase.utc(p.aos)


def test_aos_and_los_cross_the_mask_within_a_second(orbit: Orbit, timebase: TimeBase) -> None:
    for p in predict_passes(orbit, DELFT, timebase, 0.0, 86400.0):
        if not p.aos_clipped:
            assert _margin(orbit, timebase, DELFT, p.aos - 0.5) < 0.0
            assert _margin(orbit, timebase, DELFT, p.aos + 0.5) > 0.0
        assert _margin(orbit, timebase, DELFT, p.los - 0.5) > 0.0
        assert _margin(orbit, timebase, DELFT, p.los + 0.5) < 0.0
        r, v = orbit.ecef_jd(*timebase.jd(p.tca))
        look = DELFT.look(r, v)
        assert look.elevation_deg == pytest.approx(p.max_elevation_deg, abs=1e-6)
        if p.aos_clipped:
            continue  # in view at the window's start: it peaks at the edge
        assert abs(look.range_rate_m_s) < 60.0  # near closest approach (vs ~6 km/s at AOS)
        for dt_s, sign in ((-60.0, -1.0), (60.0, 1.0)):
            r, v = orbit.ecef_jd(*timebase.jd(p.tca + dt_s))
            assert DELFT.look(r, v).range_rate_m_s * sign > 0


def test_grazing_passes_are_found_with_a_coarse_step(orbit: Orbit, timebase: TimeBase) -> None:
    # a mask just under one pass's peak leaves a pass shorter than the coarse step
    peak = sorted(p.max_elevation_deg for p in predict_passes(orbit, DELFT, timebase, 0.0,
                                                              86400.0))[-2]
    high_mask = GroundStation("High", 51.9990, 4.3733, 30.0, mask_deg=peak - 0.2)
    fine = predict_passes(orbit, high_mask, timebase, 0.0, 86400.0, step_s=1.0)
    coarse = predict_passes(orbit, high_mask, timebase, 0.0, 86400.0, step_s=60.0)
    assert min(p.duration_s for p in fine) < 60.0
    assert [round(p.aos, 2) for p in coarse] == [round(p.aos, 2) for p in fine]
    assert [round(p.los, 2) for p in coarse] == [round(p.los, 2) for p in fine]


def test_overhead_geometry(orbit: Orbit, timebase: TimeBase) -> None:
    s = orbit.state_jd(*timebase.jd(1000.0))
    below = GroundStation("below", s.geodetic.lat_deg, s.geodetic.lon_deg, 0.0)
    look = below.look(s.r_ecef_m, s.v_ecef_m_s)
    assert look.elevation_deg > 89.99
    assert look.range_m == pytest.approx(s.geodetic.alt_m, abs=1.0)
    assert abs(look.range_rate_m_s) < 150.0  # moving sideways (radial speed only from e ~ 0.001)


def test_horizon_profile_raises_the_mask() -> None:
    st = GroundStation("hill", 45.0, 7.0, 500.0, mask_deg=3.0,
                       horizon=((350.0, 20.0), (10.0, 20.0), (90.0, 0.0), (270.0, 0.0)))
    assert st.mask_at(0.0) == pytest.approx(20.0)
    assert st.mask_at(355.0) == pytest.approx(20.0)
    assert st.mask_at(50.0) == pytest.approx(10.0)
    assert st.mask_at(180.0) == pytest.approx(3.0)  # never below the station's own mask
    assert st.mask_at(310.0) == pytest.approx(10.0)


def test_aos_lies_on_the_horizon_profile(orbit: Orbit, timebase: TimeBase) -> None:
    wall = GroundStation("wall", 51.9990, 4.3733, 30.0, mask_deg=5.0,
                         horizon=((0.0, 25.0), (90.0, 5.0), (270.0, 5.0)))
    passes = predict_passes(orbit, wall, timebase, 0.0, 2 * 86400.0)
    assert any(wall.mask_at(p.aos_azimuth_deg) > 10.0 for p in passes)
    for p in passes:
        if p.aos_clipped:
            continue
        r, v = orbit.ecef_jd(*timebase.jd(p.aos))
        look = wall.look(r, v)
        assert look.elevation_deg == pytest.approx(wall.mask_at(look.azimuth_deg), abs=0.01)


def test_schedule_merges_a_pass_that_straddles_its_blocks(orbit: Orbit,
                                                          timebase: TimeBase) -> None:
    reference = predict_passes(orbit, DELFT, timebase, 0.0, 86400.0)
    target = reference[2]
    start = (target.aos + target.los) / 2 - PassSchedule.BLOCK_S  # a block ends mid-pass
    schedule = PassSchedule(orbit, DELFT, timebase, start=start)
    merged = [p for p in schedule.passes(start, start + 2 * PassSchedule.BLOCK_S)
              if p.los > target.aos and p.aos < target.los]
    assert len(merged) == 1
    assert merged[0].aos == pytest.approx(target.aos, abs=2e-3)
    assert merged[0].los == pytest.approx(target.los, abs=2e-3)
    assert merged[0].max_elevation_deg == pytest.approx(target.max_elevation_deg, abs=1e-4)
    assert schedule.in_view(target.tca) and not schedule.in_view(target.los + 1.0)
    assert schedule.current(target.tca) == merged[0]
    assert schedule.next_pass(target.los + 1.0).aos > target.los


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"lat_deg": 91.0}, "latitude"),
    ({"lon_deg": 400.0}, "longitude"),
    ({"alt_m": 20000.0}, "altitude"),
    ({"mask_deg": 90.0}, "mask"),
    ({"horizon": ((10.0, 95.0),)}, "horizon"),
])
def test_bad_station_rejected(kwargs: dict, match: str) -> None:
    args = {"name": "x", "lat_deg": 0.0, "lon_deg": 0.0} | kwargs
    with pytest.raises(SimError, match=match):
        GroundStation(**args)


def test_bad_search_window(orbit: Orbit, timebase: TimeBase) -> None:
    with pytest.raises(SimError, match="empty"):
        predict_passes(orbit, DELFT, timebase, 10.0, 10.0)
    with pytest.raises(SimError, match="step"):
        predict_passes(orbit, DELFT, timebase, 0.0, 10.0, step_s=0.0)
