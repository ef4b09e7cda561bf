"""Choosing a serial backend by URL scheme, from an explicit registry the caller passes in.

`open_serial("/dev/ttyS1")`, `open_serial("loop://")`, `open_serial("socket://127.0.0.1:7000")`
go to pyserial; `sim://NAME` goes to whatever `SimSerialHub` the caller registered under "sim".
A registry is a plain mapping from scheme to backend: a mission adds its own scheme with
`register`, and nothing is chosen at import time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Protocol

from hal.clock import Clock, MonotonicClock
from hal.serial.base import (
    SerialPort,
    SerialSettingError,
    SerialSettings,
    SerialURLError,
    UnknownSchemeError,
)
from hal.serial.pyserial_backend import PySerialPort

#: Schemes pyserial handles: "" is a plain device path (a UART, a USB adapter, a pseudo-terminal).
PYSERIAL_SCHEMES: Final[tuple[str, ...]] = (
    "",
    "loop",
    "socket",
    "spy",
    "rfc2217",
    "alt",
    "hwgrep",
    "cp2110",
)
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")


class SerialBackend(Protocol):
    def create_port(self, url: str, clock: Clock | None, settings: SerialSettings) -> SerialPort:
        """A closed port for `url` holding `settings`."""
        ...


def scheme_of(url: str) -> str:
    """The URL's scheme in lower case; "" for a device path."""
    if not isinstance(url, str) or not url:
        raise SerialURLError(str(url), "a serial port is named by a non-empty path or URL")
    if "://" not in url:
        return ""
    scheme = url.split("://", 1)[0].lower()
    if not _SCHEME.fullmatch(scheme):
        raise SerialURLError(url, f"malformed scheme {scheme!r}")
    return scheme


class PySerialBackend:
    """Device paths and pyserial URLs. pyserial times out in real time, so it takes no other
    clock than the machine's."""

    def create_port(self, url: str, clock: Clock | None, settings: SerialSettings) -> SerialPort:
        if clock is not None and not isinstance(clock, MonotonicClock):
            raise SerialSettingError(
                "clock",
                clock,
                f"{url} is a real port whose timeouts run in real time: pass "
                "clock=None or a MonotonicClock",
            )
        return PySerialPort(url, settings)


class SerialRegistry:
    def __init__(self, backends: Mapping[str, SerialBackend] | None = None) -> None:
        self._backends: dict[str, SerialBackend] = {}
        for scheme, backend in (backends or {}).items():
            self.register(scheme, backend)

    @classmethod
    def with_defaults(cls) -> SerialRegistry:
        """pyserial for device paths and its URL schemes; add "sim" yourself with a hub."""
        backend = PySerialBackend()
        return cls({scheme: backend for scheme in PYSERIAL_SCHEMES})

    @property
    def schemes(self) -> tuple[str, ...]:
        return tuple(sorted(self._backends))

    def register(self, scheme: str, backend: SerialBackend, *, replace: bool = False) -> None:
        if scheme and not _SCHEME.fullmatch(scheme):
            raise ValueError(f"malformed scheme {scheme!r}")
        if scheme in self._backends and not replace:
            raise ValueError(f"scheme {scheme!r} is already registered (pass replace=True)")
        self._backends[scheme] = backend

    def backend_for(self, url: str) -> SerialBackend:
        scheme = scheme_of(url)
        try:
            return self._backends[scheme]
        except KeyError:
            raise UnknownSchemeError(url, scheme, self.schemes) from None

    def create(
        self, url: str, *, clock: Clock | None = None, settings: SerialSettings | None = None
    ) -> SerialPort:
        return self.backend_for(url).create_port(url, clock, settings or SerialSettings())


def open_serial(
    url_or_path: str,
    *,
    clock: Clock | None = None,
    registry: SerialRegistry | None = None,
    do_not_open: bool = False,
    **settings: object,
) -> SerialPort:
    """Create and open the port named by a device path or URL.

    `settings` are `SerialSettings` fields (baudrate, bytesize, parity, stopbits, timeout,
    write_timeout). Without a registry, the defaults (pyserial only) are used.
    """
    chosen = registry if registry is not None else SerialRegistry.with_defaults()
    port = chosen.create(url_or_path, clock=clock, settings=SerialSettings.derive(**settings))
    if not do_not_open:
        port.open()
    return port
