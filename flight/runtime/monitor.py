"""The bus monitor: the software bus's counters as telemetry, and a throttled event for losses."""

from __future__ import annotations

from typing import Any

from flight.runtime.bus import SoftwareBus, Subscription
from flight.runtime.component import Channel, Component, Event, Health, Throttle, Update, command
from flight.runtime.records import Severity
from flight.runtime.types import U32, U64, String


class BusMonitor(Component):
    """Reports the bus once per second: totals, and an event for each subscription that lost
    messages since the last report."""

    published = Channel(1, U64, doc="messages published on all topics")
    delivered = Channel(2, U64, doc="messages delivered to handlers")
    dropped = Channel(3, U32, update=Update.ON_CHANGE,
                      doc="messages lost to drop_oldest/drop_newest overflow")
    rejected = Channel(4, U32, update=Update.ON_CHANGE,
                       doc="messages refused by reject-policy subscriptions")
    handler_faults = Channel(5, U32, update=Update.ON_CHANGE, doc="exceptions raised by handlers")
    max_queue = Channel(6, U32, update=Update.ON_CHANGE, doc="deepest queue seen")
    handoff_drops = Channel(7, U32, update=Update.ON_CHANGE,
                            doc="messages lost in full worker-thread handoff queues")

    messages_lost = Event(1, Severity.WARNING_LO,
                          "{count} messages lost on {topic} for {subscriber} ({policy})",
                          throttle=Throttle(10, 60.0), count=U32, topic=String(48),
                          subscriber=String(48), policy=String(12))
    handler_fault = Event(2, Severity.WARNING_HI, "handler {subscriber} raised {error}",
                          throttle=Throttle(10, 60.0), subscriber=String(48), error=String(120))
    subscription_report = Event(3, Severity.DIAGNOSTIC,
                                "{subscriber} on {topic}: delivered {delivered}, lost {lost}, "
                                "high water {high_water}/{depth}",
                                throttle=None, subscriber=String(48), topic=String(48),
                                delivered=U64, lost=U32, high_water=U32, depth=U32)

    def __init__(self, name: str, base_id: int, *, bus: SoftwareBus) -> None:
        super().__init__(name, base_id)
        self.bus = bus
        self._reported: dict[int, int] = {}
        self.threaded: list[Any] = []

    def check(self) -> None:
        published = delivered = dropped = rejected = high = 0
        reported = self._reported
        for topic in self.bus.topics():
            published += topic.published
            for sub in topic.subscriptions:
                delivered += sub.delivered
                dropped += sub.dropped
                rejected += sub.rejected
                if sub.high_water > high:
                    high = sub.high_water
                lost = sub.dropped + sub.rejected
                if lost:
                    before = reported.get(id(sub), 0)
                    if lost != before:
                        reported[id(sub)] = lost
                        self.emit(self.messages_lost, lost - before, sub.topic[:48],
                                  sub.name[:48], str(sub.policy))
        self.tlm(self.published, published)
        self.tlm(self.delivered, delivered)
        self.tlm(self.dropped, dropped)
        self.tlm(self.rejected, rejected)
        self.tlm(self.max_queue, high)
        self.tlm(self.handler_faults, self.bus.handler_faults)
        self.tlm(self.handoff_drops, sum(c.handoff_drops for c in self.threaded))

    def fault(self, sub: Subscription, msg: object, exc: BaseException) -> None:
        owner = sub.owner
        error = f"{type(exc).__name__}: {exc}".encode()[:120].decode(errors="ignore")
        if isinstance(owner, Component):
            owner.faults += 1
            owner.set_health(Health.WARNING, f"input {sub.name} raised {error[:80]}")
        self.emit(self.handler_fault, sub.name[:48], error)

    @command(1)
    def report(self) -> None:
        """Emit one diagnostic event per subscription with its counters."""
        for sub in self.bus.subscriptions():
            self.emit(self.subscription_report, sub.name[:48], sub.topic[:48], sub.delivered,
                      sub.lost, sub.high_water, sub.depth)
