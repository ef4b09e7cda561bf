"""Scenario files for `flight emulate`: what happens when, written by users in TOML.

    [scenario]
    name = "two passes"
    epoch = 2022-04-19T19:41:00Z      # UTC at clock reading 0 (the orbit's time line)
    speed = 25.0                      # clock seconds per host second
    duration = 1950.0                 # clock seconds; the run stops there
    seed = 1
    time_source = "gnss"              # spacecraft time: "gnss" (the receiver) or "epoch" (truth)

    [[stations]]                      # where the passes are (default: Hartebeesthoek, Delft)
    name = "Delft"
    lat_deg = 51.999
    lon_deg = 4.373
    alt_m = 30.0
    mask_deg = 5.0

    [link]                            # the downlink budget (the air rate is the radio's)
    tx_power_w = 2.0
    station_g_over_t_db_k = -15.0

    [[steps]]
    name = "ping"
    at = "aos 1 + 30"                 # when: "aos N", "los N" (+/- seconds), a UTC date-time,
    action = "command"                #   or clock seconds; or after = "STEP" (+ delay); default:
    command = "cmd.no_op"             #   right after the step before

Actions and their keys (`timeout` in clock seconds wherever something is awaited):

| action | keys |
| --- | --- |
| `acquire` | `timeout`: hear the satellite, check its dictionary, start COP-1 |
| `command` | `command`, `args` (array or table), `expect` (completed, failed, sent), `timeout` |
| `set_param` | `param` (name), `value`, `timeout` |
| `schedule` | `command`, `args`, `times` (UTC date-times): one `sched.insert` each, `timeout` |
| `await_telemetry` | `channel`, `value` (optional), `timeout` |
| `await_event` | `event`, `timeout` |
| `expect_files` | `count`, `prefix` (optional), `timeout`: downlinked and equal to the board's |
| `inject` | `direction` ("uplink", "downlink", "both"), `extra_ber`, `frame_loss`, `outage` |
| `gnss_outage` | `on` (true/false) |
| `kill` | the flight process dies without warning (a power cut); the harness restarts it |
| `wait` | `seconds`: keep receiving |
| `note` | `text`: printed as the step runs |

`expect = "sent"` only sends the command: for one whose report cannot come back (a commanded
reset stops the software before it is sent).

Steps run one after another, in the order written; each first waits for its time. A scenario
that cannot be used raises `ScenarioError` naming the file, the line and the reason: tomllib's
position for a syntax error, and for anything else the line of the offending key, found by
`KeyLines` (a scan of the table headers and `key =` lines; a key given in a dotted or inline
form is reported at its table's header).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Final

from flight.sim.errors import SimError
from flight.sim.stations import GroundStation

DEFAULT_SCENARIO: Final = "default.toml"
_TRIGGER: Final = re.compile(r"^\s*(aos|los)\s+(\d+)\s*(?:([+-])\s*(\d+(?:\.\d*)?|\.\d+))?\s*$")
_HEADER: Final = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\s]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY: Final = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")


class ScenarioError(ValueError):
    """A scenario that cannot be used: file, line (0 when unknown), reason."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class Action(StrEnum):
    ACQUIRE = "acquire"
    COMMAND = "command"
    SET_PARAM = "set_param"
    SCHEDULE = "schedule"
    AWAIT_TELEMETRY = "await_telemetry"
    AWAIT_EVENT = "await_event"
    EXPECT_FILES = "expect_files"
    INJECT = "inject"
    GNSS_OUTAGE = "gnss_outage"
    KILL = "kill"
    WAIT = "wait"
    NOTE = "note"


COMMON_KEYS: Final = frozenset({"name", "action", "at", "after", "delay"})
ACTION_KEYS: Final[dict[Action, tuple[frozenset[str], frozenset[str]]]] = {
    # action: (required keys, optional keys)
    Action.ACQUIRE: (frozenset(), frozenset({"timeout"})),
    Action.COMMAND: (frozenset({"command"}), frozenset({"args", "expect", "timeout"})),
    Action.SET_PARAM: (frozenset({"param", "value"}), frozenset({"timeout"})),
    Action.SCHEDULE: (frozenset({"command", "times"}), frozenset({"args", "timeout"})),
    Action.AWAIT_TELEMETRY: (frozenset({"channel"}), frozenset({"value", "timeout"})),
    Action.AWAIT_EVENT: (frozenset({"event"}), frozenset({"timeout"})),
    Action.EXPECT_FILES: (frozenset({"count"}), frozenset({"prefix", "timeout"})),
    Action.INJECT: (frozenset({"direction"}),
                    frozenset({"extra_ber", "frame_loss", "outage"})),
    Action.GNSS_OUTAGE: (frozenset({"on"}), frozenset()),
    Action.KILL: (frozenset(), frozenset()),
    Action.WAIT: (frozenset({"seconds"}), frozenset()),
    Action.NOTE: (frozenset({"text"}), frozenset()),
}
DEFAULT_TIMEOUT_S: Final = 60.0
SCENARIO_KEYS: Final = frozenset({"name", "description", "epoch", "speed", "duration", "seed",
                                  "time_source"})
STATION_KEYS: Final = frozenset({"name", "lat_deg", "lon_deg", "alt_m", "mask_deg"})
LINK_KEYS: Final = frozenset({"tx_power_w", "station_g_over_t_db_k"})
TIME_SOURCES: Final = ("gnss", "epoch")
DIRECTIONS: Final = ("uplink", "downlink", "both")
EXPECT: Final = ("completed", "failed", "sent")


@dataclass(frozen=True)
class Trigger:
    """When a step starts: at a pass event (`event` "aos"/"los" of pass `pass_number`, plus
    `offset_s`), at a UTC instant `utc`, at clock time `clock_s`, after step `after` (+
    `offset_s`), or (all None) right after the step before."""

    event: str | None = None
    pass_number: int | None = None
    utc: dt.datetime | None = None
    clock_s: float | None = None
    after: str | None = None
    offset_s: float = 0.0

    def describe(self) -> str:
        sign = "+" if self.offset_s >= 0 else "-"
        offset = f" {sign} {abs(self.offset_s):g} s" if self.offset_s else ""
        if self.event is not None:
            return f"{self.event.upper()} of pass {self.pass_number}{offset}"
        if self.utc is not None:
            return f"{self.utc:%Y-%m-%d %H:%M:%S} UTC"
        if self.clock_s is not None:
            return f"t = {self.clock_s:g} s"
        if self.after is not None:
            return f"after {self.after}{offset}"
        return "next"


@dataclass(frozen=True)
class Step:
    name: str
    action: Action
    trigger: Trigger
    params: Mapping[str, Any]
    line: int

    @property
    def timeout(self) -> float:
        return float(self.params.get("timeout", DEFAULT_TIMEOUT_S))


@dataclass(frozen=True)
class Scenario:
    path: str
    name: str
    description: str
    epoch: dt.datetime
    speed: float
    duration: float
    seed: int
    time_source: str
    stations: tuple[GroundStation, ...]
    link: Mapping[str, float]
    steps: tuple[Step, ...]


class KeyLines:
    """Where each table header and key of a TOML text is: (section, index, key) -> line."""

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str, int | None, str | None], int] = {}
        counts: dict[str, int] = {}
        section, index = "", None
        for number, raw in enumerate(text.splitlines(), 1):
            header = _HEADER.match(raw)
            if header and not _KEY.match(raw):
                section = header.group(2).replace(" ", "")
                if header.group(1) == "[[":
                    index = counts.get(section, 0)
                    counts[section] = index + 1
                else:
                    index = None
                self.lines.setdefault((section, index, None), number)
                continue
            key = _KEY.match(raw)
            if key:
                self.lines.setdefault((section, index, key.group(1).strip('"')), number)

    def locate(self, section: str, index: int | None, key: str | None) -> int:
        for probe in ((section, index, key), (section, index, None)):
            if probe in self.lines:
                return self.lines[probe]
        return 0


def default_path() -> Path:
    return Path(str(resources.files("flight.emulation").joinpath("scenarios", DEFAULT_SCENARIO)))


def load(path: str | Path) -> Scenario:
    """Read and check a scenario file (`ScenarioError` for anything wrong, with its line)."""
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(path, 0, exc.strerror or str(exc)) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, 0, f"not UTF-8 text ({exc.reason})") from None
    return parse(text, path)


def parse(text: str, path: str = "<scenario>") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", 0) or _line_from_message(str(exc))
        raise ScenarioError(path, line, f"TOML syntax: {exc}") from None
    return _Parser(path, KeyLines(text)).scenario(data)


def _line_from_message(message: str) -> int:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else 0


class _Parser:
    def __init__(self, path: str, lines: KeyLines) -> None:
        self.path = path
        self.lines = lines

    def fail(self, section: str, index: int | None, key: str | None, reason: str) -> ScenarioError:
        where = section if index is None else f"{section}[{index}]"
        label = f"{where}.{key}" if key else where
        return ScenarioError(self.path, self.lines.locate(section, index, key),
                             f"{label}: {reason}")

    # ------------------------------------------------------------ top level

    def scenario(self, data: Mapping[str, Any]) -> Scenario:
        from flight.emulation.board import DEFAULT_EPOCH, DEFAULT_SPEED
        from flight.emulation.rig import DELFT, HARTEBEESTHOEK

        for key in data:
            if key not in ("scenario", "stations", "link", "steps"):
                raise self.fail(key, None, None, "unknown table (known: scenario, stations, "
                                                 "link, steps)")
        head = self.table(data, "scenario", SCENARIO_KEYS)
        epoch = head.get("epoch", DEFAULT_EPOCH)
        if not isinstance(epoch, dt.datetime) or epoch.tzinfo is None:
            raise self.fail("scenario", None, "epoch",
                            "must be a date-time with its offset, e.g. 2022-04-19T19:41:00Z")
        speed = self.number(head, "scenario", None, "speed", DEFAULT_SPEED, positive=True)
        duration = self.number(head, "scenario", None, "duration", math.inf, positive=True)
        seed = head.get("seed", 1)
        if type(seed) is not int:
            raise self.fail("scenario", None, "seed", f"{seed!r} must be an integer")
        time_source = head.get("time_source", "gnss")
        if time_source not in TIME_SOURCES:
            raise self.fail("scenario", None, "time_source",
                            f"{time_source!r} must be one of {', '.join(TIME_SOURCES)}")
        for key in ("name", "description"):
            if not isinstance(head.get(key, ""), str):
                raise self.fail("scenario", None, key, "must be a string")
        stations = self.stations(data.get("stations")) or (HARTEBEESTHOEK, DELFT)
        link = self.table(data, "link", LINK_KEYS)
        for key in link:
            self.number(link, "link", None, key, 0.0, positive=key == "tx_power_w")
        steps = self.steps(data.get("steps"))
        return Scenario(self.path, head.get("name", Path(self.path).stem),
                        head.get("description", ""), epoch.astimezone(dt.UTC), speed, duration,
                        seed, time_source, stations, dict(link), steps)

    def table(self, data: Mapping[str, Any], name: str, known: frozenset[str]) -> dict[str, Any]:
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise self.fail(name, None, None, "must be a table ([name])")
        for key in table:
            if key not in known:
                raise self.fail(name, None, key, f"unknown key (known: {', '.join(sorted(known))})")
        return table

    def number(self, table: Mapping[str, Any], section: str, index: int | None, key: str,
               default: float, *, positive: bool = False, fraction: bool = False) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self.fail(section, index, key, f"{value!r} must be a number")
        if positive and not value > 0:
            raise self.fail(section, index, key, f"{value} must be positive")
        if fraction and not 0.0 <= value <= 1.0:
            raise self.fail(section, index, key, f"{value} must be in [0, 1]")
        return float(value)

    def stations(self, raw: Any) -> tuple[GroundStation, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise self.fail("stations", None, None, "must be an array of tables ([[stations]])")
        out = []
        for i, table in enumerate(raw):
            for key in table:
                if key not in STATION_KEYS:
                    raise self.fail("stations", i, key,
                                    f"unknown key (known: {', '.join(sorted(STATION_KEYS))})")
            for key in ("name", "lat_deg", "lon_deg"):
                if key not in table:
                    raise self.fail("stations", i, None, f"missing key {key!r}")
            if not isinstance(table["name"], str) or not table["name"]:
                raise self.fail("stations", i, "name", "must be a non-empty string")
            values = {k: self.number(table, "stations", i, k, d)
                      for k, d in (("lat_deg", 0.0), ("lon_deg", 0.0), ("alt_m", 0.0),
                                   ("mask_deg", 5.0))}
            try:
                out.append(GroundStation(table["name"], **values))
            except SimError as exc:
                raise self.fail("stations", i, None, str(exc)) from None
        names = [s.name for s in out]
        if len(set(names)) != len(names):
            raise self.fail("stations", None, None, f"station names must differ: {names}")
        return tuple(out)

    # ------------------------------------------------------------ steps

    def steps(self, raw: Any) -> tuple[Step, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail("steps", None, None, "a scenario needs steps ([[steps]] tables)")
        steps: list[Step] = []
        names: set[str] = set()
        for i, table in enumerate(raw):
            name = table.get("name")
            if not isinstance(name, str) or not name.strip():
                raise self.fail("steps", i, "name" if "name" in table else None,
                                "every step needs a name (a non-empty string)")
            if name in names:
                raise self.fail("steps", i, "name", f"step name {name!r} is used twice")
            action = table.get("action")
            try:
                kind = Action(action)
            except ValueError:
                raise self.fail("steps", i, "action" if "action" in table else None,
                                f"action {action!r} is not one of "
                                f"{', '.join(a.value for a in Action)}") from None
            required, optional = ACTION_KEYS[kind]
            for key in table:
                if key not in COMMON_KEYS | required | optional:
                    known = ", ".join(sorted(required | optional)) or "none"
                    raise self.fail("steps", i, key,
                                    f"unknown key for action {kind.value} (its keys: {known})")
            for key in sorted(required):
                if key not in table:
                    raise self.fail("steps", i, None, f"action {kind.value} needs {key!r}")
            trigger = self.trigger(table, i, names)
            self.check_params(kind, table, i)
            params = {k: v for k, v in table.items() if k not in COMMON_KEYS}
            steps.append(Step(name, kind, trigger, params,
                              self.lines.locate("steps", i, None)))
            names.add(name)
        return tuple(steps)

    def trigger(self, table: Mapping[str, Any], i: int, earlier: set[str]) -> Trigger:
        if "at" in table and "after" in table:
            raise self.fail("steps", i, "after", "give either at or after, not both")
        delay = self.number(table, "steps", i, "delay", 0.0) if "delay" in table else 0.0
        if "delay" in table and "after" not in table:
            raise self.fail("steps", i, "delay", "delay goes with after (at takes an offset)")
        if "after" in table:
            after = table["after"]
            if after not in earlier:
                raise self.fail("steps", i, "after",
                                f"{after!r} names no step before this one")
            if delay < 0:
                raise self.fail("steps", i, "delay", f"{delay} must not be negative")
            return Trigger(after=after, offset_s=delay)
        if "at" not in table:
            return Trigger()
        at = table["at"]
        if isinstance(at, dt.datetime):
            if at.tzinfo is None:
                raise self.fail("steps", i, "at", "a date-time needs its offset (Z for UTC)")
            return Trigger(utc=at.astimezone(dt.UTC))
        if isinstance(at, int | float) and not isinstance(at, bool):
            if at < 0:
                raise self.fail("steps", i, "at", f"{at} s must not be negative")
            return Trigger(clock_s=float(at))
        if isinstance(at, str):
            found = _TRIGGER.match(at.lower())
            if found is None:
                raise self.fail("steps", i, "at",
                                f"{at!r}: expected 'aos N' or 'los N' (+/- seconds), a UTC "
                                "date-time or clock seconds")
            number = int(found.group(2))
            if number < 1:
                raise self.fail("steps", i, "at", "passes are numbered from 1")
            offset = float(found.group(4) or 0.0) * (-1 if found.group(3) == "-" else 1)
            return Trigger(event=found.group(1), pass_number=number, offset_s=offset)
        raise self.fail("steps", i, "at", f"{at!r} is not a time")

    def check_params(self, kind: Action, table: Mapping[str, Any], i: int) -> None:
        if "timeout" in table:
            self.number(table, "steps", i, "timeout", 0.0, positive=True)
        for key in ("command", "param", "channel", "event", "prefix", "text"):
            if key in table and not isinstance(table[key], str):
                raise self.fail("steps", i, key, f"{table[key]!r} must be a string")
        if "args" in table and not isinstance(table["args"], list | dict):
            raise self.fail("steps", i, "args", "must be an array (by position) or a table "
                                                 "(by name)")
        if kind is Action.COMMAND and table.get("expect", "completed") not in EXPECT:
            raise self.fail("steps", i, "expect", f"must be one of {', '.join(EXPECT)}")
        if kind is Action.SCHEDULE:
            times = table["times"]
            if not isinstance(times, list) or not times:
                raise self.fail("steps", i, "times", "must be a non-empty array of date-times")
            for t in times:
                if not isinstance(t, dt.datetime) or t.tzinfo is None:
                    raise self.fail("steps", i, "times",
                                    f"{t!r} is not a date-time with its offset (Z for UTC)")
        if kind is Action.EXPECT_FILES:
            count = table["count"]
            if type(count) is not int or count < 1:
                raise self.fail("steps", i, "count", f"{count!r} must be a positive integer")
        if kind is Action.INJECT:
            if table["direction"] not in DIRECTIONS:
                raise self.fail("steps", i, "direction",
                                f"{table['direction']!r} must be one of {', '.join(DIRECTIONS)}")
            if "extra_ber" in table:
                ber = self.number(table, "steps", i, "extra_ber", 0.0)
                if not 0.0 <= ber <= 0.5:
                    raise self.fail("steps", i, "extra_ber", f"{ber} must be in [0, 0.5]")
            if "frame_loss" in table:
                self.number(table, "steps", i, "frame_loss", 0.0, fraction=True)
            if "outage" in table and type(table["outage"]) is not bool:
                raise self.fail("steps", i, "outage", "must be true or false")
        if kind is Action.GNSS_OUTAGE and type(table["on"]) is not bool:
            raise self.fail("steps", i, "on", "must be true or false")
        if kind is Action.WAIT:
            self.number(table, "steps", i, "seconds", 0.0, positive=True)
