"""Fixtures for the radio tests."""

import pytest

from hal.clock import SimClock


@pytest.fixture
def clock() -> SimClock:
    return SimClock()
