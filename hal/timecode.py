"""CCSDS time codes (301.0-B-4): CUC (unsegmented) and CDS (day segmented).

Both work on seconds since the code's epoch on the TAI scale: the CCSDS epoch 1958-01-01T00:00:00
TAI, or an agency-defined epoch, which the P-field announces and the caller interprets. TAI has no
leap seconds, so `seconds // 86400` is the CDS day count with no table.

Encoders truncate to the code's resolution (a time code names the tick that has started, like a
hardware counter); decoders return a float and the number of octets consumed, so a decoder can walk
a packet's secondary header. A float holds 53 significant bits: 4 coarse + 3 fine CUC octets
(56 bits) and CDS picoseconds decode to the nearest representable float, not exactly.

Every malformed or out-of-range input raises a `TimeCodeError` subclass that carries the numbers.
"""

from __future__ import annotations

import math
from enum import IntEnum
from fractions import Fraction
from typing import Final

SECONDS_PER_DAY: Final[int] = 86_400
MS_PER_DAY: Final[int] = SECONDS_PER_DAY * 1000
#: 1958-01-01 minus 1970-01-01 in days: add to a CDS day count to get a day count from 1970.
CCSDS_TO_UNIX_DAYS: Final[int] = -4383
#: The CCSDS epoch counted in seconds from 1970-01-01 (both read on the same, leap-free scale).
CCSDS_EPOCH_OFFSET_FROM_1970_S: Final[int] = CCSDS_TO_UNIX_DAYS * SECONDS_PER_DAY

_PFIELD_EXTENSION: Final[int] = 0x80
_CUC_MAX_COARSE: Final[int] = 4
_CUC_MAX_FINE: Final[int] = 3
_CDS_LEAP_MS_OF_DAY: Final[int] = MS_PER_DAY + 999  # a leap second's day on a UTC-based epoch


class TimeCodeId(IntEnum):
    """Bits 1-3 of the P-field."""

    CUC_CCSDS_EPOCH = 0b001
    CUC_AGENCY_EPOCH = 0b010
    CDS = 0b100


class Epoch(IntEnum):
    CCSDS = 0  # 1958-01-01 TAI
    AGENCY = 1


class TimeCodeError(ValueError):
    """A time code that cannot be encoded or decoded as asked."""


class TimeCodeTooShortError(TimeCodeError):
    def __init__(self, needed: int, got: int) -> None:
        super().__init__(f"time code needs {needed} octets, got {got}")
        self.needed = needed
        self.got = got


class TimeCodeFormatError(TimeCodeError):
    """The P-field names a code, epoch or layout this decoder was not asked for or cannot read."""

    def __init__(self, message: str, pfield: int | None = None) -> None:
        super().__init__(message)
        self.pfield = pfield


class TimeCodeRangeError(TimeCodeError):
    """A time outside what the chosen field widths hold, or a field value the standard forbids."""

    def __init__(self, message: str, value: object, limit: object) -> None:
        super().__init__(message)
        self.value = value
        self.limit = limit


def _ticks(seconds: float | int | Fraction, fine_bits: int) -> int:
    if isinstance(seconds, float) and not math.isfinite(seconds):
        raise TimeCodeRangeError(f"time {seconds} is not finite", seconds, None)
    return math.floor(Fraction(seconds) * (1 << fine_bits))


# ---------------------------------------------------------------- CUC


def cuc_pfield(coarse_octets: int = 4, fine_octets: int = 2, epoch: Epoch = Epoch.CCSDS) -> int:
    """The one-octet P-field of a CUC with these widths."""
    _check_cuc_widths(coarse_octets, fine_octets)
    code = TimeCodeId.CUC_AGENCY_EPOCH if epoch == Epoch.AGENCY else TimeCodeId.CUC_CCSDS_EPOCH
    return (code << 4) | ((coarse_octets - 1) << 2) | fine_octets


def _check_cuc_widths(coarse_octets: int, fine_octets: int) -> None:
    if not 1 <= coarse_octets <= _CUC_MAX_COARSE:
        raise TimeCodeRangeError(
            f"CUC coarse time is 1-{_CUC_MAX_COARSE} octets, not {coarse_octets}",
            coarse_octets, _CUC_MAX_COARSE,
        )
    if not 0 <= fine_octets <= _CUC_MAX_FINE:
        raise TimeCodeRangeError(
            f"CUC fine time is 0-{_CUC_MAX_FINE} octets, not {fine_octets}",
            fine_octets, _CUC_MAX_FINE,
        )


def encode_cuc(
    seconds: float | int | Fraction,
    *,
    coarse_octets: int = 4,
    fine_octets: int = 2,
    epoch: Epoch = Epoch.CCSDS,
    pfield: bool = True,
) -> bytes:
    """CUC of `seconds` since the epoch: [P-field] coarse seconds, then binary fractions."""
    _check_cuc_widths(coarse_octets, fine_octets)
    fine_bits = 8 * fine_octets
    ticks = _ticks(seconds, fine_bits)
    limit = 1 << (8 * (coarse_octets + fine_octets))
    if not 0 <= ticks < limit:
        raise TimeCodeRangeError(
            f"time {float(seconds)} s does not fit a CUC of {coarse_octets} coarse octets "
            f"(0 to {limit >> fine_bits} s)",
            seconds, limit >> fine_bits,
        )
    t_field = ticks.to_bytes(coarse_octets + fine_octets, "big")
    if pfield:
        return bytes((cuc_pfield(coarse_octets, fine_octets, epoch),)) + t_field
    return t_field


def decode_cuc(
    data: bytes | bytearray | memoryview,
    *,
    pfield: bool = True,
    coarse_octets: int = 4,
    fine_octets: int = 2,
    epoch: Epoch | None = None,
) -> tuple[float, int]:
    """(seconds since the epoch, octets consumed) from a CUC at the start of `data`.

    With `pfield` the widths come from the P-field (the arguments are ignored) and, if `epoch` is
    given, the P-field must name it. Without, the CUC is implicit: T-field only, widths as given.
    """
    offset = 0
    if pfield:
        if len(data) < 1:
            raise TimeCodeTooShortError(1, 0)
        p = data[0]
        if p & _PFIELD_EXTENSION:
            raise TimeCodeFormatError(
                f"CUC P-field {p:#04x} has the extension flag set (more than "
                f"{_CUC_MAX_COARSE} coarse or {_CUC_MAX_FINE} fine octets): unsupported", p,
            )
        code = (p >> 4) & 0b111
        if code == TimeCodeId.CUC_CCSDS_EPOCH:
            found = Epoch.CCSDS
        elif code == TimeCodeId.CUC_AGENCY_EPOCH:
            found = Epoch.AGENCY
        else:
            raise TimeCodeFormatError(f"P-field {p:#04x} names time code {code:#05b}, not CUC", p)
        if epoch is not None and found != epoch:
            raise TimeCodeFormatError(
                f"CUC P-field {p:#04x} names the {found.name} epoch, expected {epoch.name}", p
            )
        coarse_octets, fine_octets = ((p >> 2) & 0b11) + 1, p & 0b11
        offset = 1
    else:
        _check_cuc_widths(coarse_octets, fine_octets)
    end = offset + coarse_octets + fine_octets
    if len(data) < end:
        raise TimeCodeTooShortError(end, len(data))
    ticks = int.from_bytes(data[offset:end], "big")
    return ticks / (1 << (8 * fine_octets)), end


# ---------------------------------------------------------------- CDS

_CDS_SUBMS_OCTETS: Final[dict[int, int]] = {0: 0, 2: 1, 4: 2}  # octets -> P-field code
_CDS_SUBMS_PER_MS: Final[dict[int, int]] = {0: 1, 2: 1000, 4: 1_000_000_000}  # us or ps per ms


def cds_pfield(
    day_octets: int = 2, submillisecond_octets: int = 0, epoch: Epoch = Epoch.CCSDS
) -> int:
    """The one-octet P-field of a CDS with these widths."""
    _check_cds_widths(day_octets, submillisecond_octets)
    return (
        (TimeCodeId.CDS << 4)
        | (int(epoch) << 3)
        | ((day_octets == 3) << 2)
        | _CDS_SUBMS_OCTETS[submillisecond_octets]
    )


def _check_cds_widths(day_octets: int, submillisecond_octets: int) -> None:
    if day_octets not in (2, 3):
        raise TimeCodeRangeError(f"CDS day is 2 or 3 octets, not {day_octets}", day_octets, 3)
    if submillisecond_octets not in _CDS_SUBMS_OCTETS:
        raise TimeCodeRangeError(
            f"CDS sub-millisecond field is 0, 2 (us) or 4 (ps) octets, not {submillisecond_octets}",
            submillisecond_octets, 4,
        )


def encode_cds(
    seconds: float | int | Fraction,
    *,
    day_octets: int = 2,
    submillisecond_octets: int = 0,
    epoch: Epoch = Epoch.CCSDS,
    pfield: bool = True,
) -> bytes:
    """CDS of `seconds` since the epoch: [P-field] day, ms of day (32 bits), [us or ps of ms]."""
    _check_cds_widths(day_octets, submillisecond_octets)
    per_ms = _CDS_SUBMS_PER_MS[submillisecond_octets]
    if isinstance(seconds, float) and not math.isfinite(seconds):
        raise TimeCodeRangeError(f"time {seconds} is not finite", seconds, None)
    units = math.floor(Fraction(seconds) * 1000 * per_ms)
    max_days = 1 << (8 * day_octets)
    if not 0 <= units < max_days * MS_PER_DAY * per_ms:
        raise TimeCodeRangeError(
            f"time {float(seconds)} s does not fit a CDS of {day_octets} day octets "
            f"(0 to {max_days} days)",
            seconds, max_days * SECONDS_PER_DAY,
        )
    ms_total, subms = divmod(units, per_ms)
    day, ms_of_day = divmod(ms_total, MS_PER_DAY)
    out = bytearray()
    if pfield:
        out.append(cds_pfield(day_octets, submillisecond_octets, epoch))
    out += day.to_bytes(day_octets, "big")
    out += ms_of_day.to_bytes(4, "big")
    if submillisecond_octets:
        out += subms.to_bytes(submillisecond_octets, "big")
    return bytes(out)


def decode_cds(
    data: bytes | bytearray | memoryview,
    *,
    pfield: bool = True,
    day_octets: int = 2,
    submillisecond_octets: int = 0,
    epoch: Epoch | None = None,
) -> tuple[float, int]:
    """(seconds since the epoch, octets consumed) from a CDS at the start of `data`.

    A millisecond of day up to 86,400,999 (a leap second on a UTC-based agency epoch) is accepted
    and counted as it reads: seconds = day * 86400 + ms / 1000.
    """
    offset = 0
    if pfield:
        if len(data) < 1:
            raise TimeCodeTooShortError(1, 0)
        p = data[0]
        if p & _PFIELD_EXTENSION:
            raise TimeCodeFormatError(f"CDS P-field {p:#04x} has the extension flag set", p)
        code = (p >> 4) & 0b111
        if code != TimeCodeId.CDS:
            raise TimeCodeFormatError(f"P-field {p:#04x} names time code {code:#05b}, not CDS", p)
        found = Epoch((p >> 3) & 1)
        if epoch is not None and found != epoch:
            raise TimeCodeFormatError(
                f"CDS P-field {p:#04x} names the {found.name} epoch, expected {epoch.name}", p
            )
        subms_code = p & 0b11
        if subms_code == 0b11:
            raise TimeCodeFormatError(f"CDS P-field {p:#04x}: sub-ms resolution 0b11 reserved", p)
        day_octets = 3 if p & 0b100 else 2
        submillisecond_octets = 2 * subms_code
        offset = 1
    else:
        _check_cds_widths(day_octets, submillisecond_octets)
    end = offset + day_octets + 4 + submillisecond_octets
    if len(data) < end:
        raise TimeCodeTooShortError(end, len(data))
    day = int.from_bytes(data[offset : offset + day_octets], "big")
    ms_at = offset + day_octets
    ms_of_day = int.from_bytes(data[ms_at : ms_at + 4], "big")
    if ms_of_day > _CDS_LEAP_MS_OF_DAY:
        raise TimeCodeRangeError(
            f"CDS millisecond of day {ms_of_day} exceeds {_CDS_LEAP_MS_OF_DAY}",
            ms_of_day, _CDS_LEAP_MS_OF_DAY,
        )
    if not submillisecond_octets:
        return day * SECONDS_PER_DAY + ms_of_day / 1000, end
    per_ms = _CDS_SUBMS_PER_MS[submillisecond_octets]
    subms = int.from_bytes(data[ms_at + 4 : end], "big")
    if subms >= per_ms:
        raise TimeCodeRangeError(
            f"CDS sub-millisecond field {subms} must be below {per_ms}", subms, per_ms
        )
    units = (day * MS_PER_DAY + ms_of_day) * per_ms + subms
    return float(Fraction(units, 1000 * per_ms)), end
