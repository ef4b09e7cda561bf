"""A simulated GNSS receiver at the far end of a `sim://` UART, for deployments on simulated ports.

The receiver is the environment simulator's (`flight.sim.gnss.GnssReceiver`: NMEA and UBX for the
true SGP4 orbit, a cold start after power-on, outages, UBX configuration answered with ACK-ACK or
ACK-NAK). This component puts its output on the wire at the simulated instants it is emitted and
drives its 1 PPS on a simulated GPIO line, so the flight `GnssReceiver` component on the other end
cannot tell it from a receiver on a cable.

Bindings: `port`, the device end of the link (`sim://NAME?end=b`), and `pps`, the simulated line
the PPS drives (`sim://CHIP:LINE`, the line the flight component reads). Settings (all optional):
`baudrate` (9600), `systems` (["GPS"]; or with "GALILEO"), `start_utc` (ISO 8601; default the
default orbit's TLE epoch, rounded up to a whole second), `tle` (two lines; default
`flight.sim.orbit.Orbit.default()`), `pps_width_s` (0.1).

Timing. The worker sleeps until the receiver's next output or until the flight software writes a
command. An epoch's messages start on the line at the epoch itself and reach the flight side one
line time later; its PPS edge is scheduled at the epoch plus the receiver's jitter (never before
the instant it is scheduled). Randomness comes from the run's seed.

It declares no telemetry and no commands: it is the environment, not flight software. Tests reach
the model as `receiver` (`receiver.set_outage(t, True)`, `receiver.power_off(t)`) between runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from drivers.ports import BindingError, open_port, sim_gpio_line
from flight.runtime.component import ThreadedComponent
from flight.runtime.errors import ConfigError
from flight.sim.errors import SimError
from flight.sim.gnss import GnssConfig, GnssOutput, GnssReceiver
from flight.sim.gnss_sky import GnssSystem
from flight.sim.orbit import Orbit
from flight.sim.timebase import TimeBase
from hal.gpio import SimGpioChip
from hal.serial import SerialPort, SerialSettingError, SerialURLError, scheme_of

GATHER_S: Final = 0.01  # a command's octets are taken together once its first one has arrived
WRITE_TIMEOUT_S: Final = 1.0


class SimGnssDevice(ThreadedComponent):
    """The receiver's side of the GNSS UART and PPS line in a simulated run."""

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.baudrate = 9600
        self.systems: tuple[GnssSystem, ...] = (GnssSystem.GPS,)
        self.orbit = Orbit.default()
        self.start_utc: dt.datetime | None = None
        self.pps_width_s = 0.1
        self.port: SerialPort | None = None
        self.receiver: GnssReceiver | None = None
        self._chip: SimGpioChip | None = None
        self._line = 0

    def configure(self, config: Mapping[str, Any]) -> None:
        known = ("baudrate", "systems", "start_utc", "tle", "pps_width_s")
        for key in config:
            if key not in known:
                raise ConfigError(key, f"unknown setting (known: {', '.join(known)})")
        if "baudrate" in config:
            if type(config["baudrate"]) is not int or config["baudrate"] < 1:
                raise ConfigError("baudrate", f"{config['baudrate']!r} must be a positive integer")
            self.baudrate = config["baudrate"]
        if "systems" in config:
            names = config["systems"]
            if (
                not isinstance(names, list)
                or not names
                or not all(n in GnssSystem.__members__ for n in names)
            ):
                raise ConfigError("systems", f"{names!r} must be a list of "
                                             f"{', '.join(GnssSystem.__members__)}")  # fmt: skip
            self.systems = tuple(GnssSystem[n] for n in names)
        if "tle" in config:
            lines = config["tle"]
            if (
                not isinstance(lines, list)
                or len(lines) != 2
                or not all(isinstance(x, str) for x in lines)
            ):
                raise ConfigError("tle", "must be the two lines of a TLE")
            try:
                self.orbit = Orbit(*lines)
            except SimError as exc:
                raise ConfigError("tle", str(exc)) from None
        if "start_utc" in config:
            try:
                start = dt.datetime.fromisoformat(str(config["start_utc"]))
            except ValueError as exc:
                raise ConfigError("start_utc", str(exc)) from None
            self.start_utc = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
        if "pps_width_s" in config:
            width = config["pps_width_s"]
            if isinstance(width, bool) or not isinstance(width, int | float) or not 0 < width < 1:
                raise ConfigError("pps_width_s", f"{width!r} must be in (0, 1) s")
            self.pps_width_s = float(width)

    def init(self) -> None:
        url = self.hardware("port")
        if scheme_of(url) != "sim":
            raise ConfigError(f"{self.name}.hardware.port",
                              f"{url!r}: a simulated receiver needs a sim:// port")  # fmt: skip
        resources = self.context.resources
        try:
            self._chip, self._line = sim_gpio_line(self.hardware("pps"), resources, self.clock)  # type: ignore[arg-type]
        except BindingError as exc:
            raise ConfigError(f"{self.name}.hardware.pps", exc.reason) from None
        try:
            self.port = open_port(
                url, clock=self.clock, resources=resources,  # type: ignore[arg-type]
                seed=self.context.seed, baudrate=self.baudrate, timeout=0,
                write_timeout=WRITE_TIMEOUT_S,
            )  # fmt: skip
        except (SerialURLError, SerialSettingError) as exc:
            raise ConfigError(f"{self.name}.hardware.port", str(exc)) from None
        now = self.now()
        start = self.start_utc or _next_second(self.orbit.epoch)
        talker = "GP" if self.systems == (GnssSystem.GPS,) else "GN"
        try:
            config = GnssConfig(systems=self.systems, talker=talker, output_latency_s=0.0)
            self.receiver = GnssReceiver(
                self.orbit, TimeBase(start, now), config, seed=self.context.seed, power_on_at=now
            )
        except SimError as exc:
            raise ConfigError(self.name, str(exc)) from None

    def request_stop(self) -> None:
        super().request_stop()
        if self.port is not None:
            self.port.close()  # ends a read waiting for simulated time that will not come

    def stop(self) -> None:
        if self.port is not None:
            self.port.close()

    def worker(self) -> None:
        port, receiver = self.port, self.receiver
        assert port is not None and receiver is not None
        clock = self.clock
        while not self.stopping:
            due = receiver.next_output_time()
            try:
                port.configure(timeout=None if due is None else max(0.0, due - clock.monotonic()))
                head = port.read(1)
                if head:
                    if not self.sleep_until(clock.monotonic() + GATHER_S):
                        return
                    receiver.command(clock.monotonic(), head + port.read(port.in_waiting))
                now = clock.monotonic()
                for output in receiver.advance(now):
                    self._emit(port, output, now)
            except OSError:
                if self.stopping:
                    return  # request_stop closed the port
                raise

    def _emit(self, port: SerialPort, output: GnssOutput, now: float) -> None:
        epoch = output.epoch
        if epoch is not None and epoch.pps_t is not None and self._chip is not None:
            edge = max(epoch.pps_t, now)
            self._chip.schedule(self._line, True, edge)
            self._chip.schedule(self._line, False, edge + self.pps_width_s)
        port.write(output.data)


def _next_second(t: dt.datetime) -> dt.datetime:
    whole = t.replace(microsecond=0)
    return whole if whole == t else whole + dt.timedelta(seconds=1)
