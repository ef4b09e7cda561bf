"""The reference satellite: dictionary, command line, and reproducible simulated runs."""

import hashlib
import json
import os
import struct
import subprocess
import sys

from flight.cli import main
from flight.deployments import resolve, shipped
from flight.runtime import dictionary
from flight.runtime.component import Health
from flight.runtime.deployment import Deployment
from flight.runtime.records import Command, Stage
from flight.runtime.topics import EVENTS
from flight.sensors import CircularOrbit
from hal.clock import SimClock

_n = iter(range(10**6))


def boot_refsat(seed=None, illumination=None):
    dep = Deployment.load(resolve("refsat"))
    rt = dep.build(clock=SimClock(), bindings={"nvm": f"mem://refsat-test-{next(_n)}"}, seed=seed,
                   illumination=illumination)
    rt.packets = []
    rt.bus.subscribe("hk.packets", rt.packets.append, depth=100_000)
    rt.events = []
    rt.bus.subscribe(EVENTS, rt.events.append, depth=100_000)
    dep.boot(rt)
    return rt


def telemetry_digest(rt):
    h = hashlib.sha256()
    for p in rt.packets:
        h.update(json.dumps([p.time, p.sid, p.priority]).encode() + p.pack())
    return h.hexdigest()


def test_refsat_is_shipped():
    assert "refsat" in shipped()
    assert resolve("refsat").endswith("refsat.toml")


def test_same_seed_same_telemetry_byte_for_byte():
    runs = []
    for _ in range(2):
        rt = boot_refsat(seed=7)
        rt.run(1200.0)
        runs.append((telemetry_digest(rt), [(e.event_id, e.time, e.args) for e in rt.events]))
    assert runs[0] == runs[1]
    other = boot_refsat(seed=8)
    other.run(1200.0)
    assert telemetry_digest(other) != runs[0][0]


def test_housekeeping_rates_and_layout():
    rt = boot_refsat()
    rt.run(60.0)
    by_sid = {}
    for p in rt.packets:
        by_sid.setdefault(p.sid, []).append(p)
    assert {sid: len(ps) for sid, ps in by_sid.items()} == {1: 6, 2: 60, 3: 12, 4: 2, 5: 12, 6: 12}
    d = dictionary.build(rt)
    power = next(p for p in d["packets"] if p["name"] == "power")
    assert power["length"] == len(by_sid[2][0].pack())
    values = struct.unpack(power["layout"], by_sid[2][-1].payload)
    assert len(values) == len(power["channels"]) == 7
    assert 6.0 < values[0] < 8.5 and values[5] in (True, False)


def test_eclipse_follows_the_orbit_and_the_illumination_seam():
    rt = boot_refsat()
    rt.run(5640.0)
    names = [rt.registry.events[e.event_id].name for e in rt.events]
    entry = [e.time for e in rt.events if rt.registry.events[e.event_id].name
             == "power.eclipse_entry"]
    assert "power.eclipse_exit" in names
    assert entry and abs(entry[0] - (5640 / 2 - 0.36 * 5640 / 2)) < 10
    always_dark = boot_refsat(illumination=CircularOrbit(eclipse_fraction=0.99))
    always_dark.run(60.0)
    assert not always_dark.telemetry.get("power.in_sun")


def test_commands_and_a_failing_sensor_in_refsat():
    rt = boot_refsat()
    rt.run(10.0)
    cmd = rt.components["cmd"]
    assert cmd.dispatch(rt.command("thermal.set_heater_mode", 2)).stage is Stage.COMPLETED
    assert cmd.dispatch(rt.command("thermal.set_heater_mode", 9)).stage is Stage.ACCEPTANCE_FAILED
    assert cmd.dispatch(Command(0xBEEF).pack()).stage is Stage.ACCEPTANCE_FAILED
    rt.run(2.0)
    assert rt.telemetry.get("thermal.heater_on") is True
    sim = rt.resources["simulation"]
    sim.device("sim://eps").fail()
    rt.run(120.0)
    fails = [e for e in rt.events if rt.registry.events[e.event_id].name == "power.read_failed"]
    assert len(fails) == 5  # throttled: a dead sensor cannot flood the downlink
    assert rt.telemetry.get("power.read_errors") == 1200
    assert rt.components["power"].health is Health.WARNING
    assert rt.telemetry.get("health.worst") == Health.WARNING
    sim.device("sim://eps").recover()
    assert cmd.dispatch(rt.command("health.clear_health", "power")).stage is Stage.COMPLETED
    rt.run(2.0)
    assert rt.telemetry.get("health.worst") == Health.OK


def test_dictionary_is_complete_and_hashed(tmp_path):
    out = tmp_path / "refsat.json"
    assert main(["dict", "refsat", "-o", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["deployment"] == "refsat" and dictionary.verify(d)
    names = {c["name"]: c for c in d["commands"]}
    assert names["cmd.no_op"]["opcode"] == 0x0400
    assert names["prmdb.set_param"]["args"][0] == {"name": "param_id", "type": "U32", "min": 0,
                                                   "max": 2**32 - 1}
    assert {c["name"] for c in d["channels"]} >= {"power.bus_volts", "rg10hz.cycle_slips",
                                                  "bus.dropped", "executive.dictionary_id"}
    ev = next(e for e in d["events"] if e["name"] == "power.undervoltage")
    assert ev["severity"] == "WARNING_HI" and [a["name"] for a in ev["args"]] == ["volts", "limit"]
    prm = next(p for p in d["parameters"] if p["name"] == "thermal.heater_on_c")
    assert prm["default"] == 5.0 and prm["type"]["min"] == -20.0
    assert d["enums"]["HeaterMode"] == {"AUTO": 0, "OFF": 1, "ON": 2}
    assert d["codes"]["stage"]["COMPLETED"] == 7
    assert d["types"]["I16"] == {"kind": "integer", "signed": True, "octets": 2, "struct": ">h",
                                 "min": -32768, "max": 32767}
    ids = [c["opcode"] for c in d["commands"]]
    assert len(ids) == len(set(ids))
    d["commands"][0]["opcode"] += 1
    assert not dictionary.verify(d)


def test_the_satellite_reports_the_dictionary_hash():
    rt = boot_refsat()
    rt.run(1.0)
    d = dictionary.build(rt)
    assert rt.dictionary_hash == d["hash"]
    assert rt.telemetry.get("executive.dictionary_id") == int(d["hash"][:8], 16)
    reported = [e for e in rt.events if rt.registry.events[e.event_id].name
                == "executive.dictionary"]
    assert reported[0].args == ("refsat", d["hash"])


def _cli_run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "flight", "run", "refsat", "--quiet", *args],
        capture_output=True, text=True, timeout=120, env=env,
    )


def test_flight_run_is_reproducible_across_processes():
    outs = []
    for hashseed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        r = _cli_run("--sim", "--duration", "300", "--bind", "nvm=mem://cli", env=env)
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout.split("telemetry digest ")[1].split(",")[0])
    assert outs[0] == outs[1]
    r = _cli_run("--sim", "--duration", "300", "--bind", "nvm=mem://cli", "--seed", "43")
    assert r.stdout.split("telemetry digest ")[1].split(",")[0] != outs[0]


def test_flight_entry_point_and_usage_errors(tmp_path):
    flight = os.path.join(os.path.dirname(sys.executable), "flight")
    r = subprocess.run([flight, "run", "refsat", "--sim", "--duration", "2", "--bind",
                        f"nvm={tmp_path}/nvm"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "executive.started" in r.stdout and "ran 2.0 s (simulated)" in r.stdout
    assert (tmp_path / "nvm").is_dir()
    assert _cli_run("--speed", "2").returncode == 2
    assert _cli_run("--sim", "--bind", "nvm").returncode == 2
    assert _cli_run("--sim", "--duration", "-1").returncode == 2
    assert _cli_run("--sim", "--bind", "radio=/dev/null").returncode == 2


def test_real_time_run_stops_cleanly_on_sigterm_and_keeps_its_log(tmp_path):
    import signal
    import time

    child = subprocess.Popen(
        [sys.executable, "-m", "flight", "run", "refsat", "--bind", f"nvm={tmp_path}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 30
    while not any(n.startswith("events.") for n in os.listdir(tmp_path)):
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.05)
    time.sleep(1.2)
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert "executive.stopped" in out and "(real time)" in out
    from hal.storage import RecordLog, open_storage

    log = RecordLog(open_storage(str(tmp_path)).backend, "events", max_bytes=262144)
    assert len(log) >= 4  # the boot events, flushed by the event log
