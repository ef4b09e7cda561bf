"""rice_compress / rice_decompress: round trips, known streams and the parameter contract.

Every test runs on both implementations (the C engine and the pure-Python reference). The
sample helpers here are shared with the other test_rice_* modules.
"""

from __future__ import annotations

import array
import itertools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import flight.codec
import flight.codec._rice as rice_c
from flight.codec import CodecError
from flight.codec.reference import rice as rice_reference

ENGINES = {
    "c": SimpleNamespace(
        compress=flight.codec.rice_compress, decompress=flight.codec.rice_decompress
    ),
    "reference": SimpleNamespace(
        compress=rice_reference.rice_compress, decompress=rice_reference.rice_decompress
    ),
}
BLOCK_SIZES = (8, 16, 32, 64)
KINDS = ("walk", "noise", "zeros", "constant", "extremes", "sparse")


@pytest.fixture(params=sorted(ENGINES))
def rice(request: pytest.FixtureRequest) -> SimpleNamespace:
    """Each implementation in turn: the C engine, then the reference."""
    return ENGINES[request.param]


def octets_for(bits: int) -> int:
    return 1 if bits <= 8 else 2 if bits <= 16 else 4


def sample_range(bits: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def dtype_for(bits: int, signed: bool, msb_first: bool) -> np.dtype:
    kind = "i" if signed else "u"
    return np.dtype(f"{'>' if msb_first else '<'}{kind}{octets_for(bits)}")


def make_samples(kind: str, count: int, bits: int, signed: bool, seed: int) -> np.ndarray:
    """`count` sample values (int64) of one kind of data, within the n-bit range."""
    rng = np.random.default_rng(seed)
    low, high = sample_range(bits, signed)
    middle = (low + high) // 2
    if kind == "walk":
        values = middle + np.cumsum(rng.integers(-3, 4, count))
    elif kind == "noise":
        values = rng.integers(low, high, count, endpoint=True)
    elif kind == "zeros":
        values = np.zeros(count, np.int64)
    elif kind == "constant":
        values = np.full(count, int(rng.integers(low, high, endpoint=True)))
    elif kind == "extremes":
        values = np.where(np.arange(count) % 3 == 0, low, high)
    elif kind == "sparse":
        values = np.zeros(count, np.int64)
        spikes = rng.integers(0, count, count // 40) if count else []
        values[spikes] = rng.integers(low, high, len(spikes), endpoint=True)
    else:
        raise ValueError(kind)
    return np.clip(values, low, high).astype(np.int64)


def pack(values: np.ndarray, bits: int, signed: bool, msb_first: bool) -> bytes:
    """Samples in the layout rice_compress takes (signed ones sign-extended)."""
    return values.astype(dtype_for(bits, signed, msb_first)).tobytes()


def unpack(data: bytes, bits: int, signed: bool, msb_first: bool) -> np.ndarray:
    return np.frombuffer(data, dtype_for(bits, signed, msb_first)).astype(np.int64)


def round_trip(rice: SimpleNamespace, samples: bytes, count: int, **parameters) -> bytes:
    stream = rice.compress(samples, **parameters)
    assert rice.decompress(stream, count=count, **parameters) == samples
    return stream


def test_c_engine_is_compiled_and_in_use() -> None:
    assert rice_c.BACKEND == "c"
    assert rice_c.lib.AS_RICE_OK == 0
    assert flight.codec.rice_compress is rice_c.rice_compress


def test_without_the_compiled_module_the_reference_is_used() -> None:
    program = (
        "import sys\n"
        "sys.modules['flight.codec._rice_c'] = None  # makes the import fail\n"
        "import flight.codec._rice as rice\n"
        "from flight.codec.reference import rice as reference\n"
        "assert rice.BACKEND == 'python', rice.BACKEND\n"
        "assert rice.rice_compress is reference.rice_compress\n"
        "assert rice.rice_decompress(rice.rice_compress(b'ab', bits=8), count=2, bits=8) == b'ab'\n"
    )
    root = Path(flight.codec.__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", program], cwd=root, check=True, timeout=60)


@pytest.mark.parametrize("bits", range(1, 33))
def test_c_round_trip_every_width_and_parameter(bits: int) -> None:
    rice = ENGINES["c"]
    # counts that are not multiples of J or of an RSI, plus a whole segment of 64 blocks
    counts = (1, 7, 1000, 64 * 16 + 3)
    settings = itertools.product(BLOCK_SIZES, (1, 3, 128), (True, False), (False, True))
    for n, (block_size, rsi, preprocess, signed) in enumerate(settings):
        for kind in KINDS:
            count = counts[(n + len(kind)) % len(counts)]
            values = make_samples(kind, count, bits, signed, seed=bits * 1000 + n)
            msb_first = n % 2 == 0
            samples = pack(values, bits, signed, msb_first)
            round_trip(
                rice, samples, count, bits=bits, block_size=block_size, rsi=rsi,
                preprocess=preprocess, signed=signed, msb_first=msb_first,
            )


@pytest.mark.parametrize("bits", [1, 2, 5, 8, 9, 13, 16, 17, 24, 31, 32])
@pytest.mark.parametrize("kind", KINDS)
def test_reference_round_trip(bits: int, kind: str) -> None:
    rice = ENGINES["reference"]
    for n, (block_size, preprocess, signed) in enumerate(
        itertools.product(BLOCK_SIZES, (True, False), (False, True))
    ):
        count = (37, 130)[n % 2]
        values = make_samples(kind, count, bits, signed, seed=bits + n)
        samples = pack(values, bits, signed, msb_first=n % 3 != 0)
        round_trip(
            rice, samples, count, bits=bits, block_size=block_size, rsi=(1, 2, 128)[n % 3],
            preprocess=preprocess, signed=signed, msb_first=n % 3 != 0,
        )


def test_zero_blocks_to_the_end_of_a_segment_are_coded_as_remainder_of_segment(rice) -> None:
    # 64 all-zero blocks of 16 16-bit samples, with a reference: identifier 0000, low-entropy
    # bit 0 (zero block), the reference sample (16 zero bits), then FS 4 = "ROS": 00001.
    stream = round_trip(rice, bytes(2 * 64 * 16), 64 * 16, bits=16)
    assert stream == bytes([0x00, 0x00, 0x00, 0x40])


def test_zero_run_shorter_than_five_blocks_is_counted(rice) -> None:
    # 3 zero blocks, then the RSI ends: 0000 0, the reference, FS 3 - 1 = 2 ("001"): 24 bits.
    stream = round_trip(rice, bytes(2 * 3 * 16), 3 * 16, bits=16, rsi=3)
    assert stream == bytes([0x00, 0x00, 0x01])


def test_incompressible_block_is_sent_uncompressed(rice) -> None:
    # 8-bit samples 0, 255, ... without preprocessing: identifier 111, then the samples verbatim.
    samples = bytes([0, 255] * 4)
    stream = round_trip(rice, samples, 8, bits=8, block_size=8, preprocess=False)
    assert stream == bytes([0xE0, 0x1F, 0xE0, 0x1F, 0xE0, 0x1F, 0xE0, 0x1F, 0xE0])


def test_low_entropy_data_uses_second_extension(rice) -> None:
    # values 0/1 without preprocessing: second extension is shorter than any split
    samples = bytes([0, 1, 0, 0, 1, 0, 0, 0])
    stream = round_trip(rice, samples, 8, bits=8, block_size=8, preprocess=False)
    assert stream[0] >> 4 == 0b0001  # identifier 000, then 1 = second extension


def test_smooth_data_compresses(rice) -> None:
    values = make_samples("walk", 4096, 16, False, seed=3)
    stream = round_trip(rice, pack(values, 16, False, True), 4096, bits=16)
    assert len(stream) < 2 * 4096 / 3


def test_empty_input(rice) -> None:
    assert rice.compress(b"", bits=12) == b""
    assert rice.decompress(b"", count=0, bits=12) == b""


def test_extreme_values_every_width(rice) -> None:
    for bits, signed in itertools.product((1, 8, 16, 24, 32), (False, True)):
        low, high = sample_range(bits, signed)
        values = np.array([low, high, low, low, high, high, 0, low] * 9)
        for preprocess in (True, False):
            round_trip(
                rice, pack(values, bits, signed, True), len(values), bits=bits, block_size=8,
                rsi=2, preprocess=preprocess, signed=signed,
            )


def test_any_buffer_type_gives_the_same_stream(rice) -> None:
    values = make_samples("walk", 300, 16, False, seed=9)
    native = values.astype(np.uint16)  # little-endian on the machines we run on
    expected = rice.compress(native.tobytes(), bits=16, msb_first=False)
    as_array = array.array("H", native.tobytes())
    for samples in (native, bytearray(native.tobytes()), memoryview(native), as_array):
        assert rice.compress(samples, bits=16, msb_first=False) == expected
    strided = np.repeat(native, 2)[::2]  # not contiguous: copied once
    assert rice.compress(strided, bits=16, msb_first=False) == expected
    assert rice.decompress(memoryview(expected), count=300, bits=16, msb_first=False) == (
        native.tobytes()
    )
    scattered = np.repeat(np.frombuffer(expected, np.uint8), 2)[::2]
    assert rice.decompress(scattered, count=300, bits=16, msb_first=False) == native.tobytes()


def test_signed_samples_are_taken_and_returned_sign_extended(rice) -> None:
    samples = np.array([-2048, -1, 0, 1, 2047, -5, 3, -7], dtype=">i2").tobytes()
    for preprocess in (True, False):
        stream = rice.compress(samples, bits=12, signed=True, block_size=8, preprocess=preprocess)
        decoded = rice.decompress(
            stream, count=8, bits=12, signed=True, block_size=8, preprocess=preprocess
        )
        assert decoded == samples


def test_little_and_big_endian_layouts_code_the_same_values(rice) -> None:
    values = make_samples("walk", 500, 24, False, seed=4)
    big = rice.compress(pack(values, 24, False, True), bits=24, msb_first=True)
    little = rice.compress(pack(values, 24, False, False), bits=24, msb_first=False)
    assert big == little


BAD_PARAMETERS: list[tuple[dict, type[Exception], str]] = [
    ({"bits": 0}, ValueError, "bits"),
    ({"bits": 33}, ValueError, "bits"),
    ({"bits": 8.0}, TypeError, "bits"),
    ({"bits": True}, TypeError, "bits"),
    ({"bits": 8, "block_size": 12}, ValueError, "block_size"),
    ({"bits": 8, "block_size": "16"}, TypeError, "block_size"),
    ({"bits": 8, "rsi": 0}, ValueError, "rsi"),
    ({"bits": 8, "rsi": 4097}, ValueError, "rsi"),
    ({"bits": 8, "preprocess": 1}, TypeError, "preprocess"),
    ({"bits": 8, "signed": None}, TypeError, "signed"),
    ({"bits": 8, "msb_first": "yes"}, TypeError, "msb_first"),
]


@pytest.mark.parametrize("parameters, error, name", BAD_PARAMETERS)
def test_bad_parameters_are_named(rice, parameters: dict, error: type, name: str) -> None:
    with pytest.raises(error, match=name):
        rice.compress(bytes(16), **parameters)
    with pytest.raises(error, match=name):
        rice.decompress(bytes(16), count=4, **parameters)


@pytest.mark.parametrize(
    "samples, parameters, error, words",
    [
        (bytes(3), {"bits": 16}, ValueError, "not a multiple of the 2-octet"),
        (bytes(6), {"bits": 17}, ValueError, "not a multiple of the 4-octet"),
        ([1, 2, 3], {"bits": 8}, TypeError, "bytes-like"),
        ("text", {"bits": 8}, TypeError, "bytes-like"),
        (np.array([1, 4096, 2], ">u2").tobytes(), {"bits": 12}, ValueError, "sample 1 is 4096"),
        (bytes([0, 2]), {"bits": 1}, ValueError, "sample 1 is 2"),
        (np.array([5, -2049], ">i2").tobytes(), {"bits": 12, "signed": True}, ValueError,
         "sample 1 is -2049"),
        (np.array([2048], "<i2").tobytes(), {"bits": 12, "signed": True, "msb_first": False},
         ValueError, "sample 0 is 2048"),
        (np.array([0, 1 << 31], ">u4").tobytes(), {"bits": 31}, ValueError,
         "sample 1 is 2147483648"),
    ],
)
def test_bad_samples_are_named(rice, samples, parameters: dict, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        rice.compress(samples, **parameters)


def test_bad_count_and_data(rice) -> None:
    stream = rice.compress(bytes(32), bits=8)
    with pytest.raises(ValueError, match="count must be >= 0"):
        rice.decompress(stream, count=-1, bits=8)
    with pytest.raises(TypeError, match="count"):
        rice.decompress(stream, count=3.0, bits=8)
    with pytest.raises(TypeError, match="bytes-like"):
        rice.decompress("stream", count=3, bits=8)
    with pytest.raises(CodecError, match="more samples than"):
        rice.decompress(stream, count=10**12, bits=8)
    with pytest.raises(CodecError, match="more samples than 0 octets"):
        rice.decompress(b"", count=1, bits=8)


def test_truncated_stream_is_reported(rice) -> None:
    values = make_samples("noise", 200, 16, False, seed=5)
    stream = rice.compress(pack(values, 16, False, True), bits=16)
    for cut in (1, len(stream) // 2, len(stream) - 1):
        with pytest.raises(CodecError, match="truncated"):
            rice.decompress(stream[:cut], count=200, bits=16)


def test_split_value_wider_than_the_samples_is_rejected(rice) -> None:
    # bits=8, no preprocessing, identifier 001 (k=0) then FS with 300 zeros: a value of 300
    stream = bytes([0b00100000]) + bytes(37) + bytes([0b00001000]) + bytes(8)
    with pytest.raises(CodecError, match="exceeds"):
        rice.decompress(stream, count=8, bits=8, block_size=8, preprocess=False)


def test_zero_run_past_the_rsi_is_rejected(rice) -> None:
    # identifier 000, 0 (zero block), FS value 2 (3 blocks) in an RSI of 2 blocks
    stream = bytes([0b00000010, 0])
    with pytest.raises(CodecError, match="zero-block run"):
        rice.decompress(stream, count=16, bits=8, block_size=8, rsi=2, preprocess=False)


def check_decoder_survives(decompress: Callable[..., bytes], data: bytes, **parameters) -> None:
    """A decoder given anything returns `count` samples or raises CodecError, nothing else."""
    count = parameters.pop("count")
    try:
        decoded = decompress(data, count=count, **parameters)
    except CodecError:
        return
    assert len(decoded) == count * octets_for(parameters["bits"])
