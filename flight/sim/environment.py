"""The environment of one simulated run: orbit, Sun, ground stations, GNSS receiver, radio
channels, power and thermal, all on one simulated clock.

    env = Environment(stations=[GroundStation("Delft", 51.999, 4.373, 30.0)], seed=7)
    step = env.advance(t)        # t: seconds on the simulated clock, never going back
    step.gnss                    # receiver output due by t (bytes for the GNSS UART)
    step.deliveries              # radio chunks that arrived by t, per station
    step.snapshot.sun_fraction   # eclipse, position, ...; env.at(t) gives one without advancing
    env.downlink(t, data)        # the satellite transmits: every station in view may hear it
    env.uplink("Delft", t, data) # a station transmits to the satellite

`at(t)` is a pure function of t; `advance(t)` moves the stateful parts (GNSS, radio queues) and
must be called with non-decreasing t. The power and thermal models are read by the flight
software at its own pace; `attach_sensors(simulation)` puts them behind `refsat`'s ``sim://eps``
and ``sim://thermal`` bindings, and `illumination` is the `flight.sensors.Illumination` that the
runtime's own sensor models accept instead of their fixed circular orbit.

The run starts (t = t0) at `start_utc`, by default the TLE's epoch, where SGP4 is most accurate.
Randomness: every part draws from its own generator derived from `seed` and its name, so adding a
station does not change the GNSS noise.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from flight.sim import frames
from flight.sim.channel import Delivery, Endpoint, RadioChannel
from flight.sim.errors import SimError, TimeOrderError
from flight.sim.frames import Look, Vec3
from flight.sim.gnss import GnssConfig, GnssOutput, GnssReceiver
from flight.sim.linkbudget import UHF_DOWNLINK, UHF_UPLINK, LinkBudget
from flight.sim.orbit import Orbit, OrbitState
from flight.sim.power import PowerConfig, SolarPowerModel
from flight.sim.sensor_models import Sunlight
from flight.sim.stations import GroundStation, Pass, PassSchedule
from flight.sim.sun import Lighting, SunPosition, beta_angle_rad, shadow, sun_position
from flight.sim.thermal import OrbitalThermalModel, ThermalConfig
from flight.sim.timebase import TimeBase

DELFT: Final = GroundStation("Delft", 51.9990, 4.3733, 30.0, mask_deg=5.0)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The spacecraft's situation at simulated time `t`."""

    t: float
    utc: dt.datetime
    orbit: OrbitState
    sun: SunPosition
    sun_fraction: float
    lighting: Lighting
    beta_deg: float
    sun_body: Vec3  # unit vector to the Sun, nadir-pointing body frame (see sensor_models.FACES)


@dataclass(frozen=True, slots=True)
class Step:
    snapshot: Snapshot
    gnss: list[GnssOutput]
    deliveries: list[tuple[str, Delivery]]  # (station name, chunk)
    looks: dict[str, Look]
    in_view: dict[str, bool]


class Environment:
    def __init__(self, *, orbit: Orbit | None = None, start_utc: dt.datetime | None = None,
                 stations: Sequence[GroundStation] = (DELFT,), seed: int = 0, t0: float = 0.0,
                 dut1_s: float = 0.0, gnss: GnssConfig | None = None,
                 gnss_power_on_at: float | None = None, air_rate_bps: float = 9600.0,
                 downlink: LinkBudget = UHF_DOWNLINK, uplink: LinkBudget = UHF_UPLINK,
                 power: PowerConfig | None = None, thermal: ThermalConfig | None = None) -> None:
        self.orbit = orbit or Orbit.default()
        self.seed = seed
        self.t = t0
        self._cache: tuple[float, Snapshot] | None = None
        self.air_rate_bps = air_rate_bps
        self.timebase = TimeBase(start_utc or self.orbit.epoch, t0, dut1_s)
        names = [s.name for s in stations]
        if len(set(names)) != len(names):
            raise SimError(f"ground station names must be unique: {names}")
        self.stations = {s.name: s for s in stations}
        self.schedules = {s.name: PassSchedule(self.orbit, s, self.timebase) for s in stations}
        self.channels = {
            s.name: RadioChannel(self.orbit, s, self.timebase, air_rate_bps=air_rate_bps,
                                 downlink=downlink, uplink=uplink, seed=seed,
                                 schedule=self.schedules[s.name])
            for s in stations}
        self.gnss = GnssReceiver(self.orbit, self.timebase, gnss, seed=seed,
                                 power_on_at=gnss_power_on_at)
        self.illumination = SunIllumination(self)
        self.thermal = OrbitalThermalModel("thermal", self, random.Random(f"{seed}/thermal"), t0,
                                           thermal)
        self.power = SolarPowerModel("eps", self, random.Random(f"{seed}/eps"), t0, power,
                                     heaters_on=lambda: int(self.thermal.heater_on))

    # --- geometry ---------------------------------------------------------------------------

    def at(self, t: float) -> Snapshot:
        if self._cache is not None and self._cache[0] == t:
            return self._cache[1]
        jd, fr = self.timebase.jd(t)
        state = self.orbit.state_jd(jd, fr, self.timebase.dut1_s)
        sun = sun_position(jd, fr)
        sh = shadow(state.r_teme_km, sun.r_km)
        r, v = state.r_teme_km, state.v_teme_km_s
        nadir = frames.unit(frames.scale(r, -1.0))
        y = frames.unit(frames.scale(frames.cross(r, v), -1.0))
        x = frames.cross(y, nadir)
        to_sun = frames.unit(frames.sub(sun.r_km, r))
        snap = Snapshot(t, self.timebase.utc(t), state, sun, sh.fraction, sh.lighting,
                        math.degrees(beta_angle_rad(r, v, sun.r_km)),
                        (frames.dot(to_sun, x), frames.dot(to_sun, y), frames.dot(to_sun, nadir)))
        self._cache = (t, snap)
        return snap

    def sunlight(self, t: float) -> Sunlight:
        s = self.at(t)
        return Sunlight(s.sun_fraction, s.sun_body, s.sun.distance_au)

    def look(self, station: str, t: float) -> Look:
        s = self.at(t)
        return self._station(station).look(s.orbit.r_ecef_m, s.orbit.v_ecef_m_s)

    def in_view(self, t: float, station: str | None = None) -> bool:
        """Whether `station` (or any station) sees the satellite above its mask at `t`."""
        names = [station] if station is not None else list(self.schedules)
        return any(self._schedule(n).in_view(t) for n in names)

    def passes(self, start: float, end: float, station: str | None = None) -> list[Pass]:
        names = [station] if station is not None else list(self.schedules)
        out = [p for n in names for p in self._schedule(n).passes(start, end)]
        return sorted(out, key=lambda p: p.aos)

    def _station(self, name: str) -> GroundStation:
        try:
            return self.stations[name]
        except KeyError:
            raise SimError(f"no ground station {name!r} (known: {', '.join(self.stations)})"
                           ) from None

    def _schedule(self, name: str) -> PassSchedule:
        self._station(name)
        return self.schedules[name]

    # --- time -------------------------------------------------------------------------------

    def advance(self, t: float) -> Step:
        if t < self.t:
            raise TimeOrderError("environment", self.t, t)
        self.t = t
        gnss = self.gnss.advance(t)
        deliveries = [(name, d) for name, ch in self.channels.items() for d in ch.deliveries(t)]
        deliveries.sort(key=lambda item: item[1].t)
        snap = self.at(t)
        looks = {n: s.look(snap.orbit.r_ecef_m, snap.orbit.v_ecef_m_s)
                 for n, s in self.stations.items()}
        return Step(snap, gnss, deliveries, looks,
                    {n: sch.in_view(t) for n, sch in self.schedules.items()})

    def next_event(self) -> float | None:
        """The next time something is due (GNSS output or a radio arrival)."""
        times = [x for x in (self.gnss.next_output_time(),
                             *(ch.next_arrival() for ch in self.channels.values()))
                 if x is not None]
        return min(times) if times else None

    # --- radio ------------------------------------------------------------------------------

    def downlink(self, t: float, data: bytes) -> float:
        """The satellite transmits `data` at `t`; returns when its last byte has left."""
        ends = [ch.send(Endpoint.SPACE, t, data) for ch in self.channels.values()]
        return max(ends, default=t + len(data) * 8.0 / self.air_rate_bps)

    def uplink(self, station: str, t: float, data: bytes) -> float:
        self._station(station)
        return self.channels[station].send(Endpoint.GROUND, t, data)

    # --- sensors for the runtime ------------------------------------------------------------

    def attach_sensors(self, simulation: Any, *, eps: str = "eps",
                       thermal: str = "thermal") -> None:
        """Serve this environment's power and thermal models for ``sim://<eps>`` and
        ``sim://<thermal>`` from the runtime's `flight.sensors.Simulation`, in place of its own
        (before the components' `init()` opens them)."""
        simulation.devices[eps] = self.power
        simulation.devices[thermal] = self.thermal


class SunIllumination:
    """`flight.sensors.Illumination` from the real orbit: the visible fraction of the Sun."""

    def __init__(self, env: Environment) -> None:
        self._env = env

    def sun_fraction(self, t: float) -> float:
        return self._env.at(t).sun_fraction
