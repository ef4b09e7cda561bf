"""The serial radio as a runtime component: link frames on the bus, link statistics, AT commands.

Hardware binding: `port`, the radio's UART (a device path, a pyserial URL or `sim://NAME`).

Bus contract (shared with the space-link components): every link frame received goes out on
`rx_frame` (topic "<instance>.rx_frame"), as bytes: in transparent mode the transfer frame decoded
from a CADU (223 x `interleave` octets), in KISS mode the AX.25 information field. Frames to send
come in on `tx_frame` as `(priority, frame)`: priority 0 realtime, 1 events, 2 playback; in
transparent mode a frame must be exactly `frame_length` octets (the sender pads), in KISS mode at
most the AX.25 information field (256 octets). A message that breaks the contract is refused,
counted (`tx_refused`) and reported in a throttled event.

The driver (`KissRadio` or `TransparentRadio`) never blocks, so the component runs it from its
rate group: each `cycle()` is one `poll()` (read what arrived, decode, write what the pacer
allows, check the link timer). The pacer's burst is sized to the group's period so that the air
rate, not the cycle rate, limits the throughput. SiK/RFD900 modems are configured with AT
commands at start (the `sik` table) and by command; a session runs over later cycles (guard
times of a second or more) and its outcome is an event. Link loss and recovery are events;
statistics are telemetry once per `telemetry_period_s`; each change of the link state is also
published on `link` (a `LinkTransition`).

Settings (all optional): `mode` ("transparent" or "kiss"), `baudrate`, the `LinkConfig` fields
(`air_rate_bps`, `silence_timeout_s`, `max_queue_frames`, `max_queue_bytes`, `burst_bytes`,
`bits_per_octet`, ...), for transparent mode `interleave` and the `sik` table (`SikSettings`
fields) and `at_timing` table (`AtTiming` fields), for KISS mode `local`, `destination`, `via`,
`kiss_port` and the `tnc` table (`KissTncParams` fields), `telemetry_period_s` and `reopen_s`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Final

from drivers.ports import open_port
from drivers.radio.driver import (
    KissConfig,
    KissRadio,
    LinkConfig,
    RadioDriver,
    TransparentConfig,
    TransparentRadio,
)
from drivers.radio.errors import Ax25Error
from drivers.radio.kiss import KissTncParams
from drivers.radio.link import LinkState, LinkTransition
from drivers.radio.pacing import DEFAULT_BURST_BYTES, rate_from_bits
from drivers.radio.sik import AIR_SPEEDS_KBPS, AtResult, AtTiming, SikSettings
from drivers.radio.txqueue import Priority
from flight.codec.reference.link import RS_K
from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Health,
    Output,
    Throttle,
    Update,
    command,
    input_port,
)
from flight.runtime.errors import CommandError, ConfigError, ReasonCode
from flight.runtime.records import Severity
from flight.runtime.types import F32, U8, U16, U32, Enum, String
from hal.serial import SerialPort, SerialSettingError, SerialURLError

MODES: Final = ("transparent", "kiss")
COUNTERS: Final = (
    "frames_in", "frames_out", "bytes_in", "bytes_out", "crc_failures", "rejected", "tx_drops",
    "tx_aborted", "port_errors", "link_losses", "link_recoveries",
)  # fmt: skip
_OWN_KEYS: Final = ("mode", "baudrate", "sik", "tnc", "at_timing", "telemetry_period_s",
                    "reopen_s")  # fmt: skip


def _settings(cls: type, table: Mapping[str, Any], key: str) -> Any:
    """A dataclass of settings from a deployment table, each value checked against the type of
    the field's default; a wrong key or value is a `ConfigError` naming it."""
    if not isinstance(table, Mapping):
        raise ConfigError(key, "must be a table")
    defaults = cls()
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for name, value in table.items():
        if name not in names:
            raise ConfigError(f"{key}.{name}" if key else name,
                              f"unknown setting (known: {', '.join(sorted(names))})")  # fmt: skip
        default = getattr(defaults, name)
        if isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        if default is None or isinstance(default, bool):  # optional numbers and flags
            ok = isinstance(value, int) and (default is None or type(value) is bool)
        elif isinstance(default, float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            value = float(value) if ok else value
        else:
            ok = isinstance(value, type(default)) and not isinstance(value, bool)
        if not ok:
            raise ConfigError(f"{key}.{name}" if key else name, f"{value!r} has the wrong type")
        values[name] = value
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(key or cls.__name__, str(exc)) from None


class Radio(Component):
    """A KISS TNC or a SiK-class transparent modem on a UART (see the module notes)."""

    # fmt: off
    frames_in = Channel(1, U32, update=Update.ON_CHANGE, doc="link frames received and decoded")
    frames_out = Channel(2, U32, update=Update.ON_CHANGE, doc="link frames written to the radio")
    bytes_in = Channel(3, U32, doc="octets read from the radio")
    bytes_out = Channel(4, U32, doc="octets written to the radio")
    crc_failures = Channel(5, U32, update=Update.ON_CHANGE,
                           doc="damaged frames: CADUs Reed-Solomon could not correct, or KISS "
                               "frames the serial line broke")
    rejected = Channel(6, U32, update=Update.ON_CHANGE,
                       doc="received frames rejected (all reasons, incl. not addressed to us)")
    tx_drops = Channel(7, U32, update=Update.ON_CHANGE,
                       doc="frames the transmit queue refused or evicted")
    tx_aborted = Channel(8, U32, update=Update.ON_CHANGE, doc="frames cut short by a port fault")
    port_errors = Channel(9, U32, update=Update.ON_CHANGE, doc="UART faults")
    link_losses = Channel(10, U32, update=Update.ON_CHANGE, doc="times the link was lost")
    link_recoveries = Channel(11, U32, update=Update.ON_CHANGE, doc="times it came back")
    link_state = Channel(12, Enum(LinkState), update=Update.ON_CHANGE, doc="UNKNOWN, UP, LOST")
    queue_frames = Channel(13, U32, doc="frames waiting to be sent")
    rssi = Channel(14, F32, unit="dBm", update=Update.ON_CHANGE,
                   doc="local RSSI from the last read (SiK ATI7)")
    remote_rssi = Channel(15, F32, unit="dBm", update=Update.ON_CHANGE,
                          doc="the far radio's RSSI from the last read")
    at_sessions_ok = Channel(16, U32, update=Update.ON_CHANGE, doc="AT sessions that succeeded")
    at_sessions_failed = Channel(17, U32, update=Update.ON_CHANGE, doc="AT sessions that failed")
    tx_refused = Channel(18, U32, update=Update.ON_CHANGE,
                         doc="tx_frame messages refused: malformed, wrong length, too long")
    air_rate = Channel(19, U32, unit="bit/s", update=Update.ON_CHANGE,
                       doc="air rate the transmitter is paced to")

    link_up = Event(1, Severity.ACTIVITY_HI, "link up: first frame received")
    link_lost = Event(2, Severity.WARNING_HI, "link lost: no frame for {silence_s:.1f} s",
                      silence_s=F32)
    link_recovered = Event(3, Severity.ACTIVITY_HI, "link recovered after {gap_s:.1f} s",
                           gap_s=F32)
    at_done = Event(4, Severity.ACTIVITY_HI, "radio {operation} done: {detail}",
                    operation=String(16), detail=String(96))
    at_failed = Event(5, Severity.WARNING_HI, "radio {operation} failed at {command!r}: {failure}",
                      throttle=Throttle(5, 300.0), operation=String(16), command=String(24),
                      failure=String(80))
    rssi_read = Event(6, Severity.ACTIVITY_LO,
                      "RSSI local {local_dbm:.1f} dBm, remote {remote_dbm:.1f} dBm",
                      local_dbm=F32, remote_dbm=F32)
    frame_refused = Event(7, Severity.WARNING_LO, "tx frame refused: {reason}",
                          throttle=Throttle(5, 60.0), reason=String(80))
    port_failed = Event(8, Severity.WARNING_HI, "radio port: {error}",
                        throttle=Throttle(3, 300.0), error=String(80))
    input_damaged = Event(9, Severity.WARNING_LO,
                          "radio input damaged: {crc_failures} bad frames, {rejected} rejected",
                          throttle=Throttle(3, 300.0), crc_failures=U32, rejected=U32)
    stats_reset = Event(10, Severity.ACTIVITY_LO, "radio statistics reset")
    queue_cleared = Event(11, Severity.ACTIVITY_HI, "{frames} queued frames discarded",
                          frames=U32)
    # fmt: on

    rx_frame = Output("each received link frame (bytes)")
    link = Output("each change of the link state (a LinkTransition), e.g. for files.link")

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.mode = "transparent"
        self.baudrate = 57600
        self.link_config: LinkConfig = TransparentConfig()
        self.sik: SikSettings | None = None
        self.tnc: KissTncParams | None = None
        self.telemetry_period_s = 1.0
        self.reopen_s = 5.0
        self.port: SerialPort | None = None
        self.driver: RadioDriver | None = None
        self._burst_given = False
        self._next_open = 0.0
        self._next_tlm = 0.0
        self._refused = 0
        self._baseline: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._seen: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._reported: dict[str, int] = dict.fromkeys(COUNTERS, 0)

    @property
    def frame_length(self) -> int | None:
        """Octets of a transfer frame in transparent mode (223 x interleave); None for KISS."""
        if isinstance(self.link_config, TransparentConfig):
            return RS_K * self.link_config.interleave
        return None

    # --- lifecycle ------------------------------------------------------------------------------

    def configure(self, config: Mapping[str, Any]) -> None:
        mode = config.get("mode", "transparent")
        if mode not in MODES:
            raise ConfigError("mode", f"{mode!r} is not one of {', '.join(MODES)}")
        self.mode = mode
        cls = TransparentConfig if mode == "transparent" else KissConfig
        own = {k: v for k, v in config.items() if k in _OWN_KEYS}
        link = {k: v for k, v in config.items() if k not in _OWN_KEYS}
        if mode == "transparent" and "tnc" in own:
            raise ConfigError("tnc", 'KISS TNC parameters need mode = "kiss"')
        if mode == "kiss" and ("sik" in own or "at_timing" in own):
            raise ConfigError("sik" if "sik" in own else "at_timing",
                              "AT configuration needs mode = \"transparent\"")  # fmt: skip
        if "at_timing" in own:
            link["at_timing"] = _settings(AtTiming, own["at_timing"], "at_timing")
        self._burst_given = "burst_bytes" in link
        self.link_config = _settings(cls, link, "")
        if "baudrate" in own:
            if type(own["baudrate"]) is not int or own["baudrate"] < 1:
                raise ConfigError("baudrate", f"{own['baudrate']!r} must be a positive integer")
            self.baudrate = own["baudrate"]
        if "sik" in own:
            self.sik = _settings(SikSettings, own["sik"], "sik")
        if "tnc" in own:
            self.tnc = _settings(KissTncParams, own["tnc"], "tnc")
        for key in ("telemetry_period_s", "reopen_s"):
            if key in own:
                value = own[key]
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise ConfigError(key, f"{value!r} must be a positive number of seconds")
                setattr(self, key, float(value))

    def init(self) -> None:
        if self.rate_group is None:
            raise ConfigError("rate_groups", f"{self.name} polls its radio from a rate group: "
                                             "make it a member of one")  # fmt: skip
        self._open()

    def start(self) -> None:
        self._next_tlm = self.now()
        if self.driver is not None:
            self._report()

    def stop(self) -> None:
        if self.port is not None:
            self.port.close()

    def _open(self) -> None:
        try:
            port = open_port(
                self.hardware("port"), clock=self.clock,
                resources=self.context.resources,  # type: ignore[arg-type]
                seed=self.context.seed, baudrate=self.baudrate, timeout=0, write_timeout=0,
            )  # fmt: skip
        except (SerialURLError, SerialSettingError) as exc:
            raise ConfigError(f"{self.name}.hardware.port", str(exc)) from None
        except OSError as exc:
            self._next_open = self.now() + self.reopen_s
            self._fault(exc)
            return
        config = self.link_config
        if not self._burst_given:
            rate = min(rate_from_bits(config.air_rate_bps, config.bits_per_octet),
                       1.0 / port.settings.character_time_s)  # fmt: skip
            period = self.rate_group.period_s
            burst = max(DEFAULT_BURST_BYTES, math.ceil(1.5 * rate * period))
            config = dataclasses.replace(config, burst_bytes=burst)
        try:
            if isinstance(config, TransparentConfig):
                driver: RadioDriver = TransparentRadio(
                    port, self.clock, config, self._on_link_change, self._on_at_result
                )
            else:
                driver = KissRadio(port, self.clock, config, self._on_link_change)  # type: ignore[arg-type]
        except ValueError as exc:
            port.close()
            raise ConfigError(self.name, str(exc)) from None
        self.port, self.driver = port, driver
        self.set_health(Health.OK)
        if isinstance(driver, TransparentRadio) and self.sik is not None:
            driver.configure(self.sik)
        if isinstance(driver, KissRadio) and self.tnc is not None:
            driver.set_tnc_params(self.tnc)

    # --- bus ------------------------------------------------------------------------------------

    @input_port(depth=64, policy="reject")
    def tx_frame(self, msg: tuple[int, bytes]) -> None:
        """(priority, frame) to send: see the module notes for the frame each mode takes."""
        try:
            raw_priority, frame = msg
            priority = Priority(raw_priority)
        except (TypeError, ValueError):
            self._refuse(f"not a (priority 0..2, frame) tuple: {type(msg).__name__}")
            return
        if not isinstance(frame, bytes | bytearray):
            self._refuse(f"frame is a {type(frame).__name__}, not bytes")
            return
        driver = self.driver
        if driver is None:
            self._refuse("the radio port is not open")
            return
        if isinstance(driver, TransparentRadio):
            if len(frame) != driver.frame_length:
                self._refuse(f"frame of {len(frame)} octets, the link takes "
                             f"{driver.frame_length}")  # fmt: skip
                return
            driver.send(bytes(frame), priority)
            return
        assert isinstance(driver, KissRadio)
        try:
            driver.send(bytes(frame), priority)
        except Ax25Error as exc:
            self._refuse(str(exc))

    def _refuse(self, reason: str) -> None:
        self._refused += 1
        self.tlm(self.tx_refused, self._refused)
        self.emit(self.frame_refused, reason.encode()[:80].decode(errors="ignore"))

    # --- rate group -----------------------------------------------------------------------------

    def cycle(self) -> None:
        driver = self.driver
        now = self.now()
        if driver is None:
            if now >= self._next_open:
                self._open()
            return
        frames = driver.poll()
        if frames:
            send = self.rx_frame.send
            if isinstance(driver, KissRadio):
                for frame in frames:
                    send(frame.info)
            else:
                for frame in frames:
                    send(frame)
        if now >= self._next_tlm:
            self._next_tlm = now + self.telemetry_period_s
            self._report()

    def _on_link_change(self, transition: LinkTransition) -> None:
        self.tlm(self.link_state, transition.state)
        self.link.send(transition)
        if transition.lost:
            self.emit(self.link_lost, transition.silence_s or 0.0)
        elif transition.recovered:
            self.emit(self.link_recovered, transition.silence_s or 0.0)
        elif transition.state is LinkState.UP:
            self.emit(self.link_up)

    def _on_at_result(self, result: AtResult) -> None:
        if not result.ok:
            self.emit(self.at_failed, result.operation, result.failed_command or "",
                      (result.failure or "").encode()[:80].decode(errors="ignore"))  # fmt: skip
            self.set_health(Health.WARNING, f"radio {result.operation} failed")
            return
        self.set_health(Health.OK)
        if result.rssi is not None:
            self.emit(self.rssi_read, result.rssi.local_dbm, result.rssi.remote_dbm)
        settings = " ".join(f"{k}={v}" for k, v in result.params.items()
                            if k in ("AIR_SPEED", "TXPOWER", "NETID", "ECC"))  # fmt: skip
        detail = "; ".join(part for part in (
            result.banner or "", settings,
            f"changed {','.join(result.changed)}" if result.changed else "",
        ) if part)  # fmt: skip
        self.emit(self.at_done, result.operation, detail.encode()[:96].decode(errors="ignore"))

    def _fault(self, exc: BaseException) -> None:
        self.emit(self.port_failed, f"{type(exc).__name__}: {exc}"[:80])
        self.set_health(Health.FAULT if self.driver is None else Health.WARNING,
                        "radio port failing")  # fmt: skip

    def _report(self) -> None:
        driver = self.driver
        assert driver is not None
        snap = driver.snapshot()
        counts = {name: int(snap[name]) for name in COUNTERS}  # type: ignore[call-overload]
        if counts["port_errors"] > self._seen["port_errors"] and driver.last_error is not None:
            self._fault(driver.last_error)
        damage = (counts["crc_failures"] - self._seen["crc_failures"],
                  counts["rejected"] - self._seen["rejected"])  # fmt: skip
        if any(damage):
            self.emit(self.input_damaged, *damage)
        self._seen = counts
        for name in COUNTERS:
            self.tlm(getattr(Radio, name), (counts[name] - self._baseline[name]) & 0xFFFFFFFF)
        self.tlm(self.queue_frames, snap["queue_frames"])
        self.tlm(self.link_state, driver.link.state)
        if snap["rssi_dbm"] is not None:
            self.tlm(self.rssi, snap["rssi_dbm"])
            self.tlm(self.remote_rssi, snap["remote_rssi_dbm"])
        if isinstance(driver, TransparentRadio):
            self.tlm(self.at_sessions_ok, driver.at_counters.sessions_ok)
            self.tlm(self.at_sessions_failed, driver.at_counters.sessions_failed)
        bits = driver.pacer.rate_bytes_per_s * driver.config.bits_per_octet
        self.tlm(self.air_rate, min(round(bits), 0xFFFFFFFF))

    # --- commands -------------------------------------------------------------------------------

    def _modem(self) -> TransparentRadio:
        if self.driver is None:
            raise CommandError(ReasonCode.COMPONENT_UNAVAILABLE, "the radio port is not open")
        if not isinstance(self.driver, TransparentRadio):
            raise CommandError(ReasonCode.EXECUTION_FAILED, "a KISS TNC has no AT commands")
        if self.driver.busy:
            raise CommandError(ReasonCode.BUSY, "an AT session is still running")
        return self.driver

    @command(1, air_speed_kbps=U16, tx_power_dbm=U8(max=30))
    def configure_modem(self, air_speed_kbps: int, tx_power_dbm: int) -> None:
        """Set the modem's air rate (a SiK rate, kbit/s) and TX power (dBm), save, reboot; the
        outcome and the values the radio kept come in an event."""
        if air_speed_kbps not in AIR_SPEEDS_KBPS:
            raise CommandError(ReasonCode.OUT_OF_RANGE, f"{air_speed_kbps} kbit/s is not a SiK "
                                                        f"rate {AIR_SPEEDS_KBPS}")  # fmt: skip
        self._modem().configure(SikSettings(air_speed_kbps=air_speed_kbps,
                                            tx_power_dbm=tx_power_dbm))  # fmt: skip

    @command(2)
    def read_rssi(self) -> None:
        """Read the link's RSSI and error counters (ATI7); the link pauses for ~2 s."""
        self._modem().read_rssi()

    @command(3)
    def read_info(self) -> None:
        """Read the modem's banner and registers (ATI, ATI5)."""
        self._modem().read_info()

    @command(4)
    def reset_stats(self) -> None:
        """Count the link statistics from zero again."""
        if self.driver is None:
            raise CommandError(ReasonCode.COMPONENT_UNAVAILABLE, "the radio port is not open")
        snap = self.driver.snapshot()
        self._baseline = {name: int(snap[name]) for name in COUNTERS}  # type: ignore[call-overload]
        self._refused = 0
        self.tlm(self.tx_refused, 0)
        self.emit(self.stats_reset)
        self._report()

    @command(5)
    def clear_queue(self) -> None:
        """Discard every frame waiting to be sent."""
        if self.driver is None:
            raise CommandError(ReasonCode.COMPONENT_UNAVAILABLE, "the radio port is not open")
        self.emit(self.queue_cleared, self.driver.queue.clear())
