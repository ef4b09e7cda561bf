"""Simulated sensors for `refsat`, and the seam through which an environment drives them.

Where the numbers come from: a sensor model reads the spacecraft's situation from an
`Illumination` (how much sun the spacecraft gets at time t, 0 in umbra, 1 in full sun). The
default, `CircularOrbit`, is a circular orbit with a fixed eclipse fraction; the environment
simulator replaces it with one computed from a real orbit (`Simulation(illumination=...)`), and
the same power and thermal models then follow that orbit's eclipses.

A deployment binds a component to a simulated device with a hardware URL ``sim://NAME``; the
`Simulation` (from the deployment's ``[simulation]`` table: seed, orbit) makes one model per NAME,
each with its own random stream derived from the seed, so a run is reproducible and adding a
device does not change the numbers of the others. Models integrate over the simulated time
between reads, so they cost nothing between samples.

Faults: `fail()` makes every read raise `SensorError` until `recover()` (a dead sensor);
`stick()` freezes the readings (a stuck one).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable


@runtime_checkable
class Illumination(Protocol):
    def sun_fraction(self, t: float) -> float:
        """Fraction of full sunlight on the spacecraft at time `t` (0..1)."""
        ...


@dataclass(frozen=True)
class CircularOrbit:
    """A circular orbit: eclipse centred on half an orbit, with short linear penumbra ramps."""

    period_s: float = 5640.0
    eclipse_fraction: float = 0.36
    penumbra_s: float = 8.0
    phase_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.period_s > 0:
            raise ValueError(f"orbit period {self.period_s} s must be positive")
        if not 0 <= self.eclipse_fraction < 1:
            raise ValueError(f"eclipse fraction {self.eclipse_fraction} must be in [0, 1)")

    def sun_fraction(self, t: float) -> float:
        pos = (t + self.phase_s) % self.period_s
        half = self.eclipse_fraction * self.period_s / 2
        mid = self.period_s / 2
        distance = abs(pos - mid) - half  # < 0 inside the eclipse
        if distance <= -self.penumbra_s / 2:
            return 0.0
        if distance >= self.penumbra_s / 2:
            return 1.0
        return (distance + self.penumbra_s / 2) / self.penumbra_s


class SensorError(OSError):
    """A sensor read that failed (no answer, bad data)."""


class _Model:
    def __init__(self, name: str, illumination: Illumination, rng: random.Random,
                 start: float) -> None:
        self.name = name
        self.illumination = illumination
        self.rng = rng
        self.t = start
        self.failed = False
        self.stuck: Any = None
        self.simulation: Simulation | None = None
        self._last: Any = None

    def fail(self) -> None:
        self.failed = True

    def stick(self) -> None:
        self.stuck = self._last

    def recover(self) -> None:
        self.failed = False
        self.stuck = None

    def read(self, t: float) -> Any:
        if self.failed:
            raise SensorError(f"{self.name}: no response")
        if t > self.t:
            self._advance(t - self.t, t)
            self.t = t
        self._last = self._measure(t)
        return self.stuck if self.stuck is not None else self._last

    def _advance(self, dt: float, t: float) -> None:
        raise NotImplementedError

    def _measure(self, t: float) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class PowerReading:
    bus_volts: float
    solar_amps: float
    load_amps: float
    battery_amps: float  # positive while charging
    battery_soc: float  # 0..1


class PowerModel(_Model):
    """Solar array, battery and loads: the battery charges in the sun and drains in eclipse."""

    ARRAY_AMPS: Final = 2.0
    BASE_LOAD_AMPS: Final = 0.9
    HEATER_AMPS: Final = 0.45
    CAPACITY_AH: Final = 5.2

    def __init__(self, name: str, illumination: Illumination, rng: random.Random,
                 start: float) -> None:
        super().__init__(name, illumination, rng, start)
        self.soc = 0.8
        self.extra_load_amps = 0.0
        self._inputs: tuple[float, float, float] | None = None  # (t, sun, load) of this read

    def _load(self) -> float:
        """Base load, plus any extra load, plus every simulated heater that is on."""
        heaters = 0
        if self.simulation is not None:
            heaters = sum(1 for d in self.simulation.devices.values()
                          if isinstance(d, ThermalModel) and d.heater_on)
        return self.BASE_LOAD_AMPS + self.extra_load_amps + self.HEATER_AMPS * heaters

    def _advance(self, dt: float, t: float) -> None:
        sun, load = self.illumination.sun_fraction(t), self._load()
        self._inputs = (t, sun, load)  # the same read measures at the same instant
        net = self.ARRAY_AMPS * sun - load
        self.soc = min(1.0, max(0.0, self.soc + net * dt / 3600.0 / self.CAPACITY_AH))

    def _measure(self, t: float) -> PowerReading:
        inputs, self._inputs = self._inputs, None
        if inputs is not None and inputs[0] == t:
            sun, base_load = inputs[1], inputs[2]
        else:
            sun, base_load = self.illumination.sun_fraction(t), self._load()
        g = self.rng.gauss
        solar = max(0.0, self.ARRAY_AMPS * sun * (1 + g(0, 0.01)))
        load = base_load * (1 + g(0, 0.01))
        battery = 0.0 if self.soc >= 1.0 and solar > load else solar - load
        volts = 6.4 + 1.9 * self.soc + 0.08 * battery + g(0, 0.005)
        return PowerReading(volts, solar, load, battery, self.soc)


class ThermalModel(_Model):
    """Lumped temperatures that relax towards sun- and heater-dependent equilibria."""

    SENSORS: Final = ("panel_px", "panel_mx", "battery", "obc")
    _TAU_S: Final = {"panel_px": 600.0, "panel_mx": 600.0, "battery": 2400.0, "obc": 1500.0}

    def __init__(self, name: str, illumination: Illumination, rng: random.Random,
                 start: float) -> None:
        super().__init__(name, illumination, rng, start)
        self.temps = {"panel_px": 20.0, "panel_mx": 10.0, "battery": 15.0, "obc": 25.0}
        self.heater_on = False

    def _equilibrium(self, sensor: str, sun: float) -> float:
        if sensor == "panel_px":
            return -45.0 + 110.0 * sun
        if sensor == "panel_mx":
            return -40.0 + 60.0 * sun
        if sensor == "battery":
            return 2.0 + 14.0 * sun + (18.0 if self.heater_on else 0.0)
        return 18.0 + 12.0 * sun

    def _advance(self, dt: float, t: float) -> None:
        sun = self.illumination.sun_fraction(t)
        for s, temp in self.temps.items():
            eq = self._equilibrium(s, sun)
            self.temps[s] = eq + (temp - eq) * math.exp(-dt / self._TAU_S[s])

    def _measure(self, t: float) -> dict[str, float]:
        g = self.rng.gauss
        return {s: temp + g(0, 0.1) for s, temp in self.temps.items()}


MODELS: Final[dict[str, type[_Model]]] = {"eps": PowerModel, "thermal": ThermalModel}


class Simulation:
    """The simulated devices of one run: one model per ``sim://NAME`` binding."""

    def __init__(self, *, seed: int = 0, illumination: Illumination | None = None,
                 start: float = 0.0) -> None:
        self.seed = seed
        self.illumination = illumination or CircularOrbit()
        self.start = start
        self.devices: dict[str, _Model] = {}

    def device(self, url: str) -> Any:
        """The model behind ``sim://NAME`` or ``sim://NAME/INSTANCE`` (kind NAME)."""
        if not url.startswith("sim://"):
            raise ValueError(f"{url!r} is not a simulated device URL (sim://NAME)")
        path = url[len("sim://"):]
        kind = path.split("/", 1)[0]
        if kind not in MODELS:
            raise ValueError(f"no simulated device kind {kind!r} (known: {', '.join(MODELS)})")
        model = self.devices.get(path)
        if model is None:
            rng = random.Random(f"{self.seed}/{path}")
            model = self.devices[path] = MODELS[kind](path, self.illumination, rng, self.start)
            model.simulation = self
        return model


def open_sensor(url: str, resources: dict[str, Any] | Any) -> Any:
    """The device a component is bound to. Simulated devices (``sim://``) come from the runtime's
    `Simulation` resource; real sensor drivers register further schemes here."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme == "sim":
        sim = resources.get("simulation")
        if sim is None:
            raise ValueError(f"{url}: the deployment has no [simulation] table")
        return sim.device(url)
    raise ValueError(f"{url!r}: no sensor driver for scheme {scheme or '(none)'!r} (known: sim)")
