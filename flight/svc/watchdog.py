"""The boot record (boot count, reset cause, operating time) and the hardware watchdog binding.

The boot record is one small blob in non-volatile storage, written atomically (`Storage.save`):

    {"format": 1, "boots": N, "operating_s": T, "running": bool, "next_cause": cause or None}

At boot the previous record tells why the computer restarted:

- no record: POWER_ON (the first boot of this storage);
- `next_cause` set: the software wrote it just before a reset it knew about (a commanded reset,
  or the health monitor giving up on a hung component and starving the watchdog);
- the hardware watchdog reports it caused the reset (Linux: WDIOF_CARDRESET): WATCHDOG;
- `running` false: the software stopped in order (SIGTERM, end of a run): COMMANDED;
- otherwise the software was running and did not say why it stopped (a crash, a power cut, a
  reset by something else): UNKNOWN.

`open_watchdog` binds a deployment's ``watchdog`` hardware URL: ``sim://watchdog`` is a
`SimWatchdog` on the runtime's clock (its reset calls back into the deployment), a path such as
``/dev/watchdog`` is the Linux driver.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any, Final

import msgpack

from hal.clock import Clock
from hal.storage import Storage, StorageMissing
from hal.watchdog import LinuxWatchdog, SimWatchdog, Watchdog

FORMAT: Final = 1
DEFAULT_FILE: Final = "boot.db"
SIM_SCHEME: Final = "sim://"
MAX_LINUX_TIMEOUT_S: Final = 0xFFFF


class ResetCause(IntEnum):
    POWER_ON = 0
    WATCHDOG = 1
    COMMANDED = 2
    UNKNOWN = 3


class BootRecordError(ValueError):
    """A stored boot record that does not decode; names the field at fault."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(f"malformed boot record: {detail}")
        self.detail = detail
        self.field = field


@dataclass(frozen=True)
class BootRecord:
    boots: int = 0
    operating_s: float = 0.0
    running: bool = False
    next_cause: ResetCause | None = None

    def pack(self) -> bytes:
        return msgpack.packb({
            "format": FORMAT, "boots": self.boots, "operating_s": self.operating_s,
            "running": self.running,
            "next_cause": None if self.next_cause is None else int(self.next_cause),
        })

    @classmethod
    def unpack(cls, data: bytes) -> BootRecord:
        try:
            body = msgpack.unpackb(data, raw=False)
        except (ValueError, msgpack.UnpackException) as exc:
            raise BootRecordError(f"not msgpack ({exc})") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise BootRecordError(f"not a format-{FORMAT} record", field="format")
        boots, operating, running, cause = (body.get(k) for k in
                                            ("boots", "operating_s", "running", "next_cause"))
        if type(boots) is not int or boots < 0:
            raise BootRecordError(f"boot count {boots!r}", field="boots")
        if not isinstance(operating, float | int) or isinstance(operating, bool) or not (
            math.isfinite(operating) and operating >= 0
        ):
            raise BootRecordError(f"operating time {operating!r}", field="operating_s")
        if type(running) is not bool:
            raise BootRecordError(f"running flag {running!r}", field="running")
        if cause is not None and (type(cause) is not int or cause not in set(ResetCause)):
            raise BootRecordError(f"reset cause {cause!r}", field="next_cause")
        return cls(boots, float(operating), running,
                   None if cause is None else ResetCause(cause))

    def cause_of_this_boot(self, *, watchdog_says: bool) -> ResetCause:
        """Why the computer restarted, from the record the previous boot left."""
        if self.next_cause is not None:
            return self.next_cause
        if watchdog_says:
            return ResetCause.WATCHDOG
        return ResetCause.UNKNOWN if self.running else ResetCause.COMMANDED


class BootLog:
    """The boot record in storage (or only in memory when there is no storage)."""

    def __init__(self, storage: Storage | None, file: str = DEFAULT_FILE) -> None:
        self.storage = storage
        self.file = file
        self.record = BootRecord()
        self.previous: BootRecord | None = None
        self.problem = ""  # why the stored record could not be used, if it could not

    def load(self) -> None:
        if self.storage is None:
            return
        try:
            self.previous = BootRecord.unpack(self.storage.load(self.file))
        except StorageMissing:
            self.previous = None
        except (OSError, ValueError) as exc:  # StorageCorrupt, BootRecordError, I/O
            self.previous = None
            self.problem = str(exc)

    def begin(self, *, watchdog_says: bool) -> ResetCause:
        """Count this boot and work out its cause; the record says "running" from now on."""
        prev = self.previous
        if prev is None:
            cause = ResetCause.WATCHDOG if watchdog_says else (
                ResetCause.UNKNOWN if self.problem else ResetCause.POWER_ON)
            self.record = BootRecord(1, 0.0, True, None)
        else:
            cause = prev.cause_of_this_boot(watchdog_says=watchdog_says)
            self.record = BootRecord(prev.boots + 1, prev.operating_s, True, None)
        self._write()
        return cause

    def checkpoint(self, operating_s: float) -> None:
        self.record = replace(self.record, operating_s=operating_s)
        self._write()

    def expect_reset(self, cause: ResetCause | None, operating_s: float) -> None:
        """Write down the cause of a reset about to happen (None: the reset is called off)."""
        self.record = replace(self.record, next_cause=cause, operating_s=operating_s)
        self._write()

    def shutdown(self, operating_s: float) -> None:
        self.record = replace(self.record, running=False, operating_s=operating_s)
        self._write()

    def _write(self) -> None:
        if self.storage is not None:
            self.storage.save(self.file, self.record.pack())


def open_watchdog(url: str, clock: Clock, timeout_s: float,
                  on_reset: Callable[[float], None]) -> Watchdog:
    """The watchdog behind a hardware URL: ``sim://watchdog[/NAME]`` or a device path."""
    if url.startswith(SIM_SCHEME):
        kind = url[len(SIM_SCHEME):].split("/", 1)[0]
        if kind != "watchdog":
            raise ValueError(f"{url!r}: the simulated watchdog is sim://watchdog")
        return SimWatchdog(clock, timeout_s, on_reset)
    if "://" in url or not url.startswith("/"):
        raise ValueError(f"{url!r}: expected sim://watchdog or a device path such as "
                         "/dev/watchdog")
    seconds = math.ceil(timeout_s)
    if not 1 <= seconds <= MAX_LINUX_TIMEOUT_S:
        raise ValueError(f"watchdog timeout {timeout_s} s outside 1..{MAX_LINUX_TIMEOUT_S} s")
    return LinuxWatchdog(url, timeout_s=seconds)


def reset_by_watchdog(watchdog: Any) -> bool:
    """What the hardware says about the last reset (only the Linux driver knows)."""
    return bool(getattr(watchdog, "reset_by_watchdog", False))
