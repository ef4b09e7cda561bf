"""The onboard-computer deployment (flight/deployments/refsat-pi.toml) and the systemd unit that
runs it (deploy/autonomous-sky.service): the file validates, mirrors refsat with real devices, and
boots when its devices are rebound to simulated ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from flight.cli import main
from flight.deployments import resolve, shipped
from flight.runtime.deployment import Deployment

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "autonomous-sky.service"
SIMULATED = {
    "radio": "sim://radio", "gnss": "sim://gnss", "gnss_pps": "sim://gpio:0",
    "watchdog": "sim://watchdog",
}  # fmt: skip


def _toml(name: str) -> dict:
    with open(resolve(name), "rb") as f:
        return tomllib.load(f)


def _far_ends(data: dict) -> set[str]:
    """Components that play a simulated device's far end (bound to a `sim://NAME?end=b` URL)."""
    hardware = data["hardware"]
    return {c["name"] for c in data["components"]
            if any("end=b" in hardware[h] for h in c.get("hardware", {}).values())}


def test_flight_dict_validates_refsat_pi(tmp_path):
    assert "refsat-pi" in shipped()
    out = tmp_path / "refsat-pi.json"
    assert main(["dict", "refsat-pi", "-o", str(out)]) == 0
    body = json.loads(out.read_text())
    assert body["deployment"] == "refsat-pi"
    assert Deployment.load(resolve("refsat-pi")).realtime_priority == 50


def test_refsat_pi_is_refsat_with_real_devices():
    ref, pi = _toml("refsat"), _toml("refsat-pi")
    dropped = _far_ends(ref)
    assert dropped == {"gnss_sky"}
    assert not _far_ends(pi)

    def shape(data: dict) -> tuple:
        comps = [(c["name"], c["class"], c["base_id"], c.get("hardware", {}))
                 for c in data["components"] if c["name"] not in dropped]
        groups = [(g["name"], [m for m in g["members"] if m not in dropped])
                  for g in data["rate_groups"]]
        links = [(c["from"], c["to"]) for c in data["connections"]
                 if {c["from"].split(".")[0], c["to"].split(".")[0]}.isdisjoint(dropped)]
        return comps, groups, links

    assert shape(pi) == shape(ref)
    device_keys = {"baudrate", "sik"}  # what a real UART and modem need differently
    for r, p in zip((c for c in ref["components"] if c["name"] not in dropped),
                    pi["components"], strict=True):
        strip = {"name", "class", "base_id", "hardware"} | device_keys
        assert {k: v for k, v in p.items() if k not in strip} == \
            {k: v for k, v in r.items() if k not in strip}, p["name"]
    hardware = pi["hardware"]
    assert set(hardware) == set(ref["hardware"]) - {"gnss_sky"}
    for name in ("radio", "gnss", "watchdog"):
        assert hardware[name].startswith("/dev/"), name
    chip, _, line = hardware["gnss_pps"].rpartition(":")
    assert chip.startswith("/dev/gpiochip") and line.isdigit()
    assert hardware["nvm"] == "/var/lib/autonomous-sky"


def test_refsat_pi_boots_with_its_devices_simulated(capsys):
    """Every component's settings for real hardware (the SiK table, baud rates, the real-time
    priority) are accepted at boot; only the bindings move to simulated devices."""
    binds = [f"--bind={name}={url}" for name, url in SIMULATED.items()]
    status = main(["run", "refsat-pi", "--sim", "--duration", "30", "--quiet",
                   "--bind", "nvm=mem://refsat-pi-test", *binds])
    out = capsys.readouterr()
    assert status == 0, out.err
    assert "refsat-pi: ran 30.0 s (simulated)" in out.out


def test_unit_runs_the_deployment_and_restarts_after_a_reset():
    text = UNIT.read_text()
    service = dict(
        line.split("=", 1) for line in text.replace("\\\n", "").splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert service["ExecStart"].split()[:3] == [
        "/opt/autonomous-sky/bin/flight", "run", "/etc/autonomous-sky/deployment.toml"]
    assert service["Restart"] == "always"
    assert service["SuccessExitStatus"] == "3"  # flight run's status after a reset
    assert service["StateDirectory"] == "autonomous-sky"
    assert int(service["LimitRTPRIO"]) >= Deployment.load(resolve("refsat-pi")).realtime_priority


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_unit_passes_systemd_analyze_verify(tmp_path):
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/autonomous-sky/bin/flight", "/bin/true"))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Unknown key" not in result.stderr and "Invalid" not in result.stderr, result.stderr
