"""cffi build script (API mode, out of line) for the C engine, run by `pip install`.

The engine is two extension modules with one job each: `_link_c` (CRCs, randomizer, Reed-Solomon,
CADUs; sources `src/link_*.c`) and `_rice_c` (CCSDS 121 coding; sources `src/rice_*.c`). Each
module's declarations are read from the header its C sources include (`src/link.h`,
`src/rice.h`), so the binding and the C code cannot disagree.

Set FLIGHT_CODEC_SANITIZE=1 to build with AddressSanitizer and UBSan (`make sanitize`).
"""

import os
from pathlib import Path

from cffi import FFI

SRC = Path(__file__).resolve().parent / "src"
ROOT = SRC.parents[2]

if os.environ.get("FLIGHT_CODEC_SANITIZE") == "1":
    _SAN = [
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=undefined",
        "-fno-omit-frame-pointer",
    ]
    CFLAGS, LDFLAGS = ["-std=c99", "-O1", "-g", *_SAN], _SAN
else:
    CFLAGS, LDFLAGS = ["-std=c99", "-O3"], []


def _cdef_text(header: Path) -> str:
    """The header without preprocessor lines, which cffi's cdef does not parse."""
    return "\n".join(line for line in header.read_text().splitlines() if not line.startswith("#"))


def _builder(part: str) -> FFI:
    ffi = FFI()
    ffi.cdef(_cdef_text(SRC / f"{part}.h"))
    ffi.set_source(
        f"flight.codec._{part}_c",
        f'#include "{part}.h"',
        sources=sorted(os.path.relpath(p, ROOT) for p in SRC.glob(f"{part}_*.c")),
        include_dirs=[str(SRC)],
        extra_compile_args=CFLAGS,
        extra_link_args=LDFLAGS,
    )
    return ffi


link_ffi = _builder("link")
rice_ffi = _builder("rice")

if __name__ == "__main__":
    link_ffi.compile(verbose=True)
    rice_ffi.compile(verbose=True)
