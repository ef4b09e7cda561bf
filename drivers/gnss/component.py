"""The GNSS receiver as a runtime component: fixes on the bus, telemetry, events, spacecraft time.

Hardware bindings: `port`, the receiver's UART (a device path, a pyserial URL or `sim://NAME`),
and optionally `pps`, the GPIO input its 1 PPS output drives (`CHIP:LINE`, see `drivers.ports`).

Two threads share the work:

- The worker (the component's `worker()`) owns the port, the decoder, the configurator and the
  time discipline. It waits for a burst (blocking in `read(1)`, at most `read_timeout_s`, then
  giving the rest `gather_s` to arrive; on the simulated clock the clock looks at the port at
  each of its steps instead, one wake a burst), decodes it, publishes each fix on `fix` (topic
  "gnss.fix"), feeds the time marks of the stream and the PPS edges to `DisciplinedTime`, and runs
  what commands ask of the receiver: the UBX configuration, waiting for each ACK with retries
  (`Configurator`), or a restart. Nothing it does can stall a rate group.
- `cycle()`, in a rate group on the executive's thread, turns what the worker reported into events
  (fix acquired and lost, time state and jumps, configuration outcomes, damaged input, port
  faults, a silent receiver) and telemetry. Events and telemetry leave only from here, so their
  order is fixed by the program and a simulated run is reproducible.

Time marks. A PPS edge marks the start of a UTC second; the message that names that second is the
first NAV-PVT or NAV-TIMEUTC with valid, fully resolved time, or valid RMC, whose time is within
1 ms of a whole second. Marks come from the messages as they arrive, not from the fixes, because
an NMEA epoch is only closed by the next one's first sentence: paired with the next edge, that
fix would set the clock a second wrong.

Spacecraft time. The disciplined time is a `hal.time.TimeSource` (`time_source`, safe to read
from any thread), which the component also puts in the runtime's resources under its instance
name, so that services bind it as `resource:gnss` (`flight.svc.sctime`). It raises
`TimeNotSetError` until the receiver has named a second.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from drivers.gnss import nmea, ubx
from drivers.gnss.config import (
    ConfigResult,
    Configurator,
    DynamicModel,
    Outcome,
    StartMode,
    cfg_msg,
    cfg_nav5,
    cfg_rate,
    cfg_rst,
)
from drivers.gnss.fix import Fix, FixMode
from drivers.gnss.stream import Message, StreamDecoder
from drivers.ports import BindingError, open_port, request_pps
from flight.runtime.component import (
    Channel,
    Event,
    Health,
    Output,
    ThreadedComponent,
    Throttle,
    Update,
    command,
)
from flight.runtime.errors import CommandError, ConfigError, ReasonCode
from flight.runtime.records import Severity
from flight.runtime.types import F32, F64, U8, U16, U32, Enum, String
from hal.clock import SimClock
from hal.gpio import Edge, GpioChip, InputLine
from hal.serial import SerialPort, SerialSettingError, SerialURLError, SimSerialPort
from hal.time import DisciplinedTime, SyncState, TimeJump, TimeStatus

#: Port failures the worker counts and survives (as the radio driver: pyserial reports some faults
#: of a vanished device as ValueError or TypeError on a closed descriptor).
PORT_FAULTS: Final = (OSError, ValueError, TypeError)
NMEA_CLASS: Final = 0xF0
UBX_MESSAGES: Final = {
    "NAV-POSECEF": ubx.NavId.POSECEF, "NAV-POSLLH": ubx.NavId.POSLLH, "NAV-DOP": ubx.NavId.DOP,
    "NAV-SOL": ubx.NavId.SOL, "NAV-PVT": ubx.NavId.PVT, "NAV-VELECEF": ubx.NavId.VELECEF,
    "NAV-TIMEGPS": ubx.NavId.TIMEGPS, "NAV-TIMEUTC": ubx.NavId.TIMEUTC, "NAV-SAT": ubx.NavId.SAT,
    "NAV-EOE": ubx.NavId.EOE,
}  # fmt: skip
NMEA_MESSAGES: Final = {
    "GGA": 0x00, "GLL": 0x01, "GSA": 0x02, "GSV": 0x03, "RMC": 0x04, "VTG": 0x05, "ZDA": 0x08,
    "GNS": 0x0D,
}  # fmt: skip
MARK_TOLERANCE_S: Final = 1e-3  # a time mark names a whole second to within this
_MARK_VALID: Final = ubx.PVT_VALID_DATE | ubx.PVT_VALID_TIME | ubx.PVT_FULLY_RESOLVED
_UTC_MARK_VALID: Final = ubx.TIMEUTC_TOW_VALID | ubx.TIMEUTC_WEEK_VALID | ubx.TIMEUTC_UTC_VALID


@dataclass(frozen=True, slots=True)
class GnssSettings:
    """The component's table in the deployment file (every key optional)."""

    baudrate: int = 9600
    read_timeout_s: float = 1.0  # longest the worker waits for a burst to start
    gather_s: float = 0.05  # then the rest of the burst has this long to arrive
    configure_at_start: bool = True
    rate_ms: int = 1000
    dynamic_model: DynamicModel = DynamicModel.AIRBORNE_4G
    messages: tuple[str, ...] = ("NAV-PVT", "NAV-TIMEUTC", "NAV-SAT", "NAV-EOE")
    nmea_off: tuple[str, ...] = ()  # NMEA sentences to switch off
    ack_timeout_s: float = 1.0
    retries: int = 2
    fix_timeout_s: float = 3.0  # no fix for this long: fix lost
    silence_timeout_s: float = 5.0  # no octet for this long: the receiver is silent
    reopen_s: float = 5.0  # retry a port that failed to open after this long

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> GnssSettings:
        known = {f for f in cls.__slots__}  # type: ignore[attr-defined]
        for key in config:
            if key not in known:
                raise ConfigError(key, f"unknown setting (known: {', '.join(sorted(known))})")
        values: dict[str, Any] = {}
        for key in ("baudrate", "rate_ms", "retries"):
            if key in config:
                value = config[key]
                if type(value) is not int or value < (0 if key == "retries" else 1):
                    raise ConfigError(key, f"{value!r} must be a positive integer")
                values[key] = value
        for key in (
            "read_timeout_s",
            "gather_s",
            "ack_timeout_s",
            "fix_timeout_s",
            "silence_timeout_s",
            "reopen_s",
        ):
            if key in config:
                value = config[key]
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not (0 <= value <= 3600 and (value > 0 or key == "gather_s"))
                ):
                    raise ConfigError(key, f"{value!r} must be a number of seconds in (0, 3600]")
                values[key] = float(value)
        if "configure_at_start" in config:
            if type(config["configure_at_start"]) is not bool:
                raise ConfigError("configure_at_start", "must be true or false")
            values["configure_at_start"] = config["configure_at_start"]
        if "dynamic_model" in config:
            name = config["dynamic_model"]
            try:
                values["dynamic_model"] = DynamicModel[str(name).upper()]
            except KeyError:
                raise ConfigError(
                    "dynamic_model",
                    f"{name!r} is not one of {', '.join(m.name for m in DynamicModel)}",
                ) from None
        for key, table in (("messages", UBX_MESSAGES), ("nmea_off", NMEA_MESSAGES)):
            if key in config:
                names = config[key]
                if not isinstance(names, list) or not all(n in table for n in names):
                    raise ConfigError(key, f"{names!r} must be a list of {', '.join(table)}")
                values[key] = tuple(names)
        settings = cls(**values)
        if not 50 <= settings.rate_ms <= 65535:
            raise ConfigError("rate_ms", "the navigation period must be 50..65535 ms")
        return settings

    def profile(self) -> list[bytes]:
        """The UBX commands that set the receiver up: message rates, navigation rate, model."""
        frames = [cfg_msg(ubx.MsgClass.NAV, UBX_MESSAGES[m], 1) for m in self.messages]
        frames += [cfg_msg(NMEA_CLASS, NMEA_MESSAGES[s], 0) for s in self.nmea_off]
        frames += [cfg_rate(self.rate_ms), cfg_nav5(self.dynamic_model)]
        return frames


class Counts(NamedTuple):
    """Totals since boot, as the worker last saw them (replaced whole, read from any thread)."""

    bytes_in: int = 0
    sentences: int = 0
    ubx_messages: int = 0
    bad_checksums: int = 0
    bytes_skipped: int = 0
    rejected: int = 0
    fixes: int = 0
    pps_edges: int = 0
    port_errors: int = 0
    config_acked: int = 0
    config_failed: int = 0


class _Request(NamedTuple):
    name: str  # what the events call it: "configure", "CFG-RATE", "cold"
    frames: tuple[bytes, ...]
    acknowledged: bool  # False: write only (CFG-RST is not acknowledged)
    rate_ms: int | None = None  # the navigation period the request sets, once acknowledged


class GnssTime:
    """The receiver's disciplined spacecraft time as a `hal.time.TimeSource`, safe to read from
    any thread (the component's worker updates it)."""

    def __init__(self, discipline: DisciplinedTime, lock: threading.Lock) -> None:
        self._discipline = discipline
        self._lock = lock

    def tai(self) -> float:
        """TAI seconds since the CCSDS epoch (`TimeNotSetError` until the first time mark)."""
        with self._lock:
            return self._discipline.tai()

    def status(self) -> TimeStatus:
        with self._lock:
            return self._discipline.status()


class _WorkerClock:
    """The clock as the configurator sees it from the worker: its waits end when the runtime
    stops, so a shutdown never waits for simulated time that will not come."""

    def __init__(self, component: GnssReceiver) -> None:
        self._component = component

    def monotonic(self) -> float:
        return self._component.clock.monotonic()

    def sleep_until(self, deadline: float) -> None:
        self._component.sleep_until(deadline)


def _fault_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".encode()[:80].decode(errors="ignore")


class GnssReceiver(ThreadedComponent):
    """A u-blox-class receiver on a UART, its PPS on a GPIO input (see the module notes)."""

    # fmt: off
    fix_mode = Channel(1, Enum(FixMode), update=Update.ON_CHANGE, doc="mode of the last fix")
    latitude = Channel(2, F64, unit="deg", doc="latitude of the last fix")
    longitude = Channel(3, F64, unit="deg", doc="longitude of the last fix")
    altitude = Channel(4, F64, unit="m", doc="height of the last fix above the WGS 84 ellipsoid")
    speed = Channel(5, F32, unit="m/s", doc="speed over ground of the last fix")
    satellites = Channel(6, U8, doc="satellites used in the last fix")
    pdop = Channel(7, F32, doc="position dilution of precision of the last fix")
    time_state = Channel(8, Enum(SyncState), update=Update.ON_CHANGE,
                         doc="spacecraft time: UNSET, COARSE, LOCKED to PPS, HOLDOVER")
    time_error = Channel(9, F64, unit="s", doc="last PPS innovation: measured minus predicted TAI")
    drift = Channel(10, F32, unit="ppm", doc="estimated rate error of the onboard clock")
    sentences = Channel(11, U32, update=Update.ON_CHANGE, doc="NMEA sentences decoded")
    ubx_messages = Channel(12, U32, update=Update.ON_CHANGE, doc="UBX messages decoded")
    bad_checksums = Channel(13, U32, update=Update.ON_CHANGE,
                            doc="NMEA sentences and UBX frames with a wrong checksum")
    bytes_skipped = Channel(14, U32, update=Update.ON_CHANGE,
                            doc="octets skipped while hunting for a sentence or frame")
    rejected = Channel(15, U32, update=Update.ON_CHANGE,
                       doc="framed input rejected: bad fields, wrong lengths, oversized or "
                           "truncated, no checksum, unsupported")
    fixes = Channel(16, U32, update=Update.ON_CHANGE, doc="navigation epochs decoded")
    pps_edges = Channel(17, U32, update=Update.ON_CHANGE, doc="PPS edges seen")
    time_jumps = Channel(18, U32, update=Update.ON_CHANGE, doc="steps of spacecraft time")
    config_acked = Channel(19, U32, update=Update.ON_CHANGE, doc="configuration commands ACKed")
    config_failed = Channel(20, U32, update=Update.ON_CHANGE,
                            doc="configuration commands NAKed, timed out or cancelled")
    port_errors = Channel(21, U32, update=Update.ON_CHANGE, doc="UART and PPS line faults")
    bytes_in = Channel(22, U32, doc="octets read from the receiver")

    fix_acquired = Event(1, Severity.ACTIVITY_HI,
                         "fix acquired: mode {mode}, {satellites} satellites",
                         mode=Enum(FixMode), satellites=U8)
    fix_lost = Event(2, Severity.WARNING_LO, "fix lost: {reason}", reason=String(48))
    time_jump = Event(3, Severity.WARNING_HI, "spacecraft time stepped by {size_s:.6f} s",
                      throttle=Throttle(5, 600.0), size_s=F64)
    time_state_changed = Event(4, Severity.ACTIVITY_LO, "spacecraft time now {state}",
                               state=Enum(SyncState))
    configured = Event(5, Severity.ACTIVITY_LO,
                       "receiver {request}: {acked} of {commands} commands acknowledged",
                       request=String(16), acked=U8, commands=U8)
    config_refused = Event(6, Severity.WARNING_LO,
                           "receiver {command}: {outcome} after {attempts} attempts",
                           throttle=Throttle(10, 60.0), command=String(16), outcome=String(12),
                           attempts=U8)
    input_damaged = Event(7, Severity.WARNING_LO,
                          "receiver input damaged: {bad_checksums} bad checksums, "
                          "{skipped} octets skipped, {rejected} rejected",
                          throttle=Throttle(3, 300.0), bad_checksums=U32, skipped=U32,
                          rejected=U32)
    port_failed = Event(8, Severity.WARNING_HI, "receiver port: {error}",
                        throttle=Throttle(3, 300.0), error=String(80))
    receiver_silent = Event(9, Severity.WARNING_HI,
                            "no data from the receiver for {seconds:.0f} s", seconds=F32)
    receiver_talking = Event(10, Severity.ACTIVITY_LO, "receiver talking again")
    restart_sent = Event(11, Severity.ACTIVITY_HI, "{start} start sent to the receiver",
                         start=String(8))
    # fmt: on

    fix = Output("each fix (drivers.gnss.Fix), one per navigation epoch")

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.settings = GnssSettings()
        self.port: SerialPort | None = None
        self.pps: InputLine | None = None
        self._pps_chip: GpioChip | None = None
        self.decoder = StreamDecoder(self._on_message)
        self.discipline: DisciplinedTime | None = None
        self.time_source: GnssTime | None = None
        self._time_lock = threading.Lock()
        self._configurator: Configurator | None = None
        self._configuring = False
        self._requests: deque[_Request] = deque()
        self._serving: _Request | None = None
        self._reports: deque[tuple[Any, ...]] = deque()
        self._counts = Counts()
        self._pps_edges = 0
        self._port_errors = 0
        self._reported_sv: int | None = None
        self._last_mark: int | None = None
        self._next_open = 0.0
        self._on_sim_clock = False
        self._last_data: float | None = None
        # cycle() side
        self._has_fix = False
        self._period_s = 1.0
        self._last_good_fix: float | None = None
        self._silent = False
        self._started_at = 0.0
        self._time_state = SyncState.UNSET
        self._reported = Counts()

    # --- lifecycle ------------------------------------------------------------------------------

    def configure(self, config: Mapping[str, Any]) -> None:
        self.settings = GnssSettings.parse(config)
        self._period_s = self.settings.rate_ms / 1000.0

    def registry_ready(self, registry: Any) -> None:
        self.discipline = DisciplinedTime(self.clock, on_jump=self._on_jump)
        self.time_source = GnssTime(self.discipline, self._time_lock)
        resources = self.context.resources
        if self.name in resources:
            raise ConfigError("name", f"the runtime's resources already hold {self.name!r}")
        resources[self.name] = self.time_source  # type: ignore[index]

    def init(self) -> None:
        self._on_sim_clock = isinstance(self.clock, SimClock)
        self._open_port()
        if "pps" in self.context.hardware:
            url = self.hardware("pps")
            try:
                self.pps, self._pps_chip = request_pps(
                    url,
                    clock=self.clock,
                    resources=self.context.resources,  # type: ignore[arg-type]
                    consumer=f"{self.name}-pps",
                )
            except BindingError as exc:
                raise ConfigError(f"{self.name}.hardware.pps", exc.reason) from None
            except OSError as exc:
                self._port_fault(exc)

    def start(self) -> None:
        self._started_at = self.now()
        self.tlm(self.time_state, SyncState.UNSET)

    def stop(self) -> None:
        if self.port is not None:
            self.port.close()
        if self.pps is not None:
            self.pps.close()
        if self._pps_chip is not None:
            self._pps_chip.close()

    def request_stop(self) -> None:
        super().request_stop()
        if isinstance(self.port, SimSerialPort):
            self.port.close()  # ends a read waiting on the simulated link at once

    # --- for other components -------------------------------------------------------------------

    def tai(self) -> float:
        """Spacecraft time: TAI seconds since the CCSDS epoch (TimeNotSetError until set)."""
        assert self.time_source is not None, "spacecraft time exists once the registry is ready"
        return self.time_source.tai()

    def time_status(self) -> TimeStatus:
        assert self.time_source is not None, "spacecraft time exists once the registry is ready"
        return self.time_source.status()

    # --- commands -------------------------------------------------------------------------------

    @command(1)
    def configure_receiver(self) -> None:
        """Send the deployment's configuration again (message rates, navigation rate, model);
        each command's ACK, NAK or time-out is reported in an event."""
        self._request(self._profile_request())

    @command(2, rate_ms=U16(min=50))
    def set_rate(self, rate_ms: int) -> None:
        """Set the navigation period (CFG-RATE), in ms."""
        self._request(_Request("CFG-RATE", (cfg_rate(rate_ms),), True, rate_ms))

    @command(3, model=Enum(DynamicModel))
    def set_dynamic_model(self, model: DynamicModel) -> None:
        """Set the dynamic platform model (CFG-NAV5)."""
        self._request(_Request("CFG-NAV5", (cfg_nav5(model),), True))

    @command(4)
    def cold_start(self) -> None:
        """Restart navigation from nothing (CFG-RST, cold): the fix is lost until reacquired."""
        self._request(_Request("cold", (cfg_rst(StartMode.COLD),), False))

    @command(5)
    def warm_start(self) -> None:
        """Restart navigation keeping almanac and position (CFG-RST, warm)."""
        self._request(_Request("warm", (cfg_rst(StartMode.WARM),), False))

    def _profile_request(self) -> _Request:
        s = self.settings
        return _Request("configure", tuple(s.profile()), True, s.rate_ms)

    def _request(self, request: _Request) -> None:
        if self._requests or self._serving is not None:
            raise CommandError(ReasonCode.BUSY, "a receiver command is still running")
        if self.port is None:
            raise CommandError(ReasonCode.COMPONENT_UNAVAILABLE, "the receiver port is not open")
        self._requests.append(request)

    # --- worker thread --------------------------------------------------------------------------

    def worker(self) -> None:
        if self.settings.configure_at_start:
            self._requests.append(self._profile_request())
        while not self.stopping:
            if self.port is None:
                if not self.sleep_until(self._next_open):
                    return
                self._open_port()
                continue
            if self._requests:
                self._serving = self._requests[0]
                self._requests.popleft()
                self._serve(self._serving)
                self._serving = None
                continue
            self._read()

    def _open_port(self) -> None:
        s = self.settings
        try:
            self.port = open_port(
                self.hardware("port"), clock=self.clock,
                resources=self.context.resources,  # type: ignore[arg-type]
                seed=self.context.seed, baudrate=s.baudrate, timeout=s.read_timeout_s,
                write_timeout=1.0,
            )  # fmt: skip
        except (SerialURLError, SerialSettingError) as exc:
            raise ConfigError(f"{self.name}.hardware.port", str(exc)) from None
        except OSError as exc:
            self.port = None
            self._next_open = self.clock.monotonic() + s.reopen_s
            self._port_fault(exc)
            return
        self._configurator = Configurator(
            self.port, _WorkerClock(self), timeout_s=s.ack_timeout_s, retries=s.retries,
            decoder=self.decoder, cancelled=lambda: self.stopping,
        )  # fmt: skip

    def _read(self) -> None:
        port = self.port
        assert port is not None
        try:
            data = self._await_on_clock(port) if self._on_sim_clock else self._await_in_read(port)
        except PORT_FAULTS as exc:
            if not self.stopping:
                self._port_fault(exc)
                self._reopen_later()
            return
        self._ingest(data)

    def _await_in_read(self, port: SerialPort) -> bytes:
        """Block in read() until a burst starts, then give the rest `gather_s` to arrive."""
        data = port.read(1)
        if data:
            gather = self.settings.gather_s
            if gather and not self.sleep_until(self.clock.monotonic() + gather):
                return b""
            waiting = port.in_waiting
            if waiting:
                data += port.read(waiting)
        return data

    def _await_on_clock(self, port: SerialPort) -> bytes:
        """On the simulated clock: let the clock look at the port at each of its steps (every
        tick at least) and wake this worker once octets wait, or a command does. One wake per
        burst, and none while the line is silent (PPS edges wait in the line's buffer), where
        blocking in read() costs a barrier step at its first octet, another after the gather
        time and one per time-out: each wake is a thread hand-over each way, which a loaded
        machine makes slow."""

        def ready() -> bool:
            return self.stopping or bool(self._requests) or (port.is_open and port.in_waiting > 0)

        self.wait_for(ready, None)
        waiting = port.in_waiting if port.is_open and not self.stopping else 0
        return port.read(waiting) if waiting else b""

    def _reopen_later(self) -> None:
        """A port that failed is closed and opened again after `reopen_s` (a USB adapter that
        was unplugged comes back as a new device)."""
        port = self.port
        self.port = None
        self._next_open = self.clock.monotonic() + self.settings.reopen_s
        if port is not None:
            try:
                port.close()
            except PORT_FAULTS as exc:
                self._port_fault(exc)

    def _ingest(self, data: bytes) -> None:
        self._drain_pps()
        if data:
            now = self.clock.monotonic()
            self._last_data = now
            for fix in self.decoder.feed(data):
                self._publish(fix, now)
        self._count()

    def _publish(self, fix: Fix, at: float) -> None:
        self.fix.send(fix)
        self._reports.append(("fix", fix, at, self._reported_sv))

    def _drain_pps(self) -> None:
        line = self.pps
        if line is None:
            return
        try:
            while True:
                events = line.read_events(timeout=0.0)
                rising = [e.timestamp for e in events if e.edge is Edge.RISING]
                if rising:
                    with self._time_lock:
                        for t in rising:
                            self.discipline.on_pps(t)  # type: ignore[union-attr]
                    self._pps_edges += len(rising)
                if len(events) < 16:
                    return
        except OSError as exc:
            self._port_fault(exc)

    def _on_message(self, message: Message) -> None:
        """Every decoded message, on the worker thread (also while the configurator reads)."""
        kind = type(message)
        if kind is ubx.Ack:
            if self._configuring and self._configurator is not None:
                self._configurator.on_message(message)
        elif kind is ubx.NavPvt:
            self._reported_sv = message.num_sv  # type: ignore[union-attr]
            if message.valid & _MARK_VALID == _MARK_VALID:  # type: ignore[union-attr]
                self._mark(message, message.nano_ns)  # type: ignore[union-attr,arg-type]
        elif kind is ubx.NavTimeUtc:
            if message.valid & _UTC_MARK_VALID == _UTC_MARK_VALID:  # type: ignore[union-attr]
                self._mark(message, message.nano_ns)  # type: ignore[union-attr,arg-type]
        elif kind is nmea.Gga:
            if message.satellites is not None:  # type: ignore[union-attr]
                self._reported_sv = message.satellites  # type: ignore[union-attr]
        elif kind is nmea.Rmc:
            rmc: nmea.Rmc = message  # type: ignore[assignment]
            if rmc.status in ("A", "D") and rmc.date is not None and rmc.time_s is not None:
                midnight = dt.datetime(rmc.date.year, rmc.date.month, rmc.date.day, tzinfo=dt.UTC)
                self._mark_seconds(midnight, rmc.time_s)

    def _mark(self, m: ubx.NavPvt | ubx.NavTimeUtc, nano_ns: int) -> None:
        try:
            whole = dt.datetime(m.year, m.month, m.day, m.hour, m.minute, m.second, tzinfo=dt.UTC)
        except ValueError:  # a receiver's date that the calendar does not have
            return
        self._mark_seconds(whole, nano_ns * 1e-9)

    def _mark_seconds(self, base: dt.datetime, seconds: float) -> None:
        """Time mark: `base` + `seconds` names the UTC second the last PPS edge started, if it is
        within MARK_TOLERANCE_S of a whole second (epochs between seconds have no edge)."""
        nearest = round(seconds)
        if abs(seconds - nearest) > MARK_TOLERANCE_S:
            return
        try:
            utc = base + dt.timedelta(seconds=nearest)
        except OverflowError:  # a date at the end of the calendar, rounded past it
            return
        stamp = math.floor(utc.timestamp())
        if stamp == self._last_mark:
            return  # NAV-PVT and NAV-TIMEUTC of one epoch name the same second
        self._last_mark = stamp
        try:
            with self._time_lock:
                self.discipline.on_fix(utc, self.clock.monotonic())  # type: ignore[union-attr]
        except ValueError:  # a time the leap-second table does not cover (before 1972)
            return

    def _on_jump(self, jump: TimeJump) -> None:
        self._reports.append(("jump", jump))

    def _serve(self, request: _Request) -> None:
        port, configurator = self.port, self._configurator
        assert port is not None and configurator is not None
        if not request.acknowledged:
            try:
                for frame in request.frames:
                    port.write(frame)
            except PORT_FAULTS as exc:
                self._port_fault(exc)
                return
            self._reports.append(("restart", request.name))
            return
        results: list[ConfigResult] = []
        try:
            port.configure(timeout=0)  # the configurator polls; it must not block in read
            self._configuring = True
            for frame in request.frames:
                results.append(configurator.send(frame))
                if self.stopping:
                    break
        except PORT_FAULTS as exc:
            self._port_fault(exc)
        finally:
            self._configuring = False
            if port.is_open:
                port.configure(timeout=self.settings.read_timeout_s)
        now = self.clock.monotonic()
        for fix in configurator.fixes:
            self._publish(fix, now)
        configurator.fixes.clear()
        self._reports.append(("config", request, tuple(results)))
        self._count()

    def _port_fault(self, exc: BaseException) -> None:
        self._port_errors += 1
        self._reports.append(("port", _fault_text(exc)))
        self._count()

    def _count(self) -> None:
        counters = self.decoder.counters
        framing = counters.framing
        decoded = counters.decoded
        ubx_total = sum(n for name, n in decoded.items() if "-" in name)
        config = self._configurator.counters if self._configurator is not None else None
        self._counts = Counts(
            bytes_in=framing.bytes_in,
            sentences=sum(decoded.values()) - ubx_total,
            ubx_messages=ubx_total,
            bad_checksums=framing.nmea_bad_checksum + framing.ubx_bad_checksum,
            bytes_skipped=framing.bytes_skipped,
            rejected=sum(counters.rejected.values()) + framing.nmea_no_checksum
            + framing.nmea_oversized + framing.nmea_truncated + framing.ubx_oversized
            + framing.ubx_truncated,
            fixes=counters.fixes,
            pps_edges=self._pps_edges,
            port_errors=self._port_errors + (config.port_errors if config else 0),
            config_acked=config.acked if config else 0,
            config_failed=(config.naked + config.timeouts + config.cancelled) if config else 0,
        )  # fmt: skip

    # --- rate group (executive thread) ----------------------------------------------------------

    def cycle(self) -> None:
        reports = self._reports
        for _ in range(len(reports)):
            report = reports.popleft()
            kind = report[0]
            if kind == "fix":
                self._on_fix(report[1], report[2], report[3])
            elif kind == "config":
                self._on_config(report[1], report[2])
            elif kind == "jump":
                self.emit(self.time_jump, report[1].size_s)
            elif kind == "restart":
                self.emit(self.restart_sent, report[1])
            else:
                self.emit(self.port_failed, report[1])
                self.set_health(Health.WARNING, "receiver port failing")
        now = self.now()
        self._check_fix_timeout(now)
        self._check_silence(now)
        self._report_time()
        self._report_counts()

    def _on_fix(self, fix: Fix, at: float, reported_sv: int | None) -> None:
        used = sum(fix.satellites_used.values()) if fix.satellites_used else (reported_sv or 0)
        self.tlm(self.fix_mode, fix.mode)
        if fix.mode is FixMode.NO_FIX:
            if self._has_fix:
                self._has_fix = False
                self.emit(self.fix_lost, "the receiver reports no fix")
            return
        self._last_good_fix = at
        if fix.lat is not None and fix.lon is not None:
            self.tlm(self.latitude, fix.lat)
            self.tlm(self.longitude, fix.lon)
        if fix.alt_hae is not None:
            self.tlm(self.altitude, fix.alt_hae)
        if fix.speed is not None:
            self.tlm(self.speed, fix.speed)
        if fix.pdop is not None:
            self.tlm(self.pdop, fix.pdop)
        self.tlm(self.satellites, min(used, 255))
        if not self._has_fix:
            self._has_fix = True
            self.emit(self.fix_acquired, fix.mode, min(used, 255))

    def _on_config(self, request: _Request, results: tuple[ConfigResult, ...]) -> None:
        if request.rate_ms is not None and any(r.ok and r.command == "CFG-RATE" for r in results):
            self._period_s = request.rate_ms / 1000.0
        for result in results:
            if result.outcome is not Outcome.ACKED:
                self.emit(
                    self.config_refused, result.command, result.outcome.value, result.attempts
                )
        acked = sum(1 for r in results if r.ok)
        self.emit(self.configured, request.name, acked, len(request.frames))

    def _check_fix_timeout(self, now: float) -> None:
        if self._has_fix and self._last_good_fix is not None:
            silence = now - self._last_good_fix
            limit = max(self.settings.fix_timeout_s, 3 * self._period_s)
            if silence > limit:
                self._has_fix = False
                self.tlm(self.fix_mode, FixMode.NO_FIX)
                self.emit(self.fix_lost, f"no fix for {silence:.1f} s")

    def _check_silence(self, now: float) -> None:
        last = self._last_data
        quiet = now - (last if last is not None else self._started_at)
        if not self._silent and quiet > self.settings.silence_timeout_s:
            self._silent = True
            self.emit(self.receiver_silent, quiet)
            self.set_health(Health.WARNING, "receiver silent")
        elif self._silent and last is not None and quiet <= self.settings.silence_timeout_s:
            self._silent = False
            self.emit(self.receiver_talking)
            self.set_health(Health.OK)

    def _report_time(self) -> None:
        status = self.time_status()
        if status.state is not self._time_state:
            self._time_state = status.state
            self.tlm(self.time_state, status.state)
            self.emit(self.time_state_changed, status.state)
        if status.time_error_s is not None:
            self.tlm(self.time_error, status.time_error_s)
        self.tlm(self.drift, status.drift_ppm)
        self.tlm(self.time_jumps, status.jumps)

    def _report_counts(self) -> None:
        counts, before = self._counts, self._reported
        self._reported = counts
        for channel, value in zip(_COUNT_CHANNELS, counts, strict=True):
            self.tlm(getattr(GnssReceiver, channel), value & 0xFFFFFFFF)
        damage = (
            counts.bad_checksums - before.bad_checksums,
            counts.bytes_skipped - before.bytes_skipped,
            counts.rejected - before.rejected,
        )
        if any(damage):
            self.emit(self.input_damaged, *damage)


_COUNT_CHANNELS: Final = Counts._fields
