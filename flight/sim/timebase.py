"""Simulated seconds to UTC, Julian dates and GPS time.

The simulator never reads a wall clock: every model takes `t`, seconds on the injected simulated
clock (`hal.clock.SimClock.monotonic()`), and a `TimeBase` names the UTC instant at which that
clock read `t0`. UTC then advances uniformly with `t`: a run that spans a leap second drifts from
true UTC by that second (no leap second is announced at the time of writing; the GNSS model takes
GPS - UTC from `hal`'s table at the run's start).

UT1 is taken equal to UTC unless a `dut1_s` (UT1 - UTC, |dut1| < 0.9 s) is given; the difference
rotates the Earth by up to 0.9 s x 465 m/s = 420 m at the equator, which only matters when
comparing against an external ephemeris, not inside a run where every model shares the same
convention.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final

from sgp4.api import jday

from flight.sim.errors import SimError
from hal.time import LEAP_SECONDS, TAI_MINUS_GPS_S

SECONDS_PER_DAY: Final = 86_400.0
SECONDS_PER_WEEK: Final = 604_800
J2000_JD: Final = 2451545.0
GPS_EPOCH: Final = dt.datetime(1980, 1, 6, tzinfo=dt.UTC)


def as_utc(utc: dt.datetime) -> dt.datetime:
    """A timezone-aware UTC datetime (a naive one is taken as UTC)."""
    if utc.tzinfo is None:
        return utc.replace(tzinfo=dt.UTC)
    return utc.astimezone(dt.UTC)


def julian_date(utc: dt.datetime) -> tuple[float, float]:
    """(whole part ending in .5, fraction of day) of the Julian date of `utc`, as sgp4 wants it;
    the split keeps microsecond resolution that a single float would lose."""
    u = as_utc(utc)
    return jday(u.year, u.month, u.day, u.hour, u.minute, u.second + u.microsecond * 1e-6)


def gps_minus_utc(utc: dt.datetime) -> int:
    """GPS - UTC in whole seconds (18 since 2017) from `hal`'s leap-second table."""
    return LEAP_SECONDS.tai_minus_utc(as_utc(utc).replace(tzinfo=None)) - TAI_MINUS_GPS_S


@dataclass(frozen=True)
class TimeBase:
    """The UTC instant `start_utc` at which the simulated clock reads `t0` seconds."""

    start_utc: dt.datetime
    t0: float = 0.0
    dut1_s: float = 0.0
    _jd: tuple[float, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if abs(self.dut1_s) >= 0.9:
            raise SimError(f"UT1 - UTC of {self.dut1_s} s is outside the +-0.9 s IERS keeps it in")
        object.__setattr__(self, "start_utc", as_utc(self.start_utc))
        object.__setattr__(self, "_jd", julian_date(self.start_utc))

    def utc(self, t: float) -> dt.datetime:
        return self.start_utc + dt.timedelta(seconds=t - self.t0)

    def seconds(self, utc: dt.datetime) -> float:
        """Simulated clock reading at `utc`."""
        return self.t0 + (as_utc(utc) - self.start_utc).total_seconds()

    def jd(self, t: float) -> tuple[float, float]:
        """Julian date (whole, fraction) of UTC at `t`."""
        whole, frac = self._jd
        return whole, frac + (t - self.t0) / SECONDS_PER_DAY

    def jd_ut1(self, t: float) -> tuple[float, float]:
        whole, frac = self._jd
        return whole, frac + (t - self.t0 + self.dut1_s) / SECONDS_PER_DAY
