"""FDIR: monitor table checks, limit/delta/stale evaluation with persistence, actions, recovery
limits, retuning by command, and refsat entering safe mode on injected faults."""

from __future__ import annotations

import copy
import itertools
import math
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.deployments import resolve
from flight.runtime.component import Channel, Component, Health, Update, command
from flight.runtime.deployment import Deployment, DeploymentError
from flight.runtime.errors import ConfigError, ReasonCode
from flight.runtime.executive import RateGroup
from flight.runtime.records import Stage
from flight.runtime.runtime import Runtime
from flight.runtime.topics import EVENTS
from flight.runtime.types import F64, U32, String
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.fdir import FaultManager, MonitorError, parse_monitor
from flight.svc.modes import ModeCause, ModeManager, switch_off, switch_on
from flight.svc.sequencer import Sequencer
from hal.clock import SimClock

_disks = itertools.count()


class Source(Component):
    """Writes scripted values: one `level` sample per cycle, `state` on change, until silent."""

    level = Channel(1, F64)
    state = Channel(2, U32, update=Update.ON_CHANGE)
    label = Channel(3, String(8))

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.values: deque[float] = deque()
        self.last = 5.0
        self.state_value = 0
        self.silent = False

    def cycle(self) -> None:
        if self.silent:
            return
        if self.values:
            self.last = self.values.popleft()
        self.tlm(self.level, self.last)
        self.tlm(self.state, self.state_value)


class Actuator(Component):
    """Records the commands it receives."""

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.pokes: list[int] = []

    @command(1, value=U32(max=100))
    def poke(self, value: int) -> None:
        self.pokes.append(value)


MODES = [{"name": "nominal", "id": 0, "to": ["safe"]}, {"name": "safe", "id": 1}]


def limit(**kw) -> dict:
    row = {"id": 1, "name": "level_range", "channel": "src.level", "kind": "limit", "low": 0.0,
           "high": 10.0}
    row.update(kw)
    return row


def build(*rows: dict, connect: bool = True, **settings) -> Runtime:
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    rt.add(CommandDispatcher("cmd", 0x0400))
    rt.add(Source("src", 0x1000))
    rt.add(Actuator("act", 0x1100))
    rt.add(Sequencer("seq", 0x0B00), config={"sequences": {"recover": "+0 act.poke 7\n"}})
    rt.add(ModeManager("modes", 0x0900), config={"modes": copy.deepcopy(MODES)})
    rt.add(FaultManager("fdir", 0x0A00), config={"monitors": list(rows), **settings})
    rt.add_group(RateGroup("rg", 0x0300, divisor=1), ["src", "fdir", "modes", "seq"])
    if connect:
        rt.connect("fdir.commands", "cmd.commands")
    rt.events = []
    rt.bus.subscribe(EVENTS, rt.events.append, depth=100_000)
    return rt


def events(rt: Runtime, name: str) -> list[tuple]:
    return [e.args for e in rt.events if rt.registry.events[e.event_id].name == name]


def times(rt: Runtime, name: str) -> list[float]:
    return [round(e.time, 3) for e in rt.events if rt.registry.events[e.event_id].name == name]


def feed(rt: Runtime, values: list[float]) -> None:
    rt.components["src"].values.extend(values)
    rt.run(len(values) / 10)


# --- evaluation ------------------------------------------------------------------------------


def test_a_limit_trips_on_n_of_m_failing_samples_and_clears_after_m_passing():
    rt = build(limit(persistence=[3, 5]))
    feed(rt, [5, 11, 5, 11, 5])
    assert not events(rt, "fdir.trip")  # two failures in the window
    feed(rt, [-1])  # the third among the last five
    assert events(rt, "fdir.trip") == [("level_range", "src.level", -1.0, "limits [0, 10]",
                                        "event")]
    assert rt.telemetry.get("fdir.tripped") == 1 and rt.telemetry.get("fdir.last_trip") == 1
    feed(rt, [5, 5, 5, 5])
    assert not events(rt, "fdir.cleared")
    feed(rt, [5])
    assert events(rt, "fdir.cleared") == [("level_range",)]
    assert rt.telemetry.get("fdir.tripped") == 0 and rt.telemetry.get("fdir.trips") == 1


def _reference(samples: list[bool], n: int, m: int) -> list[tuple[int, str]]:
    """Trips and clears by the letter of the rule, from the whole history each time."""
    out, tripped = [], False
    for i, fail in enumerate(samples):
        window = samples[max(0, i - m + 1): i + 1]  # the last m samples
        if tripped and not any(window):
            tripped = False
            out.append((i, "clear"))
        elif not tripped and fail and sum(window) >= n:
            tripped = True
            out.append((i, "trip"))
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8).flatmap(lambda m: st.tuples(st.integers(1, m), st.just(m))),
       st.lists(st.booleans(), max_size=60))
def test_persistence_matches_the_rule_for_any_sample_sequence(nm, samples):
    n, m = nm
    rt = build(limit(persistence=[n, m]))
    rt.boot()
    fdir, src = rt.components["fdir"], rt.components["src"]
    monitor = fdir.table[1]
    seen, was = [], False
    for i, fail in enumerate(samples):
        rt.clock.advance(0.1)
        src.tlm(src.level, 20.0 if fail else 5.0)
        fdir.evaluate(rt.clock.monotonic())
        if monitor.tripped != was:
            was = monitor.tripped
            seen.append((i, "trip" if was else "clear"))
    assert seen == _reference(samples, n, m)


def test_a_delta_monitor_trips_on_a_jump_between_samples():
    rt = build({"id": 2, "name": "jump", "channel": "src.level", "kind": "delta",
                "max_delta": 2.0})
    feed(rt, [0, 1, 2.5, 4, 5.5])
    assert not events(rt, "fdir.trip")
    feed(rt, [9])
    assert events(rt, "fdir.trip")[0][2:4] == (9.0, "max delta 2")


def test_nan_fails_every_check():
    rt = build(limit(), {"id": 2, "name": "jump", "channel": "src.level", "kind": "delta",
                         "max_delta": 100.0})
    feed(rt, [5, math.nan])
    assert [e[0] for e in events(rt, "fdir.trip")] == ["level_range", "jump"]


def test_a_stale_monitor_trips_when_the_channel_stops_and_clears_when_it_resumes():
    rt = build({"id": 3, "name": "silent", "channel": "src.level", "kind": "stale",
                "stale_s": 0.45})
    rt.run(1.0)
    rt.components["src"].silent = True
    rt.run(1.0)
    assert times(rt, "fdir.trip") == [1.4]  # last sample at 0.9: 0.5 s old at 1.4
    rt.components["src"].silent = False
    rt.run(0.5)
    assert times(rt, "fdir.cleared") == [2.0]


def test_a_channel_never_written_is_stale_from_the_start():
    rt = build({"id": 3, "name": "silent", "channel": "src.label", "kind": "stale",
                "stale_s": 2.0})
    rt.run(3.0)
    assert times(rt, "fdir.trip") == [2.1]


def test_monitors_pause_while_their_component_is_switched_off():
    rt = build({"id": 3, "name": "silent", "channel": "src.level", "kind": "stale",
                "stale_s": 0.45}, limit(id=4, name="range"))
    src = rt.components["src"]
    feed(rt, [50])
    switch_off(src)
    rt.run(5.0)
    assert [e[0] for e in events(rt, "fdir.trip")] == ["range"]  # not "silent"
    switch_on(src)
    src.silent = True  # back on, but never writes: stale from when it came back
    rt.run(1.0)
    assert [e[0] for e in events(rt, "fdir.trip")] == ["range", "silent"]
    assert times(rt, "fdir.trip")[1] == 5.5  # last pass while off at 5.0; 0.5 s later


def test_a_dead_channel_gives_no_samples_and_an_on_change_one_a_sample_every_pass():
    rt = build(limit(persistence=[3, 3]),
               {"id": 2, "name": "state_range", "channel": "src.state", "kind": "limit",
                "high": 3, "persistence": [3, 3]})
    feed(rt, [20])
    rt.components["src"].silent = True
    rt.run(1.0)  # level: one failing sample, then nothing new
    assert not events(rt, "fdir.trip")
    src = rt.components["src"]
    src.silent = False
    src.state_value = 4  # written once, held: failing at every pass
    rt.run(0.3)
    assert [e[0] for e in events(rt, "fdir.trip")] == ["level_range", "state_range"]


# --- actions and recovery limits -------------------------------------------------------------


def test_actions_send_a_command_start_a_sequence_and_change_the_mode():
    rt = build(limit(id=1, name="a", action={"command": "act.poke", "args": [3]}),
               limit(id=2, name="b", action={"sequence": "recover"}),
               limit(id=3, name="c", action={"mode": "safe"}))
    feed(rt, [5, 50, 5])
    assert rt.components["act"].pokes == [3, 7]  # the command, then the sequence's command
    assert events(rt, "seq.seq_started")[0][0] == "recover"
    assert rt.components["modes"].current.name == "safe"
    assert events(rt, "modes.changed") == [("nominal", "safe", ModeCause.FDIR)]
    assert rt.telemetry.get("fdir.actions") == 3


def test_recoveries_are_limited_per_window_then_the_unit_is_faulty():
    rt = build(limit(action={"command": "act.poke", "args": [1]}, retry_s=1.0),
               max_recoveries=2, recovery_window_s=100.0)
    src = rt.components["src"]
    feed(rt, [50] * 35)
    assert rt.components["act"].pokes == [1, 1]  # at 0.0 and at the retry 1.0 s later
    assert events(rt, "fdir.unit_faulty") == [("src", 2, 100.0)]
    assert src.health is Health.FAULT and rt.telemetry.get("fdir.faulty_units") == 1
    assert events(rt, "fdir.action_skipped") == [("level_range", "src")]
    report = rt.components["cmd"].dispatch(rt.command("fdir.reset_unit", "src"))
    assert report.stage is Stage.COMPLETED and src.health is Health.OK
    feed(rt, [50] * 10)
    assert rt.components["act"].pokes == [1, 1, 1]
    report = rt.components["cmd"].dispatch(rt.command("fdir.reset_unit", "ghost"))
    assert (report.stage, report.reason) == (Stage.COMPLETION_FAILED, ReasonCode.NOT_FOUND)


def test_clearing_the_units_health_lets_its_monitors_act_again():
    rt = build(limit(action={"command": "act.poke", "args": [1]}, retry_s=1.0),
               max_recoveries=1)
    src = rt.components["src"]
    feed(rt, [50] * 25)
    assert rt.components["act"].pokes == [1] and src.health is Health.FAULT
    src.set_health(Health.OK)  # what health.clear_health does
    feed(rt, [50] * 10)
    assert rt.components["act"].pokes == [1, 1]


def test_event_actions_are_not_recoveries():
    rt = build(limit(retry_s=0.5), max_recoveries=0)
    feed(rt, [50] * 20)
    assert rt.telemetry.get("fdir.actions") == 0 and not events(rt, "fdir.unit_faulty")


# --- commands ----------------------------------------------------------------------------------


def _send(rt, name, *args):
    report = rt.components["cmd"].dispatch(rt.command(name, *args))
    return report.stage, report.reason


def test_monitors_are_disabled_enabled_and_retuned_by_command():
    rt = build(limit(persistence=[2, 3]),
               {"id": 2, "name": "silent", "channel": "src.level", "kind": "stale",
                "stale_s": 1.0})
    rt.run(0.5)
    ok = (Stage.COMPLETED, ReasonCode.OK)
    assert _send(rt, "fdir.disable_monitor", 1) == ok
    feed(rt, [50] * 5)
    assert not events(rt, "fdir.trip") and rt.telemetry.get("fdir.enabled") == 1
    assert _send(rt, "fdir.enable_monitor", 1) == ok
    assert _send(rt, "fdir.set_limits", 1, 0.0, 100.0) == ok
    feed(rt, [50] * 5)
    assert not events(rt, "fdir.trip")
    assert _send(rt, "fdir.set_limits", 1, -1e9, 40.0) == ok  # -1e9: no low limit
    assert _send(rt, "fdir.set_persistence", 1, 1, 1) == ok
    feed(rt, [50])
    assert events(rt, "fdir.trip")[0][3] == "limits [-inf, 40]"
    assert events(rt, "fdir.retuned")[-1] == ("level_range",
                                              "src.level limits [-inf, 40], 1 of 1, event")
    assert _send(rt, "fdir.set_stale", 2, 0.25) == ok
    assert _send(rt, "fdir.report_monitor", 2) == ok
    rt.run(0.1)
    assert events(rt, "fdir.report")[-1] == (2, "silent", "enabled", "ok",
                                             "src.level stale after 0.25 s, 1 of 1, event")


@pytest.mark.parametrize(("command", "args", "stage", "reason"), [
    ("fdir.set_limits", (1, 5.0, 5.0), Stage.COMPLETION_FAILED, ReasonCode.OUT_OF_RANGE),
    ("fdir.set_limits", (1, 9.0, 1.0), Stage.COMPLETION_FAILED, ReasonCode.OUT_OF_RANGE),
    ("fdir.set_limits", (1, math.nan, 1.0), Stage.ACCEPTANCE_FAILED, ReasonCode.OUT_OF_RANGE),
    ("fdir.set_limits", (1, 0.0, 2e9), Stage.ACCEPTANCE_FAILED, ReasonCode.OUT_OF_RANGE),
    ("fdir.set_limits", (1, "low", 1.0), Stage.ACCEPTANCE_FAILED, ReasonCode.WRONG_ARG_TYPE),
    ("fdir.set_limits", (2, 0.0, 1.0), Stage.COMPLETION_FAILED, ReasonCode.EXECUTION_FAILED),
    ("fdir.set_limits", (9, 0.0, 1.0), Stage.COMPLETION_FAILED, ReasonCode.NOT_FOUND),
    ("fdir.set_persistence", (1, 4, 3), Stage.COMPLETION_FAILED, ReasonCode.OUT_OF_RANGE),
    ("fdir.set_persistence", (1, 1, 33), Stage.ACCEPTANCE_FAILED, ReasonCode.OUT_OF_RANGE),
    ("fdir.set_delta", (1, 1.0), Stage.COMPLETION_FAILED, ReasonCode.EXECUTION_FAILED),
    ("fdir.set_delta", (1, -1.0), Stage.ACCEPTANCE_FAILED, ReasonCode.OUT_OF_RANGE),
    ("fdir.set_stale", (2, 0.0), Stage.ACCEPTANCE_FAILED, ReasonCode.OUT_OF_RANGE),
    ("fdir.enable_monitor", (70000,), Stage.ACCEPTANCE_FAILED, ReasonCode.OUT_OF_RANGE),
    ("fdir.disable_monitor", (), Stage.ACCEPTANCE_FAILED, ReasonCode.WRONG_ARG_COUNT),
])
def test_bad_retuning_fails_verification_and_changes_nothing(command, args, stage, reason):
    rt = build(limit(), {"id": 2, "name": "silent", "channel": "src.level", "kind": "stale",
                         "stale_s": 1.0})
    rt.run(0.2)
    before = {mid: m.d for mid, m in rt.components["fdir"].table.items()}
    assert _send(rt, command, *args) == (stage, reason)
    assert {mid: m.d for mid, m in rt.components["fdir"].table.items()} == before


# --- the table is checked at load --------------------------------------------------------------


@pytest.mark.parametrize(("row", "field"), [
    ({"name": "x"}, "id"),
    (limit(id=0), "id"),
    (limit(name="no spaces"), "name"),
    (limit(channel="level"), "channel"),
    (limit(kind="range"), "kind"),
    (limit(low=None, high=None), "low"),
    (limit(low=math.nan), "low"),
    (limit(low=20.0), "high"),
    ({**limit(), "low": -math.inf, "high": math.inf}, "low"),
    (limit(max_delta=1.0), "max_delta"),
    (limit(persistence=[4, 3]), "persistence"),
    (limit(persistence=[1, 33]), "persistence"),
    (limit(persistence=3), "persistence"),
    (limit(action="reboot"), "action"),
    (limit(action={"mode": "safe", "command": "x.y"}), "action"),
    (limit(action={"command": "act.poke", "args": 1}), "action.args"),
    (limit(retry_s=-1.0), "retry_s"),
    (limit(enabled="yes"), "enabled"),
    (limit(colour="red"), "colour"),
    ({"id": 3, "name": "s", "channel": "src.level", "kind": "stale"}, "stale_s"),
    ({"id": 3, "name": "s", "channel": "src.level", "kind": "stale", "stale_s": 0}, "stale_s"),
    ({"id": 3, "name": "d", "channel": "src.level", "kind": "delta"}, "max_delta"),
])
def test_a_malformed_monitor_is_rejected_naming_its_key(row, field):
    row = {k: v for k, v in row.items() if v is not None}
    with pytest.raises(MonitorError) as err:
        parse_monitor(row)
    assert err.value.field == field
    with pytest.raises(ConfigError) as err:
        FaultManager("fdir", 0x0A00).configure({"monitors": [limit(id=9, name="ok"), row]})
    assert err.value.key == f"monitors[1].{field}"


def test_duplicate_monitor_ids_and_names_are_rejected():
    fm = FaultManager("fdir", 0x0A00)
    with pytest.raises(ConfigError, match="already used by monitors") as err:
        fm.configure({"monitors": [limit(), limit(name="other")]})
    assert err.value.key == "monitors[1].id"
    with pytest.raises(ConfigError) as err:
        FaultManager("fdir", 0x0A00).configure({"monitors": [limit(), limit(id=2)]})
    assert err.value.key == "monitors[1].name"
    with pytest.raises(ConfigError) as err:
        FaultManager("fdir", 0x0A00).configure({"units": {"src": {"max_recoveries": -1}}})
    assert err.value.key == "units.src.max_recoveries"


@pytest.mark.parametrize(("row", "key", "detail"), [
    (limit(channel="src.levle"), "monitors[0].channel", "no channel named"),
    (limit(channel="src.label"), "monitors[0].channel", "not a number"),
    ({"id": 1, "name": "s", "channel": "src.state", "kind": "stale", "stale_s": 1.0},
     "monitors[0].kind", "updated on change"),
    (limit(unit="ghost"), "monitors[0].unit", "no component named"),
    (limit(action={"mode": "warp"}), "monitors[0].action", "no mode named"),
    (limit(action={"command": "act.push"}), "monitors[0].action", "no command named"),
    (limit(action={"command": "act.poke", "args": [101]}), "monitors[0].action.args[0]",
     "outside"),
    (limit(action={"sequence": 7}), "monitors[0].action.args[0]", "is not a STRING"),
])
def test_the_table_is_checked_against_the_deployment_before_activation(row, key, detail):
    rt = build(row)
    with pytest.raises(ConfigError) as err:
        rt.prepare()
    assert (err.value.component, err.value.key) == ("fdir", key)
    assert detail in err.value.detail


def test_command_actions_need_the_commands_output_connected():
    rt = build(limit(action={"command": "act.poke", "args": [1]}), connect=False)
    with pytest.raises(ConfigError, match="not connected"):
        rt.prepare()


def test_a_bad_monitor_in_refsat_is_reported_with_the_file_and_the_key():
    import tomllib

    path = resolve("refsat")
    with open(path, "rb") as f:
        data = tomllib.load(f)
    index = next(i for i, c in enumerate(data["components"]) if c["name"] == "fdir")
    data["components"][index]["monitors"][0]["low"] = 9.0
    data["components"][index]["monitors"][0]["high"] = 6.0
    with pytest.raises(DeploymentError) as err:
        Deployment.parse(data, path).build(clock=SimClock())
    assert str(err.value) == (f"{path}: components[{index}].monitors[0].high: high 6.0 must "
                              "exceed low 9.0")


# --- refsat ----------------------------------------------------------------------------------


def boot_refsat():
    dep = Deployment.load(resolve("refsat"))
    rt = dep.build(clock=SimClock(), bindings={"nvm": f"mem://fdir-refsat-{next(_disks)}"})
    rt.events = []
    rt.bus.subscribe(EVENTS, rt.events.append, depth=100_000)
    dep.boot(rt)
    return rt


def test_refsat_a_dead_eps_sensor_trips_its_monitor_and_fdir_enters_safe_mode():
    rt = boot_refsat()
    rt.run(10.0)
    assert rt.components["cmd"].dispatch(rt.command("modes.set_mode", "nominal")).stage is (
        Stage.COMPLETED)
    rt.run(10.0)
    rt.resources["simulation"].device("sim://eps").fail()
    rt.run(10.0)
    trips = events(rt, "fdir.trip")
    assert [t[0] for t in trips] == ["eps_silent"]
    assert times(rt, "fdir.trip") == [25.0]  # last sample at 19.9 s, older than 5 s at 25.0
    assert events(rt, "modes.changed")[-1] == ("nominal", "safe", ModeCause.FDIR)
    assert rt.telemetry.get("modes.mode") == 1
    assert rt.telemetry.get("thermal.heater_mode") == 0  # safe mode's entry command
    assert rt.components["thermal"].heater_on_c == 8.0  # and its parameters


def test_refsat_a_draining_battery_trips_the_undervoltage_monitor_into_safe_mode():
    rt = boot_refsat()
    rt.run(1.0)
    rt.components["cmd"].dispatch(rt.command("modes.set_mode", "nominal"))
    rt.resources["simulation"].device("sim://eps").extra_load_amps = 10.0
    for _ in range(60):
        rt.run(60.0)
        if rt.telemetry.get("modes.mode") == 1:
            break
    assert {t[0] for t in events(rt, "fdir.trip")} == {"bus_undervolt"}
    assert events(rt, "fdir.trip")[0][2] < 6.8
    assert events(rt, "modes.changed")[-1] == ("nominal", "safe", ModeCause.FDIR)
