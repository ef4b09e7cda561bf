"""`flight emulate` end to end: the default scenario (what `make demo` plays) and a pass in which
the flight process dies twice, by a power cut and by a commanded reset (exit status 3)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

MAX_DEMO_WALL_S = 120.0
MAX_FLIGHT_RSS_MB = 60.0


def _emulate(tmp_path, *args: str, timeout: float = 300.0) -> tuple[subprocess.CompletedProcess,
                                                                      dict]:
    summary = tmp_path / "summary.json"
    r = subprocess.run(
        [sys.executable, "-m", "flight", "emulate", "--workdir", str(tmp_path / "run"),
         "--summary-json", str(summary), *args],
        capture_output=True, text=True, timeout=timeout,
    )
    assert summary.exists(), r.stdout + r.stderr
    return r, json.loads(summary.read_text())


def test_the_default_scenario_flies_two_passes_and_downlinks_the_campaign(tmp_path):
    r, s = _emulate(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert s["ok"] and s["steps"] and all(step["ok"] for step in s["steps"])
    assert len(s["passes"]) >= 2
    assert s["commands_sent"] == s["commands_verified"] >= 8 and s["commands_failed"] == 0
    assert s["telemetry_samples"] > 1000 and s["frames_received"] > 1000
    assert s["cadus_corrected_down"] > 0  # the low passes' bit errors, corrected
    assert s["files_verified"] == len(s["files"]) == 3
    assert all(f["name"].startswith("img/") and f["verified"] for f in s["files"])
    gnss = s["gnss"]
    assert gnss["fix"] == "FIX_3D" and gnss["satellites"] >= 4
    assert gnss["position_error_m"] < 100.0
    assert abs(gnss["time_error_s"]) < 2.0 and gnss["time_checks"] == 1  # COARSE, no PPS
    assert s["restarts"] == []
    assert 0 < s["flight_rss_mb"] < MAX_FLIGHT_RSS_MB
    assert s["wall_s"] < MAX_DEMO_WALL_S
    assert "Scenario two passes and an imaging campaign: PASSED" in r.stdout
    assert "3 of 3 downlinked and verified" in r.stdout
    assert "step images received" in r.stderr  # progress while it runs (plain lines: no TTY)
    assert "\r" not in r.stderr


KILLED_IN_A_PASS = textwrap.dedent("""\
    [scenario]
    name = "power cut and reset in a pass"
    speed = 40
    duration = 520
    time_source = "epoch"

    [[steps]]
    name = "acquisition"
    at = "aos 1"
    action = "acquire"
    timeout = 120

    [[steps]]
    name = "ping"
    action = "command"
    command = "cmd.no_op"

    [[steps]]
    name = "power cut"
    at = "aos 1 + 30"
    action = "kill"

    [[steps]]
    name = "back after the power cut"
    action = "acquire"
    timeout = 200

    [[steps]]
    name = "second boot"
    action = "await_telemetry"
    channel = "health.boot_count"
    value = 2
    timeout = 60

    [[steps]]
    name = "commanded reset"
    action = "command"
    command = "health.reset_software"
    expect = "sent"

    [[steps]]
    name = "third boot"
    action = "await_telemetry"
    channel = "health.boot_count"
    value = 3
    timeout = 200

    [[steps]]
    name = "ping again"
    action = "command"
    command = "cmd.no_op"
    """)


def test_the_flight_process_dying_in_a_pass_is_restarted_and_reported(tmp_path):
    scenario = tmp_path / "killed.toml"
    scenario.write_text(KILLED_IN_A_PASS)
    r, s = _emulate(tmp_path, "--scenario", str(scenario))
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert all(step["ok"] for step in s["steps"]), s["steps"]
    causes = [x["cause"] for x in s["restarts"]]
    assert causes == ["power cut", "watchdog reset (exit 3)"], s["restarts"]
    assert all(x["in_pass"] for x in s["restarts"])
    assert s["restarts"][0]["down_s"] >= 10.0  # the watchdog's time-out before the reset
    assert "flight software restarted: power cut" in r.stdout
    log = (tmp_path / "run" / "flight.log").read_text()
    assert log.count("--- boot ") == 3


def test_a_failing_step_makes_the_run_fail(tmp_path):
    scenario = tmp_path / "fails.toml"
    scenario.write_text(textwrap.dedent("""\
        [scenario]
        speed = 40
        duration = 200

        [[steps]]
        name = "acquisition"
        at = "aos 1"
        action = "acquire"

        [[steps]]
        name = "an unknown mode"
        action = "command"
        command = "modes.set_mode"
        args = ["warp"]
        expect = "completed"

        [[steps]]
        name = "a third pass"
        at = "aos 3"
        action = "note"
        text = "never reached"
        """))
    r, s = _emulate(tmp_path, "--scenario", str(scenario))
    assert r.returncode == 1
    ok = {step["name"]: step["ok"] for step in s["steps"]}
    assert ok == {"acquisition": True, "an unknown mode": False, "a third pass": False}
    assert "not in this run" in s["steps"][2]["detail"]
    assert "FAILED" in r.stdout
