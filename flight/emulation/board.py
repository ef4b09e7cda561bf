"""An emulated onboard computer: the flight software in its own process, its UARTs on
pseudo-terminals, its non-volatile storage in a directory. The contract the emulator
(`flight emulate`) and the HIL suite (`hil/`) share:

    with EmulatedBoard("refsat", workdir, seed=1, speed=20.0) as board:
        board.radio_port, board.gnss_port    # rig ends: open with pyserial like /dev/ttyUSB0
        board.clock                          # the time base both sides follow (ScaledClock)
        board.epoch                          # UTC at clock reading 0
        board.nvm                            # the board's non-volatile storage (a directory)
        board.log_path                       # the flight process's stdout and stderr
        board.pid, board.alive, board.returncode, board.boots
        board.wait_booted()                  # until the executive has started (from its log)
        board.kill()                         # power cut: SIGKILL, no warning
        board.restart()                      # boot again on the same nvm (a watchdog reset)
        board.stop()                         # SIGTERM: the software shuts down cleanly

For the ground side: `dictionary()`, `link_profile()`, `ground_keys()` (the development key file
the first boot writes into nvm), `radio_settings()`; for checks: `stored_files()` (the product
store's files, read from the blobs), `watchdog_timeout_s()`. `workdir` (a new temporary
directory by default) holds `nvm/`, `flight.log` and the emulated copy of the deployment.

**Process.** `python -m flight run DEPLOYMENT --speed N --clock-origin O --epoch E --seed S
--bind nvm=DIR --bind RADIO=PTY --bind GNSS=PTY [extra_args]`, with `PYTHONUNBUFFERED` so its
event log reaches `log_path` as it happens (a power cut loses nothing already printed). It runs in
its own session, so a Ctrl-C at the terminal reaches the rig, which then stops the board.

**Time base.** Both sides run on `ScaledClock(speed, origin)`: the host's CLOCK_MONOTONIC minus
`origin`, times `speed` (see `flight.emulation.clock`). The board fixes `origin` when it is made,
so the clock reads the seconds since then, scaled, in both processes and across restarts (time
passes while the board is off, as it would in orbit). UTC is `epoch + clock reading`: the orbit
simulator's time line (`flight.sim.TimeBase(epoch, t0=0)`) and spacecraft time, for components
bound to `resource:epoch` (each [hardware] entry whose URL is `epoch:...` or `system` is rebound
so). With `time_source="gnss"` those components read the GNSS receiver's disciplined time
instead (`resource:gnss`), which the rig's receiver feeds: unset until its first fix.

**UARTs.** Each UART is a `hal.serial.PtyBridge`: the flight process opens one end (`--bind`),
the rig the other, through pyserial. The hardware names come from the deployment: the serial
binding (`port`) of the component instance `radio` and of `gnss` (the refsat bus contract). A
deployment without one of them still gets its pseudo-terminal (nothing answers on it). A
component that played the far end of such a UART inside the flight process (bound to
`sim://NAME?end=b` where the UART was `sim://NAME`, as refsat's simulated receiver `gnss_sky`) is
the rig's job now: the board runs a copy of the deployment without it (`emulated_deployment`,
written to `workdir/DEPLOYMENT.emulated.toml`), which also drops it from rate groups and
connections. Its PPS line has no driver then, so the flight takes time from the messages. The
GNSS receiver's read time-out, counted by pyserial in host seconds, is divided by the speed in
that copy, so a silent port still wakes the worker as often in flight seconds. The flight
software's own work is `speed` times slower on the flight's clock than on a board (a 256 x 256
capture costs 0.1-0.5 s of host CPU: up to 12 s of clock at speed 25), so the watchdog's
time-out becomes at least `WATCHDOG_HOST_S` host seconds: it still resets a hung computer, not
one that computes at the host's pace. Before
each boot the flight end's input queue is flushed, as a UART's receive FIFO is empty at power-on;
octets the rig writes while the board is off are lost there.

**Restarts.** `restart()` kills the process if it still runs and boots again on the same
storage, pseudo-terminals and clock; `boots` counts the starts. A process that exits by itself
(status 3 after a watchdog or commanded reset, or a crash) is seen by `returncode`; starting it
again is the supervisor's decision (`flight.emulation.supervisor`).
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import tempfile
import termios
import time
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TextIO

import tomli_w

from drivers.gnss.component import GnssSettings
from flight.codec import crc32c
from flight.deployments import resolve
from flight.emulation.clock import ScaledClock
from flight.ground.dictionary import GroundDictionary
from flight.link.devkeys import GroundKeys, read_key_file
from flight.link.profile import LinkProfile
from flight.runtime.cli import EPOCH_RESOURCE
from flight.runtime.deployment import Deployment
from flight.runtime.dictionary import build as build_dictionary
from flight.svc.products import FileCorrupt, StoredFile, decode_header
from hal.clock import SimClock
from hal.serial import PtyBridge

DEFAULT_SPEED: Final = 20.0
DEFAULT_EPOCH: Final = dt.datetime(2022, 4, 19, 19, 41, 0, tzinfo=dt.UTC)
"""Ninety seconds before the default TLE's satellite rises over Hartebeesthoek, 19:42:54 UTC."""
RADIO_INSTANCE: Final = "radio"
GNSS_INSTANCE: Final = "gnss"
PORT_BINDING: Final = "port"
SIM_SCHEME: Final = "sim://"
GNSS_CLASS: Final = "drivers.gnss.component:GnssReceiver"
NVM_BINDING: Final = "nvm"
TIME_URLS: Final = ("epoch:", "system")
STOP_TIMEOUT_S: Final = 15.0
BOOTED_MARK: Final = "executive.started"
HEALTH_CLASS: Final = "flight.svc.health:HealthMonitor"
DEFAULT_WATCHDOG_S: Final = 10.0  # the health monitor's default watchdog_timeout_s
WATCHDOG_HOST_S: Final = 2.0  # the emulated board's shortest watchdog time-out, in host seconds
_BLOB: Final = re.compile(r"f\.[0-9]{8}")  # flight.svc.products.blob_name
DEV_KEY_FILE: Final = "sdls-ground.key"  # the uplink component's default key_file


class BoardError(RuntimeError):
    """The emulated board cannot do what was asked (not started, did not boot, ...)."""


class EmulatedBoard:
    def __init__(
        self,
        deployment: str = "refsat",
        workdir: Path | str | None = None,
        seed: int = 1,
        speed: float = DEFAULT_SPEED,
        extra_args: Sequence[str] = (),
        *,
        epoch: dt.datetime = DEFAULT_EPOCH,
        clock: ScaledClock | None = None,
        time_source: str = EPOCH_RESOURCE,
        python: str = sys.executable,
    ) -> None:
        self.deployment = deployment
        if workdir is None:
            workdir = tempfile.mkdtemp(prefix="emulated-board-")
        self.workdir = Path(workdir).resolve()
        self.seed = seed
        self.clock = clock if clock is not None else ScaledClock(speed)
        self.speed = self.clock.speed
        if epoch.tzinfo is None:
            raise ValueError(f"epoch {epoch} must carry a time zone (UTC)")
        self.epoch = epoch.astimezone(dt.UTC)
        self.extra_args = tuple(extra_args)
        self.time_source = time_source
        self.python = python
        self.nvm = self.workdir / "nvm"
        self.log_path = self.workdir / "flight.log"
        self.boots = 0
        self.returncode: int | None = None
        source = resolve(deployment)
        with open(source, "rb") as f:
            raw = tomllib.load(f)
        self._data = emulated_deployment(raw, self.speed)
        self._watchdog_s = next(
            (float(c.get("watchdog_timeout_s", DEFAULT_WATCHDOG_S))
             for c in raw.get("components", []) if c.get("class") == HEALTH_CLASS),
            DEFAULT_WATCHDOG_S)
        self._spec = Deployment.parse(self._data, source)
        self.radio_hardware = _serial_hardware(self._spec, RADIO_INSTANCE)
        self.gnss_hardware = _serial_hardware(self._spec, GNSS_INSTANCE)
        self.deployment_path = self.workdir / f"{self._spec.name}.emulated.toml"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: TextIO | None = None
        self._boot_offset = 0
        self._radio: PtyBridge | None = None
        self._gnss: PtyBridge | None = None

    # ------------------------------------------------------------ ports and state

    @property
    def radio_port(self) -> str:
        """The rig's end of the radio UART (a device path)."""
        return self._bridge(self._radio).path_b

    @property
    def gnss_port(self) -> str:
        """The rig's end of the GNSS UART (a device path)."""
        return self._bridge(self._gnss).path_b

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._poll() is None

    def utc(self, t: float | None = None) -> dt.datetime:
        """UTC at clock reading `t` (now by default)."""
        return self.epoch + dt.timedelta(seconds=self.clock.monotonic() if t is None else t)

    def bindings(self) -> dict[str, str]:
        """The [hardware] overrides the flight process gets."""
        out = {NVM_BINDING: str(self.nvm)}
        if self.radio_hardware is not None:
            out[self.radio_hardware] = self._bridge(self._radio).path_a
        if self.gnss_hardware is not None:
            out[self.gnss_hardware] = self._bridge(self._gnss).path_a
        for name, url in self._spec.hardware.items():
            if url.startswith(TIME_URLS):
                out[name] = f"resource:{self.time_source}"
        return out

    def radio_settings(self) -> dict[str, Any]:
        """The deployment's table for the `radio` component (interleave, air rate, ...)."""
        for decl in self._spec.components:
            if decl.name == RADIO_INSTANCE:
                return dict(decl.config)
        return {}

    def dictionary(self) -> GroundDictionary:
        """The ground dictionary of the software this board runs (`flight dict` of it)."""
        rt = Deployment.parse(self._data, str(self.deployment_path)).build(clock=SimClock())
        return GroundDictionary(build_dictionary(rt), str(self.deployment_path))

    def link_profile(self) -> LinkProfile:
        return LinkProfile.from_deployment(str(self.deployment_path))

    def ground_keys(self) -> GroundKeys:
        """The ground key file the uplink wrote into the board's storage at its first boot
        (`provision_dev_keys`); read it after the board has booted."""
        for decl in self._spec.components:
            if decl.config.get("provision_dev_keys"):
                return read_key_file(self.nvm / decl.config.get("key_file", DEV_KEY_FILE))
        raise BoardError("the deployment provisions no development keys (provision_dev_keys)")

    def watchdog_timeout_s(self) -> float:
        """How long the deployment's watchdog waits before it resets a hung computer (clock
        seconds, as the deployment file says, not as the emulated copy stretches it)."""
        return self._watchdog_s

    def stored_files(self) -> dict[str, tuple[StoredFile, bytes]]:
        """The product store's files in the board's storage, by path, read from the blobs
        themselves (each checks its own CRC-32C), without opening the store: the flight
        process owns it. A blob that does not check is left out."""
        out: dict[str, tuple[StoredFile, bytes]] = {}
        for entry in sorted(self.nvm.glob("f.*")):
            if not _BLOB.fullmatch(entry.name):
                continue
            try:
                blob = entry.read_bytes()
                info, start = decode_header(entry.name, blob)
            except (OSError, FileCorrupt):
                continue
            data = blob[start:]
            if crc32c(data) == info.crc32c:
                out[info.path] = (info, data)
        return out

    def command_line(self) -> list[str]:
        args = [self.python, "-m", "flight", "run", str(self.deployment_path),
                "--speed", repr(self.speed), "--clock-origin", repr(self.clock.origin),
                "--epoch", self.epoch.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "--seed", str(self.seed)]
        for name, url in self.bindings().items():
            args += ["--bind", f"{name}={url}"]
        return args + list(self.extra_args)

    # ------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Make the pseudo-terminals (first time) and boot the flight software."""
        if self.alive:
            raise BoardError(f"the flight process {self.pid} is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.nvm.mkdir(exist_ok=True)
        with open(self.deployment_path, "wb") as f:
            tomli_w.dump(self._data, f)
        if self._radio is None:
            self._radio = PtyBridge()
            self._gnss = PtyBridge()
        for bridge in (self._radio, self._gnss):
            _flush_input(self._bridge(bridge).path_a)
        if self._log is None:
            self._log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
        self.boots += 1
        self._log.write(f"--- boot {self.boots} at clock {self.clock.monotonic():.3f} s "
                        f"({self.utc():%Y-%m-%d %H:%M:%S} UTC)\n")
        self._log.flush()
        self._boot_offset = self.log_path.stat().st_size
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.returncode = None
        self._process = subprocess.Popen(
            self.command_line(), stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )

    def wait_booted(self, timeout: float = 30.0) -> None:
        """Wait (real seconds) until the executive of this boot has started."""
        deadline = time.monotonic() + timeout
        while True:
            if BOOTED_MARK in self.log_since_boot():
                return
            if not self.alive:
                raise BoardError(f"the flight process exited with status {self.returncode} "
                                 f"before it booted; see {self.log_path}")
            if time.monotonic() >= deadline:
                raise BoardError(f"the flight process did not boot in {timeout} s; see "
                                 f"{self.log_path}")
            time.sleep(0.02)

    def log_since_boot(self) -> str:
        """What the flight process printed since the latest boot."""
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            f.seek(self._boot_offset)
            return f.read()

    def kill(self) -> None:
        """Power cut: SIGKILL without warning."""
        if self._process is not None and self._poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
            self._poll()

    def restart(self) -> None:
        """Boot again on the same storage, ports and clock, killing a running process first."""
        self.kill()
        self.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """Ask the flight software to shut down (SIGTERM); kill it if it does not in `timeout`
        real seconds. Returns its exit status (None if it never ran)."""
        process = self._process
        if process is None:
            return None
        if self._poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return self._poll()

    def close(self) -> None:
        """Stop the flight software and release the pseudo-terminals and the log."""
        self.stop()
        for bridge in (self._radio, self._gnss):
            if bridge is not None:
                bridge.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EmulatedBoard:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------ helpers

    def _poll(self) -> int | None:
        assert self._process is not None
        code = self._process.poll()
        if code is not None:
            self.returncode = code
        return code

    def _bridge(self, bridge: PtyBridge | None) -> PtyBridge:
        if bridge is None:
            raise BoardError("the board has not been started (use it as a context manager)")
        return bridge


def emulated_deployment(data: Mapping[str, Any], speed: float = 1.0) -> dict[str, Any]:
    """A copy of deployment `data` for a board on the clock scaled by `speed`: without the
    components that simulate the far end of the radio's or the GNSS receiver's UART (the rig
    plays them now), with the GNSS receiver's read time-out, which pyserial counts in host
    seconds, divided by `speed` so that it keeps its meaning on the flight's clock, and with the
    watchdog's time-out at least `WATCHDOG_HOST_S` host seconds (see the module notes)."""
    out = copy.deepcopy(dict(data))
    hardware: dict[str, str] = out.get("hardware", {})
    components: list[dict[str, Any]] = out.get("components", [])
    for comp in components:
        if comp.get("class") == GNSS_CLASS:
            timeout = comp.get("read_timeout_s", GnssSettings().read_timeout_s)
            comp["read_timeout_s"] = timeout / speed
        elif comp.get("class") == HEALTH_CLASS:
            timeout = comp.get("watchdog_timeout_s", DEFAULT_WATCHDOG_S)
            comp["watchdog_timeout_s"] = max(timeout, WATCHDOG_HOST_S * speed)
    links = set()
    for comp in components:
        if comp.get("name") in (RADIO_INSTANCE, GNSS_INSTANCE):
            url = hardware.get(comp.get("hardware", {}).get(PORT_BINDING, ""), "")
            if url.startswith(SIM_SCHEME) and "?" not in url:
                links.add(url)
    far_ends = {name for name, url in hardware.items()
                if isinstance(url, str) and url.partition("?")[0] in links
                and "end=b" in url.partition("?")[2].split("&")}
    dropped = {c.get("name") for c in components
               if far_ends & set(c.get("hardware", {}).values())}
    out["components"] = [c for c in components if c.get("name") not in dropped]
    for group in out.get("rate_groups", []):
        group["members"] = [m for m in group.get("members", []) if m not in dropped]
    out["connections"] = [
        c for c in out.get("connections", [])
        if c.get("from", "").split(".")[0] not in dropped
        and c.get("to", "").split(".")[0] not in dropped
    ]
    return out


def _serial_hardware(spec: Deployment, instance: str) -> str | None:
    """The [hardware] name bound to `instance`'s serial port, if the deployment has it."""
    for decl in spec.components:
        if decl.name == instance:
            return decl.hardware.get(PORT_BINDING)
    return None


def _flush_input(path: str) -> None:
    """Discard what waits in the receive queue of the tty at `path`."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        termios.tcflush(fd, termios.TCIFLUSH)
    finally:
        os.close(fd)
