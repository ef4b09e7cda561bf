"""The C engine's portable code paths (no GNU C builtins) give the same streams and samples.

The sources use __builtin_clzll and always_inline only under `defined(__GNUC__)`; defining
AS_RICE_PORTABLE compiles what any C99 compiler gets instead. This builds that variant with cffi
into a temporary directory and checks it against the installed engine.
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import pytest
from cffi import FFI
from test_rice import ENGINES, make_samples, octets_for, pack

import flight.codec
from flight.codec import _rice_c as engine

SOURCES = Path(flight.codec.__file__).resolve().parent / "src"


@pytest.fixture(scope="module")
def portable(tmp_path_factory: pytest.TempPathFactory):
    header = (SOURCES / "rice.h").read_text().splitlines()
    ffi = FFI()
    ffi.cdef("\n".join(line for line in header if not line.startswith("#")))
    ffi.set_source(
        "_rice_portable",
        '#include "rice.h"',
        sources=[str(path) for path in sorted(SOURCES.glob("rice_*.c"))],
        include_dirs=[str(SOURCES)],
        extra_compile_args=["-std=c99", "-O1", "-DAS_RICE_PORTABLE"],
    )
    library = ffi.compile(tmpdir=str(tmp_path_factory.mktemp("portable")))
    spec = importlib.util.spec_from_file_location("_rice_portable", library)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def config(module, bits, block_size, rsi, preprocess, signed, msb_first):
    c = module.ffi.new("as_rice_config *")
    c.bits, c.block_size, c.rsi = bits, block_size, rsi
    c.preprocess, c.is_signed, c.msb_first = preprocess, signed, msb_first
    return c


def test_portable_build_matches_the_engine(portable) -> None:
    ffi, lib = portable.ffi, portable.lib
    settings = itertools.product((1, 8, 12, 16, 24, 32), (8, 16, 64), (True, False), (False, True))
    for n, (bits, block_size, preprocess, signed) in enumerate(settings):
        parameters = {"bits": bits, "block_size": block_size, "rsi": (2, 128)[n % 2],
                      "preprocess": preprocess, "signed": signed, "msb_first": n % 3 != 0}
        count = 1500 + n
        values = make_samples(("walk", "noise", "sparse")[n % 3], count, bits, signed, seed=n)
        samples = pack(values, bits, signed, parameters["msb_first"])
        expected = ENGINES["c"].compress(samples, **parameters)
        c = config(portable, **parameters)

        capacity = lib.as_rice_bound(count, bits, block_size)
        out = bytearray(capacity)
        written = ffi.new("size_t *")
        assert lib.as_rice_compress(samples, count, c, ffi.from_buffer(out), capacity,
                                    written) == lib.AS_RICE_OK
        assert bytes(out[: written[0]]) == expected

        decoded = bytearray(count * octets_for(bits))
        position = ffi.new("size_t *")
        assert lib.as_rice_decompress(expected, len(expected), c, ffi.from_buffer(decoded), count,
                                      position) == lib.AS_RICE_OK
        assert bytes(decoded) == samples


def test_engine_refuses_a_short_output_buffer_and_bad_configuration() -> None:
    ffi, lib = engine.ffi, engine.lib
    samples = bytes(2 * 100)
    capacity = lib.as_rice_bound(100, 16, 16)
    out = bytearray(capacity)
    written = ffi.new("size_t *")
    good = config(engine, 16, 16, 128, True, False, True)
    assert lib.as_rice_compress(samples, 100, good, ffi.from_buffer(out), capacity - 1,
                                written) == lib.AS_RICE_NO_SPACE
    for bits, block_size, rsi in ((0, 16, 128), (33, 16, 128), (16, 12, 128), (16, 16, 0),
                                  (16, 16, 4097)):
        bad = config(engine, bits, block_size, rsi, True, False, True)
        assert lib.as_rice_compress(samples, 100, bad, ffi.from_buffer(out), capacity,
                                    written) == lib.AS_RICE_BAD_CONFIG
        assert lib.as_rice_decompress(bytes(8), 8, bad, ffi.from_buffer(out), 4,
                                      written) == lib.AS_RICE_BAD_CONFIG
