"""Length-value and type-length-value fields (727.0-B-5 section 5.1.6 to 5.1.9, 5.4).

An LV is one length octet and up to 255 octets of value (file names); a TLV adds a type octet in
front. `Tlv` is the generic form that PDUs carry; the typed options convert to and from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from flight.cfdp.defs import (
    ConditionCode,
    FaultHandlerAction,
    FilestoreAction,
    TlvType,
)
from flight.cfdp.errors import PduFieldError, PduTruncatedError

MAX_LV_OCTETS: Final[int] = 255

# Filestore actions whose request carries a second file name.
_TWO_NAMES: Final = frozenset(
    {FilestoreAction.RENAME_FILE, FilestoreAction.APPEND_FILE, FilestoreAction.REPLACE_FILE}
)


def pack_lv(value: bytes, what: str) -> bytes:
    if len(value) > MAX_LV_OCTETS:
        raise PduFieldError(f"{what} length", len(value), f"at most {MAX_LV_OCTETS} octets")
    return bytes((len(value),)) + value


def unpack_lv(data: bytes, pos: int, end: int, what: str) -> tuple[bytes, int]:
    """(value, position after it) of the LV at `pos`."""
    if pos >= end:
        raise PduTruncatedError(what, pos + 1, end)
    stop = pos + 1 + data[pos]
    if stop > end:
        raise PduTruncatedError(what, stop - pos, end - pos)
    return bytes(data[pos + 1:stop]), stop


def encode_name(name: str, what: str) -> bytes:
    try:
        return pack_lv(name.encode("utf-8"), what)
    except UnicodeEncodeError:
        raise PduFieldError(what, name, "encodable as UTF-8") from None


def decode_name(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PduFieldError(what, raw, "UTF-8 text") from None


@dataclass(frozen=True, slots=True)
class Tlv:
    type: int
    value: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.type, int) or not 0 <= self.type <= 0xFF:
            raise PduFieldError("TLV type", self.type, "0..255")
        if len(self.value) > MAX_LV_OCTETS:
            raise PduFieldError("TLV length", len(self.value), f"at most {MAX_LV_OCTETS}")

    def pack(self) -> bytes:
        return bytes((self.type, len(self.value))) + self.value


def pack_tlvs(tlvs: tuple[Tlv, ...]) -> bytes:
    return b"".join(t.pack() for t in tlvs)


def unpack_tlvs(data: bytes, pos: int, end: int) -> tuple[Tlv, ...]:
    """Every TLV from `pos` to `end`; they must fill the span exactly."""
    out = []
    while pos < end:
        if pos + 2 > end:
            raise PduTruncatedError("TLV header", 2, end - pos)
        length = data[pos + 1]
        stop = pos + 2 + length
        if stop > end:
            raise PduTruncatedError(f"TLV of type {data[pos]:#04x}", 2 + length, end - pos)
        out.append(Tlv(data[pos], bytes(data[pos + 2:stop])))
        pos = stop
    return tuple(out)


def entity_id_tlv(entity_id: int, length: int) -> Tlv:
    """The fault location: an entity ID TLV of the transaction's entity ID length."""
    return Tlv(TlvType.ENTITY_ID, entity_id.to_bytes(length, "big"))


def entity_id_from(tlv: Tlv) -> int:
    if not 1 <= len(tlv.value) <= 8:
        raise PduFieldError("entity ID TLV length", len(tlv.value), "1..8 octets")
    return int.from_bytes(tlv.value, "big")


@dataclass(frozen=True, slots=True)
class FilestoreRequest:
    action: FilestoreAction
    first_name: str
    second_name: str = ""

    def to_tlv(self) -> Tlv:
        value = bytes((self.action << 4,)) + encode_name(self.first_name, "first file name")
        if self.action in _TWO_NAMES:
            value += encode_name(self.second_name, "second file name")
        return Tlv(TlvType.FILESTORE_REQUEST, value)

    @classmethod
    def from_tlv(cls, tlv: Tlv) -> FilestoreRequest:
        raw = tlv.value
        if not raw:
            raise PduTruncatedError("filestore request", 1, 0)
        action = _action(raw[0] >> 4)
        first, pos = unpack_lv(raw, 1, len(raw), "first file name")
        second = b""
        if action in _TWO_NAMES:
            second, pos = unpack_lv(raw, pos, len(raw), "second file name")
        return cls(action, decode_name(first, "first file name"),
                   decode_name(second, "second file name"))


@dataclass(frozen=True, slots=True)
class FilestoreResponse:
    action: FilestoreAction
    status: int  # 4 bits, meaning per action (727.0-B-5 table 5-18)
    first_name: str
    second_name: str = ""
    message: bytes = b""

    def to_tlv(self) -> Tlv:
        if not 0 <= self.status <= 0xF:
            raise PduFieldError("filestore response status", self.status, "0..15")
        value = bytes(((self.action << 4) | self.status,))
        value += encode_name(self.first_name, "first file name")
        if self.action in _TWO_NAMES:
            value += encode_name(self.second_name, "second file name")
        value += pack_lv(self.message, "filestore message")
        return Tlv(TlvType.FILESTORE_RESPONSE, value)

    @classmethod
    def from_tlv(cls, tlv: Tlv) -> FilestoreResponse:
        raw = tlv.value
        if not raw:
            raise PduTruncatedError("filestore response", 1, 0)
        action = _action(raw[0] >> 4)
        first, pos = unpack_lv(raw, 1, len(raw), "first file name")
        second = b""
        if action in _TWO_NAMES:
            second, pos = unpack_lv(raw, pos, len(raw), "second file name")
        message, _ = unpack_lv(raw, pos, len(raw), "filestore message")
        return cls(action, raw[0] & 0xF, decode_name(first, "first file name"),
                   decode_name(second, "second file name"), message)


@dataclass(frozen=True, slots=True)
class FaultHandlerOverride:
    condition: ConditionCode
    action: FaultHandlerAction

    def to_tlv(self) -> Tlv:
        return Tlv(TlvType.FAULT_HANDLER_OVERRIDE, bytes(((self.condition << 4) | self.action,)))

    @classmethod
    def from_tlv(cls, tlv: Tlv) -> FaultHandlerOverride:
        if len(tlv.value) != 1:
            raise PduFieldError("fault handler override length", len(tlv.value), "1 octet")
        code, action = tlv.value[0] >> 4, tlv.value[0] & 0xF
        try:
            return cls(ConditionCode(code), FaultHandlerAction(action))
        except ValueError:
            raise PduFieldError("fault handler override", tlv.value[0],
                                "a condition code and a handler code 1..4") from None


def _action(code: int) -> FilestoreAction:
    try:
        return FilestoreAction(code)
    except ValueError:
        raise PduFieldError("filestore action code", code, "0..8") from None
