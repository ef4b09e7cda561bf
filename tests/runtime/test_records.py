import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flight.runtime.errors import DecodeError, ReasonCode
from flight.runtime.records import Command, EventRecord, Severity, Stage, TlmSample, Verification


def test_command_round_trip_and_wire_shape():
    cmd = Command(0x1002, ("hello", 2, -3, 1.5, True, b"\x00"), seq=77)
    data = cmd.pack()
    assert msgpack.unpackb(data) == [0x1002, 77, ["hello", 2, -3, 1.5, True, b"\x00"]]
    assert Command.unpack(data) == cmd


@pytest.mark.parametrize("data", [
    b"", b"\xc1", msgpack.packb([1, 2]), msgpack.packb([1, 2, 3]), msgpack.packb({"a": 1}),
    msgpack.packb([-1, 0, []]), msgpack.packb([2**32, 0, []]), msgpack.packb([1, 70000, []]),
    msgpack.packb(["1", 0, []]), msgpack.packb([1, 0, []]) + b"\x00", b"\x93" + b"\xff" * 3,
    msgpack.packb([1, 0, list(range(100))]), b"\x00" * 5000,
])
def test_malformed_commands_raise_decode_error(data):
    with pytest.raises(DecodeError) as info:
        Command.unpack(data)
    assert isinstance(info.value, ValueError)
    assert info.value.length == len(data)


@given(st.binary(max_size=64))
def test_random_bytes_never_escape_as_anything_but_decode_error(data):
    try:
        Command.unpack(data)
    except DecodeError:
        pass


def test_verification_is_eight_octets():
    v = Verification(0x1234, 9, Stage.COMPLETION_FAILED, ReasonCode.OUT_OF_RANGE, 5.0)
    data = v.pack()
    assert data == b"\x00\x00\x12\x34\x00\x09\x08\x05"
    assert Verification.unpack(data, 5.0) == v and v.failed
    with pytest.raises(DecodeError):
        Verification.unpack(data[:-1])
    with pytest.raises(DecodeError):
        Verification.unpack(b"\x00\x00\x12\x34\x00\x09\x09\x05")


def test_event_and_sample_round_trip():
    e = EventRecord(0x2001, Severity.WARNING_HI, 3.5, ("x", 1, 2.5))
    assert EventRecord.unpack(e.pack(), 3.5) == e
    with pytest.raises(DecodeError):
        EventRecord.unpack(msgpack.packb([1, 99, []]))
    s = TlmSample(0x3001, 2.0, 7.25)
    assert TlmSample.unpack(s.pack(), 2.0) == s
    with pytest.raises(DecodeError):
        TlmSample.unpack(msgpack.packb(["a", 1]))
