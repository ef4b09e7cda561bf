"""Simulated I2C and SPI buses on the injected clock, answered by device models.

A transfer takes its wire time on the clock (9 clocks per I2C octet with its ACK, plus START,
address and STOP; 8 clocks per SPI octet), so a driver polling a sensor costs simulated time as it
would on the board. Faults are injected per bus: an I2C NACK (a given address or any), a bus
timeout that costs its timeout before failing, an SPI transfer error, a stuck MISO line; an SPI
mode the device does not speak shifts what it answers by one bit, as a CPHA mismatch does.
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from hal.bus.i2c import I2cBus, I2cBusTimeoutError, I2cError, I2cMessage, I2cNackError
from hal.bus.spi import SpiDevice, SpiError, SpiMode, SpiSegment, SpiSettings
from hal.clock import Clock

I2C_STANDARD_HZ: Final[int] = 100_000
I2C_FAST_HZ: Final[int] = 400_000


class I2cTarget(Protocol):
    """A device model on a simulated I2C bus. Raise `I2cNackError` to refuse an octet."""

    def i2c_write(self, data: bytes) -> None: ...

    def i2c_read(self, length: int) -> bytes: ...


@dataclass
class _Fault:
    count: int
    address: int | None = None
    duration_s: float = 0.0


class SimI2cBus(I2cBus):
    def __init__(
        self, clock: Clock, *, bitrate_hz: int = I2C_FAST_HZ, name: str = "sim-i2c"
    ) -> None:
        if bitrate_hz <= 0:
            raise ValueError(f"I2C bit rate must be positive, not {bitrate_hz}")
        self.clock = clock
        self.bitrate_hz = bitrate_hz
        self.name = name
        self.transfers = 0
        self.nacks = 0
        self.timeouts = 0
        self._targets: dict[int, I2cTarget] = {}
        self._nacks: list[_Fault] = []
        self._timeouts: list[_Fault] = []
        self._closed = False

    def attach(self, address: int, target: I2cTarget) -> None:
        I2cMessage.write(address, b"")  # validates the address
        if address in self._targets:
            raise ValueError(f"address 0x{address:02x} on {self.name} is taken")
        self._targets[address] = target

    def detach(self, address: int) -> None:
        del self._targets[address]

    def inject_nack(self, count: int = 1, *, address: int | None = None) -> None:
        """The next `count` transfers (to `address`, or any) are not acknowledged."""
        self._nacks.append(_Fault(count, address))

    def inject_timeout(self, count: int = 1, *, duration_s: float = 0.025) -> None:
        """The next `count` transfers hang for `duration_s` and fail with a bus timeout."""
        self._timeouts.append(_Fault(count, None, duration_s))

    @staticmethod
    def _take(faults: list[_Fault], address: int) -> _Fault | None:
        for fault in faults:
            if fault.address in (None, address):
                fault.count -= 1
                if fault.count == 0:
                    faults.remove(fault)
                return fault
        return None

    def _wire_time(self, messages: Sequence[I2cMessage]) -> float:
        clocks = sum(1 + 9 * (1 + m.octets) for m in messages) + 1  # STARTs, octets+ACK, STOP
        return clocks / self.bitrate_hz

    def close(self) -> None:
        self._closed = True

    def _transfer(self, messages: list[I2cMessage]) -> list[bytes]:
        address = messages[0].address
        if self._closed:
            raise I2cError(errno.EBADF, f"{self.name} is closed", address)
        self.transfers += 1
        timeout = self._take(self._timeouts, address)
        if timeout is not None:
            self.timeouts += 1
            self.clock.sleep_until(self.clock.monotonic() + timeout.duration_s)
            raise I2cBusTimeoutError(errno.ETIMEDOUT, f"{self.name}: bus timeout", address)
        self.clock.sleep_until(self.clock.monotonic() + self._wire_time(messages))
        results = []
        for message in messages:
            target = self._targets.get(message.address)
            if target is None or self._take(self._nacks, message.address) is not None:
                self.nacks += 1
                raise I2cNackError(
                    errno.ENXIO,
                    f"{self.name}: no ACK from 0x{message.address:02x}",
                    message.address,
                )
            try:
                if message.read:
                    results.append(target.i2c_read(message.length))
                else:
                    target.i2c_write(message.data)
            except I2cNackError:
                self.nacks += 1
                raise
        return results


class Tmp102:
    """A TMP102-class temperature sensor: a pointer register selects one of four 16-bit
    registers (temperature, configuration, T_low, T_high), read MSB first; temperature is 12 bits
    left-justified at 0.0625 degC per count. A pointer beyond 3 is not acknowledged."""

    TEMPERATURE: Final[int] = 0
    CONFIG: Final[int] = 1
    T_LOW: Final[int] = 2
    T_HIGH: Final[int] = 3
    LSB_C: Final[float] = 0.0625

    def __init__(self, address: int = 0x48, temperature_c: float = 20.0) -> None:
        self.address = address
        self.temperature_c = temperature_c
        self._pointer = self.TEMPERATURE
        self._registers = {self.CONFIG: 0x60A0, self.T_LOW: 75 << 8, self.T_HIGH: 80 << 8}

    @classmethod
    def encode(cls, temperature_c: float) -> int:
        counts = max(-2048, min(2047, round(temperature_c / cls.LSB_C)))
        return (counts & 0xFFF) << 4

    @classmethod
    def decode(cls, raw: int) -> float:
        counts = raw >> 4
        if counts & 0x800:
            counts -= 0x1000
        return counts * cls.LSB_C

    def i2c_write(self, data: bytes) -> None:
        if not data:
            return
        if data[0] > self.T_HIGH:
            raise I2cNackError(errno.EREMOTEIO, f"TMP102 pointer {data[0]} NACKed", self.address)
        self._pointer = data[0]
        if len(data) >= 3 and self._pointer != self.TEMPERATURE:
            self._registers[self._pointer] = (data[1] << 8) | data[2]

    def i2c_read(self, length: int) -> bytes:
        if self._pointer == self.TEMPERATURE:
            value = self.encode(self.temperature_c)
        else:
            value = self._registers[self._pointer]
        word = struct.pack(">H", value)
        return (word * ((length + 1) // 2))[:length]


class SpiTarget(Protocol):
    """A device model behind a chip select: told when CS falls, fed each segment, told when it
    rises."""

    mode: SpiMode
    max_speed_hz: int

    def select(self) -> None: ...

    def exchange(self, tx: bytes) -> bytes: ...

    def deselect(self) -> None: ...


class SpiRegisterDevice:
    """A register-map SPI device in the common style: the first octet is the register address
    with bit 7 set to read; the address then auto-increments."""

    READ: Final[int] = 0x80

    def __init__(
        self, registers: bytes, *, mode: SpiMode = SpiMode.MODE0, max_speed_hz: int = 10_000_000
    ) -> None:
        self.registers = bytearray(registers)
        self.mode = mode
        self.max_speed_hz = max_speed_hz
        self._address: int | None = None
        self._reading = False

    def select(self) -> None:
        self._address = None

    def deselect(self) -> None:
        self._address = None

    def exchange(self, tx: bytes) -> bytes:
        out = bytearray()
        for octet in tx:
            if self._address is None:
                self._reading = bool(octet & self.READ)
                self._address = octet & 0x7F
                out.append(0xFF)
                continue
            index = self._address % len(self.registers)
            if self._reading:
                out.append(self.registers[index])
            else:
                self.registers[index] = octet
                out.append(0xFF)
            self._address += 1
        return bytes(out)


def _shift_one_bit(data: bytes) -> bytes:
    """What a master sampling on the wrong clock edge reads: everything one bit late."""
    value = int.from_bytes(data, "big") >> 1 | (1 << (8 * len(data) - 1))
    return value.to_bytes(len(data), "big")


class SimSpiDevice(SpiDevice):
    def __init__(
        self,
        clock: Clock,
        target: SpiTarget,
        settings: SpiSettings | None = None,
        *,
        name: str = "sim-spi",
    ) -> None:
        super().__init__(name, settings)
        self.clock = clock
        self.target = target
        self.transfers = 0
        self.stuck_miso: int | None = None  # an octet value MISO reads as, whatever the device says
        self._errors = 0

    def inject_error(self, count: int = 1) -> None:
        """The next `count` messages fail in the controller (EIO), as on a DMA or FIFO fault."""
        self._errors += count

    # A model is always wired up and takes any setting; a mismatch shows in what it answers.
    def _open(self) -> None:
        return None

    def _close(self) -> None:
        return None

    def _apply(self, settings: SpiSettings) -> None:
        return None

    def _transfer(self, segments: list[SpiSegment]) -> list[bytes]:
        self.transfers += 1
        if self._errors:
            self._errors -= 1
            raise SpiError(errno.EIO, f"{self.name}: transfer failed (injected)")
        answers = []
        self.target.select()
        for segment in segments:
            speed = segment.speed_hz or self.settings.max_speed_hz
            self.clock.sleep_until(
                self.clock.monotonic() + 8 * len(segment.tx) / speed + segment.delay_us * 1e-6
            )
            rx = self.target.exchange(segment.tx)
            if self.settings.mode != self.target.mode or speed > self.target.max_speed_hz:
                rx = _shift_one_bit(rx)
            if self.stuck_miso is not None:
                rx = bytes([self.stuck_miso]) * len(rx)
            answers.append(rx)
            if segment.cs_change:
                self.target.deselect()
                self.target.select()
        self.target.deselect()
        return answers
