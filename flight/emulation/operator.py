"""Commanding as an operator does it: a command is verified by its report, not by COP-1.

`GroundStation.await_completion` gives up on a command as soon as FOP-1 purges it after an alert
(`CommandNotDelivered`). An alert says the ground lost track of the frame, not that the
satellite did not get it: a CLCW that arrives late (the radio sends higher-priority frames first,
so a frame built earlier can carry an older report), or a retransmission limit reached while
the reports were being lost, can purge a frame FARM-1 had accepted. So `send_verified` keeps
waiting for the command's verification report until its time-out, and only then calls the
command lost; it never re-sends on its own, since a command that did arrive would run twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flight.ground.station import CommandRequest, GroundStation
from flight.runtime.records import Stage, Verification

FINAL_STAGES = frozenset({Stage.COMPLETED, Stage.ACCEPTANCE_FAILED, Stage.START_FAILED,
                          Stage.COMPLETION_FAILED})


@dataclass(frozen=True)
class CommandOutcome:
    request: CommandRequest
    report: Verification | None  # the final report, None if none came in time
    cop1_alert: bool  # FOP-1 purged the frame on the way

    @property
    def verified(self) -> bool:
        return self.report is not None and self.report.stage is Stage.COMPLETED

    def describe(self) -> str:
        if self.report is None:
            return "no verification report" + (" (COP-1 alert)" if self.cop1_alert else "")
        if self.report.failed:
            return f"{self.report.stage.name}: {self.report.reason.name}"
        return self.report.stage.name


def await_verified(station: GroundStation, request: CommandRequest, timeout: float, *,
                   alerts_before: int | None = None) -> CommandOutcome:
    """Wait up to `timeout` (station clock seconds) for `request`'s final verification report.
    `alerts_before`: the length of `station.link.alerts` when it was sent."""
    clock = station.clock
    alerts = station.link.alerts
    first_alert = len(alerts) if alerts_before is None else alerts_before
    deadline = clock.monotonic() + timeout
    key = (request.opcode, request.seq)
    while True:
        station.poll()
        for report in station.verification_history(request):
            if report.stage in FINAL_STAGES and (report.opcode, report.seq) == key:
                return CommandOutcome(request, report, len(alerts) > first_alert)
        now = clock.monotonic()
        if now >= deadline:
            return CommandOutcome(request, None, len(alerts) > first_alert)
        clock.sleep_until(min(deadline, now + station.poll_interval_s))


def send_verified(station: GroundStation, name: str, *values: Any, timeout: float = 60.0,
                  **args: Any) -> CommandOutcome:
    """Send command `name` and wait for its verification (see the module notes). Raises what
    `send_command` raises (bad arguments, no keys, a satellite that cannot be identified)."""
    alerts_before = len(station.link.alerts)
    request = station.send_command(name, *values, **args)
    return await_verified(station, request, timeout, alerts_before=alerts_before)
