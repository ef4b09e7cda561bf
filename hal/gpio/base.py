"""The GPIO contract: input lines with timestamped edge events (a PPS, a radio's interrupt) and
output lines (a radio's enable, a reset line). Line settings are validated here, once; backends
apply them. Values are logical: with `active_low` a line reads True when the pin is low, and edges
are reported on the logical value, as the Linux GPIO character device does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum, IntEnum
from types import TracebackType
from typing import Final

CONSUMER_MAX: Final[int] = 31  # GPIO_MAX_NAME_SIZE - 1 for the terminating NUL
DEFAULT_CONSUMER: Final[str] = "autonomous-sky"


class Edge(IntEnum):
    """Edge event kinds, numbered as the kernel's gpio_v2_line_event_id."""

    RISING = 1
    FALLING = 2


class EdgeDetect(IntEnum):
    NONE = 0
    RISING = 1
    FALLING = 2
    BOTH = 3


class Bias(Enum):
    AS_IS = "as-is"
    PULL_UP = "pull-up"
    PULL_DOWN = "pull-down"
    DISABLED = "disabled"


class Drive(Enum):
    PUSH_PULL = "push-pull"
    OPEN_DRAIN = "open-drain"
    OPEN_SOURCE = "open-source"


class GpioError(OSError):
    """A GPIO operation failed: no such chip or line, line busy, I/O error."""


@dataclass(frozen=True)
class EdgeEvent:
    offset: int
    edge: Edge
    timestamp: float  # seconds on the monotonic clock (the kernel's CLOCK_MONOTONIC on Linux)
    seqno: int  # per request; a gap means events were lost to a full buffer
    line_seqno: int


@dataclass(frozen=True)
class LineConfig:
    output: bool
    edges: EdgeDetect = EdgeDetect.NONE
    bias: Bias = Bias.AS_IS
    drive: Drive = Drive.PUSH_PULL
    active_low: bool = False
    debounce_s: float = 0.0
    initial: bool = False
    consumer: str = DEFAULT_CONSUMER

    def __post_init__(self) -> None:
        if self.output and self.edges is not EdgeDetect.NONE:
            raise ValueError("edge detection is for input lines")
        if not self.output and self.drive is not Drive.PUSH_PULL:
            raise ValueError("drive (open drain/source) is for output lines")
        if not 0 <= self.debounce_s <= 4294.967295:
            raise ValueError(f"debounce {self.debounce_s} s is outside 0..4294.967295 s")
        if self.output and self.debounce_s:
            raise ValueError("debounce is for input lines")
        encoded = self.consumer.encode()
        if not encoded or len(encoded) > CONSUMER_MAX or b"\0" in encoded:
            raise ValueError(f"consumer label {self.consumer!r} must be 1..{CONSUMER_MAX} octets")


class _Line(ABC):
    def __init__(self, offset: int, config: LineConfig) -> None:
        self.offset = offset
        self.config = config
        self.closed = False

    def _check_open(self) -> None:
        if self.closed:
            raise GpioError(f"GPIO line {self.offset} was released")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._release()

    def __enter__(self) -> _Line:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def value(self) -> bool:
        """The line's logical value."""
        self._check_open()
        return self._get()

    @abstractmethod
    def _get(self) -> bool: ...

    @abstractmethod
    def _release(self) -> None: ...


class InputLine(_Line):
    def read_events(self, timeout: float | None = 0.0, max_events: int = 16) -> list[EdgeEvent]:
        """Edge events in order: at once if some are waiting, else wait up to `timeout` seconds
        (None: until one comes) for the first."""
        self._check_open()
        if self.config.edges is EdgeDetect.NONE:
            raise GpioError(f"GPIO line {self.offset} was requested without edge detection")
        if max_events < 1:
            raise ValueError(f"max_events must be at least 1, got {max_events}")
        if timeout is not None and not timeout >= 0:
            raise ValueError(f"timeout must be None or >= 0, got {timeout}")
        return self._read_events(timeout, max_events)

    @abstractmethod
    def _read_events(self, timeout: float | None, max_events: int) -> list[EdgeEvent]: ...


class OutputLine(_Line):
    def set(self, value: bool) -> None:
        """Drive the line's logical value."""
        self._check_open()
        self._set(bool(value))

    @abstractmethod
    def _set(self, value: bool) -> None: ...


class GpioChip(ABC):
    """A GPIO controller with `num_lines` lines, numbered by offset from 0."""

    num_lines: int

    def _check_offset(self, offset: int) -> None:
        if (
            isinstance(offset, bool)
            or not isinstance(offset, int)
            or not 0 <= offset < self.num_lines
        ):
            raise GpioError(f"line offset {offset!r} is not on this chip (0..{self.num_lines - 1})")

    def request_input(
        self,
        offset: int,
        *,
        edges: EdgeDetect = EdgeDetect.NONE,
        bias: Bias = Bias.AS_IS,
        active_low: bool = False,
        debounce_s: float = 0.0,
        consumer: str = DEFAULT_CONSUMER,
    ) -> InputLine:
        self._check_offset(offset)
        config = LineConfig(
            False, edges, bias, Drive.PUSH_PULL, active_low, debounce_s, consumer=consumer
        )
        return self._request_input(offset, config)

    def request_output(
        self,
        offset: int,
        *,
        initial: bool = False,
        drive: Drive = Drive.PUSH_PULL,
        bias: Bias = Bias.AS_IS,
        active_low: bool = False,
        consumer: str = DEFAULT_CONSUMER,
    ) -> OutputLine:
        self._check_offset(offset)
        config = LineConfig(
            True, EdgeDetect.NONE, bias, drive, active_low, 0.0, bool(initial), consumer
        )
        return self._request_output(offset, config)

    @abstractmethod
    def _request_input(self, offset: int, config: LineConfig) -> InputLine: ...

    @abstractmethod
    def _request_output(self, offset: int, config: LineConfig) -> OutputLine: ...

    @abstractmethod
    def close(self) -> None: ...
