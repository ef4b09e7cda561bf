"""The emulated board: the flight software in its own process, UARTs on pseudo-terminals held
through pyserial, power cuts and restarts on the same storage."""

from __future__ import annotations

import time
import tomllib

import pytest
import serial

from flight.deployments import resolve
from flight.emulation.board import BoardError, EmulatedBoard, emulated_deployment
from flight.emulation.clock import ScaledClock
from flight.svc.watchdog import BootLog
from hal.storage import open_storage

UBX_CFG = b"\xb5\x62\x06"  # a UBX configuration message: sync, class CFG
ASM = bytes.fromhex("1ACFFC1D")  # the attached sync marker that starts each CADU


def _read_until(port: serial.Serial, needle: bytes, timeout: float) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while needle not in data and time.monotonic() < deadline:
        data += port.read(4096)
    return data


def _boots(board: EmulatedBoard) -> int:
    log = BootLog(open_storage(str(board.nvm)))
    log.load()
    assert log.previous is not None
    return log.previous.boots


def test_scaled_clock_is_shared_through_its_origin():
    a = ScaledClock(50.0)
    b = ScaledClock(50.0, a.origin)
    t = a.monotonic()
    assert abs(b.monotonic() - t) < 0.05 * 50
    a.sleep_until(t + 5.0)  # five clock seconds: a tenth of a host second
    assert b.monotonic() >= t + 5.0
    assert a.host_time(a.monotonic()) == pytest.approx(time.monotonic(), abs=0.01)
    assert not a.wait_for(lambda: False, a.monotonic() + 1.0)
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(0.0)


def test_emulated_deployment_drops_the_simulated_far_ends():
    with open(resolve("refsat"), "rb") as f:
        data = tomllib.load(f)
    out = emulated_deployment(data, speed=20.0)
    names = [c["name"] for c in out["components"]]
    assert "gnss_sky" in [c["name"] for c in data["components"]]
    assert "gnss_sky" not in names and {"gnss", "radio", "uplink", "downlink"} <= set(names)
    gnss = next(c for c in out["components"] if c["name"] == "gnss")
    assert gnss["read_timeout_s"] == pytest.approx(1.0 / 20.0)
    assert data == tomllib.load(open(resolve("refsat"), "rb"))  # the input is left as it was


def test_board_boots_with_its_uarts_on_ptys_and_survives_a_power_cut(tmp_path):
    with EmulatedBoard("refsat", tmp_path, seed=3, speed=20.0) as board:
        assert board.radio_hardware == "radio" and board.gnss_hardware == "gnss"
        assert board.radio_port.startswith("/dev/pts/") and board.gnss_port.startswith("/dev/")
        board.wait_booted()
        assert board.alive and board.boots == 1 and board.pid is not None
        with serial.Serial(board.radio_port, 115200, timeout=0.2) as radio, \
                serial.Serial(board.gnss_port, 115200, timeout=0.2) as gnss:
            assert ASM in _read_until(radio, ASM, 10.0)  # CADUs from the flight's radio
            assert UBX_CFG in _read_until(gnss, UBX_CFG, 10.0)  # its receiver configuration
            first_pid = board.pid
            board.kill()
            assert not board.alive and board.returncode == -9
            radio.reset_input_buffer()
            board.restart()
            board.wait_booted()
            assert board.alive and board.pid != first_pid and board.boots == 2
            assert ASM in _read_until(radio, ASM, 10.0)  # the same rig ports, the new process
        assert _boots(board) == 2  # the same non-volatile storage
        assert "reset cause 3" in board.log_since_boot()  # UNKNOWN: it was running, then gone
        assert board.stop() == 0
        assert not board.alive
    text = (tmp_path / "flight.log").read_text()
    assert text.count("--- boot ") == 2 and "executive.stopped" in text


def test_board_reports_a_flight_process_that_cannot_boot(tmp_path):
    board = EmulatedBoard("refsat", tmp_path, speed=10.0, extra_args=["--realtime-priority", "0"])
    with board, pytest.raises(BoardError, match="exited with status 2"):
        board.wait_booted()
    with pytest.raises(BoardError, match="not been started"):
        _ = EmulatedBoard("refsat", tmp_path).radio_port


def test_flight_run_on_the_shared_clock_and_its_usage_errors(tmp_path):
    import subprocess
    import sys

    import tomli_w

    with open(resolve("refsat"), "rb") as f:
        deployment = emulated_deployment(tomllib.load(f), 50.0)
    path = tmp_path / "refsat.toml"
    path.write_bytes(tomli_w.dumps(deployment).encode())
    clock = ScaledClock(50.0)
    base = [sys.executable, "-m", "flight", "run", str(path), "--bind", f"nvm={tmp_path}/nvm",
            "--quiet"]
    r = subprocess.run(base + ["--speed", "50", "--clock-origin", repr(clock.origin),
                               "--epoch", "2022-04-19T19:41:00Z", "--duration", "20"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert " s (scaled) in " in r.stdout  # ticks it fell behind on are skipped, not counted
    assert clock.monotonic() > 20.0  # the run ended on the clock the test follows
    for bad in (["--sim", "--clock-origin", "1"], ["--speed", "2"],
                ["--clock-origin", "1", "--epoch", "yesterday"]):
        r = subprocess.run(base + bad, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, (bad, r.stderr)
