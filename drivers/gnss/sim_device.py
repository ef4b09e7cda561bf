"""A simulated GNSS receiver at the far end of a `sim://` UART, for deployments on simulated ports.

The receiver is the environment simulator's (`flight.sim.gnss.GnssReceiver`: NMEA and UBX for the
true SGP4 orbit, a cold start after power-on, outages, UBX configuration answered with ACK-ACK or
ACK-NAK). This component puts its output on the wire and drives its 1 PPS on a simulated GPIO
line, so the flight `GnssReceiver` component on the other end cannot tell it from a receiver on a
cable.

Bindings: `port`, the device end of the link (`sim://NAME?end=b`), and `pps`, the simulated line
the PPS drives (`sim://CHIP:LINE`, the line the flight component reads). Settings (all optional):
`baudrate` (9600), `systems` (["GPS"]; or with "GALILEO"), `start_utc` (ISO 8601; default the
default orbit's TLE epoch, rounded up to a whole second), `tle` (two lines; default
`flight.sim.orbit.Orbit.default()`), `pps_width_s` (0.1), `cold_start_s` (45: the time to the
first fix after power-on; the receiver's time is valid after 30 s, or then).

Timing. It runs in a rate group (no thread of its own: a worker thread on the simulated clock
costs barrier steps). Each cycle it hands the receiver what the flight software wrote, then runs
the receiver one period ahead: PPS edges of that period are scheduled on the GPIO line at their
exact instants (the receiver's jitter included), and messages are written at the first cycle at
or after the instant the receiver emits them. The receiver's epochs start at the first cycle, so
they fall on cycles and an epoch's messages start on the line at the epoch itself; an ACK waits
for the next cycle. Randomness comes from the run's seed.

It declares no telemetry and no commands: it is the environment, not flight software. Tests and
scenarios act on it between runs: `outage(blocked)` (jamming, an antenna fault), `power(on)`
(off, or on with a cold start); `receiver` is the model itself.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Mapping
from typing import Any, Final

from drivers.ports import BindingError, open_port, sim_gpio_line
from flight.runtime.component import Component
from flight.runtime.errors import ConfigError
from flight.sim.errors import SimError
from flight.sim.gnss import GnssConfig, GnssOutput, GnssReceiver
from flight.sim.gnss_sky import GnssSystem
from flight.sim.orbit import Orbit
from flight.sim.timebase import TimeBase
from hal.gpio import SimGpioChip
from hal.serial import SerialPort, SerialSettingError, SerialURLError, scheme_of

SLACK_S: Final = 1e-9  # an output due this close after a cycle goes out in that cycle
PULSE_GUARD_S: Final = 1e-3  # a pulse due sooner than this is driven at once (the real clock moves)


class SimGnssDevice(Component):
    """The receiver's side of the GNSS UART and PPS line in a simulated run."""

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.baudrate = 9600
        self.systems: tuple[GnssSystem, ...] = (GnssSystem.GPS,)
        self.orbit = Orbit.default()
        self.start_utc: dt.datetime | None = None
        self.pps_width_s = 0.1
        self.config = GnssConfig(systems=self.systems, talker="GP", output_latency_s=0.0)
        self.port: SerialPort | None = None
        self.receiver: GnssReceiver | None = None
        self._chip: SimGpioChip | None = None
        self._line = 0
        self._horizon = 0.0  # the receiver has run up to here
        self._queue: deque[GnssOutput] = deque()  # emitted, not yet on the wire
        self._due: float | None = None  # the receiver's next output

    def configure(self, config: Mapping[str, Any]) -> None:
        known = ("baudrate", "systems", "start_utc", "tle", "pps_width_s", "cold_start_s")
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
        talker = "GP" if self.systems == (GnssSystem.GPS,) else "GN"
        cold = config.get("cold_start_s", GnssConfig.cold_start_s)
        if isinstance(cold, bool) or not isinstance(cold, int | float) or not 0 <= cold <= 3600:
            raise ConfigError("cold_start_s", f"{cold!r} must be in [0, 3600] s")
        try:
            self.config = GnssConfig(
                systems=self.systems, talker=talker, output_latency_s=0.0, cold_start_s=cold,
                time_valid_after_s=min(GnssConfig.time_valid_after_s, cold),
            )  # fmt: skip
        except SimError as exc:
            raise ConfigError("systems", str(exc)) from None

    def init(self) -> None:
        if self.rate_group is None:
            raise ConfigError("rate_groups", f"{self.name} runs in a rate group: make it a member")
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
                seed=self.context.seed, baudrate=self.baudrate, timeout=0, write_timeout=0,
            )  # fmt: skip
        except (SerialURLError, SerialSettingError) as exc:
            raise ConfigError(f"{self.name}.hardware.port", str(exc)) from None

    def stop(self) -> None:
        if self.port is not None:
            self.port.close()

    def cycle(self) -> None:
        port = self.port
        assert port is not None and self.rate_group is not None
        now = self.now()
        receiver = self.receiver
        if receiver is None:
            receiver = self.receiver = self._power_on(now)
            self._horizon = now
            self._due = receiver.next_output_time()
        waiting = port.in_waiting
        if waiting:
            receiver.command(max(now, self._horizon), port.read(waiting))
            self._due = receiver.next_output_time()
        self._horizon = max(self._horizon, now + self.rate_group.period_s)
        queue = self._queue
        if self._due is not None and self._due <= self._horizon:
            self._run_receiver()
        while queue and queue[0].t <= now + SLACK_S:
            port.write(queue.popleft().data)

    def _run_receiver(self) -> None:
        receiver, queue = self.receiver, self._queue
        assert receiver is not None
        for output in receiver.advance(self._horizon):
            epoch = output.epoch
            if epoch is not None and epoch.pps_t is not None:
                self._pulse(epoch.pps_t)
            queue.append(output)
        self._due = receiver.next_output_time()

    def _pulse(self, at: float) -> None:
        """A PPS pulse rising at `at`, or now where `at` has passed (a late cycle on the real
        clock)."""
        chip, line = self._chip, self._line
        assert chip is not None
        now = self.clock.monotonic()
        if at > now + PULSE_GUARD_S:
            chip.schedule(line, True, at)
        else:
            chip.drive(line, True)
            at = now
        chip.schedule(line, False, at + self.pps_width_s)

    def outage(self, blocked: bool) -> None:
        """Block the signals now (jamming, an antenna fault: the fix goes, time stays) or end
        the outage (the fix returns after the receiver's reacquisition time)."""
        receiver = self._started()
        receiver.set_outage(max(self.now(), self._horizon), blocked)
        self._due = receiver.next_output_time()

    def power(self, on: bool) -> None:
        """Switch the receiver off (silence) or on (a cold start)."""
        receiver = self._started()
        t = max(self.now(), self._horizon)
        if on:
            receiver.power_on(t)
        else:
            receiver.power_off(t)
            self._queue.clear()
        self._due = receiver.next_output_time()

    def _started(self) -> GnssReceiver:
        if self.receiver is None:
            raise RuntimeError(f"{self.name}: the receiver starts with the first cycle")
        return self.receiver

    def _power_on(self, now: float) -> GnssReceiver:
        start = self.start_utc or _next_second(self.orbit.epoch)
        timebase = TimeBase(start, now)
        return GnssReceiver(
            self.orbit, timebase, self.config, seed=self.context.seed, power_on_at=now
        )


def _next_second(t: dt.datetime) -> dt.datetime:
    whole = t.replace(microsecond=0)
    return whole if whole == t else whole + dt.timedelta(seconds=1)
