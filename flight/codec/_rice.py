"""CCSDS 121.0-B-3 lossless compression (adaptive Rice coding) through the C engine `_rice_c`.

Falls back to the pure-Python reference (`BACKEND = "python"`) when the compiled module is
missing. Parameters and sample buffers are checked here, in Python, so the C only sees valid
ones; the C decoder still bounds every read and write by the buffer sizes it is given, and
reports a malformed stream with an error code that becomes a `CodecError`. The output buffer is
allocated here, at the encoder's worst case (`as_rice_bound`), so the C never allocates.
"""

from __future__ import annotations

from typing import Final

from flight.codec.errors import CodecError
from flight.codec.reference import rice as _reference
from flight.codec.reference.rice import (
    RiceParameters,
    decode_count,
    rice_parameters,
    sample_buffer,
)

try:
    from flight.codec._rice_c import ffi, lib
except ImportError:
    ffi = lib = None

BACKEND: Final[str] = "c" if lib is not None and hasattr(lib, "as_rice_compress") else "python"


def _compress_c(
    samples: object, *, bits: int, block_size: int = 16, rsi: int = 128,
    preprocess: bool = True, signed: bool = False, msb_first: bool = True,
) -> bytes:
    """Compress samples into a CCSDS 121 stream, octet for octet as libaec does.

    `samples` is any bytes-like object (bytes, bytearray, memoryview, array.array, numpy array)
    holding the samples in libaec's layout: 1 octet per sample for bits <= 8, 2 for <= 16, 4 for
    <= 32, big-endian when `msb_first` else little-endian. Unsigned samples are 0 .. 2**bits - 1;
    signed ones are two's complement sign-extended to the sample's octets (as numpy int8/16/32
    hold them), -2**(bits-1) .. 2**(bits-1) - 1. (libaec's encoder wants signed samples as bare
    n-bit patterns instead; the stream is the same.) `block_size` is J (8, 16, 32 or 64), `rsi`
    the reference sample interval in blocks (1..4096), `preprocess` the unit-delay predictor.
    A sample out of range raises ValueError naming it.
    """
    p = rice_parameters(
        bits=bits, block_size=block_size, rsi=rsi, preprocess=preprocess, signed=signed,
        msb_first=msb_first,
    )
    octets = sample_buffer(samples, p)
    count = len(octets) // p.sample_octets
    capacity = lib.as_rice_bound(count, p.bits, p.block_size)
    out = bytearray(capacity)
    written = ffi.new("size_t *")
    status = lib.as_rice_compress(
        ffi.from_buffer(octets), count, _config(p), ffi.from_buffer(out), capacity, written
    )
    if status == lib.AS_RICE_SAMPLE_RANGE:
        index = written[0]
        raw = octets[index * p.sample_octets : (index + 1) * p.sample_octets]
        value = int.from_bytes(raw, "big" if p.msb_first else "little", signed=p.signed)
        kind = "signed" if p.signed else "unsigned"
        raise ValueError(f"sample {index} is {value}, outside the {p.bits}-bit {kind} range")
    if status != lib.AS_RICE_OK:
        raise RuntimeError(f"rice compressor failed with status {status}")
    return bytes(memoryview(out)[: written[0]])


def _decompress_c(
    data: object, *, count: int, bits: int, block_size: int = 16, rsi: int = 128,
    preprocess: bool = True, signed: bool = False, msb_first: bool = True,
) -> bytes:
    """Decompress `count` samples from a CCSDS 121 stream (from libaec or `rice_compress`).

    Same parameters as the compressor used. Returns the samples as bytes in the layout
    `rice_compress` takes (signed ones sign-extended); octets after the last sample's code are
    ignored. Raises `CodecError` naming the fault when the stream is truncated or malformed.
    """
    p = rice_parameters(
        bits=bits, block_size=block_size, rsi=rsi, preprocess=preprocess, signed=signed,
        msb_first=msb_first,
    )
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"data must be a bytes-like object, got {type(data).__name__}") from None
    source = ffi.from_buffer(view if view.c_contiguous else view.tobytes())
    count = decode_count(count, len(source), p)
    out = bytearray(count * p.sample_octets)
    position = ffi.new("size_t *")
    status = lib.as_rice_decompress(
        source, len(source), _config(p), ffi.from_buffer(out), count, position
    )
    if status != lib.AS_RICE_OK:
        raise CodecError(_decode_fault(status, position[0], len(source), count))
    return bytes(out)


def _config(p: RiceParameters) -> object:
    config = ffi.new("as_rice_config *")
    config.bits = p.bits
    config.block_size = p.block_size
    config.rsi = p.rsi
    config.preprocess = p.preprocess
    config.is_signed = p.signed
    config.msb_first = p.msb_first
    return config


def _decode_fault(status: int, bit_position: int, size: int, count: int) -> str:
    where = f"at bit {bit_position} of {8 * size}"
    if status == lib.AS_RICE_TRUNCATED:
        return f"compressed stream truncated: {size} octets end before {count} samples ({where})"
    if status == lib.AS_RICE_BAD_VALUE:
        return f"coded value exceeds the sample width ({where})"
    if status == lib.AS_RICE_BAD_ZERO_RUN:
        return f"zero-block run overruns the reference sample interval ({where})"
    return f"malformed compressed stream, status {status} ({where})"


if BACKEND == "c":
    rice_compress = _compress_c
    rice_decompress = _decompress_c
else:
    rice_compress = _reference.rice_compress
    rice_decompress = _reference.rice_decompress

__all__ = ["BACKEND", "rice_compress", "rice_decompress"]
