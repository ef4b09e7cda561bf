"""The serial radio driver: one `poll()` per rate-group cycle does all the work, without blocking.

`poll()` reads what the port has (never waiting for more), decodes it into frames, writes as many
queued octets as the pacer allows, checks the link's silence timer, and returns the frames that
arrived. It never raises: a port error is counted in `stats.port_errors` and kept in `last_error`,
and the next poll tries again. Any `SerialPort` works (a UART or pseudo-terminal through pyserial,
`loop://`, `sim://`); open it with `timeout=0` and `write_timeout=0` so that no call can wait.

Two link modes share the queue, the pacer, the statistics and the link monitor:

- `KissRadio`: AX.25 UI frames in KISS frames, for a TNC (a CubeSat UHF radio, a software TNC);
- `TransparentRadio`: the CCSDS channel stream (CADUs: attached sync marker, Reed-Solomon,
  randomizer, from `flight.codec`) through a SiK/RFD900-class modem, which the driver also
  configures with `+++`/`AT` (`configure`, `read_info`, `read_rssi`). A command-mode session waits
  for the frame being written to finish, holds transmission for its duration and runs step by step
  in later polls, so the rate group is never stalled by the radio's guard times.

What a runtime component maps to telemetry: `stats` (`LinkStats`), `queue.counters`,
`link.state`, `link.losses`, `link.recoveries`, and for the modem `at_counters` and `at_result`;
to events: the `on_link_change` callback (lost/recovered) and `on_at_result` (configuration done
or failed). `snapshot()` gathers the numbers in one flat dict.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from drivers.radio import ax25
from drivers.radio.ax25 import Address, UiFrame
from drivers.radio.errors import Ax25Error
from drivers.radio.kiss import (
    DEFAULT_MAX_FRAME,
    KissCommand,
    KissDeframer,
    KissTncParams,
    kiss_encode,
)
from drivers.radio.link import LinkMonitor, LinkState, LinkStats, LinkTransition
from drivers.radio.pacing import (
    DEFAULT_BITS_PER_OCTET,
    DEFAULT_BURST_BYTES,
    TxPacer,
    rate_from_bits,
)
from drivers.radio.sik import (
    AtCounters,
    AtResult,
    AtSession,
    AtTiming,
    SikSettings,
    configure_script,
    info_script,
    rssi_script,
)
from drivers.radio.txqueue import DEFAULT_MAX_BYTES, DEFAULT_MAX_FRAMES, Priority, TxQueue
from flight.codec import CaduSync, cadu_encode
from flight.codec.reference.link import RS_K
from hal.clock import Clock
from hal.serial import SerialPort, SerialTimeoutError

#: Port failures the driver counts and survives (SerialError is an OSError; pyserial reports some
#: faults of a vanished device as ValueError or TypeError on a closed descriptor).
_PORT_FAULTS: Final = (OSError, ValueError, TypeError)


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """Settings both modes share. The pacing rate is `air_rate_bps / bits_per_octet`, never more
    than the UART's own character rate."""

    air_rate_bps: int = 9600
    bits_per_octet: float = DEFAULT_BITS_PER_OCTET
    burst_bytes: int = DEFAULT_BURST_BYTES
    silence_timeout_s: float = 10.0
    max_queue_frames: int = DEFAULT_MAX_FRAMES
    max_queue_bytes: int = DEFAULT_MAX_BYTES
    max_read_per_poll: int = 64 * 1024
    #: No writes while the UART still holds this many octets (pyserial's out_waiting).
    tx_high_water: int = 1024


@dataclass(frozen=True, slots=True)
class KissConfig(LinkConfig):
    local: str = "N0CALL"
    destination: str = "CQ"
    via: tuple[str, ...] = ()
    kiss_port: int = 0
    pid: int = ax25.PID_NO_LAYER3
    max_info: int = ax25.DEFAULT_MAX_INFO
    max_frame: int = DEFAULT_MAX_FRAME
    #: Deliver frames addressed to any station (a ground monitor), not only to `local`.
    accept_any_destination: bool = False


@dataclass(frozen=True, slots=True)
class TransparentConfig(LinkConfig):
    interleave: int = 1
    at_timing: AtTiming = field(default_factory=AtTiming)
    #: After a command-mode session that read AIR_SPEED, pace to the rate the radio runs at.
    pace_from_radio: bool = True


class RadioDriver(ABC):
    """What both modes share: port I/O, queue, pacing, statistics, link monitor."""

    def __init__(
        self,
        port: SerialPort,
        clock: Clock,
        config: LinkConfig,
        on_link_change: Callable[[LinkTransition], None] | None = None,
    ) -> None:
        self.port = port
        self.clock = clock
        self.config = config
        self.stats = LinkStats()
        self.queue = TxQueue(config.max_queue_frames, config.max_queue_bytes)
        self.link = LinkMonitor(clock, config.silence_timeout_s, on_link_change)
        self.pacer = TxPacer(clock, self._pacing_rate(config.air_rate_bps), config.burst_bytes)
        self.last_error: Exception | None = None
        self._current = b""
        self._offset = 0
        self._wire_end = clock.monotonic()

    # -- public ----------------------------------------------------------------------------------

    def poll(self) -> list:
        """Read, decode, transmit, check the link; returns the frames received. Never raises."""
        data = self._read()
        frames = self._receive(data)
        if self._may_transmit():
            self._transmit()
        self.link.check()
        return frames

    @property
    def next_deadline(self) -> float:
        """When the next `poll` has work: a full burst (or all that is pending) may be written, or
        the link times out. A simulation can sleep until then; a rate group polls at its rate."""
        deadline = self.link.lost_at if self.link.state is not LinkState.LOST else float("inf")
        pending = len(self._current) - self._offset + self.queue.octets
        if pending:
            deadline = min(deadline, self.pacer.ready_at(min(pending, self.pacer.burst_bytes)))
        return deadline

    @property
    def transmitting(self) -> bool:
        """A frame is partly written or frames are queued."""
        return bool(self._current) or bool(len(self.queue))

    def set_air_rate(self, air_rate_bps: int) -> None:
        self.pacer.set_rate(self._pacing_rate(air_rate_bps))

    def snapshot(self) -> dict[str, object]:
        """The telemetry numbers, flat."""
        stats, q = self.stats, self.queue.counters
        rssi = stats.rssi
        return {
            "frames_in": stats.frames_in,
            "frames_out": stats.frames_out,
            "bytes_in": stats.bytes_in,
            "bytes_out": stats.bytes_out,
            "crc_failures": stats.crc_failures,
            "rejected": sum(stats.rejected.values()),
            "tx_drops": q.drops,
            "tx_aborted": stats.tx_aborted,
            "queue_frames": len(self.queue),
            "port_errors": stats.port_errors,
            "link_state": self.link.state.name,
            "link_losses": self.link.losses,
            "link_recoveries": self.link.recoveries,
            "rssi_dbm": None if rssi is None else round(rssi.local_dbm, 1),
            "remote_rssi_dbm": None if rssi is None else round(rssi.remote_dbm, 1),
        }

    # -- mode hooks ------------------------------------------------------------------------------

    @abstractmethod
    def _receive(self, data: bytes) -> list:
        """Decode `data` (possibly empty) into the frames this poll returns."""

    def _may_transmit(self) -> bool:
        return True

    # -- I/O -------------------------------------------------------------------------------------

    def _pacing_rate(self, air_rate_bps: float) -> float:
        uart_rate = 1.0 / self.port.settings.character_time_s
        return min(rate_from_bits(air_rate_bps, self.config.bits_per_octet), uart_rate)

    def _port_fault(self, exc: Exception) -> None:
        self.stats.port_errors += 1
        self.last_error = exc

    def _read(self) -> bytes:
        chunks: list[bytes] = []
        total, limit = 0, self.config.max_read_per_poll
        try:
            while total < limit:
                waiting = self.port.in_waiting
                if not waiting:
                    break
                data = self.port.read(min(waiting, limit - total))
                if not data:
                    break
                chunks.append(data)
                total += len(data)
        except _PORT_FAULTS as exc:
            self._port_fault(exc)
        self.stats.bytes_in += total
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _write(self, data: bytes) -> int | None:
        """Octets written (possibly fewer than asked), or None when how many is unknown."""
        try:
            written = self.port.write(data)
        except SerialTimeoutError as exc:
            written = exc.written
            if written is None:
                self._port_fault(exc)
                return None
        except _PORT_FAULTS as exc:
            self._port_fault(exc)
            return None
        now = self.clock.monotonic()
        self._wire_end = max(self._wire_end, now) + written * self.port.settings.character_time_s
        self.stats.bytes_out += written
        return written

    def _transmit(self) -> None:
        budget = self.pacer.available()
        if budget <= 0:
            return
        try:
            if self.port.out_waiting > self.config.tx_high_water:
                return
        except _PORT_FAULTS as exc:
            self._port_fault(exc)
            return
        while budget > 0:
            if not self._current:
                if not self._may_start_frame():
                    return
                frame = self.queue.pop()
                if frame is None:
                    return
                self._current, self._offset = frame, 0
            current, offset = self._current, self._offset
            whole = not offset and len(current) <= budget
            piece = current if whole else current[offset : offset + budget]
            written = self._write(piece)
            if written is None:
                # The line lost an unknown part of the frame; the far end resynchronizes on the
                # next frame's delimiter (FEND, or the attached sync marker).
                self.stats.tx_aborted += 1
                self._current, self._offset = b"", 0
                return
            self.pacer.consume(written)
            budget -= written
            self._offset = offset + written
            if self._offset == len(current):
                self.stats.frames_out += 1
                self._current, self._offset = b"", 0
            if written < len(piece):
                return

    def _may_start_frame(self) -> bool:
        return True


class KissRadio(RadioDriver):
    """AX.25 UI frames through a KISS TNC. `poll()` returns the `UiFrame`s received."""

    def __init__(
        self,
        port: SerialPort,
        clock: Clock,
        config: KissConfig | None = None,
        on_link_change: Callable[[LinkTransition], None] | None = None,
    ) -> None:
        config = config if config is not None else KissConfig()
        super().__init__(port, clock, config, on_link_change)
        self.config: KissConfig = config
        self.local = Address.parse(config.local)
        self.destination = Address.parse(config.destination)
        self.via = tuple(Address.parse(d) for d in config.via)
        self.deframer = KissDeframer(config.max_frame)
        self._deframer_rejected = 0

    def send(
        self,
        info: bytes,
        priority: Priority = Priority.REALTIME,
        *,
        destination: Address | str | None = None,
    ) -> bool:
        """Queue a UI frame from `local`; False if the queue dropped it. A frame that cannot be
        encoded (information field over `max_info`) raises its `Ax25Error`."""
        frame = UiFrame.build(
            self.destination if destination is None else destination,
            self.local,
            info,
            via=self.via,
            pid=self.config.pid,
        )
        return self.send_frame(frame, priority)

    def send_frame(self, frame: UiFrame, priority: Priority = Priority.REALTIME) -> bool:
        wire = kiss_encode(ax25.encode(frame, self.config.max_info), self.config.kiss_port)
        return self.queue.push(wire, priority)

    def set_tnc_params(self, params: KissTncParams) -> bool:
        """Queue the KISS parameter commands (TXDELAY, P, SLOTTIME, TXTAIL, FULLDUPLEX) ahead of
        data; False if the queue dropped any."""
        return all(
            self.queue.push(frame, Priority.REALTIME)
            for frame in params.frames(self.config.kiss_port)
        )

    def _receive(self, data: bytes) -> list[UiFrame]:
        if not data:
            return []
        stats, config = self.stats, self.config
        received: list[UiFrame] = []
        for kiss_frame in self.deframer.feed(data):
            if kiss_frame.port != config.kiss_port:
                stats.reject("kiss_other_port")
                continue
            if kiss_frame.command != KissCommand.DATA:
                stats.reject("kiss_not_data")
                stats.crc_failures += 1
                continue
            try:
                frame = ax25.decode(kiss_frame.payload, config.max_info)
            except Ax25Error as exc:
                stats.reject(exc.counter)
                stats.crc_failures += 1
                self.last_error = exc
                continue
            if not config.accept_any_destination and (
                frame.destination.callsign != self.local.callsign
                or frame.destination.ssid != self.local.ssid
            ):
                stats.reject("not_addressed_to_us")
                continue
            stats.frames_in += 1
            self.link.frame_received()
            received.append(frame)
        counters = self.deframer.counters
        if counters.rejected != self._deframer_rejected:
            stats.crc_failures += counters.rejected - self._deframer_rejected
            self._deframer_rejected = counters.rejected
            stats.rejected["kiss_oversized"] = counters.oversized
            stats.rejected["kiss_bad_escape"] = counters.bad_escapes
        return received


class TransparentRadio(RadioDriver):
    """CADUs through a SiK/RFD900-class modem. `send` takes transfer frames of
    `frame_length` = 223 x interleave octets; `poll()` returns the frames received."""

    def __init__(
        self,
        port: SerialPort,
        clock: Clock,
        config: TransparentConfig | None = None,
        on_link_change: Callable[[LinkTransition], None] | None = None,
        on_at_result: Callable[[AtResult], None] | None = None,
    ) -> None:
        config = config if config is not None else TransparentConfig()
        super().__init__(port, clock, config, on_link_change)
        self.config: TransparentConfig = config
        self.sync = CaduSync(config.interleave)
        self.frame_length = RS_K * config.interleave
        self.on_at_result = on_at_result
        self.at_counters = AtCounters()
        self.at_result: AtResult | None = None
        self.session: AtSession | None = None
        self._requested: tuple[str, Callable] | None = None
        self._uncorrectable = 0

    def send(self, frame: bytes, priority: Priority = Priority.REALTIME) -> bool:
        """Queue one transfer frame as a CADU; False if the queue dropped it. A frame of the wrong
        length raises the codec's ValueError."""
        return self.queue.push(cadu_encode(frame, self.config.interleave), priority)

    # -- command mode ----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A command-mode session is running or waiting to start."""
        return self.session is not None or self._requested is not None

    def configure(self, settings: SikSettings) -> bool:
        """Start setting the radio (read, set what differs, verify, save, reboot); the outcome
        arrives as `at_result` / `on_at_result`. False if a session is already under way."""
        return self._request("configure", configure_script(settings))

    def read_info(self) -> bool:
        """Start reading the banner and the registers (ATI, ATI5)."""
        return self._request("read_info", info_script)

    def read_rssi(self) -> bool:
        """Start reading the RSSI report (ATI7). The link pauses for about two guard times."""
        return self._request("read_rssi", rssi_script)

    def _request(self, operation: str, script: Callable) -> bool:
        if self.busy:
            return False
        self._requested = (operation, script)
        return True

    def _may_start_frame(self) -> bool:
        return self._requested is None

    def _may_transmit(self) -> bool:
        return self.session is None

    def poll(self) -> list[bytes]:
        """As `RadioDriver.poll`; then a requested command-mode session starts, once the frame
        being written is complete."""
        frames = super().poll()
        if self._requested is not None and self.session is None and not self._current:
            operation, script = self._requested
            self._requested = None
            self.session = AtSession(
                operation, script, self.clock, self.config.at_timing,
                char_time_s=self.port.settings.character_time_s,
                line_quiet_at=self._wire_end, counters=self.at_counters,
            )  # fmt: skip
            self._step_session(b"")
        return frames

    @property
    def next_deadline(self) -> float:
        deadline = super().next_deadline
        if self.session is not None and self.session.next_deadline is not None:
            deadline = min(deadline, self.session.next_deadline)
        if self._requested is not None:
            deadline = min(deadline, self.clock.monotonic())
        return deadline

    def _step_session(self, data: bytes) -> None:
        session = self.session
        assert session is not None
        out = session.step(data)
        if out:
            self._write(out)
        if session.done:
            self.session = None
            self._wire_end = max(self._wire_end, session.wire_end)
            self._finish_session(session.result)

    def _finish_session(self, result: AtResult | None) -> None:
        assert result is not None
        self.at_result = result
        if result.rssi is not None:
            self.stats.rssi = result.rssi
        speed = result.air_speed_kbps
        if (
            result.ok
            and self.config.pace_from_radio
            and speed is not None
            and (result.rebooted or "AIR_SPEED" not in result.changed)
        ):
            self.set_air_rate(speed * 1000)
        if self.on_at_result is not None:
            self.on_at_result(result)

    # -- data ------------------------------------------------------------------------------------

    def _receive(self, data: bytes) -> list[bytes]:
        if self.session is not None:
            self._step_session(data)
            return []
        if not data:
            return []
        frames = self.sync.feed(data)
        if frames:
            self.stats.frames_in += len(frames)
            self.link.frame_received()
        uncorrectable = self.sync.uncorrectable
        if uncorrectable != self._uncorrectable:
            self.stats.crc_failures += uncorrectable - self._uncorrectable
            self.stats.rejected["cadu_uncorrectable"] = uncorrectable
            self._uncorrectable = uncorrectable
        return frames
