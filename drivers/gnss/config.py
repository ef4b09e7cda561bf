"""Configure a u-blox receiver with UBX commands and wait for each one's ACK, with retries.

Builders give complete frames for the commands a flight receiver needs: message output rates
(CFG-MSG), the navigation rate (CFG-RATE), the dynamic platform model (CFG-NAV5, e.g. airborne
< 4 g), and the generation-9 key/value interface (CFG-VALSET) for M9/F9/M10 receivers.

`Configurator.send(frame)` writes a command to a serial-like port and reads until the receiver
answers ACK-ACK or ACK-NAK for that class/id, or the attempt's deadline passes on the injected
clock; it then retries, and finally reports a timeout. It never raises on what the receiver does
(silence, garbage, a port error): every outcome is a `ConfigResult` and a counter. A `cancelled`
callable (the runtime stopping) ends a wait early with a CANCELLED result.

`cfg_rst` restarts the receiver (hot, warm or cold start); the receiver does not acknowledge it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum, IntFlag, StrEnum
from typing import Final, Protocol

from drivers.gnss import ubx
from drivers.gnss.fix import Fix
from drivers.gnss.stream import Message, StreamDecoder
from hal.clock import Clock


class DynamicModel(IntEnum):
    """CFG-NAV5 dynModel / CFG-NAVSPG-DYNMODEL."""

    PORTABLE = 0
    STATIONARY = 2
    PEDESTRIAN = 3
    AUTOMOTIVE = 4
    SEA = 5
    AIRBORNE_1G = 6
    AIRBORNE_2G = 7
    AIRBORNE_4G = 8
    WRIST = 9
    BIKE = 10


class TimeRef(IntEnum):
    UTC = 0
    GPS = 1
    GLONASS = 2
    BEIDOU = 3
    GALILEO = 4


class Layer(IntFlag):
    """CFG-VALSET layers."""

    RAM = 0x01
    BBR = 0x02
    FLASH = 0x04


# CFG-VALSET key IDs (u-blox generation 9 interface description); the size is in bits 28-30.
CFG_RATE_MEAS: Final = 0x30210001
CFG_RATE_NAV: Final = 0x30210002
CFG_RATE_TIMEREF: Final = 0x20210003
CFG_NAVSPG_DYNMODEL: Final = 0x20110021
CFG_MSGOUT_UBX_NAV_PVT_UART1: Final = 0x20910007
CFG_MSGOUT_UBX_NAV_SAT_UART1: Final = 0x20910016
CFG_MSGOUT_UBX_NAV_TIMEUTC_UART1: Final = 0x2091005C
_VALUE_SIZE: Final = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8}  # key size code -> value octets
_NAV5_MASK_DYN: Final = 0x0001


class StartMode(IntEnum):
    """CFG-RST navBbrMask: which battery-backed navigation data the restart clears."""

    HOT = 0x0000
    WARM = 0x0001  # ephemerides
    COLD = 0xFFFF  # everything: ephemerides, almanac, position, clock


RESET_GNSS_ONLY: Final = 0x02  # CFG-RST resetMode: controlled restart of the GNSS tasks only


class Port(IntEnum):
    """u-blox I/O port numbers (the order of CFG-MSG's per-port rates)."""

    DDC = 0
    UART1 = 1
    UART2 = 2
    USB = 3
    SPI = 4


def cfg_msg(msg_class: int, msg_id: int, rate: int, ports: Iterable[Port] | None = None) -> bytes:
    """Output `msg_class/msg_id` once every `rate` navigation epochs, on the port we talk on
    (the short form) or on the listed ports (the six-rate form, other ports off)."""
    if ports is None:
        payload = struct.pack("<BBB", msg_class, msg_id, rate)
    else:
        rates = bytearray(6)
        for port in ports:
            rates[port] = rate
        payload = struct.pack("<BB", msg_class, msg_id) + bytes(rates)
    return ubx.frame(ubx.MsgClass.CFG, ubx.CfgId.MSG, payload)


def cfg_rate(meas_ms: int, nav_cycles: int = 1, time_ref: TimeRef = TimeRef.GPS) -> bytes:
    """Measurement period in ms, navigation solutions per measurement cycle, time reference."""
    payload = struct.pack("<HHH", meas_ms, nav_cycles, time_ref)
    return ubx.frame(ubx.MsgClass.CFG, ubx.CfgId.RATE, payload)


def cfg_nav5(model: DynamicModel) -> bytes:
    """Set only the dynamic platform model (the mask leaves every other setting untouched)."""
    payload = struct.pack("<HB33x", _NAV5_MASK_DYN, model)
    return ubx.frame(ubx.MsgClass.CFG, ubx.CfgId.NAV5, payload)


def cfg_rst(start: StartMode) -> bytes:
    """Restart the receiver's navigation (not the whole chip): no ACK follows."""
    payload = struct.pack("<HBx", start, RESET_GNSS_ONLY)
    return ubx.frame(ubx.MsgClass.CFG, ubx.CfgId.RST, payload)


def cfg_valset(items: Sequence[tuple[int, int]], layers: Layer = Layer.RAM) -> bytes:
    """Set configuration keys (key ID, value); the value width comes from the key ID."""
    payload = bytearray(struct.pack("<BBxx", 0, layers))
    for key, value in items:
        size = _VALUE_SIZE.get((key >> 28) & 0x7)
        if size is None:
            raise ValueError(f"key {key:#010x} has no valid size code ({(key >> 28) & 0x7})")
        payload += struct.pack("<I", key)
        payload += value.to_bytes(size, "little", signed=value < 0)
    return ubx.frame(ubx.MsgClass.CFG, ubx.CfgId.VALSET, bytes(payload))


class SerialLike(Protocol):
    """What the configurator needs of a port: pyserial's Serial, hal serial ports, test doubles.

    `read(n)` returns what has arrived, up to n octets, waiting at most the port's timeout.
    """

    def write(self, data: bytes, /) -> int | None: ...

    def read(self, size: int = 1, /) -> bytes: ...


class Outcome(StrEnum):
    ACKED = "acked"
    NAKED = "naked"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class ConfigResult:
    command: str  # e.g. "CFG-RATE"
    msg_class: int
    msg_id: int
    outcome: Outcome
    attempts: int
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.ACKED


@dataclass(slots=True)
class ConfigCounters:
    commands: int = 0
    writes: int = 0
    acked: int = 0
    naked: int = 0
    timeouts: int = 0
    retries: int = 0
    port_errors: int = 0
    cancelled: int = 0


class Configurator:
    """Sends commands and waits for their ACK on the injected clock.

    All bytes read while waiting go through a `StreamDecoder` (its own, or the driver's when that
    one routes its messages to `on_message`), so fixes that arrive meanwhile are kept in `fixes`.
    """

    def __init__(
        self,
        port: SerialLike,
        clock: Clock,
        *,
        timeout_s: float = 1.0,
        retries: int = 2,
        poll_s: float = 0.02,
        read_size: int = 512,
        decoder: StreamDecoder | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        self._port = port
        self._clock = clock
        self.timeout_s = timeout_s
        self.retries = retries
        self.poll_s = poll_s
        self.read_size = read_size
        self.decoder = decoder if decoder is not None else StreamDecoder(self.on_message)
        self.counters = ConfigCounters()
        self.fixes: list[Fix] = []
        self._acks: list[ubx.Ack] = []
        self._cancelled = cancelled if cancelled is not None else _never

    def on_message(self, message: Message) -> None:
        if type(message) is ubx.Ack:
            self._acks.append(message)

    def send(self, command: bytes) -> ConfigResult:
        msg_class, msg_id = command[2], command[3]
        name = _command_name(msg_class, msg_id)
        c = self.counters
        c.commands += 1
        start = self._clock.monotonic()
        attempts = 0
        for attempt in range(1, self.retries + 2):
            if self._cancelled():
                c.cancelled += 1
                return ConfigResult(
                    name, msg_class, msg_id, Outcome.CANCELLED, attempts,
                    self._clock.monotonic() - start,
                )  # fmt: skip
            attempts = attempt
            if attempt > 1:
                c.retries += 1
            self._acks.clear()
            try:
                self._port.write(command)
                c.writes += 1
            except OSError:
                c.port_errors += 1
            outcome = self._await_ack(msg_class, msg_id)
            if outcome is not None:
                if outcome is Outcome.ACKED:
                    c.acked += 1
                else:
                    c.naked += 1
                return ConfigResult(
                    name, msg_class, msg_id, outcome, attempts, self._clock.monotonic() - start
                )
        c.timeouts += 1
        return ConfigResult(
            name, msg_class, msg_id, Outcome.TIMEOUT, attempts, self._clock.monotonic() - start
        )

    def apply(self, commands: Iterable[bytes]) -> list[ConfigResult]:
        """Send each command in turn; a failed one does not stop the rest."""
        return [self.send(command) for command in commands]

    def _await_ack(self, msg_class: int, msg_id: int) -> Outcome | None:
        clock = self._clock
        deadline = clock.monotonic() + self.timeout_s
        while True:
            try:
                data = self._port.read(self.read_size)
            except OSError:
                self.counters.port_errors += 1
                data = b""
            if data:
                self.fixes += self.decoder.feed(data)
                for ack in self._acks:
                    if ack.msg_class == msg_class and ack.msg_id == msg_id:
                        return Outcome.ACKED if ack.acknowledged else Outcome.NAKED
                self._acks.clear()
            now = clock.monotonic()
            if now >= deadline or self._cancelled():
                return None
            if not data:
                clock.sleep_until(min(deadline, now + self.poll_s))


def _never() -> bool:
    return False


def _command_name(msg_class: int, msg_id: int) -> str:
    if msg_class == ubx.MsgClass.CFG:
        try:
            return f"CFG-{ubx.CfgId(msg_id).name}"
        except ValueError:
            pass
    return f"UBX-{msg_class:02X}-{msg_id:02X}"


def flight_profile(
    rate_ms: int = 1000, model: DynamicModel = DynamicModel.AIRBORNE_4G
) -> list[bytes]:
    """A receiver set up for this driver (u-blox 6-8 messages): NAV-PVT, NAV-TIMEUTC and NAV-SAT
    every epoch, the given navigation rate and dynamic model."""
    return [
        cfg_msg(ubx.MsgClass.NAV, ubx.NavId.PVT, 1),
        cfg_msg(ubx.MsgClass.NAV, ubx.NavId.TIMEUTC, 1),
        cfg_msg(ubx.MsgClass.NAV, ubx.NavId.SAT, 1),
        cfg_rate(rate_ms),
        cfg_nav5(model),
    ]
