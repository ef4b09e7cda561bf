"""Simulated temperatures: lumped nodes, each relaxing first-order towards an equilibrium that
follows the Sun.

A body panel's equilibrium comes from a radiative balance, calibrated rather than derived:

    T_eq^4 = T_cold^4 + (T_hot^4 - T_cold^4) * E

where E is the sunlight on that face (cosine law, eclipse fraction, 1/d^2): T_cold is what a face
settles at in the dark (Earth infrared and heat leaking from the structure, -40 degC by default)
and T_hot what it reaches facing the Sun (+70 degC). The internal structure follows the mean of all
six faces' equilibria plus its electronics' dissipation, slowly (hours); the battery and the
onboard computer follow the structure, the battery 18 K higher while its heater is on, the
computer by its own dissipation. Each node moves as T += (T_eq - T)(1 - exp(-dt / tau)).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

from flight.sim.errors import SimError
from flight.sim.sensor_models import FACES, OrbitSensor, Sunlight, SunSource, check_positive

KELVIN: Final = 273.15
SENSORS: Final = ("panel_px", "panel_mx", "battery", "obc")


@dataclass(frozen=True)
class ThermalConfig:
    dark_c: float = -40.0
    sunlit_c: float = 70.0
    panel_tau_s: float = 600.0
    structure_tau_s: float = 5400.0
    battery_tau_s: float = 2400.0
    obc_tau_s: float = 1500.0
    structure_dissipation_k: float = 12.0
    obc_dissipation_k: float = 12.0
    heater_k: float = 18.0
    initial_c: float = 15.0
    noise_c: float = 0.1

    def __post_init__(self) -> None:
        if not self.sunlit_c > self.dark_c > -KELVIN:
            raise SimError(f"thermal: sunlit {self.sunlit_c} degC must be above dark "
                           f"{self.dark_c} degC, above absolute zero")
        check_positive("thermal", panel_tau_s=self.panel_tau_s,
                       structure_tau_s=self.structure_tau_s, battery_tau_s=self.battery_tau_s,
                       obc_tau_s=self.obc_tau_s)


class OrbitalThermalModel(OrbitSensor):
    """The ``thermal`` device: `read(t)` gives {panel_px, panel_mx, battery, obc} in degC; the
    thermostat sets `heater_on`."""

    SENSORS: Final = SENSORS

    def __init__(self, name: str, sun: SunSource, rng: random.Random, start: float,
                 config: ThermalConfig | None = None) -> None:
        super().__init__(name, sun, rng, start)
        self.config = config or ThermalConfig()
        self.heater_on = False
        c = self.config
        faces = self.face_equilibria(sun.sunlight(start))
        self.temps = {"panel_px": faces["px"], "panel_mx": faces["mx"],
                      "structure": c.initial_c, "battery": c.initial_c,
                      "obc": c.initial_c + c.obc_dissipation_k}

    def face_equilibria(self, sun: Sunlight) -> dict[str, float]:
        c = self.config
        cold, hot = (c.dark_c + KELVIN) ** 4, (c.sunlit_c + KELVIN) ** 4
        return {face: (cold + (hot - cold) * min(1.0, sun.on_face(n))) ** 0.25 - KELVIN
                for face, n in FACES.items()}

    def _step(self, dt: float, sun: Sunlight) -> None:
        c = self.config
        faces = self.face_equilibria(sun)
        structure = sum(faces.values()) / len(faces) + c.structure_dissipation_k
        targets = {
            "panel_px": (faces["px"], c.panel_tau_s),
            "panel_mx": (faces["mx"], c.panel_tau_s),
            "structure": (structure, c.structure_tau_s),
            "battery": (self.temps["structure"] + (c.heater_k if self.heater_on else 0.0),
                        c.battery_tau_s),
            "obc": (self.temps["structure"] + c.obc_dissipation_k, c.obc_tau_s),
        }
        for node, (eq, tau) in targets.items():
            self.temps[node] = eq + (self.temps[node] - eq) * math.exp(-dt / tau)

    def _measure(self, t: float) -> dict[str, float]:
        g = self.rng.gauss
        return {s: self.temps[s] + g(0.0, self.config.noise_c) for s in SENSORS}
