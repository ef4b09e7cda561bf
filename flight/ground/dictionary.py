"""The ground's view of a deployment dictionary (`flight dict` output): commands encoded by name
with their arguments checked exactly as the satellite will check them, and telemetry, events and
verification reports decoded.

Argument types are rebuilt from their dictionary descriptions into the runtime's own types
(`flight.runtime.types`), so a value the ground accepts is one the satellite's dispatcher accepts,
and a wrong one is refused here with the same reason code, before it costs an uplink frame.
"""

from __future__ import annotations

import difflib
import json
import os
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from flight.runtime import dictionary as runtime_dictionary
from flight.runtime.errors import ArgumentError, ReasonCode
from flight.runtime.records import Command, EventRecord, Severity
from flight.runtime.types import (
    BOOL,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    SCALAR,
    U8,
    U16,
    U32,
    U64,
    Bytes,
    EnumType,
    FieldType,
    String,
)

_SCALARS: Final[dict[str, FieldType]] = {
    t.name: t for t in (U8, U16, U32, U64, I8, I16, I32, I64, F32, F64, BOOL, SCALAR)
}
_SID: Final = struct.Struct(">H")


class DictionaryError(ValueError):
    """A dictionary file that cannot be used, or a name it does not have."""


class CommandArgumentError(ValueError):
    """A command argument the satellite would refuse; carries the reason code it would give."""

    def __init__(self, command: str, argument: str | None, reason: ReasonCode,
                 detail: str) -> None:
        where = f"{command}({argument})" if argument else command
        super().__init__(f"{where}: {reason.name}: {detail}")
        self.command = command
        self.argument = argument
        self.reason = reason
        self.detail = detail


def field_type(description: Mapping[str, Any]) -> FieldType:
    """The runtime type a dictionary type description stands for."""
    name = description.get("type")
    if name == "STRING":
        return String(int(description["max_len"]))
    if name == "BYTES":
        return Bytes(int(description["max_len"]))
    if name == "ENUM":
        members = description["members"]
        enum = IntEnum(str(description.get("enum", "Enum")), dict(members))  # type: ignore[misc]
        return EnumType("ENUM", enum=enum, bits=int(description.get("bits", 8)))
    base = _SCALARS.get(str(name))
    if base is None:
        raise DictionaryError(f"unknown type {name!r}")
    if base is SCALAR or base is BOOL:
        return base
    return base(min=description.get("min"), max=description.get("max"))


@dataclass(frozen=True)
class ArgDef:
    name: str
    type: FieldType

    def parse(self, text: str) -> Any:
        """A value of this argument from command-line text (enumerations by name or number,
        octets in hex, booleans as true/false/1/0)."""
        t = self.type
        try:
            if isinstance(t, EnumType):
                return t.enum[text].value if text in t.enum.__members__ else int(text, 0)
            if t.name.startswith(("U", "I")):
                return int(text, 0)
            if t.name.startswith("F"):
                return float(text)
            if t is BOOL:
                lowered = text.lower()
                if lowered not in ("true", "false", "1", "0"):
                    raise ValueError(text)
                return lowered in ("true", "1")
            if t.name == "BYTES":
                return bytes.fromhex(text.removeprefix("0x"))
            if t is SCALAR:
                return _scalar(text)
        except ValueError:
            raise ArgumentError(ReasonCode.WRONG_ARG_TYPE,
                                f"{text!r} is not a {t.name}") from None
        return text


def _scalar(text: str) -> Any:
    for convert in (lambda s: int(s, 0), float):
        try:
            return convert(text)
        except ValueError:
            continue
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


@dataclass(frozen=True)
class CommandDef:
    name: str
    opcode: int
    args: tuple[ArgDef, ...]
    doc: str

    def check(self, values: Sequence[Any], named: Mapping[str, Any]) -> tuple[Any, ...]:
        """The arguments in order, checked; raises `CommandArgumentError`."""
        if len(values) > len(self.args):
            raise CommandArgumentError(self.name, None, ReasonCode.WRONG_ARG_COUNT,
                                       f"takes {len(self.args)} arguments, got {len(values)}")
        given = dict(zip((a.name for a in self.args), values, strict=False))
        for key, value in named.items():
            if key not in {a.name for a in self.args}:
                raise CommandArgumentError(self.name, key, ReasonCode.WRONG_ARG_COUNT,
                                           f"no such argument (has: {self.signature})")
            if key in given:
                raise CommandArgumentError(self.name, key, ReasonCode.WRONG_ARG_COUNT,
                                           "given twice")
            given[key] = value
        out = []
        for arg in self.args:
            if arg.name not in given:
                raise CommandArgumentError(self.name, arg.name, ReasonCode.WRONG_ARG_COUNT,
                                           f"missing (takes {self.signature})")
            value = given[arg.name]
            if isinstance(arg.type, EnumType) and isinstance(value, str):
                if value not in arg.type.enum.__members__:
                    raise CommandArgumentError(
                        self.name, arg.name, ReasonCode.OUT_OF_RANGE,
                        f"{value!r} is not one of {', '.join(arg.type.enum.__members__)}")
                value = arg.type.enum[value]
            try:
                checked = arg.type.check(value)
            except ArgumentError as exc:
                raise CommandArgumentError(self.name, arg.name, exc.reason, exc.detail) from None
            out.append(int(checked) if isinstance(checked, IntEnum) else checked)
        return tuple(out)

    def parse(self, texts: Sequence[str]) -> tuple[Any, ...]:
        """Arguments from command-line words: positional, or NAME=VALUE."""
        values: list[Any] = []
        named: dict[str, Any] = {}
        by_name = {a.name: a for a in self.args}
        for i, text in enumerate(texts):
            key, eq, rest = text.partition("=")
            if eq and key in by_name:
                arg, text = by_name[key], rest
            elif named:
                raise CommandArgumentError(self.name, None, ReasonCode.WRONG_ARG_COUNT,
                                           f"positional argument {text!r} after NAME=VALUE")
            elif i < len(self.args):
                arg = self.args[i]
            else:
                raise CommandArgumentError(self.name, None, ReasonCode.WRONG_ARG_COUNT,
                                           f"takes {len(self.args)} arguments, got {len(texts)}")
            try:
                value = arg.parse(text)
            except ArgumentError as exc:
                raise CommandArgumentError(self.name, arg.name, exc.reason, exc.detail) from None
            if eq and key in by_name:
                named[arg.name] = value
            else:
                values.append(value)
        return self.check(values, named)

    @property
    def signature(self) -> str:
        return ", ".join(f"{a.name}: {a.type.name}" for a in self.args) or "no arguments"


@dataclass(frozen=True)
class ChannelDef:
    name: str
    channel_id: int
    type: FieldType
    unit: str

    def display(self, value: Any) -> str:
        if isinstance(self.type, EnumType) and isinstance(value, int):
            try:
                return self.type.enum(value).name
            except ValueError:
                return str(value)
        if isinstance(value, float):
            return f"{value:.6g}"
        return str(value)


@dataclass(frozen=True)
class EventDef:
    name: str
    event_id: int
    severity: Severity
    fmt: str
    args: tuple[ArgDef, ...]

    def format(self, args: Sequence[Any]) -> str:
        values = {}
        for arg, value in zip(self.args, args, strict=False):
            if isinstance(arg.type, EnumType) and isinstance(value, int):
                try:
                    value = arg.type.enum(value).name
                except ValueError:
                    pass
            values[arg.name] = value
        try:
            if len(args) != len(self.args):
                raise IndexError(f"{len(args)} arguments for {len(self.args)}")
            return self.fmt.format(**values)
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            return f"{self.fmt} {tuple(args)!r} (unformattable: {exc})"


@dataclass(frozen=True)
class PacketLayout:
    sid: int
    name: str
    layout: struct.Struct
    channels: tuple[ChannelDef, ...]


class GroundDictionary:
    """A verified dictionary: `load(path)` refuses a file whose hash does not match its content."""

    def __init__(self, body: dict[str, Any], source: str = "<dictionary>") -> None:
        if body.get("format") != runtime_dictionary.FORMAT:
            raise DictionaryError(f"{source}: format {body.get('format')!r}, expected "
                                  f"{runtime_dictionary.FORMAT!r}")
        if not runtime_dictionary.verify(body):
            raise DictionaryError(f"{source}: hash does not match the content (edited or "
                                  "damaged); regenerate it with `flight dict`")
        self.body = body
        self.source = source
        self.hash: str = body["hash"]
        self.deployment: str = body.get("deployment", "")
        try:
            self.commands = {
                c["name"]: CommandDef(c["name"], c["opcode"], tuple(
                    ArgDef(a["name"], field_type(a)) for a in c["args"]), c.get("doc", ""))
                for c in body["commands"]
            }
            self.channels = {
                c["name"]: ChannelDef(c["name"], c["id"], field_type(c["type"]), c["unit"])
                for c in body["channels"]
            }
            self.events = {
                e["id"]: EventDef(e["name"], e["id"], Severity[e["severity"]], e["format"],
                                  tuple(ArgDef(a["name"], field_type(a)) for a in e["args"]))
                for e in body["events"]
            }
            by_id = {c.channel_id: c for c in self.channels.values()}
            self.packets = {
                p["id"]: PacketLayout(p["id"], p["name"], struct.Struct(p["layout"]),
                                      tuple(by_id[i] for i in p["channel_ids"]))
                for p in body["packets"]
            }
        except (KeyError, TypeError, ValueError, struct.error) as exc:
            raise DictionaryError(f"{source}: malformed ({type(exc).__name__}: {exc})") from None
        self.channels_by_id = {c.channel_id: c for c in self.channels.values()}
        self.events_by_name = {e.name: e for e in self.events.values()}
        self.commands_by_opcode = {c.opcode: c for c in self.commands.values()}

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GroundDictionary:
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                body = json.load(f)
        except OSError as exc:
            raise DictionaryError(f"{path}: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise DictionaryError(f"{path}: not JSON ({exc})") from None
        if not isinstance(body, dict):
            raise DictionaryError(f"{path}: not a dictionary object")
        return cls(body, path)

    @property
    def dictionary_id(self) -> int:
        """What the satellite reports in `executive.dictionary_id`: the hash's first 32 bits."""
        return int(self.hash[:8], 16)

    # ------------------------------------------------------------ lookups

    def command(self, name: str) -> CommandDef:
        try:
            return self.commands[name]
        except KeyError:
            raise DictionaryError(f"no command {name!r}{_close(name, self.commands)}") from None

    def channel(self, name: str) -> ChannelDef:
        try:
            return self.channels[name]
        except KeyError:
            raise DictionaryError(f"no channel {name!r}{_close(name, self.channels)}") from None

    def event(self, name: str) -> EventDef:
        try:
            return self.events_by_name[name]
        except KeyError:
            raise DictionaryError(
                f"no event {name!r}{_close(name, self.events_by_name)}") from None

    def packetized(self, name: str) -> bool:
        """Whether channel `name` is in a housekeeping packet (so it reaches the ground)."""
        return any(c.name == name for p in self.packets.values() for c in p.channels)

    # ------------------------------------------------------------ encoding and decoding

    def encode_command(self, name: str, values: Sequence[Any] = (),
                       named: Mapping[str, Any] | None = None, *, seq: int = 0) -> Command:
        """The checked `Command`; raises `DictionaryError` or `CommandArgumentError`."""
        definition = self.command(name)
        return Command(definition.opcode, definition.check(values, named or {}), seq)

    def decode_housekeeping(self, data: bytes) -> tuple[PacketLayout, list[tuple[ChannelDef, Any]]]:
        """(layout, [(channel, value)]) of a housekeeping packet's user data (SID + values)."""
        if len(data) < _SID.size:
            raise DictionaryError(f"housekeeping packet of {len(data)} octets has no SID")
        (sid,) = _SID.unpack_from(data)
        layout = self.packets.get(sid)
        if layout is None:
            raise DictionaryError(f"housekeeping structure ID {sid} is not in the dictionary")
        payload = data[_SID.size:]
        if len(payload) != layout.layout.size:
            raise DictionaryError(f"housekeeping packet {sid} ({layout.name}): {len(payload)} "
                                  f"octets, layout has {layout.layout.size}")
        values = layout.layout.unpack(payload)
        out = []
        for channel, value in zip(layout.channels, values, strict=True):
            if isinstance(value, bytes):
                value = value.rstrip(b"\0").decode(errors="replace")
            out.append((channel, value))
        return layout, out

    def describe_event(self, record: EventRecord) -> tuple[str, str]:
        """(name, message) of an event record."""
        definition = self.events.get(record.event_id)
        if definition is None:
            return f"event_0x{record.event_id:X}", repr(record.args)
        return definition.name, definition.format(record.args)


def _close(name: str, known: Mapping[str, Any]) -> str:
    matches = difflib.get_close_matches(name, list(known), n=3)
    return f" (did you mean {', '.join(matches)}?)" if matches else ""
