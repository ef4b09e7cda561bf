"""Ground to satellite over a real pseudo-terminal pair, on the real clock.

A small satellite (uplink, downlink, dispatcher, housekeeping and the radio component on one end
of a `PtyBridge`) runs in a thread; the ground station opens the other end through pyserial with
its own `TransparentRadio`. A command goes up through SDLS and COP-1 and completes; telemetry and
an event come down; then `flight ground` does the same from the command line and archives what it
saw. Last, refsat itself runs in a subprocess (`flight run refsat --bind radio=PTY`) and the
ground commands it with the dictionary and key file it produced."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.radio.component import Radio
from flight.cli import main
from flight.ground.archive import Archive
from flight.ground.dictionary import GroundDictionary
from flight.ground.link import GroundLink
from flight.ground.station import GroundStation
from flight.ground.transport import RadioTransport
from flight.link.devkeys import read_key_file
from flight.link.downlink_component import Downlink
from flight.link.profile import LinkProfile
from flight.link.uplink_component import Uplink
from flight.runtime import dictionary
from flight.runtime.executive import RateGroup
from flight.runtime.records import Stage
from flight.runtime.runtime import Runtime
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.packetizer import TlmPacketizer
from hal.clock import MonotonicClock
from hal.serial.pty import PtyBridge

AIR_RATE = 256_000
BAUD = 921_600


class Satellite:
    def __init__(self, port: str, nvm: Path) -> None:
        rt = self.rt = Runtime("ptysat", clock=MonotonicClock(), tick_hz=20)
        self.cmd = rt.add(CommandDispatcher("cmd", 0x0400))
        rt.add(Radio("radio", 0x0B00), hardware={"port": port}, config={
            "mode": "transparent", "interleave": 5, "baudrate": BAUD, "air_rate_bps": AIR_RATE})
        self.uplink = rt.add(Uplink("uplink", 0x0900), hardware={"storage": str(nvm)},
                             config={"provision_dev_keys": True})
        rt.add(Downlink("downlink", 0x0A00), config={"air_rate_bps": AIR_RATE})
        rt.add(TlmPacketizer("hk", 0x0700), config={"packets": [
            {"name": "system", "id": 1, "period_s": 0.5,
             "channels": ["executive.dictionary_id", "uplink.arsn", "cmd.accepted"]}]})
        rt.add_group(RateGroup("fast", 0x0300, divisor=1), ["radio", "downlink", "hk"])
        rt.add_group(RateGroup("slow", 0x0310, divisor=20), ["uplink"])
        rt.connect("radio.rx_frame", "uplink.rx_frame")
        rt.connect("uplink.commands", "cmd.commands")
        rt.connect("uplink.clcw", "downlink.ocf")
        rt.connect("hk.packets", "downlink.housekeeping")
        rt.connect("cmd.verification", "downlink.verification")
        rt.connect("downlink.tx_frame", "radio.tx_frame")
        rt.boot()
        self.thread = threading.Thread(target=rt.run, name="satellite", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.rt.stop()
        self.thread.join(timeout=5)
        self.rt.shutdown()


@pytest.fixture
def flight_pair(tmp_path: Path) -> Iterator[tuple[Satellite, str, Path]]:
    with PtyBridge() as bridge:
        sat = Satellite(bridge.path_a, tmp_path / "nvm")
        try:
            yield sat, bridge.path_b, tmp_path
        finally:
            sat.stop()


def test_command_telemetry_and_events_over_a_pty_pair(flight_pair) -> None:
    sat, port, tmp_path = flight_pair
    clock = MonotonicClock()
    profile = LinkProfile()
    keys = read_key_file(tmp_path / "nvm" / "sdls-ground.key")
    transport = RadioTransport(port, clock, profile, air_rate_bps=AIR_RATE, baudrate=BAUD)
    archive = Archive(tmp_path / "ground.sqlite", dictionary.build(sat.rt))
    station = GroundStation(GroundDictionary(dictionary.build(sat.rt)),
                            GroundLink(profile, keys, clock, transport), archive=archive)
    try:
        assert station.identify(timeout=10) == station.dictionary.dictionary_id
        mark = station.mark()
        report = station.send_and_await_completion("cmd.no_op", timeout=10)
        assert report.stage is Stage.COMPLETED
        assert station.await_event("cmd.no_op_event", timeout=10, start=mark).name
        assert station.await_telemetry("cmd.accepted", lambda v: v >= 1, timeout=10).value >= 1
    finally:
        transport.close()
    assert sat.cmd.accepted_count == 1 and not sat.uplink.rejections
    assert archive.counts()["verifications"] >= 3 and archive.command_history()[0].name == (
        "cmd.no_op")
    archive.close()


def test_flight_ground_command_line_over_a_pty_pair(flight_pair, capsys) -> None:
    sat, port, tmp_path = flight_pair
    dictionary_file = tmp_path / "ptysat.json"
    dictionary_file.write_text(json.dumps(dictionary.build(sat.rt)))
    common = ["ground", "--port", port, "--dictionary", str(dictionary_file),
              "--key", str(tmp_path / "nvm" / "sdls-ground.key"),
              "--archive", str(tmp_path / "cli.sqlite"), "--air-rate", str(AIR_RATE),
              "--baudrate", str(BAUD), "--timeout", "10"]
    assert main([*common, "send", "cmd.no_op"]) == 0
    out = capsys.readouterr().out
    assert "CMD cmd.no_op seq 1: COMPLETED" in out
    assert main([*common, "send", "cmd.no_op", "extra"]) == 2
    assert "WRONG_ARG_COUNT" in capsys.readouterr().err
    assert main([*common, "monitor", "--duration", "1.5"]) == 0
    assert "TLM cmd.accepted = 1" in capsys.readouterr().out
    script = tmp_path / "pass.txt"
    script.write_text("# a pass\nsend cmd.no_op\nawait-tlm cmd.accepted 2 10\ntlm cmd.accepted\n")
    assert main([*common, "script", str(script)]) == 0
    assert "cmd.accepted = 2" in capsys.readouterr().out
    csv_file = tmp_path / "accepted.csv"
    assert main([*common, "export", "cmd.accepted", "-o", str(csv_file)]) == 0
    assert csv_file.read_text().count("cmd.accepted") >= 2
    assert sat.cmd.accepted_count == 2


def test_refsat_in_a_subprocess_commanded_over_a_pty_pair(tmp_path) -> None:
    nvm = tmp_path / "nvm"
    dictionary_file = tmp_path / "refsat.json"
    assert main(["dict", "refsat", "-o", str(dictionary_file)]) == 0
    with PtyBridge() as bridge:
        satellite = subprocess.Popen(
            [sys.executable, "-m", "flight", "run", "refsat", "--quiet", "--duration", "60",
             "--bind", f"radio={bridge.path_a}", "--bind", f"nvm={nvm}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        try:
            key_file = nvm / "sdls-ground.key"
            deadline = time.monotonic() + 20
            while not key_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            clock = MonotonicClock()
            profile = LinkProfile.from_deployment("refsat")
            transport = RadioTransport(bridge.path_b, clock, profile)
            station = GroundStation(GroundDictionary.load(dictionary_file),
                                    GroundLink(profile, read_key_file(key_file), clock, transport))
            try:
                station.identify(timeout=20)
                mark = station.mark()
                assert station.send_and_await_completion("cmd.no_op", timeout=15).stage is (
                    Stage.COMPLETED)
                station.await_event("cmd.no_op_event", timeout=10, start=mark)
                volts = station.await_telemetry("power.bus_volts", timeout=10)
                assert 5.0 < volts.value < 9.0
            finally:
                transport.close()
        finally:
            satellite.terminate()
            out, err = satellite.communicate(timeout=10)
    assert b"refsat: ran" in out, err.decode()
