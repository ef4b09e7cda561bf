"""The common part of the simulated power and thermal sensors: the interface `refsat` reads them
through, and the geometry they follow.

`refsat`'s components (flight/refsat/power.py, thermal.py) get their device from the runtime's
`flight.sensors.Simulation` by the hardware URL ``sim://NAME`` and use it like this: `read(t)`
with the runtime clock's time, returning a `flight.sensors.PowerReading` (``eps``) or a dict of
temperatures by sensor name (``thermal``: panel_px, panel_mx, battery, obc); `fail()`, `stick()`
and `recover()` for fault injection; a `heater_on` attribute the thermostat sets; an
`extra_load_amps` attribute for switched loads. A read of a failed device raises
`flight.sensors.SensorError`. `SensorModel` states that contract; the models here keep it, with
readings that follow the real orbit's sun angle and eclipses from a `SunSource` (the
`Environment`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

from flight.sensors import SensorError
from flight.sim.errors import SimError
from flight.sim.frames import Vec3

MAX_STEP_S: Final = 10.0

# Body faces of a nadir-pointing spacecraft (LVLH: +X along the velocity, +Z towards nadir, +Y
# opposite the orbit normal), as outward unit normals.
FACES: Final[dict[str, Vec3]] = {
    "px": (1.0, 0.0, 0.0), "mx": (-1.0, 0.0, 0.0), "py": (0.0, 1.0, 0.0),
    "my": (0.0, -1.0, 0.0), "pz": (0.0, 0.0, 1.0), "mz": (0.0, 0.0, -1.0),
}


@dataclass(frozen=True, slots=True)
class Sunlight:
    """What the Sun does to the spacecraft at one instant."""

    fraction: float  # of the solar disc visible (0 in umbra)
    direction_body: Vec3  # unit vector to the Sun in the body frame
    distance_au: float

    def on_face(self, normal: Vec3) -> float:
        """Irradiance on a face relative to normal incidence at 1 au (cosine law)."""
        cos = (normal[0] * self.direction_body[0] + normal[1] * self.direction_body[1]
               + normal[2] * self.direction_body[2])
        return max(0.0, cos) * self.fraction / (self.distance_au * self.distance_au)


@runtime_checkable
class SunSource(Protocol):
    def sunlight(self, t: float) -> Sunlight: ...


@runtime_checkable
class SensorModel(Protocol):
    """What `refsat`'s components use of a simulated device (see the module docstring)."""

    def read(self, t: float) -> Any: ...

    def fail(self) -> None: ...

    def stick(self) -> None: ...

    def recover(self) -> None: ...


class OrbitSensor:
    """Integrates a model over simulated time between reads (in steps of at most `MAX_STEP_S`,
    taking the Sun at each step's middle) and measures it with seeded noise."""

    def __init__(self, name: str, sun: SunSource, rng: random.Random, start: float) -> None:
        self.name = name
        self.sun = sun
        self.rng = rng
        self.t = start
        self.failed = False
        self.stuck: Any = None
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
        self.advance(t)
        self._last = self._measure(t)
        return self.stuck if self.stuck is not None else self._last

    def advance(self, t: float) -> None:
        """Move the model's state to `t` (a read at an earlier time measures the current state)."""
        while t > self.t:
            dt = min(MAX_STEP_S, t - self.t)
            self._step(dt, self.sun.sunlight(self.t + 0.5 * dt))
            self.t += dt

    def _step(self, dt: float, sun: Sunlight) -> None:
        raise NotImplementedError

    def _measure(self, t: float) -> Any:
        raise NotImplementedError


def check_positive(owner: str, **values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise SimError(f"{owner}: {name} = {value} must be positive")
