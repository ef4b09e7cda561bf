"""Fixtures for the link half of `flight.codec`: both engines side by side, and error injection."""

from __future__ import annotations

import random
from collections.abc import Callable
from types import ModuleType

import pytest

import flight.codec._link as c_engine
from flight.codec.reference import link as reference_engine

LINK_ENGINES: dict[str, ModuleType] = {"c": c_engine, "reference": reference_engine}


@pytest.fixture(params=sorted(LINK_ENGINES))
def link(request: pytest.FixtureRequest) -> ModuleType:
    """Each implementation of the link functions in turn: the C engine, then the reference."""
    return LINK_ENGINES[request.param]


def _corrupt(
    block: bytes,
    errors_per_codeword: int,
    rng: random.Random,
    interleave: int = 1,
) -> bytes:
    """The codeblock with exactly `errors_per_codeword` wrong symbols in each codeword."""
    damaged = bytearray(block)
    for codeword in range(interleave):
        positions = range(codeword, len(block), interleave)
        for position in rng.sample(positions, errors_per_codeword):
            damaged[position] ^= rng.randrange(1, 256)
    return bytes(damaged)


@pytest.fixture
def corrupt() -> Callable[..., bytes]:
    """corrupt(block, errors_per_codeword, rng, interleave=1) -> bytes."""
    return _corrupt
