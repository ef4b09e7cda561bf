"""Commands written as text, compiled against the deployment's dictionary.

Sequences and bulk schedule tables are written by people, so they are text, one command a line:

    # image the target, then switch the payload off
    +0          imager.power true
    +2.5        imager.capture "lake-geneva" 3
    +00:01:00   imager.power false

    2025-03-20T10:42:07Z      imager.capture "lake-geneva" 3      # a schedule table line
    TAI:2120551364.5          cmd.no_op

A line is a time, a command name ("instance.command", as in the dictionary) and its arguments,
separated by blanks; ``#`` starts a comment. The time is relative (``+SECONDS``, ``+MM:SS``,
``+HH:MM:SS``, fractions allowed: the delay after the previous command) in a sequence and
absolute (ISO 8601 UTC, ``23:59:60`` on a leap-second day included, or ``TAI:SECONDS`` since
1958) in a schedule table. Arguments: integers in decimal or ``0x`` hex, floats, ``true`` and
``false``, strings in double quotes with JSON escapes (a bare word is a string too), enums by
member name or number, bytes as ``0x`` hex. Every argument is checked against the command's
declared type and range at compile time, so a malformed line is rejected at load with its line
number and the reason, and nothing of the text is used.

A sealed text ends with the line ``#crc32c XXXXXXXX``: the CRC-32C (`flight.codec.crc32c`) of
every octet before that line, so corruption between the ground's editor and the spacecraft is
caught before a single command runs (`seal`, `unseal`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from flight.codec import crc32c
from flight.runtime.errors import ArgumentError
from flight.runtime.records import Command
from flight.runtime.registry import CommandEntry
from flight.runtime.types import (
    BoolType,
    BytesType,
    EnumType,
    FieldType,
    FloatType,
    IntType,
    ScalarType,
    StringType,
)
from hal.time import TimeScaleError, utc_fields_to_tai

MAX_LINE_OCTETS: Final = 1024
CRC_PREFIX: Final = b"#crc32c "

_TOKEN: Final = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(\S+))')
_RELATIVE: Final = re.compile(r"\+(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?)")
_ISO_UTC: Final = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d(?:\.\d+)?)(?:Z|\+00:00)?"
)
_CRC_LINE: Final = re.compile(rb"#crc32c ([0-9A-Fa-f]{8})\r?\n?")


class CommandTextError(ValueError):
    """A command text that does not compile; names the source, the line and the reason."""

    def __init__(self, source: str, line: int, detail: str) -> None:
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {detail}")
        self.source = source
        self.line = line
        self.detail = detail


@dataclass(frozen=True)
class CommandLine:
    """One compiled line: its number, its time (delay in s, or TAI) and the checked command."""

    line: int
    time: float
    name: str
    command: Command


class TimeKind(IntEnum):
    RELATIVE = 0  # sequences: delay after the previous command
    ABSOLUTE = 1  # schedule tables: TAI seconds since 1958


def compile_text(
    text: str | bytes, commands: Mapping[str, CommandEntry], *, times: TimeKind,
    source: str = "<text>", max_lines: int = 10_000,
) -> list[CommandLine]:
    """Every command line of `text`, checked against `commands` (by name); raises
    `CommandTextError` at the first fault."""
    if isinstance(text, bytes):
        try:
            text = text.decode()
        except UnicodeDecodeError as exc:
            raise CommandTextError(source, 0, f"not UTF-8 text: {exc}") from None
    out: list[CommandLine] = []
    for number, raw in enumerate(text.split("\n"), start=1):  # not splitlines: \x85 is text
        raw = raw.removesuffix("\r")
        if len(raw.encode()) > MAX_LINE_OCTETS:
            raise CommandTextError(source, number, f"line of {len(raw.encode())} octets, at most "
                                                   f"{MAX_LINE_OCTETS}")
        tokens = _tokens(raw, source, number)
        if not tokens:
            continue
        if len(out) >= max_lines:
            raise CommandTextError(source, number, f"more than {max_lines} commands")
        if len(tokens) < 2:
            raise CommandTextError(source, number, "expected a time and a command name")
        (time_text, _), (name, quoted) = tokens[0], tokens[1]
        when = _time(time_text, times, source, number)
        entry = commands.get(name)
        if entry is None or quoted:
            raise CommandTextError(source, number, f"no command named {name!r} in the dictionary")
        types = entry.arg_types
        args = tokens[2:]
        if len(args) != len(types):
            names = ", ".join(entry.spec.args) or "no arguments"
            raise CommandTextError(source, number, f"{name} takes {len(types)} arguments "
                                                   f"({names}), got {len(args)}")
        values = []
        for i, ((token, quoted_arg), kind) in enumerate(zip(args, types, strict=True)):
            arg_name = list(entry.spec.args)[i]
            try:
                values.append(kind.check(_value(token, quoted_arg, kind)))
            except (ArgumentError, ValueError) as exc:
                detail = exc.detail if isinstance(exc, ArgumentError) else str(exc)
                raise CommandTextError(source, number, f"{name} argument {arg_name}: "
                                                       f"{detail}") from None
        out.append(CommandLine(number, when, name, Command(entry.opcode, tuple(values))))
    return out


def _tokens(raw: str, source: str, number: int) -> list[tuple[str, bool]]:
    """(token, was quoted) of a line, up to a comment."""
    tokens: list[tuple[str, bool]] = []
    pos = 0
    end = len(raw.rstrip())
    while pos < end:
        match = _TOKEN.match(raw, pos)
        if match is None or match.end() == pos:
            raise CommandTextError(source, number, f"cannot read from column {pos + 1} "
                                                   "(an unterminated string?)")
        quoted, bare = match.group(1), match.group(2)
        if bare is not None:
            if bare.startswith("#"):
                break
            if '"' in bare:
                raise CommandTextError(source, number,
                                       f"stray quote in {bare!r} (an unterminated string?)")
            tokens.append((bare, False))
        else:
            try:
                tokens.append((json.loads(f'"{quoted}"'), True))
            except ValueError as exc:
                raise CommandTextError(source, number, f"bad string escape: {exc}") from None
        pos = match.end()
    return tokens


def _time(text: str, kind: TimeKind, source: str, number: int) -> float:
    if kind is TimeKind.RELATIVE:
        match = _RELATIVE.fullmatch(text)
        if match is None:
            raise CommandTextError(source, number, f"time {text!r} is not a relative delay "
                                                   "(+SECONDS, +MM:SS or +HH:MM:SS)")
        first, second, seconds = match.groups()
        hours, minutes = (int(first), int(second)) if second is not None else (
            0, int(first) if first is not None else 0)
        if second is not None and minutes >= 60 or first is not None and float(seconds) >= 60:
            raise CommandTextError(source, number, f"time {text!r}: minutes and seconds "
                                                   "fields must be below 60")
        return hours * 3600 + minutes * 60 + float(seconds)
    if text.upper().startswith("TAI:"):
        try:
            value = float(text[4:])
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise CommandTextError(source, number, f"time {text!r} is not TAI:SECONDS")
        return value
    match = _ISO_UTC.fullmatch(text)
    if match is None:
        raise CommandTextError(source, number, f"time {text!r} is not ISO 8601 UTC "
                                               "(YYYY-MM-DDTHH:MM:SS[.f]Z) or TAI:SECONDS")
    y, mo, d, h, mi = (int(g) for g in match.groups()[:5])
    try:
        return utc_fields_to_tai(y, mo, d, h, mi, float(match.group(6)))
    except (TimeScaleError, ValueError) as exc:
        raise CommandTextError(source, number, f"time {text!r}: {exc}") from None


def _value(token: str, quoted: bool, kind: FieldType) -> Any:
    if isinstance(kind, StringType):
        return token
    if quoted and not isinstance(kind, ScalarType):
        raise ValueError(f"{kind.name} expected, got the string {token!r}")
    if isinstance(kind, EnumType):
        member = kind.enum.__members__.get(token)
        return member if member is not None else _integer(token)
    if isinstance(kind, IntType):
        return _integer(token)
    if isinstance(kind, FloatType):
        return _float(token)
    if isinstance(kind, BoolType):
        return _bool(token)
    if isinstance(kind, BytesType):
        if not token.lower().startswith("0x"):
            raise ValueError(f"bytes are written as 0x hex, got {token!r}")
        try:
            return bytes.fromhex(token[2:])
        except ValueError:
            raise ValueError(f"{token!r} is not an even number of hex digits") from None
    if isinstance(kind, ScalarType):
        if quoted:
            return token
        for convert in (_bool, _integer, _float):
            try:
                return convert(token)
            except ValueError:
                continue
        return token
    raise ValueError(f"type {kind.name} cannot be written as text")


def _integer(token: str) -> int:
    try:
        return int(token, 0)
    except ValueError:
        raise ValueError(f"{token!r} is not an integer") from None


def _float(token: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise ValueError(f"{token!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{token!r} is not a finite number")
    return value


def _bool(token: str) -> bool:
    lowered = token.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(f"{token!r} is not true or false")


def format_args(entry: CommandEntry, args: tuple[Any, ...]) -> str:
    """The arguments of a command as `compile_text` reads them back."""
    return " ".join(_format(kind, value) for kind, value in zip(entry.arg_types, args,
                                                                strict=True))


def _format(kind: FieldType, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, IntEnum):
        return value.name
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, str):
        return json.dumps(value)  # ASCII, with JSON escapes
    if isinstance(value, float):
        return repr(value)
    return str(value)


def seal(text: str | bytes) -> bytes:
    """`text` with the CRC-32C trailer line appended (a newline first if it lacks one)."""
    body = text.encode() if isinstance(text, str) else bytes(text)
    if body and not body.endswith(b"\n"):
        body += b"\n"
    return body + CRC_PREFIX + f"{crc32c(body):08X}\n".encode()


def unseal(data: bytes) -> tuple[bytes, int | None]:
    """(body, the CRC-32C it claims) of a possibly sealed text; raises `ValueError` if the
    trailer is there and the body does not match it."""
    start = data.rfind(b"\n" + CRC_PREFIX) + 1
    if start == 0 and not data.startswith(CRC_PREFIX):
        return data, None
    match = _CRC_LINE.fullmatch(data, start)
    if match is None:
        return data, None
    body = data[:start]
    claimed = int(match.group(1), 16)
    actual = crc32c(body)
    if actual != claimed:
        raise ValueError(f"CRC-32C 0x{actual:08X} of the text, its trailer says 0x{claimed:08X}")
    return body, claimed
