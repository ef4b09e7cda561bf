"""GPIO through the Linux GPIO character device (`/dev/gpiochipN`), uAPI v2 (kernel 5.10+).

Each requested line gets its own request fd (GPIO_V2_GET_LINE_IOCTL); values go through
GPIO_V2_LINE_GET/SET_VALUES_IOCTL, and edge events are read from the request fd as
`struct gpio_v2_line_event` records carrying the kernel's CLOCK_MONOTONIC timestamp, the clock
`time.monotonic()` reads on Linux, so they line up with `MonotonicClock`.
The structures are packed with `struct`; the tests check every size, offset and request number
against the installed kernel headers.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import struct
from typing import Final

from hal._ioctl import ior, iowr
from hal.gpio.base import (
    Bias,
    Drive,
    Edge,
    EdgeDetect,
    EdgeEvent,
    GpioChip,
    GpioError,
    InputLine,
    LineConfig,
    OutputLine,
)

GPIO_MAX_NAME_SIZE: Final[int] = 32
GPIO_V2_LINES_MAX: Final[int] = 64
GPIO_V2_LINE_NUM_ATTRS_MAX: Final[int] = 10


class LineFlag:
    """enum gpio_v2_line_flag."""

    USED: Final[int] = 1 << 0
    ACTIVE_LOW: Final[int] = 1 << 1
    INPUT: Final[int] = 1 << 2
    OUTPUT: Final[int] = 1 << 3
    EDGE_RISING: Final[int] = 1 << 4
    EDGE_FALLING: Final[int] = 1 << 5
    OPEN_DRAIN: Final[int] = 1 << 6
    OPEN_SOURCE: Final[int] = 1 << 7
    BIAS_PULL_UP: Final[int] = 1 << 8
    BIAS_PULL_DOWN: Final[int] = 1 << 9
    BIAS_DISABLED: Final[int] = 1 << 10
    EVENT_CLOCK_REALTIME: Final[int] = 1 << 11


ATTR_ID_FLAGS: Final[int] = 1
ATTR_ID_OUTPUT_VALUES: Final[int] = 2
ATTR_ID_DEBOUNCE: Final[int] = 3

CHIP_INFO = struct.Struct("=32s32sI")
LINE_ATTRIBUTE = struct.Struct("=IIQ")  # id, padding, union {flags, values, debounce_period_us}
_CONFIG_HEAD = struct.Struct("=QI5I")
LINE_CONFIG_SIZE: Final[int] = _CONFIG_HEAD.size + GPIO_V2_LINE_NUM_ATTRS_MAX * (
    LINE_ATTRIBUTE.size + 8
)
_REQUEST_HEAD = struct.Struct(f"={GPIO_V2_LINES_MAX}I{GPIO_MAX_NAME_SIZE}s")
_REQUEST_TAIL = struct.Struct("=II5Ii")
LINE_REQUEST_SIZE: Final[int] = _REQUEST_HEAD.size + LINE_CONFIG_SIZE + _REQUEST_TAIL.size
LINE_VALUES = struct.Struct("=QQ")
LINE_EVENT = struct.Struct("=QIIII6I")
LINE_INFO = struct.Struct(f"=32s32sIIQ{GPIO_V2_LINE_NUM_ATTRS_MAX * LINE_ATTRIBUTE.size}x4I")

GPIO_GET_CHIPINFO_IOCTL: Final[int] = ior(0xB4, 0x01, CHIP_INFO.size)
GPIO_V2_GET_LINEINFO_IOCTL: Final[int] = iowr(0xB4, 0x05, LINE_INFO.size)
GPIO_V2_GET_LINE_IOCTL: Final[int] = iowr(0xB4, 0x07, LINE_REQUEST_SIZE)
GPIO_V2_LINE_GET_VALUES_IOCTL: Final[int] = iowr(0xB4, 0x0E, LINE_VALUES.size)
GPIO_V2_LINE_SET_VALUES_IOCTL: Final[int] = iowr(0xB4, 0x0F, LINE_VALUES.size)


def line_flags(config: LineConfig) -> int:
    flags = LineFlag.OUTPUT if config.output else LineFlag.INPUT
    if config.active_low:
        flags |= LineFlag.ACTIVE_LOW
    if config.edges & EdgeDetect.RISING:
        flags |= LineFlag.EDGE_RISING
    if config.edges & EdgeDetect.FALLING:
        flags |= LineFlag.EDGE_FALLING
    flags |= {
        Bias.AS_IS: 0,
        Bias.PULL_UP: LineFlag.BIAS_PULL_UP,
        Bias.PULL_DOWN: LineFlag.BIAS_PULL_DOWN,
        Bias.DISABLED: LineFlag.BIAS_DISABLED,
    }[config.bias]
    flags |= {
        Drive.PUSH_PULL: 0,
        Drive.OPEN_DRAIN: LineFlag.OPEN_DRAIN,
        Drive.OPEN_SOURCE: LineFlag.OPEN_SOURCE,
    }[config.drive]
    return flags


def pack_line_config(config: LineConfig) -> bytes:
    """struct gpio_v2_line_config for one line (mask bit 0 = the request's only line)."""
    attrs: list[tuple[int, int]] = []
    if config.output:
        attrs.append((ATTR_ID_OUTPUT_VALUES, int(config.initial)))
    if config.debounce_s:
        attrs.append((ATTR_ID_DEBOUNCE, round(config.debounce_s * 1e6)))
    out = bytearray(_CONFIG_HEAD.pack(line_flags(config), len(attrs), 0, 0, 0, 0, 0))
    for i in range(GPIO_V2_LINE_NUM_ATTRS_MAX):
        attr_id, value = attrs[i] if i < len(attrs) else (0, 0)
        out += LINE_ATTRIBUTE.pack(attr_id, 0, value)
        out += struct.pack("=Q", 1 if i < len(attrs) else 0)
    return bytes(out)


def pack_line_request(offset: int, config: LineConfig, event_buffer_size: int = 0) -> bytes:
    """struct gpio_v2_line_request for one line; the kernel writes the new fd in its last field."""
    offsets = [offset] + [0] * (GPIO_V2_LINES_MAX - 1)
    return (
        _REQUEST_HEAD.pack(*offsets, config.consumer.encode())
        + pack_line_config(config)
        + _REQUEST_TAIL.pack(1, event_buffer_size, 0, 0, 0, 0, 0, -1)
    )


def unpack_line_events(data: bytes) -> list[EdgeEvent]:
    events = []
    for pos in range(0, len(data) - LINE_EVENT.size + 1, LINE_EVENT.size):
        ts_ns, event_id, offset, seqno, line_seqno, *_ = LINE_EVENT.unpack_from(data, pos)
        events.append(EdgeEvent(offset, Edge(event_id), ts_ns / 1e9, seqno, line_seqno))
    return events


def _ioctl(fd: int, request: int, arg: bytes, what: str) -> bytes:
    buf = bytearray(arg)
    try:
        fcntl.ioctl(fd, request, buf, True)
    except OSError as exc:
        raise GpioError(exc.errno, f"{what}: {os.strerror(exc.errno or 0)}") from exc
    return bytes(buf)


class _LinuxLine:
    def __init__(self, fd: int) -> None:
        self._fd = fd

    def _get_value(self) -> bool:
        reply = _ioctl(self._fd, GPIO_V2_LINE_GET_VALUES_IOCTL, LINE_VALUES.pack(0, 1), "get value")
        return bool(LINE_VALUES.unpack(reply)[0] & 1)

    def _close_fd(self) -> None:
        os.close(self._fd)


class LinuxInputLine(_LinuxLine, InputLine):
    def __init__(self, offset: int, config: LineConfig, fd: int) -> None:
        InputLine.__init__(self, offset, config)
        _LinuxLine.__init__(self, fd)

    def fileno(self) -> int:
        """The request fd, readable when edge events wait: for a poll loop."""
        return self._fd

    def _get(self) -> bool:
        return self._get_value()

    def _read_events(self, timeout: float | None, max_events: int) -> list[EdgeEvent]:
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return []
        try:
            data = os.read(self._fd, LINE_EVENT.size * max_events)
        except OSError as exc:
            raise GpioError(exc.errno, f"reading edge events of line {self.offset}") from exc
        return unpack_line_events(data)

    def _release(self) -> None:
        self._close_fd()


class LinuxOutputLine(_LinuxLine, OutputLine):
    def __init__(self, offset: int, config: LineConfig, fd: int) -> None:
        OutputLine.__init__(self, offset, config)
        _LinuxLine.__init__(self, fd)

    def _get(self) -> bool:
        return self._get_value()

    def _set(self, value: bool) -> None:
        _ioctl(
            self._fd, GPIO_V2_LINE_SET_VALUES_IOCTL, LINE_VALUES.pack(int(value), 1), "set value"
        )

    def _release(self) -> None:
        self._close_fd()


class LinuxGpioChip(GpioChip):
    def __init__(self, path: str = "/dev/gpiochip0") -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            hint = (
                " (no such chip: is the board's GPIO controller enabled and is this the right "
                "/dev/gpiochipN?)"
                if exc.errno == errno.ENOENT
                else ""
            )
            raise GpioError(
                exc.errno, f"cannot open GPIO chip {path}: {exc.strerror}{hint}"
            ) from exc
        try:
            info = _ioctl(self._fd, GPIO_GET_CHIPINFO_IOCTL, bytes(CHIP_INFO.size), f"{path} info")
        except GpioError:
            os.close(self._fd)
            raise
        name, label, lines = CHIP_INFO.unpack(info)
        self.name = name.rstrip(b"\0").decode(errors="replace")
        self.label = label.rstrip(b"\0").decode(errors="replace")
        self.num_lines = lines

    def find_line(self, name: str) -> int:
        """The offset of the line the device tree names `name` (e.g. "GPS_PPS")."""
        for offset in range(self.num_lines):
            query = LINE_INFO.pack(b"", b"", offset, 0, 0, 0, 0, 0, 0)
            info = _ioctl(self._fd, GPIO_V2_GET_LINEINFO_IOCTL, query, f"{self.path} line {offset}")
            if LINE_INFO.unpack(info)[0].rstrip(b"\0").decode(errors="replace") == name:
                return offset
        raise GpioError(errno.ENOENT, f"no line named {name!r} on {self.path}")

    def _request(self, offset: int, config: LineConfig) -> int:
        reply = _ioctl(
            self._fd,
            GPIO_V2_GET_LINE_IOCTL,
            pack_line_request(offset, config),
            f"request line {offset} of {self.path}",
        )
        return struct.unpack_from("=i", reply, LINE_REQUEST_SIZE - 4)[0]

    def _request_input(self, offset: int, config: LineConfig) -> InputLine:
        return LinuxInputLine(offset, config, self._request(offset, config))

    def _request_output(self, offset: int, config: LineConfig) -> OutputLine:
        return LinuxOutputLine(offset, config, self._request(offset, config))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
