from enum import IntEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flight.runtime.errors import ArgumentError, ReasonCode
from flight.runtime.types import (
    BOOL,
    F32,
    F64,
    I8,
    I16,
    SCALAR,
    U8,
    U16,
    U32,
    U64,
    Bytes,
    Enum,
    String,
)


class Mode(IntEnum):
    SAFE = 0
    NOMINAL = 1
    PAYLOAD = 5


@pytest.mark.parametrize(("t", "lo", "hi"), [
    (U8, 0, 255), (U16, 0, 65535), (U32, 0, 2**32 - 1), (U64, 0, 2**64 - 1),
    (I8, -128, 127), (I16, -32768, 32767),
])
def test_integer_natural_limits(t, lo, hi):
    assert t.check(lo) == lo and t.check(hi) == hi
    for bad in (lo - 1, hi + 1):
        with pytest.raises(ArgumentError) as info:
            t.check(bad)
        assert info.value.reason is ReasonCode.OUT_OF_RANGE
        assert (info.value.low, info.value.high) == (lo, hi)


def test_integers_refuse_bool_float_and_text():
    for bad in (True, 1.0, "1", None):
        with pytest.raises(ArgumentError) as info:
            U8.check(bad)
        assert info.value.reason is ReasonCode.WRONG_ARG_TYPE


def test_ranged_copy_keeps_the_base_type():
    t = U16(min=10, max=20)
    assert t.check(10) == 10 and t.check(20) == 20
    with pytest.raises(ArgumentError):
        t.check(21)
    assert t.describe() == {"type": "U16", "min": 10, "max": 20}
    assert U16.describe()["max"] == 65535
    with pytest.raises(ValueError):
        U8(min=5, max=4)
    with pytest.raises(ArgumentError):
        U8(max=300)


def test_floats_accept_ints_reject_nan_when_ranged():
    t = F32(min=-1.0, max=1.0)
    assert t.check(1) == 1.0 and type(t.check(1)) is float
    with pytest.raises(ArgumentError):
        t.check(float("nan"))
    with pytest.raises(ArgumentError):
        t.check(1.5)
    with pytest.raises(ArgumentError):
        F32.check(1e39)
    assert F64.check(1e300) == 1e300
    with pytest.raises(ArgumentError):
        F64.check(True)


def test_bool_string_bytes_enum_scalar():
    assert BOOL.check(False) is False
    with pytest.raises(ArgumentError):
        BOOL.check(0)
    s = String(4)
    assert s.check("abcd") == "abcd"
    with pytest.raises(ArgumentError):
        s.check("é" * 3)  # 6 octets
    assert s.pack("ab") == b"ab\0\0"
    assert Bytes(3).check(bytearray(b"abc")) == b"abc"
    with pytest.raises(ArgumentError):
        Bytes(3).check(b"abcd")
    e = Enum(Mode)
    assert e.check(5) is Mode.PAYLOAD
    with pytest.raises(ArgumentError) as info:
        e.check(2)
    assert info.value.reason is ReasonCode.OUT_OF_RANGE
    assert e.describe()["members"] == {"SAFE": 0, "NOMINAL": 1, "PAYLOAD": 5}
    assert SCALAR.check("x") == "x"
    with pytest.raises(ArgumentError):
        SCALAR.check([1])


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_u32_accepts_exactly_its_range(value):
    if 0 <= value < 2**32:
        assert U32.check(value) == value
    else:
        with pytest.raises(ArgumentError):
            U32.check(value)


def test_struct_formats_pack_big_endian():
    assert U16.pack(0x0102) == b"\x01\x02"
    assert I8.pack(-1) == b"\xff"
    assert F32.struct_format == "f" and F64.struct_format == "d"
    assert Enum(Mode, bits=16).pack(Mode.PAYLOAD) == b"\x00\x05"
