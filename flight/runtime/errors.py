"""Errors of the runtime, and the reason codes that command verification reports carry.

Bad input is a value error that names the fault and carries the numbers; a command that fails
carries a `ReasonCode`, the number the ground sees in the failed verification report.
"""

from __future__ import annotations

from enum import IntEnum


class ReasonCode(IntEnum):
    """Why a command failed (the failure code of a PUS service 1 report)."""

    OK = 0
    MALFORMED = 1  # the command bytes do not decode
    UNKNOWN_OPCODE = 2
    WRONG_ARG_COUNT = 3
    WRONG_ARG_TYPE = 4
    OUT_OF_RANGE = 5
    HANDLER_EXCEPTION = 6  # the handler raised something other than CommandError
    EXECUTION_FAILED = 7  # the handler refused or failed (CommandError)
    COMPONENT_UNAVAILABLE = 8  # the owning component is stopped or faulty
    BUSY = 9
    NOT_FOUND = 10  # the command names something (a parameter, a channel) that does not exist
    STORAGE_ERROR = 11


class RuntimeFault(Exception):
    """Base of the runtime's own errors."""


class CommandError(RuntimeFault, ValueError):
    """A command that cannot be executed; `reason` goes into the failed verification report."""

    def __init__(self, reason: ReasonCode, detail: str) -> None:
        super().__init__(f"{reason.name}: {detail}")
        self.reason = reason
        self.detail = detail


class ArgumentError(CommandError):
    """A command argument of the wrong type or out of range."""

    def __init__(
        self, reason: ReasonCode, detail: str, *, value: object = None, low: object = None,
        high: object = None,
    ) -> None:
        super().__init__(reason, detail)
        self.value = value
        self.low = low
        self.high = high


class DecodeError(RuntimeFault, ValueError):
    """Bytes that do not decode as the record they claim to be (command, event, telemetry)."""

    def __init__(self, what: str, detail: str, *, length: int | None = None) -> None:
        super().__init__(f"malformed {what}: {detail}")
        self.what = what
        self.detail = detail
        self.length = length


class ConfigError(RuntimeFault, ValueError):
    """A component's configuration is wrong; `key` is the dotted path of the offending key and
    `component` the instance it belongs to (set by the runtime)."""

    def __init__(self, key: str, detail: str, *, component: str | None = None) -> None:
        where = f"{component}: " if component else ""
        super().__init__(f"{where}{key}: {detail}")
        self.key = key
        self.detail = detail
        self.component = component

    def within(self, component: str) -> ConfigError:
        """The same error, attributed to `component` (unless already attributed)."""
        if self.component is not None:
            return self
        return ConfigError(self.key, self.detail, component=component)


class DeclarationError(RuntimeFault, TypeError):
    """A component class declares something inconsistent (duplicate IDs, bad handler signature)."""
