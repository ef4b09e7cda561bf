"""Spacecraft time for services: which `hal.time.TimeSource` a component reads TAI from.

Components that need absolute time (the schedule of time-tagged commands, the capture time of a
data product) bind a hardware name whose URL says where spacecraft time comes from:

- ``epoch:2025-03-20T00:00:00Z``: TAI starts at this UTC instant when the runtime boots and
  runs on the executive's clock (`ClockTimeSource`). On the simulated clock this is the
  simulation's time line, reproducible run after run; a simulated reset of N seconds is a
  restart with an epoch N seconds later.
- ``system``: the host's UTC clock, read once at boot (as an onboard computer reads its RTC) and
  carried on the executive's clock from there, so spacecraft time never jumps with the host's.
- ``resource:NAME``: the `TimeSource` object the application put in the runtime's resources
  under NAME, e.g. a `DisciplinedTime` fed by the GNSS receiver's fixes and PPS edges.

All of them map spacecraft time onto the executive's monotonic clock: TAI(m) is a function of
the clock reading m, so the same tick always sees the same TAI in a simulated run.
"""

from __future__ import annotations

import time as _host_time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from flight.runtime.errors import ConfigError
from hal.clock import Clock
from hal.time import ClockTimeSource, TimeNotSetError, TimeSource, tai_to_utc, utc_to_tai

EPOCH_SCHEME: Final = "epoch:"
RESOURCE_SCHEME: Final = "resource:"
SYSTEM: Final = "system"


class TimeUrlError(ValueError):
    """A spacecraft-time URL that names no usable source."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"time source {url!r}: {detail}")
        self.url = url
        self.detail = detail


def parse_utc(text: str) -> datetime:
    """An ISO 8601 UTC instant (``Z`` or ``+00:00`` or no zone) as a naive UTC datetime."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an ISO 8601 UTC time: {exc}") from None
    if value.tzinfo is not None:
        if value.utcoffset() != UTC.utcoffset(None):
            raise ValueError(f"{text!r} is not UTC (offset {value.utcoffset()})")
        value = value.replace(tzinfo=None)
    return value


def open_time_source(url: str, clock: Clock, resources: Mapping[str, Any]) -> TimeSource:
    """The spacecraft time source a binding URL names (see the module notes)."""
    if url.startswith(EPOCH_SCHEME):
        try:
            epoch_tai = utc_to_tai(parse_utc(url[len(EPOCH_SCHEME):]))
        except ValueError as exc:
            raise TimeUrlError(url, str(exc)) from None
        return ClockTimeSource(clock, epoch_tai - clock.monotonic())
    if url == SYSTEM:
        now_utc = datetime.fromtimestamp(_host_time.time(), UTC)
        return ClockTimeSource(clock, utc_to_tai(now_utc) - clock.monotonic())
    if url.startswith(RESOURCE_SCHEME):
        name = url[len(RESOURCE_SCHEME):]
        source = resources.get(name)
        if source is None or not callable(getattr(source, "tai", None)):
            raise TimeUrlError(url, f"no time source in the runtime's resources under {name!r}")
        return source
    raise TimeUrlError(url, "expected epoch:ISO-UTC, system or resource:NAME")


def component_time(comp: Any, binding: str = "time") -> TimeSource:
    """The time source bound to `comp`'s `binding`; a bad URL is a deployment error."""
    url = comp.hardware(binding)
    try:
        return open_time_source(url, comp.clock, comp.context.resources)
    except TimeUrlError as exc:
        raise ConfigError(f"hardware.{binding}", exc.detail) from None


def tai_or_none(source: TimeSource) -> float | None:
    """TAI now, or None while the source has no time yet (a receiver without a fix)."""
    try:
        return source.tai()
    except TimeNotSetError:
        return None


def utc_text(tai: float) -> str:
    """A TAI instant as ISO 8601 UTC with microseconds and a ``Z``, for events and listings."""
    return tai_to_utc(tai).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
