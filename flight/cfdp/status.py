"""What the engine tells its user: indications (727.0-B-5 section 3.4), per-transaction status for
telemetry, and the entity's counters. All plain values, so a runtime component can turn them into
events and telemetry channels without this package knowing about either."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import IntEnum

from flight.cfdp.defs import (
    ConditionCode,
    DeliveryCode,
    FileStatus,
    TransmissionMode,
)


@dataclass(frozen=True, slots=True, order=True)
class TransactionId:
    source_entity_id: int
    seq_num: int

    def __str__(self) -> str:
        return f"{self.source_entity_id}:{self.seq_num}"


class Role(IntEnum):
    SENDER = 0
    RECEIVER = 1


class Phase(IntEnum):
    SENDING = 0  # metadata and file data going out (and retransmissions)
    WAIT_EOF_ACK = 1  # class 2 sender: EOF sent, positive ACK timer running
    WAIT_FINISHED = 2  # sender: EOF acknowledged (class 2) or closure requested (class 1)
    RECEIVING = 3
    WAIT_FINISHED_ACK = 4  # class 2 receiver: Finished sent, positive ACK timer running
    FINISHED = 5


class IndicationKind(IntEnum):
    TRANSACTION = 0  # a put started a transaction (sender)
    EOF_SENT = 1
    TRANSACTION_FINISHED = 2
    METADATA_RECV = 3
    FILE_SEGMENT_RECV = 4
    REPORT = 5
    SUSPENDED = 6
    RESUMED = 7
    FAULT = 8
    ABANDONED = 9
    EOF_RECV = 10


@dataclass(frozen=True, slots=True)
class Indication:
    kind: IndicationKind
    transaction: TransactionId
    role: Role
    condition_code: ConditionCode = ConditionCode.NO_ERROR
    progress: int = 0
    delivery_code: DeliveryCode | None = None
    file_status: FileStatus | None = None
    source_file: str = ""
    destination_file: str = ""
    offset: int = 0  # FILE_SEGMENT_RECV
    length: int = 0


@dataclass(frozen=True, slots=True)
class TransferStatus:
    """A snapshot of one transaction, for telemetry and the ground station's display."""

    transaction: TransactionId
    role: Role
    remote_entity_id: int
    transmission_mode: TransmissionMode
    phase: Phase
    suspended: bool
    progress: int  # sender: octets sent once; receiver: end of the furthest segment received
    received_octets: int  # receiver: octets actually held (progress minus gaps)
    file_size: int | None  # None while a receiver knows neither Metadata nor EOF
    source_file: str
    destination_file: str
    condition_code: ConditionCode
    delivery_code: DeliveryCode | None
    file_status: FileStatus | None
    naks: int  # NAK PDUs sent (receiver) or received (sender)
    retransmitted_segments: int
    ack_retries: int


@dataclass(slots=True)
class EntityCounters:
    """Counters of one entity since it started; read them as telemetry."""

    pdus_received: int = 0
    pdus_sent: int = 0
    malformed_pdus: int = 0
    malformed_by_reason: Counter[str] = field(default_factory=Counter)
    misrouted_pdus: int = 0  # not addressed to this entity, or from an entity not in the MIB
    unknown_transaction_pdus: int = 0
    ignored_pdus: int = 0  # valid but meaningless in the transaction's state
    protocol_errors: int = 0  # a peer's PDU that breaks the protocol (NAK beyond the file, ...)
    file_data_octets_sent: int = 0
    file_data_octets_received: int = 0
    retransmitted_segments: int = 0
    naks_sent: int = 0
    naks_received: int = 0
    transactions_sent: int = 0
    transactions_received: int = 0
    transactions_completed: int = 0  # finished with NO_ERROR
    transactions_failed: int = 0  # cancelled, abandoned or faulted
    faults: Counter[ConditionCode] = field(default_factory=Counter)
