"""The onboard file transfer component: CFDP (727.0-B-5) between the product store and the ground.

    store (ProductStore) --put--> CfdpEntity --PDUs--> `downlink_pdus` -> downlink.file_pdus
                                                        (APID file downlink, VC files, playback)
    uplink.file_pdus (APID file uplink) -> `uplink_pdus` -> CfdpEntity --finalize--> store

Downlink. `downlink(file, cls)` queues one stored file (by path or file ID) for class 1 or class
2; `downlink_pending` queues every product not yet downlinked up to a priority, the most
important (lowest priority number) and then the oldest first; with the `auto_priority`
parameter at 0..255, products of that priority or better are queued by themselves while the link
is up. At most `max_downlinks` transactions run at once; the rest wait in the queue. The
destination name on the ground is the file's path in the store. When the ground's Finished PDU
reports a class 2 transfer (or a class 1 transfer with closure) complete, the file is marked
downlinked in the store's catalog.

Uplink. A file the ground sends is assembled in memory and stored in the product store only when
CFDP has all of it and its checksum matches (`StoreFilestore`: the store's write is atomic), as a
SEQUENCE if its name ends in ``.seq``, else as an UPLINK file. A checksum mismatch is reported
(event `checksum_mismatch`) and nothing is stored.

Pacing. File data goes out only as fast as the downlink drains it: each cycle the component tops
the downlink's file virtual channel queue up to `queue_target_octets` (the downlink component
named by `downlink`), so file data never crowds out housekeeping in the radio's queue and
retransmissions are sent soon after a NAK, not behind a long backlog. PDUs the downlink's input
refuses wait here and go first next cycle.

Passes. Connect the radio's link state (a bool, True at acquisition of signal, or a
`drivers.radio.LinkTransition`) to `link`: at loss of signal every transaction is suspended
(timers frozen, nothing sent) and no queued downlink starts; at acquisition they resume where
they stood. The `suspend` and `resume` commands hold and release the transfers the same way,
independently of the link.

Transaction sequence numbers survive resets: the next one is reserved ahead in blocks in
non-volatile storage (binding `storage`), so the ground never mistakes a new transaction for an
old one. Files being received do not survive a reset (the ground sends them again).
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from flight.cfdp import (
    CfdpEntity,
    CfdpRequestError,
    ChecksumType,
    ConditionCode,
    DeliveryCode,
    FilestoreError,
    Indication,
    IndicationKind,
    LocalEntityConfig,
    RemoteEntityConfig,
    Role,
    TransactionId,
    TransmissionMode,
    UnknownTransactionError,
)
from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Output,
    Param,
    Throttle,
    Update,
    command,
    input_port,
)
from flight.runtime.errors import CommandError, ConfigError, ReasonCode
from flight.runtime.records import Severity
from flight.runtime.registry import Registry
from flight.runtime.types import BOOL, I16, U8, U16, U32, U64, Enum, String
from flight.svc.products import MAX_PATH_OCTETS, FileCategory, StoredFile, StoreError
from hal.storage import Storage, StorageError, StorageMissing, open_storage

SEQ_RESERVATION: Final[int] = 256
SEQ_BLOB: Final[str] = "cfdp-seq"
_SEQ_RECORD: Final = struct.Struct(">BI")  # version, first sequence number not yet used
_SEQ_VERSION: Final[int] = 1
_SEQ_MODULUS: Final[int] = 1 << 32
_ON_CHANGE: Final = Update.ON_CHANGE
_PDU_OVERHEAD: Final[int] = 32  # PDU header and segment offset, packet header and CUC, roughly
_CHECKSUMS: Final = {"crc32c": ChecksumType.CRC32C, "crc32": ChecksumType.CRC32,
                     "modular": ChecksumType.MODULAR}


class Direction(IntEnum):
    DOWNLINK = 0
    UPLINK = 1


@dataclass(frozen=True, slots=True)
class DownlinkRequest:
    file_id: int
    path: str
    priority: int
    mode: TransmissionMode


@dataclass(slots=True)
class _Active:
    """What the component knows of a transaction beyond the engine's status."""

    direction: Direction
    path: str
    file_id: int = 0  # downlink: the stored file
    size: int = 0
    confirmed: bool = False  # downlink: a Finished PDU will confirm delivery


class FileTransfer(Component):
    """CFDP file transfer between the product store and the ground."""

    active = Channel(1, U8, update=_ON_CHANGE, doc="transactions in progress, both ways")
    queued = Channel(2, U16, update=_ON_CHANGE, doc="downlink requests waiting to start")
    held = Channel(3, BOOL, update=_ON_CHANGE,
                   doc="transfers suspended: link down or the suspend command")
    link_up = Channel(4, BOOL, update=_ON_CHANGE, doc="the link state last reported")
    octets_sent = Channel(5, U64, unit="B", update=_ON_CHANGE,
                          doc="file data octets sent, retransmissions included")
    octets_received = Channel(6, U64, unit="B", update=_ON_CHANGE,
                              doc="file data octets received")
    naks_sent = Channel(7, U32, update=_ON_CHANGE, doc="NAK PDUs sent (uplinks)")
    naks_received = Channel(8, U32, update=_ON_CHANGE, doc="NAK PDUs received (downlinks)")
    retransmissions = Channel(9, U32, update=_ON_CHANGE, doc="file segments sent again")
    fault_count = Channel(10, U32, update=_ON_CHANGE, doc="CFDP faults declared, all conditions")
    malformed_pdus = Channel(11, U32, update=_ON_CHANGE,
                             doc="PDUs rejected as malformed, misaddressed or stray")
    pdus_sent = Channel(12, U32, update=_ON_CHANGE)
    pdus_received = Channel(13, U32, update=_ON_CHANGE)
    completed = Channel(14, U32, update=_ON_CHANGE, doc="transactions finished without error")
    failed = Channel(15, U32, update=_ON_CHANGE, doc="transactions cancelled or abandoned")
    downlinked = Channel(16, U32, update=_ON_CHANGE,
                         doc="files the ground confirmed, marked downlinked")
    uplinked = Channel(17, U32, update=_ON_CHANGE, doc="files received and stored")
    progress_octets = Channel(18, U32, unit="B", update=_ON_CHANGE,
                              doc="octets of the oldest active downlink sent once")
    progress_size = Channel(19, U32, unit="B", update=_ON_CHANGE,
                            doc="size of the oldest active downlink")
    progress_file_id = Channel(20, U32, update=_ON_CHANGE,
                               doc="file ID of the oldest active downlink (0: none)")
    next_seq = Channel(21, U32, update=_ON_CHANGE, doc="next transaction sequence number")
    pdus_waiting = Channel(22, U32, update=_ON_CHANGE,
                           doc="PDUs waiting for room in the downlink's input")

    auto_priority = Param(1, I16(min=-1, max=255), -1,
                          doc="products of this priority or better are downlinked by themselves "
                              "while the link is up (-1: never)")

    started = Event(1, Severity.ACTIVITY_HI,
                    "{direction} {seq} started: {path}, {size} octets, class {cls}",
                    throttle=Throttle(20, 60.0), direction=Enum(Direction), seq=U32,
                    path=String(MAX_PATH_OCTETS), size=U32, cls=U8)
    finished = Event(2, Severity.ACTIVITY_HI, "{direction} {seq} finished: {path}, {size} octets",
                     throttle=Throttle(20, 60.0), direction=Enum(Direction), seq=U32,
                     path=String(MAX_PATH_OCTETS), size=U32)
    transfer_failed = Event(3, Severity.WARNING_HI,
                            "{direction} {seq} failed ({condition}): {path}",
                            throttle=Throttle(10, 60.0), direction=Enum(Direction), seq=U32,
                            condition=Enum(ConditionCode), path=String(MAX_PATH_OCTETS))
    fault = Event(4, Severity.WARNING_LO, "{direction} {seq}: fault {condition}",
                  throttle=Throttle(10, 60.0), direction=Enum(Direction), seq=U32,
                  condition=Enum(ConditionCode))
    checksum_mismatch = Event(5, Severity.WARNING_HI,
                              "uplink {seq} {path}: checksum mismatch, file not stored",
                              throttle=Throttle(10, 60.0), seq=U32, path=String(MAX_PATH_OCTETS))
    suspended = Event(6, Severity.ACTIVITY_HI, "transfers held ({reason}): {count} suspended",
                      throttle=None, reason=String(16), count=U16)
    resumed = Event(7, Severity.ACTIVITY_HI, "transfers released: {count} resumed",
                    throttle=None, count=U16)
    malformed = Event(8, Severity.WARNING_LO, "PDU rejected: {fault}",
                      throttle=Throttle(5, 60.0), fault=String(40))
    downlink_queued = Event(9, Severity.ACTIVITY_LO,
                            "file {file_id} {path} queued for downlink, class {cls}",
                            throttle=Throttle(20, 60.0), file_id=U32,
                            path=String(MAX_PATH_OCTETS), cls=U8)
    file_received = Event(10, Severity.ACTIVITY_HI,
                          "uplink {seq}: stored {path} as file {file_id}, {size} octets",
                          throttle=Throttle(20, 60.0), seq=U32, path=String(MAX_PATH_OCTETS),
                          file_id=U32, size=U32)
    too_large = Event(12, Severity.WARNING_HI,
                      "uplink {seq} {path}: {size} octets exceed the limit of {limit}, cancelled",
                      throttle=Throttle(10, 60.0), seq=U32, path=String(MAX_PATH_OCTETS),
                      size=U64, limit=U32)
    storage_fault = Event(11, Severity.WARNING_HI, "file transfer storage: {detail}",
                          throttle=Throttle(5, 60.0), detail=String(100))

    downlink_pdus = Output("CFDP PDUs (bytes) for the ground (connect to downlink.file_pdus)")

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.entity_id = 2
        self.ground_entity_id = 1
        self.store_name = "store"
        self.downlink_name: str | None = "downlink"
        self.checksum = ChecksumType.CRC32C
        self.segment_octets = 1024
        self.max_downlinks = 1
        self.max_pdus_per_cycle = 16
        self.queue_target_octets = 8 * 1024
        self.max_uplink_octets = 16 * 1024 * 1024
        self.timers: dict[str, float] = {"ack_timer_s": 10.0, "nak_timer_s": 10.0,
                                         "inactivity_timeout_s": 300.0}
        self.limits: dict[str, int] = {"ack_limit": 10, "nak_limit": 10}
        self.is_link_up = True
        self._reported: tuple[Any, ...] = ()  # the counters _report last wrote
        self.store: Any = None
        self.downlink_component: Any = None
        self.storage: Storage | None = None
        self.entity: CfdpEntity | None = None
        self.requests: deque[DownlinkRequest] = deque()
        self.transactions: dict[TransactionId, _Active] = {}
        self.outbox: deque[bytes] = deque()
        self.held_by_command = False
        self.counts = {"downlinked": 0, "uplinked": 0}
        self._seq_reserved = 0
        self._seq_next = 0
        self._auto_skip: set[int] = set()  # files whose automatic downlink failed this pass
        self._refused: list[TransactionId] = []  # uplinks too large, cancelled after receive

    # ------------------------------------------------------------ lifecycle

    def configure(self, config: Mapping[str, Any]) -> None:
        for key, value in config.items():
            if key in ("entity_id", "ground_entity_id"):
                if type(value) is not int or not 0 <= value <= 0xFFFF:
                    raise ConfigError(key, f"{value!r} must be an integer in 0..65535")
                setattr(self, key, value)
            elif key == "store":
                if type(value) is not str or not value.isidentifier():
                    raise ConfigError(key, f"{value!r} must be a component instance name")
                self.store_name = value
            elif key == "downlink":
                if type(value) is not str or (value and not value.isidentifier()):
                    raise ConfigError(key, f"{value!r} must be a component instance name, or "
                                           "\"\" to pace by max_pdus_per_cycle alone")
                self.downlink_name = value or None
            elif key == "checksum":
                if value not in _CHECKSUMS:
                    raise ConfigError(key, f"{value!r} must be one of {', '.join(_CHECKSUMS)}")
                self.checksum = _CHECKSUMS[value]
            elif key in ("segment_octets", "max_downlinks", "max_pdus_per_cycle",
                         "queue_target_octets", "max_uplink_octets"):
                if type(value) is not int or value < 1:
                    raise ConfigError(key, f"{value!r} must be a positive integer")
                setattr(self, key, value)
            elif key in self.timers:
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise ConfigError(key, f"{value!r} must be a positive number of seconds")
                self.timers[key] = float(value)
            elif key in self.limits:
                if type(value) is not int or value < 1:
                    raise ConfigError(key, f"{value!r} must be a positive integer")
                self.limits[key] = value
            elif key == "link_up":
                if type(value) is not bool:
                    raise ConfigError(key, "must be true or false")
                self.is_link_up = value
            else:
                raise ConfigError(key, "unknown setting (known: entity_id, ground_entity_id, "
                                       "store, downlink, checksum, segment_octets, max_downlinks, "
                                       "max_pdus_per_cycle, queue_target_octets, "
                                       "max_uplink_octets, ack_timer_s, nak_timer_s, "
                                       "inactivity_timeout_s, ack_limit, nak_limit, link_up)")
        if self.entity_id == self.ground_entity_id:
            raise ConfigError("ground_entity_id", "must differ from entity_id")

    def registry_ready(self, registry: Registry) -> None:
        self.store = registry.components.get(self.store_name)
        if self.store is None or not callable(getattr(self.store, "filestore", None)):
            raise ConfigError("store", f"no product store named {self.store_name!r}")
        if self.downlink_name is not None:
            self.downlink_component = registry.components.get(self.downlink_name)
            if self.downlink_component is None or not hasattr(self.downlink_component, "mux"):
                raise ConfigError("downlink", f"no downlink component named "
                                              f"{self.downlink_name!r}")

    def restore(self) -> None:
        try:
            self.storage = open_storage(self.hardware("storage"))
        except ValueError as exc:
            raise ConfigError("hardware.storage", str(exc)) from None
        first = self._load_seq()
        self._seq_reserved = first
        self._reserve_seq(first)
        ground = RemoteEntityConfig(
            self.ground_entity_id, checksum_type=self.checksum,
            max_file_segment_octets=self.segment_octets,
            max_pdu_octets=self.segment_octets + 64, **self.timers, **self.limits,
        )
        local = LocalEntityConfig(self.entity_id, first_seq_num=first,
                                  max_file_octets=self.max_uplink_octets)
        self.entity = CfdpEntity(local, [ground], self.store.filestore(), self.clock,
                                 self._send, self._indication)

    def start(self) -> None:
        self._report()

    def cycle(self) -> None:
        entity = self._entity
        if not self.is_held:
            self._start_downlinks()
        self._flush()
        entity.tick(self._budget())
        self._flush()
        self._report()

    # ------------------------------------------------------------ inputs

    @input_port(depth=64, policy="reject")
    def uplink_pdus(self, pdu: bytes) -> None:
        """CFDP PDUs from the ground (connect uplink.file_pdus here)."""
        entity = self._entity
        reasons = entity.counters.malformed_by_reason
        before = reasons.copy()
        entity.receive(pdu)
        while self._refused:
            entity.cancel(self._refused.pop())
        if reasons != before:
            self.emit(self.malformed, next(r for r in reasons if reasons[r] != before[r])[:40])
        self._flush()

    @input_port(depth=8, policy="drop_oldest")
    def link(self, state: Any) -> None:
        """Link state: True at acquisition, False at loss of signal, or a radio
        `LinkTransition` (lost: down; to UP: up)."""
        if isinstance(state, bool):
            up = state
        elif hasattr(state, "lost") and hasattr(state, "state"):
            if state.lost:
                up = False
            elif getattr(state.state, "name", "") == "UP":
                up = True
            else:
                return
        else:
            return
        if up == self.is_link_up:
            return
        was_held = self.is_held
        self.is_link_up = up
        self.tlm(self.link_up, up)
        if up:
            self._auto_skip.clear()
        self._hold_changed(was_held, "link lost")

    # ------------------------------------------------------------ commands

    @command(1, file=String(MAX_PATH_OCTETS), cls=U8(min=1, max=2))
    def downlink(self, file: str, cls: int) -> None:
        """Queue a stored file (path or file ID) for downlink, class 1 or class 2."""
        try:
            info = self.store.info(file)
        except StoreError as exc:
            raise CommandError(exc.reason, str(exc)) from None
        self._queue(info, _mode(cls))

    @command(2, max_priority=U8, max_files=U16(min=1, max=1000), cls=U8(min=1, max=2))
    def downlink_pending(self, max_priority: int, max_files: int, cls: int) -> None:
        """Queue up to `max_files` products not yet downlinked, of `max_priority` or better."""
        for info in self._pending(max_priority)[:max_files]:
            self._queue(info, _mode(cls))

    @command(3, source_entity=U16, seq=U32)
    def cancel(self, source_entity: int, seq: int) -> None:
        """Cancel a transaction (ours: source_entity = our entity ID; an uplink: the ground's)."""
        try:
            if not self._entity.cancel(TransactionId(source_entity, seq)):
                raise CommandError(ReasonCode.EXECUTION_FAILED, "the transaction is closing")
        except UnknownTransactionError as exc:
            raise CommandError(ReasonCode.NOT_FOUND, str(exc)) from None

    @command(4)
    def suspend(self) -> None:
        """Hold every transfer (as at loss of signal) until `resume`."""
        if self.held_by_command:
            raise CommandError(ReasonCode.EXECUTION_FAILED, "transfers are already held")
        was_held = self.is_held
        self.held_by_command = True
        self._hold_changed(was_held, "command")

    @command(5)
    def resume(self) -> None:
        """Release the transfers held by `suspend` (they stay held while the link is down)."""
        if not self.held_by_command:
            raise CommandError(ReasonCode.EXECUTION_FAILED, "transfers are not held by command")
        was_held = self.is_held
        self.held_by_command = False
        self._hold_changed(was_held, "command")

    @command(6)
    def clear_queue(self) -> None:
        """Forget the downlink requests that have not started."""
        self.requests.clear()
        self._report()

    # ------------------------------------------------------------ downlink

    @property
    def _entity(self) -> CfdpEntity:
        if self.entity is None:
            raise CommandError(ReasonCode.COMPONENT_UNAVAILABLE, f"{self.name} is not started")
        return self.entity

    @property
    def is_held(self) -> bool:
        return self.held_by_command or not self.is_link_up

    def _pending(self, max_priority: int) -> list[StoredFile]:
        busy = {r.file_id for r in self.requests} | {
            a.file_id for a in self.transactions.values() if a.direction is Direction.DOWNLINK}
        files = [f for f in self.store.file_list()
                 if f.category is FileCategory.PRODUCT and not f.downlinked
                 and f.priority <= max_priority and f.file_id not in busy]
        return sorted(files, key=lambda f: (f.priority, f.file_id))

    def _queue(self, info: StoredFile, mode: TransmissionMode) -> None:
        request = DownlinkRequest(info.file_id, info.path, info.priority, mode)
        # most important first; first come, first served within a priority
        position = next((i for i, r in enumerate(self.requests) if r.priority > info.priority),
                        len(self.requests))
        self.requests.insert(position, request)
        self.emit(self.downlink_queued, info.file_id, info.path, _cls(mode))
        self._report()

    def _start_downlinks(self) -> None:
        auto = self.auto_priority
        if auto >= 0 and not self.requests and not self._downlinks_active():
            for info in self._pending(auto):
                if info.file_id not in self._auto_skip:
                    self._auto_skip.add(info.file_id)  # retried at the next pass if it fails
                    self._queue(info, TransmissionMode.ACKNOWLEDGED)
                    break
        while self.requests and self._downlinks_active() < self.max_downlinks:
            self._put(self.requests.popleft())

    def _downlinks_active(self) -> int:
        return sum(1 for a in self.transactions.values() if a.direction is Direction.DOWNLINK)

    def _put(self, request: DownlinkRequest) -> None:
        entity = self._entity
        try:
            info = self.store.info(request.file_id)
            tid = entity.put(self.ground_entity_id, info.path, info.path,
                             transmission_mode=request.mode)
        except (StoreError, FilestoreError, CfdpRequestError) as exc:
            self.emit(self.transfer_failed, Direction.DOWNLINK, 0,
                      ConditionCode.FILESTORE_REJECTION, f"{request.path}: {exc}"[:128])
            return
        confirmed = request.mode is TransmissionMode.ACKNOWLEDGED or bool(
            entity.remotes[self.ground_entity_id].closure_requested)
        self.transactions[tid] = _Active(Direction.DOWNLINK, info.path, info.file_id, info.size,
                                         confirmed)
        self._reserve_seq((tid.seq_num + 1) % _SEQ_MODULUS)
        self.emit(self.started, Direction.DOWNLINK, tid.seq_num, info.path,
                  min(info.size, 0xFFFFFFFF), _cls(request.mode))

    def _budget(self) -> int:
        """File data PDUs the downlink can take this cycle."""
        if self.outbox:
            return 0
        budget = self.max_pdus_per_cycle
        downlink = self.downlink_component
        if downlink is not None:
            waiting = downlink.mux.pending_octets(downlink.profile.vc_files)
            room = self.queue_target_octets - waiting
            budget = min(budget, max(0, room // (self.segment_octets + _PDU_OVERHEAD) + (
                1 if room > 0 else 0)))
        return budget

    def _send(self, remote: int, pdu: bytes) -> None:
        self.outbox.append(pdu)

    def _flush(self) -> None:
        outbox = self.outbox
        send = self.downlink_pdus.send
        while outbox and send(outbox[0]):
            outbox.popleft()

    # ------------------------------------------------------------ passes

    def _hold_changed(self, was_held: bool, reason: str) -> None:
        entity = self._entity
        if self.is_held and not was_held:
            count = entity.suspend_all()
            self.emit(self.suspended, reason, count)
        elif was_held and not self.is_held:
            count = entity.resume_all()
            self.emit(self.resumed, count)
        self._report()

    # ------------------------------------------------------------ indications

    def _indication(self, ind: Indication) -> None:
        kind = ind.kind
        tid = ind.transaction
        if ind.role is Role.RECEIVER and kind in (IndicationKind.METADATA_RECV,
                                                  IndicationKind.EOF_RECV):
            active = self.transactions.get(tid)
            if active is None:
                active = self.transactions[tid] = _Active(Direction.UPLINK, "")
            if kind is IndicationKind.METADATA_RECV:
                active.path = ind.destination_file
                status = self._entity.report(tid)
                active.size = status.file_size or 0
                self.emit(self.started, Direction.UPLINK, tid.seq_num, active.path,
                          min(active.size, 0xFFFFFFFF), _cls(status.transmission_mode))
                if active.size > self.max_uplink_octets:  # held in memory until stored
                    self.emit(self.too_large, tid.seq_num, active.path, active.size,
                              self.max_uplink_octets)
                    self._refused.append(tid)
        elif kind is IndicationKind.FAULT:
            active = self.transactions.get(tid)
            direction = self._direction(ind)
            self.emit(self.fault, direction, tid.seq_num, ind.condition_code)
            if ind.condition_code is ConditionCode.FILE_CHECKSUM_FAILURE:
                self.emit(self.checksum_mismatch, tid.seq_num, active.path if active else "")
        elif kind in (IndicationKind.TRANSACTION_FINISHED, IndicationKind.ABANDONED):
            self._finished(ind)

    def _direction(self, ind: Indication) -> Direction:
        return Direction.DOWNLINK if ind.role is Role.SENDER else Direction.UPLINK

    def _finished(self, ind: Indication) -> None:
        tid = ind.transaction
        active = self.transactions.pop(tid, None)
        direction = self._direction(ind)
        path = active.path if active is not None else ind.destination_file
        ok = (ind.kind is IndicationKind.TRANSACTION_FINISHED
              and ind.condition_code is ConditionCode.NO_ERROR)
        if not ok:
            self.emit(self.transfer_failed, direction, tid.seq_num, ind.condition_code, path)
            return
        if direction is Direction.UPLINK:
            self._stored(tid, path or ind.destination_file)
            return
        assert active is not None
        self.emit(self.finished, direction, tid.seq_num, path, min(active.size, 0xFFFFFFFF))
        if active.confirmed and ind.delivery_code is DeliveryCode.DATA_COMPLETE:
            self._mark_downlinked(active)

    def _stored(self, tid: TransactionId, path: str) -> None:
        self.counts["uplinked"] += 1
        try:
            info = self.store.info(path)
        except StoreError as exc:  # stored, then deleted or replaced already
            self.emit(self.storage_fault, f"{path}: {exc}"[:100])
            return
        self.emit(self.file_received, tid.seq_num, info.path, info.file_id,
                  min(info.size, 0xFFFFFFFF))

    def _mark_downlinked(self, active: _Active) -> None:
        try:
            info = self.store.info(active.file_id)
            if info.path == active.path and not info.downlinked:
                self.store.mark_downlinked(str(active.file_id))
        except (StoreError, CommandError) as exc:  # deleted or replaced meanwhile
            self.emit(self.storage_fault, f"file {active.file_id}: {exc}"[:100])
            return
        self.counts["downlinked"] += 1

    # ------------------------------------------------------------ telemetry

    def _report(self) -> None:
        entity = self.entity
        if entity is None:
            return
        c = entity.counters
        counters = (
            min(len(self.transactions), 255), min(len(self.requests), 0xFFFF), self.is_held,
            self.is_link_up, c.file_data_octets_sent, c.file_data_octets_received, c.naks_sent,
            c.naks_received, c.retransmitted_segments, sum(c.faults.values()),
            c.malformed_pdus + c.misrouted_pdus + c.unknown_transaction_pdus, c.pdus_sent,
            c.pdus_received, c.transactions_completed, c.transactions_failed,
            self.counts["downlinked"], self.counts["uplinked"], len(self.outbox), self._seq_next,
        )
        if counters != self._reported:  # all on-change channels: unchanged, nothing to write
            self._reported = counters
            for channel, value in zip(_COUNTER_CHANNELS, counters, strict=True):
                self.tlm(channel, value)
        current = next(((tid, a) for tid, a in self.transactions.items()
                        if a.direction is Direction.DOWNLINK), None)
        if current is None:
            self.tlm(self.progress_file_id, 0)
            return
        try:
            status = entity.report(current[0])
        except UnknownTransactionError:
            return
        self.tlm(self.progress_file_id, current[1].file_id)
        self.tlm(self.progress_octets, min(status.progress, 0xFFFFFFFF))
        self.tlm(self.progress_size, min(status.file_size or 0, 0xFFFFFFFF))

    # ------------------------------------------------------------ sequence numbers in storage

    def _load_seq(self) -> int:
        """The first sequence number no earlier boot may have used."""
        assert self.storage is not None
        try:
            version, first = _SEQ_RECORD.unpack(self.storage.load(SEQ_BLOB))
            if version != _SEQ_VERSION:
                raise ValueError(f"record version {version}")
        except StorageMissing:
            first = 0
        except (StorageError, ValueError, struct.error) as exc:
            self.emit(self.storage_fault, f"sequence record unreadable ({str(exc)[:50]}); "
                                          "numbers restart at 0")
            first = 0
        return first

    def _reserve_seq(self, next_seq: int) -> None:
        """Keep the stored reservation ahead of `next_seq`, the number the next put uses."""
        assert self.storage is not None
        self._seq_next = next_seq
        ahead = (self._seq_reserved - next_seq) % _SEQ_MODULUS
        if 0 < ahead <= SEQ_RESERVATION:
            return
        reserved = (next_seq + SEQ_RESERVATION) % _SEQ_MODULUS
        try:
            self.storage.save(SEQ_BLOB, _SEQ_RECORD.pack(_SEQ_VERSION, reserved))
        except OSError as exc:
            self.emit(self.storage_fault, f"sequence record not saved: {str(exc)[:70]}")
            return
        self._seq_reserved = reserved


# written by the cycle's report, in this order, when any of them changed (on-change channels all)
_COUNTER_CHANNELS: Final = (
    FileTransfer.active, FileTransfer.queued, FileTransfer.held, FileTransfer.link_up,
    FileTransfer.octets_sent, FileTransfer.octets_received, FileTransfer.naks_sent,
    FileTransfer.naks_received, FileTransfer.retransmissions, FileTransfer.fault_count,
    FileTransfer.malformed_pdus, FileTransfer.pdus_sent, FileTransfer.pdus_received,
    FileTransfer.completed, FileTransfer.failed, FileTransfer.downlinked, FileTransfer.uplinked,
    FileTransfer.pdus_waiting, FileTransfer.next_seq,
)


def _mode(cls: int) -> TransmissionMode:
    return TransmissionMode.ACKNOWLEDGED if cls == 2 else TransmissionMode.UNACKNOWLEDGED


def _cls(mode: TransmissionMode) -> int:
    return 2 if mode is TransmissionMode.ACKNOWLEDGED else 1
