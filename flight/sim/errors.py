"""Errors of the environment simulator: each names the fault and carries the numbers."""

from __future__ import annotations


class SimError(ValueError):
    """Bad input to the simulator (a malformed TLE, a station off the globe, a bad setting)."""


class TleError(SimError):
    """A two-line element set that does not parse: which line, which field, what was found."""

    def __init__(self, line: int, field: str, detail: str) -> None:
        super().__init__(f"TLE line {line}: {field}: {detail}")
        self.line = line
        self.field = field
        self.detail = detail


class PropagationError(SimError):
    """SGP4 refused to propagate (decayed orbit, eccentricity out of range, ...)."""

    def __init__(self, code: int, message: str, minutes_from_epoch: float) -> None:
        super().__init__(f"SGP4 error {code} at {minutes_from_epoch:+.1f} min from the TLE epoch: "
                         f"{message}")
        self.code = code
        self.minutes_from_epoch = minutes_from_epoch


class TimeOrderError(SimError):
    """Simulated time asked to go backwards where a model only moves forward."""

    def __init__(self, what: str, now: float, requested: float) -> None:
        super().__init__(f"{what}: time {requested} s is before the current {now} s")
        self.now = now
        self.requested = requested
