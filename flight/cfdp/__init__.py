"""CFDP, the CCSDS File Delivery Protocol (727.0-B-5): PDU codecs and a class 1 / class 2 engine.

The engine is I/O-free: `CfdpEntity` takes PDUs as bytes, emits PDUs as bytes through a callback,
reads time from an injected `hal.clock.Clock` and files through a `Filestore`. See docs/cfdp.md.
"""

from flight.cfdp.checksum import Checksum, file_checksum
from flight.cfdp.config import DEFAULT_FAULT_HANDLERS, LocalEntityConfig, RemoteEntityConfig
from flight.cfdp.defs import (
    ChecksumType,
    ConditionCode,
    DeliveryCode,
    Direction,
    DirectiveCode,
    FaultHandlerAction,
    FileStatus,
    FilestoreAction,
    PduType,
    RecordContinuationState,
    ResponseRequired,
    SegmentationControl,
    TlvType,
    TransactionStatus,
    TransmissionMode,
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
from flight.cfdp.entity import CfdpEntity
from flight.cfdp.errors import (
    CfdpRequestError,
    FilestoreError,
    PduCrcError,
    PduError,
    PduFieldError,
    PduLengthError,
    PduTruncatedError,
    PduVersionError,
    UnknownDirectiveError,
    UnknownEntityError,
    UnknownTransactionError,
)
from flight.cfdp.file_data import FileDataPdu
from flight.cfdp.filestore import Filestore, MemoryFilestore, NativeFilestore
from flight.cfdp.header import PduHeader
from flight.cfdp.pdu import Pdu, decode_pdu
from flight.cfdp.status import (
    EntityCounters,
    Indication,
    IndicationKind,
    Phase,
    Role,
    TransactionId,
    TransferStatus,
)
from flight.cfdp.tlv import FaultHandlerOverride, FilestoreRequest, FilestoreResponse, Tlv

__all__ = [
    "DEFAULT_FAULT_HANDLERS",
    "AckPdu",
    "CfdpEntity",
    "CfdpRequestError",
    "Checksum",
    "ChecksumType",
    "ConditionCode",
    "DeliveryCode",
    "Direction",
    "DirectiveCode",
    "EntityCounters",
    "EofPdu",
    "FaultHandlerAction",
    "FaultHandlerOverride",
    "FileDataPdu",
    "FileStatus",
    "Filestore",
    "FilestoreAction",
    "FilestoreError",
    "FilestoreRequest",
    "FilestoreResponse",
    "FinishedPdu",
    "Indication",
    "IndicationKind",
    "KeepAlivePdu",
    "LocalEntityConfig",
    "MemoryFilestore",
    "MetadataPdu",
    "NakPdu",
    "NativeFilestore",
    "Pdu",
    "PduCrcError",
    "PduError",
    "PduFieldError",
    "PduHeader",
    "PduLengthError",
    "PduTruncatedError",
    "PduType",
    "PduVersionError",
    "Phase",
    "PromptPdu",
    "RecordContinuationState",
    "RemoteEntityConfig",
    "ResponseRequired",
    "Role",
    "SegmentationControl",
    "Tlv",
    "TlvType",
    "TransactionId",
    "TransactionStatus",
    "TransferStatus",
    "TransmissionMode",
    "UnknownDirectiveError",
    "UnknownEntityError",
    "UnknownTransactionError",
    "decode_pdu",
    "file_checksum",
]
