"""The C test program's known answers (engine_vectors.h) are what the Python reference gives."""

from __future__ import annotations

import engine_vectors


def test_committed_vectors_match_the_reference() -> None:
    assert engine_vectors.HEADER.read_text() == engine_vectors.render(), (
        "tests/c/engine_vectors.h is stale: run `.venv/bin/python tests/c/engine_vectors.py`"
    )
