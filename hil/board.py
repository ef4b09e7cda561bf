"""The board under test, as the rig sees it: two UARTs, a way to cut its power, and (for an
emulated board only) a look at its storage.

The suite never asks which kind of board it has. Both kinds give the rig the same things:

- `radio_port`, `gnss_port`: device paths the rig opens through pyserial (a USB-serial adapter
  wired to a real board, or the rig's end of an emulated board's pseudo-terminal);
- `clock`: the time base the board runs on, which the rig's ground station and GNSS receiver
  follow (the host's clock for a real board, the shared `ScaledClock` for an emulated one);
- `power_cut()`: power off without warning, then on again. An emulated board's flight process
  is killed and started again on the same storage; a real board's reset line (`--reset-gpio`) is
  held asserted for `hold_s` and released. `power_cut_unavailable` says why a board cannot
  (no reset line given), so that the power-cut tests skip with that reason;
- `stored_file(path)`: the data of a file in the board's product store, when the rig can read
  the storage (emulated: the store's directory under its `nvm`); None on a real board, where the
  suite checks the CRC-32C the satellite reports instead;
- `key_file`: the ground's SDLS key file (emulated: the one the board provisioned in its `nvm`
  at first boot; real: `--key`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from hal.clock import Clock, MonotonicClock
from hal.gpio import GpioChip, LinuxGpioChip, OutputLine

DEFAULT_HOLD_S: Final = 1.0
KEY_FILE: Final = "sdls-ground.key"
RESET_CONSUMER: Final = "hil-reset"


class Board(Protocol):
    kind: str
    radio_port: str
    gnss_port: str
    clock: Clock
    key_file: Path | None
    power_cut_unavailable: str | None

    def power_cut(self) -> None:
        """Cut the power without warning and restore it."""
        ...

    def stored_file(self, path: str) -> bytes | None:
        """The content of `path` in the board's product store, or None if the rig cannot look."""
        ...


class ResetLineError(ValueError):
    """A `--reset-gpio` value that does not name a line; carries the value."""

    def __init__(self, spec: str, reason: str) -> None:
        super().__init__(f"--reset-gpio {spec!r}: {reason}")
        self.spec = spec


@dataclass(frozen=True, slots=True)
class ResetLine:
    """`CHIP:LINE`: a GPIO chip device and a line offset or name (`/dev/gpiochip0:17`,
    `/dev/gpiochip0:BOARD_RESET`). Asserted (logical high) holds the board in reset: wire it to
    a transistor or relay that pulls the board's RUN pin low or switches its supply off."""

    chip: str
    line: str

    @classmethod
    def parse(cls, spec: str) -> ResetLine:
        chip, colon, line = spec.rpartition(":")
        if not colon or not chip or not line:
            raise ResetLineError(spec, "expected CHIP:LINE, e.g. /dev/gpiochip0:17")
        return cls(chip, line)

    def request(self, chip: GpioChip | None = None) -> tuple[OutputLine, GpioChip]:
        """The line as an output, released (board running); `chip` replaces the Linux chip."""
        gpio = chip if chip is not None else LinuxGpioChip(self.chip)
        try:
            offset = int(self.line) if self.line.isdigit() else gpio.find_line(self.line)
            return gpio.request_output(offset, initial=False, consumer=RESET_CONSUMER), gpio
        except BaseException:
            if chip is None:
                gpio.close()
            raise


class SerialBoard:
    """A real board on the bench, reached through USB-serial adapters."""

    kind = "serial"

    def __init__(self, radio_port: str, gnss_port: str, *, key_file: Path | None = None,
                 reset: OutputLine | None = None, hold_s: float = DEFAULT_HOLD_S,
                 clock: Clock | None = None) -> None:
        self.radio_port = radio_port
        self.gnss_port = gnss_port
        self.key_file = key_file
        self.reset = reset
        self.hold_s = hold_s
        self.clock = clock if clock is not None else MonotonicClock()
        self.power_cuts = 0

    @property
    def power_cut_unavailable(self) -> str | None:
        if self.reset is None:
            return ("a real board's power is cut through its reset line: give --reset-gpio "
                    "CHIP:LINE (docs/hil.md)")
        return None

    def power_cut(self) -> None:
        if self.reset is None:
            raise RuntimeError(self.power_cut_unavailable)
        self.reset.set(True)
        self.clock.sleep_until(self.clock.monotonic() + self.hold_s)
        self.reset.set(False)
        self.power_cuts += 1

    def stored_file(self, path: str) -> bytes | None:
        return None


class EmulatedBoardControl:
    """An `flight.emulation.board.EmulatedBoard` (the flight software in its own process on
    pseudo-terminals) behind the same interface."""

    kind = "emulated"
    power_cut_unavailable = None

    def __init__(self, board: Any, store_dir: Path, boot_timeout_s: float = 60.0) -> None:
        self.board = board
        self.store_dir = store_dir
        self.boot_timeout_s = boot_timeout_s

    @property
    def radio_port(self) -> str:
        return str(self.board.radio_port)

    @property
    def gnss_port(self) -> str:
        return str(self.board.gnss_port)

    @property
    def clock(self) -> Clock:
        return self.board.clock  # type: ignore[no-any-return]

    @property
    def key_file(self) -> Path:
        return Path(self.board.nvm) / KEY_FILE

    def wait_for_key_file(self, timeout_s: float) -> Path:
        """The key file, once the board's first boot has written it (real seconds)."""
        deadline = time.monotonic() + timeout_s
        while not self.key_file.is_file():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no {KEY_FILE} in {self.board.nvm} after {timeout_s} s; "
                                   f"see {self.board.log_path}")
            time.sleep(0.02)
        return self.key_file

    def power_cut(self) -> None:
        self.board.kill()
        self.board.restart()
        self.board.wait_booted(self.boot_timeout_s)

    def stored_file(self, path: str) -> bytes | None:
        """The data of the product stored at `path`, read from the board's storage without
        changing it (the flight process owns the store): each file on the medium names its own
        path in its header (`flight.svc.products`)."""
        from flight.svc.products import FILE_PREFIX, TMP_SUFFIX, decode_header

        for blob in sorted(self.store_dir.glob(f"{FILE_PREFIX}*")):
            if blob.name.endswith(TMP_SUFFIX):
                continue
            octets = blob.read_bytes()
            info, start = decode_header(blob.name, octets)
            if info.path == path:
                return octets[start:]
        return None
