"""Two CFDP entities joined by an in-memory link that can drop PDUs, on a simulated clock."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from flight.cfdp import (
    CfdpEntity,
    Indication,
    IndicationKind,
    LocalEntityConfig,
    MemoryFilestore,
    RemoteEntityConfig,
)
from hal.clock import SimClock

GROUND = 1
SAT = 2


@dataclass
class Link:
    """PDUs in flight in one direction; `loss` drops each with that probability (seeded),
    `drop_if(pdu)` drops chosen ones, `alter(pdu)` rewrites them in flight."""

    loss: float = 0.0
    seed: int = 0
    queue: deque[bytes] = field(default_factory=deque)
    dropped: int = 0
    carried: int = 0
    up: bool = True
    drop_if: Callable[[bytes], bool] | None = None
    alter: Callable[[bytes], bytes] | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def send(self, _remote: int, pdu: bytes) -> None:
        if (not self.up or (self.loss and self.rng.random() < self.loss)
                or (self.drop_if is not None and self.drop_if(pdu))):
            self.dropped += 1
            return
        self.queue.append(pdu if self.alter is None else self.alter(pdu))

    def deliver(self, entity: CfdpEntity) -> int:
        n = 0
        while self.queue:
            entity.receive(self.queue.popleft())
            n += 1
        self.carried += n
        return n


@dataclass
class Pair:
    """`ground` (entity 1) and `sat` (entity 2), each with its own filestore and indications."""

    clock: SimClock
    ground: CfdpEntity
    sat: CfdpEntity
    to_sat: Link
    to_ground: Link
    ground_files: MemoryFilestore
    sat_files: MemoryFilestore
    ground_events: list[Indication]
    sat_events: list[Indication]

    def step(self, budget: int | None = None) -> int:
        """One round: both entities tick, then the PDUs in flight are delivered."""
        moved = self.ground.tick(budget) + self.sat.tick(budget)
        return moved + self.to_sat.deliver(self.sat) + self.to_ground.deliver(self.ground)

    def run(self, *, step_s: float = 0.5, max_steps: int = 100_000,
            budget: int | None = None) -> int:
        """Step until both entities are idle and nothing is in flight; returns the number of
        steps. Time advances by `step_s` whenever a step moved nothing."""
        for steps in range(max_steps):
            moved = self.step(budget)
            if self.ground.idle and self.sat.idle and not self.to_sat.queue \
                    and not self.to_ground.queue:
                return steps
            if not moved:
                self.clock.advance(step_s)
        raise AssertionError(f"no conclusion after {max_steps} steps: "
                             f"{self.ground.transfers()} {self.sat.transfers()}")

    @staticmethod
    def of_kind(events: list[Indication], kind: IndicationKind) -> list[Indication]:
        return [e for e in events if e.kind == kind]

    def outcome(self, events: list[Indication]) -> Indication:
        """The one Transaction-Finished indication in `events`."""
        (done,) = self.of_kind(events, IndicationKind.TRANSACTION_FINISHED)
        return done


def make_pair(*, loss: float = 0.0, seed: int = 0, remote: dict | None = None,
              ground_local: dict | None = None, sat_local: dict | None = None) -> Pair:
    clock = SimClock()
    opts = remote or {}
    to_sat = Link(loss, seed)
    to_ground = Link(loss, seed + 1_000_003)
    ground_files, sat_files = MemoryFilestore(), MemoryFilestore()
    ground_events: list[Indication] = []
    sat_events: list[Indication] = []
    ground = CfdpEntity(LocalEntityConfig(GROUND, **(ground_local or {})),
                        [RemoteEntityConfig(SAT, **opts)], ground_files, clock, to_sat.send,
                        ground_events.append)
    sat = CfdpEntity(LocalEntityConfig(SAT, **(sat_local or {})),
                     [RemoteEntityConfig(GROUND, **opts)], sat_files, clock, to_ground.send,
                     sat_events.append)
    return Pair(clock, ground, sat, to_sat, to_ground, ground_files, sat_files, ground_events,
                sat_events)
