"""The ground station: commanding by name, live decoding, histories and the archive, over a
`GroundLink`. The Python API for scripts and tests follows F Prime's integration test API:

    station = GroundStation(dictionary, link, archive=archive)
    station.identify()                                   # the satellite's dictionary must match
    report = station.send_and_await_completion("cmd.no_op")
    mark = station.mark()
    station.send_command("thermal.set_heater_mode", mode="ON")
    station.await_telemetry("thermal.heater_on", True, timeout=15)
    station.await_event("thermal.heater_mode_set", start=mark)
    station.telemetry_history("power.bus_volts")

Single-threaded by design: everything happens in `poll()`, which the `await_*` calls run until
what they wait for arrives or their time-out passes on the injected clock; between polls they
`wait(deadline)`, by default `clock.sleep_until` (a test on the simulated clock passes a `wait`
that runs the satellite's runtime instead). `start` arguments select where a search begins: None
searches the whole history (as F Prime does), `mark()` gives the present.

Files (`files=GroundFiles(link, folder)`, see `flight.ground.files`): CFDP PDUs on the file
downlink APID go to the ground's CFDP entity; `received_files()`, `await_file(name)`,
`put_file(local_path, remote_name, cls=2)` and `await_transfer(tid)` use it.

Before the first command the station identifies the satellite: it waits for the dictionary ID in
housekeeping (`executive.dictionary_id`) and refuses to command a satellite whose ID differs from
its dictionary's; it also reads the uplink's highest ARSN (`<uplink>.arsn`) so that SDLS sequence
numbers continue after a restart of the ground station instead of being refused as replays.

A reboot of the satellite is noticed in housekeeping (`_RebootWatch`): the health monitor's boot
count going up, or the executive's uptime going back. The satellite then has a fresh FARM-1
(V(R) = 0) and has reserved a new range of ARSNs, so the station resynchronizes by itself: it
terminates the AD service, fails every command still waiting for its final report with
`CommandInterrupted` (the satellite may or may not have run it: the caller decides whether to
send it again; the station never resends), identifies the satellite again from housekeeping sent
after the reboot (dictionary ID, ARSN) and re-initiates the AD service with Set V(R). Each reboot
is a `SatelliteReboot` in `reboots`, told to `reboot_listeners` and logged.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from flight.cfdp import ConditionCode, DeliveryCode, TransactionId, TransferStatus
from flight.ground.archive import Archive
from flight.ground.dictionary import DictionaryError, GroundDictionary
from flight.ground.files import GroundFiles, ReceivedFile
from flight.ground.link import GroundLink, ReceivedFrame
from flight.link.errors import LinkError
from flight.link.fop import FopAlert
from flight.link.spacepacket import SpacePacket, telemetry_time
from flight.runtime.errors import DecodeError
from flight.runtime.records import EventRecord, Severity, Stage, Verification

UPLINK_CLASS: Final[str] = "flight.link.uplink_component:Uplink"
HEALTH_CLASS: Final[str] = "flight.svc.health:HealthMonitor"
DICTIONARY_ID_CHANNEL: Final[str] = "executive.dictionary_id"
UPTIME_CHANNEL: Final[str] = "executive.uptime_s"
UPTIME_REBOOT_DROP_S: Final[float] = 1.0
"""How far the executive's uptime must fall to count as a reboot: packets built a moment apart
that travel on different paths may arrive slightly out of order, a reboot takes it back to 0."""
ARSN_RESTART_MARGIN: Final[int] = 64
"""ARSNs skipped after the satellite's highest: frames an earlier session still had in flight
(in a radio queue) then arrive too old, instead of taking the numbers this session uses."""
_REBOOT_ALERTS: Final = frozenset({FopAlert.SYNCH.name, FopAlert.CLCW.name})
"""COP-1 alerts a CLCW of a rebooted FARM-1 (V(R) = 0) raises: a command purged on one is reported
undelivered only once housekeeping shows the satellite did not reboot."""
_FINAL_STAGES: Final = frozenset({Stage.COMPLETED, Stage.ACCEPTANCE_FAILED, Stage.START_FAILED,
                                  Stage.COMPLETION_FAILED})
T = TypeVar("T")


class GroundError(RuntimeError):
    """Base of the station's failures."""


class DictionaryMismatchError(GroundError):
    def __init__(self, reported: int, expected: int, source: str) -> None:
        super().__init__(f"the satellite reports dictionary ID 0x{reported:08X}, {source} has "
                         f"0x{expected:08X}: refusing to command with the wrong dictionary")
        self.reported = reported
        self.expected = expected


class AwaitTimeout(GroundError, TimeoutError):
    """What an `await_*` call waited for did not arrive in time."""


class CommandFailed(GroundError):
    def __init__(self, request: CommandRequest, report: Verification) -> None:
        super().__init__(f"{request.name} (seq {request.seq}) {report.stage.name}: "
                         f"{report.reason.name}")
        self.request = request
        self.report = report


class CommandNotDelivered(GroundError):
    """FOP-1 gave up on the command (transmission limit, lockout): it may not have arrived."""

    def __init__(self, request: CommandRequest, alert: str) -> None:
        super().__init__(f"{request.name} (seq {request.seq}) not delivered: COP-1 alert "
                         f"{alert}")
        self.request = request


class CommandInterrupted(CommandNotDelivered):
    """The satellite rebooted before the command's final report: it may or may not have run.
    The station never sends it again by itself; check its effect, then resend if need be."""

    def __init__(self, request: CommandRequest, reboot: SatelliteReboot) -> None:
        GroundError.__init__(self, f"{request.name} (seq {request.seq}) interrupted: the "
                                   f"satellite rebooted ({reboot.signal}) before its final "
                                   "report; it may or may not have run")
        self.request = request
        self.reboot = reboot


class FileTransferFailed(GroundError):
    """A file transfer ended with a fault, a cancel, or incomplete data."""

    def __init__(self, status: TransferStatus) -> None:
        delivery = status.delivery_code
        super().__init__(f"transfer {status.transaction} of {status.source_file or '?'} -> "
                         f"{status.destination_file or '?'} ended "
                         f"{status.condition_code.name}, "
                         f"{delivery.name if delivery is not None else 'nothing delivered'}")
        self.status = status


@dataclass(frozen=True, slots=True)
class TelemetryUpdate:
    channel: str
    channel_id: int
    value: Any
    time: float  # onboard, from the packet's secondary header
    received: float  # ground, POSIX seconds
    display: str


@dataclass(frozen=True, slots=True)
class EventUpdate:
    name: str
    event_id: int
    severity: Severity
    args: tuple[Any, ...]
    message: str
    time: float
    received: float


@dataclass(frozen=True, slots=True)
class CommandRequest:
    name: str
    opcode: int
    seq: int
    args: tuple[Any, ...]
    sent: float


@dataclass(frozen=True, slots=True)
class SatelliteReboot:
    """A reboot of the satellite the station noticed in housekeeping."""

    number: int  # 1 for the first reboot this station noticed
    signal: str  # what showed it: "health.boot_count 3 -> 4", "executive.uptime_s 512.0 -> 1.0"
    boot_count: int | None  # the satellite's boot count after it, when housekeeping carries it
    onboard_time: float  # of the packet that showed it
    received: float  # ground, POSIX seconds
    interrupted: tuple[CommandRequest, ...]  # commands failed with `CommandInterrupted`


@dataclass(frozen=True, slots=True)
class HistoryMark:
    telemetry: int
    events: int
    verifications: int
    reboots: int = 0


class History(Generic[T]):
    """An append-only history with absolute positions, keeping the latest `limit` items."""

    def __init__(self, limit: int) -> None:
        self._items: deque[T] = deque()
        self._first = 0
        self.limit = limit

    def append(self, item: T) -> None:
        self._items.append(item)
        if len(self._items) > self.limit:
            self._items.popleft()
            self._first += 1

    @property
    def end(self) -> int:
        return self._first + len(self._items)

    def since(self, position: int = 0) -> Iterator[T]:
        items = self._items
        for i in range(max(position - self._first, 0), len(items)):
            yield items[i]

    def __len__(self) -> int:
        return len(self._items)


Listener = Callable[[TelemetryUpdate | EventUpdate | Verification], None]
log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Identification:
    """Values for identifying the satellite, taken from housekeeping decoded since it began."""

    dictionary_id: int | None = None
    arsn: int | None = None


class _RebootWatch:
    """Notices a reboot in the values of one housekeeping packet.

    Signals, in order of trust: the health monitor's boot count (kept in non-volatile storage)
    going up, which shows any reboot however long the station did not hear the satellite; the
    executive's uptime falling by more than `UPTIME_REBOOT_DROP_S`, for deployments without a
    health monitor (it misses a reboot after which the satellite ran longer, unheard, than it
    had before). The CLCW is not a signal: V(R) = 0, a lockout or an inconsistent report also
    come from ordinary link faults, and COP-1 handles those itself. After a reboot, a signal
    absent from the packet that showed it learns its new baseline from its next value."""

    def __init__(self, boot_count_channel: str | None, uptime_channel: str | None) -> None:
        self.boot_count_channel = boot_count_channel
        self.uptime_channel = uptime_channel
        self.boot_count: int | None = None
        self.uptime: float | None = None
        self.confirmed = False  # the last packet checked showed the same boot as before

    @property
    def enabled(self) -> bool:
        """Housekeeping carries a signal."""
        return self.boot_count_channel is not None or self.uptime_channel is not None

    def check(self, values: dict[str, Any]) -> str | None:
        """What shows a reboot in this packet's values, or None; updates the baselines."""
        count = values.get(self.boot_count_channel) if self.boot_count_channel else None
        uptime = values.get(self.uptime_channel) if self.uptime_channel else None
        self.confirmed = ((count is not None and self.boot_count is not None)
                          or (uptime is not None and self.uptime is not None))
        signal = None
        if count is not None and self.boot_count is not None and int(count) > self.boot_count:
            signal = f"{self.boot_count_channel} {self.boot_count} -> {int(count)}"
        elif (uptime is not None and self.uptime is not None
              and float(uptime) < self.uptime - UPTIME_REBOOT_DROP_S):
            signal = f"{UPTIME_CHANNEL} {self.uptime:.1f} -> {float(uptime):.1f}"
        if signal is not None:
            self.confirmed = False
            self.boot_count = None if count is None else int(count)
            self.uptime = None if uptime is None else float(uptime)
            return signal
        if count is not None:
            self.boot_count = int(count)
        if uptime is not None:
            self.uptime = max(float(uptime), self.uptime or 0.0)
        return None


class GroundStation:
    def __init__(
        self,
        dictionary: GroundDictionary,
        link: GroundLink,
        *,
        archive: Archive | None = None,
        wait: Callable[[float], None] | None = None,
        wall_time: Callable[[], float] = time.time,
        poll_interval_s: float = 0.01,
        identify_timeout_s: float = 30.0,
        history_limit: int = 100_000,
        files: GroundFiles | None = None,
    ) -> None:
        self.dictionary = dictionary
        self.link = link
        self.clock = link.clock
        self.archive = archive
        self.profile = link.profile
        self._wait = wait if wait is not None else link.clock.sleep_until
        self.wall_time = wall_time
        self.poll_interval_s = poll_interval_s
        self.identify_timeout_s = identify_timeout_s
        self.telemetry = History[TelemetryUpdate](history_limit)
        self.events = History[EventUpdate](history_limit)
        self.verifications = History[Verification](history_limit)
        self.commands: list[CommandRequest] = []
        self.latest: dict[str, TelemetryUpdate] = {}
        self.listeners: list[Listener] = []
        self.file_pdus: deque[bytes] = deque(maxlen=history_limit)
        self.decode_errors: Counter[str] = Counter()
        self.reported_dictionary_id: int | None = None
        self.identified = False
        self.reboots: list[SatelliteReboot] = []
        self.reboot_listeners: list[Callable[[SatelliteReboot], None]] = []
        self._next_seq = 1
        self._undelivered: dict[int, str] = {}
        self._interrupted: dict[int, SatelliteReboot] = {}
        self._in_flight: dict[int, CommandRequest] = {}
        self._report_start: dict[tuple[int, int], int] = {}
        self._uplink = _uplink_name(dictionary)
        self._arsn_channel = f"{self._uplink}.arsn" if self._uplink else None
        if self._arsn_channel is not None and not dictionary.packetized(self._arsn_channel):
            self._arsn_channel = None
        health = _component_name(dictionary, HEALTH_CLASS)
        boot_count = f"{health}.boot_count" if health else None
        self._watch = _RebootWatch(
            boot_count if boot_count and dictionary.packetized(boot_count) else None,
            UPTIME_CHANNEL if dictionary.packetized(UPTIME_CHANNEL) else None)
        self._identification: _Identification | None = _Identification()
        self._known: _Identification | None = None  # the satellite as identified this boot
        self._mismatch: DictionaryMismatchError | None = None
        self._commanding = False  # `identify` was asked for: COP-1 may run
        self._resync = False  # the next activation re-initiates COP-1 after a reboot
        self._purged_since_hk: set[int] = set()
        self.files = files
        if files is not None:
            files.archive = archive
        link.on_frame = self._frame
        link.initiate = False  # no frame goes up before `identify` knows its ARSN

    # ------------------------------------------------------------ receiving

    def poll(self) -> None:
        """Move frames both ways and decode what arrived (never raises for bad input)."""
        packets = self.link.poll()
        if packets:
            received = self.wall_time()
            if self.archive is not None:
                with self.archive.transaction():
                    for vcid, octets in packets:
                        self._packet(vcid, octets, received)
            else:
                for vcid, octets in packets:
                    self._packet(vcid, octets, received)
        for seq in self.link.take_purged():
            if isinstance(seq, int) and seq not in self._interrupted:
                alert = self.link.fop.last_alert
                self._undelivered[seq] = alert.name if alert is not None else "purged"
                self._purged_since_hk.add(seq)
        if self.files is not None:
            self.files.poll()

    def _frame(self, received: ReceivedFrame) -> None:
        if self.archive is not None:
            self.archive.store_frame(received.octets, rejected=received.error,
                                     received=self.wall_time())

    def _packet(self, vcid: int, octets: bytes, received: float) -> None:
        p = self.profile
        try:
            packet = SpacePacket.unpack(octets)
            if self.archive is not None:
                self.archive.store_packet(packet, vcid=vcid, received=received)
            onboard, data = telemetry_time(packet)
            if packet.apid == p.apid_housekeeping:
                self._housekeeping(data, onboard, received)
            elif packet.apid == p.apid_event:
                self._event(EventRecord.unpack(data, onboard), received)
            elif packet.apid == p.apid_verification:
                self._verification(Verification.unpack(data, onboard), received)
            elif packet.apid == p.apid_file_downlink:
                self.file_pdus.append(data)
                if self.files is not None:
                    self.files.receive(data)
            else:
                self.decode_errors[f"apid_0x{packet.apid:03X}"] += 1
        except (LinkError, DecodeError, DictionaryError) as exc:
            self.decode_errors[type(exc).__name__] += 1

    def _housekeeping(self, data: bytes, onboard: float, received: float) -> None:
        _, values = self.dictionary.decode_housekeeping(data)
        if self.archive is not None:
            self.archive.store_telemetry(
                [(c.channel_id, onboard, v) for c, v in values], received=received)
        by_name = {channel.name: value for channel, value in values}
        signal = self._watch.check(by_name)
        if signal is not None:
            self._rebooted(signal, by_name, onboard, received)
        elif self._watch.confirmed:
            for seq in self._purged_since_hk:  # COP-1 gave up on them with the satellite up
                self._in_flight.pop(seq, None)
            self._purged_since_hk.clear()
        self._identify_from(by_name)
        for channel, value in values:
            update = TelemetryUpdate(channel.name, channel.channel_id, value, onboard, received,
                                     channel.display(value))
            self.telemetry.append(update)
            self.latest[channel.name] = update
            if channel.name == DICTIONARY_ID_CHANNEL:
                self.reported_dictionary_id = int(value)
            self._tell(update)

    def _event(self, record: EventRecord, received: float) -> None:
        name, message = self.dictionary.describe_event(record)
        if self.archive is not None:
            self.archive.store_event(record, message=message, received=received)
        update = EventUpdate(name, record.event_id, record.severity, record.args, message,
                             record.time, received)
        self.events.append(update)
        self._tell(update)

    def _verification(self, report: Verification, received: float) -> None:
        if self.archive is not None:
            self.archive.store_verification(report, received=received)
        if report.stage in _FINAL_STAGES:
            request = self._in_flight.get(report.seq)
            if request is not None and request.opcode == report.opcode:
                del self._in_flight[report.seq]
        self.verifications.append(report)
        self._tell(report)

    def _tell(self, item: TelemetryUpdate | EventUpdate | Verification) -> None:
        for listener in self.listeners:
            listener(item)

    # ------------------------------------------------------------ waiting

    def _until(self, condition: Callable[[], Any], timeout: float) -> Any:
        """Poll until `condition()` returns something truthy (returned) or `timeout` passes
        (None)."""
        deadline = self.clock.monotonic() + timeout
        while True:
            self.poll()
            found = condition()
            if found:
                return found
            now = self.clock.monotonic()
            if now >= deadline:
                return None
            self._wait(min(deadline, now + self.poll_interval_s))

    def run_for(self, seconds: float) -> None:
        """Keep polling for `seconds` of the clock's time."""
        self._until(lambda: False, seconds)

    def mark(self) -> HistoryMark:
        """The present position of the histories, for `start=`: search only what comes next."""
        return HistoryMark(self.telemetry.end, self.events.end, self.verifications.end,
                           len(self.reboots))

    # ------------------------------------------------------------ identification

    def identify(self, timeout: float | None = None) -> int:
        """Wait for the satellite's dictionary ID; raise `DictionaryMismatchError` if it is not
        this dictionary's. Also continue SDLS sequence numbers after the uplink's. After a
        reboot, waits until the station has identified the satellite again."""
        timeout = self.identify_timeout_s if timeout is None else timeout
        self._commanding = True
        if self._known is not None and not self.identified:
            self._activate()
        self._until(lambda: self.identified or self._mismatch is not None, timeout)
        if self._mismatch is not None:
            raise self._mismatch
        if not self.identified:
            pending = self._identification
            missing = (DICTIONARY_ID_CHANNEL if pending is None or pending.dictionary_id is None
                       else self._arsn_channel)
            raise AwaitTimeout(f"no {missing} from the satellite in {timeout} s")
        assert self.reported_dictionary_id is not None
        return self.reported_dictionary_id

    def _identify_from(self, values: dict[str, Any]) -> None:
        """Take the dictionary ID and the ARSN from housekeeping until both are known, then
        check the one and continue SDLS sequence numbers after the other."""
        pending = self._identification
        if pending is None:
            return
        if DICTIONARY_ID_CHANNEL in values:
            pending.dictionary_id = int(values[DICTIONARY_ID_CHANNEL])
        if self._arsn_channel is not None and self._arsn_channel in values:
            pending.arsn = int(values[self._arsn_channel])
        if pending.dictionary_id is None or (self._arsn_channel is not None
                                             and pending.arsn is None):
            return
        self._identification = None
        if pending.dictionary_id != self.dictionary.dictionary_id:
            self._mismatch = DictionaryMismatchError(
                pending.dictionary_id, self.dictionary.dictionary_id, self.dictionary.source)
            log.error("%s", self._mismatch)
            return
        self._mismatch = None
        self._known = pending
        if pending.arsn is not None:
            self.link.set_next_arsn(pending.arsn + 1 + ARSN_RESTART_MARGIN)
        if self._commanding:
            self._activate()

    def _activate(self) -> None:
        """Command the identified satellite: start COP-1 (after a reboot: at once, with Set
        V(R); else on the next CLCW, with Unlock) and the file uplink."""
        self.identified = True
        if self._resync:
            self._resync = False
            self.link.reinitiate()
            log.info("satellite resynchronized after reboot %d: COP-1 re-initiated with "
                     "Set V(R) %d, SDLS sequence numbers continue after ARSN %s",
                     self.reboots[-1].number, self.link.fop.v_s,
                     self._known.arsn if self._known is not None else None)
        else:
            self.link.initiate = True
        if self.files is not None:
            self.files.uplink_enabled = True

    def _rebooted(self, signal: str, values: dict[str, Any], onboard: float,
                  received: float) -> None:
        """Stop commanding, fail the commands still open, identify the satellite again."""
        self.identified = False
        self._known = None
        self._identification = _Identification()
        self._resync = self._commanding
        self.link.stop_ad()
        if self.files is not None:
            self.files.uplink_enabled = False
        # open: no final report, and COP-1 did not give up on them while the satellite was
        # known to be up (a purge after the last housekeeping of the old boot may be the reboot)
        open_requests = [r for seq, r in self._in_flight.items()
                         if seq not in self._undelivered or seq in self._purged_since_hk]
        self._in_flight.clear()
        self._purged_since_hk.clear()
        count = self._watch.boot_count_channel
        reboot = SatelliteReboot(
            len(self.reboots) + 1, signal,
            int(values[count]) if count is not None and count in values else None,
            onboard, received, tuple(open_requests))
        for request in open_requests:
            self._interrupted[request.seq] = reboot
            self._undelivered.pop(request.seq, None)
        self.reboots.append(reboot)
        log.warning("satellite rebooted (%s): %d command(s) interrupted%s; resynchronizing",
                    signal, len(open_requests),
                    "".join(f", {r.name} seq {r.seq}" for r in open_requests))
        for listener in self.reboot_listeners:
            listener(reboot)

    def await_reboot(self, timeout: float = 60.0, *,
                     start: HistoryMark | None = None) -> SatelliteReboot:
        """The first reboot noticed since `start` (None: any), once the station has identified
        the satellite again and COP-1 has taken up the AD service."""
        first = start.reboots if start is not None else 0

        def resynchronized() -> SatelliteReboot | None:
            if len(self.reboots) > first and self.identified and self.link.ready:
                return self.reboots[first]
            return None

        found = self._until(resynchronized, timeout)
        if self._mismatch is not None:
            raise self._mismatch
        if found is None:
            state = ("noticed, not resynchronized" if len(self.reboots) > first
                     else "not noticed")
            raise AwaitTimeout(f"satellite reboot {state} in {timeout} s")
        return found

    def await_link(self, timeout: float = 10.0) -> None:
        """Wait until COP-1 takes commands (AD service initiated on a CLCW)."""
        if not self._until(lambda: self.link.ready, timeout):
            raise AwaitTimeout(f"COP-1 not initiated in {timeout} s (no CLCW from the satellite)")

    # ------------------------------------------------------------ commanding

    def send_command(self, name: str, *values: Any, **args: Any) -> CommandRequest:
        """Send command `name` with its arguments (positional, or by name); checked against the
        dictionary first (`CommandArgumentError`), sent through SDLS and FOP-1."""
        command = self.dictionary.encode_command(name, values, args, seq=self._next_seq)
        if not self.link.can_command:
            raise GroundError("no keys: this ground station only receives (give a key file)")
        if not self.identified:
            self.identify()
        if not self.link.ready:
            self.await_link()
        data = command.pack()
        if not self.link.send_packet(self.profile.apid_command, data, tag=command.seq):
            raise GroundError(f"{name}: FOP-1 refused the command (state "
                              f"{self.link.fop.state.name}, queue full or AD service stopped)")
        self._next_seq = self._next_seq % 0xFFFF + 1
        sent = self.wall_time()
        if self.archive is not None:
            self.archive.store_command_sent(command, name=name, sent=sent)
        request = CommandRequest(name, command.opcode, command.seq, command.args, sent)
        self.commands.append(request)
        self._undelivered.pop(command.seq, None)
        self._interrupted.pop(command.seq, None)
        self._in_flight[command.seq] = request
        self._report_start[(command.opcode, command.seq)] = self.verifications.end
        return request

    def await_completion(self, request: CommandRequest, timeout: float = 10.0) -> Verification:
        """The final verification report of `request`: returned when COMPLETED; a failure raises
        `CommandFailed`, a COP-1 give-up `CommandNotDelivered`, a reboot of the satellite
        before the final report `CommandInterrupted`, no report `AwaitTimeout`."""
        start = self._report_start.get((request.opcode, request.seq), 0)

        def final() -> Verification | SatelliteReboot | str | None:
            for report in self.verifications.since(start):
                if (report.opcode, report.seq) == (request.opcode, request.seq) and (
                    report.stage in _FINAL_STAGES
                ):
                    return report
            interrupted = self._interrupted.get(request.seq)
            if interrupted is not None:
                return interrupted
            alert = self._undelivered.get(request.seq)
            if (alert in _REBOOT_ALERTS and request.seq in self._purged_since_hk
                    and self._watch.enabled):
                return None  # a rebooted FARM-1 looks so: wait for housekeeping to tell
            return alert

        outcome = self._until(final, timeout)
        if outcome is None:
            raise AwaitTimeout(f"{request.name} (seq {request.seq}): no final verification in "
                               f"{timeout} s")
        if isinstance(outcome, SatelliteReboot):
            raise CommandInterrupted(request, outcome)
        if isinstance(outcome, str):
            raise CommandNotDelivered(request, outcome)
        if outcome.failed:
            raise CommandFailed(request, outcome)
        return outcome

    def send_and_await_completion(self, name: str, *values: Any, timeout: float = 10.0,
                                  **args: Any) -> Verification:
        return self.await_completion(self.send_command(name, *values, **args), timeout)

    # ------------------------------------------------------------ files

    def _file_service(self) -> GroundFiles:
        if self.files is None:
            raise GroundError("no file folder: give the station files=GroundFiles(...)")
        if self.link.can_command and not self.identified:
            self.identify()  # Finished PDUs and NAKs go up only once the ARSN is known
        return self.files

    def received_files(self) -> list[ReceivedFile]:
        """Files received complete and checked, oldest first."""
        return list(self.files.received) if self.files is not None else []

    def await_file(self, name: str, timeout: float = 60.0) -> ReceivedFile:
        """The first received file named `name` (as the satellite names it)."""
        files = self._file_service()
        found = self._until(lambda: next((f for f in files.received if f.name == name), None),
                            timeout)
        if found is None:
            raise AwaitTimeout(f"no file {name} received in {timeout} s")
        return found

    def put_file(self, local_path: str, remote_name: str, cls: int = 2) -> TransactionId:
        """Start uplinking a local file, stored on board as `remote_name`; class 1 or 2."""
        if not self.link.can_command:
            raise GroundError("no keys: this ground station only receives (give a key file)")
        return self._file_service().put(local_path, remote_name, cls)

    def await_transfer(self, tid: TransactionId, timeout: float = 120.0) -> TransferStatus:
        """The final status of an uplink: returned when the satellite has the whole file with
        its checksum verified (class 2: its Finished PDU); `FileTransferFailed` otherwise."""
        files = self._file_service()
        status = self._until(lambda: files.finished(tid), timeout)
        if status is None:
            raise AwaitTimeout(f"transfer {tid} not finished in {timeout} s "
                               f"({files.status(tid).progress} octets sent)")
        if (status.condition_code is not ConditionCode.NO_ERROR
                or status.delivery_code is not DeliveryCode.DATA_COMPLETE):
            raise FileTransferFailed(status)
        return status

    # ------------------------------------------------------------ telemetry and events

    def await_telemetry(self, channel: str, predicate: Any = None, timeout: float = 5.0, *,
                        start: HistoryMark | None = None) -> TelemetryUpdate:
        """The first update of `channel` (from `start`) whose value satisfies `predicate`: a
        callable, a value to equal, or None for any."""
        self.dictionary.channel(channel)
        test = _predicate(predicate)
        position = start.telemetry if start is not None else 0

        def find() -> TelemetryUpdate | None:
            for update in self.telemetry.since(position):
                if update.channel == channel and test(update.value):
                    return update
            return None

        found = self._until(find, timeout)
        if found is None:
            raise AwaitTimeout(f"no {channel} update matching {predicate!r} in {timeout} s")
        return found

    def await_event(self, name: str, predicate: Any = None, timeout: float = 5.0, *,
                    start: HistoryMark | None = None) -> EventUpdate:
        """The first event `name` (from `start`) whose arguments satisfy `predicate` (a callable
        on the argument tuple, a tuple to equal, or None)."""
        self.dictionary.event(name)
        test = _predicate(predicate)
        position = start.events if start is not None else 0

        def find() -> EventUpdate | None:
            for update in self.events.since(position):
                if update.name == name and test(update.args):
                    return update
            return None

        found = self._until(find, timeout)
        if found is None:
            raise AwaitTimeout(f"no event {name} matching {predicate!r} in {timeout} s")
        return found

    def telemetry_history(self, channel: str | None = None, *,
                          start: HistoryMark | None = None) -> list[TelemetryUpdate]:
        position = start.telemetry if start is not None else 0
        return [u for u in self.telemetry.since(position) if channel is None or
                u.channel == channel]

    def event_history(self, name: str | None = None, *,
                      start: HistoryMark | None = None) -> list[EventUpdate]:
        position = start.events if start is not None else 0
        return [u for u in self.events.since(position) if name is None or u.name == name]

    def verification_history(self, request: CommandRequest | None = None, *,
                             start: HistoryMark | None = None) -> list[Verification]:
        position = start.verifications if start is not None else 0
        return [r for r in self.verifications.since(position) if request is None or
                (r.opcode, r.seq) == (request.opcode, request.seq)]


def _predicate(predicate: Any) -> Callable[[Any], bool]:
    if predicate is None:
        return lambda _: True
    if callable(predicate):
        return lambda value: bool(predicate(value))
    return lambda value: value == predicate


def _uplink_name(dictionary: GroundDictionary) -> str | None:
    return _component_name(dictionary, UPLINK_CLASS)


def _component_name(dictionary: GroundDictionary, class_path: str) -> str | None:
    for component in dictionary.body.get("components", ()):
        if component.get("class") == class_path:
            return str(component["name"])
    return None
