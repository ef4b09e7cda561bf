"""Spacecraft time: TAI, UTC and GPS time on top of the monotonic clock, disciplined by GNSS.

Scales. Spacecraft time is TAI counted in seconds from the CCSDS epoch, 1958-01-01T00:00:00 TAI
(the epoch of `hal.timecode`'s CUC and CDS codes), as a float: 2**-22 s resolution today. UTC
differs from TAI by the integer TAI-UTC of the leap-second table shipped in `leap_seconds.json`
(37 s since 2017-01-01); the table has an expiry date, after which its last value is still used
and `LeapSecondTable.is_expired` says so. UTC before 1972, with its rubber seconds, is out of
scope and rejected. GPS time is TAI - 19 s, counted in weeks and seconds of week from
1980-01-06T00:00:00 UTC.

Newer tables. IERS announces each leap second about six months ahead (Bulletin C) and moves the
expiry date on; a newer table is read with `LeapSecondTable.parse`/`load` from the IERS/NTP
`leap-seconds.list` (what tzdata ships as /usr/share/zoneinfo/leap-seconds.list: NTP seconds and
TAI-UTC per line, ``#@`` the expiry, ``#$`` the last update, ``#h`` a SHA-1 of the data, checked
when present) or from a JSON of the shape of `leap_seconds.json`. `use_leap_seconds(table)` puts
it in use for the whole process, as ERFA's `leap_seconds.update` does: every conversion given no
table explicitly reads `leap_seconds()`. A table that disagrees with the shipped one on any date
before either expires is refused, so a damaged upload cannot move past UTC labels.

Calendar arithmetic. Python's `datetime` has no leap seconds, which is exactly the "label"
arithmetic needed: a TAI instant is labelled on a uniform calendar, and UTC labels are TAI labels
minus TAI-UTC. The one UTC second a `datetime` cannot hold, 23:59:60, is entered through
`utc_fields_to_tai` and reported by `is_leap_second`.

Disciplining (`DisciplinedTime`). A 1 PPS edge timestamped at monotonic time m marks the start of a
UTC second; the receiver's fix names that second (in the message that follows the pulse, or for
receivers that announce the next pulse, the one before it). Each (edge, second) pair is a sample
(m, TAI). Between samples TAI is extrapolated as

    TAI(m) = tai_ref + (m - m_ref) * (1 + drift)

and each sample's innovation e = TAI_sample - TAI_predicted(m) updates it with an alpha-beta
filter, the simplest second-order loop: the phase moves a fraction `phase_gain` of the way to the
measurement, and the drift integrates e per second of interval with `frequency_gain`, so a crystal
that runs fast by a constant rate is tracked with no steady error. The defaults (0.5, 1/6) are the
critically damped pair (beta = alpha^2 / (2 - alpha)): no overshoot, settled in about ten seconds.
The innovation is the reported time error. An innovation larger than `jump_threshold_s` is not
filtered: it is held as a candidate, and only when `jump_confirmations` consecutive samples agree
with it is the time stepped and a `TimeJump` reported; a lone outlier is counted and dropped.
A fix without a PPS edge gives coarse time (fix time plus a configured latency) until the first
pair locks. Without samples for `holdover_after_s` the state becomes HOLDOVER and time runs on
the last drift estimate.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum, IntEnum
from functools import cached_property
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Final, Protocol

from hal.clock import Clock

CCSDS_EPOCH: Final[datetime] = datetime(1958, 1, 1)
GPS_EPOCH_UTC: Final[datetime] = datetime(1980, 1, 6)
TAI_MINUS_GPS_S: Final[int] = 19
SECONDS_PER_DAY: Final[int] = 86_400
SECONDS_PER_WEEK: Final[int] = 604_800
FIRST_TABLE_DATE: Final[date] = date(1972, 1, 1)
NTP_EPOCH: Final[date] = date(1900, 1, 1)  # of the seconds in leap-seconds.list
MAX_LEAP_FILE_OCTETS: Final[int] = 1 << 16  # the IERS file is about 10 kB
_LAST_DAY: Final[int] = (date.max - NTP_EPOCH).days


class TimeScaleError(ValueError):
    """A time that cannot be converted as asked; carries the offending value."""

    def __init__(self, message: str, value: object) -> None:
        super().__init__(message)
        self.value = value


class LeapSecondFileError(ValueError):
    """A leap-second file that cannot be used; names the file, the line (0: the whole file) and
    the fault."""

    def __init__(self, source: str, detail: str, line: int = 0) -> None:
        super().__init__(f"leap-second file {source}{f', line {line}' if line else ''}: {detail}")
        self.source = source
        self.detail = detail
        self.line = line


def _label_seconds(t: datetime) -> float:
    """Seconds of calendar label from the CCSDS epoch, with no leap seconds."""
    return (t - CCSDS_EPOCH) / timedelta(seconds=1)


def _as_naive_utc(utc: datetime) -> datetime:
    if utc.tzinfo is None:
        return utc
    return utc.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class LeapSecondTable:
    """TAI-UTC from each UTC date on, and the date after which the table is not known good."""

    starts: tuple[date, ...]
    tai_minus_utc_s: tuple[int, ...]
    expires: date
    source: str

    def __post_init__(self) -> None:
        if not self.starts or len(self.starts) != len(self.tai_minus_utc_s):
            raise ValueError("a leap-second table needs one TAI-UTC value per start date")
        if list(self.starts) != sorted(set(self.starts)):
            raise ValueError("leap-second start dates must be strictly increasing")

    @classmethod
    def load(cls, path: Path | str | None = None) -> LeapSecondTable:
        """The table in the file at `path` (either format, see `parse`), or the shipped one."""
        if path is None:
            data = resources.files("hal").joinpath("leap_seconds.json").read_bytes()
            return cls.parse(data, "hal/leap_seconds.json")
        return cls.parse(Path(path).read_bytes(), str(path))

    @classmethod
    def parse(cls, data: bytes | str, name: str) -> LeapSecondTable:
        """The table in the text of a leap-second file called `name`: the IERS/NTP
        `leap-seconds.list`, or a JSON object of the shape of `leap_seconds.json` (told apart by
        its first character, ``{``). Raises `LeapSecondFileError` naming the fault."""
        if len(data) > MAX_LEAP_FILE_OCTETS:
            raise LeapSecondFileError(name, f"{len(data)} octets, more than the "
                                            f"{MAX_LEAP_FILE_OCTETS} a leap-second file holds")
        if isinstance(data, bytes):
            try:
                data = data.decode("ascii")
            except UnicodeDecodeError as exc:
                raise LeapSecondFileError(name, f"not ASCII text (octet {exc.start})") from None
        if data.lstrip().startswith("{"):
            rows, expires, source = _parse_json(data, name)
        else:
            rows, expires = _parse_ntp_list(data, name)
            source = name
        _check_rows(rows, expires, name)
        return cls(tuple(d for d, _, _ in rows), tuple(v for _, v, _ in rows), expires, source)

    def _index_for_utc(self, utc: datetime) -> int:
        i = bisect_right(self.starts, utc.date()) - 1
        if i < 0:
            raise TimeScaleError(
                f"UTC {utc.isoformat()} is before {self.starts[0]}: not covered", utc
            )
        return i

    def tai_minus_utc(self, utc: datetime) -> int:
        return self.tai_minus_utc_s[self._index_for_utc(_as_naive_utc(utc))]

    def is_expired(self, utc: datetime) -> bool:
        return _as_naive_utc(utc).date() >= self.expires

    @cached_property
    def expiry_tai(self) -> float:
        """The TAI instant (seconds since the CCSDS epoch) of 00:00 UTC on the expiry date."""
        return (_label_seconds(datetime.combine(self.expires, datetime.min.time()))
                + self.tai_minus_utc_s[-1])

    def first_disagreement(self, other: LeapSecondTable) -> date | None:
        """The first date before both tables expire on which they give different TAI-UTC, or
        None: two correct tables never disagree, the newer only knows more."""
        horizon = min(self.expires, other.expires)
        for day in sorted(set(self.starts) | set(other.starts)):
            if day >= horizon:
                break
            midnight = datetime.combine(day, datetime.min.time())
            if self.tai_minus_utc(midnight) != other.tai_minus_utc(midnight):
                return day
        return None

    def leap_at_end_of(self, day: date) -> int:
        """+1 if a leap second is inserted after 23:59:59 of `day`, -1 if one is removed, else 0."""
        following = day + timedelta(days=1)
        i = bisect_right(self.starts, following) - 1
        if i <= 0 or self.starts[i] != following:
            return 0
        return self.tai_minus_utc_s[i] - self.tai_minus_utc_s[i - 1]

    @cached_property
    def tai_starts(self) -> list[float]:
        """The TAI instant (seconds since the CCSDS epoch) at which each entry takes effect."""
        return [
            _label_seconds(datetime.combine(d, datetime.min.time())) + v
            for d, v in zip(self.starts, self.tai_minus_utc_s, strict=True)
        ]


def _parse_json(text: str, name: str) -> tuple[list[tuple[date, int, int]], date, str]:
    try:
        doc = json.loads(text)
        rows = [(date.fromisoformat(d), _integer(v), 0) for d, v in doc["entries"]]
        return rows, date.fromisoformat(doc["expires"]), str(doc.get("source", name))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise LeapSecondFileError(name, f"not a leap-second table in JSON "
                                        f"({type(exc).__name__}: {str(exc)[:80]})") from None


def _integer(value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"TAI-UTC {value!r} is not an integer")
    return value


def _parse_ntp_list(text: str, name: str) -> tuple[list[tuple[date, int, int]], date]:
    """Rows (date, TAI-UTC, line) and the expiry of an IERS/NTP leap-seconds.list."""
    rows: list[tuple[date, int, int]] = []
    marks: dict[str, tuple[str, int]] = {}  # "#@", "#$", "#h": (value, line)
    hashed: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line[:2] in ("#@", "#$", "#h"):
            if line[:2] in marks:
                raise LeapSecondFileError(name, f"a second {line[:2]} line", number)
            marks[line[:2]] = (line[2:].strip(), number)
        elif line and not line.startswith("#"):
            fields = line.split("#", 1)[0].split()
            if len(fields) != 2:
                raise LeapSecondFileError(name, f"{len(fields)} fields, expected NTP seconds "
                                                "and TAI-UTC", number)
            try:
                offset = int(fields[1])
            except ValueError:
                raise LeapSecondFileError(name, f"TAI-UTC {fields[1]!r} is not an integer",
                                          number) from None
            rows.append((_ntp_day(fields[0], name, number), offset, number))
            hashed += fields
    if "#@" not in marks:
        raise LeapSecondFileError(name, "no expiry line (#@ NTP seconds)")
    expires = _ntp_day(marks["#@"][0], name, marks["#@"][1])
    if "#h" in marks:
        _check_hash(marks, hashed, name)
    return rows, expires


def _ntp_day(value: str, name: str, line: int) -> date:
    """The date of NTP seconds `value`, which must be a midnight."""
    fields = value.split()
    try:
        seconds = int(fields[0]) if fields else -1
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise LeapSecondFileError(name, f"{value!r} is not NTP seconds", line)
    days, rest = divmod(seconds, SECONDS_PER_DAY)
    if rest or days > _LAST_DAY:
        raise LeapSecondFileError(name, f"NTP time {seconds} is not a midnight up to year 9999",
                                  line)
    return NTP_EPOCH + timedelta(days=days)


def _check_hash(marks: dict[str, tuple[str, int]], hashed: list[str], name: str) -> None:
    """The ``#h`` line: SHA-1 over the digits of ``#$``, ``#@`` and the data (IERS's README),
    five 32-bit words in hex, leading zeros possibly dropped."""
    text, line = marks["#h"]
    words = text.split()
    try:
        claimed = [int(w, 16) for w in words]
    except ValueError:
        claimed = []
    if len(claimed) != 5:
        raise LeapSecondFileError(name, f"hash {text!r} is not five hex words", line)
    data = "".join(v.split()[0] if v.split() else "" for v, _ in
                   (marks.get("#$", ("", 0)), marks["#@"])) + "".join(hashed)
    import hashlib  # here, not at import: loading OpenSSL costs 3.6 MB resident onboard

    digest = hashlib.sha1(data.encode("ascii"), usedforsecurity=False).digest()
    actual = [int.from_bytes(digest[i : i + 4], "big") for i in range(0, 20, 4)]
    if actual != claimed:
        raise LeapSecondFileError(
            name, f"hash {' '.join(f'{w:08x}' for w in claimed)} does not match the data "
                  f"({' '.join(f'{w:08x}' for w in actual)})", line)


def _check_rows(rows: list[tuple[date, int, int]], expires: date, name: str) -> None:
    """What every correct table satisfies: it starts on 1972-01-01; each later entry takes
    effect on the first of a month, after the one before, one second away from it; and it
    expires after its last entry."""
    if not rows:
        raise LeapSecondFileError(name, "no entries")
    if rows[0][0] != FIRST_TABLE_DATE:
        raise LeapSecondFileError(name, f"starts on {rows[0][0]}, not {FIRST_TABLE_DATE}",
                                  rows[0][2])
    for (before, offset_before, _), (day, offset, line) in pairwise(rows):
        if day.day != 1 or day <= before:
            raise LeapSecondFileError(name, f"entry on {day} is not the first of a month "
                                            f"after {before}", line)
        if abs(offset - offset_before) != 1:
            raise LeapSecondFileError(name, f"TAI-UTC goes from {offset_before} to {offset} s "
                                            f"on {day}, not by one second", line)
    if expires <= rows[-1][0]:
        raise LeapSecondFileError(name, f"expires on {expires}, not after its last entry "
                                        f"({rows[-1][0]})")


LEAP_SECONDS: Final[LeapSecondTable] = LeapSecondTable.load()
_active_table: LeapSecondTable = LEAP_SECONDS


def leap_seconds() -> LeapSecondTable:
    """The table in use: the shipped `LEAP_SECONDS` unless `use_leap_seconds` replaced it."""
    return _active_table


def use_leap_seconds(table: LeapSecondTable) -> LeapSecondTable:
    """Put `table` in use for the whole process; returns the table it replaces. Refuses
    (`LeapSecondFileError`) a table that disagrees with the shipped one before either expires."""
    global _active_table
    day = table.first_disagreement(LEAP_SECONDS)
    if day is not None:
        midnight = datetime.combine(day, datetime.min.time())
        raise LeapSecondFileError(
            table.source, f"TAI-UTC on {day} is {table.tai_minus_utc(midnight)} s, the shipped "
                          f"table says {LEAP_SECONDS.tai_minus_utc(midnight)} s")
    previous, _active_table = _active_table, table
    return previous


def _in_use(table: LeapSecondTable | None) -> LeapSecondTable:
    return _active_table if table is None else table


def utc_to_tai(utc: datetime, table: LeapSecondTable | None = None) -> float:
    """TAI seconds since the CCSDS epoch for a UTC datetime (naive means UTC)."""
    naive = _as_naive_utc(utc)
    return _label_seconds(naive) + _in_use(table).tai_minus_utc(naive)


def utc_fields_to_tai(
    year: int,
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: float,
    table: LeapSecondTable | None = None,
) -> float:
    """As `utc_to_tai`, from fields, accepting 23:59:60.x on a day that ends with a leap second."""
    table = _in_use(table)
    if not 0 <= second < 61:
        raise TimeScaleError(f"UTC second {second} is out of range", second)
    whole = math.floor(second)
    if whole == 60:
        d = date(year, month, day)
        if (hour, minute) != (23, 59) or table.leap_at_end_of(d) != 1:
            raise TimeScaleError(
                f"{d} {hour:02d}:{minute:02d}:{second} names a leap second the table does not have",
                second,
            )
        return utc_to_tai(datetime(year, month, day, 23, 59, 59), table) + (second - 59)
    start = datetime(year, month, day, hour, minute, whole)
    return utc_to_tai(start, table) + (second - whole)


def _utc_label(tai: float, table: LeapSecondTable) -> tuple[float, bool]:
    """(UTC label seconds since 1958-01-01, inside a leap second) for a TAI instant.

    Entry i rules from TAI label(date_i) + TAI-UTC_i. When the next entry adds a second, the last
    TAI second before it maps past midnight on entry i's offset: that second is 23:59:60."""
    starts = table.tai_starts
    i = bisect_right(starts, tai) - 1
    if i < 0:
        raise TimeScaleError(f"TAI {tai} s is before the leap-second table starts", tai)
    label = tai - table.tai_minus_utc_s[i]
    if i + 1 < len(starts):
        next_midnight = _label_seconds(datetime.combine(table.starts[i + 1], datetime.min.time()))
        if label >= next_midnight:
            return next_midnight - 1, True
    return label, False


def is_leap_second(tai: float, table: LeapSecondTable | None = None) -> bool:
    """True while UTC reads 23:59:60.x."""
    return _utc_label(tai, _in_use(table))[1]


def tai_to_utc(tai: float, table: LeapSecondTable | None = None) -> datetime:
    """UTC (timezone-aware) for a TAI instant. During a leap second, which `datetime` cannot
    express, this returns 23:59:59.999999 (see `is_leap_second`)."""
    label, leap = _utc_label(tai, _in_use(table))
    if leap:
        return (CCSDS_EPOCH + timedelta(seconds=label, microseconds=999_999)).replace(tzinfo=UTC)
    return (CCSDS_EPOCH + timedelta(seconds=label)).replace(tzinfo=UTC)


@dataclass(frozen=True)
class GpsTime:
    week: int  # full week number since 1980-01-06, not the 10-bit broadcast one
    tow: float  # seconds of week

    def __post_init__(self) -> None:
        if self.week < 0 or not 0 <= self.tow < SECONDS_PER_WEEK:
            raise TimeScaleError(f"GPS week {self.week} TOW {self.tow} is out of range", self)


_GPS_EPOCH_TAI: Final[float] = _label_seconds(GPS_EPOCH_UTC) + TAI_MINUS_GPS_S


def tai_to_gps(tai: float) -> GpsTime:
    seconds = tai - _GPS_EPOCH_TAI
    if seconds < 0:
        raise TimeScaleError(f"TAI {tai} s is before the GPS epoch", tai)
    week, tow = divmod(seconds, SECONDS_PER_WEEK)
    return GpsTime(int(week), tow)


def gps_to_tai(gps: GpsTime) -> float:
    return _GPS_EPOCH_TAI + gps.week * SECONDS_PER_WEEK + gps.tow


def utc_to_gps(utc: datetime, table: LeapSecondTable | None = None) -> GpsTime:
    return tai_to_gps(utc_to_tai(utc, table))


def gps_to_utc(gps: GpsTime, table: LeapSecondTable | None = None) -> datetime:
    return tai_to_utc(gps_to_tai(gps), table)


# -- time sources -------------------------------------------------------------------------------


class SyncState(IntEnum):
    UNSET = 0  # no idea of the time
    COARSE = 1  # from a fix's arrival time, or set by command: good to a fraction of a second
    LOCKED = 2  # disciplined from PPS edges
    HOLDOVER = 3  # was locked, no PPS for a while: running on the last drift estimate


@dataclass(frozen=True)
class TimeStatus:
    state: SyncState
    time_error_s: float | None  # last innovation: measured minus predicted TAI at an edge
    drift_ppm: float
    samples: int  # PPS samples used
    jumps: int
    outliers: int
    last_sync_monotonic: float | None


@dataclass(frozen=True)
class TimeJump:
    at_monotonic: float
    size_s: float  # new time minus the time we had


class TimeNotSetError(RuntimeError):
    def __init__(self) -> None:
        super().__init__("spacecraft time is not set yet (state UNSET): check status() first")


class TimeSource(Protocol):
    """What the runtime reads spacecraft time from."""

    def tai(self) -> float:
        """TAI seconds since the CCSDS epoch, now."""
        ...

    def status(self) -> TimeStatus: ...


class ClockTimeSource:
    """TAI = `tai_at_zero` + clock time: for simulations, where the clock itself is the truth."""

    def __init__(self, clock: Clock, tai_at_zero: float) -> None:
        self.clock = clock
        self.tai_at_zero = tai_at_zero

    def tai(self) -> float:
        return self.tai_at_zero + self.clock.monotonic()

    def status(self) -> TimeStatus:
        return TimeStatus(SyncState.LOCKED, 0.0, 0.0, 0, 0, 0, self.clock.monotonic())


class PpsPairing(Enum):
    FIX_FOLLOWS_EDGE = "follows"  # NMEA/UBX time after the pulse names the pulse's second
    FIX_PRECEDES_EDGE = "precedes"  # a message before the pulse names the second it starts


class DisciplinedTime:
    """Spacecraft time disciplined from GNSS fixes and PPS edges (see the module notes)."""

    def __init__(
        self,
        clock: Clock,
        *,
        pairing: PpsPairing = PpsPairing.FIX_FOLLOWS_EDGE,
        pairing_window_s: float = 0.9,
        phase_gain: float = 0.5,
        frequency_gain: float = 0.5**2 / 1.5,
        jump_threshold_s: float = 1e-3,
        jump_confirmations: int = 2,
        holdover_after_s: float = 3.0,
        max_drift: float = 1e-3,
        fix_latency_s: float = 0.0,
        table: LeapSecondTable | None = None,
        on_jump: Callable[[TimeJump], None] | None = None,
    ) -> None:
        if not (0 < phase_gain <= 1 and 0 < frequency_gain < 4 - 2 * phase_gain):
            raise ValueError(
                f"gains phase {phase_gain}, frequency {frequency_gain} make an unstable loop"
            )
        if jump_confirmations < 1:
            raise ValueError("jump_confirmations must be at least 1")
        self.clock = clock
        self.pairing = pairing
        self.pairing_window_s = pairing_window_s
        self.phase_gain = phase_gain
        self.frequency_gain = frequency_gain
        self.jump_threshold_s = jump_threshold_s
        self.jump_confirmations = jump_confirmations
        self.holdover_after_s = holdover_after_s
        self.max_drift = max_drift
        self.fix_latency_s = fix_latency_s
        self._table = table
        self.on_jump = on_jump
        self._state = SyncState.UNSET
        # TAI at m_ref is _base + _frac: an integer second and a small float, so that innovations
        # of nanoseconds are not lost in a float that holds 2e9 seconds.
        self._m_ref = 0.0
        self._base = 0
        self._frac = 0.0
        self._drift = 0.0
        self._error: float | None = None
        self._samples = 0
        self._jumps = 0
        self._outliers = 0
        self._last_sync: float | None = None
        self._candidate: tuple[float, int, int] | None = None  # (m, TAI second, agreeing samples)
        self._edges: deque[float] = deque(maxlen=4)
        self._fixes: deque[tuple[float, float]] = deque(maxlen=4)  # (received m, fix TAI)

    @property
    def table(self) -> LeapSecondTable:
        """The table given, else the one in use at each call (`leap_seconds()`)."""
        return _in_use(self._table)

    # -- reading ----------------------------------------------------------------------------

    def tai_at(self, monotonic: float) -> float:
        if self._state is SyncState.UNSET:
            raise TimeNotSetError()
        return self._base + self._since_base(monotonic)

    def _since_base(self, monotonic: float) -> float:
        return self._frac + (monotonic - self._m_ref) * (1.0 + self._drift)

    def _set_reference(self, monotonic: float, base: int, frac: float) -> None:
        whole = math.floor(frac)
        self._m_ref, self._base, self._frac = monotonic, base + whole, frac - whole

    def tai(self) -> float:
        return self.tai_at(self.clock.monotonic())

    def utc(self) -> datetime:
        return tai_to_utc(self.tai(), self.table)

    def status(self) -> TimeStatus:
        state = self._state
        if (
            state is SyncState.LOCKED
            and self._last_sync is not None
            and self.clock.monotonic() - self._last_sync > self.holdover_after_s
        ):
            state = SyncState.HOLDOVER
        return TimeStatus(
            state,
            self._error,
            self._drift * 1e6,
            self._samples,
            self._jumps,
            self._outliers,
            self._last_sync,
        )

    # -- inputs -----------------------------------------------------------------------------

    def set_coarse(self, tai: float, at_monotonic: float) -> None:
        """Set time from an outside source (a ground command, a stored value) until PPS locks."""
        if self._state in (SyncState.UNSET, SyncState.COARSE):
            self._set_reference(at_monotonic, 0, tai)
            self._state = SyncState.COARSE

    def on_pps(self, edge_monotonic: float) -> None:
        """A PPS edge, timestamped on the injected clock (a GPIO edge event's timestamp)."""
        if self.pairing is PpsPairing.FIX_FOLLOWS_EDGE:
            for received, fix_tai in self._fixes:
                if 0 <= received - edge_monotonic <= self.pairing_window_s:
                    self._fixes.remove((received, fix_tai))
                    self._sample(edge_monotonic, math.floor(fix_tai))
                    return
        else:
            for received, fix_tai in reversed(self._fixes):
                if 0 <= edge_monotonic - received <= self.pairing_window_s:
                    self._fixes.remove((received, fix_tai))
                    self._sample(edge_monotonic, math.floor(fix_tai) + 1)
                    return
        self._edges.append(edge_monotonic)

    def on_fix(self, utc: datetime, received_monotonic: float) -> None:
        """A fix's UTC time, received (end of message) at `received_monotonic`."""
        self.on_fix_tai(utc_to_tai(utc, self.table), received_monotonic)

    def on_fix_tai(self, fix_tai: float, received_monotonic: float) -> None:
        if self.pairing is PpsPairing.FIX_FOLLOWS_EDGE:
            for edge in reversed(self._edges):
                if 0 <= received_monotonic - edge <= self.pairing_window_s:
                    self._edges.remove(edge)
                    self._sample(edge, math.floor(fix_tai))
                    return
        else:
            for edge in self._edges:
                if 0 <= edge - received_monotonic <= self.pairing_window_s:
                    self._edges.remove(edge)
                    self._sample(edge, math.floor(fix_tai) + 1)
                    return
        self._fixes.append((received_monotonic, fix_tai))
        self.set_coarse(fix_tai + self.fix_latency_s, received_monotonic)

    # -- the loop ---------------------------------------------------------------------------

    def _sample(self, m: float, tai: int) -> None:
        self._last_sync = m
        if self._state in (SyncState.UNSET, SyncState.COARSE):
            self._error = None if self._state is SyncState.UNSET else tai - self.tai_at(m)
            self._set_reference(m, tai, 0.0)
            self._state = SyncState.LOCKED
            self._samples += 1
            return
        predicted = self._since_base(m)
        error = (tai - self._base) - predicted
        if abs(error) > self.jump_threshold_s:
            self._consider_jump(m, tai, error)
            return
        if self._candidate is not None:
            self._outliers += self._candidate[2]
            self._candidate = None
        interval = m - self._m_ref
        if interval > 0:
            drift = self._drift + self.frequency_gain * error / interval
            self._drift = max(-self.max_drift, min(self.max_drift, drift))
        self._set_reference(m, self._base, predicted + self.phase_gain * error)
        self._error = error
        self._samples += 1

    def _consider_jump(self, m: float, tai: int, error: float) -> None:
        candidate = self._candidate
        if candidate is not None:
            cm, ctai, agreeing = candidate
            if abs((tai - ctai) - (m - cm) * (1.0 + self._drift)) <= self.jump_threshold_s:
                candidate = (m, tai, agreeing + 1)
            else:
                self._outliers += agreeing
                candidate = (m, tai, 1)
        else:
            candidate = (m, tai, 1)
        if candidate[2] < self.jump_confirmations:
            self._candidate = candidate
            return
        self._candidate = None
        self._set_reference(m, tai, 0.0)
        self._error = error
        self._jumps += 1
        self._samples += 1
        if self.on_jump is not None:
            self.on_jump(TimeJump(m, error))
