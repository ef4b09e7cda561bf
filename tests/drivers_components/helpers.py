"""Small deployments for the driver components, and the far ends of their simulated ports."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from drivers.ports import sim_serial_hub
from drivers.radio import KissConfig, KissRadio, TransparentConfig, TransparentRadio
from drivers.radio.sik_sim import SimSikRadio
from flight.runtime.component import Component
from flight.runtime.deployment import Deployment
from flight.runtime.errors import ConfigError
from flight.runtime.records import EventRecord
from flight.runtime.runtime import Runtime
from flight.runtime.topics import EVENTS
from hal.clock import Clock
from hal.serial import SerialPort, SerialSettings


def build(text: str, clock: Clock, *, boot: bool = True) -> Runtime:
    """A runtime from deployment TOML; `rt.events` and `rt.messages[topic]` collect what flows."""
    dep = Deployment.parse(tomllib.loads(text), "test.toml")
    rt = dep.build(clock=clock)
    rt.events = []  # type: ignore[attr-defined]
    rt.bus.subscribe(EVENTS, rt.events.append, depth=100_000, name="test.events")  # type: ignore[attr-defined]
    rt.messages = {}  # type: ignore[attr-defined]
    for topic in ("gnss.fix", "radio.rx_frame", "radio.link"):
        rt.messages[topic] = []  # type: ignore[attr-defined]
        rt.bus.subscribe(topic, rt.messages[topic].append, depth=100_000, name=f"test.{topic}")  # type: ignore[attr-defined]
    if boot:
        dep.boot(rt)
    return rt


def named(rt: Runtime, prefix: str = "") -> list[tuple[str, float, tuple[Any, ...]]]:
    """(event name, time, args) of every event so far whose name starts with `prefix`."""
    assert rt.registry is not None
    out = []
    for record in rt.events:  # type: ignore[attr-defined]
        assert isinstance(record, EventRecord)
        name = rt.registry.events[record.event_id].name
        if name.startswith(prefix):
            out.append((name, record.time, record.args))
    return out


def names(rt: Runtime, prefix: str = "") -> list[str]:
    return [name for name, _, _ in named(rt, prefix)]


def far_end(component: Component, url: str, **settings: object) -> SerialPort:
    """Open the other end of a simulated link of the component's run."""
    hub = sim_serial_hub(component.context.resources)  # type: ignore[arg-type]
    port = hub.create_port(url, component.clock, SerialSettings.derive(**settings))
    port.open()
    return port


class GroundRadio(Component):
    """The ground side of the radio link: a radio driver on `sim://radio?end=b`, polled each
    cycle. Settings: mode, baudrate, interleave, beacon_s (send a frame that often; 0: never)."""

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.settings: dict[str, Any] = {}
        self.received: list[Any] = []
        self.driver: KissRadio | TransparentRadio | None = None
        self.beacon_s = 0.0
        self.beacons = 0
        self._next_beacon = 0.0

    def configure(self, config: Mapping[str, Any]) -> None:
        unknown = set(config) - {"mode", "baudrate", "interleave", "beacon_s", "air_rate_bps"}
        if unknown:
            raise ConfigError(sorted(unknown)[0], "unknown setting")
        self.settings = dict(config)
        self.beacon_s = float(config.get("beacon_s", 0.0))

    def init(self) -> None:
        s = self.settings
        port = far_end(
            self, "sim://radio?end=b", baudrate=s.get("baudrate", 57600), timeout=0, write_timeout=0
        )
        rate = s.get("air_rate_bps", 64000)
        if s.get("mode", "transparent") == "kiss":
            self.driver = KissRadio(
                port, self.clock, KissConfig(local="GND", destination="SAT1", air_rate_bps=rate)
            )
        else:
            self.driver = TransparentRadio(
                port,
                self.clock,
                TransparentConfig(air_rate_bps=rate, interleave=s.get("interleave", 1)),
            )

    def send(self, frame: bytes) -> bool:
        assert self.driver is not None
        return self.driver.send(frame)

    def cycle(self) -> None:
        assert self.driver is not None
        now = self.now()
        if self.beacon_s and now >= self._next_beacon:
            self._next_beacon = now + self.beacon_s
            self.beacons += 1
            if isinstance(self.driver, KissRadio):
                self.driver.send(b"beacon %d" % self.beacons)
            else:
                self.driver.send(
                    self.beacons.to_bytes(4, "big") * (self.driver.frame_length // 4)
                    + bytes(self.driver.frame_length % 4)
                )
        self.received += self.driver.poll()


class SikModem(Component):
    """A simulated SiK modem (`SimSikRadio`) on `sim://radio?end=b`, polled each cycle (run it
    in a 100 Hz group: the firmware's timer)."""

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.modem: SimSikRadio | None = None
        self.baudrate = 57600

    def configure(self, config: Mapping[str, Any]) -> None:
        self.baudrate = int(config.get("baudrate", 57600))

    def init(self) -> None:
        port = far_end(
            self, "sim://radio?end=b", baudrate=self.baudrate, timeout=0, write_timeout=0
        )
        self.modem = SimSikRadio(port, self.clock)

    def cycle(self) -> None:
        assert self.modem is not None
        self.modem.poll()
