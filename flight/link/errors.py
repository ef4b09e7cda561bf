"""Exceptions of the space-link codecs: each names one fault and carries its numbers.

All are `ValueError`s (bad input, never a bug in the caller's program), so a link component can
catch `LinkError`, count the fault by its class and keep running.
"""

from __future__ import annotations


class LinkError(ValueError):
    """Malformed or unacceptable space-link data."""


class TruncatedError(LinkError):
    """Fewer octets than the header or the length field promises."""

    def __init__(self, what: str, needed: int, got: int) -> None:
        super().__init__(f"{what}: needs {needed} octets, got {got}")
        self.needed = needed
        self.got = got


class LengthMismatchError(LinkError):
    """The length field and the octets given disagree (an oversized or undersized unit)."""

    def __init__(self, what: str, declared: int, actual: int) -> None:
        super().__init__(f"{what}: length field says {declared} octets, got {actual}")
        self.declared = declared
        self.actual = actual


class OversizedError(LinkError):
    """More octets than the standard allows for this unit."""

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(f"{what}: {size} octets exceeds the maximum of {limit}")
        self.size = size
        self.limit = limit


class VersionError(LinkError):
    """A version number this codec does not implement."""

    def __init__(self, what: str, version: int, expected: int) -> None:
        super().__init__(f"{what}: version {version}, expected {expected}")
        self.version = version
        self.expected = expected


class ChecksumError(LinkError):
    """The frame error control field does not match the frame (a damaged frame)."""

    def __init__(self, what: str, received: int, computed: int) -> None:
        super().__init__(f"{what}: FECF {received:#06x}, computed {computed:#06x}")
        self.received = received
        self.computed = computed


class FieldValueError(LinkError):
    """A field holds a value its width or the standard does not allow."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        super().__init__(f"{field} = {value!r}: must be {allowed}")
        self.field = field
        self.value = value
        self.allowed = allowed


class WrongSpacecraftError(LinkError):
    def __init__(self, spacecraft_id: int, expected: int) -> None:
        super().__init__(f"frame for spacecraft {spacecraft_id}, this is {expected}")
        self.spacecraft_id = spacecraft_id
        self.expected = expected


class WrongVirtualChannelError(LinkError):
    def __init__(self, virtual_channel_id: int, known: frozenset[int] | set[int]) -> None:
        super().__init__(
            f"frame on virtual channel {virtual_channel_id}, configured: {sorted(known)}"
        )
        self.virtual_channel_id = virtual_channel_id
        self.known = frozenset(known)
