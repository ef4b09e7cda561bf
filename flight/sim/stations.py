"""Ground stations, what they see of the satellite, and when: passes by stepping and root finding.

A pass is the interval in which the satellite's elevation is above the station's mask (a constant
minimum elevation, raised where a horizon profile says so: buildings, hills). The search samples
the elevation margin (elevation minus mask) every `step_s`, finds each sign change by root
finding to a millisecond, and also looks inside every sampled local maximum that stays below the
mask, so a grazing pass shorter than a step is found too. Times are seconds on the simulated clock
of a `TimeBase`. Elevation is geometric (refraction, which raises a satellite near the horizon by
about 0.5 deg, is neglected).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from flight.sim import frames
from flight.sim.errors import SimError
from flight.sim.frames import Look, Vec3
from flight.sim.orbit import Orbit
from flight.sim.timebase import TimeBase

ROOT_TOLERANCE_S: Final = 1e-3
GOLDEN: Final = (math.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class GroundStation:
    """A station on the WGS-84 ellipsoid with a minimum elevation and an optional horizon profile
    of (azimuth deg, minimum elevation deg) points, interpolated linearly around the compass."""

    name: str
    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0
    mask_deg: float = 5.0
    horizon: tuple[tuple[float, float], ...] = ()
    ecef_m: Vec3 = field(init=False, repr=False, compare=False)
    basis: tuple[Vec3, Vec3, Vec3] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat_deg <= 90.0:
            raise SimError(f"station {self.name}: latitude {self.lat_deg} deg is off the globe")
        if not -180.0 <= self.lon_deg <= 360.0:
            raise SimError(f"station {self.name}: longitude {self.lon_deg} deg is out of range")
        if not -500.0 <= self.alt_m <= 9000.0:
            raise SimError(f"station {self.name}: altitude {self.alt_m} m is not on the ground")
        if not -5.0 <= self.mask_deg < 90.0:
            raise SimError(f"station {self.name}: elevation mask {self.mask_deg} deg is out of "
                           "range [-5, 90)")
        points = tuple(sorted((float(az) % 360.0, float(el)) for az, el in self.horizon))
        for az, el in points:
            if not -5.0 <= el < 90.0:
                raise SimError(f"station {self.name}: horizon point at {az} deg has elevation "
                               f"{el} deg, out of range [-5, 90)")
        object.__setattr__(self, "horizon", points)
        object.__setattr__(self, "ecef_m",
                           frames.geodetic_to_ecef(self.lat_deg, self.lon_deg, self.alt_m))
        object.__setattr__(self, "basis", frames.enu_basis(self.lat_deg, self.lon_deg))

    def mask_at(self, azimuth_deg: float) -> float:
        """The minimum elevation towards `azimuth_deg`."""
        if not self.horizon:
            return self.mask_deg
        pts = self.horizon
        az = azimuth_deg % 360.0
        for (a0, e0), (a1, e1) in zip(pts, pts[1:], strict=False):
            if a0 <= az <= a1:
                local = e0 if a1 == a0 else e0 + (e1 - e0) * (az - a0) / (a1 - a0)
                return max(self.mask_deg, local)
        a0, e0 = pts[-1]
        a1, e1 = pts[0][0] + 360.0, pts[0][1]
        az = az if az >= a0 else az + 360.0
        local = e0 if a1 == a0 else e0 + (e1 - e0) * (az - a0) / (a1 - a0)
        return max(self.mask_deg, local)

    def look(self, r_ecef_m: Vec3, v_ecef_m_s: Vec3 = (0.0, 0.0, 0.0)) -> Look:
        return frames.look_angles(self.ecef_m, self.basis, r_ecef_m, v_ecef_m_s)

    def margin(self, r_ecef_m: Vec3) -> float:
        """Elevation above the mask in that direction (deg); positive means in view."""
        look = self.look(r_ecef_m)
        return look.elevation_deg - self.mask_at(look.azimuth_deg)


@dataclass(frozen=True, slots=True)
class Pass:
    """One contact: AOS and LOS (elevation crosses the mask), the time of greatest elevation.
    `aos_clipped` / `los_clipped` mark a pass already in progress at the search window's start or
    still in progress at its end (the time given is then the window's edge)."""

    station: str
    aos: float
    los: float
    tca: float
    max_elevation_deg: float
    aos_azimuth_deg: float
    los_azimuth_deg: float
    aos_utc: dt.datetime
    los_utc: dt.datetime
    aos_clipped: bool = False
    los_clipped: bool = False

    @property
    def duration_s(self) -> float:
        return self.los - self.aos

    def contains(self, t: float) -> bool:
        return self.aos <= t < self.los


def _root(f: Callable[[float], float], a: float, b: float, fa: float, fb: float) -> float:
    """A zero of f in [a, b] (fa, fb of opposite signs): Illinois regula falsi, safeguarded."""
    side = 0
    while b - a > ROOT_TOLERANCE_S:
        c = b - fb * (b - a) / (fb - fa)
        if not a < c < b:
            c = 0.5 * (a + b)
        fc = f(c)
        if fc == 0.0:
            return c
        if (fc < 0.0) == (fa < 0.0):
            a, fa = c, fc
            if side == -1:
                fb *= 0.5
            side = -1
        else:
            b, fb = c, fc
            if side == 1:
                fa *= 0.5
            side = 1
    return 0.5 * (a + b)


def _maximum(f: Callable[[float], float], a: float, b: float) -> tuple[float, float]:
    """(t, f(t)) at the maximum of a unimodal f on [a, b] (golden-section search)."""
    c, d = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
    fc, fd = f(c), f(d)
    while b - a > ROOT_TOLERANCE_S:
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - GOLDEN * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + GOLDEN * (b - a)
            fd = f(d)
    t = 0.5 * (a + b)
    return t, f(t)


class _Geometry:
    """Station-relative geometry of an orbit on a time base, at simulated seconds."""

    def __init__(self, orbit: Orbit, station: GroundStation, timebase: TimeBase) -> None:
        self.orbit = orbit
        self.station = station
        self.timebase = timebase

    def look(self, t: float) -> Look:
        r, v = self.orbit.ecef_jd(*self.timebase.jd(t), self.timebase.dut1_s)
        return self.station.look(r, v)

    def margin(self, t: float) -> float:
        look = self.look(t)
        return look.elevation_deg - self.station.mask_at(look.azimuth_deg)

    def elevation(self, t: float) -> float:
        return self.look(t).elevation_deg


def predict_passes(orbit: Orbit, station: GroundStation, timebase: TimeBase, start: float,
                   end: float, step_s: float = 20.0) -> list[Pass]:
    """Every pass of `orbit` over `station` between simulated seconds `start` and `end`."""
    if not end > start:
        raise SimError(f"pass search window [{start}, {end}] s is empty")
    if not 0.0 < step_s <= 60.0:
        raise SimError(f"pass search step {step_s} s must be in (0, 60]")
    geo = _Geometry(orbit, station, timebase)
    f = geo.margin
    n = max(1, math.ceil((end - start) / step_s))
    ts = [start + (end - start) * k / n for k in range(n + 1)]
    fs = [f(t) for t in ts]
    crossings: list[tuple[float, bool]] = []  # (time, rising)
    for k in range(n):
        a, b, fa, fb = ts[k], ts[k + 1], fs[k], fs[k + 1]
        if fa < 0.0 <= fb:
            crossings.append((_root(f, a, b, fa, fb), True))
        elif fa >= 0.0 > fb:
            crossings.append((_root(f, a, b, fa, fb), False))
        elif fb < 0.0 and 0 < k + 1 < n and fa < fb and fs[k + 2] < fb:
            tm, fm = _maximum(f, a, ts[k + 2])  # a sampled local maximum below the mask
            if fm >= 0.0:
                crossings.append((_root(f, a, tm, fa, fm), True))
                crossings.append((_root(f, tm, ts[k + 2], fm, fs[k + 2]), False))
    passes = []
    aos: float | None = start if fs[0] >= 0.0 else None
    clipped = aos is not None
    for t, rising in crossings:
        if rising:
            aos, clipped = t, False
        elif aos is not None:
            passes.append(_make_pass(geo, aos, t, clipped, False))
            aos = None
    if aos is not None:
        passes.append(_make_pass(geo, aos, end, clipped, True))
    return passes


def _make_pass(geo: _Geometry, aos: float, los: float, aos_clipped: bool,
               los_clipped: bool) -> Pass:
    tca, max_el = _maximum(geo.elevation, aos, los)
    for edge in (aos, los):  # a clipped pass may peak at the window's edge
        el = geo.elevation(edge)
        if el > max_el:
            tca, max_el = edge, el
    tb = geo.timebase
    return Pass(geo.station.name, aos, los, tca, max_el, geo.look(aos).azimuth_deg,
                geo.look(los).azimuth_deg, tb.utc(aos), tb.utc(los), aos_clipped, los_clipped)


class PassSchedule:
    """The passes over one station, predicted lazily in blocks as simulated time moves on; the
    radio channel and `in_view` share it, so they agree to the millisecond on AOS and LOS."""

    BLOCK_S: Final = 6 * 3600.0

    def __init__(self, orbit: Orbit, station: GroundStation, timebase: TimeBase,
                 start: float | None = None, step_s: float = 20.0) -> None:
        self.orbit = orbit
        self.station = station
        self.timebase = timebase
        self.step_s = step_s
        self.start = timebase.t0 if start is None else start
        self._passes: list[Pass] = []
        self._horizon = self.start

    def _extend_to(self, t: float) -> None:
        while self._horizon <= t:
            block = predict_passes(self.orbit, self.station, self.timebase, self._horizon,
                                   self._horizon + self.BLOCK_S, self.step_s)
            if block and self._passes and self._passes[-1].los_clipped and block[0].aos_clipped:
                first, last = block.pop(0), self._passes.pop()
                peak = max(first, last, key=lambda p: p.max_elevation_deg)
                self._passes.append(Pass(
                    last.station, last.aos, first.los, peak.tca, peak.max_elevation_deg,
                    last.aos_azimuth_deg, first.los_azimuth_deg, last.aos_utc, first.los_utc,
                    last.aos_clipped, first.los_clipped))
            self._passes.extend(block)
            self._horizon += self.BLOCK_S

    def passes(self, start: float, end: float) -> list[Pass]:
        """Passes overlapping [start, end)."""
        self._extend_to(end)
        return [p for p in self._passes if p.los > start and p.aos < end]

    def current(self, t: float) -> Pass | None:
        """The pass in progress at `t`, if any."""
        self._extend_to(t)
        for p in reversed(self._passes):
            if p.aos <= t:
                return p if t < p.los else None
        return None

    def in_view(self, t: float) -> bool:
        return self.current(t) is not None

    def next_pass(self, t: float, within_s: float = 2 * 86400.0) -> Pass | None:
        """The pass in progress at `t`, or the next one to start within `within_s`."""
        limit = t + within_s
        while True:
            self._extend_to(t)
            for p in self._passes:
                if p.los > t:
                    return p
            if self._horizon > limit:
                return None
            t = self._horizon
