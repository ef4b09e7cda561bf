"""The I2C bus contract: combined transfers (one STOP at the end), and the register reads and
writes sensors use. Messages are validated here, once; backends only move them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Final

MAX_MESSAGES: Final[int] = 42  # I2C_RDWR_IOCTL_MAX_MSGS
MAX_MESSAGE_LENGTH: Final[int] = 8192  # the kernel's limit per i2c_msg
MAX_ADDRESS: Final[int] = 0x7F  # 7-bit addressing


class I2cError(OSError):
    """A transfer failed; `address` names the target when there is one."""

    def __init__(self, errno_: int, message: str, address: int | None = None) -> None:
        super().__init__(errno_, message)
        self.address = address


class I2cNackError(I2cError):
    """The target did not acknowledge its address or a data octet (absent, busy, bad register)."""


class I2cBusTimeoutError(I2cError):
    """The bus did not complete the transfer in time (a target stretching SCL, a stuck SDA)."""


@dataclass(frozen=True)
class I2cMessage:
    address: int
    read: bool
    data: bytes = b""  # what a write sends
    length: int = 0  # how many octets a read takes

    def __post_init__(self) -> None:
        if isinstance(self.address, bool) or not 0 <= self.address <= MAX_ADDRESS:
            raise ValueError(f"I2C address {self.address!r} is not a 7-bit address")
        if self.read:
            if self.data:
                raise ValueError("a read message carries a length, not data")
            if not 1 <= self.length <= MAX_MESSAGE_LENGTH:
                raise ValueError(f"read length {self.length} is outside 1..{MAX_MESSAGE_LENGTH}")
        else:
            if self.length:
                raise ValueError("a write message carries data, not a length")
            if len(self.data) > MAX_MESSAGE_LENGTH:
                raise ValueError(f"write of {len(self.data)} octets exceeds {MAX_MESSAGE_LENGTH}")

    @classmethod
    def write(cls, address: int, data: bytes) -> I2cMessage:
        return cls(address, False, bytes(data))

    @classmethod
    def read_of(cls, address: int, length: int) -> I2cMessage:
        return cls(address, True, length=length)

    @property
    def octets(self) -> int:
        return self.length if self.read else len(self.data)


class I2cBus(ABC):
    def transfer(self, messages: Sequence[I2cMessage]) -> list[bytes]:
        """Run the messages as one combined transfer (repeated STARTs, one STOP); return what
        each read message got, in order."""
        if not 1 <= len(messages) <= MAX_MESSAGES:
            raise ValueError(f"a transfer holds 1..{MAX_MESSAGES} messages, not {len(messages)}")
        return self._transfer(list(messages))

    def write(self, address: int, data: bytes) -> None:
        self.transfer([I2cMessage.write(address, data)])

    def read(self, address: int, length: int) -> bytes:
        return self.transfer([I2cMessage.read_of(address, length)])[0]

    def write_read(self, address: int, data: bytes, length: int) -> bytes:
        """Write then read with a repeated START, so no other master can get in between."""
        return self.transfer(
            [I2cMessage.write(address, data), I2cMessage.read_of(address, length)]
        )[0]

    def read_register(self, address: int, register: int, length: int = 1) -> bytes:
        return self.write_read(address, bytes([register]), length)

    def write_register(self, address: int, register: int, data: bytes) -> None:
        self.write(address, bytes([register]) + bytes(data))

    @abstractmethod
    def _transfer(self, messages: list[I2cMessage]) -> list[bytes]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> I2cBus:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
