"""The link half of the engine: the compiled `_link_c` when it is built, else the reference."""

from __future__ import annotations

try:
    from flight.codec import _link_c
except ImportError:
    _link_c = None

if _link_c is None or not hasattr(_link_c.lib, "as_rs_encode"):
    from flight.codec.reference.link import (  # noqa: F401
        CaduSync,
        cadu_decode,
        cadu_encode,
        crc16,
        crc32c,
        randomize,
        rs_decode,
        rs_encode,
    )

    BACKEND = "python"
