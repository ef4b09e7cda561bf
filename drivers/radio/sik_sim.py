"""A simulated SiK modem: the device end of a serial link, answering like the SiK firmware.

It is stepped, like everything on the simulated clock: call `poll()` often (every 10 ms of
simulated time matches the firmware's 100 Hz timer, which is also the resolution of its guard-time
detector). It models what a driver depends on:

- the `+++` detector of `at.c`: one guard time of silence, three `+`, one guard time of silence,
  then command mode and `OK`; any other octet restarts the wait;
- command mode: echo (upper-cased), CR runs the line, CR LF line ends, the 16-character command
  buffer (overflowing it drops back to data mode, as the firmware does), the commands and answers
  listed in `drivers.radio.sik`, register checks of `parameters.c` (power rounded down to a level
  the amplifier has), `AT&W`/`ATZ` with unsaved changes lost at reboot and a boot time during which
  octets are lost;
- data mode: octets from the host go on the air at the air rate (8 bits per octet) from a serial
  buffer of `serial_buffer` octets that overflows like the real one (counted, `srx` in `ATI7`);
  octets from the air go to the host, except in command mode;
- faults: `hang_after(n)` (the radio stops answering after n more command lines, as a locked-up or
  browned-out radio does) and `swallow(n)` (the next n command lines are lost on the serial line).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Final

from drivers.radio.sik import SikParam
from hal.clock import Clock
from hal.serial import SerialPort

AT_CMD_MAXLEN: Final = 16
SERIAL_SPEEDS: Final = frozenset({1, 2, 4, 9, 19, 38, 57, 115, 230})
POWER_LEVELS_DBM: Final = (1, 2, 5, 8, 11, 14, 17, 20, 27, 30)
AIR_RATES_KBPS: Final = (2, 4, 8, 16, 19, 24, 32, 48, 64, 96, 128, 192, 250)
DEFAULT_PARAMS: Final = {
    SikParam.FORMAT: 25,
    SikParam.SERIAL_SPEED: 57,
    SikParam.AIR_SPEED: 64,
    SikParam.NETID: 25,
    SikParam.TXPOWER: 20,
    SikParam.ECC: 0,
    SikParam.MAVLINK: 1,
    SikParam.OPPRESEND: 0,
    SikParam.MIN_FREQ: 915000,
    SikParam.MAX_FREQ: 928000,
    SikParam.NUM_CHANNELS: 50,
    SikParam.DUTY_CYCLE: 100,
    SikParam.LBT_RSSI: 0,
    SikParam.MANCHESTER: 0,
    SikParam.RTSCTS: 0,
    SikParam.MAX_WINDOW: 131,
}
#: How much the radio hands its UART per poll at most, and below what backlog it does.
_UART_CHUNK: Final = 512
_UART_LOW_WATER: Final = 1024


class _Plus(IntEnum):
    WAIT_FOR_IDLE = 0
    WAIT_FOR_PLUS1 = 1
    WAIT_FOR_PLUS2 = 2
    WAIT_FOR_PLUS3 = 3
    WAIT_FOR_ENABLE = 4


class SimSikRadio:
    def __init__(
        self,
        port: SerialPort,
        clock: Clock,
        *,
        version: str = "2.2",
        board: str = "HM-TRP",
        board_id: int = 78,
        frequency_code: int = 0xF8,
        max_tx_power_dbm: int = 20,
        serial_buffer: int = 2048,
        guard_s: float = 1.0,
        boot_time_s: float = 1.5,
    ) -> None:
        self.port = port
        self.clock = clock
        self.version = version
        self.board = board
        self.board_id = board_id
        self.frequency_code = frequency_code
        self.max_tx_power_dbm = max_tx_power_dbm
        self.serial_buffer = serial_buffer
        self.guard_s = guard_s
        self.boot_time_s = boot_time_s
        self.params: dict[SikParam, int] = dict(DEFAULT_PARAMS)
        self.saved: dict[SikParam, int] = dict(DEFAULT_PARAMS)
        self.on_air: Callable[[bytes], None] | None = None
        self.command_mode = False
        self.hung = False
        self.commands: list[str] = []
        self.reboots = 0
        # What ATI7 reports; tests set them.
        self.rssi = 120
        self.remote_rssi = 110
        self.noise = 40
        self.remote_noise = 42
        self.temperature_c = 31
        self.packets = 0
        self.serial_rx_overflow = 0
        self.serial_tx_overflow = 0
        self.air_octets_sent = 0
        self.lost_while_busy = 0
        self._hang_after: int | None = None
        self._swallow = 0
        self._line = bytearray()
        self._air_queue = bytearray()
        self._host_out = bytearray()
        now = clock.monotonic()
        self._air_budget = 0.0
        self._last_poll = now
        self._plus = _Plus.WAIT_FOR_IDLE
        self._last_char_at = now
        self._booting_until = now
        self.air_rate_kbps = self._boot_air_rate()

    @staticmethod
    def pair(a: SimSikRadio, b: SimSikRadio) -> None:
        """Put two radios on the same channel: what one sends on the air, the other receives."""
        a.on_air = b.receive_air
        b.on_air = a.receive_air

    # -- faults ----------------------------------------------------------------------------------

    def hang_after(self, commands: int) -> None:
        """Stop answering for good after `commands` more command lines."""
        self._hang_after = len(self.commands) + commands

    def swallow(self, commands: int = 1) -> None:
        """Lose the next `commands` command lines (no echo, no answer)."""
        self._swallow += commands

    # -- the radio's main loop -----------------------------------------------------------------

    def poll(self) -> None:
        now = self.clock.monotonic()
        waiting = self.port.in_waiting
        data = self.port.read(waiting) if waiting else b""
        if self.hung:
            self.lost_while_busy += len(data)
        elif now < self._booting_until:
            self.lost_while_busy += len(data)
            self._last_char_at = now
        else:
            for octet in data:
                self._timer(now)
                if self.command_mode:
                    self._at_input(octet, now)
                else:
                    self._plus_detector(octet, now)
                    self._to_air(octet)
            self._timer(now)
        self._transmit(now)
        self._drain_to_host()
        self._last_poll = now

    def receive_air(self, data: bytes) -> None:
        """Octets from the other radio."""
        if self.hung or self.command_mode or self.clock.monotonic() < self._booting_until:
            self.lost_while_busy += len(data)
            return
        self.packets += 1
        room = self.serial_buffer - len(self._host_out)
        self._host_out += data[:room]
        self.serial_tx_overflow += max(0, len(data) - room)

    def _to_air(self, octet: int) -> None:
        if len(self._air_queue) < self.serial_buffer:
            self._air_queue.append(octet)
        else:
            self.serial_rx_overflow += 1

    def _transmit(self, now: float) -> None:
        rate = self.air_rate_kbps * 1000 / 8
        self._air_budget = min(
            self._air_budget + (now - self._last_poll) * rate, float(self.serial_buffer)
        )
        if not self._air_queue:
            self._air_budget = 0.0
            return
        count = min(len(self._air_queue), int(self._air_budget))
        if count <= 0:
            return
        chunk = bytes(self._air_queue[:count])
        del self._air_queue[:count]
        self._air_budget -= count
        self.air_octets_sent += count
        if self.on_air is not None:
            self.on_air(chunk)

    def _drain_to_host(self) -> None:
        if not self._host_out or self.port.out_waiting > _UART_LOW_WATER:
            return
        chunk = bytes(self._host_out[:_UART_CHUNK])
        del self._host_out[: len(chunk)]
        self.port.write(chunk)

    def _say(self, text: str) -> None:
        self._host_out += text.replace("\n", "\r\n").encode("ascii")

    # -- +++ detection (at.c: at_plus_detector, at_timer) ----------------------------------------

    def _plus_detector(self, octet: int, now: float) -> None:
        if octet != ord("+"):
            self._plus = _Plus.WAIT_FOR_IDLE
        if self._plus in (_Plus.WAIT_FOR_PLUS1, _Plus.WAIT_FOR_PLUS2):
            self._plus = _Plus(self._plus + 1)
        elif self._plus is _Plus.WAIT_FOR_PLUS3:
            self._plus = _Plus.WAIT_FOR_ENABLE
        else:
            self._plus = _Plus.WAIT_FOR_IDLE
        self._last_char_at = now

    def _timer(self, now: float) -> None:
        if now - self._last_char_at < self.guard_s:
            return
        if self._plus is _Plus.WAIT_FOR_IDLE and not self.command_mode:
            self._plus = _Plus.WAIT_FOR_PLUS1
        elif self._plus is _Plus.WAIT_FOR_ENABLE:
            self._plus = _Plus.WAIT_FOR_IDLE
            self.command_mode = True
            self._line.clear()
            self._say("OK\n")

    # -- command mode (at.c: at_input, at_command) -----------------------------------------------

    def _at_input(self, octet: int, now: float) -> None:
        if octet == 0x0D:
            line = self._line.decode("ascii")
            self._line.clear()
            if self._swallow:
                self._swallow -= 1
                return
            self._say("\n")
            self._command(line, now)
        elif octet in (0x08, 0x7F):
            if self._line:
                self._line.pop()
                self._say("\b \b")
        elif 0x20 <= octet < 0x7F:
            if len(self._line) >= AT_CMD_MAXLEN:
                self.command_mode = False
                self._line.clear()
                return
            char = chr(octet).upper()
            self._line += char.encode("ascii")
            if not self._swallow:
                self._host_out += char.encode("ascii")

    def _command(self, line: str, now: float) -> None:
        self.commands.append(line)
        if self._hang_after is not None and len(self.commands) > self._hang_after:
            self.hung = True
            self._host_out.clear()
            return
        if not line.startswith("AT"):
            return
        rest = line[2:]
        if rest == "":
            self._say("OK\n")
        elif rest.startswith("I"):
            self._info(rest[1:])
        elif rest.startswith("S"):
            self._register(rest[1:])
        elif rest == "&W":
            self.saved = dict(self.params)
            self._say("OK\n")
        elif rest == "&F":
            self.params = dict(DEFAULT_PARAMS)
            self._say("OK\n")
        elif rest == "O":
            self.command_mode = False
            self._last_char_at = now
        elif rest == "Z":
            self._reboot(now)
        else:
            self._say("ERROR\n")

    def _info(self, which: str) -> None:
        if which in ("", "0"):
            self._say(f"SiK {self.version} on {self.board}\n")
        elif which == "1":
            self._say(f"{self.version}\n")
        elif which == "2":
            self._say(f"{self.board_id}\n")
        elif which == "3":
            self._say(f"{self.frequency_code}\n")
        elif which == "4":
            self._say("0\n")
        elif which == "5":
            for param in SikParam:
                self._say(f"S{int(param)}:{param.name}={self.params[param]}\n")
        elif which == "7":
            self._say(
                f"L/R RSSI: {self.rssi}/{self.remote_rssi}  L/R noise: {self.noise}/"
                f"{self.remote_noise} pkts: {self.packets}  txe=0 rxe=0 stx="
                f"{self.serial_tx_overflow} srx={self.serial_rx_overflow} ecc=0/0 "
                f"temp={self.temperature_c} dco=0\n"
            )
            self.packets = 0
        else:
            self._say("ERROR\n")

    def _register(self, text: str) -> None:
        digits = len(text) - len(text.lstrip("0123456789"))
        if digits == 0 or int(text[:digits]) >= len(SikParam):
            self._say("ERROR\n")
            return
        param = SikParam(int(text[:digits]))
        rest = text[digits:]
        if rest == "?":
            self._say(f"{self.params[param]}\n")
        elif rest.startswith("=") and param is not SikParam.FORMAT and rest[1:].isdigit():
            value = self._checked(param, int(rest[1:]))
            if value is None:
                self._say("ERROR\n")
            else:
                self.params[param] = value
                self._say("OK\n")
        else:
            self._say("ERROR\n")

    def _checked(self, param: SikParam, value: int) -> int | None:
        """parameters.c param_check and param_set: the value stored, None if refused."""
        if param is SikParam.SERIAL_SPEED:
            return value if value in SERIAL_SPEEDS else None
        if param is SikParam.AIR_SPEED:
            return value if value <= 256 else None
        if param is SikParam.TXPOWER:
            if value > self.max_tx_power_dbm:
                return None
            return max((p for p in POWER_LEVELS_DBM if p <= value), default=POWER_LEVELS_DBM[0])
        if param in (SikParam.ECC, SikParam.OPPRESEND):
            return value if value <= 1 else None
        if param is SikParam.MAVLINK:
            return value if value <= 2 else None
        if param is SikParam.MAX_WINDOW:
            return value if value <= 131 else None
        return value

    def _reboot(self, now: float) -> None:
        self.reboots += 1
        self.params = dict(self.saved)
        self.command_mode = False
        self._line.clear()
        self._air_queue.clear()
        self._host_out.clear()
        self._plus = _Plus.WAIT_FOR_IDLE
        self._booting_until = now + self.boot_time_s
        self._last_char_at = self._booting_until
        self.air_rate_kbps = self._boot_air_rate()

    def _boot_air_rate(self) -> int:
        wanted = self.params[SikParam.AIR_SPEED]
        return next((r for r in AIR_RATES_KBPS if r >= wanted), AIR_RATES_KBPS[-1])
