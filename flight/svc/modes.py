"""The mode manager: a declarative table of spacecraft modes, their transitions and effects.

The deployment file declares the modes, which transitions are allowed, and what each mode turns
off, which parameters it sets and which commands it sends on entry and exit:

    [[components]]
    name = "modes"
    class = "flight.svc.modes:ModeManager"
    base_id = 0x0900
    hardware = { storage = "nvm" }   # the current mode survives a reset
    initial = "boot"                 # the first boot (nothing stored)
    after_reset = "safe"             # after an unexpected reset (watchdog, unknown cause)

    [[components.modes]]
    name = "safe"
    id = 1
    to = ["nominal"]                 # modes reachable from this one
    off = ["camera"]                 # components switched off in this mode
    params = { "thermal.heater_on_c" = 8.0 }
    on_entry = [{ command = "thermal.set_heater_mode", args = [0] }]
    on_exit = ["cmd.no_op"]          # a command without arguments may be named alone

Everything is checked when the deployment is built, like a cFS table before activation: names,
IDs, reachable modes, components, parameter values against their types and ranges, commands and
their arguments against the dictionary. A mistake is reported with its key
(``components[7].modes[1].off[0]: no component named 'camra'``).

Transitions come by command (`set_mode`, which the ground or a time-tagged schedule sends), from
FDIR or from the health monitor (`request`); each is reported by an event naming its cause. A
transition runs the old mode's exit commands, switches components off and on (a component
switched off leaves its rate group, its `stop()` runs and the dispatcher refuses its commands;
switching it on runs `init()` and `start()` again, as powering a unit up does), stores the new
mode, then sets the new mode's parameters and sends its entry commands. Parameters are set
through the parameter database and commands through the command dispatcher (the `commands`
output, connected to the dispatcher's input), so both are verified and logged like any other.

At boot the stored mode comes back, except after an unexpected reset, when `after_reset` is
entered if it is configured; the first boot enters `initial`. The boot mode is applied at the
manager's first cycle, once every component runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

import msgpack

from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Health,
    Lifecycle,
    Output,
    ThreadedComponent,
    Throttle,
    Update,
    command,
)
from flight.runtime.errors import ArgumentError, CommandError, ConfigError, ReasonCode
from flight.runtime.executive import Executive, RateGroup
from flight.runtime.monitor import BusMonitor
from flight.runtime.records import Command, Severity
from flight.runtime.registry import Registry
from flight.runtime.types import U8, U32, Enum, String
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.params import ParameterDatabase
from flight.svc.watchdog import ResetCause
from hal.storage import Storage, StorageError, StorageMissing, open_storage

FORMAT: Final = 1
DEFAULT_FILE: Final = "mode.db"
MAX_MODES: Final = 256
MODE_NAME_OCTETS: Final = 24
_UNEXPECTED: Final = (ResetCause.WATCHDOG, ResetCause.UNKNOWN)
_MODE_KEYS: Final = ("name", "id", "to", "off", "params", "on_entry", "on_exit")


class ModeCause(IntEnum):
    """Why a mode transition happened (reported in the transition event)."""

    BOOT = 0
    COMMAND = 1  # by the ground, or a time-tagged command from the schedule
    FDIR = 2
    HEALTH = 3  # recovery of a hung component


@dataclass(frozen=True)
class CommandDef:
    """A command named in a deployment table: "instance.command" and its arguments."""

    name: str
    args: tuple[Any, ...] = ()


def parse_command(key: str, value: Any) -> CommandDef:
    """A command from a table: ``"cmd.no_op"`` or ``{ command = "...", args = [...] }``."""
    if type(value) is str:
        return CommandDef(_command_name(key, value))
    if not isinstance(value, dict):
        raise ConfigError(key, f"{value!r} must be a command name or "
                               "{ command = \"instance.command\", args = [...] }")
    for k in value:
        if k not in ("command", "args"):
            raise ConfigError(f"{key}.{k}", "unknown key (known: command, args)")
    if "command" not in value:
        raise ConfigError(f"{key}.command", "missing")
    args = value.get("args", [])
    if not isinstance(args, list):
        raise ConfigError(f"{key}.args", f"{args!r} must be an array of arguments")
    return CommandDef(_command_name(f"{key}.command", value["command"]), tuple(args))


def _command_name(key: str, name: Any) -> str:
    if type(name) is not str or name.count(".") != 1 or not all(
        part.isidentifier() for part in name.split(".")
    ):
        raise ConfigError(key, f"{name!r} is not a command name 'instance.command'")
    return name


def resolve_command(registry: Registry, key: str, cmd: CommandDef) -> Command:
    """The `Command` for `cmd`, its arguments checked against the dictionary now."""
    try:
        entry = registry.command(cmd.name)
    except KeyError as exc:
        raise ConfigError(key, str(exc.args[0])) from None
    if len(cmd.args) != len(entry.arg_types):
        raise ConfigError(key, f"{cmd.name} takes {len(entry.arg_types)} arguments, "
                               f"{len(cmd.args)} given")
    for i, (ftype, arg) in enumerate(zip(entry.arg_types, cmd.args, strict=True)):
        try:
            ftype.check(arg)
        except ArgumentError as exc:
            raise ConfigError(f"{key}.args[{i}]", f"{cmd.name}: {exc.detail}") from None
    return Command(entry.opcode, cmd.args)


def check_connected(comp: Component, port: str, why: str) -> None:
    """A component that sends commands must have its output connected to something."""
    topic = comp.context.bus.topic(getattr(comp, port).topic_name)
    if not topic.subscriptions:
        raise ConfigError(port, f"{why}, but {comp.name}.{port} is not connected; add "
                                f"[[connections]] from = \"{comp.name}.{port}\", "
                                "to = \"cmd.commands\"")


@dataclass(frozen=True)
class ModeDef:
    name: str
    id: int
    to: tuple[str, ...]
    off: tuple[str, ...]
    params: tuple[tuple[str, Any], ...]
    on_entry: tuple[CommandDef, ...]
    on_exit: tuple[CommandDef, ...]


def parse_modes(value: Any) -> list[ModeDef]:
    """The `modes` table array, checked for shape and consistency (no registry needed)."""
    if not isinstance(value, list) or not value or not all(isinstance(t, dict) for t in value):
        raise ConfigError("modes", "must be a non-empty array of tables [[components.modes]]")
    if len(value) > MAX_MODES:
        raise ConfigError("modes", f"{len(value)} modes, at most {MAX_MODES}")
    modes: list[ModeDef] = []
    names: dict[str, int] = {}
    ids: dict[int, int] = {}
    for i, table in enumerate(value):
        key = f"modes[{i}]"
        for k in table:
            if k not in _MODE_KEYS:
                raise ConfigError(f"{key}.{k}", f"unknown key (known: {', '.join(_MODE_KEYS)})")
        name = table.get("name")
        if type(name) is not str or not name.isidentifier() or len(name) > MODE_NAME_OCTETS:
            raise ConfigError(f"{key}.name", f"{name!r} must be an identifier of at most "
                                             f"{MODE_NAME_OCTETS} characters")
        if name in names:
            raise ConfigError(f"{key}.name", f"mode {name!r} already defined in "
                                             f"modes[{names[name]}]")
        names[name] = i
        mode_id = table.get("id")
        if type(mode_id) is not int or not 0 <= mode_id < MAX_MODES:
            raise ConfigError(f"{key}.id", f"{mode_id!r} must be an integer in 0..{MAX_MODES - 1}")
        if mode_id in ids:
            raise ConfigError(f"{key}.id",
                              f"mode ID {mode_id} already used by modes[{ids[mode_id]}]")
        ids[mode_id] = i
        to = _names(f"{key}.to", table.get("to", []))
        off = _names(f"{key}.off", table.get("off", []))
        params = table.get("params", {})
        if not isinstance(params, dict):
            raise ConfigError(f"{key}.params", "must be a table of \"instance.param\" = value")
        for pname, pvalue in params.items():
            if isinstance(pvalue, float) and not math.isfinite(pvalue):
                raise ConfigError(f"{key}.params.{pname}", f"{pvalue} is not a finite number")
        entry = _commands(f"{key}.on_entry", table.get("on_entry", []))
        exit_ = _commands(f"{key}.on_exit", table.get("on_exit", []))
        modes.append(ModeDef(name, mode_id, to, off, tuple(params.items()), entry, exit_))
    for i, mode in enumerate(modes):
        for j, target in enumerate(mode.to):
            if target not in names:
                raise ConfigError(f"modes[{i}].to[{j}]", f"no mode named {target!r}")
            if target == mode.name:
                raise ConfigError(f"modes[{i}].to[{j}]", "a mode cannot transition to itself")
    return modes


def _names(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(type(v) is str and v for v in value):
        raise ConfigError(key, "must be an array of names")
    for j, v in enumerate(value):
        if value.index(v) != j:
            raise ConfigError(f"{key}[{j}]", f"{v!r} listed twice")
    return tuple(value)


def _commands(key: str, value: Any) -> tuple[CommandDef, ...]:
    if not isinstance(value, list):
        raise ConfigError(key, "must be an array of commands")
    return tuple(parse_command(f"{key}[{j}]", v) for j, v in enumerate(value))


# --- switching components off and on --------------------------------------------------------

_ESSENTIAL: Final = (Executive, RateGroup, BusMonitor, CommandDispatcher)


def switch_off(comp: Component) -> None:
    """Take a running component out of service: out of its rate group, then its `stop()`."""
    if comp.lifecycle is not Lifecycle.RUNNING:
        return
    group = comp.rate_group
    if group is not None:
        group.set_running(comp, False)
    comp.lifecycle = Lifecycle.STOPPED
    comp.stop()


def switch_on(comp: Component) -> None:
    """Put a stopped component back in service: `init()`, `start()`, back in its rate group.

    If `init` or `start` raises, the component stays stopped and the exception propagates.
    """
    if comp.lifecycle is Lifecycle.RUNNING:
        return
    comp.init()
    comp.lifecycle = Lifecycle.INITIALIZED
    comp.start()
    comp.lifecycle = Lifecycle.RUNNING
    group = comp.rate_group
    if group is not None:
        group.set_running(comp, True)


def check_switchable(comp: Component, key: str) -> None:
    """Raise `ConfigError` if `comp` cannot be switched off and on again."""
    if isinstance(comp, _ESSENTIAL):
        raise ConfigError(key, f"{comp.name} ({type(comp).__name__}) is part of the framework "
                               "and cannot be switched off")
    if isinstance(comp, ThreadedComponent):
        raise ConfigError(key, f"{comp.name} runs a worker thread, which cannot be stopped and "
                               "restarted in flight")


# --- the component -------------------------------------------------------------------------------


class ModeManager(Component):
    """Holds the spacecraft mode; enters modes by command, FDIR, health recovery and at boot."""

    mode = Channel(1, U8, update=Update.ON_CHANGE, doc="current mode (its ID in the mode table)")
    transitions = Channel(2, U32, update=Update.ON_CHANGE, doc="mode transitions since boot")
    refused = Channel(3, U32, update=Update.ON_CHANGE, doc="transitions refused since boot")
    switch_failures = Channel(4, U32, update=Update.ON_CHANGE,
                              doc="components that failed to switch off or on")

    changed = Event(1, Severity.ACTIVITY_HI, "mode {old} -> {new} ({cause})",
                    throttle=Throttle(20, 60.0), old=String(MODE_NAME_OCTETS),
                    new=String(MODE_NAME_OCTETS), cause=Enum(ModeCause))
    refused_event = Event(2, Severity.WARNING_LO,
                          "mode {target} refused in {current} ({cause}): {why}",
                          throttle=Throttle(10, 60.0), target=String(MODE_NAME_OCTETS),
                          current=String(MODE_NAME_OCTETS), cause=Enum(ModeCause),
                          why=String(64))
    booted = Event(3, Severity.ACTIVITY_HI,
                   "boot in mode {mode}: reset cause {cause}, stored mode {stored}",
                   throttle=None, mode=String(MODE_NAME_OCTETS), cause=Enum(ResetCause),
                   stored=String(MODE_NAME_OCTETS))
    switch_failed = Event(4, Severity.WARNING_HI, "switching {component} {state} failed: {error}",
                          throttle=Throttle(10, 60.0), component=String(32), state=String(4),
                          error=String(96))
    storage_failed = Event(5, Severity.WARNING_LO, "mode storage: {detail}",
                           throttle=Throttle(5, 600.0), detail=String(120))

    commands = Output("entry/exit commands and parameter sets (Command), to the dispatcher")

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.file = DEFAULT_FILE
        self.table: list[ModeDef] = []
        self.initial = ""
        self.after_reset: str | None = None
        self.current: ModeDef | None = None
        self.storage: Storage | None = None
        self.stored: str | None = None
        self._by_name: dict[str, ModeDef] = {}
        self._components: dict[str, Component] = {}
        self._entry: dict[str, tuple[Command, ...]] = {}
        self._exit: dict[str, tuple[Command, ...]] = {}
        self._reset_source: Any = None
        self._seq = 0
        self._counts = [0, 0, 0]  # transitions, refused, switch failures

    # --- configuration -------------------------------------------------------------------------

    def configure(self, config: Mapping[str, Any]) -> None:
        known = ("modes", "initial", "after_reset", "file")
        for key in config:
            if key not in known:
                raise ConfigError(key, f"unknown setting (known: {', '.join(known)})")
        self.table = parse_modes(config.get("modes"))
        self._by_name = {m.name: m for m in self.table}
        self.initial = config.get("initial", self.table[0].name)
        if self.initial not in self._by_name:
            raise ConfigError("initial", f"no mode named {self.initial!r}")
        after = config.get("after_reset")
        if after is not None and after not in self._by_name:
            raise ConfigError("after_reset", f"no mode named {after!r}")
        self.after_reset = after
        file = config.get("file", DEFAULT_FILE)
        if type(file) is not str or not file or "/" in file:
            raise ConfigError("file", f"{file!r} is not a plain file name")
        self.file = file

    def registry_ready(self, registry: Registry) -> None:
        self._components = dict(registry.components)
        prmdb = next((c for c in registry.components.values()
                      if isinstance(c, ParameterDatabase)), None)
        sends = False
        for i, mode in enumerate(self.table):
            key = f"modes[{i}]"
            for j, cname in enumerate(mode.off):
                comp = registry.components.get(cname)
                if comp is None:
                    raise ConfigError(f"{key}.off[{j}]", f"no component named {cname!r}")
                if comp is self:
                    raise ConfigError(f"{key}.off[{j}]",
                                      "the mode manager cannot switch itself off")
                check_switchable(comp, f"{key}.off[{j}]")
            entry: list[Command] = []
            for pname, value in mode.params:
                pkey = f"{key}.params.{pname}"
                if prmdb is None:
                    raise ConfigError(pkey, "setting parameters needs a parameter database")
                try:
                    param = registry.param(pname)
                except KeyError as exc:
                    raise ConfigError(pkey, str(exc.args[0])) from None
                try:
                    param.param.type.check(value)
                except ArgumentError as exc:
                    raise ConfigError(pkey, exc.detail) from None
                opcode = registry.command(f"{prmdb.name}.set_param").opcode
                entry.append(Command(opcode, (param.param_id, value)))
            entry += [resolve_command(registry, f"{key}.on_entry[{j}]", c)
                      for j, c in enumerate(mode.on_entry)]
            self._entry[mode.name] = tuple(entry)
            self._exit[mode.name] = tuple(resolve_command(registry, f"{key}.on_exit[{j}]", c)
                                          for j, c in enumerate(mode.on_exit))
            sends = sends or bool(entry) or bool(mode.on_exit)
        if sends:
            check_connected(self, "commands", "the mode table sends commands")
        self._reset_source = next(
            (c for c in registry.components.values()
             if isinstance(getattr(c, "boot_cause", None), ResetCause)), None,
        )

    def restore(self) -> None:
        url = self.context.hardware.get("storage")
        if url is None:
            return
        self.storage = open_storage(url)
        try:
            body = msgpack.unpackb(self.storage.load(self.file), raw=False)
            if not isinstance(body, dict) or body.get("format") != FORMAT or type(
                body.get("mode")
            ) is not str:
                raise ValueError(f"not a format-{FORMAT} mode record")
            self.stored = body["mode"]
        except StorageMissing:
            self.stored = None
        except (StorageError, ValueError, msgpack.UnpackException) as exc:
            self.emit(self.storage_failed, _clip(f"stored mode unreadable: {exc}"))

    def init(self) -> None:
        if self.rate_group is None:
            raise ConfigError("rate_group", "the mode manager must be a member of a rate group "
                                            "(it enters the boot mode at its first cycle)")

    def cycle(self) -> None:
        if self.current is None:
            self._boot()

    # --- transitions ---------------------------------------------------------------------------

    def has_mode(self, name: str) -> bool:
        return name in self._by_name

    def request(self, name: str, cause: ModeCause) -> bool:
        """Enter mode `name` if the table allows it from the current mode; True if in it now.

        A refusal is reported by an event.
        """
        if self.current is None:
            self._boot()
        assert self.current is not None
        target = self._by_name.get(name)
        if target is None:
            self._refuse(name, cause, "no such mode")
            return False
        if target is self.current:
            return True
        if target.name not in self.current.to:
            self._refuse(name, cause, f"not reachable from {self.current.name}")
            return False
        self._transition(target, cause)
        return True

    @command(1, mode=String(MODE_NAME_OCTETS))
    def set_mode(self, mode: str) -> None:
        """Enter a mode by name (a transition the mode table allows from the current mode)."""
        if mode not in self._by_name:
            raise CommandError(ReasonCode.NOT_FOUND, f"no mode named {mode!r} (modes: "
                                                     f"{', '.join(self._by_name)})")
        if not self.request(mode, ModeCause.COMMAND):
            assert self.current is not None
            raise CommandError(ReasonCode.EXECUTION_FAILED,
                               f"{mode} is not reachable from {self.current.name}")

    def _refuse(self, name: str, cause: ModeCause, why: str) -> None:
        self._counts[1] += 1
        self.tlm(self.refused, self._counts[1])
        current = self.current.name if self.current else ""
        self.emit(self.refused_event, name[:MODE_NAME_OCTETS], current, cause, why)

    def _transition(self, target: ModeDef, cause: ModeCause) -> None:
        old = self.current
        assert old is not None
        self._send(self._exit[old.name])
        for cname in target.off:
            if cname not in old.off:
                self._switch(cname, False)
        for cname in old.off:
            if cname not in target.off:
                self._switch(cname, True)
        self._enter(target)
        self._counts[0] += 1
        self.tlm(self.transitions, self._counts[0])
        self.emit(self.changed, old.name, target.name, cause)

    def _boot(self) -> None:
        cause = self._reset_source.boot_cause if self._reset_source is not None else (
            ResetCause.POWER_ON if self.stored is None else ResetCause.UNKNOWN)
        if self.stored is None or self.stored not in self._by_name:
            target = self._by_name[self.initial]
        elif cause in _UNEXPECTED and self.after_reset is not None:
            target = self._by_name[self.after_reset]
        else:
            target = self._by_name[self.stored]
        for cname in target.off:
            self._switch(cname, False)
        self._enter(target)
        self.emit(self.booted, target.name, cause, (self.stored or "")[:MODE_NAME_OCTETS])

    def _enter(self, target: ModeDef) -> None:
        self.current = target
        self.tlm(self.mode, target.id)
        self._save(target)
        self._send(self._entry[target.name])

    def _switch(self, cname: str, on: bool) -> None:
        comp = self._components[cname]
        try:
            if on:
                switch_on(comp)
            else:
                switch_off(comp)
        except Exception as exc:  # noqa: BLE001 - a unit that fails to switch is reported, not fatal
            self._counts[2] += 1
            self.tlm(self.switch_failures, self._counts[2])
            comp.set_health(Health.FAULT, _clip(f"switching {'on' if on else 'off'} failed: "
                                                f"{type(exc).__name__}: {exc}", 96))
            self.emit(self.switch_failed, cname[:32], "on" if on else "off",
                      _clip(f"{type(exc).__name__}: {exc}", 96))

    def _send(self, commands: tuple[Command, ...]) -> None:
        for cmd in commands:
            self._seq = (self._seq + 1) & 0xFFFF
            self.commands.send(Command(cmd.opcode, cmd.args, self._seq))

    def _save(self, mode: ModeDef) -> None:
        if self.storage is None:
            return
        try:
            self.storage.save(self.file, msgpack.packb(
                {"format": FORMAT, "mode": mode.name, "id": mode.id}))
        except OSError as exc:
            self.emit(self.storage_failed, _clip(f"saving the mode failed: {exc}"))


def _clip(text: str, limit: int = 120) -> str:
    return text.encode()[:limit].decode(errors="ignore")
