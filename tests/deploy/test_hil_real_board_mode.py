"""The HIL suite's real-board mode, exercised without a board: an emulated board is started here,
on its own, in real time, and `pytest hil --board serial` is pointed at its pseudo-terminals with
the same flags a bench uses for USB-serial adapters wired to a real board (docs/hil.md). Without
a reset line the power-cut test must skip and say why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flight.emulation.board import EmulatedBoard
from hal.clock import SimClock
from hal.gpio import SimGpioChip
from hil.board import KEY_FILE, ResetLine, ResetLineError, SerialBoard

ROOT = Path(__file__).resolve().parents[2]
QUICK = ("hil/test_boot.py", "hil/test_commands.py", "hil/test_imaging.py", "hil/test_power_cut.py")
FULL_RUN_TIMEOUT_S = 900


def _run_hil(board: EmulatedBoard, tmp_path: Path, *selection: str) -> subprocess.CompletedProcess:
    dictionary = tmp_path / "dictionary.json"
    dictionary.write_text(json.dumps(board.dictionary().body))
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "--durations=0",
        "--board", "serial", "--radio-port", board.radio_port, "--gnss-port", board.gnss_port,
        "--key", str(board.nvm / KEY_FILE), "--dictionary", str(dictionary),
        "--deployment", str(board.deployment_path), *(selection or ("hil",)),
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          timeout=FULL_RUN_TIMEOUT_S, env=dict(os.environ, PYTHONUNBUFFERED="1"))


@pytest.fixture
def real_time_board(tmp_path: Path):
    with EmulatedBoard("refsat", tmp_path / "board", seed=2, speed=1.0) as board:
        board.wait_booted()
        yield board


def test_hil_suite_runs_on_serial_ports_given_on_the_command_line(real_time_board, tmp_path):
    result = _run_hil(real_time_board, tmp_path, *QUICK)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "5 passed, 1 skipped" in out, out
    assert "give --reset-gpio CHIP:LINE" in out  # the power-cut test says why it skipped


@pytest.mark.soak
def test_whole_hil_suite_in_real_board_mode(real_time_board, tmp_path):
    result = _run_hil(real_time_board, tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert " failed" not in out and "1 skipped" in out, out


def test_reset_line_holds_the_board_in_reset_for_a_power_cut():
    clock = SimClock()
    chip = SimGpioChip(clock, 8)
    line, _ = ResetLine.parse("sim-chip:3").request(chip)
    board = SerialBoard("/dev/ttyUSB0", "/dev/ttyUSB1", reset=line, hold_s=1.5, clock=clock)
    assert board.power_cut_unavailable is None and chip.level(3) is False
    board.power_cut()
    (start, high), (end, low) = chip.history(3)[-2:]
    assert (high, low) == (True, False) and end - start == pytest.approx(1.5)
    without = SerialBoard("/dev/ttyUSB0", "/dev/ttyUSB1")
    assert "--reset-gpio" in without.power_cut_unavailable
    with pytest.raises(RuntimeError, match="--reset-gpio"):
        without.power_cut()
    with pytest.raises(ResetLineError, match="CHIP:LINE"):
        ResetLine.parse("17")
