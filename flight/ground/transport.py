"""Frame transports for the ground link: the ground-side radio on a serial port, or a runtime's
bus (tests and simulations without radios)."""

from __future__ import annotations

from collections import deque
from typing import Any, Final

from drivers.radio import Priority, TransparentConfig, TransparentRadio
from flight.link.profile import LinkProfile
from hal.clock import Clock
from hal.serial import open_serial

DEFAULT_AIR_RATE_BPS: Final[int] = 64_000
DEFAULT_BAUDRATE: Final[int] = 115_200


class RadioTransport:
    """The ground's `TransparentRadio` (CADUs, Reed-Solomon) on a serial port, a TCP socket or a
    pseudo-terminal: anything `hal.serial.open_serial` opens (a device path, ``socket://host:port``,
    ``rfc2217://``, a pty path)."""

    def __init__(self, url: str, clock: Clock, profile: LinkProfile, *,
                 air_rate_bps: int = DEFAULT_AIR_RATE_BPS,
                 baudrate: int = DEFAULT_BAUDRATE) -> None:
        self.port = open_serial(url, clock=clock, baudrate=baudrate, timeout=0, write_timeout=0)
        self.radio = TransparentRadio(
            self.port, clock,
            TransparentConfig(interleave=profile.interleave, air_rate_bps=air_rate_bps),
        )

    def send(self, frame: bytes) -> bool:
        return self.radio.send(frame, Priority.REALTIME)

    def poll(self) -> list[bytes]:
        return self.radio.poll()

    def close(self) -> None:
        self.port.close()


class BusTransport:
    """A ground link attached to a runtime's software bus in place of two radios: frames sent
    are published where the radio component publishes what it receives, and the TM frames the
    downlink publishes are taken as if received. For tests on the simulated clock; call only
    from the thread that runs the runtime."""

    def __init__(self, runtime: Any, *, rx_topic: str = "radio.rx_frame",
                 tx_topic: str = "downlink.tx_frame", depth: int = 4096) -> None:
        self.bus = runtime.bus
        self.rx_topic = rx_topic
        self._frames: deque[tuple[int, bytes]] = deque()
        self.bus.subscribe(tx_topic, self._frames.append, depth=depth, name="ground.transport")

    def send(self, frame: bytes) -> bool:
        return self.bus.publish(self.rx_topic, frame)

    def poll(self) -> list[bytes]:
        frames = [frame for _, frame in self._frames]
        self._frames.clear()
        return frames
