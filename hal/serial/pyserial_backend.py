"""The pyserial backend: device paths (a UART, a USB-serial adapter, a pseudo-terminal) and
pyserial's URL handlers (`loop://`, `socket://host:port`, `spy://PATH`, `rfc2217://`, ...).

pyserial is imported when a port is created, not when this module is, so a machine without it can
still run simulated ports; a missing pyserial, or a handler whose own dependency is missing
(`cp2110://` needs `hid`), is reported as `BackendUnavailableError`, never as "unknown protocol".
pyserial's timeouts run on the machine's monotonic clock, so these ports take no other clock.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from hal.clock import Clock, MonotonicClock
from hal.serial.base import (
    BackendUnavailableError,
    SerialError,
    SerialPort,
    SerialSettingError,
    SerialSettings,
    SerialTimeoutError,
    UnknownSchemeError,
)


def _import_pyserial() -> ModuleType:
    try:
        return importlib.import_module("serial")
    except ImportError as exc:
        raise BackendUnavailableError("pyserial", "pyserial", exc) from exc


def _check_handler(scheme: str) -> None:
    """Import pyserial's handler for `scheme` ourselves, so that a handler failing on a missing
    dependency is told apart from a handler that does not exist (pyserial conflates them)."""
    module_name = f"serial.urlhandler.protocol_{scheme}"
    try:
        importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise UnknownSchemeError(f"{scheme}://", scheme, ()) from exc
        missing = exc.name or str(exc)
        raise BackendUnavailableError(f"pyserial {scheme}://", missing, exc) from exc
    except ImportError as exc:
        raise BackendUnavailableError(f"pyserial {scheme}://", str(exc), exc) from exc


class PySerialPort(SerialPort):
    """A port opened through pyserial by device path or pyserial URL."""

    def __init__(self, url: str, settings: SerialSettings | None = None) -> None:
        super().__init__(url, settings)
        self._serial = _import_pyserial()
        if "://" in url:
            _check_handler(url.split("://", 1)[0].lower())
        self._clock = MonotonicClock()
        with self._translated():
            self._port: Any = self._serial.serial_for_url(url, do_not_open=True)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except (self._serial.SerialException, OSError) as exc:
            raise SerialError(f"serial port {self.name}: {exc}") from exc
        except ValueError as exc:
            raise SerialSettingError("port", self.name, str(exc)) from exc

    @property
    def clock(self) -> Clock:
        return self._clock

    def _open_port(self) -> None:
        with self._translated():
            self._port.open()

    def _close_port(self) -> None:
        with self._translated():
            self._port.close()

    def _apply(self, settings: SerialSettings) -> None:
        with self._translated():
            self._port.apply_settings(
                {
                    "baudrate": settings.baudrate,
                    "bytesize": settings.bytesize,
                    "parity": settings.parity.value,
                    "stopbits": settings.stopbits,
                    "timeout": settings.timeout,
                    "write_timeout": settings.write_timeout,
                }
            )

    def _read(self, size: int, timeout: float | None) -> bytes:
        with self._translated():
            if self._port.timeout != timeout:
                self._port.timeout = timeout
            return bytes(self._port.read(size))

    def read_until(self, expected: bytes = b"\n", size: int | None = None) -> bytes:
        """pyserial's own read_until: same semantics as the base, without a call per octet."""
        self._check_open()
        if not expected:
            raise ValueError("read_until needs a non-empty terminator")
        with self._translated():
            if self._port.timeout != self.timeout:
                self._port.timeout = self.timeout
            return bytes(self._port.read_until(expected, size))

    def _write(self, data: bytes, timeout: float | None) -> int:
        try:
            return int(self._port.write(data))
        except self._serial.SerialTimeoutException as exc:
            raise SerialTimeoutError(self.name, None, len(data), timeout) from exc
        except (self._serial.SerialException, OSError) as exc:
            raise SerialError(f"serial port {self.name}: {exc}") from exc

    def _flush(self) -> None:
        with self._translated():
            self._port.flush()

    def _in_waiting(self) -> int:
        with self._translated():
            return int(self._port.in_waiting)

    def _out_waiting(self) -> int:
        with self._translated():
            return int(self._port.out_waiting)

    def _reset_input(self) -> None:
        with self._translated():
            self._port.reset_input_buffer()

    def _reset_output(self) -> None:
        with self._translated():
            self._port.reset_output_buffer()

    def _send_break(self, duration: float) -> None:
        # Held and released ourselves: pyserial's POSIX send_break rounds to 0.25 s steps.
        with self._translated():
            self._port.break_condition = True
            try:
                self._clock.sleep_until(self._clock.monotonic() + duration)
            finally:
                self._port.break_condition = False
