"""The hardware watchdog: a timer that resets the computer unless software feeds it in time.

`LinuxWatchdog` drives `/dev/watchdog`: opening the device starts the timer, any write feeds it,
and writing the magic character 'V' just before closing disarms it (on drivers that support the
magic close and unless the kernel was built with nowayout). Closing without it, as a crash does,
leaves the timer running, and the board resets: that is the point.

`SimWatchdog` is the same timer on the injected clock. When it expires it "resets" the simulated
computer by calling `on_reset(reset_time)`. Nothing runs in the background: expiry is noticed at
the next call (`feed`, `poll`, `time_left`, ...), with the reset dated at the exact expiry time, so
a simulation calls `poll()` each step or sleeps until `expires_at`.
"""

from __future__ import annotations

import fcntl
import os
import struct
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Final

from hal._ioctl import ior, iowr
from hal.clock import Clock

WATCHDOG_IOCTL_BASE: Final[int] = ord("W")
WATCHDOG_INFO = struct.Struct("=II32s")  # struct watchdog_info
WDIOC_GETSUPPORT: Final[int] = ior(WATCHDOG_IOCTL_BASE, 0, WATCHDOG_INFO.size)
WDIOC_GETBOOTSTATUS: Final[int] = ior(WATCHDOG_IOCTL_BASE, 2, 4)
WDIOC_SETTIMEOUT: Final[int] = iowr(WATCHDOG_IOCTL_BASE, 6, 4)
WDIOF_CARDRESET: Final[int] = 0x0020
WDIOF_MAGICCLOSE: Final[int] = 0x0100
MAGIC_CLOSE: Final[bytes] = b"V"


class WatchdogError(OSError):
    """The watchdog could not be started, fed, configured or stopped as asked."""


class Watchdog(ABC):
    @property
    @abstractmethod
    def running(self) -> bool: ...

    @abstractmethod
    def start(self) -> None:
        """Arm the timer; from now on it must be fed within the timeout."""

    @abstractmethod
    def feed(self) -> None:
        """Restart the timer."""

    @abstractmethod
    def stop(self) -> bool:
        """Disarm with the magic close; False if the hardware refuses (nowayout): it still runs."""


class LinuxWatchdog(Watchdog):
    def __init__(self, path: str = "/dev/watchdog", timeout_s: int | None = None) -> None:
        if timeout_s is not None and not 1 <= timeout_s <= 0xFFFF:
            raise ValueError(f"watchdog timeout {timeout_s} s is outside 1..65535")
        self.path = path
        self.requested_timeout_s = timeout_s
        self.timeout_s: int | None = None
        self.options = 0
        self.identity = ""
        self.boot_status = 0
        self._fd = -1

    @property
    def running(self) -> bool:
        return self._fd >= 0

    @property
    def reset_by_watchdog(self) -> bool:
        """The driver reports that the last reset was its doing (read when started)."""
        return bool(self.boot_status & WDIOF_CARDRESET)

    def _ioctl(self, request: int, arg: bytes, what: str) -> bytes:
        buf = bytearray(arg)
        try:
            fcntl.ioctl(self._fd, request, buf, True)
        except OSError as exc:
            raise WatchdogError(
                exc.errno, f"{self.path}: {what}: {os.strerror(exc.errno or 0)}"
            ) from exc
        return bytes(buf)

    def start(self) -> None:
        if self.running:
            raise WatchdogError(f"{self.path} is already running")
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise WatchdogError(
                exc.errno,
                f"cannot open watchdog {self.path}: {exc.strerror} (is a watchdog "
                "driver loaded, and no other daemon holding it?)",
            ) from exc
        try:
            if self.requested_timeout_s is not None:
                reply = self._ioctl(
                    WDIOC_SETTIMEOUT,
                    struct.pack("=i", self.requested_timeout_s),
                    f"set timeout {self.requested_timeout_s} s",
                )
                self.timeout_s = struct.unpack("=i", reply)[0]
            options, _, identity = WATCHDOG_INFO.unpack(
                self._ioctl(WDIOC_GETSUPPORT, bytes(WATCHDOG_INFO.size), "get support")
            )
            self.options = options
            self.identity = identity.rstrip(b"\0").decode(errors="replace")
            self.boot_status = struct.unpack(
                "=i", self._ioctl(WDIOC_GETBOOTSTATUS, bytes(4), "get boot status")
            )[0]
        except WatchdogError:
            self.feed()  # the timer runs now: keep it fed while the caller decides
            raise

    def feed(self) -> None:
        if not self.running:
            raise WatchdogError(f"{self.path} is not running")
        try:
            os.write(self._fd, b"\0")
        except OSError as exc:
            raise WatchdogError(exc.errno, f"feeding {self.path}: {exc.strerror}") from exc

    def stop(self) -> bool:
        if not self.running:
            return True
        try:
            os.write(self._fd, MAGIC_CLOSE)
        finally:
            os.close(self._fd)
            self._fd = -1
        return bool(self.options & WDIOF_MAGICCLOSE)

    def abandon(self) -> None:
        """Close without the magic character, as a crash would: the timer keeps running."""
        if self.running:
            os.close(self._fd)
            self._fd = -1


class SimWatchdog(Watchdog):
    def __init__(
        self,
        clock: Clock,
        timeout_s: float,
        on_reset: Callable[[float], None],
        *,
        nowayout: bool = False,
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"watchdog timeout must be positive, not {timeout_s}")
        self.clock = clock
        self.timeout_s = timeout_s
        self.on_reset = on_reset
        self.nowayout = nowayout
        self.resets = 0
        self.last_reset_at: float | None = None
        self.expires_at: float | None = None

    @property
    def running(self) -> bool:
        self.poll()
        return self.expires_at is not None

    def poll(self) -> bool:
        """Fire the reset if the timer has expired; True if it fired now."""
        expiry = self.expires_at
        if expiry is None or self.clock.monotonic() < expiry:
            return False
        self.expires_at = None
        self.resets += 1
        self.last_reset_at = expiry
        self.on_reset(expiry)
        return True

    def time_left(self) -> float | None:
        self.poll()
        return None if self.expires_at is None else self.expires_at - self.clock.monotonic()

    def start(self) -> None:
        if self.running:
            raise WatchdogError("the simulated watchdog is already running")
        self.expires_at = self.clock.monotonic() + self.timeout_s

    def feed(self) -> None:
        if not self.running:
            raise WatchdogError(
                "the simulated watchdog is not running (never started, stopped, "
                "or it already reset the computer)"
            )
        self.expires_at = self.clock.monotonic() + self.timeout_s

    def stop(self) -> bool:
        if not self.running:
            return True
        if self.nowayout:
            return False
        self.expires_at = None
        return True
