"""Simulated power and thermal: physics against hand calculations with a controlled Sun, the
runtime's sensor interface, and refsat following the real orbit's eclipses."""

from __future__ import annotations

import math
import random

import pytest

from flight.deployments import resolve
from flight.runtime.deployment import Deployment
from flight.runtime.topics import EVENTS
from flight.sensors import Illumination, PowerReading, SensorError
from flight.sim.environment import Environment
from flight.sim.errors import SimError
from flight.sim.power import PowerConfig, SolarPowerModel, open_circuit_volts
from flight.sim.sensor_models import SensorModel, Sunlight
from flight.sim.thermal import OrbitalThermalModel, ThermalConfig
from hal.clock import SimClock


class FixedSun:
    """A Sun the test controls."""

    def __init__(self, sunlight: Sunlight) -> None:
        self.now = sunlight

    def sunlight(self, t: float) -> Sunlight:
        return self.now


SUN_ON_PX = Sunlight(1.0, (1.0, 0.0, 0.0), 1.0)
DARK = Sunlight(0.0, (1.0, 0.0, 0.0), 1.0)


def _quiet_power(sun: FixedSun, **kw: float) -> SolarPowerModel:
    config = PowerConfig(current_noise=0.0, voltage_noise_v=0.0, **kw)
    return SolarPowerModel("eps", sun, random.Random(1), 0.0, config)


def test_array_follows_the_cosine_law_and_distance() -> None:
    sun = FixedSun(SUN_ON_PX)
    eps = _quiet_power(sun)
    assert eps.array_amps(SUN_ON_PX) == pytest.approx(0.9)
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    oblique = Sunlight(1.0, (c, s, 0.0), 1.0)
    assert eps.array_amps(oblique) == pytest.approx(0.9 * c + 0.9 * s)
    zenith = Sunlight(0.5, (0.0, 0.0, -1.0), 0.98)
    assert eps.array_amps(zenith) == pytest.approx(0.6 * 0.5 / 0.98**2)
    assert eps.array_amps(DARK) == 0.0


def test_battery_charges_in_sun_drains_in_eclipse_by_the_book() -> None:
    sun = FixedSun(DARK)
    eps = _quiet_power(sun, initial_soc=0.6)
    r = eps.read(1800.0)  # half an hour of eclipse at 0.35 A out of 5.2 Ah
    assert isinstance(r, PowerReading)
    assert r.battery_soc == pytest.approx(0.6 - 0.35 * 0.5 / 5.2, abs=1e-12)
    assert r.solar_amps == 0.0 and r.battery_amps == pytest.approx(-0.35)
    assert r.bus_volts == pytest.approx(open_circuit_volts(r.battery_soc) - 0.35 * 0.08)
    sun.now = SUN_ON_PX
    r2 = eps.read(3600.0)
    assert r2.battery_soc == pytest.approx(r.battery_soc + (0.9 - 0.35) * 0.95 * 0.5 / 5.2)
    assert r2.bus_volts > r.bus_volts
    eps.extra_load_amps = 0.5  # a transmitter on
    assert eps.read(3600.0).battery_amps == pytest.approx(0.9 - 0.85)


def test_full_battery_curtails_the_array() -> None:
    eps = _quiet_power(FixedSun(SUN_ON_PX), initial_soc=0.999)
    r = eps.read(7200.0)
    assert r.battery_soc == 1.0
    assert r.solar_amps == pytest.approx(r.load_amps) and r.battery_amps == 0.0


def test_open_circuit_curve() -> None:
    assert open_circuit_volts(0.0) == 6.0 and open_circuit_volts(1.0) == 8.35
    socs = [k / 100 for k in range(101)]
    volts = [open_circuit_volts(s) for s in socs]
    assert volts == sorted(volts)


def test_thermal_nodes_relax_to_their_equilibria() -> None:
    sun = FixedSun(SUN_ON_PX)
    th = OrbitalThermalModel("thermal", sun, random.Random(2), 0.0, ThermalConfig(noise_c=0.0))
    temps = th.read(20 * 3600.0)
    assert temps["panel_px"] == pytest.approx(70.0, abs=0.01)  # facing the Sun
    assert temps["panel_mx"] == pytest.approx(-40.0, abs=0.01)  # facing away
    # structure: mean of the faces (one at 70, five at -40) plus its dissipation
    structure = (((70 + 273.15) + 5 * (-40 + 273.15)) / 6 - 273.15) + 12.0
    assert temps["battery"] == pytest.approx(structure, abs=0.05)
    assert temps["obc"] == pytest.approx(structure + 12.0, abs=0.05)
    th.heater_on = True
    start = th.temps["battery"]
    after = th.read(20 * 3600.0 + 2400.0)["battery"]  # one battery time constant
    assert after - start == pytest.approx(18.0 * (1 - math.exp(-1)), abs=0.05)
    sun.now = DARK
    assert th.read(40 * 3600.0)["panel_px"] == pytest.approx(-40.0, abs=0.01)


def test_fail_stick_recover_follow_the_runtime_contract() -> None:
    env = Environment(seed=3)
    for model in (env.power, env.thermal):
        assert isinstance(model, SensorModel)
        model.fail()
        with pytest.raises(SensorError):
            model.read(1.0)
        model.recover()
        first = model.read(2.0)
        model.stick()
        assert model.read(600.0) == first
        model.recover()
        assert model.read(601.0) != first
    assert set(env.thermal.read(602.0)) == {"panel_px", "panel_mx", "battery", "obc"}
    with pytest.raises(SimError, match="face"):
        PowerConfig(panel_amps={"top": 1.0})
    with pytest.raises(SimError, match="sunlit"):
        ThermalConfig(sunlit_c=-50.0)


def _eclipse_entry(env: Environment, threshold: float) -> float:
    """First time after 0 when the sunlit fraction drops below `threshold` (bisection)."""
    t = 0.0
    while env.at(t).sun_fraction >= threshold:
        t += 5.0
    lo, hi = t - 5.0, t
    while hi - lo > 1e-3:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if env.at(mid).sun_fraction >= threshold else (lo, mid)
    return hi


def _boot_refsat(env: Environment, attach: bool) -> object:
    dep = Deployment.load(resolve("refsat"))
    rt = dep.build(clock=SimClock(), bindings={"nvm": f"mem://sim-sensors-{attach}"},
                   illumination=env.illumination)
    if attach:
        env.attach_sensors(rt.resources["simulation"])
    rt.events = []
    rt.bus.subscribe(EVENTS, rt.events.append, depth=100_000)
    dep.boot(rt)
    return rt


@pytest.fixture(scope="module")
def near_eclipse() -> Environment:
    """An environment whose run starts two minutes before an eclipse entry."""
    probe = Environment()
    start = _eclipse_entry(probe, 0.5) - 120.0
    return Environment(start_utc=probe.timebase.utc(start), seed=4)


def test_refsat_models_follow_the_real_eclipse_through_the_illumination_seam(
        near_eclipse: Environment) -> None:
    assert isinstance(near_eclipse.illumination, Illumination)
    rt = _boot_refsat(near_eclipse, attach=False)
    rt.run(300.0)
    entries = [e.time for e in rt.events if rt.registry.events[e.event_id].name
               == "power.eclipse_entry"]
    # refsat's own model: 2.0 A x sun fraction against its 0.05 A eclipse threshold
    expected = _eclipse_entry(near_eclipse, 0.05 / 2.0)
    assert len(entries) == 1 and abs(entries[0] - expected) < 0.25


def test_refsat_reads_the_environment_models(near_eclipse: Environment) -> None:
    env = Environment(start_utc=near_eclipse.timebase.start_utc, seed=4)
    rt = _boot_refsat(env, attach=True)
    rt.run(60.0)
    assert rt.telemetry.get("power.solar_amps") == pytest.approx(
        env.power.array_amps(env.sunlight(60.0)), rel=0.05)
    load = rt.telemetry.get("power.load_amps")
    cmd = rt.components["cmd"]
    cmd.dispatch(rt.command("thermal.set_heater_mode", 2))  # heater forced on
    rt.run(2.0)
    assert env.thermal.heater_on
    assert rt.telemetry.get("power.load_amps") == pytest.approx(load + 0.45, abs=0.03)
    rt.run(240.0)
    assert rt.telemetry.get("power.in_sun") is False
    assert rt.telemetry.get("power.battery_amps") < 0
    assert rt.telemetry.get("thermal.panel_px_c") == pytest.approx(env.thermal.temps["panel_px"],
                                                                   abs=0.5)
