"""The runtime: components, bus, telemetry store, executive and rate groups, assembled and run.

A deployment file is loaded into a `Runtime` by `flight.runtime.deployment`; tests and tools can
also assemble one in code:

    rt = Runtime("demo", clock=SimClock(), tick_hz=10)
    power = rt.add(PowerMonitor("power", 0x1000), hardware={"sensor": "sim://eps"})
    rt.add_group(RateGroup("rg1hz", 0x0300, divisor=10), ["power"])
    rt.boot()
    rt.run(duration_s=60)
    rt.shutdown()

Boot order: every component is attached and configured as it is added; `prepare()` builds the
registry (global IDs, collisions are errors), registers the telemetry channels and gives the
registry to every component (`registry_ready`); `boot()` then calls every `restore()` (the
parameter database loads the stored set), every `init()`, starts worker threads, then every
`start()`. `shutdown()` stops in reverse order. With `realtime_priority` on the real clock, the
executive (and the worker threads, started after it) run under SCHED_FIFO.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final

from flight.runtime import dictionary
from flight.runtime.bus import Overflow, SoftwareBus, Subscription
from flight.runtime.component import Component, Context, Lifecycle, ThreadedComponent
from flight.runtime.errors import ConfigError
from flight.runtime.executive import Executive, RateGroup
from flight.runtime.monitor import BusMonitor
from flight.runtime.records import Command, EventRecord
from flight.runtime.registry import Registry
from flight.runtime.telemetry import ChannelInfo, TelemetryStore
from flight.runtime.topics import EVENTS
from hal.clock import Clock, SimClock, ThreadClock

DEFAULT_EXECUTIVE_BASE: Final = 0x0100
DEFAULT_BUS_BASE: Final = 0x0200


class Runtime:
    def __init__(
        self, name: str, *, clock: Clock, tick_hz: float = 10.0,
        executive_base_id: int = DEFAULT_EXECUTIVE_BASE, bus_base_id: int = DEFAULT_BUS_BASE,
        seed: int = 0, resources: Mapping[str, Any] | None = None,
        realtime_priority: int | None = None,
    ) -> None:
        self.name = name
        self.realtime_priority = realtime_priority
        self.clock = clock
        self.seed = seed
        self.resources: dict[str, Any] = dict(resources or {})
        self.telemetry = TelemetryStore()
        self.bus_monitor: BusMonitor | None = None
        self.bus = SoftwareBus(fault_handler=self._bus_fault)
        self.events_topic = self.bus.topic(EVENTS)
        self.components: dict[str, Component] = {}
        self.groups: dict[str, RateGroup] = {}
        self.registry: Registry | None = None
        self._member_of: dict[str, str] = {}
        self._booted = False
        self.dictionary_hash = ""
        self.executive = self.add(
            Executive("executive", executive_base_id, tick_hz=tick_hz, bus=self.bus)
        )
        self.bus_monitor = self.add(BusMonitor("bus", bus_base_id, bus=self.bus))
        self.executive.housekeepers.append(self.bus_monitor.check)

    # --- assembly ----------------------------------------------------------------------------

    def add(self, comp: Component, *, hardware: Mapping[str, str] | None = None,
            config: Mapping[str, Any] | None = None) -> Any:
        """Attach, configure and wire `comp`; returns it."""
        if self._booted:
            raise RuntimeError("components are added before boot()")
        if comp.name in self.components:
            raise ConfigError("name", f"duplicate component instance name {comp.name!r}")
        ctx = Context(
            clock=self.clock, bus=self.bus, telemetry=self.telemetry,
            publish_event=self._publish_event, hardware=dict(hardware or {}),
            resources=self.resources, seed=self.seed,
        )
        comp.attach(ctx)
        try:
            comp.configure(dict(config or {}))
        except ConfigError as exc:
            raise exc.within(comp.name) from None
        self.components[comp.name] = comp
        self._wire(comp)
        if isinstance(comp, ThreadedComponent):
            self.executive.handoffs.append(comp)
            if self.bus_monitor is not None:
                self.bus_monitor.threaded.append(comp)
        return comp

    def _publish_event(self, record: EventRecord) -> None:
        self.events_topic.publish(record)

    def _wire(self, comp: Component) -> None:
        spec = comp._spec
        for attr in spec.outputs:
            port = getattr(comp, attr)
            topic = self.bus.topic(port.topic_name)
            if isinstance(comp, ThreadedComponent):
                port.send = functools.partial(comp.handoff, topic)
            else:
                port.send = topic.publish
        for attr, inp in spec.inputs.items():
            handler = getattr(comp, inp.method)
            self.bus.subscribe(f"{comp.name}.{attr}", handler, depth=inp.depth,
                               policy=inp.policy, name=f"{comp.name}.{attr}", owner=comp)
            if inp.topic is not None:
                self.bus.subscribe(inp.topic, handler, depth=inp.depth, policy=inp.policy,
                                   name=f"{comp.name}.{attr}", owner=comp)

    def connect(self, source: str, dest: str, *, depth: int | None = None,
                policy: Overflow | str | None = None) -> Subscription:
        """Subscribe input port `dest` ("instance.port") to output port or topic `source`."""
        comp_name, _, port = dest.partition(".")
        comp = self.components.get(comp_name)
        if comp is None:
            raise ConfigError("to", f"no component named {comp_name!r}")
        inp = comp._spec.inputs.get(port)
        if inp is None:
            raise ConfigError("to", f"{type(comp).__name__} {comp_name} has no input port "
                                    f"{port!r} (inputs: {sorted(comp._spec.inputs) or 'none'})")
        src_name, dot, src_port = source.partition(".")
        src = self.components.get(src_name)
        if src is not None and dot and src_port not in src._spec.outputs:
            outputs = sorted(src._spec.outputs) or "none"
            raise ConfigError("from", f"{type(src).__name__} {src_name} has no output port "
                                      f"{src_port!r} (outputs: {outputs})")
        return self.bus.subscribe(
            source, getattr(comp, inp.method), depth=depth or inp.depth,
            policy=Overflow(policy) if policy is not None else inp.policy, name=dest, owner=comp,
        )

    def add_group(self, group: RateGroup, members: Iterable[str]) -> RateGroup:
        self.add(group)
        for i, member in enumerate(members):
            comp = self.components.get(member)
            if comp is None:
                raise ConfigError(f"members[{i}]", f"no component named {member!r}",
                                  component=group.name)
            if member in self._member_of:
                raise ConfigError(f"members[{i}]", f"{member} is already a member of rate group "
                                  f"{self._member_of[member]}", component=group.name)
            try:
                group.add_member(comp)
            except ConfigError as exc:
                raise ConfigError(f"members[{i}]", exc.detail, component=group.name) from None
            self._member_of[member] = group.name
        self.executive.add_group(group)
        self.groups[group.name] = group
        return group

    # --- lifecycle -----------------------------------------------------------------------------

    def prepare(self) -> Registry:
        """Build the registry and hand it to the components (no I/O); `boot` does it if needed."""
        if self.registry is not None:
            return self.registry
        registry = Registry(self.components.values())
        for entry in registry.channels.values():
            ch = entry.channel
            self.telemetry.register(
                ChannelInfo(entry.channel_id, entry.name, ch.type, ch.unit, ch.update)
            )
        for comp in self.components.values():
            try:
                comp.registry_ready(registry)
            except ConfigError as exc:
                raise exc.within(comp.name) from None
        self.registry = registry
        return registry

    def boot(self) -> None:
        if self._booted:
            raise RuntimeError(f"runtime {self.name} is already booted")
        self.prepare()
        for phase in ("restore", "init"):
            for comp in self.components.values():
                try:
                    getattr(comp, phase)()
                except ConfigError as exc:
                    raise exc.within(comp.name) from None
        for comp in self.components.values():
            comp.lifecycle = Lifecycle.INITIALIZED
        self.dictionary_hash = dictionary.build(self)["hash"]
        self.executive.dictionary_hash = self.dictionary_hash
        self.executive.deployment_name = self.name
        self._booted = True
        if self.realtime_priority is not None and not isinstance(self.clock, SimClock):
            self.executive.request_realtime(self.realtime_priority)
        for comp in self.components.values():
            if isinstance(comp, ThreadedComponent):
                comp.thread = self._start_worker(comp)
        for comp in self.components.values():
            comp.start()
            comp.lifecycle = Lifecycle.RUNNING
        if self.bus._ready:
            self.bus.pump()

    def _start_worker(self, comp: ThreadedComponent) -> threading.Thread:
        name = f"worker-{comp.name}"
        if not comp.SIM_BARRIER:  # blocked in real I/O: outside the simulated clock's barrier
            thread = threading.Thread(target=comp.worker, name=name, daemon=True)
            thread.start()
            return thread
        if not isinstance(self.clock, ThreadClock):
            raise ConfigError("class", f"{type(comp).__name__} runs a worker thread, which the "
                                       f"clock {type(self.clock).__name__} cannot host",
                              component=comp.name)
        return self.clock.start_worker(comp.worker, name)

    def run(self, duration_s: float | None = None, *, speed: float | None = None) -> None:
        if not self._booted:
            self.boot()
        self.executive.run(duration_s, speed=speed)

    def stop(self) -> None:
        """Ask a running `run()` to return after the current tick (safe from any thread)."""
        self.executive.stop()

    def shutdown(self) -> None:
        self.executive.finish()
        threaded = [c for c in self.components.values() if isinstance(c, ThreadedComponent)]
        for comp in threaded:
            comp.request_stop()
        notify = getattr(self.clock, "notify", None)
        if notify is not None:
            notify()
        for comp in threaded:
            if comp.thread is not None:
                comp.thread.join(timeout=5.0)
        for comp in reversed(list(self.components.values())):
            if comp.lifecycle is Lifecycle.RUNNING:
                comp.stop()
                comp.lifecycle = Lifecycle.STOPPED
        if self.bus._ready:
            self.bus.pump()

    # --- conveniences for tools and tests -------------------------------------------------------

    def command(self, name: str, *args: Any, seq: int = 0) -> Command:
        """The `Command` for command `name` ("instance.command") with `args`."""
        if self.registry is None:
            raise RuntimeError("boot() first")
        return Command(self.registry.command(name).opcode, tuple(args), seq)

    def _bus_fault(self, sub: Subscription, msg: object, exc: BaseException) -> None:
        if self.bus_monitor is not None:
            self.bus_monitor.fault(sub, msg, exc)
