"""SiK (HopeRF HM-TRP, 3DR, RFD900-class) modems: the `+++`/`AT` command set, as a state machine
that never blocks.

What the firmware does (SiK `radio/at.c`, `parameters.c`, `serial.c`, `tdm.c`):

- In data mode the radio passes octets through. It enters command mode after one second of
  silence on its UART, then `+++`, then one more second of silence, and answers `OK`. The `+`
  characters also go out on the air. Command mode has no time-out.
- In command mode it echoes what it receives (upper-cased); a CR runs the line. Output lines end
  in CR LF. `AT` -> `OK`; `ATI` (= `ATI0`) -> banner `SiK <version> on <board>`; `ATI5` -> one
  `S<n>:<NAME>=<value>` line per register and nothing after the last one; `ATI7` -> `L/R RSSI:
  ...` with the link's RSSI and error counters; `ATS<n>?` -> the value; `ATS<n>=<v>` -> `OK` or
  `ERROR`; `AT&W` saves to flash -> `OK`; `ATZ` reboots (no answer, settings take effect, unsaved
  changes are lost); `ATO` returns to data mode (no answer). Anything else -> `ERROR`.
- Registers (`parameters.c`): S0 FORMAT, S1 SERIAL_SPEED, S2 AIR_SPEED (kbit/s), S3 NETID,
  S4 TXPOWER (dBm), S5 ECC, S6 MAVLINK, S7 OPPRESEND, S8 MIN_FREQ, S9 MAX_FREQ, S10 NUM_CHANNELS,
  S11 DUTY_CYCLE, S12 LBT_RSSI, S13 MANCHESTER, S14 RTSCTS, S15 MAX_WINDOW. The numbers are read
  from the radio's own `ATI5` listing when it gave one, so a firmware with another order works.
- The transmit power is rounded by the radio to a level its amplifier has; AIR_SPEED is rounded to
  a supported rate at boot.

`AtSession` runs one procedure (a *script*: enter command mode, commands, leave) as a generator
of actions. The driver feeds it what the radio sent with `step(received)` and writes what `step`
returns; `next_deadline` says when it next needs a step. Every wait is bounded on the injected
clock: a guard time, or a reply time-out with a fixed number of retries. A radio that stops
answering ends the session with a failed `AtResult` naming the command, and the session sends a
blind `ATO` so a radio that is merely slow is not left in command mode. Nothing raises out of
`step`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Final

from drivers.radio.errors import AtResponseError
from drivers.radio.link import RssiReport
from hal.clock import Clock

#: Air data rates (kbit/s) the Si1000 SiK firmware supports.
AIR_SPEEDS_KBPS: Final = (2, 4, 8, 16, 19, 24, 32, 48, 64, 96, 128, 192, 250)
MAX_TX_POWER_DBM: Final = 30  # RFD900; HM-TRP/3DR radios top out at 20 and answer ERROR above
#: Longest line kept while hunting for an answer (binary data from the air arrives meanwhile).
MAX_LINE: Final = 256
_PLUS: Final = "+++"
_FAREWELL: Final = b"\rATO\r"


class SikParam(IntEnum):
    """Register numbers of the standard SiK firmware (`parameters.c`)."""

    FORMAT = 0
    SERIAL_SPEED = 1
    AIR_SPEED = 2
    NETID = 3
    TXPOWER = 4
    ECC = 5
    MAVLINK = 6
    OPPRESEND = 7
    MIN_FREQ = 8
    MAX_FREQ = 9
    NUM_CHANNELS = 10
    DUTY_CYCLE = 11
    LBT_RSSI = 12
    MANCHESTER = 13
    RTSCTS = 14
    MAX_WINDOW = 15


_LISTING_LINE: Final = re.compile(r"S(\d+):([A-Z0-9_]+)=(\d+)")
_BANNER: Final = re.compile(r"SiK\s+(\S+)\s+on\s+(.+)")
_RSSI: Final = re.compile(
    r"L/R RSSI:\s*(\d+)/(\d+)\s+L/R noise:\s*(\d+)/(\d+)\s+pkts:\s*(\d+)\s+"
    r"txe=(\d+)\s+rxe=(\d+)\s+stx=(\d+)\s+srx=(\d+)\s+ecc=(\d+)/(\d+)"
    r"(?:\s+temp=(-?\d+))?"
)


def parse_listing(command: str, lines: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """`ATI5` lines -> {name: (register, value)}; a line that is not a register is an error."""
    registers: dict[str, tuple[int, int]] = {}
    for line in lines:
        match = _LISTING_LINE.fullmatch(line)
        if match is None:
            raise AtResponseError(command, line, "is not an S<n>:<NAME>=<value> line")
        registers[match[2]] = (int(match[1]), int(match[3]))
    if not registers:
        raise AtResponseError(command, "", "listed no registers")
    return registers


def parse_banner(line: str) -> tuple[str, str] | None:
    """(version, board) from `SiK 2.2 on HM-TRP`, None for a banner of another form."""
    match = _BANNER.search(line)
    return None if match is None else (match[1], match[2].strip())


def parse_rssi(command: str, line: str, at: float) -> RssiReport:
    match = _RSSI.search(line)
    if match is None:
        raise AtResponseError(command, line, "is not an 'L/R RSSI: ...' report")
    n = [int(g) if g is not None else None for g in match.groups()]
    return RssiReport(
        local_rssi=n[0], remote_rssi=n[1], local_noise=n[2], remote_noise=n[3], packets=n[4],
        tx_errors=n[5], rx_errors=n[6], serial_tx_overflow=n[7], serial_rx_overflow=n[8],
        ecc_corrected=n[9], ecc_packets=n[10], temperature_c=n[11], at=at,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class AtTiming:
    """Guard times and time-outs. The SiK firmware needs one full second of silence before and
    after `+++` (counted on its 100 Hz timer from the last octet), `guard_margin_s` covers the
    difference between our clock and its timer. Answers come within milliseconds at any baud rate
    the radio supports; `response_timeout_s` allows for a radio busy transmitting."""

    guard_s: float = 1.0
    guard_margin_s: float = 0.1
    response_timeout_s: float = 1.0
    listing_quiet_s: float = 0.25
    retries: int = 2
    boot_time_s: float = 2.0
    return_settle_s: float = 0.05

    def __post_init__(self) -> None:
        for name in ("guard_s", "response_timeout_s", "listing_quiet_s", "boot_time_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.guard_margin_s < 0 or self.return_settle_s < 0:
            raise ValueError("guard_margin_s and return_settle_s must not be negative")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"retries must be a non-negative integer, got {self.retries!r}")


@dataclass(frozen=True, slots=True)
class SikSettings:
    """What `configure` sets; None leaves a register as it is."""

    air_speed_kbps: int | None = None
    tx_power_dbm: int | None = None
    net_id: int | None = None
    ecc: bool | None = None
    mavlink: int | None = None
    save: bool = True
    reboot: bool = True

    def __post_init__(self) -> None:
        if self.air_speed_kbps is not None and self.air_speed_kbps not in AIR_SPEEDS_KBPS:
            raise ValueError(
                f"air speed {self.air_speed_kbps} kbit/s is not a SiK rate {AIR_SPEEDS_KBPS}"
            )
        if self.tx_power_dbm is not None and not 0 <= self.tx_power_dbm <= MAX_TX_POWER_DBM:
            raise ValueError(f"TX power must be 0..{MAX_TX_POWER_DBM} dBm, got {self.tx_power_dbm}")
        if self.net_id is not None and not 0 <= self.net_id <= 0xFFFF:
            raise ValueError(f"net ID must be 0..65535, got {self.net_id}")
        if self.mavlink is not None and self.mavlink not in (0, 1, 2):
            raise ValueError(f"MAVLINK framing must be 0, 1 or 2, got {self.mavlink}")

    def registers(self) -> dict[SikParam, int]:
        wanted = {
            SikParam.AIR_SPEED: self.air_speed_kbps,
            SikParam.TXPOWER: self.tx_power_dbm,
            SikParam.NETID: self.net_id,
            SikParam.ECC: None if self.ecc is None else int(self.ecc),
            SikParam.MAVLINK: self.mavlink,
        }
        return {param: value for param, value in wanted.items() if value is not None}


@dataclass(frozen=True, slots=True)
class AtResult:
    """How a session ended and what it learnt (also on failure: what was read before)."""

    operation: str
    ok: bool
    failure: str | None
    failed_command: str | None
    started_at: float
    finished_at: float
    banner: str | None = None
    version: str | None = None
    board: str | None = None
    params: Mapping[str, int] = field(default_factory=dict)
    registers: Mapping[str, int] = field(default_factory=dict)
    changed: tuple[str, ...] = ()
    rssi: RssiReport | None = None
    rebooted: bool = False

    @property
    def air_speed_kbps(self) -> int | None:
        return self.params.get(SikParam.AIR_SPEED.name)


class Expect(Enum):
    PLUS_OK = "plus"  # "OK" after the second guard time
    OK = "ok"  # "OK" or "ERROR"
    LINE = "line"  # one line of answer
    LISTING = "listing"  # lines until the radio falls silent
    NOTHING = "nothing"  # no answer; the radio needs `settle_s` afterwards


class Status(Enum):
    OK = "OK"
    ERROR = "ERROR"
    LINES = "lines"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class Send:
    command: str
    expect: Expect
    settle_s: float = 0.0
    prefix: bytes = b""

    @property
    def wire(self) -> bytes:
        if self.command == _PLUS:
            return b"+++"
        return self.prefix + self.command.encode("ascii") + b"\r"


@dataclass(frozen=True, slots=True)
class Guard:
    """Wait until the line from us has been silent for the guard time."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: Status
    lines: tuple[str, ...] = ()


class AtScriptError(Exception):
    """A script gives up: the radio refused or did not answer. Stays inside the session."""

    def __init__(self, reason: str, command: str | None) -> None:
        super().__init__(reason)
        self.command = command


@dataclass(slots=True)
class _Findings:
    now: Callable[[], float]
    banner: str | None = None
    version: str | None = None
    board: str | None = None
    params: dict[str, int] = field(default_factory=dict)
    registers: dict[str, int] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    rssi: RssiReport | None = None
    rebooted: bool = False


Action = Send | Guard
Script = Generator[Action, Reply, None]


@dataclass(slots=True)
class AtCounters:
    """Totals over every session of one driver."""

    sessions: int = 0
    sessions_ok: int = 0
    sessions_failed: int = 0
    commands: int = 0
    retries: int = 0
    timeouts: int = 0
    errors: int = 0
    stray_lines: int = 0


class AtSession:
    """One command-mode procedure. `step(received)` -> octets to write; never raises."""

    def __init__(
        self,
        operation: str,
        script: Callable[[_Findings, AtTiming], Script],
        clock: Clock,
        timing: AtTiming,
        *,
        char_time_s: float,
        line_quiet_at: float,
        counters: AtCounters | None = None,
    ) -> None:
        self.operation = operation
        self.timing = timing
        self.counters = counters if counters is not None else AtCounters()
        self.counters.sessions += 1
        self.result: AtResult | None = None
        self._clock = clock
        self._char_time_s = char_time_s
        self._wire_end = line_quiet_at  # when our last written octet has left the UART
        self._findings = _Findings(clock.monotonic)
        self._started = clock.monotonic()
        self._script = script(self._findings, timing)
        self._action: Action | None = None
        self._sent = False
        self._attempt = 0
        self._deadline = self._started
        self._timeout_at = self._started
        self._hold_until = self._started
        self._lines: list[str] = []
        self._partial = bytearray()
        self._last_rx = self._started
        self._plus_sent = False
        self._farewell = b""
        self._resume(None)

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def wire_end(self) -> float:
        """When the last octet the session wrote has left the UART (estimated)."""
        return self._wire_end

    @property
    def next_deadline(self) -> float | None:
        return None if self.done else self._deadline

    def step(self, received: bytes = b"") -> bytes:
        now = self._clock.monotonic()
        if received:
            self._take(received, now)
        out = bytearray()
        while not self.done:
            progressed, data = self._advance(now)
            if data:
                out += data
                self._wire_end = max(self._wire_end, now) + len(data) * self._char_time_s
            if not progressed:
                break
        if self._farewell:
            out += self._farewell
            self._wire_end = max(self._wire_end, now) + len(self._farewell) * self._char_time_s
            self._farewell = b""
        return bytes(out)

    # -- receiving ---------------------------------------------------------------------------

    def _take(self, received: bytes, now: float) -> None:
        self._last_rx = now
        partial = self._partial
        partial += received
        while True:
            cut = partial.find(b"\n")
            if cut < 0:
                break
            line = partial[:cut].strip(b"\r\n\t ").decode("latin-1")
            del partial[: cut + 1]
            if line:
                self._line(line)
        if len(partial) > MAX_LINE:
            partial.clear()

    def _line(self, line: str) -> None:
        action = self._action
        if not isinstance(action, Send) or not self._sent:
            self.counters.stray_lines += 1
            return
        if line == action.command or line == _PLUS:
            return  # the radio's echo of what we typed
        self._lines.append(line)

    # -- acting ------------------------------------------------------------------------------

    def _advance(self, now: float) -> tuple[bool, bytes]:
        action = self._action
        if isinstance(action, Guard):
            ready = self._wire_end + self.timing.guard_s + self.timing.guard_margin_s
            if now >= ready:
                self._resume(Reply(Status.OK))
                return True, b""
            self._deadline = ready
            return False, b""
        assert isinstance(action, Send)
        if not self._sent:
            if now < self._hold_until:
                self._deadline = self._hold_until
                return False, b""
            return True, self._send(action, now)
        reply = self._reply(action, now)
        if reply is not None:
            if reply.status is Status.ERROR:
                self.counters.errors += 1
            self._resume(reply)
            return True, b""
        if now < self._deadline:
            return False, b""
        if self._attempt < self.timing.retries:
            self._attempt += 1
            self.counters.retries += 1
            self._sent = False
            self._lines.clear()
            if action.command == _PLUS:
                self._hold_until = self._wire_end + self.timing.guard_s + self.timing.guard_margin_s
            return True, b""
        self.counters.timeouts += 1
        self._resume(Reply(Status.TIMEOUT, tuple(self._lines)))
        return True, b""

    def _send(self, action: Send, now: float) -> bytes:
        data = action.wire
        self._sent = True
        self._lines.clear()
        self.counters.commands += 1
        end = max(self._wire_end, now) + len(data) * self._char_time_s
        timing = self.timing
        if action.expect is Expect.PLUS_OK:
            self._plus_sent = True
            self._deadline = end + timing.guard_s + timing.response_timeout_s
        elif action.expect is Expect.NOTHING:
            self._deadline = end + action.settle_s
        else:
            self._deadline = end + timing.response_timeout_s
        self._timeout_at = self._deadline
        return data

    def _reply(self, action: Send, now: float) -> Reply | None:
        lines = self._lines
        expect = action.expect
        if expect is Expect.NOTHING:
            return Reply(Status.OK) if now >= self._deadline else None
        if "ERROR" in lines:
            return Reply(Status.ERROR, tuple(lines))
        if expect is Expect.PLUS_OK or expect is Expect.OK:
            return Reply(Status.OK, tuple(lines)) if "OK" in lines else None
        if expect is Expect.LINE:
            return Reply(Status.LINES, (lines[0],)) if lines else None
        if lines and now >= self._last_rx + self.timing.listing_quiet_s:
            return Reply(Status.LINES, tuple(lines))
        if lines:
            self._deadline = min(self._timeout_at, self._last_rx + self.timing.listing_quiet_s)
        return None

    def _resume(self, reply: Reply | None) -> None:
        try:
            action = self._script.send(reply)  # type: ignore[arg-type]
        except StopIteration:
            self._finish(None, None)
            return
        except AtScriptError as exc:
            self._finish(str(exc), exc.command)
            return
        except AtResponseError as exc:
            self.counters.errors += 1
            self._finish(str(exc), exc.command)
            return
        self._action = action
        self._sent = False
        self._attempt = 0
        self._lines.clear()

    def _finish(self, failure: str | None, command: str | None) -> None:
        now = self._clock.monotonic()
        if failure is not None:
            self._script.close()
            self.counters.sessions_failed += 1
            if self._plus_sent:  # a blind ATO, for a radio left in command mode
                self._farewell = _FAREWELL
        else:
            self.counters.sessions_ok += 1
        f = self._findings
        self.result = AtResult(
            operation=self.operation, ok=failure is None, failure=failure,
            failed_command=command, started_at=self._started, finished_at=now, banner=f.banner,
            version=f.version, board=f.board, params=dict(f.params),
            registers=dict(f.registers), changed=tuple(f.changed), rssi=f.rssi,
            rebooted=f.rebooted,
        )  # fmt: skip
        self._action = None


# -- scripts ----------------------------------------------------------------------------------


def _need(reply: Reply, action: Send) -> Reply:
    if reply.status is Status.TIMEOUT:
        raise AtScriptError(
            f"the radio stopped answering: no reply to {action.command}", action.command
        )
    if reply.status is Status.ERROR:
        raise AtScriptError(f"the radio answered ERROR to {action.command}", action.command)
    return reply


def _enter(timing: AtTiming) -> Script:
    """Guard, `+++`, guard, `OK`; if that fails, a radio already in command mode answers `AT`."""
    yield Guard()
    plus = Send(_PLUS, Expect.PLUS_OK)
    reply = yield plus
    if reply.status is Status.OK:
        return
    probe = Send("AT", Expect.OK, prefix=b"\r")
    reply = yield probe
    if reply.status is not Status.OK:
        raise AtScriptError("the radio did not enter command mode: no OK to +++ or AT", _PLUS)


def _read_banner(found: _Findings) -> Script:
    action = Send("ATI", Expect.LINE)
    line = _need((yield action), action).lines[0]
    found.banner = line
    parsed = parse_banner(line)
    if parsed is not None:
        found.version, found.board = parsed


def _read_params(found: _Findings) -> Script:
    action = Send("ATI5", Expect.LISTING)
    listing = parse_listing(action.command, _need((yield action), action).lines)
    found.params = {name: value for name, (_, value) in listing.items()}
    found.registers = {name: number for name, (number, _) in listing.items()}


def _leave(timing: AtTiming) -> Script:
    action = Send("ATO", Expect.NOTHING, settle_s=timing.return_settle_s)
    _need((yield action), action)


def info_script(found: _Findings, timing: AtTiming) -> Script:
    """Read the banner and every register, then back to data mode."""
    yield from _enter(timing)
    yield from _read_banner(found)
    yield from _read_params(found)
    yield from _leave(timing)


def rssi_script(found: _Findings, timing: AtTiming) -> Script:
    """Read the RSSI report (`ATI7`), then back to data mode."""
    yield from _enter(timing)
    action = Send("ATI7", Expect.LINE)
    line = _need((yield action), action).lines[0]
    found.rssi = parse_rssi(action.command, line, found.now())
    yield from _leave(timing)


def configure_script(settings: SikSettings) -> Callable[[_Findings, AtTiming], Script]:
    """Read, set what differs, check it, save, reboot (or return to data mode)."""

    def script(found: _Findings, timing: AtTiming) -> Script:
        yield from _enter(timing)
        yield from _read_banner(found)
        yield from _read_params(found)
        for param, value in settings.registers().items():
            if found.params.get(param.name) == value:
                continue
            number = found.registers.get(param.name, int(param))
            setting = Send(f"ATS{number}={value}", Expect.OK)
            _need((yield setting), setting)
            query = Send(f"ATS{number}?", Expect.LINE)
            answer = _need((yield query), query).lines[0]
            if not answer.isdigit():
                raise AtResponseError(query.command, answer, "is not a register value")
            actual = int(answer)
            if param is not SikParam.TXPOWER and actual != value:
                raise AtScriptError(
                    f"{param.name} reads back {actual} after {setting.command}", query.command
                )
            found.params[param.name] = actual
            found.changed.append(param.name)
        if found.changed and settings.save:
            save = Send("AT&W", Expect.OK)
            _need((yield save), save)
        if found.changed and settings.reboot:
            reboot = Send("ATZ", Expect.NOTHING, settle_s=timing.boot_time_s)
            _need((yield reboot), reboot)
            found.rebooted = True
        else:
            yield from _leave(timing)

    return script
