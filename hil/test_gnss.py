"""GNSS fix and time sync: the rig's simulated receiver feeds the board's GNSS UART with the true
orbit; the satellite reports its fix, where it is and its time state, and follows an outage."""

from __future__ import annotations

import math

from drivers.gnss.fix import FixMode
from flight.sim.frames import geodetic_to_ecef
from hal.time import SyncState
from hil.ops import HK_TIMEOUT_S, fresh

ACQUISITION_TIMEOUT_S = 180.0  # a cold start takes 45 s; the board may boot later than the rig
TRACK_WINDOW_S = 60.0  # a housekeeping value is at most this old (period, fix rate, link)
POSITION_TOLERANCE_M = 50.0  # the receiver's noise is metres; a wrong decode is kilometres


def _distance_to_track(rig, point, start: float, end: float) -> float:
    """Distance (m) from an Earth-fixed point to the true orbit between clock readings `start`
    and `end`: the nearest of the chords between states one second apart (a chord strays about
    a metre from the orbit)."""
    times = [start + i for i in range(int(end - start) + 2)]
    track = [rig.orbit.state(rig.utc(t)).r_ecef_m for t in times]
    best = math.inf
    for a, b in zip(track, track[1:], strict=False):
        ab = [bi - ai for ai, bi in zip(a, b, strict=True)]
        ap = [pi - ai for ai, pi in zip(a, point, strict=True)]
        u = max(0.0, min(1.0, sum(x * y for x, y in zip(ap, ab, strict=True)) /
                         sum(x * x for x in ab)))
        gap = [p - (ai + u * d) for p, ai, d in zip(point, a, ab, strict=True)]
        best = min(best, math.sqrt(sum(x * x for x in gap)))
    return best


def test_fix_on_the_true_orbit_and_time_from_gnss(ground, rig):
    ground.await_telemetry("gnss.fix_mode", FixMode.FIX_3D, timeout=ACQUISITION_TIMEOUT_S)
    ground.await_event("gnss.fix_acquired", timeout=HK_TIMEOUT_S)
    mark = ground.mark()
    lat = ground.await_telemetry("gnss.latitude", timeout=HK_TIMEOUT_S, start=mark)
    received = rig.clock.monotonic()
    lon = ground.latest["gnss.longitude"]
    alt = ground.latest["gnss.altitude"]
    assert lon.time == lat.time == alt.time  # one housekeeping sample
    point = geodetic_to_ecef(lat.value, lon.value, alt.value)
    assert _distance_to_track(rig, point, received - TRACK_WINDOW_S, received) < \
        POSITION_TOLERANCE_M
    assert ground.latest["gnss.satellites"].value >= 4
    state = ground.await_telemetry("gnss.time_state",
                                   lambda s: s in (SyncState.COARSE, SyncState.LOCKED),
                                   timeout=HK_TIMEOUT_S)
    if state.value == SyncState.LOCKED:  # a board whose PPS line is wired to the receiver
        assert abs(fresh(ground, "gnss.time_error")) < 1e-3


def test_fix_lost_in_an_outage_and_regained(ground, rig):
    ground.await_telemetry("gnss.fix_mode", FixMode.FIX_3D, timeout=ACQUISITION_TIMEOUT_S)
    mark = ground.mark()
    rig.gnss_outage(True)
    ground.await_event("gnss.fix_lost", timeout=HK_TIMEOUT_S, start=mark)
    ground.await_telemetry("gnss.fix_mode", FixMode.NO_FIX, timeout=HK_TIMEOUT_S, start=mark)
    mark = ground.mark()
    rig.gnss_outage(False)
    ground.await_event("gnss.fix_acquired", timeout=HK_TIMEOUT_S, start=mark)
    ground.await_telemetry("gnss.fix_mode", FixMode.FIX_3D, timeout=HK_TIMEOUT_S, start=mark)
