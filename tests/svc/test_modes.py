"""The mode manager: table checks, transitions and their effects, persistence across resets."""

from __future__ import annotations

import copy
import itertools

import pytest

from flight.runtime.component import Channel, Component, Event, Health, Lifecycle, Param, command
from flight.runtime.deployment import Deployment, DeploymentError
from flight.runtime.errors import ConfigError, ReasonCode
from flight.runtime.executive import RateGroup
from flight.runtime.records import Severity, Stage
from flight.runtime.runtime import Runtime
from flight.runtime.types import F32, U32, String
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.health import HealthMonitor
from flight.svc.modes import ModeCause, ModeManager
from flight.svc.params import ParameterDatabase
from flight.svc.sequencer import Sequencer
from flight.svc.watchdog import ResetCause
from hal.clock import SimClock

_disks = itertools.count()


class Unit(Component):
    """A unit that counts its lifecycle calls and cycles, and says words by command."""

    cycles = Channel(1, U32)
    gain = Param(1, F32(min=0.0, max=10.0), 1.0)
    said = Event(1, Severity.ACTIVITY_LO, "said {word}", word=String(16))

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.inits = self.starts = self.stops = self.n = 0
        self.words: list[str] = []
        self.fail_init = False

    def init(self) -> None:
        if self.fail_init:
            raise OSError("no power on the unit")
        self.inits += 1

    def start(self) -> None:
        self.starts += 1

    def stop(self) -> None:
        self.stops += 1

    def cycle(self) -> None:
        self.n += 1
        self.tlm(self.cycles, self.n)

    @command(1, word=String(16))
    def say(self, word: str) -> None:
        self.words.append(word)


TABLE = [
    {"name": "boot", "id": 0, "to": ["safe", "nominal"], "off": ["camera"]},
    {"name": "safe", "id": 1, "to": ["nominal"], "off": ["camera"],
     "params": {"heater.gain": 2.5},
     "on_entry": [{"command": "heater.say", "args": ["safe-in"]}],
     "on_exit": [{"command": "heater.say", "args": ["safe-out"]}]},
    {"name": "nominal", "id": 2, "to": ["safe", "payload"], "off": ["camera"],
     "params": {"heater.gain": 1.0}},
    {"name": "payload", "id": 3, "to": ["safe", "nominal"],
     "on_entry": [{"command": "camera.say", "args": ["cheese"]}]},
]


def build(disk: str | None = None, table: list | None = None, **config) -> Runtime:
    disk = disk or f"mem://modes-{next(_disks)}"
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    rt.add(CommandDispatcher("cmd", 0x0400))
    rt.add(ParameterDatabase("prmdb", 0x0500), hardware={"storage": disk})
    rt.add(HealthMonitor("health", 0x0800), hardware={"storage": disk})
    settings = {"modes": copy.deepcopy(table or TABLE), "initial": "boot", "after_reset": "safe"}
    settings.update(config)
    rt.add(ModeManager("modes", 0x0900), hardware={"storage": disk}, config=settings)
    rt.add(Unit("heater", 0x1000))
    rt.add(Unit("camera", 0x1100))
    rt.add_group(RateGroup("rg", 0x0300, divisor=1), ["heater", "camera", "modes", "health"])
    rt.connect("modes.commands", "cmd.commands")
    rt.events = []
    rt.bus.subscribe("sys.events", rt.events.append, depth=10_000)
    return rt


def events(rt: Runtime, name: str) -> list[tuple]:
    return [e.args for e in rt.events if rt.registry.events[e.event_id].name == name]


def send(rt: Runtime, name: str, *args) -> Stage:
    report = rt.components["cmd"].dispatch(rt.command(name, *args))
    rt.run(0.1)
    return report


def test_first_boot_enters_the_initial_mode_and_switches_off_what_it_lists():
    rt = build()
    rt.run(1.0)
    modes, camera = rt.components["modes"], rt.components["camera"]
    assert modes.current.name == "boot"
    assert rt.telemetry.get("modes.mode") == 0
    assert events(rt, "modes.booted") == [("boot", ResetCause.POWER_ON, "")]
    assert camera.lifecycle is Lifecycle.STOPPED and camera.stops == 1
    assert camera.n <= 1  # at most the cycle before the manager's first cycle
    assert rt.components["heater"].n == 10
    refused = rt.components["cmd"].dispatch(rt.command("camera.say", "hello"))
    assert (refused.stage, refused.reason) == (Stage.START_FAILED,
                                               ReasonCode.COMPONENT_UNAVAILABLE)


def test_transitions_run_exit_commands_switch_units_set_parameters_and_entry_commands():
    rt = build()
    rt.run(1.0)
    heater, camera = rt.components["heater"], rt.components["camera"]
    assert send(rt, "modes.set_mode", "safe").stage is Stage.COMPLETED
    assert heater.words == ["safe-in"] and heater.gain == 2.5
    assert events(rt, "modes.changed")[-1] == ("boot", "safe", ModeCause.COMMAND)
    assert send(rt, "modes.set_mode", "nominal").stage is Stage.COMPLETED
    assert heater.words == ["safe-in", "safe-out"] and heater.gain == 1.0
    frozen = camera.n
    rt.run(1.0)
    assert camera.n == frozen
    assert send(rt, "modes.set_mode", "payload").stage is Stage.COMPLETED
    assert camera.lifecycle is Lifecycle.RUNNING and (camera.inits, camera.starts) == (2, 2)
    assert camera.words == ["cheese"]  # its entry command reached it once it was on
    rt.run(1.0)
    assert camera.n >= frozen + 10
    assert rt.telemetry.get("modes.mode") == 3 and rt.telemetry.get("modes.transitions") == 3
    assert [e[:2] for e in events(rt, "modes.changed")] == [
        ("boot", "safe"), ("safe", "nominal"), ("nominal", "payload")]


def test_refused_and_malformed_transitions_fail_verification():
    rt = build()
    rt.run(1.0)
    cmd = rt.components["cmd"]
    report = cmd.dispatch(rt.command("modes.set_mode", "payload"))  # not reachable from boot
    assert (report.stage, report.reason) == (Stage.COMPLETION_FAILED, ReasonCode.EXECUTION_FAILED)
    rt.run(0.1)
    assert events(rt, "modes.refused_event")[-1][:2] == ("payload", "boot")
    report = cmd.dispatch(rt.command("modes.set_mode", "warp"))
    assert (report.stage, report.reason) == (Stage.COMPLETION_FAILED, ReasonCode.NOT_FOUND)
    report = cmd.dispatch(rt.command("modes.set_mode", 3))
    assert (report.stage, report.reason) == (Stage.ACCEPTANCE_FAILED, ReasonCode.WRONG_ARG_TYPE)
    report = cmd.dispatch(rt.command("modes.set_mode", "x" * 25))
    assert (report.stage, report.reason) == (Stage.ACCEPTANCE_FAILED, ReasonCode.OUT_OF_RANGE)
    assert rt.components["modes"].current.name == "boot"
    assert rt.telemetry.get("modes.refused") == 1


def test_a_stored_sequence_changes_the_mode_as_a_command():
    rt = build()
    rt.add(Sequencer("seq", 0x0B00), config={"sequences": {
        "wake": "+0 modes.set_mode nominal\n+5 modes.set_mode payload\n"}})
    rt.groups["rg"].add_member(rt.components["seq"])
    rt.run(1.0)
    assert send(rt, "seq.start", "wake").stage is Stage.COMPLETED
    rt.run(6.0)
    assert events(rt, "modes.changed") == [("boot", "nominal", ModeCause.COMMAND),
                                           ("nominal", "payload", ModeCause.COMMAND)]
    assert times_of(rt, "modes.changed")[1] - times_of(rt, "modes.changed")[0] == 5.0


def times_of(rt: Runtime, name: str) -> list[float]:
    return [round(e.time, 3) for e in rt.events if rt.registry.events[e.event_id].name == name]


def test_a_request_reports_its_cause_and_is_a_no_op_in_the_current_mode():
    rt = build()
    rt.run(0.5)
    modes = rt.components["modes"]
    assert modes.request("safe", ModeCause.FDIR)
    assert modes.request("safe", ModeCause.FDIR)  # already there: nothing happens
    assert not modes.request("payload", ModeCause.HEALTH)
    rt.run(0.5)
    assert events(rt, "modes.changed") == [("boot", "safe", ModeCause.FDIR)]
    assert rt.components["heater"].words == ["safe-in"]


def test_the_mode_survives_an_orderly_restart_and_an_unexpected_one_enters_after_reset():
    disk = f"mem://modes-{next(_disks)}"
    rt = build(disk)
    rt.run(0.5)
    send(rt, "modes.set_mode", "nominal")
    rt.shutdown()  # orderly: the next boot is COMMANDED and resumes the stored mode
    again = build(disk)
    again.run(0.5)
    assert again.components["health"].boot_cause is ResetCause.COMMANDED
    assert again.components["modes"].current.name == "nominal"
    assert events(again, "modes.booted") == [("nominal", ResetCause.COMMANDED, "nominal")]
    send(again, "modes.set_mode", "payload")
    # no shutdown: the software vanished (a crash, a power cut) -> UNKNOWN -> after_reset
    crashed = build(disk)
    crashed.run(0.5)
    assert crashed.components["modes"].current.name == "safe"
    assert events(crashed, "modes.booted") == [("safe", ResetCause.UNKNOWN, "payload")]
    assert crashed.components["camera"].lifecycle is Lifecycle.STOPPED


def test_without_after_reset_an_unexpected_reset_resumes_the_stored_mode():
    disk = f"mem://modes-{next(_disks)}"
    rt = build(disk, after_reset=None)
    rt.run(0.5)
    send(rt, "modes.set_mode", "nominal")
    again = build(disk, after_reset=None)
    again.run(0.5)
    assert again.components["health"].boot_cause is ResetCause.UNKNOWN
    assert again.components["modes"].current.name == "nominal"


def test_a_unit_that_fails_to_switch_on_is_reported_faulty_and_the_mode_still_changes():
    rt = build()
    rt.run(0.5)
    send(rt, "modes.set_mode", "nominal")
    camera = rt.components["camera"]
    camera.fail_init = True
    assert send(rt, "modes.set_mode", "payload").stage is Stage.COMPLETED
    assert rt.components["modes"].current.name == "payload"
    assert camera.lifecycle is Lifecycle.STOPPED and camera.health is Health.FAULT
    assert events(rt, "modes.switch_failed")[0][:2] == ("camera", "on")
    assert rt.telemetry.get("modes.switch_failures") == 1


def _mutated(path: tuple, value) -> list:
    table = copy.deepcopy(TABLE)
    target = table
    for step in path[:-1]:
        target = target[step]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return table


@pytest.mark.parametrize(("table", "key"), [
    ([], "modes"),
    ("boot", "modes"),
    (_mutated((1, "name"), "boot"), "modes[1].name"),
    (_mutated((1, "name"), "safe mode"), "modes[1].name"),
    (_mutated((1, "id"), 0), "modes[1].id"),
    (_mutated((1, "id"), 256), "modes[1].id"),
    (_mutated((1, "id"), KeyError), "modes[1].id"),
    (_mutated((1, "to"), ["nowhere"]), "modes[1].to[0]"),
    (_mutated((1, "to"), ["safe"]), "modes[1].to[0]"),
    (_mutated((1, "to"), "nominal"), "modes[1].to"),
    (_mutated((1, "off"), ["camera", "camera"]), "modes[1].off[1]"),
    (_mutated((1, "colour"), "red"), "modes[1].colour"),
    (_mutated((1, "params"), {"heater.gain": float("nan")}), "modes[1].params.heater.gain"),
    (_mutated((1, "on_entry"), [{"command": "heater"}]), "modes[1].on_entry[0].command"),
    (_mutated((1, "on_entry"), [{"command": "heater.say", "arg": [1]}]),
     "modes[1].on_entry[0].arg"),
    (_mutated((1, "on_entry"), [{"command": "heater.say", "args": "x"}]),
     "modes[1].on_entry[0].args"),
    (_mutated((1, "on_exit"), [7]), "modes[1].on_exit[0]"),
])
def test_a_malformed_mode_table_is_rejected_at_load_naming_the_key(table, key):
    with pytest.raises(ConfigError) as err:
        ModeManager("modes", 0x0900).configure({"modes": table})
    assert err.value.key == key


@pytest.mark.parametrize(("config", "key"), [
    ({"initial": "warp"}, "initial"),
    ({"after_reset": "warp"}, "after_reset"),
    ({"file": "a/b"}, "file"),
    ({"colour": 1}, "colour"),
])
def test_bad_settings_are_rejected_naming_the_key(config, key):
    with pytest.raises(ConfigError) as err:
        ModeManager("modes", 0x0900).configure({"modes": TABLE, **config})
    assert err.value.key == key


@pytest.mark.parametrize(("table", "key", "detail"), [
    (_mutated((1, "off"), ["camra"]), "modes[1].off[0]", "no component named 'camra'"),
    (_mutated((1, "off"), ["cmd"]), "modes[1].off[0]", "part of the framework"),
    (_mutated((1, "off"), ["modes"]), "modes[1].off[0]", "cannot switch itself off"),
    (_mutated((1, "params"), {"heater.gian": 1.0}), "modes[1].params.heater.gian",
     "no parameter named"),
    (_mutated((1, "params"), {"heater.gain": 11.0}), "modes[1].params.heater.gain", "outside"),
    (_mutated((1, "params"), {"heater.gain": "high"}), "modes[1].params.heater.gain",
     "is not a F32"),
    (_mutated((1, "on_entry"), ["heater.shout"]), "modes[1].on_entry[0]", "no command named"),
    (_mutated((1, "on_entry"), ["heater.say"]), "modes[1].on_entry[0]", "takes 1 arguments"),
    (_mutated((1, "on_entry"), [{"command": "heater.say", "args": ["x" * 17]}]),
     "modes[1].on_entry[0].args[0]", "exceeds 16"),
])
def test_tables_are_checked_against_the_deployment_before_activation(table, key, detail):
    rt = build(table=table)
    with pytest.raises(ConfigError) as err:
        rt.prepare()
    assert (err.value.component, err.value.key) == ("modes", key)
    assert detail in err.value.detail


def test_commands_in_the_table_need_the_output_connected():
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    rt.add(CommandDispatcher("cmd", 0x0400))
    rt.add(ModeManager("modes", 0x0900), config={"modes": [
        {"name": "only", "id": 0, "on_entry": ["cmd.no_op"]}]})
    with pytest.raises(ConfigError, match="not connected") as err:
        rt.prepare()
    assert err.value.key == "commands"


def test_a_deployment_file_error_names_the_file_and_the_key():
    data = {
        "deployment": {"name": "t", "tick_hz": 10},
        "components": [
            {"name": "cmd", "class": "flight.svc.dispatcher:CommandDispatcher",
             "base_id": 0x0400},
            {"name": "modes", "class": "flight.svc.modes:ModeManager", "base_id": 0x0900,
             "modes": [{"name": "a", "id": 0, "to": ["b"]}, {"name": "b", "id": 1,
                                                             "off": ["ghost"]}]},
        ],
        "rate_groups": [{"name": "rg", "base_id": 0x0300, "divisor": 1, "members": ["modes"]}],
    }
    dep = Deployment.parse(data, "sat.toml")
    with pytest.raises(DeploymentError) as err:
        dep.build(clock=SimClock())
    assert str(err.value) == "sat.toml: components[1].modes[1].off[0]: no component named 'ghost'"
    data["components"][1]["modes"][0]["to"] = ["c"]
    with pytest.raises(DeploymentError, match=r"components\[1\]\.modes\[0\]\.to\[0\]: no mode"):
        Deployment.parse(data, "sat.toml").build(clock=SimClock())


def test_the_mode_manager_must_run_in_a_rate_group():
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    rt.add(ModeManager("modes", 0x0900), config={"modes": [{"name": "only", "id": 0}]})
    with pytest.raises(ConfigError, match="rate group"):
        rt.boot()
