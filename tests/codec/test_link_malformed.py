"""Malformed, truncated and random input: only clean TypeError/ValueError, alike in both engines."""

from __future__ import annotations

import array
import random
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flight.codec._link as c_engine
from flight.codec import CodecError
from flight.codec.reference import link as reference_engine

ffi, lib = c_engine.ffi, c_engine.lib

NOT_BYTES = ["123", 123, None, [1, 2, 3], 1.5, memoryview(b"abcdef")[::2]]
GOOD_BLOCK = reference_engine.rs_encode(bytes(223))
GOOD_CADU = reference_engine.cadu_encode(bytes(1115))

CALLS = {
    "crc16": lambda e, x: e.crc16(x),
    "crc32c": lambda e, x: e.crc32c(x),
    "randomize": lambda e, x: e.randomize(x),
    "rs_encode": lambda e, x: e.rs_encode(x),
    "rs_decode": lambda e, x: e.rs_decode(x),
    "cadu_encode": lambda e, x: e.cadu_encode(x),
    "cadu_decode": lambda e, x: e.cadu_decode(x),
    "CaduSync.feed": lambda e, x: e.CaduSync().feed(x),
}
NAMES = {"rs_decode": "codeblock", "cadu_encode": "frame", "cadu_decode": "cadu",
         "CaduSync.feed": "chunk"}


def outcome(call):
    """("ok", result) or (exception type, message); any other exception fails the test."""
    try:
        return ("ok", call())
    except (TypeError, ValueError) as error:
        return (type(error), str(error))


@pytest.mark.parametrize("function", sorted(CALLS))
@pytest.mark.parametrize("value", NOT_BYTES, ids=repr)
def test_wrong_types_name_the_argument(function: str, value) -> None:
    results = [outcome(lambda e=e: CALLS[function](e, value)) for e in (c_engine, reference_engine)]
    assert results[0] == results[1]
    kind, message = results[0]
    assert kind is TypeError
    assert NAMES.get(function, "data") in message


def test_any_buffer_layout_is_octets(link) -> None:
    samples = array.array("H", [0x1234, 0xABCD])
    assert link.crc16(samples) == link.crc16(samples.tobytes())
    assert link.randomize(memoryview(bytearray(8)).cast("B", (2, 4))) == link.randomize(bytes(8))


PARAMETER_CASES = [
    (lambda e: e.crc16(b"", -1), ValueError, "init"),
    (lambda e: e.crc16(b"", 0x10000), ValueError, "init"),
    (lambda e: e.crc16(b"", 1.0), TypeError, "init"),
    (lambda e: e.crc32c(b"", 1 << 32), ValueError, "init"),
    (lambda e: e.crc32c(b"", None), TypeError, "init"),
    (lambda e: e.rs_encode(bytes(223), 0), ValueError, "interleave"),
    (lambda e: e.rs_encode(bytes(223 * 6), 6), ValueError, "interleave"),
    (lambda e: e.rs_encode(bytes(223), True), TypeError, "interleave"),
    (lambda e: e.rs_encode(bytes(223), 1.0), TypeError, "interleave"),
    (lambda e: e.rs_encode(bytes(223), 1, -1), ValueError, "virtual_fill"),
    (lambda e: e.rs_encode(bytes(0), 1, 223), ValueError, "virtual_fill"),
    (lambda e: e.rs_encode(bytes(223), 1, "0"), TypeError, "virtual_fill"),
    (lambda e: e.rs_decode(GOOD_BLOCK, 7), ValueError, "interleave"),
    (lambda e: e.rs_decode(GOOD_BLOCK, 1, 300), ValueError, "virtual_fill"),
    (lambda e: e.cadu_encode(bytes(1115), 9), ValueError, "interleave"),
    (lambda e: e.cadu_decode(GOOD_CADU, "5"), TypeError, "interleave"),
    (lambda e: e.rs_encode(bytes(222)), ValueError, "data must be 223 octets"),
    (lambda e: e.rs_encode(bytes(224)), ValueError, "data must be 223 octets"),
    (lambda e: e.rs_encode(bytes(446), 2, 1), ValueError, "data must be 444 octets"),
    (lambda e: e.rs_decode(GOOD_BLOCK[:-1]), ValueError, "codeblock must be 255 octets"),
    (lambda e: e.rs_decode(GOOD_BLOCK + b"\0"), ValueError, "codeblock must be 255 octets"),
    (lambda e: e.rs_decode(GOOD_BLOCK, 1, 1), ValueError, "codeblock must be 254 octets"),
    (lambda e: e.cadu_encode(bytes(1114)), ValueError, "frame must be 1115 octets"),
    (lambda e: e.cadu_decode(GOOD_CADU[:-1]), ValueError, "cadu must be 1279 octets"),
    (lambda e: e.cadu_decode(GOOD_CADU[:4]), ValueError, "cadu must be 1279 octets"),
    (lambda e: e.cadu_decode(b""), ValueError, "cadu must be 1279 octets"),
    (lambda e: e.cadu_decode(bytes(4) + GOOD_CADU[4:]), CodecError, "19 bits away"),
]


@pytest.mark.parametrize(("call", "kind", "text"), PARAMETER_CASES)
def test_wrong_parameters_and_lengths(call, kind, text: str) -> None:
    results = [outcome(lambda e=e: call(e)) for e in (c_engine, reference_engine)]
    assert results[0] == results[1]
    assert issubclass(results[0][0], kind)
    assert text in results[0][1]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2100), st.sampled_from([1, 2, 3, 4, 5, 8, 0, 6, -1]),
       st.integers(-2, 230))
def test_random_input_to_the_decoders(data: bytes, interleave: int, virtual_fill: int) -> None:
    for decode in (
        lambda e: e.rs_decode(data, interleave, virtual_fill),
        lambda e: e.cadu_decode(data, interleave),
        lambda e: e.rs_decode(data[: (255 - virtual_fill) * interleave], interleave, virtual_fill),
    ):
        assert outcome(partial(decode, c_engine)) == outcome(partial(decode, reference_engine))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 1279), st.integers(0, 2**32 - 1))
def test_truncated_and_damaged_cadus(length: int, seed: int) -> None:
    rng = random.Random(seed)
    cadu = bytearray(GOOD_CADU)
    for position in rng.sample(range(len(cadu)), rng.randrange(0, 200)):
        cadu[position] = rng.randrange(256)
    piece = bytes(cadu[:length])
    c_result = outcome(lambda: c_engine.cadu_decode(piece))
    assert c_result == outcome(lambda: reference_engine.cadu_decode(piece))
    assert c_result[0] == "ok" or issubclass(c_result[0], ValueError)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=700), max_size=8), st.integers(0, 8),
       st.sampled_from([1, 2, 5, 8]))
def test_the_synchronizer_swallows_any_stream(chunks, tolerance: int, interleave: int) -> None:
    marker_rich = [c.replace(b"\0\0\0\0", bytes.fromhex("1ACFFC1D")) for c in chunks]
    sync = c_engine.CaduSync(interleave, max_marker_errors=tolerance)
    for chunk in marker_rich:
        assert all(len(frame) == 223 * interleave for frame in sync.feed(chunk))
    assert sync.bytes_skipped <= sum(len(c) for c in marker_rich)


def test_the_c_functions_check_their_own_arguments() -> None:
    """The C validates independently of the Python layer (which checks first)."""
    block = ffi.new("uint8_t[]", 2040)
    data = ffi.new("uint8_t[]", 1784)
    status = ffi.new("int[2]")
    assert lib.as_rs_encode(data, 223, 1, 0, block, 254) == lib.AS_LINK_ELENGTH
    assert lib.as_rs_encode(data, 222, 1, 0, block, 255) == lib.AS_LINK_ELENGTH
    assert lib.as_rs_encode(data, 223, 6, 0, block, 255) == lib.AS_LINK_EPARAM
    assert lib.as_rs_encode(data, 223, 1, 223, block, 255) == lib.AS_LINK_EPARAM
    assert lib.as_rs_encode(ffi.NULL, 223, 1, 0, block, 255) == lib.AS_LINK_ELENGTH
    assert lib.as_rs_decode(block, 256, 1, 0, data, 223, status, status + 1) == lib.AS_LINK_ELENGTH
    assert lib.as_rs_decode(block, 255, 1, -1, data, 223, status, status + 1) == lib.AS_LINK_EPARAM
    assert lib.as_rs_decode(block, 255, 1, 0, ffi.NULL, 223, ffi.NULL, ffi.NULL) == (
        lib.AS_LINK_ELENGTH
    )
    assert lib.as_cadu_encode(data, 1115, 5, block, 1278) == lib.AS_LINK_ELENGTH
    assert lib.as_cadu_decode(block, 1279, 5, 33, data, 1115, status, status + 1) == (
        lib.AS_LINK_EPARAM
    )
    assert lib.as_cadu_decode(block, 1279, 5, 3, data, 1116, status, status + 1) == (
        lib.AS_LINK_ELENGTH
    )
    assert lib.as_randomize(data, 10, block, 9) == lib.AS_LINK_ELENGTH
    assert lib.as_randomize(ffi.NULL, 10, block, 10) == lib.AS_LINK_ELENGTH
    assert lib.as_marker_distance(block, 3) == lib.AS_LINK_ELENGTH
    assert lib.as_marker_search(block, 10, 7, 0) == lib.AS_LINK_NOT_FOUND
    assert lib.as_marker_search(block, 10, 11, 0) == lib.AS_LINK_NOT_FOUND
    assert lib.as_marker_search(block, 10, 0, 33) == lib.AS_LINK_EPARAM
    assert lib.as_marker_search(ffi.NULL, 10, 0, 3) == lib.AS_LINK_NOT_FOUND
    assert lib.as_crc16(ffi.NULL, 10, 0x1D0F) == 0x1D0F
    # a zero codeblock of the shortest code decodes in place of nothing at all
    assert lib.as_rs_decode(block, 33, 1, 222, data, 1, status, status + 1) == lib.AS_LINK_OK
