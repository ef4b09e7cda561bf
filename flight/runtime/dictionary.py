"""The dictionary: everything the ground needs to command and decode one deployment, as JSON.

It lists every command (opcode, arguments with types and ranges), telemetry channel, event,
parameter, housekeeping packet layout and enumeration, with global IDs, plus the wire formats and
code tables (stages, reasons, severities). `hash` is the SHA-256 of the canonical JSON of all the
rest (sorted keys, no spaces): the satellite reports it at boot (executive events and the
`executive.dictionary_id` channel, its first 32 bits), and the ground refuses to command a
satellite whose hash differs from its dictionary's.
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Final

import flight
from flight.runtime.errors import ReasonCode
from flight.runtime.records import Severity, Stage
from flight.runtime.types import (
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    EnumType,
    FieldType,
)

# CPython's own SHA-256 (_sha2 from 3.12, _sha256 before): hashlib would load OpenSSL's libcrypto
# for this one digest at boot, 3.6 MB of an onboard computer's resident memory.
try:
    from _sha2 import sha256  # type: ignore[import-not-found]
except ImportError:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found,no-redef]
    except ImportError:
        from hashlib import sha256  # type: ignore[assignment]

if TYPE_CHECKING:
    from flight.runtime.runtime import Runtime

FORMAT: Final = "autonomous-sky-dictionary/1"

WIRE: Final = {
    "command": "msgpack array [opcode uint32, seq uint16, [args...]] (TC packet data field)",
    "verification": "8 octets >IHBB: opcode, seq, stage, reason",
    "event": "msgpack array [event_id, severity, [args...]]",
    "telemetry_sample": "msgpack array [channel_id, value]",
    "housekeeping": "uint16 structure ID, then the packet's channels in its layout (big-endian)",
    "time": "in the space packet secondary header (CUC), not in the data field",
}


TYPES: Final = {
    **{t.name: {"kind": "integer", "signed": t.signed, "octets": t.bits // 8,
                "struct": ">" + t.struct_format, "min": t.min, "max": t.max}
       for t in (U8, U16, U32, U64, I8, I16, I32, I64)},
    "F32": {"kind": "float", "octets": 4, "struct": ">f", "standard": "IEEE 754 binary32"},
    "F64": {"kind": "float", "octets": 8, "struct": ">d", "standard": "IEEE 754 binary64"},
    "BOOL": {"kind": "bool", "octets": 1, "struct": ">?"},
    "STRING": {"kind": "text", "encoding": "utf-8", "packet": "max_len octets, NUL-padded"},
    "ENUM": {"kind": "enum", "packet": "unsigned integer of `bits` bits"},
    "BYTES": {"kind": "octets", "packet": "not allowed in housekeeping packets"},
    "SCALAR": {"kind": "any scalar (msgpack)", "packet": "not allowed in housekeeping packets"},
}
"""The value types: their housekeeping-packet layout (big-endian) and limits."""


def _codes(enum: type[IntEnum]) -> dict[str, int]:
    return {m.name: int(m) for m in enum}


def _class_path(obj: object) -> str:
    return getattr(obj, "class_path", f"{type(obj).__module__}:{type(obj).__qualname__}")


def build(rt: Runtime) -> dict[str, Any]:
    """The dictionary of a prepared runtime (`Runtime.prepare()` is called if needed)."""
    registry = rt.prepare()
    enums: dict[str, dict[str, int]] = {}

    def typ(t: FieldType) -> dict[str, Any]:
        if isinstance(t, EnumType):
            enums[t.enum.__name__] = _codes(t.enum)
        return t.describe()

    def args(spec_args: dict[str, FieldType]) -> list[dict[str, Any]]:
        return [{"name": n, **typ(t)} for n, t in spec_args.items()]

    body: dict[str, Any] = {
        "format": FORMAT,
        "deployment": rt.name,
        "framework_version": flight.__version__,
        "tick_hz": rt.executive.tick_hz,
        "components": [
            {"name": c.name, "class": _class_path(c), "base_id": c.base_id}
            for c in registry.components.values()
        ],
        "commands": [
            {"name": e.name, "opcode": e.opcode, "component": e.component.name,
             "args": args(e.spec.args), "doc": e.spec.doc}
            for e in sorted(registry.commands.values(), key=lambda e: e.opcode)
        ],
        "channels": [
            {"name": e.name, "id": e.channel_id, "component": e.component.name,
             "type": typ(e.channel.type), "unit": e.channel.unit,
             "update": str(e.channel.update), "doc": e.channel.doc}
            for e in sorted(registry.channels.values(), key=lambda e: e.channel_id)
        ],
        "events": [
            {"name": e.name, "id": e.event_id, "component": e.component.name,
             "severity": e.event.severity.name, "format": e.event.fmt,
             "args": args(e.event.args), "doc": e.event.doc,
             "throttle": None if e.event.throttle is None else
             {"count": e.event.throttle.count, "window_s": e.event.throttle.window_s}}
            for e in sorted(registry.events.values(), key=lambda e: e.event_id)
        ],
        "parameters": [
            {"name": e.name, "id": e.param_id, "component": e.component.name,
             "type": typ(e.param.type), "default": e.param.default, "doc": e.param.doc}
            for e in sorted(registry.params.values(), key=lambda e: e.param_id)
        ],
        "packets": [
            {"component": c.name, **packet}
            for c in registry.components.values()
            for packet in (c.packet_definitions() if hasattr(c, "packet_definitions") else [])
        ],
        "codes": {
            "stage": _codes(Stage), "reason": _codes(ReasonCode), "severity": _codes(Severity),
        },
        "wire": WIRE,
    }
    body["enums"] = dict(sorted(enums.items()))
    body["types"] = TYPES
    body["hash"] = content_hash(body)
    return body


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(
        {k: v for k, v in body.items() if k != "hash"}, sort_keys=True, separators=(",", ":"),
        ensure_ascii=True, allow_nan=False, default=_json_default,
    ).encode()


def content_hash(body: dict[str, Any]) -> str:
    return sha256(canonical(body)).hexdigest()


def dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=2, sort_keys=False, allow_nan=False,
                      default=_json_default) + "\n"


def verify(body: dict[str, Any]) -> bool:
    """True if `body["hash"]` matches its content (the file was not edited or damaged)."""
    return body.get("hash") == content_hash(body)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
