"""A CFDP entity: the transactions of one local entity ID, driven by PDUs and a clock.

The engine does no I/O of its own. The caller hands it every received PDU (`receive`), calls
`tick` regularly (timers, and file data sent at the pace the caller allows), and gets:

- PDUs to send through `send(remote_entity_id, pdu)`;
- indications (727.0-B-5 section 3.4) through `indication(Indication)`;
- counters (`counters`) and per-transaction status (`status`, `transfers`) to read as telemetry.

Files go through a `Filestore`; time comes from the injected `Clock` (`hal.clock`).

A PDU is routed by its direction bit: toward the receiver, it belongs to a transaction this
entity receives (keyed by source entity ID and sequence number, started by Metadata, or in class 2
by file data or EOF when the Metadata was lost); toward the sender, to a transaction this entity
sends. Finished transactions are remembered (`history_size` of them) so that late repeats are
answered (an EOF or Finished whose ACK was lost is acknowledged again, with status TERMINATED)
and, for `late_pdu_guard_s`, never start a new transaction. After that a PDU with the same
sequence number starts a new one (a remote entity that lost its counter in a reset); keep the
counter across resets (`first_seq_num`) all the same.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable

from flight.cfdp.checksum import SUPPORTED
from flight.cfdp.config import LocalEntityConfig, RemoteEntityConfig
from flight.cfdp.defs import (
    SMALL_FILE_LIMIT,
    ChecksumType,
    ConditionCode,
    Direction,
    DirectiveCode,
    ResponseRequired,
    TlvType,
    TransactionStatus,
    TransmissionMode,
)
from flight.cfdp.directives import AckPdu, EofPdu, FinishedPdu, MetadataPdu, PromptPdu
from flight.cfdp.errors import (
    CfdpRequestError,
    PduError,
    UnknownEntityError,
    UnknownTransactionError,
)
from flight.cfdp.file_data import FileDataPdu
from flight.cfdp.filestore import Filestore
from flight.cfdp.header import CRC_OCTETS, PduHeader, octets_for
from flight.cfdp.pdu import Pdu, decode_pdu
from flight.cfdp.receiver import ReceiveTransaction
from flight.cfdp.sender import SendTransaction
from flight.cfdp.status import (
    EntityCounters,
    Indication,
    IndicationKind,
    Role,
    TransactionId,
    TransferStatus,
)
from flight.cfdp.tlv import FaultHandlerOverride, FilestoreRequest, Tlv
from flight.cfdp.transaction import Transaction
from hal.clock import Clock

SendPdu = Callable[[int, bytes], None]
OnIndication = Callable[[Indication], None]


class CfdpEntity:
    def __init__(
        self,
        config: LocalEntityConfig,
        remotes: Iterable[RemoteEntityConfig],
        filestore: Filestore,
        clock: Clock,
        send: SendPdu,
        indication: OnIndication | None = None,
    ) -> None:
        self.config = config
        self.remotes = {r.entity_id: r for r in remotes}
        self.filestore = filestore
        self.clock = clock
        self.counters = EntityCounters()
        self._send = send
        self._indication = indication
        self._next_seq = config.first_seq_num
        self._senders: dict[int, SendTransaction] = {}
        self._receivers: dict[tuple[int, int], ReceiveTransaction] = {}
        # Finished transactions: final status and when they finished.
        self._history: OrderedDict[tuple[Role, int, int], tuple[TransferStatus, float]] = \
            OrderedDict()

    # --- requests -----------------------------------------------------------------------------

    def put(
        self,
        destination: int,
        source_file: str,
        destination_file: str,
        *,
        transmission_mode: TransmissionMode | None = None,
        closure_requested: bool | None = None,
        checksum_type: ChecksumType | None = None,
        filestore_requests: Iterable[FilestoreRequest] = (),
        messages_to_user: Iterable[bytes] = (),
        fault_handler_overrides: Iterable[FaultHandlerOverride] = (),
    ) -> TransactionId:
        """Start sending `source_file` (a filestore name) to `destination`; the Put.request.

        Options left as None come from the remote entity's configuration. Raises
        `UnknownEntityError`, `FilestoreError` (no such file) or `CfdpRequestError`.
        """
        remote = self.remotes.get(destination)
        if remote is None:
            raise UnknownEntityError(destination)
        mode = remote.transmission_mode if transmission_mode is None else transmission_mode
        ctype = remote.checksum_type if checksum_type is None else checksum_type
        if ctype not in SUPPORTED:
            raise CfdpRequestError(f"checksum type {ctype!r} is not supported for sending")
        options: tuple[Tlv, ...] = (
            tuple(r.to_tlv() for r in filestore_requests)
            + tuple(Tlv(TlvType.MESSAGE_TO_USER, m) for m in messages_to_user)
            + tuple(o.to_tlv() for o in fault_handler_overrides)
        )
        local = self.config
        seq = self._next_seq
        if seq in self._senders:
            raise CfdpRequestError(f"transaction sequence number {seq} is still in use")
        file = self.filestore.open_read(source_file)
        size = file.size
        file.close()
        header = PduHeader(
            Direction.TOWARD_RECEIVER, mode, local.entity_id, seq, destination,
            max(local.entity_id_length, octets_for(local.entity_id), octets_for(destination)),
            local.seq_num_length, remote.crc_on_pdus, size > SMALL_FILE_LIMIT,
        )
        overhead = header.octets + header.fss_octets + (CRC_OCTETS if header.crc else 0)
        segment = min(remote.max_file_segment_octets, remote.max_pdu_octets - overhead)
        if segment < 1:
            raise CfdpRequestError(
                f"max_pdu_octets {remote.max_pdu_octets} leaves no room for file data "
                f"after {overhead} octets of header")
        self._next_seq = (seq + 1) % (1 << (8 * local.seq_num_length))
        tid = TransactionId(local.entity_id, seq)
        closure = remote.closure_requested if closure_requested is None else closure_requested
        tx = SendTransaction(self, tid, remote, header, size, segment, source_file,
                             destination_file, ctype, closure, options)
        self._senders[seq] = tx
        self.counters.transactions_sent += 1
        tx.indicate(IndicationKind.TRANSACTION, source_file=source_file,
                    destination_file=destination_file)
        return tid

    def cancel(self, tid: TransactionId) -> bool:
        """Cancel.request: False if the transaction is already closing."""
        return self._find(tid).cancel(ConditionCode.CANCEL_REQUEST_RECEIVED,
                                      self.clock.monotonic())

    def suspend(self, tid: TransactionId) -> bool:
        """Suspend.request: timers freeze and nothing is sent until `resume`."""
        return self._find(tid).suspend(self.clock.monotonic(),
                                       ConditionCode.SUSPEND_REQUEST_RECEIVED)

    def resume(self, tid: TransactionId) -> bool:
        return self._find(tid).resume(self.clock.monotonic())

    def suspend_all(self) -> int:
        """Suspend every active transaction (loss of signal); returns how many were suspended."""
        now = self.clock.monotonic()
        return sum(tx.suspend(now, ConditionCode.SUSPEND_REQUEST_RECEIVED)
                   for tx in self._active())

    def resume_all(self) -> int:
        now = self.clock.monotonic()
        return sum(tx.resume(now) for tx in self._active())

    def prompt(self, tid: TransactionId, response: ResponseRequired) -> None:
        """Ask the receiver of a class 2 transaction this entity sends for a NAK or Keep Alive."""
        tx = self._find(tid)
        if not isinstance(tx, SendTransaction):
            raise CfdpRequestError(f"transaction {tid} is not sent by this entity")
        tx.send(PromptPdu(tx.header, response).pack())

    def report(self, tid: TransactionId) -> TransferStatus:
        """Report.request: the status of an active or remembered transaction."""
        tx = self._senders.get(tid.seq_num) if tid.source_entity_id == self.config.entity_id \
            else self._receivers.get((tid.source_entity_id, tid.seq_num))
        if tx is not None:
            status = tx.status()
            tx.indicate(IndicationKind.REPORT, condition_code=status.condition_code,
                        progress=status.progress)
            return status
        role = Role.SENDER if tid.source_entity_id == self.config.entity_id else Role.RECEIVER
        done = self._history.get((role, tid.source_entity_id, tid.seq_num))
        if done is None:
            raise UnknownTransactionError(tid)
        return done[0]

    def transfers(self) -> list[TransferStatus]:
        """Status of every active transaction (for telemetry)."""
        return [tx.status() for tx in self._active()]

    def history(self) -> list[TransferStatus]:
        """Final status of the remembered finished transactions, oldest first."""
        return [status for status, _ in self._history.values()]

    @property
    def idle(self) -> bool:
        return not self._senders and not self._receivers

    # --- driving ------------------------------------------------------------------------------

    def tick(self, max_file_data_pdus: int | None = None) -> int:
        """Run the timers and send file data, at most `max_file_data_pdus` PDUs of it (None: as
        many as the transactions have ready). Returns the number of file data PDUs sent."""
        now = self.clock.monotonic()
        for rx in list(self._receivers.values()):
            rx.tick(now)
        sent = 0
        for tx in list(self._senders.values()):
            budget = None if max_file_data_pdus is None else max_file_data_pdus - sent
            if budget is not None and budget <= 0:
                budget = 0
            sent += tx.tick(now, budget)
        return sent

    def receive(self, pdu: bytes) -> None:
        """Process one PDU from the link. Malformed or misaddressed PDUs are counted and dropped;
        nothing the link delivers raises."""
        counters = self.counters
        counters.pdus_received += 1
        try:
            decoded = decode_pdu(pdu)
        except PduError as e:
            counters.malformed_pdus += 1
            counters.malformed_by_reason[type(e).__name__] += 1
            return
        header = decoded.header
        now = self.clock.monotonic()
        if header.direction == Direction.TOWARD_RECEIVER:
            self._to_receiver(decoded, header, now)
        else:
            self._to_sender(decoded, header, now)

    def _to_receiver(self, pdu: Pdu, header: PduHeader, now: float) -> None:
        counters = self.counters
        remote = self.remotes.get(header.source_entity_id)
        if header.destination_entity_id != self.config.entity_id or remote is None:
            counters.misrouted_pdus += 1
            return
        key = (header.source_entity_id, header.transaction_seq_num)
        rx = self._receivers.get(key)
        if rx is None:
            rx = self._start_receiver(pdu, header, remote, key, now)
            if rx is None:
                return
        elif header.transmission_mode != rx.header.transmission_mode:
            counters.protocol_errors += 1
            return
        rx.on_pdu(pdu, now)

    def _start_receiver(self, pdu: Pdu, header: PduHeader, remote: RemoteEntityConfig,
                        key: tuple[int, int], now: float) -> ReceiveTransaction | None:
        counters = self.counters
        acknowledged = header.transmission_mode == TransmissionMode.ACKNOWLEDGED
        reply = header.toward(Direction.TOWARD_SENDER)
        if self._recently_finished((Role.RECEIVER, *key), now):
            if isinstance(pdu, EofPdu) and acknowledged:
                self.emit(remote.entity_id, AckPdu(reply, DirectiveCode.EOF, pdu.condition_code,
                                                   TransactionStatus.TERMINATED).pack())
            else:
                counters.ignored_pdus += 1  # a late copy from a finished transaction
            return None
        if isinstance(pdu, EofPdu) and pdu.condition_code != ConditionCode.NO_ERROR:
            if acknowledged:  # cancelled before anything of it reached us
                self.emit(remote.entity_id, AckPdu(reply, DirectiveCode.EOF, pdu.condition_code,
                                                   TransactionStatus.UNRECOGNIZED).pack())
            counters.unknown_transaction_pdus += 1
            return None
        if not isinstance(pdu, MetadataPdu | FileDataPdu | EofPdu):
            counters.unknown_transaction_pdus += 1
            return None
        try:
            partial = self.filestore.create_partial()
        except OSError:
            counters.protocol_errors += 1
            return None
        rx = ReceiveTransaction(self, TransactionId(*key), remote, reply, partial, now)
        self._receivers[key] = rx
        counters.transactions_received += 1
        return rx

    def _to_sender(self, pdu: Pdu, header: PduHeader, now: float) -> None:
        counters = self.counters
        if header.source_entity_id != self.config.entity_id:
            counters.misrouted_pdus += 1
            return
        tx = self._senders.get(header.transaction_seq_num)
        if tx is None or tx.remote.entity_id != header.destination_entity_id:
            done = self._recently_finished(
                (Role.SENDER, header.source_entity_id, header.transaction_seq_num), now)
            if (done and isinstance(pdu, FinishedPdu)
                    and header.transmission_mode == TransmissionMode.ACKNOWLEDGED):
                self.emit(header.destination_entity_id, AckPdu(
                    header.toward(Direction.TOWARD_RECEIVER), DirectiveCode.FINISHED,
                    pdu.condition_code, TransactionStatus.TERMINATED).pack())
            else:
                counters.unknown_transaction_pdus += 1
            return
        tx.on_pdu(pdu, now)

    # --- for the transactions -----------------------------------------------------------------

    def emit(self, remote_entity_id: int, pdu: bytes) -> None:
        self.counters.pdus_sent += 1
        self._send(remote_entity_id, pdu)

    def indicate(self, indication: Indication) -> None:
        if self._indication is not None:
            self._indication(indication)

    def retire(self, tx: Transaction) -> None:
        """A transaction finished: forget it, remember its final status."""
        if isinstance(tx, SendTransaction):
            self._senders.pop(tx.tid.seq_num, None)
        else:
            self._receivers.pop((tx.tid.source_entity_id, tx.tid.seq_num), None)
        if self.config.history_size:
            key = (tx.role, tx.tid.source_entity_id, tx.tid.seq_num)
            self._history[key] = (tx.status(), self.clock.monotonic())
            self._history.move_to_end(key)
            while len(self._history) > self.config.history_size:
                self._history.popitem(last=False)

    def _recently_finished(self, key: tuple[Role, int, int], now: float) -> bool:
        """True if the transaction finished less than `late_pdu_guard_s` ago: its PDUs still
        around are late copies, not a new transaction reusing the sequence number."""
        done = self._history.get(key)
        return done is not None and now - done[1] < self.config.late_pdu_guard_s

    def _active(self) -> list[Transaction]:
        return [*self._senders.values(), *self._receivers.values()]

    def _find(self, tid: TransactionId) -> Transaction:
        if tid.source_entity_id == self.config.entity_id:
            tx: Transaction | None = self._senders.get(tid.seq_num)
        else:
            tx = self._receivers.get((tid.source_entity_id, tid.seq_num))
        if tx is None:
            raise UnknownTransactionError(tid)
        return tx
