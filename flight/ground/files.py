"""The ground's CFDP entity: files downlinked by the satellite land in a folder, local files go up.

    TM packets on APID file downlink --receive--> CfdpEntity --finalize--> FOLDER/<name>
    put(local_path, remote_name) --> CfdpEntity --PDUs--> TC packets on APID file uplink (FOP-1)

`GroundFiles` is driven by the ground station (`GroundStation(..., files=GroundFiles(...))`):
the station hands it every file PDU it decodes and calls `poll()` each time it polls the link.
The station's file API (`received_files`, `await_file`, `put_file`, `await_transfer`) is a thin
layer over this class.

Received files are written into the folder under the name the satellite gives (its path in the
product store, e.g. ``img/20250320T104207-lake-00003.r121``), built in ``FOLDER/.cfdp-partial``
and renamed into place only when CFDP has all of the file and its checksum matches; a name that
would leave the folder is refused. The satellite's entity marks the file downlinked when our
Finished PDU reaches it (class 2).

Uplink pacing: FOP-1 (COP-1) already delivers TC frames in order and without loss, so file data
goes to it only while fewer than `uplink_window` packets wait there unacknowledged; CFDP's timers
then run on a link that moves, instead of behind a queue of hundreds of frames.

Passes: the TM link carries frames continuously during a pass (idle frames when nothing else),
so `los_after_s` without a TM frame is loss of signal: every transaction is suspended, and the
next TM frame resumes them. The uplink is quiet unless the ground has something to say, and the
satellite's radio declares its link lost after a silence (10 s by default) and holds its
transfers; so while it receives a class 2 file the ground sends a Keep Alive PDU every
`keep_alive_s`, which keeps the satellite's link up for the whole downlink.

Without keys (a receive-only station) nothing goes up: class 1 files are received, class 2
transfers cannot complete (no NAK, ACK or Finished can reach the satellite).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from flight.cfdp import (
    CfdpEntity,
    ChecksumType,
    ConditionCode,
    Indication,
    IndicationKind,
    LocalEntityConfig,
    NativeFilestore,
    RemoteEntityConfig,
    Role,
    TransactionId,
    TransferStatus,
    TransmissionMode,
)
from flight.cfdp.errors import FilestoreError
from flight.cfdp.filestore import ReadFile
from flight.codec import crc32c
from flight.ground.archive import Archive
from flight.ground.link import GroundLink

FILES_CLASS: Final[str] = "flight.svc.files:FileTransfer"
DEFAULT_GROUND_ENTITY: Final[int] = 1
DEFAULT_SATELLITE_ENTITY: Final[int] = 2
_PACKET_HEADER_OCTETS: Final[int] = 6
_MAX_SEGMENT_OCTETS: Final[int] = 1024
_PDU_HEADER_ALLOWANCE: Final[int] = 32


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    """A file the satellite sent, complete and checked, in the folder."""

    name: str  # as the satellite named it
    path: Path  # where it is on the ground
    size: int
    crc32c: int
    transaction: TransactionId
    received: float  # ground wall time, POSIX seconds


@dataclass(frozen=True, slots=True)
class FileUpdate:
    """A step of a file transfer, for the station's listeners (printed by `flight ground`)."""

    kind: IndicationKind
    transaction: TransactionId
    uplink: bool
    name: str
    condition: ConditionCode
    progress: int
    size: int | None


class _LocalRead:
    __slots__ = ("_fd", "size")

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self.size = os.fstat(self._fd).st_size

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class GroundFilestore(NativeFilestore):
    """The receive folder; files to send may also be named by an absolute local path (the
    operator's own put requests: nothing the satellite sends names a file to read)."""

    def open_read(self, name: str) -> ReadFile:
        if not os.path.isabs(name):
            return super().open_read(name)
        try:
            return _LocalRead(name)
        except OSError as e:
            raise FilestoreError(name, e.strerror or str(e)) from None


class GroundFiles:
    def __init__(
        self,
        link: GroundLink,
        folder: str | os.PathLike[str],
        *,
        entity_id: int = DEFAULT_GROUND_ENTITY,
        satellite_entity_id: int = DEFAULT_SATELLITE_ENTITY,
        checksum: ChecksumType = ChecksumType.CRC32C,
        nak_timer_s: float = 5.0,
        nak_limit: int = 20,
        ack_timer_s: float = 10.0,
        ack_limit: int = 10,
        inactivity_timeout_s: float = 300.0,
        keep_alive_s: float | None = 4.0,
        los_after_s: float = 10.0,
        uplink_window: int = 8,
        wall_time: Callable[[], float],
    ) -> None:
        self.link = link
        self.clock = link.clock
        self.filestore = GroundFilestore(folder)
        self.folder = Path(self.filestore.root)
        self.stale_partials = self.filestore.discard_stale_partials()
        self.wall_time = wall_time
        self.satellite_entity_id = satellite_entity_id
        self.los_after_s = los_after_s
        self.uplink_window = uplink_window
        max_pdu = link.profile.max_tc_packet_octets - _PACKET_HEADER_OCTETS
        satellite = RemoteEntityConfig(
            satellite_entity_id, checksum_type=checksum, max_pdu_octets=max_pdu,
            max_file_segment_octets=min(_MAX_SEGMENT_OCTETS, max_pdu - _PDU_HEADER_ALLOWANCE),
            nak_timer_s=nak_timer_s, nak_limit=nak_limit, ack_timer_s=ack_timer_s,
            ack_limit=ack_limit, inactivity_timeout_s=inactivity_timeout_s,
            keep_alive_interval_s=keep_alive_s,
        )
        self.entity = CfdpEntity(LocalEntityConfig(entity_id), [satellite], self.filestore,
                                 self.clock, self._send, self._indication)
        self.outbox: deque[bytes] = deque()
        self.received: list[ReceivedFile] = []
        self.updates: deque[FileUpdate] = deque(maxlen=10_000)  # the latest, oldest first
        self.listeners: list[Callable[[FileUpdate], None]] = []
        self.uplink_enabled = False  # the station sets it once it may command (identified)
        self.pdus_unsent = 0  # receive-only station: PDUs that could not go up
        self.suspended = False
        self.archive: Archive | None = None  # each transfer's outcome goes here (the station's)
        self._frames_seen = link.counters.frames_received
        self._last_frame = self.clock.monotonic()
        self._names: dict[TransactionId, str] = {}

    # ------------------------------------------------------------ driving

    def receive(self, pdu: bytes) -> None:
        """One PDU from a file-downlink packet (malformed ones are counted, never raised)."""
        self.entity.receive(pdu)

    def poll(self) -> None:
        """Watch the link for loss of signal, run the timers, move PDUs to FOP-1."""
        now = self.clock.monotonic()
        frames = self.link.counters.frames_received
        if frames != self._frames_seen:
            self._frames_seen = frames
            self._last_frame = now
            if self.suspended:
                self.suspended = False
                self.entity.resume_all()
        elif not self.suspended and now - self._last_frame >= self.los_after_s:
            self.suspended = True
            self.entity.suspend_all()
        self._flush()
        self.entity.tick(self._budget())
        self._flush()

    def _budget(self) -> int:
        if self.outbox or not self._can_send:
            return 0
        status = self.link.fop.status()
        return max(0, self.uplink_window - status.sent_queue - status.transmit_queue)

    @property
    def _can_send(self) -> bool:
        return self.uplink_enabled and self.link.ready

    def _send(self, remote: int, pdu: bytes) -> None:
        if not self.link.can_command:
            self.pdus_unsent += 1
            return
        self.outbox.append(pdu)

    def _flush(self) -> None:
        if not self._can_send:
            return
        apid = self.link.profile.apid_file_uplink
        outbox = self.outbox
        while outbox and self.link.send_packet(apid, outbox[0]):
            outbox.popleft()

    # ------------------------------------------------------------ requests

    def put(self, local_path: str | os.PathLike[str], remote_name: str, cls: int = 2) -> \
            TransactionId:
        """Start sending a local file to the satellite, stored there as `remote_name`."""
        if cls not in (1, 2):
            raise ValueError(f"class {cls} must be 1 or 2")
        if not self.link.can_command:
            raise ValueError("no keys: this ground station only receives (give a key file)")
        path = os.path.abspath(os.fspath(local_path))
        mode = TransmissionMode.ACKNOWLEDGED if cls == 2 else TransmissionMode.UNACKNOWLEDGED
        tid = self.entity.put(self.satellite_entity_id, path, remote_name,
                              transmission_mode=mode, closure_requested=True)
        self._names[tid] = remote_name
        return tid

    def status(self, tid: TransactionId) -> TransferStatus:
        return self.entity.report(tid)

    def finished(self, tid: TransactionId) -> TransferStatus | None:
        """The final status of `tid` once it has finished, else None."""
        for status in reversed(self.entity.history()):
            if status.transaction == tid and status.role is Role.SENDER:
                return status
        return None

    # ------------------------------------------------------------ indications

    def _indication(self, ind: Indication) -> None:
        uplink = ind.role is Role.SENDER
        if ind.kind is IndicationKind.METADATA_RECV:
            self._names[ind.transaction] = ind.destination_file
        name = self._names.get(ind.transaction, ind.destination_file)
        size = None
        if ind.kind in (IndicationKind.TRANSACTION_FINISHED, IndicationKind.ABANDONED):
            self._names.pop(ind.transaction, None)
            kept = None
            if (not uplink and ind.kind is IndicationKind.TRANSACTION_FINISHED
                    and ind.condition_code is ConditionCode.NO_ERROR):
                kept = self._keep(ind)
                size = kept.size
            if self.archive is not None:
                self._archive(ind, uplink, name, kept)
        update = FileUpdate(ind.kind, ind.transaction, uplink, name, ind.condition_code,
                            ind.progress, size)
        self.updates.append(update)
        for listener in self.listeners:
            listener(update)

    def _keep(self, ind: Indication) -> ReceivedFile:
        path = Path(self.filestore.path_of(ind.destination_file))
        data = path.read_bytes()
        kept = ReceivedFile(ind.destination_file, path, len(data), crc32c(data), ind.transaction,
                            self.wall_time())
        self.received.append(kept)
        return kept

    def _archive(self, ind: Indication, uplink: bool, name: str,
                 kept: ReceivedFile | None) -> None:
        assert self.archive is not None
        tid = ind.transaction
        self.archive.store_file_transfer(
            uplink=uplink, source_entity=tid.source_entity_id, seq=tid.seq_num,
            source_file=ind.source_file, destination_file=ind.destination_file or name,
            size=kept.size if kept is not None else ind.progress,
            condition=ind.condition_code.name,
            delivery=ind.delivery_code.name if ind.delivery_code is not None else None,
            local_path=str(kept.path) if kept is not None else None,
            crc32c=kept.crc32c if kept is not None else None, finished=self.wall_time(),
        )


def entity_ids(deployment: str) -> tuple[int, int]:
    """(ground entity ID, satellite entity ID) from a deployment's file transfer component, or
    the defaults when it has none."""
    from flight.deployments import resolve
    from flight.runtime.deployment import Deployment

    for decl in Deployment.load(resolve(deployment)).components:
        if decl.class_path == FILES_CLASS:
            return (int(decl.config.get("ground_entity_id", DEFAULT_GROUND_ENTITY)),
                    int(decl.config.get("entity_id", DEFAULT_SATELLITE_ENTITY)))
    return DEFAULT_GROUND_ENTITY, DEFAULT_SATELLITE_ENTITY
