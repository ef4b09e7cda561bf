"""The sending end of a transaction (727.0-B-5 sections 4.6.1.1, 4.6.4, 4.6.5, 4.11).

Phases: SENDING (Metadata, then the file in segments, then EOF), then for class 2 WAIT_EOF_ACK
(the EOF is repeated each time the positive ACK timer expires, up to the limit) and WAIT_FINISHED
(until the receiver's Finished, which is acknowledged), for class 1 WAIT_FINISHED only when
closure was requested. NAKs are served in every phase of a class 2 transaction: the requested
spans join a retransmission queue that `tick` empties before it sends new data.

The checksum is computed while the file is read for its first pass, in order, so the EOF costs no
second reading of the file. The file is opened when its first segment is due, not at the put, so a
long queue of transactions does not hold a long list of open files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flight.cfdp.checksum import Checksum
from flight.cfdp.config import RemoteEntityConfig
from flight.cfdp.defs import (
    ChecksumType,
    ConditionCode,
    DeliveryCode,
    DirectiveCode,
    FileStatus,
    TransactionStatus,
)
from flight.cfdp.directives import (
    AckPdu,
    EofPdu,
    FinishedPdu,
    KeepAlivePdu,
    MetadataPdu,
    NakPdu,
)
from flight.cfdp.file_data import FileDataFramer
from flight.cfdp.filestore import ReadFile
from flight.cfdp.header import PduHeader
from flight.cfdp.pdu import Pdu
from flight.cfdp.ranges import Ranges
from flight.cfdp.status import IndicationKind, Phase, Role, TransactionId, TransferStatus
from flight.cfdp.tlv import Tlv
from flight.cfdp.transaction import Timer, Transaction

if TYPE_CHECKING:
    from flight.cfdp.entity import CfdpEntity


class SendTransaction(Transaction):
    role = Role.SENDER

    def __init__(
        self, entity: CfdpEntity, tid: TransactionId, remote: RemoteEntityConfig,
        header: PduHeader, size: int, segment_octets: int, source_file: str,
        destination_file: str, checksum_type: ChecksumType, closure_requested: bool,
        options: tuple[Tlv, ...],
    ) -> None:
        self.ack_timer = Timer()
        self.inactivity = Timer()
        super().__init__(entity, tid, remote, header, (self.ack_timer, self.inactivity))
        self.file: ReadFile | None = None
        self.size = size
        self.segment_octets = segment_octets
        self.framer = FileDataFramer(header)
        self.source_file = source_file
        self.destination_file = destination_file
        self.closure_requested = closure_requested or self.acknowledged
        self.checksum = Checksum(checksum_type)
        self.metadata_pdu = MetadataPdu(
            header, self.closure_requested, checksum_type, self.size, source_file,
            destination_file, options,
        ).pack()
        self.metadata_pending = True
        self.started = False
        self.next_offset = 0  # the first pass has sent [0, next_offset)
        self.retransmit = Ranges()
        self.eof: bytes | None = None
        self.ack_count = 0
        self.cancelling = False
        self.peer_progress = 0

    @property
    def closing(self) -> bool:
        return self.cancelling

    def progress(self) -> int:
        return self.next_offset

    # --- output -------------------------------------------------------------------------------

    def tick(self, now: float, budget: int | None) -> int:
        """Run timers and send up to `budget` file data PDUs (None: no limit); returns how many."""
        if self.suspended or self.phase == Phase.FINISHED:
            return 0
        if self.ack_timer.expired(now):
            self._ack_timeout(now)
        if self.inactivity.expired(now):
            self.inactivity.stop()
            if not self.declare_fault(ConditionCode.INACTIVITY_DETECTED, now):
                self.inactivity.start(now, self.remote.inactivity_timeout_s)
        if self.phase == Phase.FINISHED or self.suspended or self.cancelling:
            return 0
        self.started = True
        if self.metadata_pending:
            self.metadata_pending = False
            self.send(self.metadata_pdu)
        sent = 0
        retransmit = self.retransmit
        while retransmit and (budget is None or sent < budget):
            span = retransmit.pop_front(self.segment_octets)
            assert span is not None
            if not self._send_segment(span[0], span[1] - span[0], now):
                return sent
            sent += 1
            self.retransmitted_segments += 1
            self.entity.counters.retransmitted_segments += 1
        if self.phase != Phase.SENDING:
            return sent
        size, step = self.size, self.segment_octets
        while self.next_offset < size and (budget is None or sent < budget):
            offset = self.next_offset
            data = self._read(offset, min(step, size - offset), now)
            if data is None:
                return sent
            self.checksum.update(data, offset)
            self.next_offset = offset + len(data)
            self._emit_segment(offset, data)
            sent += 1
        if self.next_offset >= size:
            self._send_eof(ConditionCode.NO_ERROR, now)
        return sent

    def _read(self, offset: int, length: int, now: float) -> bytes | None:
        try:
            if self.file is None:
                self.file = self.entity.filestore.open_read(self.source_file)
            data = self.file.read(offset, length)
        except OSError:
            data = b""
        if len(data) != length:  # the file shrank or the store failed under us
            self.declare_fault(ConditionCode.FILESTORE_REJECTION, now)
            return None
        return data

    def _send_segment(self, offset: int, length: int, now: float) -> bool:
        data = self._read(offset, length, now)
        if data is None:
            return False
        self._emit_segment(offset, data)
        return True

    def _emit_segment(self, offset: int, data: bytes) -> None:
        self.send(self.framer.pack(offset, data))
        self.entity.counters.file_data_octets_sent += len(data)

    def _send_eof(self, condition: ConditionCode, now: float) -> None:
        cancel = condition != ConditionCode.NO_ERROR
        self.eof = EofPdu(
            self.header, condition, self.checksum.value,
            self.next_offset if cancel else self.size,
            self.entity.config.entity_id if cancel else None,
        ).pack()
        self.send(self.eof)
        self.indicate(IndicationKind.EOF_SENT, condition_code=condition, progress=self.next_offset)
        if self.acknowledged:
            self.phase = Phase.WAIT_EOF_ACK
            self.ack_count = 0
            self.ack_timer.start(now, self.remote.ack_timer_s)
        elif cancel:
            self.report_outcome()
            self.finish()
        elif self.closure_requested:
            self.phase = Phase.WAIT_FINISHED
            self.inactivity.start(now, self.remote.inactivity_timeout_s)
        else:
            self.delivery_code = None
            self.file_status = FileStatus.UNREPORTED
            self.report_outcome()
            self.finish()

    def _ack_timeout(self, now: float) -> None:
        self.ack_timer.stop()
        if self.ack_count >= self.remote.ack_limit:
            if not self.declare_fault(ConditionCode.POSITIVE_ACK_LIMIT_REACHED, now):
                self._eof_acknowledged(now)  # ignored: stop repeating, wait for the Finished
            return
        self.ack_count += 1
        self.ack_retries += 1
        assert self.eof is not None
        self.send(self.eof)
        self.ack_timer.start(now, self.remote.ack_timer_s)

    def _eof_acknowledged(self, now: float) -> None:
        self.ack_timer.stop()
        if self.cancelling:
            self.report_outcome()
            self.finish()
            return
        self.phase = Phase.WAIT_FINISHED
        self.inactivity.start(now, self.remote.inactivity_timeout_s)

    # --- input --------------------------------------------------------------------------------

    def on_pdu(self, pdu: Pdu, now: float) -> None:
        counters = self.entity.counters
        if self.phase == Phase.FINISHED:
            counters.ignored_pdus += 1
        elif isinstance(pdu, NakPdu):
            self._on_nak(pdu, now)
        elif isinstance(pdu, AckPdu):
            if pdu.acked_directive == DirectiveCode.EOF and self.phase == Phase.WAIT_EOF_ACK:
                self._eof_acknowledged(now)
            else:
                counters.ignored_pdus += 1
        elif isinstance(pdu, FinishedPdu):
            self._on_finished(pdu)
        elif isinstance(pdu, KeepAlivePdu):
            self._on_keep_alive(pdu, now)
        else:
            counters.ignored_pdus += 1

    def _on_nak(self, pdu: NakPdu, now: float) -> None:
        counters = self.entity.counters
        if not self.acknowledged or self.cancelling:
            counters.ignored_pdus += 1
            return
        self.naks += 1
        counters.naks_received += 1
        if self.inactivity.running:
            self.inactivity.start(now, self.remote.inactivity_timeout_s)
        for start, end in pdu.segment_requests:
            if start == 0 and end == 0:
                self.metadata_pending = True
            elif start < end <= self.size:
                self.retransmit.add(start, min(end, self.next_offset))
            else:
                counters.protocol_errors += 1

    def _on_finished(self, pdu: FinishedPdu) -> None:
        if self.acknowledged:
            self.send(AckPdu(self.header, DirectiveCode.FINISHED, pdu.condition_code,
                             TransactionStatus.ACTIVE).pack())
        if self.condition == ConditionCode.NO_ERROR:
            self.condition = pdu.condition_code
        self.delivery_code = pdu.delivery_code
        self.file_status = pdu.file_status
        self.report_outcome()
        self.finish()

    def _on_keep_alive(self, pdu: KeepAlivePdu, now: float) -> None:
        self.peer_progress = pdu.progress
        limit = self.remote.keep_alive_discrepancy_limit
        if limit is not None and self.next_offset - pdu.progress > limit:
            self.declare_fault(ConditionCode.KEEP_ALIVE_LIMIT_REACHED, now)

    # --- requests -----------------------------------------------------------------------------

    def cancel(self, condition: ConditionCode, now: float) -> bool:
        if self.cancelling or self.phase == Phase.FINISHED:
            return False
        self.condition = condition
        self.delivery_code = DeliveryCode.DATA_INCOMPLETE
        self.cancelling = True
        self.retransmit.clear()
        self.inactivity.stop()
        if not self.started:  # nothing went out: the receiver never heard of it
            self.report_outcome()
            self.finish()
            return True
        self._send_eof(condition, now)
        return True

    def resumed(self, now: float) -> None:
        if self.phase == Phase.WAIT_EOF_ACK and self.eof is not None:
            self.send(self.eof)
            self.ack_timer.start(now, self.remote.ack_timer_s)

    def release(self, keep_file: bool) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def finish(self) -> None:
        self.release(keep_file=True)
        super().finish()

    def status(self) -> TransferStatus:
        return TransferStatus(
            self.tid, Role.SENDER, self.remote.entity_id, self.header.transmission_mode,
            self.phase, self.suspended, self.next_offset, self.next_offset, self.size,
            self.source_file, self.destination_file, self.condition, self.delivery_code,
            self.file_status, self.naks, self.retransmitted_segments, self.ack_retries,
        )
