"""The health monitor: watches every component's health and reports changes.

Each cycle it compares each component's health (set by the component itself, or lowered to
WARNING by the runtime when a handler or cycle raised) with what it last saw, emits an event for
each change, and keeps counts as telemetry. An operator clears a component back to OK by command.
"""

from __future__ import annotations

from flight.runtime.component import Channel, Component, Event, Health, Throttle, Update, command
from flight.runtime.errors import CommandError, ReasonCode
from flight.runtime.records import Severity
from flight.runtime.registry import Registry
from flight.runtime.types import U32, Enum, String


class HealthMonitor(Component):
    """Reports the health of every component of the deployment."""

    ok = Channel(1, U32, update=Update.ON_CHANGE, doc="components in health OK")
    warning = Channel(2, U32, update=Update.ON_CHANGE, doc="components in health WARNING")
    fault = Channel(3, U32, update=Update.ON_CHANGE, doc="components in health FAULT")
    worst = Channel(4, Enum(Health), update=Update.ON_CHANGE, doc="worst health of any component")
    isolated = Channel(5, U32, update=Update.ON_CHANGE,
                       doc="exceptions isolated in all components since boot")

    changed = Event(1, Severity.WARNING_LO, "{component} health {old} -> {new}: {reason}",
                    throttle=Throttle(20, 60.0), component=String(32), old=Enum(Health),
                    new=Enum(Health), reason=String(96))
    recovered = Event(2, Severity.ACTIVITY_HI, "{component} health back to OK",
                      throttle=Throttle(20, 60.0), component=String(32))
    cleared = Event(3, Severity.ACTIVITY_HI, "{component} health cleared by command",
                    throttle=None, component=String(32))

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.watched: dict[str, Component] = {}
        self._seen: dict[str, Health] = {}

    def registry_ready(self, registry: Registry) -> None:
        self.watched = dict(registry.components)
        self._seen = {name: c.health for name, c in self.watched.items()}

    def cycle(self) -> None:
        counts = [0, 0, 0]
        total_faults = 0
        for name, comp in self.watched.items():
            health = comp.health
            counts[health] += 1
            total_faults += comp.faults
            before = self._seen[name]
            if health is not before:
                self._seen[name] = health
                if health is Health.OK:
                    self.emit(self.recovered, name)
                else:
                    self.emit(self.changed, name, before, health, comp.health_reason[:96])
        self.tlm(self.ok, counts[Health.OK])
        self.tlm(self.warning, counts[Health.WARNING])
        self.tlm(self.fault, counts[Health.FAULT])
        self.tlm(self.isolated, total_faults)
        worst = Health.FAULT if counts[2] else Health.WARNING if counts[1] else Health.OK
        self.tlm(self.worst, worst)

    @command(1, component=String(32))
    def clear_health(self, component: str) -> None:
        """Set a component's health back to OK (after the operator dealt with the cause)."""
        comp = self.watched.get(component)
        if comp is None:
            raise CommandError(ReasonCode.NOT_FOUND, f"no component named {component!r}")
        comp.set_health(Health.OK)
        self.emit(self.cleared, component)
