"""Scenario files: the shipped default, and every kind of mistake reported with its line."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import textwrap

import pytest

from flight.emulation.report import StatusLine, StatusSnapshot, format_status
from flight.emulation.rig import PassState
from flight.emulation.scenario import Action, ScenarioError, default_path, load, parse

GOOD = textwrap.dedent("""\
    [scenario]
    name = "short"
    epoch = 2022-04-19T19:41:00Z
    speed = 30
    duration = 600

    [[stations]]
    name = "Delft"
    lat_deg = 51.999
    lon_deg = 4.373

    [[steps]]
    name = "acquire"
    at = "aos 1 + 5"
    action = "acquire"

    [[steps]]
    name = "ping"
    action = "command"
    command = "cmd.no_op"

    [[steps]]
    name = "later"
    after = "ping"
    delay = 10
    action = "wait"
    seconds = 2.5

    [[steps]]
    name = "campaign"
    at = 2022-04-19T19:55:00Z
    action = "schedule"
    command = "imager.capture"
    args = ["x", 1]
    times = [2022-04-19T19:56:00Z]
    """)


def test_the_default_scenario_has_two_passes_and_a_campaign_between():
    sc = load(default_path())
    assert sc.epoch == dt.datetime(2022, 4, 19, 19, 41, tzinfo=dt.UTC)
    assert [s.name for s in sc.stations] == ["Hartebeesthoek", "Delft"]
    actions = [s.action for s in sc.steps]
    assert actions.count(Action.ACQUIRE) == 2 and Action.EXPECT_FILES in actions
    campaign = next(s for s in sc.steps if s.params.get("command") == "imager.capture")
    assert campaign.action is Action.SCHEDULE and len(campaign.params["times"]) == 3
    assert {s.trigger.pass_number for s in sc.steps if s.trigger.event} == {1, 2}


def test_a_good_scenario_parses_with_its_triggers():
    sc = parse(GOOD, "good.toml")
    assert (sc.name, sc.speed, sc.duration, sc.seed, sc.time_source) == (
        "short", 30.0, 600.0, 1, "gnss")
    acquire, ping, later, campaign = sc.steps
    assert (acquire.trigger.event, acquire.trigger.pass_number, acquire.trigger.offset_s) == (
        "aos", 1, 5.0)
    assert ping.trigger.describe() == "next" and ping.line == 17
    assert (later.trigger.after, later.trigger.offset_s) == ("ping", 10.0)
    assert campaign.trigger.utc == dt.datetime(2022, 4, 19, 19, 55, tzinfo=dt.UTC)
    assert sc.stations[0].mask_deg == 5.0
    assert later.timeout == 60.0


@pytest.mark.parametrize(("edit", "line", "reason"), [
    (("[[steps]]\nname = \"ping\"", "[[steps]]\nname = \"ping"), 18, "TOML syntax"),
    (("action = \"wait\"", "action = \"dance\""), 26, "action 'dance' is not one of"),
    (("seconds = 2.5", "secs = 2.5"), 27, "unknown key for action wait"),
    (("command = \"cmd.no_op\"", "# no command"), 17, "action command needs 'command'"),
    (("at = \"aos 1 + 5\"", "at = \"sunrise\""), 14, "expected 'aos N' or 'los N'"),
    (("at = \"aos 1 + 5\"", "at = \"aos 0\""), 14, "numbered from 1"),
    (("after = \"ping\"", "after = \"campaign\""), 24, "names no step before this one"),
    (("name = \"later\"", "name = \"ping\""), 23, "step name 'ping' is used twice"),
    (("speed = 30", "speed = -2"), 4, "must be positive"),
    (("epoch = 2022-04-19T19:41:00Z", "epoch = 2022-04-19T19:41:00"), 3, "with its offset"),
    (("lat_deg = 51.999", "lat_deg = 151.999"), 7, "off the globe"),
    (("times = [2022-04-19T19:56:00Z]", "times = [\"soon\"]"), 35, "not a date-time"),
    (("delay = 10", "delay = \"ten\""), 25, "must be a number"),
    (("args = [\"x\", 1]", "args = 5"), 34, "array (by position) or a table"),
    (("[scenario]", "[scenery]\n[scenario]"), 1, "unknown table"),
    (("duration = 600", "duration = 600\ncolour = 3"), 6, "unknown key"),
])
def test_each_mistake_is_reported_with_its_line_and_reason(edit, line, reason):
    old, new = edit
    assert old in GOOD
    with pytest.raises(ScenarioError) as info:
        parse(GOOD.replace(old, new, 1), "bad.toml")
    assert info.value.line == line, str(info.value)
    assert reason in info.value.reason
    assert str(info.value).startswith(f"bad.toml:{line}: ")


def test_a_scenario_without_steps_or_file_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match="needs steps"):
        parse("[scenario]\nname = \"x\"\n")
    with pytest.raises(ScenarioError, match="No such file"):
        load(tmp_path / "missing.toml")
    (tmp_path / "latin1.toml").write_bytes(b"# caf\xe9\n")
    with pytest.raises(ScenarioError, match="UTF-8"):
        load(tmp_path / "latin1.toml")


def test_flight_emulate_refuses_a_bad_scenario_with_exit_status_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("action = \"wait\"", "action = \"dance\""))
    r = subprocess.run([sys.executable, "-m", "flight", "emulate", "--scenario", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert f"{bad}:26: steps[2].action: action 'dance' is not one of" in r.stderr
    r = subprocess.run([sys.executable, "-m", "flight", "emulate", "--speed", "-1"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "positive" in r.stderr


def _snapshot(**changes):
    base = dict(utc=dt.datetime(2022, 4, 19, 19, 44, 2, tzinfo=dt.UTC),
                link=PassState("Hartebeesthoek", True, 9.8, 1800.0, 1e-3, None),
                frames_down=512, rs_corrected=371, frames_up=7, commands_sent=4,
                commands_verified=4, telemetry=1630, files=0, step="ping", flight_up=True)
    base.update(changes)
    return StatusSnapshot(**base)


def test_status_line_in_place_on_a_terminal_and_plain_lines_otherwise():
    text = format_status(_snapshot())
    assert text.startswith("19:44:02 UTC  AOS Hartebeesthoek el  9.8 deg  down 512 fr, RS 371")
    assert "cmd 4/4" in text and text.endswith("ping")
    assert "FLIGHT DOWN" in format_status(_snapshot(flight_up=False))
    tty, plain = io.StringIO(), io.StringIO()
    on_tty, in_log = StatusLine(tty, tty=True), StatusLine(plain, tty=False)
    for line in (on_tty, in_log):
        line.update(_snapshot(), force=True)
        line.message("step ping (command)")
        line.update(_snapshot(telemetry=1700), force=True)
        line.close()
    assert tty.getvalue().startswith("\r19:44:02 UTC") and tty.getvalue().count("\n") == 2
    assert "\r" not in plain.getvalue() and plain.getvalue().count("\n") == 3
    in_log.update(_snapshot())  # within the period of plain lines: nothing more
    assert plain.getvalue().count("\n") == 3
