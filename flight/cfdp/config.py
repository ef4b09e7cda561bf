"""The management information base (727.0-B-5 section 8): what the local entity is and how it
talks to each remote entity. Mission defaults here; a deployment overrides them per remote."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from flight.cfdp.defs import (
    MAX_ID_OCTETS,
    ChecksumType,
    ConditionCode,
    FaultHandlerAction,
    TransmissionMode,
)

# Every fault cancels the transaction unless the mission says otherwise (the standard's default).
DEFAULT_FAULT_HANDLERS: Final[Mapping[ConditionCode, FaultHandlerAction]] = MappingProxyType({
    c: FaultHandlerAction.CANCEL
    for c in ConditionCode
    if c not in (ConditionCode.NO_ERROR, ConditionCode.SUSPEND_REQUEST_RECEIVED,
                 ConditionCode.CANCEL_REQUEST_RECEIVED)
})


@dataclass(frozen=True, slots=True)
class RemoteEntityConfig:
    """How to talk to one remote entity. Times in seconds of the injected clock."""

    entity_id: int
    transmission_mode: TransmissionMode = TransmissionMode.ACKNOWLEDGED
    closure_requested: bool = True  # class 1: ask the receiver for a Finished PDU
    checksum_type: ChecksumType = ChecksumType.MODULAR
    crc_on_pdus: bool = False
    max_file_segment_octets: int = 1024
    max_pdu_octets: int = 2048  # bounds file data and NAK PDUs (more gaps: more NAK PDUs)
    immediate_nak: bool = True  # NAK a gap as soon as it is seen, not only after EOF
    ack_timer_s: float = 10.0
    ack_limit: int = 5  # expirations of the positive ACK timer before the fault
    nak_timer_s: float = 10.0
    nak_limit: int = 5
    inactivity_timeout_s: float = 120.0
    check_timer_s: float = 10.0  # class 1: how long to wait for data overtaken by the EOF
    check_limit: int = 2
    keep_alive_interval_s: float | None = None  # class 2 receiver: unsolicited Keep Alive period
    keep_alive_discrepancy_limit: int | None = None  # sender: octets it may run ahead of receiver

    def __post_init__(self) -> None:
        if not 0 <= self.entity_id < 1 << (8 * MAX_ID_OCTETS):
            raise ValueError(f"entity ID {self.entity_id} does not fit in 8 octets")
        if self.max_file_segment_octets < 1:
            raise ValueError(f"max_file_segment_octets {self.max_file_segment_octets} < 1")
        for name in ("ack_timer_s", "nak_timer_s", "inactivity_timeout_s", "check_timer_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("ack_limit", "nak_limit", "check_limit"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class LocalEntityConfig:
    entity_id: int
    entity_id_length: int = 2  # octets on the wire (widened when an ID needs more)
    seq_num_length: int = 4
    first_seq_num: int = 0  # restore the counter across resets so IDs are not reused
    fault_handlers: Mapping[ConditionCode, FaultHandlerAction] = field(
        default_factory=lambda: DEFAULT_FAULT_HANDLERS
    )
    file_segment_indications: bool = False  # one indication per file data PDU received
    history_size: int = 256  # finished transactions remembered (status queries, late PDUs)
    late_pdu_guard_s: float = 600.0  # PDUs of a transaction finished this recently are late copies
    max_file_octets: int = 1 << 32  # received data beyond this is refused (file size error)

    def __post_init__(self) -> None:
        for name in ("entity_id_length", "seq_num_length"):
            n = getattr(self, name)
            if not 1 <= n <= MAX_ID_OCTETS:
                raise ValueError(f"{name} {n} must be 1..{MAX_ID_OCTETS} octets")
        if not 0 <= self.entity_id < 1 << (8 * MAX_ID_OCTETS):
            raise ValueError(f"entity ID {self.entity_id} does not fit in 8 octets")
        if self.history_size < 0:
            raise ValueError(f"history_size {self.history_size} must be >= 0")
