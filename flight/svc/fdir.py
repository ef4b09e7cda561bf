"""FDIR: limit monitors on telemetry channels, persistence, actions and recovery limits.

Monitors are a table in the deployment file (cFS LC's watchpoints and actionpoints in one row):

    [[components]]
    name = "fdir"
    class = "flight.svc.fdir:FaultManager"
    base_id = 0x0A00
    max_recoveries = 3          # recovery actions per unit per window, then the unit is faulty
    recovery_window_s = 3600.0
    units = { thermal = { max_recoveries = 5, recovery_window_s = 600.0 } }   # per unit

    [[components.monitors]]
    id = 1                      # 1..65535, what commands name
    name = "bus_undervolt"
    channel = "power.bus_volts"
    kind = "limit"              # limit (low, high), delta (max_delta), stale (stale_s)
    low = 6.6
    persistence = [3, 5]        # trip on 3 failing samples among the last 5 (default [1, 1])
    action = { mode = "safe" }  # "event", { mode = }, { command = , args = }, { sequence = }
    retry_s = 60.0              # repeat the action while still failing (default: once a trip)
    unit = "power"              # whose recoveries these are (default: the channel's component)
    enabled = true

A sample is a new value of the channel: a channel updated every cycle gives one when its time
stamp moves (a dead sensor gives none, and its stale monitor trips instead), an on-change
channel one at every evaluation (its value holds until it changes). A limit fails outside
[low, high], a delta when the change from the previous sample exceeds `max_delta`, a stale
monitor when the channel's time stamp is older than `stale_s` (only for channels updated every
cycle: an on-change channel keeps its stamp while its value holds). NaN always fails. The
monitors of a component that is not running (switched off by a mode, or being restarted) are
paused: their history empties, and a stale monitor measures age from when its component runs
again (or from when it was enabled).

A monitor trips when `n` of its last `m` samples failed (an event, then its action) and clears
when `m` samples in a row pass (an event). Actions other than "event" are recovery attempts
against the monitor's unit: at most `max_recoveries` per `recovery_window_s`; one more and the
unit is marked faulty (health FAULT, an event) and its monitors act no more until the unit is
reset by command (`reset_unit`, or `health.clear_health`). A sequence action sends the
start command of the sequencer (`flight.svc.sequencer`; setting `sequence_command`, default
``seq.start``) with the sequence's name or ID; a mode action asks the mode manager; a command
goes out on the `commands` output, connected to the dispatcher.

The table is checked when the deployment is built (channels, types, limits, modes, commands and
their arguments); the retuning commands check a changed row the same way before it replaces the
old one, as cFS validates a table before activating it.

Evaluation cost: the monitors are flat objects with their limits and state in slots, evaluated in
one loop over the enabled ones with no allocation per sample; a channel whose time stamp did not
move is skipped. 1,000 monitors take well under a millisecond per pass on a desktop core
(`tests/benchmarks/test_fdir_bench.py`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any, Final

from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Health,
    Lifecycle,
    Output,
    Throttle,
    Update,
    command,
)
from flight.runtime.errors import CommandError, ConfigError, ReasonCode
from flight.runtime.records import Command, Severity
from flight.runtime.registry import Registry
from flight.runtime.types import F64, U8, U16, U32, BoolType, EnumType, FloatType, IntType, String
from flight.svc.modes import (
    CommandDef,
    ModeCause,
    ModeManager,
    check_connected,
    parse_command,
    resolve_command,
)

MAX_WINDOW: Final = 32  # persistence windows are kept as bit masks
MAX_LIMIT: Final = 1e9  # limits given by command lie within +-MAX_LIMIT
_MONITOR_KEYS: Final = ("id", "name", "channel", "kind", "low", "high", "max_delta", "stale_s",
                        "persistence", "action", "retry_s", "unit", "enabled")
_SETTINGS: Final = ("monitors", "max_recoveries", "recovery_window_s", "units",
                    "sequence_command")
_NUMERIC: Final = (IntType, FloatType, EnumType, BoolType)
_INF: Final = math.inf


class MonitorKind(IntEnum):
    LIMIT = 0
    DELTA = 1
    STALE = 2


class ActionKind(IntEnum):
    EVENT = 0
    COMMAND = 1
    MODE = 2
    SEQUENCE = 3


class MonitorError(ValueError):
    """A monitor definition that cannot be activated; `field` names the offending key."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


@dataclass(frozen=True)
class Action:
    kind: ActionKind = ActionKind.EVENT
    mode: str = ""
    command: CommandDef | None = None
    sequence: str | int = ""

    def __str__(self) -> str:
        if self.kind is ActionKind.MODE:
            return f"mode {self.mode}"
        if self.kind is ActionKind.COMMAND:
            assert self.command is not None
            return f"command {self.command.name}"
        if self.kind is ActionKind.SEQUENCE:
            return f"sequence {self.sequence}"
        return "event"


@dataclass(frozen=True)
class MonitorDef:
    """One row of the monitor table."""

    id: int
    name: str
    channel: str
    kind: MonitorKind
    low: float = -_INF
    high: float = _INF
    max_delta: float = _INF
    stale_s: float = 0.0
    n: int = 1
    m: int = 1
    action: Action = Action()
    retry_s: float = 0.0
    unit: str = ""
    enabled: bool = True

    def check(self) -> MonitorDef:
        """The definition itself if it can be activated; `MonitorError` naming the fault."""
        if not 1 <= self.m <= MAX_WINDOW:
            raise MonitorError("persistence", f"window of {self.m} samples outside "
                                              f"1..{MAX_WINDOW}")
        if not 1 <= self.n <= self.m:
            raise MonitorError("persistence", f"{self.n} failures outside 1..{self.m} (the "
                                              "window)")
        if self.retry_s < 0 or not math.isfinite(self.retry_s):
            raise MonitorError("retry_s", f"{self.retry_s} must be a non-negative number")
        if self.kind is MonitorKind.LIMIT:
            if math.isnan(self.low) or math.isnan(self.high):
                raise MonitorError("low", "limits cannot be NaN")
            if self.low == -_INF and self.high == _INF:
                raise MonitorError("low", "a limit monitor needs low, high or both")
            if not self.low < self.high:
                raise MonitorError("high", f"high {self.high} must exceed low {self.low}")
        elif self.kind is MonitorKind.DELTA:
            if not 0 <= self.max_delta < _INF:
                raise MonitorError("max_delta", f"{self.max_delta} must be a finite number >= 0")
        elif not 0 < self.stale_s < _INF:
            raise MonitorError("stale_s", f"{self.stale_s} must be a positive number of seconds")
        return self

    def describe(self) -> str:
        if self.kind is MonitorKind.LIMIT:
            what = f"limits [{self.low:g}, {self.high:g}]"
        elif self.kind is MonitorKind.DELTA:
            what = f"max delta {self.max_delta:g}"
        else:
            what = f"stale after {self.stale_s:g} s"
        return f"{self.channel} {what}, {self.n} of {self.m}, {self.action}"


def parse_monitor(table: Any) -> MonitorDef:
    """A monitor from its deployment table; `MonitorError` names the key at fault."""
    if not isinstance(table, dict):
        raise MonitorError("", "must be a table")
    for k in table:
        if k not in _MONITOR_KEYS:
            raise MonitorError(k, f"unknown key (known: {', '.join(_MONITOR_KEYS)})")
    mid = table.get("id")
    if type(mid) is not int or not 1 <= mid <= 0xFFFF:
        raise MonitorError("id", f"{mid!r} must be an integer in 1..65535")
    name = table.get("name")
    if type(name) is not str or not name.isidentifier() or len(name) > 32:
        raise MonitorError("name", f"{name!r} must be an identifier of at most 32 characters")
    channel = table.get("channel")
    if type(channel) is not str or channel.count(".") != 1:
        raise MonitorError("channel", f"{channel!r} must be a channel name 'instance.channel'")
    kind_text = table.get("kind")
    try:
        kind = MonitorKind[str(kind_text).upper()]
    except KeyError:
        raise MonitorError("kind", f"{kind_text!r} is not one of limit, delta, stale") from None
    allowed = {MonitorKind.LIMIT: ("low", "high"), MonitorKind.DELTA: ("max_delta",),
               MonitorKind.STALE: ("stale_s",)}[kind]
    numbers: dict[str, float] = {}
    for key in ("low", "high", "max_delta", "stale_s"):
        if key not in table:
            continue
        if key not in allowed:
            raise MonitorError(key, f"not a setting of a {kind.name.lower()} monitor "
                                    f"(it takes {', '.join(allowed)})")
        numbers[key] = _number(key, table[key])
    persistence = table.get("persistence", [1, 1])
    if not (isinstance(persistence, list) and len(persistence) == 2
            and all(type(x) is int for x in persistence)):
        raise MonitorError("persistence", f"{persistence!r} must be [failures, window]")
    unit = table.get("unit", "")
    if type(unit) is not str:
        raise MonitorError("unit", f"{unit!r} must be a component name")
    enabled = table.get("enabled", True)
    if type(enabled) is not bool:
        raise MonitorError("enabled", f"{enabled!r} must be true or false")
    retry = _number("retry_s", table.get("retry_s", 0.0))
    d = MonitorDef(mid, name, channel, kind, n=persistence[0], m=persistence[1],
                   action=parse_action(table.get("action", "event")), retry_s=retry, unit=unit,
                   enabled=enabled, **numbers)
    if kind is MonitorKind.STALE and "stale_s" not in numbers:
        raise MonitorError("stale_s", "missing")
    if kind is MonitorKind.DELTA and "max_delta" not in numbers:
        raise MonitorError("max_delta", "missing")
    return d.check()


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise MonitorError(key, f"{value!r} must be a number")
    return float(value)


def parse_action(value: Any) -> Action:
    if value == "event":
        return Action()
    if not isinstance(value, dict) or len(value) == 0:
        raise MonitorError("action", f"{value!r} must be \"event\" or a table with one of mode, "
                                     "command, sequence")
    if "mode" in value:
        if set(value) != {"mode"} or type(value["mode"]) is not str:
            raise MonitorError("action", "a mode action is { mode = \"NAME\" }")
        return Action(ActionKind.MODE, mode=value["mode"])
    if "sequence" in value:
        seq = value["sequence"]
        if set(value) != {"sequence"} or type(seq) not in (str, int) or seq == "":
            raise MonitorError("action", "a sequence action is { sequence = NAME or ID }")
        return Action(ActionKind.SEQUENCE, sequence=seq)
    if "command" in value:
        try:
            cmd = parse_command("action", value)
        except ConfigError as exc:
            raise MonitorError(exc.key, exc.detail) from None
        return Action(ActionKind.COMMAND, command=cmd)
    raise MonitorError("action", f"unknown action {value!r} (event, mode, command, sequence)")


@dataclass(frozen=True)
class RecoveryBudget:
    max_recoveries: int
    window_s: float


class _Monitor:
    """A monitor's definition unpacked into slots, with its evaluation state."""

    __slots__ = ("d", "cid", "kind", "low", "high", "max_delta", "stale_s", "n", "mask", "every",
                 "last_t", "prev", "hist", "tripped", "acted_at", "value", "unit", "command",
                 "enabled", "source", "since")

    def __init__(self, d: MonitorDef, cid: int, every: bool, source: Component, unit: Component,
                 command: Command | None) -> None:
        self.cid = cid
        self.every = every
        self.source = source  # the component writing the channel
        self.unit = unit
        self.command = command
        self.enabled = d.enabled
        self.tripped = False
        self.acted_at = 0.0
        self.value = 0.0
        self.since = 0.0  # a stale monitor measures age from here at the earliest
        self.apply(d)

    def apply(self, d: MonitorDef) -> None:
        """Take a (checked) definition; the sample history starts again."""
        self.d = d
        self.kind = d.kind
        self.low = d.low
        self.high = d.high
        self.max_delta = d.max_delta
        self.stale_s = d.stale_s
        self.n = d.n
        self.mask = (1 << d.m) - 1
        self.last_t: float | None = None
        self.prev: Any = None
        self.hist = 0


_LIMIT: Final = MonitorKind.LIMIT
_STALE: Final = MonitorKind.STALE
_RUNNING: Final = Lifecycle.RUNNING


class FaultManager(Component):
    """Evaluates the monitor table each cycle; trips, acts, clears, and limits recoveries."""

    monitors = Channel(1, U32, update=Update.ON_CHANGE, doc="monitors in the table")
    enabled = Channel(2, U32, update=Update.ON_CHANGE, doc="monitors enabled")
    tripped = Channel(3, U32, update=Update.ON_CHANGE, doc="monitors tripped now")
    trips = Channel(4, U32, update=Update.ON_CHANGE, doc="trips since boot")
    actions = Channel(5, U32, update=Update.ON_CHANGE, doc="recovery actions taken since boot")
    faulty_units = Channel(6, U32, update=Update.ON_CHANGE,
                           doc="units marked faulty (recoveries exhausted)")
    last_trip = Channel(7, U16, update=Update.ON_CHANGE, doc="ID of the last monitor to trip")

    trip = Event(1, Severity.WARNING_HI,
                 "monitor {monitor} tripped: {channel} at {value:.6g} ({check}); {action}",
                 throttle=Throttle(20, 60.0), monitor=String(32), channel=String(64),
                 value=F64, check=String(48), action=String(48))
    cleared = Event(2, Severity.ACTIVITY_HI, "monitor {monitor} back within limits",
                    throttle=Throttle(20, 60.0), monitor=String(32))
    unit_faulty = Event(3, Severity.WARNING_HI,
                        "{unit} marked faulty: {count} recoveries within {window_s:.0f} s",
                        throttle=None, unit=String(32), count=U32, window_s=F64)
    action_skipped = Event(4, Severity.WARNING_LO, "monitor {monitor}: no action, {unit} is "
                                                   "faulty", throttle=Throttle(5, 600.0),
                           monitor=String(32), unit=String(32))
    monitor_set = Event(5, Severity.ACTIVITY_HI, "monitor {monitor} {state}", throttle=None,
                        monitor=String(32), state=String(8))
    retuned = Event(6, Severity.ACTIVITY_HI, "monitor {monitor} now {definition}", throttle=None,
                    monitor=String(32), definition=String(120))
    report = Event(7, Severity.ACTIVITY_LO,
                   "monitor {monitor_id} {monitor} ({state}, {tripped_state}): {definition}",
                   throttle=None, monitor_id=U16, monitor=String(32), state=String(8),
                   tripped_state=String(8), definition=String(120))
    action_failed = Event(8, Severity.WARNING_LO, "monitor {monitor}: {action} refused",
                          throttle=Throttle(10, 600.0), monitor=String(32), action=String(48))
    unit_reset = Event(9, Severity.ACTIVITY_HI, "{unit}: recoveries reset by command",
                       throttle=None, unit=String(32))

    commands = Output("commands of command and sequence actions (Command), to the dispatcher")

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.definitions: list[MonitorDef] = []
        self.budget = RecoveryBudget(3, 3600.0)
        self.unit_budgets: dict[str, RecoveryBudget] = {}
        self.sequence_command = "seq.start"
        self.table: dict[int, _Monitor] = {}
        self._active: list[_Monitor] = []
        self._attempts: dict[str, deque[float]] = {}
        self._faulty: set[str] = set()
        self._modes: ModeManager | None = None
        self._values: dict[int, Any] = {}
        self._time_of: Callable[[int], float | None] = lambda cid: None
        self._seq = 0
        self._counts = [0, 0, 0]  # tripped now, trips, actions

    # --- configuration -------------------------------------------------------------------------

    def configure(self, config: Mapping[str, Any]) -> None:
        for key in config:
            if key not in _SETTINGS:
                raise ConfigError(key, f"unknown setting (known: {', '.join(_SETTINGS)})")
        self.budget = _budget("", config, self.budget)
        units = config.get("units", {})
        if not isinstance(units, dict) or not all(isinstance(v, dict) for v in units.values()):
            raise ConfigError("units", "must be a table: unit = { max_recoveries, "
                                       "recovery_window_s }")
        for unit, table in units.items():
            for k in table:
                if k not in ("max_recoveries", "recovery_window_s"):
                    raise ConfigError(f"units.{unit}.{k}", "unknown key (known: max_recoveries, "
                                                           "recovery_window_s)")
            self.unit_budgets[unit] = _budget(f"units.{unit}.", table, self.budget)
        seq = config.get("sequence_command", self.sequence_command)
        if type(seq) is not str or seq.count(".") != 1:
            raise ConfigError("sequence_command", f"{seq!r} is not a command name")
        self.sequence_command = seq
        rows = config.get("monitors", [])
        if not isinstance(rows, list):
            raise ConfigError("monitors", "must be an array of tables [[components.monitors]]")
        ids: dict[int, int] = {}
        names: dict[str, int] = {}
        for i, row in enumerate(rows):
            try:
                d = parse_monitor(row)
            except MonitorError as exc:
                raise ConfigError(f"monitors[{i}].{exc.field}".rstrip("."), exc.detail) from None
            if d.id in ids:
                raise ConfigError(f"monitors[{i}].id", f"ID {d.id} already used by "
                                                       f"monitors[{ids[d.id]}]")
            if d.name in names:
                raise ConfigError(f"monitors[{i}].name", f"name {d.name!r} already used by "
                                                         f"monitors[{names[d.name]}]")
            ids[d.id] = names[d.name] = i
            self.definitions.append(d)

    def registry_ready(self, registry: Registry) -> None:
        modes = [c for c in registry.components.values() if isinstance(c, ModeManager)]
        self._modes = modes[0] if len(modes) == 1 else None
        for unit in self.unit_budgets:
            if unit not in registry.components:
                raise ConfigError(f"units.{unit}", f"no component named {unit!r}")
        self.table = {}
        sends = False
        for i, d in enumerate(self.definitions):
            key = f"monitors[{i}]"
            try:
                entry = registry.channel(d.channel)
            except KeyError as exc:
                raise ConfigError(f"{key}.channel", str(exc.args[0])) from None
            ftype = entry.channel.type
            every = entry.channel.update is Update.EVERY_CYCLE
            if d.kind is not _STALE and not isinstance(ftype, _NUMERIC):
                raise ConfigError(f"{key}.channel", f"{d.channel} is a {ftype.name}, not a "
                                                    "number a limit can apply to")
            if d.kind is _STALE and not every:
                raise ConfigError(f"{key}.kind", f"{d.channel} is updated on change, so its "
                                                 "time stamp does not show it is alive; a stale "
                                                 "monitor needs a channel updated every cycle")
            unit = registry.components.get(d.unit or entry.component.name)
            if unit is None:
                raise ConfigError(f"{key}.unit", f"no component named {d.unit!r}")
            cmd = self._resolve_action(registry, f"{key}.action", d.action)
            sends = sends or cmd is not None
            self.table[d.id] = _Monitor(d, entry.channel_id, every, entry.component, unit, cmd)
        if sends:
            check_connected(self, "commands", "monitors act by command")
        self._rebuild()

    def _resolve_action(self, registry: Registry, key: str, action: Action) -> Command | None:
        if action.kind is ActionKind.MODE:
            if self._modes is None:
                raise ConfigError(key, "a mode action needs exactly one mode manager in the "
                                       "deployment")
            if not self._modes.has_mode(action.mode):
                raise ConfigError(key, f"no mode named {action.mode!r}")
            return None
        if action.kind is ActionKind.COMMAND:
            assert action.command is not None
            return resolve_command(registry, key, action.command)
        if action.kind is ActionKind.SEQUENCE:
            return resolve_command(registry, key,
                                   CommandDef(self.sequence_command, (action.sequence,)))
        return None

    def start(self) -> None:
        store = self.context.telemetry
        self._values = store.values_ref()
        self._time_of = store.time
        for m in self.table.values():
            m.since = self._now()
        self.tlm(self.monitors, len(self.table))
        self.tlm(self.enabled, len(self._active))

    def _rebuild(self) -> None:
        self._active = [m for m in self.table.values() if m.enabled]

    # --- evaluation ----------------------------------------------------------------------------

    def cycle(self) -> None:
        self.evaluate(self._now())

    def evaluate(self, now: float) -> None:
        """One pass over the enabled monitors."""
        values = self._values
        time_of = self._time_of
        for m in self._active:
            if m.source.lifecycle is not _RUNNING:  # switched off: nothing to watch
                m.since = now
                m.hist = 0
                continue
            t = time_of(m.cid)
            if m.kind is _STALE:
                value = now - (t if t is not None and t > m.since else m.since)
                fail = not value <= m.stale_s
            else:
                if t is None or (m.every and t == m.last_t):
                    continue  # no new sample
                m.last_t = t
                value = values[m.cid]
                if m.kind is _LIMIT:
                    fail = not m.low <= value <= m.high
                else:
                    prev = m.prev
                    m.prev = value
                    if prev is None:
                        continue
                    fail = not abs(value - prev) <= m.max_delta
            hist = ((m.hist << 1) | fail) & m.mask
            m.hist = hist
            if m.tripped:
                if not hist:
                    self._clear(m)
                elif fail and m.d.retry_s and now - m.acted_at >= m.d.retry_s:
                    self._act(m, now)
            elif fail and hist.bit_count() >= m.n:
                m.value = value
                self._trip(m, now)

    def _trip(self, m: _Monitor, now: float) -> None:
        m.tripped = True
        c = self._counts
        c[0] += 1
        c[1] += 1
        self.tlm(self.tripped, c[0])
        self.tlm(self.trips, c[1])
        self.tlm(self.last_trip, m.d.id)
        d = m.d
        check = {MonitorKind.LIMIT: f"limits [{d.low:g}, {d.high:g}]",
                 MonitorKind.DELTA: f"max delta {d.max_delta:g}",
                 MonitorKind.STALE: f"age above {d.stale_s:g} s"}[d.kind]
        self.emit(self.trip, d.name, d.channel[:64], float(m.value), check[:48],
                  str(d.action)[:48])
        self._act(m, now)

    def _clear(self, m: _Monitor) -> None:
        m.tripped = False
        self._counts[0] -= 1
        self.tlm(self.tripped, self._counts[0])
        self.emit(self.cleared, m.d.name)

    def _act(self, m: _Monitor, now: float) -> None:
        m.acted_at = now
        action = m.d.action
        if action.kind is ActionKind.EVENT:
            return
        unit = m.unit
        attempts = self._attempts.setdefault(unit.name, deque())
        if unit.name in self._faulty:
            if unit.health is Health.FAULT:
                self.emit(self.action_skipped, m.d.name, unit.name[:32])
                return
            self._faulty.discard(unit.name)  # the operator cleared its health: start afresh
            self.tlm(self.faulty_units, len(self._faulty))
            attempts.clear()
        budget = self.unit_budgets.get(unit.name, self.budget)
        while attempts and now - attempts[0] >= budget.window_s:
            attempts.popleft()
        if len(attempts) >= budget.max_recoveries:
            self._faulty.add(unit.name)
            unit.set_health(Health.FAULT, f"FDIR: {len(attempts)} recoveries within "
                                          f"{budget.window_s:g} s")
            self.tlm(self.faulty_units, len(self._faulty))
            self.emit(self.unit_faulty, unit.name[:32], len(attempts), budget.window_s)
            return
        attempts.append(now)
        self._counts[2] += 1
        self.tlm(self.actions, self._counts[2])
        if action.kind is ActionKind.MODE:
            assert self._modes is not None
            if not self._modes.request(action.mode, ModeCause.FDIR):
                self.emit(self.action_failed, m.d.name, str(action)[:48])
            return
        assert m.command is not None
        self._seq = (self._seq + 1) & 0xFFFF
        if not self.commands.send(Command(m.command.opcode, m.command.args, self._seq)):
            self.emit(self.action_failed, m.d.name, str(action)[:48])

    # --- commands ------------------------------------------------------------------------------

    def _monitor(self, monitor: int) -> _Monitor:
        m = self.table.get(monitor)
        if m is None:
            raise CommandError(ReasonCode.NOT_FOUND, f"no monitor has ID {monitor}")
        return m

    def _retune(self, monitor: _Monitor, **changes: Any) -> None:
        """Check a changed definition as a whole, then activate it (or change nothing)."""
        try:
            d = replace(monitor.d, **changes).check()
        except MonitorError as exc:
            raise CommandError(ReasonCode.OUT_OF_RANGE,
                               f"monitor {monitor.d.name}: {exc}") from None
        monitor.apply(d)
        self.emit(self.retuned, d.name, d.describe()[:120])

    def _require(self, m: _Monitor, kind: MonitorKind) -> None:
        if m.kind is not kind:
            raise CommandError(ReasonCode.EXECUTION_FAILED,
                               f"monitor {m.d.name} is a {m.kind.name.lower()} monitor, not a "
                               f"{kind.name.lower()} monitor")

    @command(1, monitor=U16)
    def enable_monitor(self, monitor: int) -> None:
        """Evaluate a monitor again (its sample history starts empty)."""
        m = self._monitor(monitor)
        self._set_enabled(m, True)

    @command(2, monitor=U16)
    def disable_monitor(self, monitor: int) -> None:
        """Stop evaluating a monitor (a tripped one is cleared)."""
        m = self._monitor(monitor)
        self._set_enabled(m, False)

    def _set_enabled(self, m: _Monitor, enabled: bool) -> None:
        if m.tripped:
            m.tripped = False
            self._counts[0] -= 1
            self.tlm(self.tripped, self._counts[0])
        m.enabled = enabled
        m.since = self._now()
        m.apply(m.d)
        self._rebuild()
        self.tlm(self.enabled, len(self._active))
        self.emit(self.monitor_set, m.d.name, "enabled" if enabled else "disabled")

    @command(3, monitor=U16, low=F64(min=-MAX_LIMIT, max=MAX_LIMIT),
             high=F64(min=-MAX_LIMIT, max=MAX_LIMIT))
    def set_limits(self, monitor: int, low: float, high: float) -> None:
        """Retune a limit monitor (low < high; +-1e9 stands for no limit on that side)."""
        m = self._monitor(monitor)
        self._require(m, MonitorKind.LIMIT)
        self._retune(m, low=-_INF if low <= -MAX_LIMIT else low,
                     high=_INF if high >= MAX_LIMIT else high)

    @command(4, monitor=U16, failures=U8(min=1, max=MAX_WINDOW),
             window=U8(min=1, max=MAX_WINDOW))
    def set_persistence(self, monitor: int, failures: int, window: int) -> None:
        """Trip on `failures` failing samples among the last `window`."""
        self._retune(self._monitor(monitor), n=failures, m=window)

    @command(5, monitor=U16, max_delta=F64(min=0.0, max=MAX_LIMIT))
    def set_delta(self, monitor: int, max_delta: float) -> None:
        """Retune a delta monitor's largest allowed change between samples."""
        m = self._monitor(monitor)
        self._require(m, MonitorKind.DELTA)
        self._retune(m, max_delta=max_delta)

    @command(6, monitor=U16, stale_s=F64(min=0.001, max=1e6))
    def set_stale(self, monitor: int, stale_s: float) -> None:
        """Retune a stale monitor's age limit (seconds)."""
        m = self._monitor(monitor)
        self._require(m, MonitorKind.STALE)
        self._retune(m, stale_s=stale_s)

    @command(7, unit=String(32))
    def reset_unit(self, unit: str) -> None:
        """Forget a unit's recoveries and set its health back to OK: its monitors act again."""
        comp = next((m.unit for m in self.table.values() if m.unit.name == unit), None)
        if comp is None:
            raise CommandError(ReasonCode.NOT_FOUND, f"no monitor watches a unit named {unit!r}")
        self._attempts.pop(unit, None)
        self._faulty.discard(unit)
        comp.set_health(Health.OK)
        self.tlm(self.faulty_units, len(self._faulty))
        self.emit(self.unit_reset, unit)

    @command(8, monitor=U16)
    def report_monitor(self, monitor: int) -> None:
        """Report a monitor's definition and state in an event."""
        m = self._monitor(monitor)
        self.emit(self.report, m.d.id, m.d.name, "enabled" if m.enabled else "disabled",
                  "tripped" if m.tripped else "ok", m.d.describe()[:120])


def _budget(prefix: str, table: Mapping[str, Any], default: RecoveryBudget) -> RecoveryBudget:
    count = table.get("max_recoveries", default.max_recoveries)
    if type(count) is not int or not 0 <= count <= 1000:
        raise ConfigError(f"{prefix}max_recoveries", f"{count!r} must be an integer in 0..1000")
    window = table.get("recovery_window_s", default.window_s)
    if isinstance(window, bool) or not isinstance(window, int | float) or not 0 < window < 1e9:
        raise ConfigError(f"{prefix}recovery_window_s", f"{window!r} must be a positive number "
                                                        "of seconds")
    return RecoveryBudget(count, float(window))
