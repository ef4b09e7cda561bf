"""refsat in orbit, in one process on the simulated clock: the shipped deployment, the
environment simulator's orbit, ground stations and radio channels between its radio UART and a
ground station's radio, and the ground station of `flight.ground` with a folder for files.

    day = DayInOrbit(folder, disk="mem://day-1")
    day.passes(0.0, 86400.0)           # the environment's passes (AOS, LOS in clock seconds)
    day.station                        # flight.ground GroundStation on the bridged radio
    day.run_until(t)                   # the ground keeps listening (and keeps its timers) meanwhile

The bridge (`PassBridge`) is the in-process counterpart of the emulation rig's `RadioBridge`
(`flight/emulation/rig.py`): octets the satellite's radio writes to `sim://radio` go into the
radio channel of the station that carries the link (the first of `STATIONS` that sees the
satellite; none: the first channel drops them and counts them), and come out of its far end at
the air rate, after the light time, with the bit errors of the range, into the ground radio's
UART (a second simulated serial link); the ground's octets go the other way. It runs after
every executive tick, so the link is gated by the pass schedule to the tick (0.1 s) and the
satellite's UART never overruns. Clock reading 0 is `EPOCH`, both for the orbit (`TimeBase`) and
for spacecraft time (refsat's `sctime` binding is moved to the same instant).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Final

from drivers.ports import sim_serial_hub
from drivers.radio import Priority, TransparentConfig, TransparentRadio
from flight.deployments import resolve
from flight.emulation.rig import DELFT, EMULATION_DOWNLINK, EMULATION_UPLINK, HARTEBEESTHOEK
from flight.ground.dictionary import GroundDictionary
from flight.ground.files import GroundFiles
from flight.ground.link import GroundLink
from flight.ground.station import GroundStation
from flight.link.devkeys import GroundKeys
from flight.link.profile import LinkProfile
from flight.runtime import dictionary
from flight.runtime.deployment import Deployment
from flight.runtime.records import EventRecord
from flight.runtime.runtime import Runtime
from flight.runtime.topics import EVENTS
from flight.sim.channel import Endpoint, RadioChannel
from flight.sim.environment import Environment
from flight.sim.stations import Pass
from flight.svc.products import FileCategory, StoredFile, decode_header
from hal.clock import SimClock
from hal.serial import SerialPort, SerialSettings
from hal.storage import open_storage
from hal.time import utc_to_tai

EPOCH: Final = dt.datetime(2022, 4, 19, 19, 41, 0, tzinfo=dt.UTC)
"""UTC at clock reading 0: 114 s before the default TLE's satellite rises over Hartebeesthoek
(the emulator's default epoch, `flight.emulation.board.DEFAULT_EPOCH`)."""
STATIONS: Final = (HARTEBEESTHOEK, DELFT)
RADIO_URL: Final = "sim://radio"  # refsat's radio UART (its [hardware] radio binding)
GROUND_LINK: Final = "ground-radio"  # the simulated UART between the channel and the ground
BAUDRATE: Final = 115_200
INTERLEAVE: Final = 5
AIR_RATE_BPS: Final = 64_000
READ_OCTETS: Final = 4096  # a UART's receive buffer: more than a tick brings at 115200 baud
PASS_POLL_S: Final = 0.1  # the ground polls every tick in a pass ...
COAST_POLL_S: Final = 5.0  # ... and now and then out of contact (it notices loss of signal)


def utc(t: float) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=t)


def tai(t: float) -> float:
    """Spacecraft time (TAI seconds since 1958) at clock reading `t`."""
    return utc_to_tai(utc(t).replace(tzinfo=None))


def _uart(rt: Runtime, url: str) -> SerialPort:
    port = sim_serial_hub(rt.resources).create_port(
        url, rt.clock, SerialSettings.derive(baudrate=BAUDRATE, timeout=0, write_timeout=0))
    port.open()
    return port


class PassBridge:
    """Moves octets between the satellite's radio UART and the ground radio's UART through the
    environment's radio channels (see the module notes)."""

    def __init__(self, rt: Runtime, env: Environment) -> None:
        self.clock = rt.clock
        self.env = env
        self.channels: dict[str, RadioChannel] = env.channels
        self.space = _uart(rt, f"{RADIO_URL}?end=b")
        self.ground = _uart(rt, f"sim://{GROUND_LINK}")
        self.octets_unwritten = 0  # a UART's transmit FIFO was full: lost
        rt.executive.tick_hooks.append(self.service)

    @property
    def ground_url(self) -> str:
        return f"sim://{GROUND_LINK}?end=b"

    def carrier(self, t: float) -> RadioChannel:
        """The channel of the station carrying the link at `t` (the first that sees the
        satellite); out of view, the first channel, which drops and counts what is sent."""
        for channel in self.channels.values():
            if channel.schedule.in_view(t):
                return channel
        return next(iter(self.channels.values()))

    def service(self, _tick: int) -> None:
        t = self.clock.monotonic()
        down = self.space.read(READ_OCTETS)
        up = self.ground.read(READ_OCTETS)
        if down or up:
            channel = self.carrier(t)
            if down:
                channel.send(Endpoint.SPACE, t, down)
            if up:
                channel.send(Endpoint.GROUND, t, up)
        for channel in self.channels.values():
            if channel.next_arrival() is not None:
                for d in channel.deliveries(t):
                    port = self.ground if d.dest is Endpoint.GROUND else self.space
                    self.octets_unwritten += len(d.data) - port.write(d.data)

    def stats(self, source: Endpoint) -> tuple[int, int, int]:
        """(octets delivered, octets dropped out of view, bit errors) sent by `source`."""
        stats = [c.stats[source] for c in self.channels.values()]
        return (sum(s.bytes_delivered for s in stats), sum(s.bytes_dropped for s in stats),
                sum(s.bit_errors for s in stats))


class GroundRadio:
    """The ground's radio on its UART: CADUs as refsat's radio makes them (a `GroundLink`
    transport)."""

    def __init__(self, rt: Runtime, url: str) -> None:
        self.radio = TransparentRadio(_uart(rt, url), rt.clock, TransparentConfig(
            interleave=INTERLEAVE, air_rate_bps=AIR_RATE_BPS))

    def send(self, frame: bytes) -> bool:
        return self.radio.send(frame, Priority.REALTIME)

    def poll(self) -> list[bytes]:
        return self.radio.poll()


class DayInOrbit:
    """refsat, the environment, the bridge and the ground station (see the module notes)."""

    def __init__(self, folder: Path, *, disk: str, seed: int = 1) -> None:
        self.disk = disk
        self.folder = folder
        self.env = Environment(stations=STATIONS, start_utc=EPOCH, seed=seed,
                               air_rate_bps=AIR_RATE_BPS, downlink=EMULATION_DOWNLINK,
                               uplink=EMULATION_UPLINK)
        deployment = Deployment.load(resolve("refsat"))
        sctime = "epoch:" + EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ")
        rt = self.rt = deployment.build(clock=SimClock(), bindings={"nvm": disk,
                                                                    "sctime": sctime},
                                        seed=seed)
        self.events: list[EventRecord] = []
        rt.bus.subscribe(EVENTS, self.events.append, depth=1_000_000)
        self.bridge = PassBridge(rt, self.env)
        deployment.boot(rt)
        self.clock = rt.clock
        profile = LinkProfile.from_deployment("refsat")
        keys = GroundKeys.decode(open_storage(disk).load("sdls-ground.key"))
        link = GroundLink(profile, keys, self.clock, GroundRadio(rt, self.bridge.ground_url))
        files = GroundFiles(link, folder, wall_time=self.wall_time)
        self.station = GroundStation(GroundDictionary(dictionary.build(rt)), link, files=files,
                                     wait=self.wait, wall_time=self.wall_time,
                                     poll_interval_s=COAST_POLL_S, identify_timeout_s=60.0)

    # ------------------------------------------------------------ time

    def now(self) -> float:
        return self.clock.monotonic()

    def wall_time(self) -> float:
        return utc(self.now()).timestamp()

    def wait(self, deadline: float) -> None:
        self.rt.run(max(deadline - self.now(), 0.1))

    def run_until(self, t: float, *, poll_s: float = COAST_POLL_S) -> None:
        """Run to clock reading `t`, the ground station polling every `poll_s`."""
        self.station.poll_interval_s = poll_s
        if t > self.now():
            self.station.run_for(t - self.now())

    def passes(self, start: float, end: float) -> list[Pass]:
        return self.env.passes(start, end)

    # ------------------------------------------------------------ the satellite, for checks

    def component(self, name: str) -> Any:
        return self.rt.components[name]

    def event_times(self, name: str) -> list[tuple[float, tuple]]:
        self.rt.bus.pump()
        return [(e.time, e.args) for e in self.events
                if self.rt.registry.events[e.event_id].name == name]

    def stored_products(self) -> dict[str, tuple[StoredFile, bytes]]:
        """The data products in the satellite's non-volatile storage, by path, read from the
        store's blobs themselves (each carries its header and CRC-32C), not through the store."""
        backend = open_storage(self.disk).backend
        out: dict[str, tuple[StoredFile, bytes]] = {}
        for name in sorted(backend.names()):
            if name.startswith("f.") and name[2:].isdigit():
                blob = backend.read(name)
                info, start = decode_header(name, blob)
                if info.category is FileCategory.PRODUCT:
                    out[info.path] = (info, blob[start:])
        return out
