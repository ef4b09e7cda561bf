"""The software bus: publish/subscribe by topic, with bounded queues and explicit overflow policies.

Publishing puts the message in the queue of every subscription of the topic; nothing runs yet.
The executive pumps the bus (on its own thread, at fixed points of each tick), which calls each
subscription's handler with its queued messages, subscriptions in the order they became ready,
messages in the order they were published. So a handler never runs inside a publisher's call, the
order of everything is fixed by the program, and a deployment run on the simulated clock is
reproducible. Only the executive's thread publishes here; worker threads hand their messages over
through the handoff queues the executive drains (see `ThreadedComponent`).

A full queue applies its subscription's policy to the new message: `drop_oldest` makes room,
`drop_newest` discards the new message, `reject` discards it and tells the publisher (`publish`
returns False). Every drop is counted on the subscription; the bus component turns the counts into
telemetry and a throttled event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any, Final


class Overflow(StrEnum):
    DROP_OLDEST = "drop_oldest"
    DROP_NEWEST = "drop_newest"
    REJECT = "reject"


FaultHandler = Callable[["Subscription", Any, BaseException], None]


class Subscription:
    """One subscriber's queue on one topic."""

    __slots__ = (
        "name", "topic", "handler", "depth", "policy", "queue", "dropped", "rejected",
        "delivered", "high_water", "owner", "mark_ready",
    )

    def __init__(
        self, bus: SoftwareBus, name: str, topic: str, handler: Callable[[Any], object],
        depth: int, policy: Overflow, owner: object = None,
    ) -> None:
        if depth < 1:
            raise ValueError(f"subscription {name}: queue depth {depth} must be at least 1")
        self.name = name
        self.topic = topic
        self.handler = handler
        self.depth = depth
        self.policy = Overflow(policy)
        self.queue: deque[Any] = deque()  # non-empty exactly while on the bus's ready list
        self.dropped = 0  # drop_oldest and drop_newest losses
        self.rejected = 0  # reject losses (the publisher was told)
        self.delivered = 0
        self.high_water = 0
        self.owner = owner
        self.mark_ready = bus._ready.append

    @property
    def lost(self) -> int:
        return self.dropped + self.rejected

    def _overflow(self, msg: Any) -> bool:
        self.high_water = self.depth
        if self.policy is Overflow.DROP_OLDEST:
            self.queue.popleft()
            self.queue.append(msg)
            self.dropped += 1
            return True
        if self.policy is Overflow.DROP_NEWEST:
            self.dropped += 1
            return True
        self.rejected += 1
        return False


class Topic:
    """A named topic and its subscriptions, in subscription order."""

    __slots__ = ("name", "subscriptions", "published")

    def __init__(self, name: str) -> None:
        self.name = name
        self.subscriptions: list[Subscription] = []
        self.published = 0

    def publish(self, msg: Any) -> bool:
        """Queue `msg` for every subscriber; False if any subscriber rejected it."""
        self.published += 1
        ok = True
        for sub in self.subscriptions:
            q = sub.queue
            n = len(q)
            if n < sub.depth:
                if not n:  # an empty queue is not on the ready list yet
                    sub.mark_ready(sub)
                q.append(msg)
            elif not sub._overflow(msg):
                ok = False
        return ok


MAX_PUMP_ROUNDS: Final = 16


class SoftwareBus:
    def __init__(self, fault_handler: FaultHandler | None = None) -> None:
        self._topics: dict[str, Topic] = {}
        self._ready: deque[Subscription] = deque()
        self._fault_handler = fault_handler
        self.handler_faults = 0

    def topic(self, name: str) -> Topic:
        """The topic called `name` (created on first use)."""
        t = self._topics.get(name)
        if t is None:
            t = self._topics[name] = Topic(name)
        return t

    def publish(self, topic: str, msg: Any) -> bool:
        return self.topic(topic).publish(msg)

    def subscribe(
        self, topic: str, handler: Callable[[Any], object], *, depth: int = 16,
        policy: Overflow | str = Overflow.DROP_OLDEST, name: str | None = None,
        owner: object = None,
    ) -> Subscription:
        sub = Subscription(
            self, name or getattr(handler, "__qualname__", "subscriber"), topic, handler, depth,
            Overflow(policy), owner,
        )
        self.topic(topic).subscriptions.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.topic(sub.topic).subscriptions.remove(sub)
        sub.queue.clear()

    def subscriptions(self) -> Iterator[Subscription]:
        for t in self._topics.values():
            yield from t.subscriptions

    def topics(self) -> list[Topic]:
        return list(self._topics.values())

    @property
    def pending(self) -> bool:
        return bool(self._ready)

    def pump(self, max_rounds: int = MAX_PUMP_ROUNDS) -> int:
        """Deliver queued messages; messages published meanwhile are delivered in later rounds, up
        to `max_rounds` (what is left waits for the next pump). Returns messages delivered.

        A round is the subscriptions that were ready when it began. This is the executive's
        hottest loop after the members' cycles, written for the common case: one message waiting
        on one subscription."""
        ready = self._ready
        if not ready:
            return 0
        popleft = ready.popleft
        delivered = 0
        left = len(ready)  # subscriptions still to serve in this round
        rounds = 1
        while True:
            sub = popleft()
            q = sub.queue
            n = len(q)
            if n > sub.high_water:
                sub.high_water = n
            if n == 1:
                msg = q.popleft()  # emptied before the handler runs, which may publish again
                try:
                    sub.handler(msg)
                except Exception as exc:  # noqa: BLE001 - a bad handler must not stop the bus
                    self._fault(sub, msg, exc)
            elif n:
                batch = list(q)
                q.clear()
                handler = sub.handler
                messages = iter(batch)
                while True:  # a handler that raises is reported; the next message goes on
                    try:
                        for msg in messages:
                            handler(msg)
                        break
                    except Exception as exc:  # noqa: BLE001
                        self._fault(sub, msg, exc)
            sub.delivered += n
            delivered += n
            left -= 1
            if not left:
                if not ready or rounds >= max_rounds:
                    return delivered
                rounds += 1
                left = len(ready)

    def _fault(self, sub: Subscription, msg: Any, exc: Exception) -> None:
        self.handler_faults += 1
        if self._fault_handler is not None:
            self._fault_handler(sub, msg, exc)
