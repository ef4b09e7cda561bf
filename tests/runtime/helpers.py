"""Small components and a runtime factory shared by the runtime tests."""

from __future__ import annotations

from typing import Any

from flight.runtime.component import Channel, Component, Event, Output, Param, command, input_port
from flight.runtime.errors import CommandError, ReasonCode
from flight.runtime.executive import RateGroup
from flight.runtime.records import Severity
from flight.runtime.runtime import Runtime
from flight.runtime.types import F32, I16, U8, U32, String
from flight.svc.dispatcher import CommandDispatcher
from hal.clock import SimClock


class Counter(Component):
    """Counts its cycles; commands set and fail; an event at a parameter-given count."""

    count = Channel(1, U32)
    volts = Channel(2, F32, unit="V", update="on_change")
    limit = Param(1, U32(max=1000), 10)
    gain = Param(2, F32(min=0.0, max=2.0), 1.0)
    reached = Event(1, Severity.ACTIVITY_HI, "count reached {n}", n=U32)
    said = Event(2, Severity.ACTIVITY_LO, "said {text} x{times}", text=String(16), times=U8)

    out = Output()

    def init(self) -> None:
        self.n = 0
        self.received: list[Any] = []
        self.changed: list[str] = []

    def cycle(self) -> None:
        self.n += 1
        self.tlm(self.count, self.n)
        if self.n == self.limit:
            self.emit(self.reached, self.n)

    @command(1, value=U32(max=50))
    def set_count(self, value: int) -> None:
        """Set the counter."""
        self.n = value

    @command(2, text=String(16), times=U8(min=1, max=3), offset=I16)
    def say(self, text: str, times: int, offset: int) -> None:
        self.emit(self.said, text, times)

    @command(3)
    def refuse(self) -> None:
        raise CommandError(ReasonCode.EXECUTION_FAILED, "not now")

    @command(4)
    def crash(self) -> None:
        raise ZeroDivisionError("boom")

    @input_port(depth=4)
    def inbox(self, msg: Any) -> None:
        self.received.append(msg)

    def param_changed(self, param: Param) -> None:
        self.changed.append(param.name)


class Faulty(Component):
    """Raises in every cycle."""

    def cycle(self) -> None:
        raise RuntimeError("sensor on fire")


def small_runtime(tick_hz: float = 10.0, **kw: Any) -> Runtime:
    rt = Runtime("test", clock=SimClock(), tick_hz=tick_hz, **kw)
    rt.add(Counter("ctr", 0x1000))
    rt.add(CommandDispatcher("cmd", 0x0400))
    rt.add_group(RateGroup("rg", 0x0300, divisor=1), ["ctr"])
    return rt


def collect(rt: Runtime, topic: str, depth: int = 10_000) -> list[Any]:
    out: list[Any] = []
    rt.bus.subscribe(topic, out.append, depth=depth, name=f"test<{topic}>")
    return out
