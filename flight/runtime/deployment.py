"""Deployments: one TOML file that instantiates and wires a satellite's software.

    [deployment]
    name = "refsat"
    tick_hz = 10                  # the executive's tick; rate groups divide it
    executive_base_id = 0x0100    # optional IDs of the built-in executive and bus monitor
    bus_base_id = 0x0200
    realtime_priority = 50        # optional: SCHED_FIFO priority on the real clock (Linux)

    [simulation]                  # optional: simulated devices for sim:// hardware
    seed = 42
    orbit_period_s = 5640.0
    eclipse_fraction = 0.36

    [hardware]                    # named bindings: name = URL or device path
    nvm = "var/refsat"
    eps = "sim://eps"

    [[components]]
    name = "power"                # instance name, unique
    class = "flight.refsat.power:PowerMonitor"
    base_id = 0x1000              # global IDs = base_id + local IDs
    hardware = { eps = "eps" }    # the component's binding -> a [hardware] name
    # any other key is the component's own configuration

    [[rate_groups]]
    name = "rg1hz"
    base_id = 0x0310
    divisor = 10                  # or rate_hz = 1 (must divide tick_hz)
    offset = 0
    members = ["power"]

    [[connections]]               # subscribe an input port to an output port (or a topic)
    from = "hk.packets"
    to = "downlink.housekeeping"
    depth = 32                    # optional: override the port's queue depth and policy
    policy = "drop_oldest"

Every error names the file and the key (``refsat.toml: components[2].base_id: ...``). Building
does no I/O: components touch hardware only from `restore`/`init` on, so `flight dict` works
anywhere.
"""

from __future__ import annotations

import importlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from flight.runtime.bus import Overflow
from flight.runtime.component import Component
from flight.runtime.errors import ConfigError, DeclarationError, RuntimeFault
from flight.runtime.executive import MAX_TICK_HZ, RateGroup
from flight.runtime.registry import IdCollision
from flight.runtime.runtime import DEFAULT_BUS_BASE, DEFAULT_EXECUTIVE_BASE, Runtime
from flight.sensors import CircularOrbit, Illumination, Simulation
from hal.clock import Clock

TOP_LEVEL: Final = ("deployment", "simulation", "hardware", "components", "rate_groups",
                    "connections")
RESERVED_NAMES: Final = ("executive", "bus")


class DeploymentError(RuntimeFault, ValueError):
    """A deployment file that cannot be used; names the file and the key."""

    def __init__(self, path: str, key: str, detail: str) -> None:
        super().__init__(f"{path}: {key}: {detail}")
        self.path = path
        self.key = key
        self.detail = detail


@dataclass(frozen=True)
class ComponentDecl:
    index: int
    name: str
    cls: type[Component]
    class_path: str
    base_id: int
    hardware: dict[str, str]
    config: dict[str, Any]


@dataclass(frozen=True)
class GroupDecl:
    index: int
    name: str
    base_id: int
    divisor: int
    offset: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class ConnectionDecl:
    index: int
    source: str
    dest: str
    depth: int | None
    policy: Overflow | None


@dataclass
class Deployment:
    """A validated deployment file; `build()` makes a `Runtime` from it."""

    path: str
    name: str
    tick_hz: float
    executive_base_id: int
    bus_base_id: int
    hardware: dict[str, str]
    components: list[ComponentDecl]
    groups: list[GroupDecl]
    connections: list[ConnectionDecl]
    seed: int | None = None
    orbit: dict[str, float] = field(default_factory=dict)
    realtime_priority: int | None = None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Deployment:
        path = os.fspath(path)
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise DeploymentError(path, "(file)", "no such file") from None
        except OSError as exc:
            raise DeploymentError(path, "(file)", exc.strerror or str(exc)) from None
        except tomllib.TOMLDecodeError as exc:
            raise DeploymentError(path, "(syntax)", str(exc)) from None
        return cls.parse(data, path)

    @classmethod
    def parse(cls, data: Mapping[str, Any], path: str = "<deployment>") -> Deployment:
        v = _Validator(path)
        for key in data:
            if key not in TOP_LEVEL:
                v.fail(key, f"unknown table (known: {', '.join(TOP_LEVEL)})")
        head = v.table(data, "deployment", required=True)
        v.keys(head, "deployment", ("name", "tick_hz", "executive_base_id", "bus_base_id",
                                    "realtime_priority"))
        name = v.string(head, "deployment", "name", required=True)
        tick_hz = v.number(head, "deployment", "tick_hz", required=True)
        if not 0 < tick_hz <= MAX_TICK_HZ:
            v.fail("deployment.tick_hz", f"{tick_hz} Hz outside (0, {MAX_TICK_HZ}]")
        exec_base = v.integer(head, "deployment", "executive_base_id", DEFAULT_EXECUTIVE_BASE)
        bus_base = v.integer(head, "deployment", "bus_base_id", DEFAULT_BUS_BASE)
        realtime: int | None = None
        if "realtime_priority" in head:
            realtime = v.integer(head, "deployment", "realtime_priority", None)
            if not 1 <= realtime <= 99:
                v.fail("deployment.realtime_priority", f"{realtime} outside 1..99")

        seed: int | None = None
        orbit: dict[str, float] = {}
        if "simulation" in data:
            sim = v.table(data, "simulation")
            v.keys(sim, "simulation", ("seed", "orbit_period_s", "eclipse_fraction"))
            seed = v.integer(sim, "simulation", "seed", 0)
            for key in ("orbit_period_s", "eclipse_fraction"):
                if key in sim:
                    orbit[key.removeprefix("orbit_")] = v.number(sim, "simulation", key)
            try:
                CircularOrbit(**orbit)
            except ValueError as exc:
                v.fail("simulation", str(exc))

        hardware: dict[str, str] = {}
        for hname, url in v.table(data, "hardware").items():
            if type(url) is not str or not url:
                v.fail(f"hardware.{hname}", f"{url!r} must be a URL or path string")
            hardware[hname] = url

        names: dict[str, str] = {n: "(built in)" for n in RESERVED_NAMES}
        components = []
        for i, table in enumerate(v.array(data, "components")):
            key = f"components[{i}]"
            cname = v.identifier(table, key, "name", names)
            class_path = v.string(table, key, "class", required=True)
            comp_cls = _import_component(v, f"{key}.class", class_path)
            base_id = v.integer(table, key, "base_id", None, required=True)
            bindings = v.table(table, f"{key}.hardware", source=table.get("hardware", {}))
            for binding, hname in bindings.items():
                if hname not in hardware:
                    v.fail(f"{key}.hardware.{binding}",
                           f"{hname!r} is not in the [hardware] table "
                           f"(known: {', '.join(sorted(hardware)) or 'none'})")
            config = {k: val for k, val in table.items()
                      if k not in ("name", "class", "base_id", "hardware")}
            components.append(ComponentDecl(i, cname, comp_cls, class_path, base_id,
                                            dict(bindings), config))

        groups = []
        member_of: dict[str, str] = {}
        known_components = {c.name for c in components}
        for i, table in enumerate(v.array(data, "rate_groups")):
            key = f"rate_groups[{i}]"
            v.keys(table, key, ("name", "base_id", "divisor", "rate_hz", "offset", "members"))
            gname = v.identifier(table, key, "name", names)
            base_id = v.integer(table, key, "base_id", None, required=True)
            divisor = _divisor(v, table, key, tick_hz)
            offset = v.integer(table, key, "offset", 0)
            if not 0 <= offset < divisor:
                v.fail(f"{key}.offset", f"{offset} outside 0..{divisor - 1} (divisor {divisor})")
            members = table.get("members", [])
            if not isinstance(members, list) or not all(type(m) is str for m in members):
                v.fail(f"{key}.members", "must be an array of component names")
            for j, member in enumerate(members):
                if member not in known_components:
                    v.fail(f"{key}.members[{j}]", f"no component named {member!r}")
                if member in member_of:
                    v.fail(f"{key}.members[{j}]",
                           f"{member} is already a member of rate group {member_of[member]}")
                member_of[member] = gname
            groups.append(GroupDecl(i, gname, base_id, divisor, offset, tuple(members)))

        connections = []
        for i, table in enumerate(v.array(data, "connections")):
            key = f"connections[{i}]"
            v.keys(table, key, ("from", "to", "depth", "policy"))
            source = v.string(table, key, "from", required=True)
            dest = v.string(table, key, "to", required=True)
            depth = table.get("depth")
            if depth is not None and (type(depth) is not int or depth < 1):
                v.fail(f"{key}.depth", f"{depth!r} must be a positive integer")
            policy = table.get("policy")
            if policy is not None:
                try:
                    policy = Overflow(policy)
                except ValueError:
                    v.fail(f"{key}.policy", f"{policy!r} is not one of "
                                            f"{', '.join(p.value for p in Overflow)}")
            connections.append(ConnectionDecl(i, source, dest, depth, policy))

        return cls(path, name, float(tick_hz), exec_base, bus_base, hardware, components, groups,
                   connections, seed, orbit, realtime)

    # --- building ------------------------------------------------------------------------

    def build(
        self, *, clock: Clock, bindings: Mapping[str, str] | None = None,
        seed: int | None = None, illumination: Illumination | None = None,
        realtime_priority: int | None = None,
    ) -> Runtime:
        """Instantiate, configure and wire everything (no I/O); then call `boot()` to run it.

        `bindings` override [hardware] entries by name (the command line's --bind); `seed`
        overrides the simulation seed; `illumination` replaces the simulated orbit;
        `realtime_priority` overrides the file's.
        """
        hardware = dict(self.hardware)
        for hname, url in (bindings or {}).items():
            if hname not in hardware:
                raise DeploymentError(self.path, f"hardware.{hname}",
                                      "cannot bind: not in the [hardware] table")
            hardware[hname] = url
        resources: dict[str, Any] = {}
        run_seed = seed if seed is not None else (self.seed or 0)
        if self.seed is not None or seed is not None or illumination is not None:
            resources["simulation"] = Simulation(
                seed=run_seed, illumination=illumination or CircularOrbit(**self.orbit),
                start=clock.monotonic(),
            )
        try:
            rt = Runtime(self.name, clock=clock, tick_hz=self.tick_hz,
                         executive_base_id=self.executive_base_id,
                         bus_base_id=self.bus_base_id, seed=run_seed, resources=resources,
                         realtime_priority=realtime_priority or self.realtime_priority)
        except ConfigError as exc:
            raise self._error(exc) from None
        for decl in self.components:
            try:
                comp = decl.cls(decl.name, decl.base_id)
            except ConfigError as exc:
                raise DeploymentError(self.path, f"components[{decl.index}].{exc.key}",
                                      exc.detail) from None
            except TypeError as exc:
                raise DeploymentError(self.path, f"components[{decl.index}].class",
                                      f"{decl.class_path} cannot be built as (name, base_id): "
                                      f"{exc}") from None
            comp.class_path = decl.class_path  # type: ignore[attr-defined]
            try:
                rt.add(comp, hardware={b: hardware[h] for b, h in decl.hardware.items()},
                       config=decl.config)
            except ConfigError as exc:
                raise self._error(exc) from None
        for g in self.groups:
            try:
                rt.add_group(RateGroup(g.name, g.base_id, divisor=g.divisor, offset=g.offset),
                             g.members)
            except ConfigError as exc:
                raise self._error(exc.within(g.name)) from None
        for c in self.connections:
            try:
                rt.connect(c.source, c.dest, depth=c.depth, policy=c.policy)
            except ConfigError as exc:
                raise DeploymentError(self.path, f"connections[{c.index}].{exc.key}",
                                      exc.detail) from None
        try:
            rt.prepare()
        except (ConfigError, IdCollision) as exc:
            raise self._error(exc) from None
        return rt

    def boot(self, rt: Runtime) -> None:
        """`rt.boot()`, with configuration errors found at boot reported against this file."""
        try:
            rt.boot()
        except ConfigError as exc:
            raise self._error(exc) from None

    def _error(self, exc: ConfigError | IdCollision) -> DeploymentError:
        if isinstance(exc, IdCollision):
            owner = exc.second.split(".", 1)[0]
            return DeploymentError(self.path, self._key_of(owner, "base_id"), str(exc))
        if exc.component is None:
            return DeploymentError(self.path, exc.key, exc.detail)
        return DeploymentError(self.path, self._key_of(exc.component, exc.key), exc.detail)

    def _key_of(self, component: str, key: str) -> str:
        for c in self.components:
            if c.name == component:
                return f"components[{c.index}].{key}"
        for g in self.groups:
            if g.name == component:
                return f"rate_groups[{g.index}].{key}"
        if component == "executive" and key == "base_id":
            return "deployment.executive_base_id"
        if component == "bus" and key == "base_id":
            return "deployment.bus_base_id"
        return f"{component}.{key}"


def _divisor(v: _Validator, table: Mapping[str, Any], key: str, tick_hz: float) -> int:
    if ("divisor" in table) == ("rate_hz" in table):
        v.fail(key, "give exactly one of divisor and rate_hz")
    if "divisor" in table:
        divisor = v.integer(table, key, "divisor", None)
        if divisor < 1:
            v.fail(f"{key}.divisor", f"{divisor} must be at least 1")
        return divisor
    rate = v.number(table, key, "rate_hz")
    if not rate > 0:
        v.fail(f"{key}.rate_hz", f"{rate} Hz must be positive")
    divisor_f = tick_hz / rate
    divisor = round(divisor_f)
    if divisor < 1 or abs(divisor_f - divisor) > 1e-9:
        v.fail(f"{key}.rate_hz", f"{rate} Hz does not divide the tick of {tick_hz} Hz")
    return divisor


def _import_component(v: _Validator, key: str, path: str) -> type[Component]:
    module_name, colon, class_name = path.partition(":")
    if not colon or not module_name or not class_name:
        v.fail(key, f"{path!r} must be 'package.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            v.fail(key, f"unknown class {path!r}: no module named {exc.name!r}")
        raise
    except DeclarationError as exc:
        v.fail(key, f"{path}: {exc}")
    cls = getattr(module, class_name, None)
    if cls is None:
        v.fail(key, f"unknown class {path!r}: {module_name} has no {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Component)):
        v.fail(key, f"{path} is not a Component class")
    return cls


class _Validator:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, detail: str) -> Any:
        raise DeploymentError(self.path, key, detail)

    def table(self, data: Mapping[str, Any], key: str, *, required: bool = False,
              source: Any = None) -> dict[str, Any]:
        value = source if source is not None else data.get(key)
        if value is None:
            if required:
                self.fail(key, "missing")
            return {}
        if not isinstance(value, dict):
            self.fail(key, "must be a table")
        return value

    def array(self, data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
            self.fail(key, f"must be an array of tables ([[{key}]])")
        return value

    def keys(self, table: Mapping[str, Any], where: str, known: tuple[str, ...]) -> None:
        for k in table:
            if k not in known:
                self.fail(f"{where}.{k}", f"unknown key (known: {', '.join(known)})")

    def string(self, table: Mapping[str, Any], where: str, key: str, *,
               required: bool = False) -> str:
        if key not in table:
            if required:
                self.fail(f"{where}.{key}", "missing")
            return ""
        value = table[key]
        if type(value) is not str or not value:
            self.fail(f"{where}.{key}", f"{value!r} must be a non-empty string")
        return value

    def identifier(self, table: Mapping[str, Any], where: str, key: str,
                   names: dict[str, str]) -> str:
        value = self.string(table, where, key, required=True)
        if not value.isidentifier():
            self.fail(f"{where}.{key}", f"{value!r} is not a valid instance name (an identifier)")
        if value in names:
            self.fail(f"{where}.{key}", f"name {value!r} already used by {names[value]}")
        names[value] = where
        return value

    def integer(self, table: Mapping[str, Any], where: str, key: str, default: int | None, *,
                required: bool = False) -> Any:
        if key not in table:
            if required or default is None:
                self.fail(f"{where}.{key}", "missing")
            return default
        value = table[key]
        if type(value) is not int or value < 0:
            self.fail(f"{where}.{key}", f"{value!r} must be a non-negative integer")
        return value

    def number(self, table: Mapping[str, Any], where: str, key: str, *,
               required: bool = False) -> float:
        if key not in table:
            self.fail(f"{where}.{key}", "missing")
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"{where}.{key}", f"{value!r} must be a number")
        return float(value)
