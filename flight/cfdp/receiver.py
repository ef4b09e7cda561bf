"""The receiving end of a transaction (727.0-B-5 sections 4.6.1.2, 4.6.3, 4.6.4, 4.6.5, 4.11).

Segments are written at their offsets into a partial file as they arrive, and the octets held are
tracked as intervals. The file is complete when the Metadata and the EOF (No error) have arrived
and the intervals cover [0, file size); then its checksum is computed from the partial file and
compared with the EOF's. Only a matching file is finalized (atomically) under its name; any other
outcome discards it.

Class 2: a gap seen in the offsets is NAKed at once (immediate NAK mode), and at EOF every gap,
and the Metadata if it is missing, is NAKed (deferred NAK); the NAK timer repeats the NAK while
gaps remain, up to the NAK limit, and new data resets that count. The outcome goes back in a
Finished PDU, repeated on the positive ACK timer until the sender acknowledges it.
Class 1: an incomplete file at EOF waits for data overtaken by the EOF, for `check_limit`
periods of the check timer; a Finished PDU goes back only when the sender requested closure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flight.cfdp.checksum import SUPPORTED, file_checksum
from flight.cfdp.config import RemoteEntityConfig
from flight.cfdp.defs import (
    ChecksumType,
    ConditionCode,
    DeliveryCode,
    DirectiveCode,
    FileStatus,
    ResponseRequired,
    TlvType,
    TransactionStatus,
)
from flight.cfdp.directives import (
    AckPdu,
    EofPdu,
    FinishedPdu,
    KeepAlivePdu,
    MetadataPdu,
    NakPdu,
    PromptPdu,
)
from flight.cfdp.errors import PduError
from flight.cfdp.file_data import FileDataPdu
from flight.cfdp.filestore import PartialFile
from flight.cfdp.header import CRC_OCTETS, PduHeader
from flight.cfdp.pdu import Pdu
from flight.cfdp.ranges import Ranges
from flight.cfdp.status import IndicationKind, Phase, Role, TransactionId, TransferStatus
from flight.cfdp.tlv import FaultHandlerOverride
from flight.cfdp.transaction import Timer, Transaction

if TYPE_CHECKING:
    from flight.cfdp.entity import CfdpEntity


class ReceiveTransaction(Transaction):
    role = Role.RECEIVER

    def __init__(self, entity: CfdpEntity, tid: TransactionId, remote: RemoteEntityConfig,
                 header: PduHeader, partial: PartialFile, now: float) -> None:
        self.nak_timer = Timer()
        self.ack_timer = Timer()
        self.inactivity = Timer()
        self.check_timer = Timer()
        self.keep_alive_timer = Timer()
        super().__init__(entity, tid, remote, header, (
            self.nak_timer, self.ack_timer, self.inactivity, self.check_timer,
            self.keep_alive_timer,
        ))
        self.phase = Phase.RECEIVING
        self.partial: PartialFile | None = partial
        self.received = Ranges()
        self.end = 0  # end of the furthest segment received
        self.metadata: MetadataPdu | None = None
        self.metadata_nakked = False
        self.eof: EofPdu | None = None
        self.checksum_type: ChecksumType | int = ChecksumType.NULL
        self.closure_requested = self.acknowledged
        self.nak_count = 0
        self.check_count = 0
        self.ack_count = 0
        self.finished: bytes | None = None
        self.inactivity.start(now, remote.inactivity_timeout_s)
        if self.acknowledged and remote.keep_alive_interval_s is not None:
            self.keep_alive_timer.start(now, remote.keep_alive_interval_s)
        per_pdu = 2 * header.fss_octets
        room = remote.max_pdu_octets - header.octets - 1 - per_pdu - (
            CRC_OCTETS if header.crc else 0)
        self.naks_per_pdu = max(1, room // per_pdu)

    @property
    def closing(self) -> bool:
        return self.phase != Phase.RECEIVING

    @property
    def file_size(self) -> int | None:
        if self.eof is not None:
            return self.eof.file_size
        return self.metadata.file_size if self.metadata is not None else None

    def progress(self) -> int:
        return self.end

    def _size_limit(self) -> int:
        """No data beyond this: the EOF's file size, else the Metadata's (0 there means a file of
        unbounded size), else the entity's `max_file_octets`."""
        if self.eof is not None:
            return self.eof.file_size
        if self.metadata is not None and self.metadata.file_size:
            return self.metadata.file_size
        return self.entity.config.max_file_octets

    # --- input --------------------------------------------------------------------------------

    def on_pdu(self, pdu: Pdu, now: float) -> None:
        if self.phase == Phase.RECEIVING:
            self.inactivity.start(now, self.remote.inactivity_timeout_s)
        if isinstance(pdu, FileDataPdu):
            self._on_file_data(pdu, now)
        elif isinstance(pdu, MetadataPdu):
            self._on_metadata(pdu, now)
        elif isinstance(pdu, EofPdu):
            self._on_eof(pdu, now)
        elif isinstance(pdu, PromptPdu):
            self._on_prompt(pdu)
        elif (isinstance(pdu, AckPdu) and pdu.acked_directive == DirectiveCode.FINISHED
              and self.phase == Phase.WAIT_FINISHED_ACK):
            self.finish()
        else:
            self.entity.counters.ignored_pdus += 1

    def _on_file_data(self, pdu: FileDataPdu, now: float) -> None:
        counters = self.entity.counters
        if self.phase != Phase.RECEIVING:
            counters.ignored_pdus += 1  # a late copy after the outcome
            return
        offset, data = pdu.offset, pdu.data
        end = offset + len(data)
        counters.file_data_octets_received += len(data)
        if end > self._size_limit():
            self.declare_fault(ConditionCode.FILE_SIZE_ERROR, now)
            return
        assert self.partial is not None
        try:
            self.partial.write(offset, data)
        except OSError:
            self.declare_fault(ConditionCode.FILESTORE_REJECTION, now)
            return
        before = self.end
        fresh = self.received.add(offset, end)
        if end > before:
            self.end = end
        if self.acknowledged:
            if offset > before and self.remote.immediate_nak:
                requests = [(before, offset)]
                if self.metadata is None and not self.metadata_nakked:
                    self.metadata_nakked = True
                    requests.insert(0, (0, 0))
                self._send_naks(before, end, requests)
            elif self.metadata is None and not self.metadata_nakked and self.remote.immediate_nak:
                self.metadata_nakked = True
                self._send_naks(0, end, [(0, 0)])
            if fresh and self.nak_timer.running:
                self.nak_count = 0  # missing data arrived: the NAK procedure is making progress
        if self.entity.config.file_segment_indications:
            self.indicate(IndicationKind.FILE_SEGMENT_RECV, offset=offset, length=len(data),
                          progress=self.end)
        if self.eof is not None:
            self._try_complete(now)

    def _on_metadata(self, pdu: MetadataPdu, now: float) -> None:
        if self.metadata is not None or self.phase != Phase.RECEIVING:
            self.entity.counters.ignored_pdus += 1
            return
        self.metadata = pdu
        self.source_file = pdu.source_file_name
        self.destination_file = pdu.destination_file_name
        self.closure_requested = pdu.closure_requested or self.acknowledged
        for tlv in pdu.options_of(TlvType.FAULT_HANDLER_OVERRIDE):
            try:
                override = FaultHandlerOverride.from_tlv(tlv)
            except PduError:
                self.entity.counters.protocol_errors += 1
                continue
            self.fault_handlers[override.condition] = override.action
        self.indicate(IndicationKind.METADATA_RECV, progress=self.end,
                      source_file=self.source_file, destination_file=self.destination_file)
        self.checksum_type = pdu.checksum_type
        if pdu.checksum_type not in SUPPORTED:
            self.checksum_type = ChecksumType.NULL
            if self.declare_fault(ConditionCode.UNSUPPORTED_CHECKSUM_TYPE, now):
                return
        if self.destination_file:
            try:
                self.entity.filestore.check_name(self.destination_file)
            except OSError:
                self.declare_fault(ConditionCode.FILESTORE_REJECTION, now)
                return
        if self.eof is not None:
            self._try_complete(now)

    def _on_eof(self, pdu: EofPdu, now: float) -> None:
        if self.acknowledged:  # every EOF is acknowledged, repeats too
            self.send(AckPdu(self.header, DirectiveCode.EOF, pdu.condition_code,
                             TransactionStatus.ACTIVE).pack())
        if self.phase != Phase.RECEIVING or self.eof is not None:
            return  # a repeat: its ACK was lost
        self.indicate(IndicationKind.EOF_RECV, condition_code=pdu.condition_code,
                      progress=self.end)
        if pdu.condition_code != ConditionCode.NO_ERROR:
            self._sender_cancelled(pdu.condition_code, now)
            return
        self.eof = pdu
        if self.end > pdu.file_size and self.declare_fault(ConditionCode.FILE_SIZE_ERROR, now):
            return
        if self._complete():
            self._conclude(now)
        elif self.acknowledged:
            self._send_missing()
            self.nak_count = 0
            self.nak_timer.start(now, self.remote.nak_timer_s)
        else:
            self.check_count = 0
            self.check_timer.start(now, self.remote.check_timer_s)

    def _on_prompt(self, pdu: PromptPdu) -> None:
        if pdu.response_required == ResponseRequired.KEEP_ALIVE:
            self.send(KeepAlivePdu(self.header, self.end).pack())
        else:
            self._send_naks(0, self.end, self._missing(self.end))

    # --- completion ---------------------------------------------------------------------------

    def _complete(self) -> bool:
        return (self.metadata is not None and self.eof is not None
                and self.received.covers(0, self.eof.file_size))

    def _try_complete(self, now: float) -> None:
        if self.phase == Phase.RECEIVING and self._complete():
            self._conclude(now)

    def _conclude(self, now: float) -> None:
        """All data is in: check the checksum, keep the file, close the transaction."""
        assert self.eof is not None and self.partial is not None
        self.nak_timer.stop()
        self.check_timer.stop()
        self.delivery_code = DeliveryCode.DATA_COMPLETE
        if self.checksum_type != ChecksumType.NULL:
            try:
                computed = file_checksum(ChecksumType(self.checksum_type), self.partial.read,
                                         self.eof.file_size)
            except (OSError, ValueError):
                self.declare_fault(ConditionCode.FILESTORE_REJECTION, now)
                return
            if computed != self.eof.checksum:
                if self.declare_fault(ConditionCode.FILE_CHECKSUM_FAILURE, now):
                    return
                self.delivery_code = DeliveryCode.DATA_INCOMPLETE  # kept, but not verified
        if self.destination_file:
            try:
                self.partial.finalize(self.destination_file)
            except OSError:
                self.release(keep_file=False)
                self.file_status = FileStatus.DISCARDED_FILESTORE_REJECTION
                self.declare_fault(ConditionCode.FILESTORE_REJECTION, now)
                return
            self.file_status = FileStatus.RETAINED
        else:
            self.partial.discard()  # a transaction without a file (only Metadata and EOF)
            self.file_status = FileStatus.UNREPORTED
        self.partial = None
        self.report_outcome()
        self._close(now, None)

    def _sender_cancelled(self, condition: ConditionCode, now: float) -> None:
        self.condition = condition
        self.delivery_code = (DeliveryCode.DATA_COMPLETE if self.metadata is not None
                              and self.received.covers(0, self.end)
                              else DeliveryCode.DATA_INCOMPLETE)
        self.release(keep_file=False)
        self.file_status = FileStatus.DISCARDED_DELIBERATELY
        self.report_outcome()
        self._close(now, self.remote.entity_id)

    def cancel(self, condition: ConditionCode, now: float) -> bool:
        if self.phase != Phase.RECEIVING:
            return False
        self.condition = condition
        self.delivery_code = (DeliveryCode.DATA_COMPLETE if self._complete()
                              else DeliveryCode.DATA_INCOMPLETE)
        self.release(keep_file=False)
        if self.file_status is None:
            self.file_status = (FileStatus.DISCARDED_FILESTORE_REJECTION
                                if condition == ConditionCode.FILESTORE_REJECTION
                                else FileStatus.DISCARDED_DELIBERATELY)
        self.report_outcome()
        self._close(now, self.entity.config.entity_id)
        return True

    def _close(self, now: float, fault_location: int | None) -> None:
        """Send the Finished PDU if one is due; class 2 then waits for its ACK."""
        for t in (self.nak_timer, self.check_timer, self.inactivity, self.keep_alive_timer):
            t.stop()
        if not self.closure_requested:
            self.finish()
            return
        self.finished = FinishedPdu(
            self.header, self.condition,
            DeliveryCode.DATA_INCOMPLETE if self.delivery_code is None else self.delivery_code,
            FileStatus.UNREPORTED if self.file_status is None else self.file_status, (),
            fault_location if self.condition != ConditionCode.NO_ERROR else None,
        ).pack()
        self.send(self.finished)
        if not self.acknowledged:
            self.finish()
            return
        self.phase = Phase.WAIT_FINISHED_ACK
        self.ack_count = 0
        self.ack_timer.start(now, self.remote.ack_timer_s)

    # --- timers -------------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        if self.suspended or self.phase == Phase.FINISHED:
            return
        if self.inactivity.expired(now):
            self.inactivity.stop()
            if not self.declare_fault(ConditionCode.INACTIVITY_DETECTED, now):
                self.inactivity.start(now, self.remote.inactivity_timeout_s)
        if self.nak_timer.expired(now):
            self.nak_timer.stop()
            if self.nak_count >= self.remote.nak_limit:
                self.declare_fault(ConditionCode.NAK_LIMIT_REACHED, now)
            else:
                self.nak_count += 1
                self._send_missing()
                self.nak_timer.start(now, self.remote.nak_timer_s)
        if self.check_timer.expired(now):
            self.check_timer.stop()
            self.check_count += 1
            if self.check_count >= self.remote.check_limit:
                self.declare_fault(ConditionCode.CHECK_LIMIT_REACHED, now)
            else:
                self.check_timer.start(now, self.remote.check_timer_s)
        if self.ack_timer.expired(now):
            self.ack_timer.stop()
            if self.ack_count >= self.remote.ack_limit:
                self.declare_fault(ConditionCode.POSITIVE_ACK_LIMIT_REACHED, now)
                if self.phase == Phase.WAIT_FINISHED_ACK:  # ignored: give up on the handshake
                    self.finish()
            else:
                self.ack_count += 1
                self.ack_retries += 1
                assert self.finished is not None
                self.send(self.finished)
                self.ack_timer.start(now, self.remote.ack_timer_s)
        if self.keep_alive_timer.expired(now) and self.phase == Phase.RECEIVING:
            self.send(KeepAlivePdu(self.header, self.end).pack())
            assert self.remote.keep_alive_interval_s is not None
            self.keep_alive_timer.start(now, self.remote.keep_alive_interval_s)

    # --- NAKs ---------------------------------------------------------------------------------

    def _missing(self, end: int) -> list[tuple[int, int]]:
        requests = [(0, 0)] if self.metadata is None else []
        requests += self.received.gaps(0, end)
        return requests

    def _send_missing(self) -> None:
        assert self.eof is not None
        size = self.eof.file_size
        self._send_naks(0, size, self._missing(size))

    def _send_naks(self, start: int, end: int, requests: list[tuple[int, int]]) -> None:
        """NAK `requests` within [start, end), in as many PDUs as the PDU size limit needs."""
        per = self.naks_per_pdu
        counters = self.entity.counters
        batches = [requests[i:i + per] for i in range(0, len(requests), per)] or [[]]
        for i, batch in enumerate(batches):
            scope_start = start if i == 0 else max(start, batch[0][0])
            scope_end = end if i == len(batches) - 1 else max(scope_start, batch[-1][1])
            self.send(NakPdu(self.header, scope_start, scope_end, tuple(batch)).pack())
            self.naks += 1
            counters.naks_sent += 1

    # --- the rest -----------------------------------------------------------------------------

    def resumed(self, now: float) -> None:
        if self.phase == Phase.WAIT_FINISHED_ACK and self.finished is not None:
            self.send(self.finished)
            self.ack_timer.start(now, self.remote.ack_timer_s)
        elif self.phase == Phase.RECEIVING and self.eof is not None and self.acknowledged:
            self.send(AckPdu(self.header, DirectiveCode.EOF, self.eof.condition_code,
                             TransactionStatus.ACTIVE).pack())
            self._send_missing()
            self.nak_timer.start(now, self.remote.nak_timer_s)

    def release(self, keep_file: bool) -> None:
        if self.partial is not None and not keep_file:
            try:
                self.partial.discard()
            except OSError:
                pass  # nothing more to do with a partial file the store will not delete
        self.partial = None

    def status(self) -> TransferStatus:
        return TransferStatus(
            self.tid, Role.RECEIVER, self.remote.entity_id, self.header.transmission_mode,
            self.phase, self.suspended, self.end, self.received.total, self.file_size,
            self.source_file, self.destination_file, self.condition, self.delivery_code,
            self.file_status, self.naks, 0, self.ack_retries,
        )
