"""The SPI device contract: one chip select on a bus, full-duplex transfers under one CS
assertion, and settings (mode, clock, word size) validated here and applied by the backend when
the device is open (stored until then, as pyserial does for a port)."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from types import TracebackType
from typing import Final

MAX_SEGMENTS: Final[int] = 511  # SPI_IOC_MESSAGE(N): N * 32 octets must fit 14 bits


class SpiMode(IntEnum):
    """CPOL << 1 | CPHA."""

    MODE0 = 0
    MODE1 = 1
    MODE2 = 2
    MODE3 = 3


class SpiError(OSError):
    """A transfer or setting the controller refused or failed."""


@dataclass(frozen=True)
class SpiSettings:
    mode: SpiMode = SpiMode.MODE0
    max_speed_hz: int = 1_000_000
    bits_per_word: int = 8
    lsb_first: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", SpiMode(self.mode))
        if (
            isinstance(self.max_speed_hz, bool)
            or not isinstance(self.max_speed_hz, int)
            or not (0 < self.max_speed_hz < 1 << 32)
        ):
            raise ValueError(
                f"SPI clock {self.max_speed_hz!r} Hz must be a positive 32-bit integer"
            )
        if self.bits_per_word != 8:
            raise ValueError(f"only 8-bit words are supported, not {self.bits_per_word}")


@dataclass(frozen=True)
class SpiSegment:
    """One part of a message: `tx` clocked out while as many octets are clocked in."""

    tx: bytes
    speed_hz: int | None = None  # None: the device's max_speed_hz
    delay_us: int = 0  # after this segment, before the next (or before CS is released)
    cs_change: bool = False  # release CS after this segment

    def __post_init__(self) -> None:
        if not self.tx:
            raise ValueError("an SPI segment moves at least one octet")
        if not 0 <= self.delay_us <= 0xFFFF:
            raise ValueError(f"delay {self.delay_us} us is outside 0..65535")
        if self.speed_hz is not None and not 0 < self.speed_hz < 1 << 32:
            raise ValueError(f"segment clock {self.speed_hz} Hz must be a positive 32-bit integer")


class SpiDevice(ABC):
    def __init__(self, name: str, settings: SpiSettings | None = None) -> None:
        self.name = name
        self._settings = settings or SpiSettings()
        self._is_open = False

    @property
    def settings(self) -> SpiSettings:
        return self._settings

    def configure(self, **changes: object) -> None:
        new = dataclasses.replace(self._settings, **changes)  # type: ignore[arg-type]
        if self._is_open:
            self._apply(new)
        self._settings = new

    @property
    def is_open(self) -> bool:
        return self._is_open

    def open(self) -> None:
        if self._is_open:
            raise SpiError(f"SPI device {self.name} is already open")
        self._open()
        try:
            self._apply(self._settings)
        except BaseException:
            self._close()
            raise
        self._is_open = True

    def close(self) -> None:
        if self._is_open:
            self._is_open = False
            self._close()

    def __enter__(self) -> SpiDevice:
        if not self._is_open:
            self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def transfer_segments(self, segments: Sequence[SpiSegment]) -> list[bytes]:
        """One message: the segments in order under one chip select (unless cs_change)."""
        if not self._is_open:
            raise SpiError(f"SPI device {self.name} is not open")
        if not 1 <= len(segments) <= MAX_SEGMENTS:
            raise ValueError(f"a message holds 1..{MAX_SEGMENTS} segments, not {len(segments)}")
        return self._transfer(list(segments))

    def transfer(self, tx: bytes) -> bytes:
        """Full duplex: clock out `tx`, return what came in meanwhile."""
        return self.transfer_segments([SpiSegment(bytes(tx))])[0]

    def write_then_read(self, tx: bytes, length: int) -> bytes:
        """A command then `length` octets of answer (zeros clocked out), under one CS."""
        if length < 1:
            raise ValueError(f"read length must be at least 1, not {length}")
        return self.transfer_segments([SpiSegment(bytes(tx)), SpiSegment(bytes(length))])[1]

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _apply(self, settings: SpiSettings) -> None: ...

    @abstractmethod
    def _transfer(self, segments: list[SpiSegment]) -> list[bytes]: ...
