"""The deployment-wide tables of commands, channels, events and parameters, by global ID.

Built once from the component instances: each local ID plus the instance's base ID. Two
declarations that land on the same global ID are a deployment error (`IdCollision`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flight.runtime.component import Channel, CommandSpec, Component, Event, Param
from flight.runtime.errors import RuntimeFault
from flight.runtime.types import FieldType


class IdCollision(RuntimeFault, ValueError):
    def __init__(self, kind: str, global_id: int, first: str, second: str) -> None:
        super().__init__(f"duplicate {kind} ID 0x{global_id:X}: {first} and {second}")
        self.kind = kind
        self.global_id = global_id
        self.first = first
        self.second = second


@dataclass(frozen=True)
class CommandEntry:
    opcode: int
    name: str
    component: Component
    spec: CommandSpec
    handler: Callable[..., Any]
    arg_types: tuple[FieldType, ...]


@dataclass(frozen=True)
class ChannelEntry:
    channel_id: int
    name: str
    component: Component
    channel: Channel


@dataclass(frozen=True)
class EventEntry:
    event_id: int
    name: str
    component: Component
    event: Event


@dataclass(frozen=True)
class ParamEntry:
    param_id: int
    name: str
    component: Component
    param: Param


class Registry:
    def __init__(self, components: Iterable[Component]) -> None:
        self.components: dict[str, Component] = {}
        self.commands: dict[int, CommandEntry] = {}
        self.channels: dict[int, ChannelEntry] = {}
        self.events: dict[int, EventEntry] = {}
        self.params: dict[int, ParamEntry] = {}
        self.by_name: dict[str, CommandEntry | ChannelEntry | EventEntry | ParamEntry] = {}
        for comp in components:
            self.add(comp)

    def add(self, comp: Component) -> None:
        if comp.name in self.components:
            raise ValueError(f"duplicate component instance name {comp.name!r}")
        self.components[comp.name] = comp
        spec = comp._spec
        base = comp.base_id
        for local, cmd in spec.commands.items():
            entry = CommandEntry(
                base + local, f"{comp.name}.{cmd.name}", comp, cmd, getattr(comp, cmd.method),
                tuple(cmd.args.values()),
            )
            self._put("opcode", self.commands, entry.opcode, entry)
        for local, ch in spec.channels.items():
            self._put("channel", self.channels, base + local,
                      ChannelEntry(base + local, f"{comp.name}.{ch.name}", comp, ch))
        for local, ev in spec.events.items():
            self._put("event", self.events, base + local,
                      EventEntry(base + local, f"{comp.name}.{ev.name}", comp, ev))
        for local, prm in spec.params.items():
            self._put("parameter", self.params, base + local,
                      ParamEntry(base + local, f"{comp.name}.{prm.name}", comp, prm))

    def _put(self, kind: str, table: dict[int, Any], global_id: int, entry: Any) -> None:
        previous = table.get(global_id)
        if previous is not None:
            raise IdCollision(kind, global_id, previous.name, entry.name)
        table[global_id] = entry
        self.by_name[f"{kind}:{entry.name}"] = entry

    def command(self, name: str) -> CommandEntry:
        return self._lookup("opcode", name)

    def channel(self, name: str) -> ChannelEntry:
        return self._lookup("channel", name)

    def event(self, name: str) -> EventEntry:
        return self._lookup("event", name)

    def param(self, name: str) -> ParamEntry:
        return self._lookup("parameter", name)

    def _lookup(self, kind: str, name: str) -> Any:
        try:
            return self.by_name[f"{kind}:{name}"]
        except KeyError:
            label = "command" if kind == "opcode" else kind
            raise KeyError(f"no {label} named {name!r} in this deployment") from None
