"""The serial port contract: settings validated once here, applied by each backend.

Borrowed from pyserial: a setting changed on a closed port is stored and takes effect when the port
opens; on an open port it takes effect at once. Unlike pyserial, the contract is an explicit ABC, so
a backend that forgets a method fails at construction, not at the first call in orbit.

Timeouts follow pyserial: `None` blocks until the request is satisfied, `0` never blocks, and a
positive number bounds the wait in seconds on the port's clock (`port.clock`).
"""

from __future__ import annotations

import dataclasses
import functools
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Final

from hal.clock import Clock

BYTESIZES: Final[frozenset[int]] = frozenset({5, 6, 7, 8})
STOPBITS: Final[frozenset[float]] = frozenset({1, 1.5, 2})


class Parity(StrEnum):
    NONE = "N"
    EVEN = "E"
    ODD = "O"
    MARK = "M"
    SPACE = "S"


class SerialError(OSError):
    """A serial port failed to do what was asked (device gone, I/O error, port busy)."""


class PortNotOpenError(SerialError):
    def __init__(self, name: str) -> None:
        super().__init__(f"serial port {name} is not open")
        self.port = name


class SerialTimeoutError(SerialError):
    """A write did not complete within `write_timeout`; `written` octets did go out (None: the
    backend cannot tell)."""

    def __init__(
        self, name: str, written: int | None, requested: int, timeout: float | None
    ) -> None:
        done = "an unknown number" if written is None else str(written)
        super().__init__(
            f"serial port {name}: write timed out after {timeout} s with {done} of "
            f"{requested} octets written"
        )
        self.written = written
        self.requested = requested
        self.timeout = timeout


class SerialSettingError(ValueError):
    """A setting value the port cannot take; names the setting and the value."""

    def __init__(self, setting: str, value: object, reason: str) -> None:
        super().__init__(f"serial setting {setting}={value!r}: {reason}")
        self.setting = setting
        self.value = value


class SerialURLError(ValueError):
    """A port URL that cannot be opened as written."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"serial port {url!r}: {reason}")
        self.url = url


class UnknownSchemeError(SerialURLError):
    def __init__(self, url: str, scheme: str, known: tuple[str, ...]) -> None:
        listing = ", ".join(f"{k}://" for k in known if k) or "none"
        super().__init__(url, f"no serial backend for scheme {scheme!r} (registered: {listing})")
        self.scheme = scheme
        self.known = known


class BackendUnavailableError(SerialError):
    """The backend exists but a package it needs is not installed."""

    def __init__(self, backend: str, missing: str, cause: BaseException) -> None:
        super().__init__(
            f"serial backend {backend} is unavailable: it needs {missing!r}, which is not "
            f"installed ({cause})"
        )
        self.backend = backend
        self.missing = missing


def _check_timeout(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SerialSettingError(name, value, "must be None or a number of seconds")
    if not value >= 0 or value == float("inf"):
        raise SerialSettingError(name, value, "must be None, 0 or a finite positive number")


@dataclass(frozen=True)
class SerialSettings:
    baudrate: int = 9600
    bytesize: int = 8
    parity: Parity = Parity.NONE
    stopbits: float = 1
    timeout: float | None = None
    write_timeout: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.baudrate, bool) or not isinstance(self.baudrate, int):
            raise SerialSettingError("baudrate", self.baudrate, "must be an integer")
        if self.baudrate <= 0:
            raise SerialSettingError("baudrate", self.baudrate, "must be positive")
        if self.bytesize not in BYTESIZES:
            raise SerialSettingError(
                "bytesize", self.bytesize, f"must be one of {sorted(BYTESIZES)}"
            )
        try:
            object.__setattr__(self, "parity", Parity(self.parity))
        except ValueError:
            choices = [p.value for p in Parity]
            raise SerialSettingError("parity", self.parity, f"must be one of {choices}") from None
        if self.stopbits not in STOPBITS:
            raise SerialSettingError(
                "stopbits", self.stopbits, f"must be one of {sorted(STOPBITS)}"
            )
        _check_timeout("timeout", self.timeout)
        _check_timeout("write_timeout", self.write_timeout)

    @classmethod
    def derive(cls, base: SerialSettings | None = None, **changes: object) -> SerialSettings:
        """`base` (or the defaults) with `changes`, each named and validated."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            name = sorted(unknown)[0]
            raise SerialSettingError(name, changes[name], "no such serial setting")
        return dataclasses.replace(base if base is not None else cls(), **changes)  # type: ignore[arg-type]

    # Derived values are worked out once per settings object (it is frozen): drivers and the
    # simulated line read them for every write.

    @functools.cached_property
    def bits_per_character(self) -> float:
        """Start bit, data bits, parity bit if any, stop bits: 10 for 8N1."""
        return 1 + self.bytesize + (self.parity is not Parity.NONE) + self.stopbits

    @functools.cached_property
    def character_time_s(self) -> float:
        return self.bits_per_character / self.baudrate

    @functools.cached_property
    def frame_format(self) -> tuple[int, int, Parity, float]:
        """What both ends of a line must agree on for octets to arrive intact."""
        return (self.baudrate, self.bytesize, self.parity, self.stopbits)


class SerialPort(ABC):
    """One UART, whatever is behind it. Use as a context manager to open and close it."""

    def __init__(self, name: str, settings: SerialSettings | None = None) -> None:
        self.name = name
        self._settings = settings if settings is not None else SerialSettings()
        self._is_open = False

    def __repr__(self) -> str:
        state = "open" if self._is_open else "closed"
        return f"<{type(self).__name__} {self.name} {state} {self._settings}>"

    # -- settings -------------------------------------------------------------------------------

    @property
    def settings(self) -> SerialSettings:
        return self._settings

    def configure(self, **changes: object) -> None:
        """Validate and store new settings; an open port applies them at once."""
        new = SerialSettings.derive(self._settings, **changes)
        if self._is_open:
            self._apply(new)
        self._settings = new

    @property
    def baudrate(self) -> int:
        return self._settings.baudrate

    @baudrate.setter
    def baudrate(self, value: int) -> None:
        self.configure(baudrate=value)

    @property
    def timeout(self) -> float | None:
        return self._settings.timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self.configure(timeout=value)

    @property
    def write_timeout(self) -> float | None:
        return self._settings.write_timeout

    @write_timeout.setter
    def write_timeout(self, value: float | None) -> None:
        self.configure(write_timeout=value)

    # -- life cycle -----------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._is_open

    def open(self) -> None:
        if self._is_open:
            raise SerialError(f"serial port {self.name} is already open")
        self._open_port()
        try:
            self._apply(self._settings)
        except BaseException:
            self._close_port()
            raise
        self._is_open = True

    def close(self) -> None:
        """Close the port; closing a closed port does nothing."""
        if self._is_open:
            self._is_open = False
            self._close_port()

    def __enter__(self) -> SerialPort:
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

    def _check_open(self) -> None:
        if not self._is_open:
            raise PortNotOpenError(self.name)

    # -- data -----------------------------------------------------------------------------------

    def read(self, size: int = 1) -> bytes:
        """Up to `size` octets: fewer only if the timeout expired first."""
        self._check_open()
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"read size must be a non-negative integer, got {size!r}")
        if size == 0:
            return b""
        return self._read(size, self._settings.timeout)

    def read_until(self, expected: bytes = b"\n", size: int | None = None) -> bytes:
        """Octets up to and including `expected`, or `size` octets, or what came before the
        timeout (one timeout for the whole call, as in pyserial)."""
        self._check_open()
        if not expected:
            raise ValueError("read_until needs a non-empty terminator")
        timeout = self._settings.timeout
        deadline = None if timeout is None else self.clock.monotonic() + timeout
        line = bytearray()
        while size is None or len(line) < size:
            remaining = None if deadline is None else max(0.0, deadline - self.clock.monotonic())
            octet = self._read(1, remaining)
            if not octet:
                break
            line += octet
            if line.endswith(expected):
                break
        return bytes(line)

    def readline(self) -> bytes:
        return self.read_until(b"\n")

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Queue `data` for transmission; blocks at most `write_timeout` for buffer space."""
        self._check_open()
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"serial write takes bytes-like data, not {type(data).__name__}")
        payload = bytes(data)
        if not payload:
            return 0
        return self._write(payload, self._settings.write_timeout)

    def flush(self) -> None:
        """Wait until every written octet has left the transmitter."""
        self._check_open()
        self._flush()

    @property
    def in_waiting(self) -> int:
        """Octets received and not yet read."""
        self._check_open()
        return self._in_waiting()

    @property
    def out_waiting(self) -> int:
        """Octets written and not yet transmitted."""
        self._check_open()
        return self._out_waiting()

    def reset_input_buffer(self) -> None:
        """Discard what was received and not read."""
        self._check_open()
        self._reset_input()

    def reset_output_buffer(self) -> None:
        """Discard what was written and not yet transmitted."""
        self._check_open()
        self._reset_output()

    def send_break(self, duration: float = 0.25) -> None:
        """Hold the line in the break condition (continuous space) for `duration` seconds."""
        self._check_open()
        if isinstance(duration, bool) or not isinstance(duration, int | float) or not duration > 0:
            raise ValueError(
                f"break duration must be a positive number of seconds, got {duration!r}"
            )
        self._send_break(float(duration))

    # -- backend contract -----------------------------------------------------------------------

    @property
    @abstractmethod
    def clock(self) -> Clock:
        """The clock the port's timeouts and timing run on."""

    @abstractmethod
    def _open_port(self) -> None: ...

    @abstractmethod
    def _close_port(self) -> None: ...

    @abstractmethod
    def _apply(self, settings: SerialSettings) -> None:
        """Make the open port use `settings` (already validated)."""

    @abstractmethod
    def _read(self, size: int, timeout: float | None) -> bytes: ...

    @abstractmethod
    def _write(self, data: bytes, timeout: float | None) -> int: ...

    @abstractmethod
    def _flush(self) -> None: ...

    @abstractmethod
    def _in_waiting(self) -> int: ...

    @abstractmethod
    def _out_waiting(self) -> int: ...

    @abstractmethod
    def _reset_input(self) -> None: ...

    @abstractmethod
    def _reset_output(self) -> None: ...

    @abstractmethod
    def _send_break(self, duration: float) -> None: ...
