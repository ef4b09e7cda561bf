"""The values that cross the software bus and the space link: commands, verification reports,
events, telemetry samples and housekeeping packets, with their wire encodings.

Records are NamedTuples: immutable values like frozen dataclasses, but several times cheaper to
create, which matters on the command and event paths. Each record's `pack()` gives the data
field of one space packet; the time of a downlinked record
travels in the packet's secondary header (CUC), so it is an attribute here but not in `pack()`.
Wire formats (all big-endian; msgpack where the shape depends on the dictionary):

- command (TC packet data field): msgpack array ``[opcode, seq, [arg, ...]]``; opcode is the
  global opcode (uint32), seq a ground-chosen number 0..65535 echoed in every verification report.
- verification report: 8 octets ``>IHBB``: opcode, seq, stage (`Stage`), reason (`ReasonCode`).
- event: msgpack array ``[event_id, severity, [arg, ...]]``.
- telemetry sample (channelized): msgpack array ``[channel_id, value]``.
- housekeeping packet: ``>H`` structure ID, then each channel of the packet's definition in the
  dictionary, in order, in its fixed layout (`FieldType.struct_format`).
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import Any, Final, NamedTuple

import msgpack

from flight.runtime.errors import DecodeError, ReasonCode

MAX_COMMAND_OCTETS: Final = 1024 - 16  # fits one TC frame data field with headers
MAX_ARGS: Final = 32


class Severity(IntEnum):
    """Event severity, lowest first (the F Prime scale)."""

    DIAGNOSTIC = 1
    ACTIVITY_LO = 2
    ACTIVITY_HI = 3
    COMMAND = 4
    WARNING_LO = 5
    WARNING_HI = 6
    FATAL = 7


class Stage(IntEnum):
    """Verification stage, numbered as the PUS service 1 report subtypes."""

    ACCEPTED = 1
    ACCEPTANCE_FAILED = 2
    STARTED = 3
    START_FAILED = 4
    COMPLETED = 7
    COMPLETION_FAILED = 8


def _strict_unpacker(data: bytes) -> Any:
    return msgpack.unpackb(
        data, raw=False, strict_map_key=True, max_str_len=4096, max_bin_len=65536,
        max_array_len=MAX_ARGS, max_map_len=0, max_ext_len=0,
    )


def _unpack(what: str, data: bytes) -> Any:
    try:
        return _strict_unpacker(data)
    except (ValueError, msgpack.UnpackException) as exc:
        raise DecodeError(what, f"{type(exc).__name__}: {exc}", length=len(data)) from None


class Command(NamedTuple):
    """One command: a value that can be packed, logged and replayed."""

    opcode: int
    args: tuple[Any, ...] = ()
    seq: int = 0

    def pack(self) -> bytes:
        return msgpack.packb([self.opcode, self.seq, list(self.args)])

    @classmethod
    def unpack(cls, data: bytes) -> Command:
        if len(data) > MAX_COMMAND_OCTETS:
            raise DecodeError("command", f"{len(data)} octets, at most {MAX_COMMAND_OCTETS}",
                              length=len(data))
        body = _unpack("command", data)
        if type(body) is not list or len(body) != 3:
            raise DecodeError("command", "not an array [opcode, seq, args]", length=len(data))
        opcode, seq, args = body
        if type(opcode) is not int or not 0 <= opcode <= 0xFFFFFFFF:
            raise DecodeError("command", f"opcode {opcode!r} is not a uint32", length=len(data))
        if type(seq) is not int or not 0 <= seq <= 0xFFFF:
            raise DecodeError("command", f"seq {seq!r} is not a uint16", length=len(data))
        if type(args) is not list:
            raise DecodeError("command", "arguments are not an array", length=len(data))
        return tuple.__new__(cls, (opcode, tuple(args), seq))


_VERIFICATION: Final = struct.Struct(">IHBB")


class Verification(NamedTuple):
    """A command verification report (accepted, started, completed or failed, with a reason)."""

    opcode: int
    seq: int
    stage: Stage
    reason: ReasonCode
    time: float

    @property
    def failed(self) -> bool:
        return self.stage in (Stage.ACCEPTANCE_FAILED, Stage.START_FAILED, Stage.COMPLETION_FAILED)

    def pack(self) -> bytes:
        return _VERIFICATION.pack(self.opcode, self.seq, self.stage, self.reason)

    @classmethod
    def unpack(cls, data: bytes, time: float = 0.0) -> Verification:
        if len(data) != _VERIFICATION.size:
            raise DecodeError("verification report", f"{len(data)} octets, expected "
                              f"{_VERIFICATION.size}", length=len(data))
        opcode, seq, stage, reason = _VERIFICATION.unpack(data)
        try:
            return cls(opcode, seq, Stage(stage), ReasonCode(reason), time)
        except ValueError as exc:
            raise DecodeError("verification report", str(exc), length=len(data)) from None


class EventRecord(NamedTuple):
    """One event occurrence; the dictionary gives its name, format and argument types."""

    event_id: int
    severity: Severity
    time: float
    args: tuple[Any, ...] = ()

    def pack(self) -> bytes:
        return msgpack.packb([self.event_id, int(self.severity), list(self.args)])

    @classmethod
    def unpack(cls, data: bytes, time: float = 0.0) -> EventRecord:
        body = _unpack("event", data)
        if type(body) is not list or len(body) != 3 or type(body[2]) is not list:
            raise DecodeError("event", "not an array [id, severity, args]", length=len(data))
        event_id, severity, args = body
        if type(event_id) is not int or not 0 <= event_id <= 0xFFFFFFFF:
            raise DecodeError("event", f"event id {event_id!r} is not a uint32", length=len(data))
        try:
            return cls(event_id, Severity(severity), time, tuple(args))
        except ValueError:
            raise DecodeError("event", f"severity {severity!r} unknown", length=len(data)) from None


class TlmSample(NamedTuple):
    """One telemetry channel value at a time (channelized downlink, channel queries)."""

    channel_id: int
    time: float
    value: Any

    def pack(self) -> bytes:
        return msgpack.packb([self.channel_id, self.value])

    @classmethod
    def unpack(cls, data: bytes, time: float = 0.0) -> TlmSample:
        body = _unpack("telemetry sample", data)
        if type(body) is not list or len(body) != 2 or type(body[0]) is not int:
            raise DecodeError("telemetry sample", "not an array [channel_id, value]",
                              length=len(data))
        return cls(body[0], time, body[1])


_SID: Final = struct.Struct(">H")


class HousekeepingPacket(NamedTuple):
    """A housekeeping packet: structure ID `sid` and the packed channel values."""

    sid: int
    time: float
    priority: int
    payload: bytes

    def pack(self) -> bytes:
        return _SID.pack(self.sid) + self.payload
