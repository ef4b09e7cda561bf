"""The HIL bench: a board, the rig on its two UARTs, and a ground station through the rig.

    board UART (radio) <-> rig: channel + wire faults + CADU tap <-> pty <-> ground radio
    board UART (GNSS)  <-> rig: simulated receiver (NMEA/UBX out, UBX configuration in)

Everything follows the board's clock: the rig's receiver and radio channel, the ground's COP-1
timers and every time-out a test gives. For an emulated board that clock is the `ScaledClock` the
flight process runs on (`--hil-speed` times real time); for a real board it is real time. A test
therefore writes its time-outs in the board's seconds and runs unchanged on both.

The ground station is a `flight.ground.station.GroundStation` with its own `RadioTransport` on the
rig's ground port, a CFDP entity receiving files into a folder, and COP-1 timer T1 long enough for
a loaded host. After the board loses power it boots with a new FARM-1 and an SDLS sequence number
reserved ahead; the station notices the reboot in housekeeping and resynchronizes by itself
(`GroundStation.await_reboot`), so one ground session lasts the whole suite.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from drivers.radio.driver import TransparentConfig
from flight.deployments import resolve
from flight.emulation.board import DEFAULT_EPOCH, EmulatedBoard
from flight.emulation.clock import ScaledClock
from flight.emulation.rig import Rig
from flight.ground.dictionary import GroundDictionary
from flight.ground.files import GroundFiles
from flight.ground.link import GroundLink
from flight.ground.station import GroundStation
from flight.ground.transport import RadioTransport
from flight.link.devkeys import GroundKeys, read_key_file
from flight.link.profile import LinkProfile
from flight.runtime import dictionary as runtime_dictionary
from flight.runtime.deployment import Deployment
from hal.clock import SimClock
from hil.board import Board, EmulatedBoardControl, ResetLine, SerialBoard

RADIO_INSTANCE: Final = "radio"
STORE_CLASS: Final = "flight.svc.products:ProductStore"
NVM_BINDING: Final = "nvm"
GROUND_T1_S: Final = 6.0
"""COP-1 retransmission timer (board seconds): a few round trips of the slowest link the suite
runs (frame loss, a loaded host) so that a late CLCW is not taken for a lost frame."""
IDENTIFY_TIMEOUT_S: Final = 60.0
DEFAULT_SPEED: Final = 5.0
"""An emulated board's clock against real time: fast enough for the suite to take about a
minute and a half, slow enough that a host shared with other work does not starve the flight
process for a simulated watchdog period (10 s of board time is 2 s here)."""


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """What the command line says about the bench (see `hil.plugin` for the options)."""

    board: str = "emulated"
    radio_port: str | None = None
    gnss_port: str | None = None
    reset_gpio: str | None = None
    reset_hold_s: float = 1.0
    dictionary: Path | None = None
    key: Path | None = None
    deployment: str = "refsat"
    radio_baudrate: int = 115_200
    gnss_baudrate: int = 115_200
    speed: float = DEFAULT_SPEED
    seed: int = 1


class Bench:
    """Opens the board, the rig and the ground station; `close()` releases them in reverse."""

    def __init__(self, options: BenchOptions, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        self.emulated: EmulatedBoard | None = None
        self.board: Board
        self.rig: Rig
        self.dictionary: GroundDictionary
        self.profile: LinkProfile
        self.keys: GroundKeys
        self.ground: GroundStation | None = None
        self.sessions = 0  # ground sessions opened; each receives files into its own folder
        self._reset_chip: Any = None

    # ------------------------------------------------------------ opening

    def open(self) -> Bench:
        try:
            if self.options.board == "emulated":
                self._open_emulated()
            else:
                self._open_serial()
            self.connect_ground()
        except BaseException:
            self.close()
            raise
        return self

    def _open_emulated(self) -> None:
        o = self.options
        board = EmulatedBoard(o.deployment, self.workdir / "board", seed=o.seed, speed=o.speed)
        self.emulated = board
        board.start()
        # the rig holds the far ends before the flight software opens its UARTs and configures
        # its receiver
        self.rig = Rig.for_board(board, stations=(), radio_baudrate=o.radio_baudrate,
                                 gnss_baudrate=o.gnss_baudrate)
        self.rig.start()
        board.wait_booted()
        self.dictionary = board.dictionary()
        self.profile = board.link_profile()
        self.keys = board.ground_keys()
        self.board = EmulatedBoardControl(board, _store_dir(str(board.deployment_path),
                                                            board.nvm))

    def _open_serial(self) -> None:
        o = self.options
        assert o.radio_port is not None and o.gnss_port is not None and o.key is not None
        reset = None
        if o.reset_gpio is not None:
            reset, self._reset_chip = ResetLine.parse(o.reset_gpio).request()
        clock = ScaledClock(1.0)
        self.board = SerialBoard(o.radio_port, o.gnss_port, key_file=o.key, reset=reset,
                                 hold_s=o.reset_hold_s, clock=clock)
        spec = Deployment.load(resolve(o.deployment))
        radio = next((d.config for d in spec.components if d.name == RADIO_INSTANCE), None)
        if radio is None:
            raise ValueError(f"{spec.path}: no component {RADIO_INSTANCE!r}: the rig needs the "
                             "radio's interleave and air rate")
        default = TransparentConfig()
        self.rig = Rig(radio_port=o.radio_port, gnss_port=o.gnss_port, clock=clock,
                       epoch=DEFAULT_EPOCH, stations=(), seed=o.seed,
                       interleave=int(radio.get("interleave", default.interleave)),
                       air_rate_bps=float(radio.get("air_rate_bps", default.air_rate_bps)),
                       radio_baudrate=o.radio_baudrate, gnss_baudrate=o.gnss_baudrate)
        self.rig.start()
        if o.dictionary is not None:
            self.dictionary = GroundDictionary.load(o.dictionary)
        else:
            rt = spec.build(clock=SimClock())
            self.dictionary = GroundDictionary(runtime_dictionary.build(rt), spec.path)
        self.profile = LinkProfile.from_deployment(o.deployment)
        self.keys = read_key_file(o.key)

    # ------------------------------------------------------------ the ground

    def connect_ground(self) -> GroundStation:
        """A new ground session on the rig's ground port, identified (dictionary ID, ARSN)."""
        if self.ground is not None:
            self.ground.link.transport.close()  # type: ignore[attr-defined]
        self.sessions += 1
        clock = self.rig.clock
        transport = RadioTransport(self.rig.ground_port, clock, self.profile,
                                   air_rate_bps=int(self.rig.air_rate_bps))
        link = GroundLink(self.profile, self.keys, clock, transport, t1_s=GROUND_T1_S)
        rig = self.rig

        def wall_time() -> float:
            return rig.utc().timestamp()

        files = GroundFiles(link, self.workdir / f"ground-files-{self.sessions}",
                            wall_time=wall_time)
        self.ground = GroundStation(self.dictionary, link, files=files, wall_time=wall_time,
                                    identify_timeout_s=IDENTIFY_TIMEOUT_S)
        self.ground.identify()
        self.ground.await_link(IDENTIFY_TIMEOUT_S)
        return self.ground

    def ensure_running(self) -> str | None:
        """Boot an emulated board again if its flight process stopped (a watchdog reset exits
        with status 3, as a board reboots) and wait until the ground station has resynchronized
        with it; returns what happened, None if it was running. A real board reboots by
        itself."""
        board = self.emulated
        if board is None or board.alive:
            return None
        assert self.ground is not None
        status = board.returncode
        mark = self.ground.mark()
        board.restart()
        board.wait_booted()
        self.ground.await_reboot(IDENTIFY_TIMEOUT_S, start=mark)
        return f"the emulated board had stopped (exit status {status}); booted it again"

    # ------------------------------------------------------------ faults and closing

    def clear_faults(self) -> None:
        """The wire back to a clean cable, the GNSS sky clear."""
        for direction in ("uplink", "downlink"):
            faults = self.rig.faults(direction)
            faults.extra_ber = 0.0
            faults.frame_loss = 0.0
            faults.outage = False
        self.rig.gnss_outage(False)

    def utc(self) -> dt.datetime:
        return self.rig.utc()

    def close(self) -> None:
        if self.ground is not None:
            self.ground.link.transport.close()  # type: ignore[attr-defined]
            self.ground = None
        rig = getattr(self, "rig", None)
        if rig is not None:
            rig.close()
        if self.emulated is not None:
            self.emulated.close()
        if self._reset_chip is not None:
            self._reset_chip.close()


def _store_dir(deployment_path: str, nvm: Path) -> Path:
    """Where the product store of an emulated board keeps its files: its `storage` binding,
    which must be the board's non-volatile storage (the one the emulator rebinds)."""
    spec = Deployment.load(deployment_path)
    for decl in spec.components:
        if decl.class_path == STORE_CLASS:
            binding = decl.hardware.get("storage")
            if binding != NVM_BINDING:
                raise ValueError(f"{deployment_path}: the product store is bound to {binding!r}, "
                                 f"not to {NVM_BINDING!r}: the rig cannot find its files")
            return nvm
    raise ValueError(f"{deployment_path}: no product store ({STORE_CLASS})")
