"""The housekeeping packetizer: channels grouped into packets sent at configured rates.

Configured in the deployment, one table per packet:

    [[components.packets]]
    name = "power"         # for the dictionary and the ground's displays
    id = 1                 # structure ID (SID), 1..65535, first two octets of the packet
    period_s = 1.0         # a whole number of the packetizer's cycles
    priority = 2           # 1 is the most important
    channels = ["power.bus_volts", "power.solar_amps"]

Each cycle the packets that are due are built from the channel store, most important first, and
published on the `packets` output as `HousekeepingPacket` values (time, priority and payload; the
layout is in the dictionary). `max_per_cycle` bounds the packets built in one cycle: the less
important ones wait for the next cycle (counted as deferred), and a packet still waiting when it is
due again is sent once (counted as skipped), so a burst never grows the queue.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from flight.runtime.component import Channel, Component, Event, Output, Throttle, Update
from flight.runtime.errors import ConfigError
from flight.runtime.records import HousekeepingPacket, Severity
from flight.runtime.registry import Registry
from flight.runtime.types import U16, U32, StringType

MAX_PRIORITY: Final = 255


@dataclass(frozen=True)
class PacketDef:
    name: str
    sid: int
    period_s: float
    priority: int
    channels: tuple[str, ...]


@dataclass
class _Packet:
    definition: PacketDef
    every: int
    phase: int
    ids: tuple[int, ...]
    layout: struct.Struct
    encoders: tuple[tuple[int, Any], ...]  # (position, converter) for non-numeric fields
    zeros: tuple[Any, ...]


class TlmPacketizer(Component):
    """Builds housekeeping packets from the telemetry store."""

    sent = Channel(1, U32, doc="packets sent since boot")
    deferred = Channel(2, U32, update=Update.ON_CHANGE,
                       doc="packets postponed by the per-cycle budget")
    skipped = Channel(3, U32, update=Update.ON_CHANGE,
                      doc="packets not sent because they were still waiting when due again")
    pack_errors = Channel(4, U32, update=Update.ON_CHANGE,
                          doc="packets with a channel value that did not fit its type")
    last_sid = Channel(5, U16, update=Update.ON_CHANGE, doc="structure ID of the last packet")

    pack_failed = Event(1, Severity.WARNING_LO,
                        "packet {sid}: a channel value does not fit its type ({error}); zeroed",
                        throttle=Throttle(5, 60.0), sid=U16, error=StringType("STRING", max_len=80))

    packets = Output("housekeeping packets (HousekeepingPacket)")

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.definitions: list[PacketDef] = []
        self.max_per_cycle = 0  # 0: no limit
        self._packets: list[_Packet] = []
        self._waiting: list[_Packet] = []
        self._cycle = 0
        self._counts = [0, 0, 0, 0]  # sent, deferred, skipped, pack errors

    def configure(self, config: Mapping[str, Any]) -> None:
        sids: set[int] = set()
        for key, value in config.items():
            if key == "max_per_cycle":
                if type(value) is not int or value < 0:
                    raise ConfigError(key, f"{value!r} must be a non-negative integer")
                self.max_per_cycle = value
            elif key == "packets":
                if not isinstance(value, list):
                    raise ConfigError(key, "must be an array of tables [[components.packets]]")
                for i, table in enumerate(value):
                    d = _packet_def(f"packets[{i}]", table)
                    if d.sid in sids:
                        raise ConfigError(f"packets[{i}].id", f"structure ID {d.sid} used twice")
                    sids.add(d.sid)
                    self.definitions.append(d)
            else:
                raise ConfigError(key, "unknown setting (known: packets, max_per_cycle)")

    def registry_ready(self, registry: Registry) -> None:
        self._packets = []
        for i, d in enumerate(self.definitions):
            ids: list[int] = []
            fmts: list[str] = []
            encoders: list[tuple[int, Any]] = []
            zeros: list[Any] = []
            for j, name in enumerate(d.channels):
                try:
                    entry = registry.channel(name)
                except KeyError as exc:
                    raise ConfigError(f"packets[{i}].channels[{j}]", str(exc.args[0])) from None
                ftype = entry.channel.type
                try:
                    fmts.append(ftype.struct_format)
                except TypeError as exc:
                    raise ConfigError(f"packets[{i}].channels[{j}]", f"{name}: {exc}") from None
                if isinstance(ftype, StringType):
                    encoders.append((j, _encode_text))
                ids.append(entry.channel_id)
                zeros.append(ftype.zero())
            self._packets.append(_Packet(d, 0, 0, tuple(ids), struct.Struct(">" + "".join(fmts)),
                                         tuple(encoders), tuple(zeros)))
        self._packets.sort(key=lambda p: (p.definition.priority, p.definition.sid))

    def init(self) -> None:
        if self.rate_group is None:
            raise ConfigError("rate_group", "the packetizer must be a member of a rate group")
        group_period = self.rate_group.period_s
        for i, p in enumerate(self._packets):
            every = p.definition.period_s / group_period
            if abs(every - round(every)) > 1e-9 or round(every) < 1:
                raise ConfigError(
                    f"packets[{self.definitions.index(p.definition)}].period_s",
                    f"{p.definition.period_s} s is not a whole number of cycles of "
                    f"{group_period} s",
                )
            p.every = round(every)
            p.phase = i % p.every  # spread packets of one rate over the cycles

    def cycle(self) -> None:
        k = self._cycle
        self._cycle = k + 1
        due = [p for p in self._packets if k % p.every == p.phase]
        if self._waiting:
            due_ids = {id(p) for p in due}
            for p in self._waiting:
                if id(p) in due_ids:
                    self._counts[2] += 1
                else:
                    due.append(p)
            due.sort(key=lambda p: (p.definition.priority, p.definition.sid))
            self._waiting = []
        if not due:
            return
        budget = self.max_per_cycle
        if budget and len(due) > budget:
            self._waiting = due[budget:]
            self._counts[1] += len(self._waiting)
            due = due[:budget]
        values = self.context.telemetry.values_ref()
        now = self._now()
        send = self.packets.send
        for p in due:
            row = [values[i] for i in p.ids]
            for pos, encode in p.encoders:
                row[pos] = encode(row[pos])
            try:
                payload = p.layout.pack(*row)
            except (struct.error, TypeError, OverflowError) as exc:
                payload = self._pack_fallback(p, row, exc)
            send(HousekeepingPacket(p.definition.sid, now, p.definition.priority, payload))
            self._counts[0] += 1
        self.tlm(self.sent, self._counts[0])
        self.tlm(self.deferred, self._counts[1])
        self.tlm(self.skipped, self._counts[2])
        self.tlm(self.last_sid, due[-1].definition.sid)

    def _pack_fallback(self, p: _Packet, row: list[Any], exc: Exception) -> bytes:
        self._counts[3] += 1
        self.tlm(self.pack_errors, self._counts[3])
        self.emit(self.pack_failed, p.definition.sid, str(exc)[:80])
        fields = []
        for value, zero, fmt in zip(row, p.zeros, _formats(p.layout), strict=True):
            try:
                fields.append(struct.pack(">" + fmt, value))
            except (struct.error, TypeError, OverflowError):
                fields.append(struct.pack(">" + fmt, _encode_text(zero) if fmt.endswith("s")
                                          else zero))
        return b"".join(fields)

    def packet_definitions(self) -> list[dict[str, Any]]:
        """The packet definitions for the dictionary."""
        return [
            {
                "name": p.definition.name, "id": p.definition.sid,
                "period_s": p.definition.period_s, "priority": p.definition.priority,
                "channels": list(p.definition.channels), "channel_ids": list(p.ids),
                "layout": p.layout.format, "length": 2 + p.layout.size,
            }
            for p in sorted(self._packets, key=lambda p: p.definition.sid)
        ]


def _encode_text(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _formats(layout: struct.Struct) -> list[str]:
    out: list[str] = []
    digits = ""
    for ch in layout.format[1:]:
        if ch.isdigit():
            digits += ch
        else:
            out.append(digits + ch)
            digits = ""
    return out


def _packet_def(key: str, table: Any) -> PacketDef:
    if not isinstance(table, dict):
        raise ConfigError(key, "must be a table")
    known = {"name", "id", "period_s", "priority", "channels"}
    for k in table:
        if k not in known:
            raise ConfigError(f"{key}.{k}", f"unknown key (known: {', '.join(sorted(known))})")
    for k in ("name", "id", "period_s", "channels"):
        if k not in table:
            raise ConfigError(f"{key}.{k}", "missing")
    name, sid, period, channels = table["name"], table["id"], table["period_s"], table["channels"]
    priority = table.get("priority", 10)
    if type(name) is not str or not name:
        raise ConfigError(f"{key}.name", f"{name!r} must be a non-empty string")
    if type(sid) is not int or not 1 <= sid <= 0xFFFF:
        raise ConfigError(f"{key}.id", f"{sid!r} must be an integer in 1..65535")
    if isinstance(period, bool) or not isinstance(period, int | float) or not period > 0:
        raise ConfigError(f"{key}.period_s", f"{period!r} must be a positive number of seconds")
    if type(priority) is not int or not 1 <= priority <= MAX_PRIORITY:
        raise ConfigError(f"{key}.priority",
                          f"{priority!r} must be an integer in 1..{MAX_PRIORITY}")
    if not isinstance(channels, list) or not channels or not all(
        type(c) is str for c in channels
    ):
        raise ConfigError(f"{key}.channels", "must be a non-empty array of channel names")
    if len(set(channels)) != len(channels):
        raise ConfigError(f"{key}.channels", "a channel is listed twice")
    return PacketDef(name, sid, float(period), priority, tuple(channels))
