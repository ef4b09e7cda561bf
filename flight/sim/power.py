"""Simulated electrical power system: body-mounted solar panels, a Li-ion battery, the bus.

Solar array: each face's panel gives its short-circuit-limited current at normal incidence
(`panel_amps`) times the cosine of the Sun's angle to the face, times the visible fraction of the
solar disc, times 1/d^2 (Earth albedo is neglected). The array feeds the loads first; the rest
charges the battery (charge efficiency `charge_efficiency`), and a full battery makes the array
regulator back off so the array supplies only the load. In eclipse the battery carries the load.

Battery: two Li-ion cells in series, state of charge integrated from its current; the bus
voltage is the open-circuit voltage of that charge (a typical 2S curve, 6.0 V empty to 8.4 V full)
plus the current through the internal resistance (up while charging, down while discharging).
Loads: a base load, `heater_amps` for every heater that is on, and `extra_load_amps` that a
scenario switches (a transmitter during a pass, the payload during a capture).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from flight.sensors import PowerReading
from flight.sim.errors import SimError
from flight.sim.sensor_models import FACES, OrbitSensor, Sunlight, SunSource, check_positive

# 2S Li-ion open-circuit voltage against state of charge
OCV_CURVE: Final = ((0.0, 6.00), (0.05, 6.60), (0.10, 6.90), (0.20, 7.14), (0.40, 7.40),
                    (0.60, 7.62), (0.80, 7.94), (0.90, 8.12), (1.00, 8.35))


def open_circuit_volts(soc: float) -> float:
    socs = [s for s, _ in OCV_CURVE]
    i = min(max(bisect.bisect_right(socs, soc), 1), len(OCV_CURVE) - 1)
    (s0, v0), (s1, v1) = OCV_CURVE[i - 1], OCV_CURVE[i]
    return v0 + (v1 - v0) * (min(max(soc, 0.0), 1.0) - s0) / (s1 - s0)


@dataclass(frozen=True)
class PowerConfig:
    panel_amps: dict[str, float] = field(default_factory=lambda: {
        "px": 0.9, "mx": 0.9, "py": 0.9, "my": 0.9, "mz": 0.6})  # a 6U with body-mounted cells
    capacity_ah: float = 5.2
    initial_soc: float = 0.8
    base_load_amps: float = 0.35
    heater_amps: float = 0.45
    internal_resistance_ohm: float = 0.08
    charge_efficiency: float = 0.95
    current_noise: float = 0.01  # relative, 1 sigma
    voltage_noise_v: float = 0.005

    def __post_init__(self) -> None:
        unknown = set(self.panel_amps) - set(FACES)
        if unknown:
            raise SimError(f"power: no body face {sorted(unknown)} (faces: {', '.join(FACES)})")
        if any(a < 0 for a in self.panel_amps.values()):
            raise SimError("power: panel currents must not be negative")
        check_positive("power", capacity_ah=self.capacity_ah,
                       charge_efficiency=self.charge_efficiency)
        if not 0.0 <= self.initial_soc <= 1.0:
            raise SimError(f"power: initial_soc {self.initial_soc} must be within [0, 1]")
        if self.charge_efficiency > 1.0:
            raise SimError("power: charge efficiency above 1")


class SolarPowerModel(OrbitSensor):
    """The ``eps`` device: `read(t)` gives a `flight.sensors.PowerReading`."""

    def __init__(self, name: str, sun: SunSource, rng: random.Random, start: float,
                 config: PowerConfig | None = None,
                 heaters_on: Callable[[], int] = lambda: 0) -> None:
        super().__init__(name, sun, rng, start)
        self.config = config or PowerConfig()
        self.soc = self.config.initial_soc
        self.extra_load_amps = 0.0
        self.heaters_on = heaters_on

    def array_amps(self, sun: Sunlight) -> float:
        return sum(amps * sun.on_face(FACES[face])
                   for face, amps in self.config.panel_amps.items())

    def load_amps(self) -> float:
        c = self.config
        return c.base_load_amps + self.extra_load_amps + c.heater_amps * self.heaters_on()

    def _balance(self, sun: Sunlight) -> tuple[float, float, float]:
        """(array, load, battery) currents; battery positive while charging."""
        array, load = self.array_amps(sun), self.load_amps()
        if self.soc >= 1.0 and array > load:
            return load, load, 0.0
        return array, load, array - load

    def _step(self, dt: float, sun: Sunlight) -> None:
        _, _, battery = self._balance(sun)
        gain = battery * (self.config.charge_efficiency if battery > 0 else 1.0)
        self.soc = min(1.0, max(0.0, self.soc + gain * dt / 3600.0 / self.config.capacity_ah))

    def _measure(self, t: float) -> PowerReading:
        c = self.config
        array, load, battery = self._balance(self.sun.sunlight(t))
        g = self.rng.gauss
        volts = (open_circuit_volts(self.soc) + battery * c.internal_resistance_ohm
                 + g(0.0, c.voltage_noise_v))
        if self.soc <= 0.0 and battery < 0:
            volts = min(volts, OCV_CURVE[0][1] - 0.5)  # a flat battery cannot hold the bus
        solar = max(0.0, array * (1.0 + g(0.0, c.current_noise)))
        drawn = load * (1.0 + g(0.0, c.current_noise))
        return PowerReading(volts, solar, drawn, solar - drawn if battery != 0 else 0.0,
                            self.soc)
