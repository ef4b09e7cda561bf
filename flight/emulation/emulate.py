"""`flight emulate`: fly a scenario with refsat on an emulated board, a rig and a ground station.

    flight emulate                                   # the default scenario (make demo)
    flight emulate --scenario my.toml --speed 40 --summary-json out.json

The flight software runs in its own process (`EmulatedBoard`), its radio and GNSS UARTs on
pseudo-terminals; the rig (`Rig`) feeds the GNSS port with the simulated receiver and carries the
radio link through the orbit's passes to a `flight.ground` station, which plays the scenario's
steps (`flight.emulation.scenario`) on the shared clock, faster than real time.

A supervisor thread watches the flight process: when it dies (a `kill` step, a crash, or exit
status 3 after the watchdog reset the software), it is started again on the same storage, as the
board would be: at once after a watchdog reset, after the watchdog's time-out otherwise (the
hardware watchdog resets a computer whose software stopped feeding it). Each restart is in the
summary. The same thread samples the flight process's memory and redraws the status line.

Files the satellite downlinks land in `WORKDIR/ground/`; each is compared octet for octet with
the product the satellite stored (read from the board's storage). Exit status: 0 when every
step passed, 1 when one failed, 2 for a scenario file that cannot be used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Final, TextIO

from flight.emulation.board import BoardError, EmulatedBoard
from flight.emulation.clock import ScaledClock
from flight.emulation.operator import CommandOutcome, send_verified
from flight.emulation.report import (
    FileCheck,
    Restart,
    StatusLine,
    StatusSnapshot,
    StepResult,
    Summary,
    process_memory_mb,
)
from flight.emulation.rig import EMULATION_DOWNLINK, Rig
from flight.emulation.scenario import Action, Scenario, ScenarioError, Step, default_path, load
from flight.ground.station import (
    DICTIONARY_ID_CHANNEL,
    AwaitTimeout,
    EventUpdate,
    GroundError,
    TelemetryUpdate,
)
from flight.sim.frames import geodetic_to_ecef, norm, sub
from flight.sim.linkbudget import LinkBudget
from flight.sim.stations import Pass
from hal.time import utc_to_tai

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
DEPLOYMENT: Final = "refsat"
BOOT_TIMEOUT_S: Final = 60.0  # host seconds for the first boot
SUPERVISOR_PERIOD_S: Final = 0.05  # host seconds
TIME_CHECK_COMMAND: Final = "cmd.no_op"
SPACECRAFT_TIME_S: Final = 1e9  # packet times above this are TAI since 1958, below clock seconds
_INSERTED: Final = re.compile(
    r"^\s*[\d.]+\s+\S+\s+sched\.entry_inserted: entry (\d+) at (\S+): (\S+)")
_RAN: Final = re.compile(r"^\s*([\d.]+)\s+\S+\s+sched\.entry_ran: entry (\d+) ran (\S+), (\d+) ms")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "emulate", help="fly a scenario: refsat on an emulated board, a rig, a ground station",
        description="Boot refsat in its own process on pseudo-terminals, feed its GNSS port, "
                    "carry its radio link through the orbit's passes to a ground station, and "
                    "play a scenario faster than real time (docs/emulation.md).",
    )
    p.add_argument("--scenario", metavar="FILE",
                   help="scenario file (default: the shipped two-pass imaging campaign)")
    p.add_argument("--speed", type=_positive, metavar="N",
                   help="clock seconds per host second (default: the scenario's)")
    p.add_argument("--duration", type=_positive, metavar="SECONDS",
                   help="clock seconds to run (default: the scenario's)")
    p.add_argument("--seed", type=int, help="seed of the run (default: the scenario's)")
    p.add_argument("--summary-json", metavar="FILE", help="also write the summary as JSON here")
    p.add_argument("--workdir", metavar="DIR",
                   help="keep the board's storage, its log and the ground's files here "
                        "(default: a new temporary directory)")
    p.set_defaults(func=main)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


def main(args: argparse.Namespace) -> int:
    try:
        scenario = load(args.scenario or default_path())
    except ScenarioError as exc:
        print(f"flight emulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    overrides = {k: v for k, v in (("speed", args.speed), ("duration", args.duration),
                                   ("seed", args.seed)) if v is not None}
    if overrides:
        scenario = replace(scenario, **overrides)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="flight-emulate-"))
    summary = Emulation(scenario, workdir, sys.stderr).run()
    print(summary.text(), flush=True)
    if args.summary_json:
        Path(args.summary_json).write_text(summary.to_json() + "\n", encoding="utf-8")
    return EXIT_OK if summary.ok else EXIT_FAILURE


class StepFailed(Exception):
    """A step did not do what it should; the message says what happened."""


class Emulation:
    """One run of a scenario (see the module notes)."""

    def __init__(self, scenario: Scenario, workdir: Path, out: TextIO, *,
                 deployment: str = DEPLOYMENT) -> None:
        self.scenario = scenario
        self.workdir = workdir
        self.deployment = deployment
        self.status_line = StatusLine(out)
        self.summary = Summary(scenario.name, speed=scenario.speed)
        self.passes: list[Pass] = []
        self.finished: dict[str, float] = {}
        self.current = "boot"
        self.telemetry = 0
        self.events = 0
        self.outcomes: list[CommandOutcome] = []
        self.gnss_samples: list[TelemetryUpdate] = []
        self._killed = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.board: EmulatedBoard | None = None
        self.rig: Rig | None = None
        self.station: Any = None

    # ------------------------------------------------------------ the run

    def run(self) -> Summary:
        sc = self.scenario
        wall0 = time.monotonic()
        clock = ScaledClock(sc.speed)
        summary = self.summary
        self.workdir.mkdir(parents=True, exist_ok=True)
        board = self.board = EmulatedBoard(self.deployment, self.workdir, sc.seed, clock=clock,
                                           epoch=sc.epoch, time_source=sc.time_source)
        summary.flight_log = str(board.log_path)
        supervisor = threading.Thread(target=self._supervise, name="emulate-supervisor",
                                      daemon=True)
        try:
            with board:
                dictionary, profile = board.dictionary(), board.link_profile()
                self.status_line.message(
                    f"flight emulate: {sc.name}: {self.deployment} booting (pid {board.pid}, "
                    f"speed {sc.speed:g}, log {board.log_path})")
                board.wait_booted(BOOT_TIMEOUT_S)
                downlink = _budget(sc.link)
                with Rig.for_board(board, stations=sc.stations, downlink=downlink) as rig:
                    self.rig = rig
                    station = self.station = rig.ground_station(
                        dictionary, board.ground_keys(), profile,
                        files_folder=self.workdir / "ground")
                    station.listeners.append(self._heard)
                    end = sc.duration if math.isfinite(sc.duration) else None
                    self.passes = [p for p in rig.passes(0.0, (end or 86400.0) + 3600.0)
                                   if end is None or p.aos < end]
                    summary.passes = [_pass_row(i + 1, p) for i, p in enumerate(self.passes)]
                    supervisor.start()
                    try:
                        self._play(end)
                    except KeyboardInterrupt:
                        summary.steps.append(StepResult(
                            "interrupted", "interrupt", False, "stopped by Ctrl-C",
                            f"{self._utc(clock.monotonic()):%H:%M:%S}", 0.0))
                    self._stop.set()
                    supervisor.join()
                    self._finish(board, rig, station)
        except BoardError as exc:
            summary.steps.append(StepResult("boot", "boot", False, str(exc), "", 0.0))
        finally:
            self._stop.set()
            if supervisor.is_alive():
                supervisor.join()
            self.status_line.close()
            if self.station is not None:
                self.station.link.transport.close()
        summary.simulated_s = clock.monotonic()
        summary.wall_s = time.monotonic() - wall0
        summary.ok = bool(summary.steps) and all(s.ok for s in summary.steps)
        return summary

    def _play(self, end: float | None) -> None:
        assert self.rig is not None and self.station is not None
        clock = self.rig.clock
        for step in self.scenario.steps:
            start = self._start_time(step)
            if start is None:
                self._record(step, False, f"{step.trigger.describe()} is not in this run "
                                          f"({len(self.passes)} passes)", clock.monotonic())
                continue
            if end is not None and start > end:
                self._record(step, False, f"{step.trigger.describe()} comes after the end of "
                                          f"the run ({end:g} s)", clock.monotonic())
                continue
            self.current = f"waiting for {step.name}"
            if start > clock.monotonic():
                self.station.run_for(start - clock.monotonic())
            began = clock.monotonic()
            self.current = step.name
            self.status_line.message(f"{self._utc(began):%H:%M:%S} UTC  step {step.name} "
                                     f"({step.action.value})")
            try:
                detail = self._act(step)
                ok = True
            except (StepFailed, GroundError, ValueError, OSError) as exc:
                detail, ok = str(exc), False
            self._record(step, ok, detail, began)
            self.finished[step.name] = clock.monotonic()
        self.current = "done"
        if end is not None and end > clock.monotonic():
            self.station.run_for(end - clock.monotonic())

    def _start_time(self, step: Step) -> float | None:
        trig = step.trigger
        if trig.event is not None:
            assert trig.pass_number is not None
            if trig.pass_number > len(self.passes):
                return None
            p = self.passes[trig.pass_number - 1]
            return (p.aos if trig.event == "aos" else p.los) + trig.offset_s
        if trig.utc is not None:
            return (trig.utc - self.scenario.epoch).total_seconds()
        if trig.clock_s is not None:
            return trig.clock_s
        if trig.after is not None:
            return self.finished[trig.after] + trig.offset_s
        return 0.0

    def _record(self, step: Step, ok: bool, detail: str, began: float) -> None:
        assert self.rig is not None
        took = self.rig.clock.monotonic() - began
        result = StepResult(step.name, step.action.value, ok, detail,
                            f"{self._utc(began):%H:%M:%S}", round(took, 1))
        self.summary.steps.append(result)
        self.status_line.message(f"{self._utc(self.rig.clock.monotonic()):%H:%M:%S} UTC  "
                                 f"{'ok  ' if ok else 'FAIL'} {step.name}: {detail}")

    def _onboard_clock(self, onboard: float) -> float:
        """A packet's onboard time stamp as a clock reading: TAI once the satellite has time,
        its clock reading before (both on the emulation's time line)."""
        if onboard > SPACECRAFT_TIME_S:
            return onboard - utc_to_tai(self.scenario.epoch.replace(tzinfo=None))
        return onboard

    def _utc(self, t: float) -> dt.datetime:
        return self.scenario.epoch + dt.timedelta(seconds=t)

    # ------------------------------------------------------------ actions

    def _act(self, step: Step) -> str:
        p = step.params
        station, rig, board = self.station, self.rig, self.board
        assert station is not None and rig is not None and board is not None
        action = step.action
        if action is Action.ACQUIRE:
            return self._acquire(step.timeout)
        if action is Action.COMMAND:
            expected = p.get("expect", "completed")
            if expected == "sent":
                values, named = _split(p.get("args", []))
                request = station.send_command(p["command"], *values, **named)
                return f"{p['command']} sent (seq {request.seq})"
            outcome = self._command(p["command"], p.get("args", []), step.timeout)
            if (outcome.verified and expected == "completed") or (
                    expected == "failed" and outcome.report is not None and outcome.report.failed):
                return f"{p['command']}: {outcome.describe()}"
            raise StepFailed(f"{p['command']}: {outcome.describe()} (expected {expected})")
        if action is Action.SET_PARAM:
            param = _parameter_id(station.dictionary.body, p["param"])
            outcome = self._command("prmdb.set_param", [param, p["value"]], step.timeout)
            if not outcome.verified:
                raise StepFailed(f"set {p['param']}: {outcome.describe()}")
            return f"{p['param']} = {p['value']}: {outcome.describe()}"
        if action is Action.SCHEDULE:
            return self._schedule(p["command"], p.get("args", []), p["times"], step.timeout)
        if action is Action.AWAIT_TELEMETRY:
            value = p.get("value")
            try:
                update = station.await_telemetry(p["channel"], value, step.timeout,
                                                 start=station.mark())
            except AwaitTimeout as exc:
                raise StepFailed(str(exc)) from None
            return f"{update.channel} = {update.display}"
        if action is Action.AWAIT_EVENT:
            try:
                event = station.await_event(p["event"], timeout=step.timeout,
                                            start=station.mark())
            except AwaitTimeout as exc:
                raise StepFailed(str(exc)) from None
            return f"{event.name}: {event.message}"
        if action is Action.EXPECT_FILES:
            return self._expect_files(p["count"], p.get("prefix", ""), step.timeout)
        if action is Action.INJECT:
            directions = ("uplink", "downlink") if p["direction"] == "both" else (p["direction"],)
            for d in directions:
                faults = rig.faults(d)
                for key in ("extra_ber", "frame_loss", "outage"):
                    if key in p:
                        setattr(faults, key, p[key])
            return ", ".join(f"{d}: {rig.faults(d)}" for d in directions)
        if action is Action.GNSS_OUTAGE:
            rig.gnss_outage(p["on"])
            return f"GNSS outage {'started' if p['on'] else 'ended'}"
        if action is Action.KILL:
            with self._lock:
                pid = board.pid
                self._killed = True
                board.kill()
            rig.gnss.power_cycle()
            return f"flight process {pid} killed (power cut)"
        if action is Action.WAIT:
            station.run_for(float(p["seconds"]))
            return f"{p['seconds']} s"
        return str(p["text"])

    def _acquire(self, timeout: float) -> str:
        """Hear the satellite and identify it. At a later pass, first hear housekeeping sent in
        this pass: in it the station notices a reboot meanwhile and resynchronizes by itself
        (`identify` then waits until it has)."""
        station = self.station
        if station.identified:
            since = self.rig.clock.monotonic()
            try:
                ident = station.await_telemetry(
                    DICTIONARY_ID_CHANNEL, timeout=timeout, start=station.mark())
                while self._onboard_clock(ident.time) < since - 1.0:  # in flight before
                    ident = station.await_telemetry(
                        DICTIONARY_ID_CHANNEL, timeout=timeout, start=station.mark())
            except AwaitTimeout:
                raise StepFailed(f"no telemetry from the satellite in {timeout:g} s") from None
        station.identify(timeout=timeout)
        station.await_link(timeout=timeout)
        link = self.rig.status().link
        where = f"{link.station} at {link.elevation_deg:.1f} deg" if link.elevation_deg else (
            link.station or "no station")
        return f"satellite heard and identified ({where}), COP-1 running"

    def _command(self, name: str, args: Any, timeout: float) -> CommandOutcome:
        values, named = _split(args)
        outcome = send_verified(self.station, name, *values, timeout=timeout, **named)
        self.outcomes.append(outcome)
        return outcome

    def _schedule(self, command: str, args: Any, times: list[dt.datetime],
                  timeout: float) -> str:
        station = self.station
        values, named = _split(args)
        embedded = station.dictionary.encode_command(command, values, named).pack()
        for when in times:
            tai = utc_to_tai(when.astimezone(dt.UTC).replace(tzinfo=None))
            outcome = self._command("sched.insert", [tai, embedded], timeout)
            if not outcome.verified:
                raise StepFailed(f"insert {command} at {when:%H:%M:%S}: {outcome.describe()}")
        return f"{len(times)} x {command} at " + ", ".join(f"{t:%H:%M:%S}" for t in times)

    def _expect_files(self, count: int, prefix: str, timeout: float) -> str:
        station, board = self.station, self.board
        deadline = self.rig.clock.monotonic() + timeout

        def matching() -> list[Any]:
            return [f for f in station.received_files() if f.name.startswith(prefix)]

        while len(matching()) < count and self.rig.clock.monotonic() < deadline:
            station.run_for(min(1.0, max(0.0, deadline - self.rig.clock.monotonic())))
        received = matching()
        stored = board.stored_files()
        checks = []
        for f in received:
            data = f.path.read_bytes()
            original = stored.get(f.name)
            if original is None:
                checks.append(FileCheck(f.name, len(data), f"{f.crc32c:08X}", False,
                                        "not in the satellite's store"))
            elif original[1] != data:
                checks.append(FileCheck(f.name, len(data), f"{f.crc32c:08X}", False,
                                        f"differs from the stored {len(original[1])} octets"))
            else:
                checks.append(FileCheck(f.name, len(data), f"{f.crc32c:08X}", True))
        known = {c.name for c in self.summary.files}
        self.summary.files += [c for c in checks if c.name not in known]
        good = sum(c.verified for c in checks)
        if len(received) < count:
            raise StepFailed(f"{len(received)} of {count} files received in {timeout:g} s")
        if good < len(checks):
            raise StepFailed(f"{len(checks) - good} of {len(checks)} files differ from the "
                             "satellite's")
        return f"{good} files downlinked, equal to the satellite's"

    # ------------------------------------------------------------ listening

    def _heard(self, item: Any) -> None:
        """Counts what the station decodes (a reboot of the satellite is the station's to
        notice: `GroundStation.reboots`)."""
        if isinstance(item, TelemetryUpdate):
            self.telemetry += 1
            if item.channel.startswith("gnss."):
                self.gnss_samples.append(item)
        elif isinstance(item, EventUpdate):
            self.events += 1

    # ------------------------------------------------------------ supervision

    def _supervise(self) -> None:
        board, rig = self.board, self.rig
        assert board is not None and rig is not None
        timeout = board.watchdog_timeout_s()
        died_at: float | None = None
        restart_at = 0.0
        cause = ""
        in_pass = False
        while not self._stop.wait(SUPERVISOR_PERIOD_S):
            now = rig.clock.monotonic()
            with self._lock:
                if board.alive:
                    _, peak = process_memory_mb(board.pid or 0)
                    self.summary.flight_rss_mb = max(self.summary.flight_rss_mb, peak)
                elif died_at is None:
                    died_at, in_pass = now, rig.status().link.in_view
                    code = board.returncode
                    cause = ("power cut" if self._killed else
                             "watchdog reset (exit 3)" if code == 3 else f"crash (exit {code})")
                    wait = 0.0 if code == 3 and not self._killed else timeout
                    self.status_line.message(
                        f"{self._utc(now):%H:%M:%S} UTC  flight software down: {cause}; "
                        f"restart in {wait:g} s")
                    restart_at = now + wait
                elif now >= restart_at:
                    board.start()
                    self.summary.restarts.append(Restart(
                        f"{self._utc(died_at):%H:%M:%S}", cause, in_pass,
                        round(now - died_at, 1)))
                    self.status_line.message(f"{self._utc(now):%H:%M:%S} UTC  flight software "
                                             f"restarted (boot {board.boots}, pid {board.pid})")
                    died_at, self._killed = None, False
            self.status_line.update(self._snapshot())

    def _snapshot(self) -> StatusSnapshot:
        rig, station, board = self.rig, self.station, self.board
        status = rig.status()
        sent = len(self.outcomes)
        verified = sum(o.verified for o in self.outcomes)
        return StatusSnapshot(status.utc, status.link, station.link.counters.frames_received,
                              status.downlink.cadus_corrected,
                              station.link.counters.tc_frames_sent, sent, verified,
                              self.telemetry, len(station.received_files()), self.current,
                              board.alive)

    # ------------------------------------------------------------ the end

    def _finish(self, board: EmulatedBoard, rig: Rig, station: Any) -> None:
        s = self.summary
        s.commands_sent = len(self.outcomes)
        s.commands_verified = sum(o.verified for o in self.outcomes)
        s.commands_failed = sum(1 for o in self.outcomes if o.report is not None and
                                o.report.failed)
        s.telemetry_samples, s.events_received = self.telemetry, self.events
        c = station.link.counters
        s.frames_received, s.frames_rejected, s.tc_frames_sent = (
            c.frames_received, c.frames_rejected, c.tc_frames_sent)
        down, up = rig.radio.wire("downlink"), rig.radio.wire("uplink")
        s.cadus_down = down.cadus
        s.cadus_corrected_down = down.cadus_corrected
        s.symbols_corrected_down = down.symbols_corrected
        s.cadus_uncorrectable_down = down.cadus_uncorrectable
        s.cadus_corrected_up = up.cadus_corrected
        s.cadus_dropped = down.cadus_dropped + up.cadus_dropped
        s.bit_errors_injected = down.bit_errors_injected + up.bit_errors_injected
        s.gnss = self._gnss_summary(board, rig)

    def _gnss_summary(self, board: EmulatedBoard, rig: Rig) -> dict[str, Any]:
        receiver = rig.gnss.receiver.counters
        out: dict[str, Any] = {"receiver_epochs": receiver.epochs,
                               "receiver_fixes": receiver.fixes,
                               "config_acked": receiver.commands_acked}
        latest = {u.channel: u for u in self.gnss_samples}
        mode = latest.get("gnss.fix_mode")
        if mode is not None:
            out["fix"] = mode.display
        sats = latest.get("gnss.satellites")
        if sats is not None:
            out["satellites"] = sats.value
        lat, lon, alt = (latest.get(f"gnss.{k}") for k in ("latitude", "longitude", "altitude"))
        if lat is not None and lon is not None and alt is not None:
            out["position_error_m"] = round(_distance_to_orbit(
                rig, (lat.value, lon.value, alt.value), self._onboard_clock(lat.time)), 1)
        errors = time_errors(board.log_path.read_text(encoding="utf-8", errors="replace"),
                             self.scenario.epoch)
        if errors:
            out["time_error_s"] = round(errors[-1], 4)
            out["time_checks"] = len(errors)
        out["time_source"] = self.scenario.time_source
        return out


def time_errors(log: str, epoch: dt.datetime) -> list[float]:
    """Spacecraft time minus true time, seconds, at each scheduled time check (a `cmd.no_op`
    entry) the flight log reports: the scheduler runs an entry when spacecraft time has
    reached its time T, and says how late (L); the log line's clock reading t is the true time
    epoch + t, read in the same cycle."""
    epoch_tai = utc_to_tai(epoch.astimezone(dt.UTC).replace(tzinfo=None))
    inserted: dict[int, float] = {}
    out = []
    for line in log.splitlines():
        found = _INSERTED.match(line)
        if found and found.group(3) == TIME_CHECK_COMMAND:
            when = dt.datetime.fromisoformat(found.group(2).replace("Z", "+00:00"))
            inserted[int(found.group(1))] = utc_to_tai(when.replace(tzinfo=None))
            continue
        found = _RAN.match(line)
        if found and int(found.group(2)) in inserted and found.group(3) == TIME_CHECK_COMMAND:
            spacecraft = inserted[int(found.group(2))] + int(found.group(4)) / 1000.0
            out.append(spacecraft - (epoch_tai + float(found.group(1))))
    return out


def _distance_to_orbit(rig: Rig, fix: tuple[float, float, float], t: float,
                       window_s: float = 12.0, step_s: float = 0.05) -> float:
    """Metres from the reported fix to the true orbit over the `window_s` before `t` (the fix
    is older than the packet that carried it)."""
    point = geodetic_to_ecef(*fix)

    def distance(at: float) -> float:
        jd, fr = rig.timebase.jd(at)
        return norm(sub(point, rig.orbit.ecef_jd(jd, fr, rig.timebase.dut1_s)[0]))

    coarse = min((t - k * step_s for k in range(int(window_s / step_s) + 1)), key=distance)
    return min(distance(coarse + k * step_s / 100.0) for k in range(-100, 101))


def _budget(link: Mapping[str, float]) -> LinkBudget:
    budget = EMULATION_DOWNLINK
    if "tx_power_w" in link:
        budget = replace(budget, tx_power_w=link["tx_power_w"])
    if "station_g_over_t_db_k" in link:
        budget = replace(budget, rx_g_over_t_db_k=link["station_g_over_t_db_k"])
    return budget


def _split(args: Any) -> tuple[list[Any], dict[str, Any]]:
    """A step's `args`: positional (an array) or by name (a table)."""
    return (list(args), {}) if isinstance(args, list) else ([], dict(args))


def _parameter_id(body: dict[str, Any], name: str) -> int:
    for p in body.get("parameters", ()):
        if p["name"] == name:
            return int(p["id"])
    raise StepFailed(f"no parameter {name!r} in the dictionary")


def _pass_row(number: int, p: Pass) -> dict[str, Any]:
    return {"number": number, "station": p.station, "aos_s": round(p.aos, 1),
            "los_s": round(p.los, 1), "aos_utc": f"{p.aos_utc:%H:%M:%S}",
            "los_utc": f"{p.los_utc:%H:%M:%S}", "max_elevation_deg": p.max_elevation_deg}

