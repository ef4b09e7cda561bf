"""Faults the radio codecs reject input with.

Each is a `ValueError` that names the fault and carries the numbers. `counter` is the name the
driver counts it under, so a rejected frame shows up in telemetry without parsing messages.
"""

from __future__ import annotations


class RadioDecodeError(ValueError):
    """A frame that cannot be decoded."""

    counter = "malformed"


class KissFrameError(RadioDecodeError):
    """A KISS frame whose content is unusable (empty, or a command the host does not take)."""

    counter = "kiss_malformed"


class Ax25Error(RadioDecodeError):
    """An AX.25 frame or field that breaks the AX.25 2.2 rules we implement."""

    counter = "ax25_malformed"


class Ax25LengthError(Ax25Error):
    counter = "ax25_length"

    def __init__(self, what: str, expected: str, actual: int) -> None:
        super().__init__(f"AX.25 {what} is {actual} octets, expected {expected}")
        self.what = what
        self.expected = expected
        self.actual = actual


class Ax25AddressError(Ax25Error):
    """A callsign with a character outside A-Z 0-9, a bad length, or an SSID outside 0..15."""

    counter = "ax25_address"

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"AX.25 address {field} {value!r}: {reason}")
        self.field = field
        self.value = value


class Ax25ControlError(Ax25Error):
    """A frame that is not a UI frame (control 0x03, or 0x13 with the poll bit)."""

    counter = "ax25_not_ui"

    def __init__(self, control: int) -> None:
        super().__init__(f"AX.25 control field 0x{control:02X} is not UI (0x03 or 0x13)")
        self.control = control


class AtResponseError(RadioDecodeError):
    """A line from a SiK radio in command mode that does not parse as the expected answer."""

    counter = "at_unparsed"

    def __init__(self, command: str, line: str, reason: str) -> None:
        super().__init__(f"answer to {command!r}: {line!r} {reason}")
        self.command = command
        self.line = line
