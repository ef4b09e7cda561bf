"""Exceptions of the CFDP codecs and engine: each names one fault and carries its numbers.

Codec faults are `PduError`s (a `ValueError`: bad input from the link, never a bug in the
caller), so the engine catches `PduError`, counts it by class name and keeps running. Misuse of
the engine's API (a put to an entity the MIB does not know, a file that does not exist) raises a
`CfdpRequestError`.
"""

from __future__ import annotations


class PduError(ValueError):
    """A malformed or unacceptable PDU."""


class PduTruncatedError(PduError):
    """Fewer octets than a header, field or length promises."""

    def __init__(self, what: str, needed: int, got: int) -> None:
        super().__init__(f"{what}: needs {needed} octets, got {got}")
        self.what = what
        self.needed = needed
        self.got = got


class PduLengthError(PduError):
    """The PDU data field length and the octets given disagree."""

    def __init__(self, what: str, declared: int, actual: int) -> None:
        super().__init__(f"{what}: length field says {declared} octets, got {actual}")
        self.what = what
        self.declared = declared
        self.actual = actual


class PduVersionError(PduError):
    def __init__(self, version: int, expected: int) -> None:
        super().__init__(f"CFDP version {version}, expected {expected}")
        self.version = version
        self.expected = expected


class PduCrcError(PduError):
    """The PDU's CRC-16 does not match its content (a damaged PDU)."""

    def __init__(self, received: int, computed: int) -> None:
        super().__init__(f"PDU CRC {received:#06x}, computed {computed:#06x}")
        self.received = received
        self.computed = computed


class PduFieldError(PduError):
    """A field holds a value its width or the standard does not allow."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        super().__init__(f"{field} = {value!r}: must be {allowed}")
        self.field = field
        self.value = value
        self.allowed = allowed


class UnknownDirectiveError(PduError):
    def __init__(self, code: int) -> None:
        super().__init__(f"file directive code {code:#04x} is not a CFDP directive")
        self.code = code


class CfdpRequestError(Exception):
    """A request to the engine that cannot be carried out (the caller's mistake, not the link's)."""


class UnknownEntityError(CfdpRequestError, KeyError):
    def __init__(self, entity_id: int) -> None:
        super().__init__(f"no remote entity {entity_id} in the MIB")
        self.entity_id = entity_id

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownTransactionError(CfdpRequestError, KeyError):
    def __init__(self, transaction: object) -> None:
        super().__init__(f"no active transaction {transaction}")
        self.transaction = transaction

    def __str__(self) -> str:
        return str(self.args[0])


class FilestoreError(OSError):
    """The filestore refused an operation (a name outside its root, a missing file, a full disk)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"filestore: {name!r}: {reason}")
        self.name = name
        self.reason = reason
