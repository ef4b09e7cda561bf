"""Wire values of CFDP (CCSDS 727.0-B-5) and the checksum types of the SANA registry.

Every field that travels in a PDU is an `IntEnum` here; the numbers are the standard's.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

CFDP_VERSION: Final[int] = 0b001  # 727.0-B-4 and -B-5 ("version 2" of the protocol)
MAX_ID_OCTETS: Final[int] = 8  # entity IDs and transaction sequence numbers: 1..8 octets
SMALL_FILE_LIMIT: Final[int] = (1 << 32) - 1  # larger files need the large file flag


class PduType(IntEnum):
    FILE_DIRECTIVE = 0
    FILE_DATA = 1


class Direction(IntEnum):
    TOWARD_RECEIVER = 0
    TOWARD_SENDER = 1


class TransmissionMode(IntEnum):
    """Class 2 is ACKNOWLEDGED, class 1 UNACKNOWLEDGED (the wire bit is 0 for acknowledged)."""

    ACKNOWLEDGED = 0
    UNACKNOWLEDGED = 1


class DirectiveCode(IntEnum):
    EOF = 0x04
    FINISHED = 0x05
    ACK = 0x06
    METADATA = 0x07
    NAK = 0x08
    PROMPT = 0x09
    KEEP_ALIVE = 0x0C


class ConditionCode(IntEnum):
    NO_ERROR = 0b0000
    POSITIVE_ACK_LIMIT_REACHED = 0b0001
    KEEP_ALIVE_LIMIT_REACHED = 0b0010
    INVALID_TRANSMISSION_MODE = 0b0011
    FILESTORE_REJECTION = 0b0100
    FILE_CHECKSUM_FAILURE = 0b0101
    FILE_SIZE_ERROR = 0b0110
    NAK_LIMIT_REACHED = 0b0111
    INACTIVITY_DETECTED = 0b1000
    INVALID_FILE_STRUCTURE = 0b1001
    CHECK_LIMIT_REACHED = 0b1010
    UNSUPPORTED_CHECKSUM_TYPE = 0b1011
    SUSPEND_REQUEST_RECEIVED = 0b1110
    CANCEL_REQUEST_RECEIVED = 0b1111


class ChecksumType(IntEnum):
    """SANA "checksum identifiers" registry, as CFDP's Metadata PDU carries them."""

    MODULAR = 0  # the legacy CFDP checksum: sum of big-endian 32-bit words, modulo 2**32
    CRC32_PROXIMITY1 = 1  # CRC-32 of Proximity-1 (211.2-B)
    CRC32C = 2  # Castagnoli
    CRC32 = 3  # IEEE 802.3 (zlib.crc32)
    NULL = 15


class DeliveryCode(IntEnum):
    DATA_COMPLETE = 0
    DATA_INCOMPLETE = 1


class FileStatus(IntEnum):
    DISCARDED_DELIBERATELY = 0b00
    DISCARDED_FILESTORE_REJECTION = 0b01
    RETAINED = 0b10
    UNREPORTED = 0b11


class TransactionStatus(IntEnum):
    """Carried in ACK PDUs: the acknowledging entity's knowledge of the transaction."""

    UNDEFINED = 0b00
    ACTIVE = 0b01
    TERMINATED = 0b10
    UNRECOGNIZED = 0b11


class ResponseRequired(IntEnum):
    """Prompt PDU: what the receiver should answer with."""

    NAK = 0
    KEEP_ALIVE = 1


class SegmentationControl(IntEnum):
    NOT_PRESERVED = 0
    PRESERVED = 1


class RecordContinuationState(IntEnum):
    """File data segment metadata: where the segment sits relative to record boundaries."""

    NEITHER = 0b00
    START = 0b01
    END = 0b10
    START_AND_END = 0b11


class TlvType(IntEnum):
    FILESTORE_REQUEST = 0x00
    FILESTORE_RESPONSE = 0x01
    MESSAGE_TO_USER = 0x02
    FAULT_HANDLER_OVERRIDE = 0x04
    FLOW_LABEL = 0x05
    ENTITY_ID = 0x06


class FilestoreAction(IntEnum):
    CREATE_FILE = 0
    DELETE_FILE = 1
    RENAME_FILE = 2
    APPEND_FILE = 3
    REPLACE_FILE = 4
    CREATE_DIRECTORY = 5
    REMOVE_DIRECTORY = 6
    DENY_FILE = 7
    DENY_DIRECTORY = 8


class FaultHandlerAction(IntEnum):
    """What an entity does when it declares a fault (codes of the fault handler override TLV)."""

    CANCEL = 0b0001  # notice of cancellation
    SUSPEND = 0b0010  # notice of suspension
    IGNORE = 0b0011
    ABANDON = 0b0100


ACK_SUBTYPE_FINISHED: Final[int] = 0b0001  # directive subtype code when ACKing a Finished PDU
