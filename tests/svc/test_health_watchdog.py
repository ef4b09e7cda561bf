"""Health and watchdog: pings, recovery of hung components, the watchdog reset, and the boot
record (boot count, reset cause, operating time) across simulated restarts."""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flight.deployments import resolve
from flight.runtime.component import Component, Health, Lifecycle, ThreadedComponent
from flight.runtime.deployment import ComponentDecl, Deployment
from flight.runtime.errors import ConfigError, ReasonCode
from flight.runtime.executive import RateGroup
from flight.runtime.records import Stage
from flight.runtime.runtime import Runtime
from flight.runtime.topics import EVENTS
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.health import EXIT_RESET, HealthMonitor
from flight.svc.modes import ModeCause, ModeManager
from flight.svc.watchdog import (
    BootLog,
    BootRecord,
    BootRecordError,
    ResetCause,
    open_watchdog,
)
from hal.clock import SimClock
from hal.storage import open_storage
from hal.watchdog import LinuxWatchdog, SimWatchdog

_disks = itertools.count()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Stuck(Component):
    """Answers pings while `alive`; `init` (a restart) revives it unless it is dead for good."""

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.alive = True
        self.dead_for_good = False
        self.inits = 0
        self.n = 0

    def configure(self, config: dict[str, Any]) -> None:
        """``alive = false`` in a deployment file: dead from the start, for good."""
        self.alive = bool(config.get("alive", True))
        self.dead_for_good = not self.alive

    def init(self) -> None:
        self.inits += 1
        if not self.dead_for_good:
            self.alive = True

    def cycle(self) -> None:
        self.n += 1

    def answer_ping(self) -> bool:
        return self.alive


class Reader(ThreadedComponent):
    """A worker thread that returns when told to die, as a reader hitting a fatal error does."""

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.die = False

    def worker(self) -> None:
        while not self.stopping and not self.die:
            self.sleep_until(self.clock.monotonic() + 0.1)


MODES = [{"name": "nominal", "id": 0, "to": ["safe"]},
         {"name": "safe", "id": 1, "to": ["nominal"], "off": ["stuck"]}]


def build(disk: str | None = None, *, watchdog: str | None = "sim://watchdog", reader=False,
          **settings) -> Runtime:
    disk = disk or f"mem://health-{next(_disks)}"
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    rt.add(CommandDispatcher("cmd", 0x0400))
    hardware = {"storage": disk}
    if watchdog:
        hardware["watchdog"] = watchdog
    config = {"watchdog_timeout_s": 5.0, "warn_cycles": 2, "fatal_cycles": 4,
              "max_recoveries": 2, "recovery_window_s": 600.0, "checkpoint_s": 60.0}
    config.update(settings)
    rt.add(HealthMonitor("health", 0x0800), hardware=hardware, config=config)
    rt.add(ModeManager("modes", 0x0900), hardware={"storage": disk},
           config={"modes": MODES, "after_reset": "safe"})
    rt.add(Stuck("stuck", 0x1000))
    members = ["stuck", "health"]
    if reader:
        rt.add(Reader("reader", 0x1100))
    rt.add_group(RateGroup("rg1", 0x0300, divisor=10), members)
    rt.add_group(RateGroup("rg10", 0x0310, divisor=1), ["modes"])
    rt.disk = disk
    rt.events = []
    rt.bus.subscribe(EVENTS, rt.events.append, depth=100_000)
    return rt


def events(rt: Runtime, name: str) -> list[tuple]:
    return [e.args for e in rt.events if rt.registry.events[e.event_id].name == name]


def times(rt: Runtime, name: str) -> list[float]:
    return [round(e.time, 3) for e in rt.events if rt.registry.events[e.event_id].name == name]


# --- pings and recovery --------------------------------------------------------------------


def test_a_component_that_stops_answering_is_warned_restarted_and_answers_again():
    rt = build()
    rt.run(2.5)
    stuck = rt.components["stuck"]
    stuck.alive = False
    rt.run(10.0)
    assert times(rt, "health.ping_late") == [4.0] and events(rt, "health.ping_late") == [
        ("stuck", 2)]
    assert events(rt, "health.hung") == [("stuck", 4, 1, "restart")]
    assert times(rt, "health.hung") == [6.0]
    assert stuck.inits == 2 and stuck.lifecycle is Lifecycle.RUNNING
    assert times(rt, "health.answering") == [7.0]
    assert stuck.n == 13  # a cycle every second (0 to 12 s), none lost to the restart
    assert stuck.health is Health.WARNING  # until an operator clears it
    assert rt.telemetry.get("health.recoveries") == 1
    assert rt.telemetry.get("health.watchdog_fed") is True
    assert rt.components["health"].watchdog.resets == 0


def test_a_component_that_stays_hung_is_given_up_and_the_watchdog_resets_the_computer():
    rt = build()
    rt.run(2.5)
    stuck = rt.components["stuck"]
    stuck.alive, stuck.dead_for_good = False, True
    rt.run(60.0)
    assert [e[2:] for e in events(rt, "health.hung")] == [(1, "restart"), (2, "restart")]
    assert times(rt, "health.hung") == [6.0, 10.0]
    assert events(rt, "health.given_up") == [("stuck", 2, "watchdog reset within 5 s")]
    assert times(rt, "health.given_up") == [14.0]
    assert stuck.health is Health.FAULT
    assert rt.clock.monotonic() == 18.0  # the runtime stopped at the reset
    assert rt.components["health"].reset_requested is ResetCause.WATCHDOG
    rt.shutdown()  # delivers the last tick's events
    assert events(rt, "health.watchdog_reset") == [(18.0,)]  # last fed at 13.0, timeout 5 s
    again = build(rt.disk)
    again.run(1.0)
    health = again.components["health"]
    assert (health.boot_cause, health.boot_log.record.boots) == (ResetCause.WATCHDOG, 2)
    assert again.telemetry.get("health.reset_cause") is ResetCause.WATCHDOG
    assert again.telemetry.get("health.boot_count") == 2
    assert again.components["modes"].current.name == "safe"  # after_reset


def test_a_restart_that_fails_leaves_the_component_down_until_it_is_given_up():
    rt = build()
    rt.run(2.5)
    stuck = rt.components["stuck"]
    stuck.alive = False

    def broken_init() -> None:
        raise OSError("unit does not power up")

    stuck.init = broken_init
    rt.run(20.0)
    assert events(rt, "health.restart_failed") == [("stuck", "OSError: unit does not power up")] * 2
    assert stuck.lifecycle is Lifecycle.STOPPED and stuck.health is Health.FAULT
    assert times(rt, "health.given_up") == [14.0]


def test_a_dead_worker_thread_does_not_answer_and_without_recovery_resets_at_once():
    rt = build(reader=True)
    rt.run(2.5)
    rt.components["reader"].die = True
    rt.run(30.0)
    assert not events(rt, "health.hung")  # threaded: no restart by default
    assert events(rt, "health.given_up") == [("reader", 0, "watchdog reset within 5 s")]
    assert times(rt, "health.given_up") == [6.0]
    rt.shutdown()
    assert times(rt, "health.watchdog_reset") == [10.0]


def test_a_mode_recovery_switches_the_hung_component_off():
    rt = build(recoveries={"stuck": "mode:safe"})
    rt.run(2.5)
    stuck = rt.components["stuck"]
    stuck.alive, stuck.dead_for_good = False, True
    rt.run(30.0)
    assert events(rt, "health.hung") == [("stuck", 4, 1, "mode:safe")]
    assert events(rt, "modes.changed") == [("nominal", "safe", ModeCause.HEALTH)]
    assert stuck.lifecycle is Lifecycle.STOPPED
    assert not events(rt, "health.given_up") and not events(rt, "health.watchdog_reset")
    assert rt.telemetry.get("health.not_answering") == 0


def test_clearing_a_given_up_component_calls_the_reset_off():
    rt = build()
    rt.run(2.5)
    stuck = rt.components["stuck"]
    stuck.alive, stuck.dead_for_good = False, True
    rt.run(12.0)  # given up at 14.0, the reset would come at 18.0
    assert events(rt, "health.given_up") and rt.telemetry.get("health.watchdog_fed") is False
    assert rt.components["health"].boot_log.record.next_cause is ResetCause.WATCHDOG
    stuck.alive = True  # the operator fixed it
    cmd = rt.components["cmd"]
    assert cmd.dispatch(rt.command("health.clear_health", "stuck")).stage is Stage.COMPLETED
    rt.run(30.0)
    assert not events(rt, "health.watchdog_reset")
    assert rt.components["health"].boot_log.record.next_cause is None
    assert stuck.health is Health.OK and rt.telemetry.get("health.watchdog_fed") is True


def test_pings_can_be_disabled_by_command():
    rt = build()
    rt.run(1.0)
    cmd = rt.components["cmd"]
    assert cmd.dispatch(rt.command("health.set_pinged", "stuck", False)).stage is Stage.COMPLETED
    rt.components["stuck"].alive = False
    rt.run(10.0)
    assert not events(rt, "health.ping_late")
    report = cmd.dispatch(rt.command("health.set_pinged", "ghost", True))
    assert (report.stage, report.reason) == (Stage.COMPLETION_FAILED, ReasonCode.NOT_FOUND)


def test_without_a_watchdog_a_hung_component_is_given_up_and_the_software_runs_on():
    rt = build(watchdog=None)
    rt.run(1.0)
    stuck = rt.components["stuck"]
    stuck.alive, stuck.dead_for_good = False, True
    rt.run(30.0)
    assert events(rt, "health.given_up") == [("stuck", 2, "no watchdog bound; running on")]
    assert rt.clock.monotonic() == 31.0


# --- resets and the boot record ----------------------------------------------------------------


def test_boot_count_reset_cause_and_operating_time_across_restarts():
    rt = build()
    rt.run(100.0)
    assert events(rt, "health.booted") == [(1, ResetCause.POWER_ON, 0.0)]
    assert rt.telemetry.get("health.uptime_s") == pytest.approx(99.0)
    rt.shutdown()  # an orderly stop
    second = build(rt.disk)
    second.run(70.0)
    assert events(second, "health.booted") == [(2, ResetCause.COMMANDED, 100.0)]
    assert second.telemetry.get("health.operating_s") == pytest.approx(169.0)
    # no shutdown: the process vanished 70 s in; the checkpoint at 60 s is what survives
    third = build(rt.disk)
    third.run(1.0)
    assert events(third, "health.booted") == [(3, ResetCause.UNKNOWN, 160.0)]
    third.components["cmd"].dispatch(third.command("health.reset_software"))
    third.run(10.0)
    assert third.clock.monotonic() == 1.0  # stopped at the command
    assert third.components["health"].reset_requested is ResetCause.COMMANDED
    third.shutdown()
    assert events(third, "health.reset_commanded")
    fourth = build(rt.disk)
    fourth.run(1.0)
    assert events(fourth, "health.booted")[0][:2] == (4, ResetCause.COMMANDED)


def test_a_corrupt_boot_record_is_reported_and_counting_starts_again():
    disk = f"mem://health-{next(_disks)}"
    open_storage(disk).save("boot.db", msgpack.packb({"format": 1, "boots": -3}))
    rt = build(disk)
    rt.run(1.0)
    assert "boot count -3" in events(rt, "health.boot_record_problem")[0][0]
    assert events(rt, "health.booted") == [(1, ResetCause.UNKNOWN, 0.0)]


@pytest.mark.parametrize(("record", "watchdog", "cause"), [
    (BootRecord(3, 10.0, True, None), False, ResetCause.UNKNOWN),
    (BootRecord(3, 10.0, True, None), True, ResetCause.WATCHDOG),
    (BootRecord(3, 10.0, False, None), False, ResetCause.COMMANDED),
    (BootRecord(3, 10.0, True, ResetCause.COMMANDED), True, ResetCause.COMMANDED),
    (BootRecord(3, 10.0, False, ResetCause.WATCHDOG), False, ResetCause.WATCHDOG),
])
def test_the_cause_of_a_boot_follows_the_record_left_by_the_previous_one(record, watchdog, cause):
    assert record.cause_of_this_boot(watchdog_says=watchdog) is cause
    assert BootRecord.unpack(record.pack()) == record


def test_the_boot_log_without_storage_counts_one_power_on_boot():
    log = BootLog(None)
    log.load()
    assert log.begin(watchdog_says=False) is ResetCause.POWER_ON
    assert log.record == BootRecord(1, 0.0, True, None)


@given(st.binary(max_size=64) | st.builds(
    msgpack.packb, st.dictionaries(st.sampled_from(["format", "boots", "operating_s", "running",
                                                    "next_cause", "x"]),
                                   st.none() | st.booleans() | st.integers(-5, 5)
                                   | st.floats(allow_nan=True) | st.text(max_size=3))))
def test_any_stored_bytes_decode_to_a_valid_record_or_are_rejected_with_a_reason(data):
    try:
        record = BootRecord.unpack(data)
    except BootRecordError as exc:
        assert exc.detail
        return
    assert record.boots >= 0 and record.operating_s >= 0 and isinstance(record.running, bool)


def test_watchdog_urls():
    clock = SimClock()
    sim = open_watchdog("sim://watchdog", clock, 2.5, lambda t: None)
    assert isinstance(sim, SimWatchdog) and sim.timeout_s == 2.5
    dev = open_watchdog("/dev/watchdog0", clock, 2.5, lambda t: None)
    assert isinstance(dev, LinuxWatchdog) and dev.requested_timeout_s == 3
    for url in ("sim://eps", "watchdog", "file:///dev/watchdog"):
        with pytest.raises(ValueError):
            open_watchdog(url, clock, 2.5, lambda t: None)
    with pytest.raises(ValueError, match="outside"):
        open_watchdog("/dev/watchdog", clock, 70000.0, lambda t: None)


def test_a_watchdog_that_fails_to_start_is_reported_and_the_software_runs_without(tmp_path):
    rt = build(watchdog=str(tmp_path / "not-a-watchdog"))  # a plain file: the ioctls fail
    rt.run(2.0)
    health = rt.components["health"]
    assert health.watchdog is None and health.health is Health.WARNING
    assert "not started, running without" in events(rt, "health.watchdog_failed")[0][0]
    assert rt.telemetry.get("health.boot_count") == 1


def test_a_watchdog_url_that_names_no_watchdog_is_a_deployment_error():
    rt = build(watchdog="sim://eps")
    with pytest.raises(ConfigError, match="sim://watchdog") as err:
        rt.boot()
    assert err.value.key == "health.hardware.watchdog"


@pytest.mark.parametrize(("settings", "key"), [
    ({"warn_cycles": 4, "fatal_cycles": 4}, "fatal_cycles"),
    ({"warn_cycles": 0}, "warn_cycles"),
    ({"recovery": "reboot"}, "recovery"),
    ({"recovery": "mode:"}, "recovery"),
    ({"recoveries": {"stuck": "restart", "cmd": "fix"}}, "recoveries.cmd"),
    ({"watchdog_timeout_s": 0}, "watchdog_timeout_s"),
    ({"colour": "red"}, "colour"),
])
def test_bad_health_settings_are_rejected_naming_the_key(settings, key):
    with pytest.raises(ConfigError) as err:
        HealthMonitor("health", 0x0800).configure(settings)
    assert err.value.key == key


@pytest.mark.parametrize(("settings", "key", "detail"), [
    ({"recoveries": {"ghost": "restart"}}, "recoveries.ghost", "no component"),
    ({"recoveries": {"reader": "restart"}}, "recoveries.reader", "worker thread"),
    ({"recoveries": {"cmd": "restart"}}, "recoveries.cmd", "part of the framework"),
    ({"recoveries": {"stuck": "mode:warp"}}, "recoveries.stuck", "no mode named"),
])
def test_recoveries_are_checked_against_the_deployment(settings, key, detail):
    rt = build(reader=True, **settings)
    with pytest.raises(ConfigError) as err:
        rt.prepare()
    assert err.value.key == key and detail in err.value.detail


def test_the_watchdog_timeout_must_cover_two_health_cycles():
    rt = build(watchdog_timeout_s=1.5)
    with pytest.raises(ConfigError, match="two health cycles"):
        rt.boot()


# --- refsat ----------------------------------------------------------------------------------


def refsat_with_stuck(disk: str) -> Runtime:
    dep = Deployment.load(resolve("refsat"))
    dep.components.append(ComponentDecl(len(dep.components), "stuck", Stuck,
                                        "tests.svc.test_health_watchdog:Stuck", 0x7000, {}, {}))
    dep.groups = [dataclasses.replace(g, members=(*g.members, "stuck")) if g.name == "rg1hz"
                  else g for g in dep.groups]
    rt = dep.build(clock=SimClock(), bindings={"nvm": disk})
    rt.events = []
    rt.bus.subscribe(EVENTS, rt.events.append, depth=100_000)
    dep.boot(rt)
    return rt


def test_refsat_a_hung_component_is_restarted_then_the_watchdog_resets_and_it_reboots_safe():
    disk = f"mem://health-refsat-{next(_disks)}"
    rt = refsat_with_stuck(disk)
    rt.run(10.0)
    assert rt.components["cmd"].dispatch(rt.command("modes.set_mode", "nominal")).stage is (
        Stage.COMPLETED)
    rt.run(20.0)
    stuck = rt.components["stuck"]
    stuck.alive, stuck.dead_for_good = False, True
    rt.run(120.0)
    rt.shutdown()
    assert times(rt, "health.hung") == [33.5, 37.5]  # health runs at x.5 s
    assert times(rt, "health.given_up") == [41.5]
    assert times(rt, "health.watchdog_reset") == [50.5]  # last fed at 40.5, timeout 10 s
    assert rt.telemetry.get("health.boot_count") == 1
    again = refsat_with_stuck(disk)
    again.run(20.0)
    assert again.telemetry.get("health.boot_count") == 2
    assert again.telemetry.get("health.reset_cause") is ResetCause.WATCHDOG
    assert again.telemetry.get("modes.mode") == 1  # safe, after an unexpected reset
    assert events(again, "modes.booted") == [("safe", ResetCause.WATCHDOG, "nominal")]
    assert again.telemetry.get("health.operating_s") == pytest.approx(50.5 + 19.5)


def test_flight_run_exits_with_the_reset_status_after_a_watchdog_reset(tmp_path):
    deployment = tmp_path / "hang.toml"
    deployment.write_text("""
[deployment]
name = "hang"
tick_hz = 10

[hardware]
nvm = "mem://hang"
watchdog = "sim://watchdog"

[[components]]
name = "health"
class = "flight.svc.health:HealthMonitor"
base_id = 0x0800
hardware = { storage = "nvm", watchdog = "watchdog" }
watchdog_timeout_s = 3.0
warn_cycles = 1
fatal_cycles = 2
max_recoveries = 1

[[components]]
name = "stuck"
class = "tests.svc.test_health_watchdog:Stuck"
base_id = 0x1000
alive = false

[[rate_groups]]
name = "rg1hz"
base_id = 0x0300
rate_hz = 1
members = ["stuck", "health"]
""")
    r = subprocess.run([sys.executable, "-m", "flight", "run", str(deployment), "--sim",
                        "--duration", "60"], capture_output=True, text=True, timeout=120,
                       cwd=ROOT)
    assert r.returncode == EXIT_RESET, r.stderr
    assert "health.given_up" in r.stdout and "health.watchdog_reset" in r.stdout
    assert "ran 5.1 s (simulated)" in r.stdout  # given up at 3 s; last fed at 2 s, + 3 s
    assert "watchdog reset; exit status 3" in r.stderr
