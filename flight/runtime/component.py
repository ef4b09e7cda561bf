"""Components: one Python class states a component's whole contract, no code generation.

A component class declares, as class attributes and decorators:

- commands: ``@command(opcode, name=TYPE, ...)`` on a handler method whose parameters are the
  arguments, in order; the docstring is the command's description;
- telemetry channels: ``name = Channel(id, TYPE, unit=..., update=Update.ON_CHANGE)``;
- events: ``name = Event(id, Severity.X, "format {arg}", arg=TYPE, ...)``;
- parameters: ``name = Param(id, TYPE, default)``; reading ``self.name`` gives the current value;
- bus ports: ``@input_port(depth=..., policy=...)`` on a handler, ``name = Output()``.

Local IDs are small numbers chosen by the class; an instance adds its base ID, so one class can be
instantiated twice in a deployment without clashes (global ID = base ID + local ID; opcodes,
channel IDs, event IDs and parameter IDs are four separate spaces).

Lifecycle, called by the runtime in this order: ``configure(config)`` (the deployment's settings),
``registry_ready(registry)`` (the deployment's tables; no I/O yet), ``restore()`` (reload state
from non-volatile storage: the parameter database loads here), ``init()`` (open hardware),
``start()``; rate-group members get ``cycle()`` at their rate; ``stop()`` at shutdown. Nothing
before ``restore`` may touch hardware or storage, so a deployment can be built anywhere (for its
dictionary). A component reports its health with ``set_health``.
"""

from __future__ import annotations

import inspect
import string
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Final

from flight.runtime.errors import ConfigError, DeclarationError
from flight.runtime.records import EventRecord, Severity
from flight.runtime.topics import EVENTS_SUPPRESSED
from flight.runtime.types import FieldType
from hal.clock import SimClock

if TYPE_CHECKING:
    from flight.runtime.bus import Overflow, SoftwareBus, Topic
    from flight.runtime.telemetry import TelemetryStore
    from hal.clock import Clock

MAX_LOCAL_ID: Final = 0xFF  # local IDs 0..255: an instance needs a base-ID span of 256


class Update(StrEnum):
    """When a channel write counts as an update (its time stamp moves)."""

    ON_CHANGE = "on_change"
    EVERY_CYCLE = "every_cycle"


_ON_CHANGE: Final = Update.ON_CHANGE


class Health(IntEnum):
    OK = 0
    WARNING = 1
    FAULT = 2


class Lifecycle(IntEnum):
    CREATED = 0
    INITIALIZED = 1
    RUNNING = 2
    STOPPED = 3


def _check_local_id(kind: str, local_id: int) -> None:
    if type(local_id) is not int or not 0 <= local_id <= MAX_LOCAL_ID:
        raise DeclarationError(f"{kind} local ID {local_id!r} outside 0..{MAX_LOCAL_ID}")


@dataclass(frozen=True)
class Throttle:
    """At most `count` occurrences of an event per `window_s` seconds; the rest are counted."""

    count: int
    window_s: float


DEFAULT_THROTTLE: Final = Throttle(count=20, window_s=60.0)


class Channel:
    """A telemetry channel declaration."""

    def __init__(
        self, id: int, type: FieldType, *, unit: str = "",  # noqa: A002
        update: Update = Update.EVERY_CYCLE, doc: str = "",
    ) -> None:
        _check_local_id("channel", id)
        self.id = id
        self.type = type
        self.unit = unit
        self.update = Update(update)
        self.doc = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def describe(self) -> dict[str, Any]:
        return {"type": self.type.describe(), "unit": self.unit, "update": str(self.update),
                "doc": self.doc}


class Event:
    """An event declaration: severity, message format over named, typed arguments."""

    def __init__(
        self, id: int, severity: Severity, fmt: str, *,  # noqa: A002
        throttle: Throttle | None = DEFAULT_THROTTLE, doc: str = "", **args: FieldType,
    ) -> None:
        _check_local_id("event", id)
        self.id = id
        self.severity = Severity(severity)
        self.fmt = fmt
        self.throttle = throttle
        self.doc = doc
        self.args: dict[str, FieldType] = dict(args)
        self.name = ""
        used = {f for _, f, _, _ in string.Formatter().parse(fmt) if f}
        unknown = {u.split(".")[0].split("[")[0] for u in used} - set(self.args)
        if unknown:
            raise DeclarationError(f"event format {fmt!r} names undeclared arguments {unknown}")

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def format(self, args: tuple[Any, ...]) -> str:
        try:
            return self.fmt.format(**dict(zip(self.args, args, strict=True)))
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            return f"{self.fmt} {args!r} (unformattable: {exc})"

    def describe(self) -> dict[str, Any]:
        return {
            "severity": self.severity.name,
            "format": self.fmt,
            "args": [{"name": n, **t.describe()} for n, t in self.args.items()],
            "throttle": None if self.throttle is None
            else {"count": self.throttle.count, "window_s": self.throttle.window_s},
            "doc": self.doc,
        }


class Param:
    """A parameter declaration; on an instance, the attribute reads the current value."""

    def __init__(self, id: int, type: FieldType, default: Any, *, doc: str = "") -> None:  # noqa: A002
        _check_local_id("parameter", id)
        self.id = id
        self.type = type
        self.default = type.check(default)
        self.doc = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Component | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance._param_values[self.id]

    def __set__(self, instance: Component, value: Any) -> None:
        raise AttributeError(f"parameter {self.name} is set through the parameter database")

    def describe(self) -> dict[str, Any]:
        return {"type": self.type.describe(), "default": self.default, "doc": self.doc}


@dataclass(frozen=True)
class CommandSpec:
    opcode: int
    name: str
    args: dict[str, FieldType]
    method: str
    doc: str

    def describe(self) -> dict[str, Any]:
        return {"args": [{"name": n, **t.describe()} for n, t in self.args.items()],
                "doc": self.doc}


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def command(opcode: int, /, **args: FieldType) -> Decorator:
    """Declare the decorated method as the handler of a command with local `opcode`.

    The method's parameters (after self) must be exactly the declared arguments, in order. It
    returns None when the command completed, or raises `CommandError` with a reason code. The
    command is named after the method; one trailing underscore is dropped, so a command whose
    name is a lifecycle hook's (``start``, ``stop``) is handled by ``start_``, ``stop_``.
    """
    _check_local_id("command opcode", opcode)

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        params = list(inspect.signature(fn).parameters)[1:]
        if params != list(args):
            raise DeclarationError(
                f"command {fn.__qualname__}: handler parameters {params} differ from the "
                f"declared arguments {list(args)}"
            )
        fn.__command__ = CommandSpec(  # type: ignore[attr-defined]
            opcode, fn.__name__.removesuffix("_"), dict(args), fn.__name__,
            inspect.getdoc(fn) or ""
        )
        return fn

    return mark


@dataclass(frozen=True)
class InputSpec:
    name: str
    method: str
    depth: int
    policy: Overflow
    topic: str | None  # a fixed topic this port always listens to, besides its connections


def input_port(
    *, depth: int = 16, policy: str = "drop_oldest", topic: str | None = None
) -> Decorator:
    """Declare the decorated method (one argument: the message) as a bus input port.

    Messages wait in a queue of `depth`; `policy` says what a full queue does to a new message
    (`drop_oldest`, `drop_newest`, `reject`). The deployment's connections can override both.
    """
    from flight.runtime.bus import Overflow

    if depth < 1:
        raise DeclarationError(f"input port depth {depth} must be at least 1")
    pol = Overflow(policy)

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__input_port__ = InputSpec(fn.__name__, fn.__name__, depth, pol, topic)  # type: ignore[attr-defined]
        return fn

    return mark


class Output:
    """An output port declaration; on an instance it is an `OutputPort` with `send(msg)`."""

    def __init__(self, doc: str = "") -> None:
        self.doc = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name


class OutputPort:
    """A component's output: `send(msg)` publishes to the port's topic."""

    __slots__ = ("name", "topic_name", "send")

    def __init__(self, name: str, topic_name: str) -> None:
        self.name = name
        self.topic_name = topic_name
        self.send: Callable[[Any], bool] = _unbound_send


def _unbound_send(msg: Any) -> bool:
    raise RuntimeError("output port used before the deployment connected it to the bus")


@dataclass
class ComponentSpec:
    """Everything a component class declares, collected from its class and bases."""

    commands: dict[int, CommandSpec] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    events: dict[int, Event] = field(default_factory=dict)
    params: dict[int, Param] = field(default_factory=dict)
    inputs: dict[str, InputSpec] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)


_new: Final = tuple.__new__  # builds a NamedTuple record without its Python-level __new__ (3x)

_KIND_LABELS: Final = {
    "Channel": "channel", "Event": "event", "Param": "parameter", "CommandSpec": "command opcode",
}


def _collect(cls: type) -> ComponentSpec:
    spec = ComponentSpec()
    names: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            kind_table: dict[int, Any] | None = None
            key: Any = None
            item: Any = value
            if isinstance(value, Channel):
                kind_table, key = spec.channels, value.id
            elif isinstance(value, Event):
                kind_table, key = spec.events, value.id
            elif isinstance(value, Param):
                kind_table, key = spec.params, value.id
            elif callable(value) and hasattr(value, "__command__"):
                item = value.__command__
                kind_table, key = spec.commands, item.opcode
            elif callable(value) and hasattr(value, "__input_port__"):
                spec.inputs[attr] = value.__input_port__
                continue
            elif isinstance(value, Output):
                spec.outputs[attr] = value
                continue
            else:
                continue
            kind = _KIND_LABELS[type(item).__name__]
            previous = kind_table.get(key)
            if previous is not None and getattr(previous, "name", None) != attr:
                raise DeclarationError(
                    f"{cls.__name__}: {kind} local ID {key} declared twice "
                    f"({previous.name} and {attr})"
                )
            kind_table[key] = item
            if names.get(attr, kind) != kind:
                raise DeclarationError(f"{cls.__name__}: name {attr} used by two declarations")
            names[attr] = kind
    return spec


@dataclass
class Context:
    """What the runtime gives each component: time, the bus, the stores, its hardware."""

    clock: Clock
    bus: SoftwareBus
    telemetry: TelemetryStore
    publish_event: Callable[[EventRecord], None]
    hardware: Mapping[str, str] = field(default_factory=dict)
    resources: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0


class Component:
    """Base class of every component. Subclasses declare; the runtime instantiates and wires."""

    _spec: ClassVar[ComponentSpec] = ComponentSpec()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._spec = _collect(cls)
        spec = cls._spec
        declared = (
            {c.name for c in spec.channels.values()} | {e.name for e in spec.events.values()}
            | {p.name for p in spec.params.values()} | {c.method for c in spec.commands.values()}
            | set(spec.inputs) | set(spec.outputs)
        )
        clash = declared & _RESERVED
        if clash:
            raise DeclarationError(
                f"{cls.__name__}: {', '.join(sorted(clash))} would hide the Component attribute "
                "of the same name; choose another name"
            )

    def __init__(self, name: str, base_id: int) -> None:
        if not name.isidentifier():
            raise ConfigError("name", f"component instance name {name!r} is not an identifier")
        if type(base_id) is not int or not 0 <= base_id <= 0xFFFFFFFF - MAX_LOCAL_ID:
            raise ConfigError(
                "base_id", f"base ID {base_id!r} outside 0..0x{0xFFFFFFFF - MAX_LOCAL_ID:X}"
            )
        self.name = name
        self.base_id = base_id
        self.health = Health.OK
        self.health_reason = ""
        self.lifecycle = Lifecycle.CREATED
        self.faults = 0
        self._param_values: dict[int, Any] = {p.id: p.default for p in self._spec.params.values()}
        self._throttle_state: dict[int, list[float]] = {}
        self._ctx: Context | None = None
        self.rate_group: Any = None  # the RateGroup running this component's cycle(), if any
        for attr, out in self._spec.outputs.items():
            setattr(self, attr, OutputPort(out.name, f"{name}.{attr}"))

    # --- runtime wiring ----------------------------------------------------------------------

    def attach(self, ctx: Context) -> None:
        """Give the component its context (the runtime calls this before `configure`)."""
        self._ctx = ctx
        self.clock = ctx.clock
        self._now = ctx.clock.monotonic
        self._tlm_write = ctx.telemetry.write
        self._tlm_values, self._tlm_times = ctx.telemetry.tables()
        self._publish_event = ctx.publish_event

    @property
    def context(self) -> Context:
        if self._ctx is None:
            raise RuntimeError(f"component {self.name} is not attached to a runtime")
        return self._ctx

    # --- lifecycle hooks (override as needed) -------------------------------------------------

    def configure(self, config: Mapping[str, Any]) -> None:
        """Apply the deployment's settings for this instance; raise `ConfigError(key, why)`."""
        if config:
            raise ConfigError(next(iter(config)), f"{type(self).__name__} takes no settings")

    def registry_ready(self, registry: Any) -> None:
        """Called with the deployment's `Registry` once every component is wired (no I/O here)."""

    def restore(self) -> None:
        """Reload persistent state from storage; called for every component before any `init`."""

    def init(self) -> None:
        """Called once parameters are loaded, before any component starts: open hardware here."""

    def start(self) -> None:
        """Called when the runtime starts, before the first tick."""

    def stop(self) -> None:
        """Called at shutdown, after the last tick."""

    def param_changed(self, param: Param) -> None:
        """Called after a parameter of this component got a new value (set, load, reset)."""

    # --- services for subclasses ---------------------------------------------------------------

    def now(self) -> float:
        return self._now()

    def tlm(self, channel: Channel, value: Any) -> None:
        """Write a telemetry channel (stamped with the current time).

        `TelemetryStore.write`'s rule, inlined: this is the most frequent call of a deployment
        (dozens per tick), and an unchanged `on_change` value does not even read the clock."""
        cid = self.base_id + channel.id
        if channel.update is _ON_CHANGE and cid in self._tlm_times and (
            self._tlm_values[cid] == value
        ):
            return
        self._tlm_values[cid] = value
        self._tlm_times[cid] = self._now()

    def emit(self, event: Event, *args: Any) -> bool:
        """Emit an event with its arguments in declaration order; False if throttled."""
        if len(args) != len(event.args):
            raise TypeError(f"event {self.name}.{event.name} takes {len(event.args)} arguments, "
                            f"got {len(args)}")
        now = self._now()
        throttle = event.throttle
        if throttle is not None:
            state = self._throttle_state.get(event.id)
            if state is None or now - state[0] >= throttle.window_s:
                suppressed = 0 if state is None else int(state[2])
                self._throttle_state[event.id] = state = [now, 0.0, 0.0]
                if suppressed:
                    self._report_suppressed(event, suppressed, now)
            if state[1] >= throttle.count:
                state[2] += 1
                return False
            state[1] += 1
        self._publish_event(_new(EventRecord, (self.base_id + event.id, event.severity, now, args)))
        return True

    def _report_suppressed(self, event: Event, count: int, now: float) -> None:
        self.context.bus.publish(EVENTS_SUPPRESSED, (self.base_id + event.id, count))

    def hardware(self, binding: str) -> str:
        """The URL or path bound to this component's `binding` in the deployment."""
        try:
            return self.context.hardware[binding]
        except KeyError:
            raise ConfigError(
                f"{self.name}.hardware.{binding}",
                "no hardware bound; add it to the component's hardware table",
            ) from None

    def set_health(self, health: Health, reason: str = "") -> None:
        self.health = Health(health)
        self.health_reason = reason


_RESERVED: Final = frozenset(
    {n for n in vars(Component) if not n.startswith("__")}
    | {"name", "base_id", "health", "health_reason", "lifecycle", "faults", "rate_group", "clock"}
)


class ThreadedComponent(Component):
    """A component with a blocking part (a driver's reader) that runs in its own thread.

    `worker()` runs in that thread. It talks to the rest of the deployment only through its output
    ports, whose messages wait in a handoff queue until the executive moves them onto the bus at
    the next tick, in a fixed order, so a simulated run stays deterministic. In simulation, a
    worker that waits with `self.sleep_until` or `self.wait_for` (the clock's worker-side waits)
    is part of the clock's barrier: simulated time only moves when every such worker is waiting.
    """

    HANDOFF_DEPTH: ClassVar[int] = 1024
    SIM_BARRIER: ClassVar[bool] = True
    """False for a worker that blocks in real I/O (a real serial port) rather than on the clock:
    it then runs as a plain thread, outside the simulated clock's barrier, and must not wait
    with `sleep_until`/`wait_for` on a simulated clock."""

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self._stopping = threading.Event()
        self._handoff: deque[tuple[Topic, Any]] = deque()
        self.handoff_drops = 0
        self.thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def worker(self) -> None:
        """The blocking loop; return when `self.stopping` becomes true."""
        raise NotImplementedError

    def handoff(self, topic: Topic, msg: Any) -> bool:
        """Worker side of an output port: queue `msg` for the executive (thread-safe)."""
        if len(self._handoff) >= self.HANDOFF_DEPTH:
            self.handoff_drops += 1
            return False
        self._handoff.append((topic, msg))
        return True

    def drain_handoff(self) -> None:
        """Executive side: publish what the worker handed over, in the order it did."""
        h = self._handoff
        for _ in range(len(h)):
            topic, msg = h.popleft()
            topic.publish(msg)

    def request_stop(self) -> None:
        self._stopping.set()

    def sleep_until(self, deadline: float) -> bool:
        """Sleep until `deadline`; returns False early if the runtime is stopping."""
        return not self.wait_for(self._stopping.is_set, deadline)

    def wait_for(self, predicate: Callable[[], bool], deadline: float | None) -> bool:
        """Block until `predicate()` is true (True) or the clock reaches `deadline` (False)."""
        if not self.SIM_BARRIER and isinstance(self.clock, SimClock):
            raise RuntimeError(f"{self.name}: a worker outside the barrier (SIM_BARRIER = False) "
                               "cannot wait on the simulated clock")
        return self.clock.wait_for(predicate, deadline)  # type: ignore[attr-defined]
