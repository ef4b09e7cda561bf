"""Faults the GNSS decoders reject input with.

Each is a `ValueError` that names the fault and carries the numbers; the stream decoder catches
them, counts them under `counter`, and carries on with the next frame.
"""

from __future__ import annotations


class GnssDecodeError(ValueError):
    """A frame or sentence that cannot be decoded."""

    counter = "malformed"


class NmeaChecksumError(GnssDecodeError):
    counter = "nmea_bad_checksum"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"NMEA checksum {actual:02X}, computed {expected:02X}")
        self.expected = expected
        self.actual = actual


class NmeaFieldError(GnssDecodeError):
    counter = "nmea_bad_field"

    def __init__(self, sentence: str, index: int, value: bytes, reason: str) -> None:
        super().__init__(f"{sentence} field {index} = {value!r}: {reason}")
        self.sentence = sentence
        self.index = index
        self.value = value


class NmeaLengthError(GnssDecodeError):
    counter = "nmea_short"

    def __init__(self, sentence: str, expected: int, actual: int) -> None:
        super().__init__(f"{sentence} has {actual} fields, needs at least {expected}")
        self.sentence = sentence
        self.expected = expected
        self.actual = actual


class UbxChecksumError(GnssDecodeError):
    counter = "ubx_bad_checksum"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"UBX checksum {actual:04X}, computed {expected:04X}")
        self.expected = expected
        self.actual = actual


class UbxLengthError(GnssDecodeError):
    counter = "ubx_bad_length"

    def __init__(self, message: str, expected: int, actual: int) -> None:
        super().__init__(f"{message} payload is {actual} octets, expected {expected}")
        self.message = message
        self.expected = expected
        self.actual = actual
