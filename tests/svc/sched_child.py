"""Child process of the schedule crash test: schedules, deletes and runs entries until killed.

Usage: python -m tests.svc.sched_child DIRECTORY START_S RUN

Boots a scheduler on file storage in DIRECTORY with spacecraft time starting START_S after the
test epoch, prints ``ready``, then loops: ``inserting TAG...`` / insert / ``acked TAG...``; now
and then ``deleting TAG`` / delete / ``deleted TAG``; one 0.1 s tick (``now S`` after it). The
probe command prints ``ran TAG`` when it runs, and just before the scheduler commits a batch as
run (its at-most-once point) the child prints ``dispatching TAG...``.
"""

from __future__ import annotations

import random
import sys

from flight.runtime.component import Component, command
from flight.runtime.errors import CommandError
from flight.runtime.executive import RateGroup
from flight.runtime.records import Command
from flight.runtime.runtime import Runtime
from flight.runtime.types import U32
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.scheduler import Entry, Scheduler
from hal.clock import SimClock

from .services_rig import T0, epoch_url

OUT = sys.stdout


def say(*words: object) -> None:
    OUT.write(" ".join(str(w) for w in words) + "\n")
    OUT.flush()


class PrintingProbe(Component):
    @command(1, tag=U32)
    def hit(self, tag: int) -> None:
        say("ran", tag)


class AnnouncingScheduler(Scheduler):
    """The scheduler, saying which entries it is about to record as run."""

    def _remove_durably(self, entries: list[Entry]) -> bool:
        say("dispatching", *(e.command.args[0] for e in entries))
        return super()._remove_durably(entries)


def build(directory: str, start_s: float) -> Runtime:
    rt = Runtime("crash", clock=SimClock(), tick_hz=10)
    rt.add(CommandDispatcher("cmd", 0x0400), config={"log_commands": False})
    rt.add(PrintingProbe("probe", 0x2000))
    rt.add(AnnouncingScheduler("sched", 0x0A00),
           hardware={"storage": f"file:{directory}", "time": epoch_url(start_s)},
           config={"late_window_s": 1e9, "max_per_cycle": 4})
    rt.add_group(RateGroup("rg", 0x0300, divisor=1), ["sched"])
    rt.boot()
    rt.components["sched"].journal.min_compact_bytes = 2048  # compact often: crash inside it too
    return rt


def main(directory: str, start_s: float, run: int) -> None:
    rng = random.Random(run)
    rt = build(directory, start_s)
    sched: Scheduler = rt.components["sched"]
    opcode = rt.command("probe.hit", 0).opcode
    say("ready")
    k = 0
    while True:
        now = T0 + start_s + rt.clock.monotonic()
        tags = []
        for _ in range(rng.randrange(1, 5)):
            tags.append(run * 100_000 + k)
            k += 1
        say("inserting", *tags)
        sched.insert_many([(now + rng.uniform(0.0, 1.0), Command(opcode, (t,))) for t in tags])
        say("acked", *tags)
        if rng.random() < 0.3 and sched.schedule.entries:
            entry = rng.choice(sorted(sched.schedule.entries.values()))
            tag = entry.command.args[0]
            say("deleting", tag)
            try:
                sched.delete(entry.entry_id)
            except CommandError:
                continue
            say("deleted", tag)
        rt.run(0.1)
        say("now", start_s + rt.clock.monotonic())


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))
