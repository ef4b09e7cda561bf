"""Linux I2C (`/dev/i2c-N`, I2C_RDWR) and SPI (`/dev/spidevB.C`, SPI_IOC_MESSAGE) backends.

Both go straight to the kernel's ioctls through `fcntl` and `ctypes`, with no compiled
dependency. Buffers are ctypes arrays that stay alive for the duration of the ioctl; the
structures' layouts and request numbers are checked against the kernel headers by the tests.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import struct
from typing import Final

from hal._ioctl import iow
from hal.bus.i2c import I2cBus, I2cBusTimeoutError, I2cError, I2cMessage, I2cNackError
from hal.bus.spi import SpiDevice, SpiError, SpiSegment, SpiSettings

I2C_RDWR: Final[int] = 0x0707
I2C_M_RD: Final[int] = 0x0001
#: Errors a Linux I2C adapter driver returns when the target does not acknowledge.
_NACK_ERRNOS: Final[frozenset[int]] = frozenset({errno.ENXIO, errno.EREMOTEIO})


class I2cMsg(ctypes.Structure):
    """struct i2c_msg (linux/i2c.h)."""

    _fields_ = [
        ("addr", ctypes.c_uint16),
        ("flags", ctypes.c_uint16),
        ("len", ctypes.c_uint16),
        ("buf", ctypes.POINTER(ctypes.c_uint8)),
    ]


class I2cRdwrIoctlData(ctypes.Structure):
    """struct i2c_rdwr_ioctl_data (linux/i2c-dev.h)."""

    _fields_ = [("msgs", ctypes.POINTER(I2cMsg)), ("nmsgs", ctypes.c_uint32)]


def _open_device(path: str, kind: str) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        hint = {
            errno.ENOENT: f" (no such device: is the {kind} driver loaded and enabled in the "
            "device tree?)",
            errno.EACCES: " (permission denied: run as a member of the device's group)",
        }.get(exc.errno or 0, "")
        raise OSError(exc.errno, f"cannot open {kind} device {path}: {exc.strerror}{hint}") from exc


class LinuxI2cBus(I2cBus):
    def __init__(self, path: str = "/dev/i2c-1") -> None:
        self.path = path
        try:
            self._fd = _open_device(path, "I2C")
        except OSError as exc:
            raise I2cError(exc.errno or 0, str(exc.strerror)) from exc

    def _transfer(self, messages: list[I2cMessage]) -> list[bytes]:
        buffers = [
            (ctypes.c_uint8 * max(1, m.octets))(*([] if m.read else m.data)) for m in messages
        ]
        msgs = (I2cMsg * len(messages))()
        for i, (m, buf) in enumerate(zip(messages, buffers, strict=True)):
            msgs[i] = I2cMsg(
                m.address,
                I2C_M_RD if m.read else 0,
                m.octets,
                ctypes.cast(buf, ctypes.POINTER(ctypes.c_uint8)),
            )
        rdwr = I2cRdwrIoctlData(msgs, len(messages))
        try:
            fcntl.ioctl(self._fd, I2C_RDWR, rdwr)
        except OSError as exc:
            address = messages[0].address
            text = f"I2C transfer to 0x{address:02x} on {self.path}: {os.strerror(exc.errno or 0)}"
            if exc.errno in _NACK_ERRNOS:
                raise I2cNackError(exc.errno or 0, text, address) from exc
            if exc.errno == errno.ETIMEDOUT:
                raise I2cBusTimeoutError(exc.errno, text, address) from exc
            raise I2cError(exc.errno or 0, text, address) from exc
        return [bytes(buf[: m.length]) for m, buf in zip(messages, buffers, strict=True) if m.read]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


SPI_IOC_MAGIC: Final[int] = ord("k")
SPI_IOC_TRANSFER = struct.Struct("=QQIIHBBBBBB")  # struct spi_ioc_transfer, 32 octets
SPI_IOC_WR_MODE: Final[int] = iow(SPI_IOC_MAGIC, 1, 1)
SPI_IOC_WR_LSB_FIRST: Final[int] = iow(SPI_IOC_MAGIC, 2, 1)
SPI_IOC_WR_BITS_PER_WORD: Final[int] = iow(SPI_IOC_MAGIC, 3, 1)
SPI_IOC_WR_MAX_SPEED_HZ: Final[int] = iow(SPI_IOC_MAGIC, 4, 4)


def spi_ioc_message(n: int) -> int:
    """SPI_IOC_MESSAGE(N)."""
    return iow(SPI_IOC_MAGIC, 0, n * SPI_IOC_TRANSFER.size)


def pack_spi_transfer(
    tx_addr: int, rx_addr: int, length: int, segment: SpiSegment, settings: SpiSettings
) -> bytes:
    return SPI_IOC_TRANSFER.pack(
        tx_addr,
        rx_addr,
        length,
        segment.speed_hz or settings.max_speed_hz,
        segment.delay_us,
        settings.bits_per_word,
        int(segment.cs_change),
        0,
        0,
        0,
        0,
    )


class LinuxSpiDevice(SpiDevice):
    def __init__(self, path: str = "/dev/spidev0.0", settings: SpiSettings | None = None) -> None:
        super().__init__(path, settings)
        self.path = path
        self._fd = -1

    def _open(self) -> None:
        try:
            self._fd = _open_device(self.path, "SPI")
        except OSError as exc:
            raise SpiError(exc.errno, exc.strerror) from exc

    def _close(self) -> None:
        os.close(self._fd)
        self._fd = -1

    def _ioctl(self, request: int, arg: bytes, what: str) -> None:
        try:
            fcntl.ioctl(self._fd, request, bytearray(arg), True)
        except OSError as exc:
            raise SpiError(
                exc.errno, f"{what} on {self.path}: {os.strerror(exc.errno or 0)}"
            ) from exc

    def _apply(self, settings: SpiSettings) -> None:
        self._ioctl(SPI_IOC_WR_MODE, bytes([settings.mode]), f"SPI mode {settings.mode}")
        self._ioctl(SPI_IOC_WR_LSB_FIRST, bytes([settings.lsb_first]), "bit order")
        self._ioctl(SPI_IOC_WR_BITS_PER_WORD, bytes([settings.bits_per_word]), "word size")
        self._ioctl(
            SPI_IOC_WR_MAX_SPEED_HZ,
            struct.pack("=I", settings.max_speed_hz),
            f"clock {settings.max_speed_hz} Hz",
        )

    def _transfer(self, segments: list[SpiSegment]) -> list[bytes]:
        tx = [ctypes.create_string_buffer(s.tx, len(s.tx)) for s in segments]
        rx = [ctypes.create_string_buffer(len(s.tx)) for s in segments]
        message = b"".join(
            pack_spi_transfer(ctypes.addressof(t), ctypes.addressof(r), len(s.tx), s, self.settings)
            for s, t, r in zip(segments, tx, rx, strict=True)
        )
        self._ioctl(spi_ioc_message(len(segments)), message, f"SPI message of {len(segments)}")
        return [r.raw for r in rx]
