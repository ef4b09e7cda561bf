"""What `flight emulate` shows: the live status line while it runs, and the summary at the end.

The status line goes to stderr: redrawn in place (carriage return) at most `TTY_PERIOD_S` apart
when stderr is a terminal; otherwise a plain line every `PLAIN_PERIOD_S` host seconds, so a
log or a CI job gets a readable trace instead of a screenful of carriage returns.

    19:44:02 UTC  AOS Hartebeesthoek el 9.8 deg  down 512 fr, RS 371  up 7  cmd 4/4  tlm 1630
    files 0  ping                                                     (one line on the screen)
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Final, TextIO

from flight.emulation.rig import PassState

TTY_PERIOD_S: Final = 0.2
PLAIN_PERIOD_S: Final = 5.0


@dataclass(frozen=True)
class StatusSnapshot:
    utc: dt.datetime
    link: PassState
    frames_down: int
    rs_corrected: int
    frames_up: int
    commands_sent: int
    commands_verified: int
    telemetry: int
    files: int
    step: str
    flight_up: bool


def format_status(s: StatusSnapshot) -> str:
    link = s.link
    if link.in_view and link.station == "bench":
        where = "bench link"
    elif link.in_view:
        where = f"AOS {link.station} el {link.elevation_deg:4.1f} deg"
    elif link.next_pass is not None:
        wait = (link.next_pass.aos_utc - s.utc).total_seconds()
        where = f"LOS (AOS {link.next_pass.station} in {_duration(wait)})"
    else:
        where = "LOS"
    flight = "" if s.flight_up else "  FLIGHT DOWN"
    return (f"{s.utc:%H:%M:%S} UTC  {where}  down {s.frames_down} fr, RS {s.rs_corrected}  "
            f"up {s.frames_up}  cmd {s.commands_verified}/{s.commands_sent}  "
            f"tlm {s.telemetry}  files {s.files}{flight}  {s.step}")


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class StatusLine:
    """Writes status lines to `out` (see the module notes)."""

    def __init__(self, out: TextIO, *, tty: bool | None = None) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self._last = -float("inf")
        self._width = 0

    def update(self, snapshot: StatusSnapshot, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < (TTY_PERIOD_S if self.tty else PLAIN_PERIOD_S):
            return
        self._last = now
        text = format_status(snapshot)
        if self.tty:
            pad = max(0, self._width - len(text))
            self.out.write("\r" + text + " " * pad)
            self._width = len(text)
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def message(self, text: str) -> None:
        """A line of its own (a step starting or ending), above the status line on a TTY."""
        if self.tty and self._width:
            self.out.write("\r" + " " * self._width + "\r")
            self._width = 0
            self._last = -float("inf")
        self.out.write(text + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty and self._width:
            self.out.write("\n")
            self.out.flush()
            self._width = 0


@dataclass
class StepResult:
    name: str
    action: str
    ok: bool
    detail: str
    started_utc: str
    seconds: float  # clock seconds it took


@dataclass
class FileCheck:
    name: str
    octets: int
    crc32c: str
    verified: bool  # equal, octet for octet, to what the satellite stored
    detail: str = ""


@dataclass
class Restart:
    utc: str
    cause: str  # "power cut", "watchdog reset (exit 3)", "exit N"
    in_pass: bool
    down_s: float  # clock seconds without flight software


@dataclass
class Summary:
    scenario: str
    ok: bool = False
    speed: float = 0.0
    simulated_s: float = 0.0
    wall_s: float = 0.0
    steps: list[StepResult] = field(default_factory=list)
    commands_sent: int = 0
    commands_verified: int = 0
    commands_failed: int = 0
    telemetry_samples: int = 0
    events_received: int = 0
    frames_received: int = 0
    frames_rejected: int = 0
    tc_frames_sent: int = 0
    cadus_down: int = 0
    cadus_corrected_down: int = 0
    symbols_corrected_down: int = 0
    cadus_uncorrectable_down: int = 0
    cadus_corrected_up: int = 0
    cadus_dropped: int = 0
    bit_errors_injected: int = 0
    files: list[FileCheck] = field(default_factory=list)
    passes: list[dict[str, Any]] = field(default_factory=list)
    gnss: dict[str, Any] = field(default_factory=dict)
    restarts: list[Restart] = field(default_factory=list)
    flight_rss_mb: float = 0.0  # the flight process's peak resident memory (VmHWM)
    flight_log: str = ""

    @property
    def files_verified(self) -> int:
        return sum(f.verified for f in self.files)

    def to_json(self) -> str:
        body = asdict(self)
        body["files_verified"] = self.files_verified
        return json.dumps(body, indent=2, default=str)

    def text(self) -> str:
        lines = [f"Scenario {self.scenario}: {'PASSED' if self.ok else 'FAILED'}",
                 f"  {self.simulated_s:.0f} s simulated in {self.wall_s:.1f} s "
                 f"(speed {self.speed:g})"]
        for p in self.passes:
            lines.append(f"  pass {p['number']}: {p['station']} {p['aos_utc']} - {p['los_utc']}"
                         f" UTC, max elevation {p['max_elevation_deg']:.1f} deg")
        lines.append("  steps:")
        for s in self.steps:
            lines.append(f"    [{'ok' if s.ok else 'FAIL'}] {s.started_utc} {s.name} "
                         f"({s.action}): {s.detail}")
        lines += [
            f"  commands: {self.commands_sent} sent, {self.commands_verified} verified, "
            f"{self.commands_failed} failed",
            f"  telemetry: {self.telemetry_samples} samples, {self.events_received} events, "
            f"{self.frames_received} TM frames ({self.frames_rejected} rejected), "
            f"{self.tc_frames_sent} TC frames sent",
            f"  Reed-Solomon: {self.cadus_corrected_down} of {self.cadus_down} downlink frames "
            f"corrected ({self.symbols_corrected_down} symbols), "
            f"{self.cadus_uncorrectable_down} uncorrectable; {self.cadus_corrected_up} uplink "
            f"frames corrected",
        ]
        if self.cadus_dropped or self.bit_errors_injected:
            lines.append(f"  faults injected: {self.cadus_dropped} frames dropped, "
                         f"{self.bit_errors_injected} bit errors")
        lines.append(f"  files: {self.files_verified} of {len(self.files)} downlinked and "
                     "verified against the satellite's store")
        for f in self.files:
            lines.append(f"    {'ok' if f.verified else 'FAIL'} {f.name} ({f.octets} octets, "
                         f"CRC-32C {f.crc32c}){' ' + f.detail if f.detail else ''}")
        g = self.gnss
        if g:
            lines.append("  GNSS: " + ", ".join(f"{k.replace('_', ' ')} {_fmt(v)}"
                                                 for k, v in g.items()))
        if self.restarts:
            for r in self.restarts:
                lines.append(f"  flight software restarted: {r.cause} at {r.utc} UTC"
                             f"{' (in a pass)' if r.in_pass else ''}, down {r.down_s:.0f} s")
        else:
            lines.append("  flight software: no restart")
        lines.append(f"  flight process peak resident memory: {self.flight_rss_mb:.1f} MB")
        lines.append(f"  flight log: {self.flight_log}")
        return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def process_memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) memory of process `pid` in MB, from /proc; zeros if gone."""
    rss = peak = 0.0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024.0
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return rss, peak
