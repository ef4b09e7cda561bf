"""What the sending and receiving state machines share: timers that freeze while a transaction is
suspended, fault handling, indications and the route to the link.

Fault handling (727.0-B-5 section 4.8): a declared fault is counted and indicated, then handled as
the MIB (or the Metadata's fault handler overrides) says: cancel (notice of cancellation: the
sender sends EOF with the condition, the receiver a Finished), suspend, ignore (the caller carries
on) or abandon (stop at once, send nothing). A fault declared while the transaction is already
closing (its final handshake under way) abandons it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from flight.cfdp.config import RemoteEntityConfig
from flight.cfdp.defs import (
    ConditionCode,
    DeliveryCode,
    FaultHandlerAction,
    FileStatus,
    TransmissionMode,
)
from flight.cfdp.header import PduHeader
from flight.cfdp.status import (
    Indication,
    IndicationKind,
    Phase,
    Role,
    TransactionId,
    TransferStatus,
)

if TYPE_CHECKING:
    from flight.cfdp.entity import CfdpEntity


class Timer:
    """A deadline on the injected clock; frozen, it keeps its remaining time for `thaw`."""

    __slots__ = ("deadline", "remaining", "frozen")

    def __init__(self) -> None:
        self.deadline: float | None = None
        self.remaining: float | None = None
        self.frozen = False

    def start(self, now: float, interval: float) -> None:
        if self.frozen:
            self.remaining = interval
        else:
            self.deadline = now + interval

    def stop(self) -> None:
        self.deadline = None
        self.remaining = None

    def expired(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline

    @property
    def running(self) -> bool:
        return self.deadline is not None or self.remaining is not None

    def freeze(self, now: float) -> None:
        self.frozen = True
        if self.deadline is not None:
            self.remaining = max(0.0, self.deadline - now)
            self.deadline = None

    def thaw(self, now: float) -> None:
        self.frozen = False
        if self.remaining is not None:
            self.deadline = now + self.remaining
            self.remaining = None


class Transaction(ABC):
    role: Role

    def __init__(self, entity: CfdpEntity, tid: TransactionId, remote: RemoteEntityConfig,
                 header: PduHeader, timers: tuple[Timer, ...]) -> None:
        self.entity = entity
        self.tid = tid
        self.remote = remote
        self.header = header  # for the PDUs this end sends
        self.acknowledged = header.transmission_mode == TransmissionMode.ACKNOWLEDGED
        self.phase = Phase.SENDING
        self.suspended = False
        self.condition = ConditionCode.NO_ERROR
        self.delivery_code: DeliveryCode | None = None
        self.file_status: FileStatus | None = None
        self.fault_handlers = dict(entity.config.fault_handlers)
        self.timers = timers
        self.ack_retries = 0
        self.retransmitted_segments = 0
        self.naks = 0
        self.source_file = ""
        self.destination_file = ""
        self.outcome_reported = False

    @property
    @abstractmethod
    def closing(self) -> bool:
        """True once the transaction's outcome is decided and only its closing handshake runs."""

    @abstractmethod
    def cancel(self, condition: ConditionCode, now: float) -> bool:
        """Notice of cancellation with `condition`; False if there is nothing left to cancel."""

    @abstractmethod
    def resumed(self, now: float) -> None:
        """Catch up after a resume: send again what was held back while suspended."""

    @abstractmethod
    def progress(self) -> int:
        """Octets sent once (sender) or the end of the furthest segment received (receiver)."""

    @abstractmethod
    def status(self) -> TransferStatus:
        """A snapshot of the transaction for telemetry."""

    # --- shared -----------------------------------------------------------------------------

    def send(self, pdu: bytes) -> None:
        """Hand a PDU to the link; a suspended transaction sends nothing (resume catches up)."""
        if not self.suspended:
            self.entity.emit(self.remote.entity_id, pdu)

    def indicate(self, kind: IndicationKind, **fields: object) -> None:
        self.entity.indicate(Indication(kind, self.tid, self.role, **fields))  # type: ignore[arg-type]

    def suspend(self, now: float, condition: ConditionCode) -> bool:
        if self.suspended or self.phase == Phase.FINISHED:
            return False
        self.suspended = True
        for t in self.timers:
            t.freeze(now)
        self.indicate(IndicationKind.SUSPENDED, condition_code=condition,
                      progress=self.progress())
        return True

    def resume(self, now: float) -> bool:
        if not self.suspended or self.phase == Phase.FINISHED:
            return False
        self.suspended = False
        for t in self.timers:
            t.thaw(now)
        self.indicate(IndicationKind.RESUMED, progress=self.progress())
        self.resumed(now)
        return True

    def declare_fault(self, condition: ConditionCode, now: float) -> bool:
        """Declare a fault; returns False when its handler is IGNORE (the caller carries on)."""
        self.entity.counters.faults[condition] += 1
        self.indicate(IndicationKind.FAULT, condition_code=condition, progress=self.progress())
        action = self.fault_handlers.get(condition, FaultHandlerAction.CANCEL)
        if action == FaultHandlerAction.IGNORE:
            return False
        if self.closing or action == FaultHandlerAction.ABANDON:
            self.abandon(condition)
        elif action == FaultHandlerAction.SUSPEND:
            self.suspend(now, condition)
        else:
            self.cancel(condition, now)
        return True

    def abandon(self, condition: ConditionCode) -> None:
        if self.phase == Phase.FINISHED:
            return
        if self.condition == ConditionCode.NO_ERROR:
            self.condition = condition
        self.release(keep_file=False)
        self.indicate(IndicationKind.ABANDONED, condition_code=condition, progress=self.progress())
        if not self.outcome_reported:
            self.outcome_reported = True
            self.entity.counters.transactions_failed += 1
        self.finish()

    def report_outcome(self) -> None:
        """Transaction-Finished indication, once, when the outcome is known."""
        if self.outcome_reported:
            return
        self.outcome_reported = True
        counters = self.entity.counters
        if self.condition == ConditionCode.NO_ERROR:
            counters.transactions_completed += 1
        else:
            counters.transactions_failed += 1
        self.indicate(
            IndicationKind.TRANSACTION_FINISHED, condition_code=self.condition,
            progress=self.progress(), delivery_code=self.delivery_code,
            file_status=self.file_status, source_file=self.source_file,
            destination_file=self.destination_file,
        )

    @abstractmethod
    def release(self, keep_file: bool) -> None:
        """Close the transaction's file; a receiver discards its partial file unless kept."""

    def finish(self) -> None:
        for t in self.timers:
            t.stop()
        self.phase = Phase.FINISHED
        self.entity.retire(self)
