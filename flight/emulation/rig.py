"""The rig: what sits on the other side of a board's radio and GNSS UARTs, on the shared clock.

    rig = Rig.for_board(board, stations=[HARTEBEESTHOEK, DELFT])   # or Rig(radio_port=...)
    with rig:
        station = rig.ground_station(dictionary, keys)   # flight.ground over the rig's radio end
        rig.faults("downlink").extra_ber = 1e-4         # faults on the wire, per direction
        rig.faults("uplink").frame_loss = 0.2
        rig.gnss_outage(True)
        rig.status()                                    # pass state, link and GNSS counters

Three parts, serviced by one thread (`Rig.start`), which waits on the three ports and on the
next instant something is due, so nothing polls:

- **GNSS feeder** (`GnssFeeder`): the environment simulator's receiver (`flight.sim.GnssReceiver`)
  for the true orbit at `UTC = epoch + clock`, its NMEA/UBX written to the GNSS port at the
  instants the receiver emits them; what the flight software writes back (UBX configuration) is
  given to the receiver, which applies it and answers ACK or NAK on the line.
- **Radio bridge** (`RadioBridge`): octets read from the satellite's radio port go through the
  radio channel to the ground (`flight.sim.RadioChannel`: carried only during a pass of one of
  the `stations`, at the air rate, light-time latency, bit errors at the range's bit error rate),
  and octets the ground radio sends go the other way; then through a `CaduTap` per direction
  (`flight.emulation.wire`: faults injected by the rig, Reed-Solomon counts). Mission control has
  one radio: while several stations see the satellite, the first in the list carries the link.
  Without stations (`stations=()`) the link is a bench cable: always up, fixed latency, only the
  injected bit errors.
- **Ground station**: the bridge's ground end is a pseudo-terminal (`ground_port`), opened by a
  `flight.ground` `RadioTransport` as the ground's own radio would be, so `flight ground --port
  PATH` can attach to it too.

Ports are opened with pyserial (`serial_for_url`): a board's pseudo-terminals, or USB-serial
adapters wired to a real board (`Rig(radio_port="/dev/ttyUSB0", ...)`, `clock=ScaledClock(1.0)`).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import selectors
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

import serial

from flight.emulation.clock import ScaledClock
from flight.emulation.wire import CaduTap, WireCounters, WireFaults
from flight.sim.channel import Delivery, Endpoint, RadioChannel
from flight.sim.frames import SPEED_OF_LIGHT_M_S
from flight.sim.gnss import GnssConfig, GnssEpoch, GnssReceiver
from flight.sim.linkbudget import UHF_UPLINK, LinkBudget
from flight.sim.orbit import Orbit
from flight.sim.stations import GroundStation, Pass, PassSchedule
from flight.sim.timebase import TimeBase
from hal.serial.pty import PtyPair, open_pty

if TYPE_CHECKING:
    from flight.emulation.board import EmulatedBoard
    from flight.ground.archive import Archive
    from flight.ground.dictionary import GroundDictionary
    from flight.ground.station import GroundStation as Station
    from flight.link.devkeys import GroundKeys
    from flight.link.profile import LinkProfile

DEFAULT_AIR_RATE_BPS: Final = 64_000
DEFAULT_BAUDRATE: Final = 115_200
DEFAULT_INTERLEAVE: Final = 5
HARTEBEESTHOEK: Final = GroundStation("Hartebeesthoek", -25.8870, 27.7070, 1415.0, mask_deg=5.0)
DELFT: Final = GroundStation("Delft", 51.9990, 4.3733, 30.0, mask_deg=5.0)
EMULATION_DOWNLINK: Final = LinkBudget(tx_power_w=2.0, rx_g_over_t_db_k=-15.0,
                                       bit_rate_bps=DEFAULT_AIR_RATE_BPS)
"""UHF at 64 kbit/s: 2 W on board, a G/T = -15 dB/K station; bit error rate about 2e-3 at 5 deg
elevation, where Reed-Solomon has work to do, and below 1e-9 above 30 deg."""
EMULATION_UPLINK: Final = UHF_UPLINK
BENCH_RANGE_M: Final = 1000e3  # the latency of a bench cable: light time over 1000 km
READ_CHUNK: Final = 65536
MAX_WAIT_S: Final = 0.05  # host seconds between looks at the clock when nothing is due
GROUND_T1_S: Final = 3.0  # FOP-1's timer: a TC frame's round trip, seconds of the clock
GROUND_T1_HOST_S: Final = 0.25  # plus the host's hiccups, scaled by the clock's speed
GROUND_POLL_HOST_S: Final = 0.005  # host seconds between the ground station's polls
IDLE_FLUSH_S: Final = 2.0  # clock seconds of silence after which a partial CADU is passed on
Direction = str  # "uplink" (ground to space) or "downlink" (space to ground)
_DEST: Final = {"uplink": Endpoint.SPACE, "downlink": Endpoint.GROUND}


def open_rig_port(path: str, baudrate: int = DEFAULT_BAUDRATE) -> serial.Serial:
    """A board's UART as the rig holds it: pyserial, non-blocking reads, blocking writes."""
    return serial.serial_for_url(path, baudrate=baudrate, timeout=0, write_timeout=5.0)


# ---------------------------------------------------------------- GNSS


@dataclass
class GnssCounters:
    octets_out: int = 0
    outputs: int = 0
    octets_in: int = 0  # what the flight software wrote to its receiver


class GnssFeeder:
    """The simulated receiver on the GNSS port (see the module notes). Every call reads the
    clock under the feeder's lock, so the receiver sees time in order from any thread."""

    def __init__(self, port: serial.Serial, receiver: GnssReceiver, clock: ScaledClock) -> None:
        self.port = port
        self.receiver = receiver
        self.clock = clock
        self.counters = GnssCounters()
        self.last_epoch: GnssEpoch | None = None
        self._lock = threading.Lock()

    def fileno(self) -> int:
        return self.port.fileno()

    def readable(self) -> None:
        data = self.port.read(READ_CHUNK)
        if data:
            self.counters.octets_in += len(data)
            with self._lock:
                self.receiver.command(self.clock.monotonic(), data)

    def service(self) -> float | None:
        """Write what the receiver has emitted by now; returns when the next output is due."""
        with self._lock:
            outputs = self.receiver.advance(self.clock.monotonic())
            due = self.receiver.next_output_time()
        for out in outputs:
            self.port.write(out.data)
            self.counters.octets_out += len(out.data)
            self.counters.outputs += 1
            if out.epoch is not None:
                self.last_epoch = out.epoch
        return due

    def set_outage(self, blocked: bool) -> None:
        """Start or end an outage (jamming, an antenna fault) now."""
        with self._lock:
            self.receiver.set_outage(self.clock.monotonic(), blocked)

    def power_cycle(self) -> None:
        """Switch the receiver off and on again now: a cold start, as after a power cut."""
        with self._lock:
            t = self.clock.monotonic()
            self.receiver.power_off(t)
            self.receiver.power_on(t)


# ---------------------------------------------------------------- radio


class BenchChannel:
    """A cable in place of the orbit: always up, the air rate and a fixed light time, no bit
    errors of its own (inject them on the wire). The `RadioChannel` interface the bridge uses."""

    def __init__(self, air_rate_bps: float, range_m: float = BENCH_RANGE_M) -> None:
        self.air_rate_bps = float(air_rate_bps)
        self.range_m = range_m
        self._tx_free = {Endpoint.SPACE: -math.inf, Endpoint.GROUND: -math.inf}
        self._queue: list[Delivery] = []

    def send(self, source: Endpoint, t: float, data: bytes) -> float:
        start = max(t, self._tx_free[source])
        end = start + len(data) * 8.0 / self.air_rate_bps
        self._tx_free[source] = end
        if data:
            self._queue.append(Delivery(source.other, end + self.range_m / SPEED_OF_LIGHT_M_S,
                                        bytes(data), start, self.range_m, 0))
        return end

    def next_arrival(self) -> float | None:
        return self._queue[0].t if self._queue else None

    def deliveries(self, t: float) -> list[Delivery]:
        n = 0
        while n < len(self._queue) and self._queue[n].t <= t:
            n += 1
        out, self._queue = self._queue[:n], self._queue[n:]
        return out


@dataclass(frozen=True)
class PassState:
    """The link as the status line shows it."""

    station: str | None  # the station carrying the link (None: no station sees the satellite)
    in_view: bool
    elevation_deg: float | None
    range_km: float | None
    downlink_ber: float | None
    next_pass: Pass | None


@dataclass
class LinkCounters:
    octets_from_space: int = 0
    octets_from_ground: int = 0
    octets_dropped_out_of_view: dict[str, int] = field(default_factory=dict)
    octets_overrun: int = 0  # the ground radio did not take them


class RadioBridge:
    """Carries the radio link between the satellite's port and the ground's pseudo-terminal."""

    def __init__(self, port: serial.Serial, channels: dict[str, RadioChannel] | BenchChannel, *,
                 interleave: int = DEFAULT_INTERLEAVE, seed: int = 0) -> None:
        self.port = port
        self.channels = channels
        self.ground: PtyPair = open_pty()
        os.set_blocking(self.ground.master_fd, False)
        self.taps = {
            "downlink": CaduTap(interleave, f"{seed}/wire/downlink"),
            "uplink": CaduTap(interleave, f"{seed}/wire/uplink"),
        }
        self.counters = LinkCounters()
        self._last_arrival = {"downlink": -math.inf, "uplink": -math.inf}
        # the pass schedules extend themselves as they are asked about later times: one thread
        # at a time (the rig's, the status line's, the scenario's)
        self.lock = threading.RLock()

    @property
    def ground_port(self) -> str:
        """The ground radio's end: a device path for `flight.ground`'s `RadioTransport`."""
        return self.ground.path

    def faults(self, direction: Direction) -> WireFaults:
        return self.taps[_direction(direction)].faults

    def wire(self, direction: Direction) -> WireCounters:
        return self.taps[_direction(direction)].counters

    def carrier(self, t: float) -> tuple[str | None, RadioChannel | BenchChannel | None]:
        """The station carrying the link at `t`, and its channel."""
        if isinstance(self.channels, BenchChannel):
            return "bench", self.channels
        for name, channel in self.channels.items():
            if channel.schedule.in_view(t):
                return name, channel
        return None, None

    def from_space(self, t: float) -> None:
        data = self.port.read(READ_CHUNK)
        if data:
            self.counters.octets_from_space += len(data)
            self._send(Endpoint.SPACE, t, data)

    def from_ground(self, t: float) -> None:
        try:
            data = os.read(self.ground.master_fd, READ_CHUNK)
        except BlockingIOError:
            return
        self.counters.octets_from_ground += len(data)
        self._send(Endpoint.GROUND, t, data)

    def _send(self, source: Endpoint, t: float, data: bytes) -> None:
        with self.lock:
            name, channel = self.carrier(t)
            if channel is None:
                first = next(iter(self.channels.values()))  # type: ignore[union-attr]
                first.send(source, t, data)  # out of view everywhere: counted as dropped there
                key = "downlink" if source is Endpoint.SPACE else "uplink"
                dropped = self.counters.octets_dropped_out_of_view
                dropped[key] = dropped.get(key, 0) + len(data)
                return
            channel.send(source, t, data)

    def service(self, t: float) -> float | None:
        """Deliver what has arrived by `t`; returns when the next arrival is due."""
        with self.lock:
            channels = ([self.channels] if isinstance(self.channels, BenchChannel)
                        else list(self.channels.values()))
            arrived = sorted((d for c in channels for d in c.deliveries(t)), key=lambda d: d.t)
            due = [x for c in channels if (x := c.next_arrival()) is not None]
        for d in arrived:
            direction = "downlink" if d.dest is Endpoint.GROUND else "uplink"
            self._last_arrival[direction] = d.t
            self._write(direction, self.taps[direction].feed(d.data))
        for direction, tap in self.taps.items():
            if tap.pending and t - self._last_arrival[direction] > IDLE_FLUSH_S:
                self._write(direction, tap.flush())
        return min(due) if due else None

    def _write(self, direction: str, data: bytes) -> None:
        if not data:
            return
        if direction == "uplink":
            self.port.write(data)
            return
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.ground.master_fd, view):]
            except BlockingIOError:  # the ground radio is not reading: its UART overruns
                self.counters.octets_overrun += len(view)
                return

    def state(self, t: float, horizon_s: float = 86400.0) -> PassState:
        if isinstance(self.channels, BenchChannel):
            return PassState("bench", True, None, self.channels.range_m / 1e3, 0.0, None)
        with self.lock:
            name, channel = self.carrier(t)
            upcoming = sorted((p for c in self.channels.values()
                               for p in c.schedule.passes(t, t + horizon_s) if p.aos > t),
                              key=lambda p: p.aos)
            link = channel.state(t) if channel is not None else None
        nxt = upcoming[0] if upcoming else None
        if link is None:
            return PassState(None, False, None, None, None, nxt)
        return PassState(name, True, link.elevation_deg, link.range_m / 1e3, link.downlink_ber,
                         nxt)

    def close(self) -> None:
        self.ground.close()


def _direction(direction: Direction) -> Direction:
    if direction not in _DEST:
        raise ValueError(f"direction {direction!r}: expected 'uplink' or 'downlink'")
    return direction


# ---------------------------------------------------------------- the rig


@dataclass(frozen=True)
class RigStatus:
    t: float
    utc: dt.datetime
    link: PassState
    downlink: WireCounters
    uplink: WireCounters
    gnss: GnssCounters
    gnss_epoch: GnssEpoch | None


class Rig:
    """The GNSS feeder, the radio bridge and their service thread (see the module notes)."""

    def __init__(
        self,
        *,
        radio_port: str,
        gnss_port: str,
        clock: ScaledClock,
        epoch: dt.datetime,
        stations: Sequence[GroundStation] = (HARTEBEESTHOEK, DELFT),
        orbit: Orbit | None = None,
        seed: int = 1,
        interleave: int = DEFAULT_INTERLEAVE,
        air_rate_bps: float = DEFAULT_AIR_RATE_BPS,
        downlink: LinkBudget = EMULATION_DOWNLINK,
        uplink: LinkBudget = EMULATION_UPLINK,
        gnss: GnssConfig | None = None,
        radio_baudrate: int = DEFAULT_BAUDRATE,
        gnss_baudrate: int = DEFAULT_BAUDRATE,
    ) -> None:
        self.clock = clock
        self.epoch = epoch
        self.seed = seed
        self.air_rate_bps = air_rate_bps
        self.orbit = orbit or Orbit.default()
        self.timebase = TimeBase(epoch, 0.0)
        self.stations = tuple(stations)
        self.schedules = {s.name: PassSchedule(self.orbit, s, self.timebase) for s in stations}
        channels: dict[str, RadioChannel] | BenchChannel
        if stations:
            channels = {s.name: RadioChannel(self.orbit, s, self.timebase,
                                             air_rate_bps=air_rate_bps, downlink=downlink,
                                             uplink=uplink, seed=seed,
                                             schedule=self.schedules[s.name])
                        for s in stations}
        else:
            channels = BenchChannel(air_rate_bps)
        self._radio_serial = open_rig_port(radio_port, radio_baudrate)
        self._gnss_serial = open_rig_port(gnss_port, gnss_baudrate)
        receiver = GnssReceiver(self.orbit, self.timebase, gnss, seed=seed,
                                power_on_at=max(0.0, clock.monotonic()))
        self.gnss = GnssFeeder(self._gnss_serial, receiver, clock)
        self.radio = RadioBridge(self._radio_serial, channels, interleave=interleave, seed=seed)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_board(cls, board: EmulatedBoard, **kwargs: Any) -> Rig:
        """A rig on `board`'s ports, clock, epoch and seed, with its radio's interleave and air
        rate (from the deployment's `radio` component)."""
        radio = board.radio_settings()
        kwargs.setdefault("interleave", int(radio.get("interleave", DEFAULT_INTERLEAVE)))
        kwargs.setdefault("air_rate_bps", float(radio.get("air_rate_bps", DEFAULT_AIR_RATE_BPS)))
        kwargs.setdefault("seed", board.seed)
        return cls(radio_port=board.radio_port, gnss_port=board.gnss_port, clock=board.clock,
                   epoch=board.epoch, **kwargs)

    # ------------------------------------------------------------ control

    @property
    def ground_port(self) -> str:
        return self.radio.ground_port

    def faults(self, direction: Direction) -> WireFaults:
        """The faults the rig injects on `direction` ("uplink" or "downlink"); set their fields."""
        return self.radio.faults(direction)

    def gnss_outage(self, blocked: bool) -> None:
        """Start or end a GNSS outage (jamming, antenna fault) now."""
        self.gnss.set_outage(blocked)

    def passes(self, start: float, end: float) -> list[Pass]:
        """Passes over the rig's stations between clock readings `start` and `end`."""
        with self.radio.lock:
            found = [p for s in self.schedules.values() for p in s.passes(start, end)]
        return sorted(found, key=lambda p: p.aos)

    def utc(self, t: float | None = None) -> dt.datetime:
        return self.timebase.utc(self.clock.monotonic() if t is None else t)

    def status(self) -> RigStatus:
        t = self.clock.monotonic()
        return RigStatus(t, self.utc(t), self.radio.state(t), self.radio.wire("downlink"),
                         self.radio.wire("uplink"), self.gnss.counters, self.gnss.last_epoch)

    def ground_station(
        self,
        dictionary: GroundDictionary,
        keys: GroundKeys | None,
        profile: LinkProfile,
        *,
        archive: Archive | None = None,
        wall_time: Callable[[], float] | None = None,
        files_folder: str | os.PathLike[str] | None = None,
        **station_args: Any,
    ) -> Station:
        """A `flight.ground` station whose radio is the bridge's ground end, on the rig's
        clock; `wall_time` stamps receptions (default: the emulation's UTC); with
        `files_folder`, files the satellite downlinks by CFDP land there. It polls every
        5 ms of host time, whatever the clock's speed, and FOP-1's timer T1 adds a quarter of
        a host second to the 3 s round trip (5 s at speed 20): a process the host delays that
        long would otherwise have its frames sent again and counted against the limit."""
        from flight.ground.link import GroundLink
        from flight.ground.station import GroundStation as Station
        from flight.ground.transport import RadioTransport

        transport = RadioTransport(self.ground_port, self.clock, profile,
                                   air_rate_bps=int(self.air_rate_bps))
        link = GroundLink(profile, keys, self.clock, transport,
                          t1_s=GROUND_T1_S + GROUND_T1_HOST_S * self.clock.speed)
        station_args.setdefault("poll_interval_s", GROUND_POLL_HOST_S * self.clock.speed)
        wall = wall_time or (lambda: self.utc().timestamp())
        if files_folder is not None:
            from flight.ground.files import GroundFiles

            station_args["files"] = GroundFiles(link, files_folder, wall_time=wall)
        return Station(dictionary, link, archive=archive, wall_time=wall, **station_args)

    # ------------------------------------------------------------ the service thread

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the rig is already running")
        self._thread = threading.Thread(target=self._run, name="rig", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join()
        self._thread = None

    def close(self) -> None:
        self.stop()
        self.radio.close()
        self._radio_serial.close()
        self._gnss_serial.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def __enter__(self) -> Rig:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> None:
        clock = self.clock
        gnss, radio = self.gnss, self.radio
        with selectors.DefaultSelector() as sel:
            sel.register(self._radio_serial.fileno(), selectors.EVENT_READ, radio.from_space)
            sel.register(radio.ground.master_fd, selectors.EVENT_READ, radio.from_ground)
            sel.register(gnss.fileno(), selectors.EVENT_READ, lambda _t: gnss.readable())
            sel.register(self._wake_r, selectors.EVENT_READ, None)
            due: float | None = None
            while not self._stop.is_set():
                wait = MAX_WAIT_S
                if due is not None:
                    wait = min(wait, max(0.0, clock.host_time(due) - time.monotonic()))
                try:
                    ready = sel.select(wait)
                    t = clock.monotonic()
                    for key, _ in ready:
                        if key.data is not None:
                            key.data(t)
                    t = clock.monotonic()
                    times = [x for x in (gnss.service(), radio.service(t)) if x is not None]
                    due = min(times) if times else None
                except (OSError, serial.SerialException) as exc:
                    # a port that went away (an adapter unplugged): note it, keep serving
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    time.sleep(MAX_WAIT_S)
