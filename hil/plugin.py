"""The HIL rig as a pytest plugin: command-line options and the fixtures the suite uses.

    pytest hil                                   # an emulated board (the default)
    pytest hil --board serial --radio-port /dev/ttyUSB0 --gnss-port /dev/ttyUSB1 \\
        --key sdls-ground.key [--reset-gpio /dev/gpiochip0:17] [--dictionary refsat.json]

Fixtures (docs/hil.md):

- `bench`: the whole bench (`hil.bench.Bench`), opened once per session;
- `board`: the board (`hil.board.Board`): its ports, its clock, `power_cut()`, `stored_file()`;
- `rig`: the rig (`flight.emulation.rig.Rig`), for faults on the wire; every fault set in a
  test is cleared when the test ends;
- `ground`: the ground station (`flight.ground.station.GroundStation`) through the rig, identified
  and with COP-1 running;
- `gnss_feeder`: the rig's simulated receiver on the GNSS port (`GnssFeeder`);
- `dictionary`: the ground dictionary the station decodes with;
- `hil_options`: the parsed options (`hil.bench.BenchOptions`).

Option names do not clash with the rest of the repository's suite (`tests/conftest.py` has
`--run-soak`); they are registered by `hil/conftest.py`, which pytest loads first whenever `hil`
is on the command line or in `testpaths`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hil.bench import DEFAULT_SPEED, Bench, BenchOptions

BOARDS = ("emulated", "serial")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "hardware-in-the-loop rig (docs/hil.md)")
    group.addoption("--board", choices=BOARDS, default="emulated",
                    help="emulated: the flight software in its own process on pseudo-terminals "
                         "(default); serial: a real board wired to --radio-port and --gnss-port")
    group.addoption("--radio-port", metavar="DEVICE",
                    help="serial: the rig's end of the board's radio UART (e.g. /dev/ttyUSB0)")
    group.addoption("--gnss-port", metavar="DEVICE",
                    help="serial: the rig's end of the board's GNSS UART (e.g. /dev/ttyUSB1)")
    group.addoption("--reset-gpio", metavar="CHIP:LINE",
                    help="serial: GPIO line that holds the board in reset or off while "
                         "asserted (e.g. /dev/gpiochip0:17); without it power-cut tests skip")
    group.addoption("--reset-hold", type=float, default=1.0, metavar="SECONDS",
                    help="serial: how long a power cut holds the reset line (default 1.0)")
    group.addoption("--dictionary", metavar="FILE",
                    help="serial: the board's dictionary (flight dict); default: built from "
                         "--deployment")
    group.addoption("--key", metavar="FILE",
                    help="serial: the ground's SDLS key file (sdls-ground.key from the board)")
    group.addoption("--deployment", default="refsat", metavar="DEPLOYMENT",
                    help="the deployment the board runs (default refsat): link profile, radio "
                         "settings, and the dictionary unless --dictionary is given")
    group.addoption("--radio-baudrate", type=int, default=115_200, metavar="BAUD",
                    help="the radio UART's baud rate (default 115200, refsat's)")
    group.addoption("--gnss-baudrate", type=int, default=115_200, metavar="BAUD",
                    help="the GNSS UART's baud rate (default 115200, refsat's)")
    group.addoption("--hil-speed", type=float, default=DEFAULT_SPEED, metavar="N",
                    help="emulated: the board's clock runs N times real time (default "
                         f"{DEFAULT_SPEED:g})")
    group.addoption("--hil-seed", type=int, default=1, metavar="N",
                    help="seed of the rig's simulated receiver, channel and wire faults")


def options_from(config: pytest.Config) -> BenchOptions:
    def get(name: str) -> Any:
        return config.getoption(name)

    return BenchOptions(
        board=get("board"), radio_port=get("radio_port"), gnss_port=get("gnss_port"),
        reset_gpio=get("reset_gpio"), reset_hold_s=get("reset_hold"),
        dictionary=Path(get("dictionary")) if get("dictionary") else None,
        key=Path(get("key")) if get("key") else None, deployment=get("deployment"),
        radio_baudrate=get("radio_baudrate"), gnss_baudrate=get("gnss_baudrate"),
        speed=get("hil_speed"), seed=get("hil_seed"),
    )


def pytest_configure(config: pytest.Config) -> None:
    o = options_from(config)
    if o.board == "serial":
        missing = [flag for flag, value in (("--radio-port", o.radio_port),
                                            ("--gnss-port", o.gnss_port), ("--key", o.key))
                   if not value]
        if missing:
            raise pytest.UsageError(f"--board serial needs {', '.join(missing)} (docs/hil.md)")
        for path in (o.key, o.dictionary):
            if path is not None and not path.is_file():
                raise pytest.UsageError(f"{path}: no such file")
        if o.reset_gpio is not None and ":" not in o.reset_gpio:
            raise pytest.UsageError(f"--reset-gpio {o.reset_gpio!r}: expected CHIP:LINE")
    elif not o.speed > 0:
        raise pytest.UsageError(f"--hil-speed {o.speed}: must be positive")


def pytest_report_header(config: pytest.Config) -> str:
    o = options_from(config)
    if o.board == "serial":
        reset = o.reset_gpio or "none (power-cut tests skip)"
        return (f"hil: real board running {o.deployment}: radio {o.radio_port}, GNSS "
                f"{o.gnss_port}, reset line {reset}")
    return f"hil: emulated board running {o.deployment} at {o.speed:g}x real time"


@pytest.fixture(scope="session")
def hil_options(pytestconfig: pytest.Config) -> BenchOptions:
    return options_from(pytestconfig)


@pytest.fixture(scope="session")
def bench(hil_options: BenchOptions, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    opened = Bench(hil_options, tmp_path_factory.mktemp("hil")).open()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def board(bench: Bench) -> Any:
    return bench.board


@pytest.fixture
def rig(bench: Bench) -> Iterator[Any]:
    try:
        yield bench.rig
    finally:
        bench.clear_faults()


@pytest.fixture
def ground(bench: Bench) -> Any:
    restarted = bench.ensure_running()
    if restarted is not None:
        warnings.warn(restarted, stacklevel=1)
    assert bench.ground is not None
    return bench.ground


@pytest.fixture
def gnss_feeder(bench: Bench) -> Any:
    return bench.rig.gnss


@pytest.fixture
def dictionary(bench: Bench) -> Any:
    return bench.dictionary
