"""The value types of command arguments, telemetry channels, event arguments and parameters.

A type checks a value (the Python value a command or parameter file carries) and knows its
fixed-size big-endian layout for housekeeping packets. Calling a type with a range gives a ranged
copy, so declarations read like the dictionary:

    @command(0x01, limit_volts=F32(min=5.0, max=8.4))

The dictionary describes every type with `describe()`; the ground decodes with that description.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any, Final

from flight.runtime.errors import ArgumentError, ReasonCode


@dataclass(frozen=True)
class FieldType:
    """Base of all value types; `name` is the dictionary's type name."""

    name: str
    min: Any = None
    max: Any = None

    def check(self, value: Any) -> Any:
        """The value normalized to this type, or `ArgumentError` naming the fault."""
        raise NotImplementedError

    @property
    def struct_format(self) -> str:
        """`struct` format of the value in a housekeeping packet (big-endian, no prefix)."""
        raise NotImplementedError

    def pack(self, value: Any) -> bytes:
        return struct.pack(">" + self.struct_format, value)

    def zero(self) -> Any:
        """The value a channel holds before anything is written to it."""
        return 0

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.name}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        return out

    def __call__(self, *, min: Any = None, max: Any = None) -> FieldType:  # noqa: A002
        """A copy of this type restricted to [min, max] (each bound optional)."""
        lo = self.min if min is None else self.check(min)
        hi = self.max if max is None else self.check(max)
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"{self.name}: empty range [{lo}, {hi}]")
        return replace(self, min=lo, max=hi)

    def _range_error(self, value: Any) -> ArgumentError:
        return ArgumentError(
            ReasonCode.OUT_OF_RANGE,
            f"{value!r} outside [{self.min}, {self.max}] of {self.name}",
            value=value, low=self.min, high=self.max,
        )

    def _type_error(self, value: Any) -> ArgumentError:
        return ArgumentError(
            ReasonCode.WRONG_ARG_TYPE, f"{type(value).__name__} {value!r} is not a {self.name}",
            value=value,
        )


@dataclass(frozen=True)
class IntType(FieldType):
    bits: int = 32
    signed: bool = False

    def __post_init__(self) -> None:
        if self.min is None and self.max is None:
            lo = -(1 << (self.bits - 1)) if self.signed else 0
            hi = (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1
            object.__setattr__(self, "min", lo)
            object.__setattr__(self, "max", hi)

    def check(self, value: Any) -> int:
        if type(value) is not int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise self._type_error(value)
            value = int(value)
        if value < self.min or value > self.max:
            raise self._range_error(value)
        return value

    def __call__(self, *, min: Any = None, max: Any = None) -> FieldType:  # noqa: A002
        natural = IntType(self.name, bits=self.bits, signed=self.signed)
        lo = natural.min if min is None else natural.check(min)
        hi = natural.max if max is None else natural.check(max)
        if lo > hi:
            raise ValueError(f"{self.name}: empty range [{lo}, {hi}]")
        return replace(self, min=lo, max=hi)

    @property
    def struct_format(self) -> str:
        code = {8: "b", 16: "h", 32: "i", 64: "q"}[self.bits]
        return code if self.signed else code.upper()


@dataclass(frozen=True)
class FloatType(FieldType):
    bits: int = 64

    def check(self, value: Any) -> float:
        if type(value) is not float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self._type_error(value)
            value = float(value)
        if self.min is not None or self.max is not None:
            if math.isnan(value):
                raise self._range_error(value)
            if (self.min is not None and value < self.min) or (
                self.max is not None and value > self.max
            ):
                raise self._range_error(value)
        elif self.bits == 32 and math.isfinite(value) and abs(value) > _F32_MAX:
            raise self._range_error(value)
        return value

    def zero(self) -> float:
        return 0.0

    @property
    def struct_format(self) -> str:
        return "f" if self.bits == 32 else "d"


_F32_MAX: Final = 3.4028234663852886e38


@dataclass(frozen=True)
class BoolType(FieldType):
    def check(self, value: Any) -> bool:
        if type(value) is not bool:
            raise self._type_error(value)
        return value

    def zero(self) -> bool:
        return False

    @property
    def struct_format(self) -> str:
        return "?"


@dataclass(frozen=True)
class StringType(FieldType):
    """UTF-8 text of at most `max_len` octets; fixed `max_len` octets, NUL-padded, in packets."""

    max_len: int = 40

    def check(self, value: Any) -> str:
        if type(value) is not str:
            raise self._type_error(value)
        if len(value.encode()) > self.max_len:
            raise ArgumentError(
                ReasonCode.OUT_OF_RANGE,
                f"string of {len(value.encode())} octets exceeds {self.max_len}",
                value=value, high=self.max_len,
            )
        return value

    def zero(self) -> str:
        return ""

    @property
    def struct_format(self) -> str:
        return f"{self.max_len}s"

    def pack(self, value: Any) -> bytes:
        return value.encode()[: self.max_len].ljust(self.max_len, b"\0")

    def describe(self) -> dict[str, Any]:
        return {"type": self.name, "max_len": self.max_len}


@dataclass(frozen=True)
class BytesType(FieldType):
    """Opaque octets (msgpack bin) of at most `max_len`; not allowed in housekeeping packets."""

    max_len: int = 256

    def check(self, value: Any) -> bytes:
        if not isinstance(value, bytes | bytearray):
            raise self._type_error(value)
        if len(value) > self.max_len:
            raise ArgumentError(
                ReasonCode.OUT_OF_RANGE, f"{len(value)} octets exceeds {self.max_len}",
                value=len(value), high=self.max_len,
            )
        return bytes(value)

    def zero(self) -> bytes:
        return b""

    @property
    def struct_format(self) -> str:
        raise TypeError("Bytes values have no fixed layout; they cannot be packet channels")

    def describe(self) -> dict[str, Any]:
        return {"type": self.name, "max_len": self.max_len}


@dataclass(frozen=True)
class EnumType(FieldType):
    """An `IntEnum` carried as an unsigned integer of `bits` bits; the dictionary lists members."""

    enum: type[IntEnum] = field(default=ReasonCode)
    bits: int = 8

    def check(self, value: Any) -> IntEnum:
        if isinstance(value, self.enum):
            return value
        if type(value) is not int:
            raise self._type_error(value)
        try:
            return self.enum(value)
        except ValueError:
            raise ArgumentError(
                ReasonCode.OUT_OF_RANGE, f"{value} is not a member of {self.enum.__name__}",
                value=value,
            ) from None

    def zero(self) -> IntEnum:
        return next(iter(self.enum))

    @property
    def struct_format(self) -> str:
        return {8: "B", 16: "H", 32: "I"}[self.bits]

    def describe(self) -> dict[str, Any]:
        return {
            "type": self.name,
            "enum": self.enum.__name__,
            "bits": self.bits,
            "members": {m.name: int(m) for m in self.enum},
        }


@dataclass(frozen=True)
class ScalarType(FieldType):
    """Any scalar (integer, float, bool or short string): a parameter value whose type depends on
    another argument (`params.set`); the handler checks it against the real type."""

    def check(self, value: Any) -> Any:
        if isinstance(value, bool | int | float):
            return value
        if isinstance(value, str) and len(value.encode()) <= 255:
            return value
        raise self._type_error(value)

    @property
    def struct_format(self) -> str:
        raise TypeError("Scalar values have no fixed layout; they cannot be packet channels")


U8: Final = IntType("U8", bits=8)
U16: Final = IntType("U16", bits=16)
U32: Final = IntType("U32", bits=32)
U64: Final = IntType("U64", bits=64)
I8: Final = IntType("I8", bits=8, signed=True)
I16: Final = IntType("I16", bits=16, signed=True)
I32: Final = IntType("I32", bits=32, signed=True)
I64: Final = IntType("I64", bits=64, signed=True)
F32: Final = FloatType("F32", bits=32)
F64: Final = FloatType("F64", bits=64)
BOOL: Final = BoolType("BOOL")
SCALAR: Final = ScalarType("SCALAR")


def String(max_len: int = 40) -> StringType:  # noqa: N802 - reads as a type in declarations
    if not 1 <= max_len <= 255:
        raise ValueError(f"String max_len {max_len} outside 1..255")
    return StringType("STRING", max_len=max_len)


def Bytes(max_len: int = 256) -> BytesType:  # noqa: N802
    if not 1 <= max_len <= 65535:
        raise ValueError(f"Bytes max_len {max_len} outside 1..65535")
    return BytesType("BYTES", max_len=max_len)


def Enum(enum: type[IntEnum], bits: int = 8) -> EnumType:  # noqa: N802
    if bits not in (8, 16, 32):
        raise ValueError(f"Enum bits must be 8, 16 or 32, not {bits}")
    hi = max(int(m) for m in enum)
    if min(int(m) for m in enum) < 0 or hi >= 1 << bits:
        raise ValueError(f"{enum.__name__} does not fit in {bits} unsigned bits")
    return EnumType("ENUM", enum=enum, bits=bits)
