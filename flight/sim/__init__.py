"""The environment simulator: what the satellite would meet in orbit, on simulated time.

Deterministic: no wall clock is read (every model takes `t`, seconds of the injected simulated
clock, mapped to UTC by a `TimeBase`), and all noise comes from generators seeded from one seed.
I/O-free: the emulator and the HIL rig move the bytes to and from pseudo-terminals.
Guide: docs/simulator.md.
"""

from flight.sim.channel import Delivery, Endpoint, LinkState, RadioChannel
from flight.sim.environment import DELFT, Environment, Snapshot, Step, SunIllumination
from flight.sim.errors import PropagationError, SimError, TimeOrderError, TleError
from flight.sim.gnss import GnssConfig, GnssEpoch, GnssOutput, GnssReceiver, Message
from flight.sim.gnss_sky import GnssSystem
from flight.sim.linkbudget import UHF_DOWNLINK, UHF_UPLINK, LinkBudget, Modulation
from flight.sim.orbit import DEFAULT_TLE, Orbit, OrbitState
from flight.sim.power import PowerConfig, SolarPowerModel
from flight.sim.sensor_models import SensorModel, Sunlight
from flight.sim.stations import GroundStation, Pass, PassSchedule, predict_passes
from flight.sim.sun import Lighting, shadow, sun_position
from flight.sim.thermal import OrbitalThermalModel, ThermalConfig
from flight.sim.timebase import TimeBase

__all__ = [
    "DEFAULT_TLE",
    "DELFT",
    "UHF_DOWNLINK",
    "UHF_UPLINK",
    "Delivery",
    "Endpoint",
    "Environment",
    "GnssConfig",
    "GnssEpoch",
    "GnssOutput",
    "GnssReceiver",
    "GnssSystem",
    "GroundStation",
    "Lighting",
    "LinkBudget",
    "LinkState",
    "Message",
    "Modulation",
    "Orbit",
    "OrbitState",
    "OrbitalThermalModel",
    "Pass",
    "PassSchedule",
    "PowerConfig",
    "PropagationError",
    "RadioChannel",
    "SensorModel",
    "SimError",
    "Snapshot",
    "SolarPowerModel",
    "Step",
    "SunIllumination",
    "Sunlight",
    "ThermalConfig",
    "TimeBase",
    "TimeOrderError",
    "TleError",
    "predict_passes",
    "shadow",
    "sun_position",
]
