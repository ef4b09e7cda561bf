"""Leap-second files: the IERS/NTP `leap-seconds.list` and the JSON table, their faults, the
table in use for the whole process, and its expiry."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import hal.time as hal_time
from flight.runtime.errors import ConfigError, ReasonCode
from flight.runtime.executive import RateGroup
from flight.runtime.records import Severity, Stage, Verification
from flight.runtime.runtime import Runtime
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.products import FileCategory, ProductStore
from flight.svc.scheduler import Scheduler
from hal.clock import SimClock
from hal.storage import open_storage
from hal.time import (
    LEAP_SECONDS,
    MAX_LEAP_FILE_OCTETS,
    DisciplinedTime,
    LeapSecondFileError,
    LeapSecondTable,
    leap_seconds,
    tai_to_utc,
    use_leap_seconds,
    utc_to_tai,
)

TZDATA_LEAP_LIST = Path("/usr/share/zoneinfo/leap-seconds.list")
SHIPPED_JSON = Path(hal_time.__file__).with_name("leap_seconds.json")

# The head of the IERS file, as tzdata ships it (tabs, comments after the data), with an expiry
# of its own: 2334873600 is 1973-12-28, so the file knows TAI-UTC up to 12 s.
SAMPLE = """\
#	In the following text, the symbol '#' introduces
#	a comment, which continues from that symbol until
#	the end of the line.
#
#$	 2319321600
#@	2334873600
#
2272060800	10	# 1 Jan 1972
2287785600	11	# 1 Jul 1972

2303683200	12	# 1 Jan 1973
"""
SAMPLE_LINES = len(SAMPLE.splitlines())

# The data lines of IERS's leap-seconds.list updated 2025-07-07 (Bulletin C 70), with the hash
# IERS published for them: a known answer for the hash check.
IERS_BULLETIN_C_70 = """\
#$\t3960835200
#@\t3991593600
2272060800\t10 2287785600\t11 2303683200\t12 2335219200\t13 2366755200\t14 2398291200\t15
2429913600\t16 2461449600\t17 2492985600\t18 2524521600\t19 2571782400\t20 2603318400\t21
2634854400\t22 2698012800\t23 2776982400\t24 2840140800\t25 2871676800\t26 2918937600\t27
2950473600\t28 2982009600\t29 3029443200\t30 3076704000\t31 3124137600\t32 3345062400\t33
3439756800\t34 3550089600\t35 3644697600\t36 3692217600\t37
#h\t49db2447 571e5e1b 2f002a53 9c8da8e4 39b8e49e
"""


@pytest.fixture
def restore_table():
    """Put back the table in use after a test that changes it."""
    before = leap_seconds()
    yield
    use_leap_seconds(before)


def ntp(day: date) -> int:
    return (day - date(1900, 1, 1)).days * 86_400


def sample_with(*rows: tuple[date, int], expires: date) -> str:
    """An NTP list over the real entries up to 2017 and `rows` after them."""
    lines = [f"#@\t{ntp(expires)}"]
    for day, offset in [*zip(LEAP_SECONDS.starts, LEAP_SECONDS.tai_minus_utc_s, strict=True),
                        *rows]:
        lines.append(f"{ntp(day)}\t{offset}\t# {day}")
    return "\n".join(lines) + "\n"


# --- the NTP list ------------------------------------------------------------------------------


def test_ntp_list_sample_is_read_with_its_expiry():
    table = LeapSecondTable.parse(SAMPLE.encode(), "sample.list")
    assert table.starts[:3] == (date(1972, 1, 1), date(1972, 7, 1), date(1973, 1, 1))
    assert table.tai_minus_utc_s == (10, 11, 12)
    assert table.expires == date(1973, 12, 28)
    assert table.source == "sample.list"
    assert table.tai_minus_utc(datetime(1973, 12, 27, 23, 59, 59)) == 12
    assert table.is_expired(datetime(1973, 12, 28)) and not table.is_expired(datetime(1973, 12, 27))
    assert table.expiry_tai == utc_to_tai(datetime(1973, 12, 28), table)
    assert table.first_disagreement(LEAP_SECONDS) is None  # it only knows less


def test_ntp_list_with_crlf_lines_and_no_hash_is_read():
    table = LeapSecondTable.parse(SAMPLE.replace("\n", "\r\n"), "dos.list")
    assert table.tai_minus_utc_s == (10, 11, 12)


def test_the_iers_hash_is_checked_against_a_known_answer():
    lines = IERS_BULLETIN_C_70.splitlines()
    data = [" ".join(pair) for row in lines[2:-1]
            for pair in zip(*[iter(row.split())] * 2, strict=True)]
    text = "\n".join([*lines[:2], *data, lines[-1]]) + "\n"
    table = LeapSecondTable.parse(text, "iers.list")
    assert (table.starts, table.tai_minus_utc_s) == (LEAP_SECONDS.starts,
                                                     LEAP_SECONDS.tai_minus_utc_s)
    assert table.expires == LEAP_SECONDS.expires == date(2026, 6, 28)
    padded = text.replace("#h\t49db2447", "#h\t049db2447")
    assert LeapSecondTable.parse(padded, "iers.list") == table  # words are numbers, not text
    for damaged in (text.replace("3692217600 37", "3692217600 37\n3723753600 38"),
                    text.replace("#@\t3991593600", "#@\t4023129600"),
                    text.replace("#h\t49db2447", "#h\t49db2448")):
        with pytest.raises(LeapSecondFileError, match="does not match"):
            LeapSecondTable.parse(damaged, "iers.list")


@pytest.mark.skipif(not TZDATA_LEAP_LIST.exists(), reason="no tzdata leap-seconds.list here")
def test_the_systems_leap_seconds_list_checks_and_agrees_with_the_shipped_table():
    table = LeapSecondTable.load(TZDATA_LEAP_LIST)
    assert table.source == str(TZDATA_LEAP_LIST)
    assert table.first_disagreement(LEAP_SECONDS) is None
    n = len(LEAP_SECONDS.starts)
    assert table.starts[:n] == LEAP_SECONDS.starts
    assert table.tai_minus_utc_s[:n] == LEAP_SECONDS.tai_minus_utc_s
    text = TZDATA_LEAP_LIST.read_text()
    assert "#h" in text, "tzdata's copy carries the IERS hash, which was checked"
    # one TAI-UTC changed under the same hash: the hash says so
    tampered = re.sub(r"^(\d+\s+)37\b", r"\g<1>38", text, count=1, flags=re.M)
    assert tampered != text
    with pytest.raises(LeapSecondFileError, match="hash") as info:
        LeapSecondTable.parse(tampered, "tampered.list")
    assert info.value.line == text.splitlines().index(
        next(line for line in text.splitlines() if line.startswith("#h"))) + 1


BAD_FILES = {
    "no expiry": (SAMPLE.replace("#@\t2334873600\n", ""), "no expiry line", 0),
    "two expiries": (SAMPLE.replace("#@", "#@\t2334873600\n#@", 1), "second #@", 7),
    "expiry not midnight": (SAMPLE.replace("2334873600", "3660681601"), "not a midnight", 6),
    "expiry not a number": (SAMPLE.replace("2334873600", "soon"), "not NTP seconds", 6),
    "entry not midnight": (SAMPLE.replace("2287785600", "2287785601"), "not a midnight", 9),
    "three fields": (SAMPLE.replace("11\t#", "11 12\t#"), "3 fields", 9),
    "one field": (SAMPLE.replace("\t11\t", "\t"), "1 fields", 9),
    "offset not integer": (SAMPLE.replace("\t11\t", "\t11.5\t"), "not an integer", 9),
    "two seconds at once": (SAMPLE.replace("\t12\t", "\t13\t"), "not by one second", 11),
    "not first of month": (SAMPLE.replace("2303683200", str(ntp(date(1973, 1, 2)))),
                           "not the first of a month", 11),
    "out of order": (SAMPLE.replace("2303683200", str(ntp(date(1972, 6, 1)))),
                     "not the first of a month after", 11),
    "not from 1972": (SAMPLE.replace("2272060800", str(ntp(date(1971, 1, 1)))),
                      "not 1972-01-01", 8),
    "expires before last": (SAMPLE.replace("2334873600", str(ntp(date(1973, 1, 1)))),
                            "not after its last entry", 0),
    "no entries": ("#@\t2334873600\n", "no entries", 0),
    "hash not five words": (SAMPLE + "#h\t1234 zz\n", "not five hex words", SAMPLE_LINES + 1),
    "hash wrong": (SAMPLE + "#h\t1 2 3 4 5\n", "does not match", SAMPLE_LINES + 1),
    "year 10000": (SAMPLE.replace("2334873600", str(ntp(date(9999, 1, 1)) + 400 * 86400)),
                   "up to year 9999", 6),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_malformed_ntp_lists_are_refused_naming_the_line(name):
    text, detail, line = BAD_FILES[name]
    with pytest.raises(LeapSecondFileError, match=detail) as info:
        LeapSecondTable.parse(text, "bad.list")
    assert isinstance(info.value, ValueError)
    assert (info.value.source, info.value.line) == ("bad.list", line)


def test_oversized_and_binary_files_are_refused():
    with pytest.raises(LeapSecondFileError, match="octets"):
        LeapSecondTable.parse(b"#" * (MAX_LEAP_FILE_OCTETS + 1), "big")
    with pytest.raises(LeapSecondFileError, match="not ASCII"):
        LeapSecondTable.parse(SAMPLE.encode() + b"\xff", "binary")


@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_octets_give_a_table_or_a_leap_second_file_error(data):
    try:
        table = LeapSecondTable.parse(data, "fuzz")
    except LeapSecondFileError:
        return
    assert table.starts[0] == date(1972, 1, 1) and table.expires > table.starts[-1]


@given(st.lists(st.sampled_from(SAMPLE.splitlines()), max_size=20))
def test_shuffled_sample_lines_give_a_table_or_a_leap_second_file_error(lines):
    try:
        LeapSecondTable.parse("\n".join(lines), "shuffled")
    except LeapSecondFileError:
        pass


# --- the JSON table ------------------------------------------------------------------------------


def test_json_of_the_shipped_shape_is_read_and_the_shipped_table_is_the_file():
    assert LeapSecondTable.load(SHIPPED_JSON) == LEAP_SECONDS
    doc = json.loads(SHIPPED_JSON.read_text())
    doc["expires"] = "2026-12-28"
    later = LeapSecondTable.parse(json.dumps(doc).encode(), "later.json")
    assert later.expires == date(2026, 12, 28) and later.source == doc["source"]
    assert later.first_disagreement(LEAP_SECONDS) is None


@pytest.mark.parametrize("doc, detail", [
    ("{", "JSON"),
    ('{"entries": [], "expires": "2030-01-01"}', "no entries"),
    ('{"entries": [["1972-01-01", 10]]}', "JSON"),
    ('{"entries": [["1972-01-01", "10"]], "expires": "2030-01-01"}', "JSON"),
    ('{"entries": [["1972-01-01", 10.0]], "expires": "2030-01-01"}', "JSON"),
    ('{"entries": [["1972-13-01", 10]], "expires": "2030-01-01"}', "JSON"),
    ('{"entries": [["1972-01-01", 10], ["1972-07-01", 12]], "expires": "2030-01-01"}',
     "not by one second"),
    ('{"entries": 5, "expires": "2030-01-01"}', "JSON"),
    ('{"entries": ' + "[" * 60_000, "RecursionError"),
])
def test_malformed_json_tables_are_refused(doc, detail):
    with pytest.raises(LeapSecondFileError, match=detail):
        LeapSecondTable.parse(doc, "bad.json")


# --- the table in use ------------------------------------------------------------------------


def test_the_shipped_table_is_in_use_and_expired_today():
    assert leap_seconds() is LEAP_SECONDS
    assert LEAP_SECONDS.expires == date(2026, 6, 28)
    assert LEAP_SECONDS.is_expired(datetime(2026, 11, 27))
    assert LEAP_SECONDS.expiry_tai == utc_to_tai(datetime(2026, 6, 28))


def test_a_table_put_in_use_serves_every_conversion(restore_table):
    # A hypothetical leap second, for this test only: no such second has been announced.
    hypothetical = LeapSecondTable.parse(
        sample_with((date(2027, 1, 1), 38), expires=date(2027, 6, 28)), "test.list")
    discipline = DisciplinedTime(SimClock())
    after = datetime(2027, 1, 2)
    assert utc_to_tai(after) - utc_to_tai(after, LEAP_SECONDS) == 0
    assert use_leap_seconds(hypothetical) is LEAP_SECONDS
    assert leap_seconds() is hypothetical and discipline.table is hypothetical
    assert utc_to_tai(after) - utc_to_tai(after, LEAP_SECONDS) == 1
    assert tai_to_utc(utc_to_tai(after)) == after.replace(tzinfo=UTC)
    assert DisciplinedTime(SimClock(), table=LEAP_SECONDS).table is LEAP_SECONDS


def test_a_table_contradicting_the_shipped_one_is_never_put_in_use(restore_table):
    starts = [d for d in LEAP_SECONDS.starts if d != date(2017, 1, 1)]
    doc = {"entries": [[d.isoformat(), LEAP_SECONDS.tai_minus_utc(datetime.combine(
        d, datetime.min.time()))] for d in starts], "expires": "2027-06-28", "source": "bad"}
    wrong = LeapSecondTable.parse(json.dumps(doc), "wrong.json")
    assert wrong.first_disagreement(LEAP_SECONDS) == date(2017, 1, 1)
    with pytest.raises(LeapSecondFileError, match="2017-01-01 is 36 s, the shipped table says 37"):
        use_leap_seconds(wrong)
    assert leap_seconds() is LEAP_SECONDS


# --- in the runtime: the scheduler puts the table in use and reports its expiry ----------------

_disks = itertools.count()
TODAY = datetime(2026, 11, 27)


def later_table(expires: date, fmt: str) -> str:
    """The shipped entries with a later expiry, as a newer IERS list announcing no leap second
    would be (for these tests only: IERS has published no such list yet)."""
    if fmt == "ntp":
        return sample_with(expires=expires)
    doc = json.loads(SHIPPED_JSON.read_text())
    doc["expires"], doc["source"] = expires.isoformat(), "test table"
    return json.dumps(doc)


def satellite(at: datetime, disk: str | None = None, **sched: object) -> Runtime:
    """cmd, store and sched on `disk`, spacecraft time starting at UTC `at`."""
    rt = Runtime("leapsat", clock=SimClock(), tick_hz=10)
    hw = {"storage": disk or f"mem://leap-{next(_disks)}", "time": f"epoch:{at.isoformat()}Z"}
    rt.add(CommandDispatcher("cmd", 0x0400))
    rt.add(Scheduler("sched", 0x0A00), hardware=hw, config={"store": "store", **sched})
    rt.add(ProductStore("store", 0x0C00), hardware=hw, config={"quota_bytes": 1 << 20})
    rt.add_group(RateGroup("rg10hz", 0x0300, divisor=1), ["sched"])
    rt.events = []
    rt.bus.subscribe("sys.events", rt.events.append, depth=10_000)
    rt.boot()
    return rt


def send(rt: Runtime, name: str, *args: object) -> Verification:
    return rt.components["cmd"].dispatch(rt.command(name, *args))


def events(rt: Runtime, name: str) -> list[tuple]:
    rt.bus.pump()
    return [e.args for e in rt.events if rt.registry.events[e.event_id].name == name]


def test_an_expired_table_is_reported_at_boot(restore_table):
    rt = satellite(TODAY)
    assert leap_seconds() is LEAP_SECONDS
    assert rt.telemetry.get("sched.leap_table_expired") is True
    assert events(rt, "sched.leap_expired") == [(LEAP_SECONDS.source[-80:], "2026-06-28")]
    assert rt.registry.event("sched.leap_expired").event.severity is Severity.WARNING_HI
    rt.run(5.0)
    assert len(events(rt, "sched.leap_expired")) == 1, "once, not every cycle"


def test_a_table_expiring_in_flight_is_reported_when_it_does(restore_table):
    rt = satellite(datetime(2026, 6, 27, 23, 59, 58))
    assert rt.telemetry.get("sched.leap_table_expired") is False
    assert events(rt, "sched.leap_expired") == []
    rt.run(1.5)
    assert events(rt, "sched.leap_expired") == []
    rt.run(1.0)
    assert rt.telemetry.get("sched.leap_table_expired") is True
    assert len(events(rt, "sched.leap_expired")) == 1


@pytest.mark.parametrize("fmt", ["ntp", "json"])
def test_the_deployment_names_a_newer_leap_second_file(tmp_path, restore_table, fmt):
    path = tmp_path / f"leap-seconds.{fmt}"
    path.write_text(later_table(date(2027, 6, 28), fmt))
    rt = satellite(TODAY, leap_seconds=str(path))
    table = leap_seconds()
    assert table.expires == date(2027, 6, 28) and table.first_disagreement(LEAP_SECONDS) is None
    assert rt.telemetry.get("sched.leap_table_expired") is False
    assert events(rt, "sched.leap_expired") == []
    assert events(rt, "sched.leap_loaded") == [(table.source[-80:], 37, "2027-06-28")]


@pytest.mark.skipif(not TZDATA_LEAP_LIST.exists(), reason="no tzdata leap-seconds.list here")
def test_the_deployment_may_name_the_systems_tzdata_list(restore_table):
    rt = satellite(TODAY, leap_seconds=str(TZDATA_LEAP_LIST))
    system = LeapSecondTable.load(TZDATA_LEAP_LIST)
    if system.expires > LEAP_SECONDS.expires:  # tzdata newer than this software
        assert leap_seconds() == system
    else:  # as old as the shipped table (or older): the shipped one stays in use
        assert leap_seconds() is LEAP_SECONDS
    assert rt.telemetry.get("sched.leap_table_expired") is leap_seconds().is_expired(TODAY)


@pytest.mark.parametrize("content, reason", [
    (None, "No such file"),
    ("#@ 1\n", "not a midnight"),
    (json.dumps({"entries": [["1972-01-01", 10]], "expires": "2030-01-01"}),
     "contradicts the shipped table on 1972-07-01"),
])
def test_a_bad_deployment_file_is_refused_and_the_shipped_table_used(tmp_path, restore_table,
                                                                     content, reason):
    path = tmp_path / "leap-seconds.list"
    if content is not None:
        path.write_text(content)
    rt = satellite(TODAY, leap_seconds=str(path))
    assert leap_seconds() is LEAP_SECONDS
    [(source, why)] = events(rt, "sched.leap_rejected")
    assert source == str(path)[-80:] and reason in why
    assert rt.telemetry.get("sched.leap_table_expired") is True
    rt.run(1.0)
    assert rt.components["sched"].health.name == "OK"


def test_the_leap_seconds_setting_must_be_a_path():
    rt = Runtime("leapsat", clock=SimClock(), tick_hz=10)
    with pytest.raises(ConfigError, match="leap_seconds"):
        rt.add(Scheduler("sched", 0x0A00), config={"leap_seconds": 5})


def test_a_table_uplinked_to_the_store_is_loaded_by_command_and_kept(restore_table):
    disk = f"mem://leap-{next(_disks)}"
    rt = satellite(TODAY, disk)
    store = rt.components["store"]
    good = later_table(date(2027, 6, 28), "ntp").encode()
    for path, data in [("cfg/leap-seconds.list", good), ("cfg/broken.list", b"#@ 12\n"),
                       ("cfg/old.list", later_table(date(2026, 6, 28), "ntp").encode())]:
        store.write(path, data, category=FileCategory.UPLINK, priority=1)
    for bad, reason in [("cfg/broken.list", ReasonCode.EXECUTION_FAILED),
                        ("cfg/old.list", ReasonCode.EXECUTION_FAILED),
                        ("cfg/none.list", ReasonCode.NOT_FOUND)]:
        report = send(rt, "sched.load_leap_seconds", bad)
        assert (report.stage, report.reason) == (Stage.COMPLETION_FAILED, reason), bad
    rejected = events(rt, "sched.leap_rejected")
    assert [source for source, _ in rejected] == ["cfg/broken.list", "cfg/old.list"]
    assert "not a midnight" in rejected[0][1] and "not after the table in use" in rejected[1][1]
    assert [file for file, _ in events(rt, "sched.load_rejected")] == ["cfg/none.list"]
    assert leap_seconds() is LEAP_SECONDS
    report = send(rt, "sched.load_leap_seconds", "cfg/leap-seconds.list")
    assert report.stage is Stage.COMPLETED
    assert leap_seconds().expires == date(2027, 6, 28)
    assert rt.telemetry.get("sched.leap_table_expired") is False
    assert events(rt, "sched.leap_loaded") == [("cfg/leap-seconds.list", 37, "2027-06-28")]
    again = send(rt, "sched.load_leap_seconds", "cfg/leap-seconds.list")
    assert again.failed, "the same table again is not newer"
    rt.shutdown()
    use_leap_seconds(LEAP_SECONDS)  # as a new process would start
    rebooted = satellite(TODAY, disk)
    assert leap_seconds().expires == date(2027, 6, 28)
    assert rebooted.telemetry.get("sched.leap_table_expired") is False
    assert events(rebooted, "sched.leap_loaded") == [("sched.leap", 37, "2027-06-28")]
    assert events(rebooted, "sched.leap_expired") == []


def test_a_damaged_kept_table_is_refused_at_boot(restore_table):
    disk = f"mem://leap-{next(_disks)}"
    open_storage(disk).save("sched.leap", b"#@ not a time\n")
    rt = satellite(TODAY, disk)
    assert leap_seconds() is LEAP_SECONDS
    assert [s for s, _ in events(rt, "sched.leap_rejected")] == ["sched.leap"]
    assert rt.telemetry.get("sched.leap_table_expired") is True
