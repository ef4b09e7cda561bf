"""End to end on the real clock over a real pseudo-terminal pair through pyserial: the deployment
binds the driver component to one tty path, the test holds the other end as a bench would hold a
USB-serial adapter wired to the board, and checks what comes out on the bus and in telemetry."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pynmea2
import pytest
from pyubx2 import GET, UBXMessage, UBXReader

from drivers.radio import ax25
from drivers.radio.ax25 import UiFrame
from drivers.radio.kiss import KissDeframer, kiss_encode
from flight.codec import CaduSync, cadu_encode
from hal.clock import MonotonicClock
from hal.serial import PtyBridge, SerialPort, open_serial
from tests.drivers_components.helpers import build, named

GNSS = """
[deployment]
name = "gnss-pty"
tick_hz = 10

[hardware]
gnss = "{path}"

[[components]]
name = "gnss"
class = "drivers.gnss.component:GnssReceiver"
base_id = 0x1200
hardware = {{ port = "gnss" }}
baudrate = 115200
read_timeout_s = 0.2
messages = ["NAV-PVT", "NAV-EOE"]
nmea_off = ["GSV"]

[[rate_groups]]
name = "rg10hz"
base_id = 0x0300
rate_hz = 10
members = ["gnss"]
"""

RADIO = """
[deployment]
name = "radio-pty"
tick_hz = 20

[hardware]
radio = "{path}"

[[components]]
name = "radio"
class = "drivers.radio.component:Radio"
base_id = 0x1300
hardware = {{ port = "radio" }}
baudrate = 115200
air_rate_bps = 115200
{settings}

[[rate_groups]]
name = "rg20hz"
base_id = 0x0300
rate_hz = 20
members = ["radio"]
"""


@pytest.fixture
def bridge() -> Iterator[PtyBridge]:
    with PtyBridge() as pair:
        yield pair


class Bench(threading.Thread):
    """The far end of the cable, on its own thread while the runtime runs on the main one."""

    def __init__(self, port: SerialPort, step: Callable[[SerialPort], None]) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.step = step
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.step(self.port)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=5.0)
        self.port.close()


def epoch(second: int) -> bytes:
    """One UBX navigation epoch built by pyubx2: NAV-PVT, then NAV-EOE closing it."""
    itow = 302_400_000 + second * 1000
    return UBXMessage(
        "NAV", "NAV-PVT", GET, iTOW=itow, year=2025, month=3, day=1, hour=12, min=0,
        second=second, validDate=1, validTime=1, fullyResolved=1, fixType=3, gnssFixOk=1,
        numSV=11, lon=4.3733, lat=51.999, height=52_000, hMSL=6_000, pDOP=1.4,
    ).serialize() + UBXMessage("NAV", "NAV-EOE", GET, iTOW=itow).serialize()  # fmt: skip


def test_gnss_component_over_a_pty(bridge: PtyBridge) -> None:
    far = open_serial(bridge.path_b, baudrate=115200, timeout=0.05)
    commands: list[str] = []
    buffer = bytearray()
    sent = {"epochs": 0}

    def receiver(port: SerialPort) -> None:
        buffer.extend(port.read(512))
        while (start := buffer.find(b"\xb5\x62")) >= 0 and len(buffer) >= start + 8:
            end = start + 8 + int.from_bytes(buffer[start + 4 : start + 6], "little")
            if len(buffer) < end:
                break
            frame = bytes(buffer[start:end])
            del buffer[:end]
            message = UBXReader.parse(frame, msgmode=1)  # what we send, pyubx2 parses
            commands.append(message.identity)
            port.write(UBXMessage("ACK", "ACK-ACK", GET, clsID=frame[2], msgID=frame[3])
                       .serialize())  # fmt: skip
        if len(commands) == 5 and sent["epochs"] < 8:
            gga = pynmea2.GGA(
                "GP",
                "GGA",
                (
                    "120000.00",
                    "5159.940",
                    "N",
                    "00422.398",
                    "E",
                    "1",
                    "11",
                    "0.8",
                    "6.0",
                    "M",
                    "46.0",
                    "M",
                    "",
                    "",
                ),
            )
            port.write(str(gga).encode() + b"\r\n" + epoch(sent["epochs"]))
            sent["epochs"] += 1
            time.sleep(0.1)

    bench = Bench(far, receiver)
    rt = build(GNSS.format(path=bridge.path_a), MonotonicClock())
    bench.start()
    rt.run(2.5)
    rt.shutdown()
    bench.stop()
    assert commands == ["CFG-MSG", "CFG-MSG", "CFG-MSG", "CFG-RATE", "CFG-NAV5"]
    assert named(rt, "gnss.configured")[0][2] == ("configure", 5, 5)
    fixes = rt.messages["gnss.fix"]
    assert len(fixes) >= 4 and all(f.source == "ubx" for f in fixes)
    assert (fixes[0].lat, fixes[0].lon) == (pytest.approx(51.999), pytest.approx(4.3733))
    assert fixes[1].time.second == fixes[0].time.second + 1
    assert rt.telemetry.get("gnss.sentences") >= 4  # pynmea2's GGA, decoded
    assert rt.telemetry.get("gnss.satellites") == 11
    assert rt.telemetry.get("gnss.bad_checksums") == 0
    assert rt.components["gnss"].health.name == "OK"


def test_radio_component_cadus_over_a_pty(bridge: PtyBridge) -> None:
    far = open_serial(bridge.path_b, baudrate=115200, timeout=0.05)
    sync = CaduSync(1)
    received: list[bytes] = []
    ground_frames = [bytes([0x40 + i]) * 223 for i in range(5)]
    bench = Bench(far, lambda port: received.extend(sync.feed(port.read(1024))))
    rt = build(RADIO.format(path=bridge.path_a, settings="interleave = 1"), MonotonicClock())
    far.write(b"\x00noise\xff" + b"".join(cadu_encode(f, 1) for f in ground_frames))
    ours = [bytes([i]) * 223 for i in range(8)]
    for frame in ours:
        rt.bus.publish("radio.tx_frame", (2, frame))
    bench.start()
    rt.run(1.5)
    rt.shutdown()
    bench.stop()
    assert received == ours
    assert rt.messages["radio.rx_frame"] == ground_frames
    assert rt.telemetry.get("radio.frames_in") == 5 and rt.telemetry.get("radio.frames_out") == 8
    assert [n for n, _, _ in named(rt, "radio.")] == ["radio.link_up"]


def test_radio_component_kiss_over_a_pty(bridge: PtyBridge) -> None:
    far = open_serial(bridge.path_b, baudrate=115200, timeout=0.05)
    deframer = KissDeframer()
    heard: list[UiFrame] = []
    uplink = UiFrame.build("SAT1", "GND", b"ping \xc0\xdb")

    def listen(port: SerialPort) -> None:
        heard.extend(ax25.decode(k.payload) for k in deframer.feed(port.read(1024)))

    bench = Bench(far, listen)
    settings = 'mode = "kiss"\nlocal = "SAT1"\ndestination = "GND"'
    rt = build(RADIO.format(path=bridge.path_a, settings=settings), MonotonicClock())
    far.write(b"\xc0\xc0" + kiss_encode(ax25.encode(uplink)) + b"garbage")
    rt.bus.publish("radio.tx_frame", (0, b"pong"))
    bench.start()
    rt.run(1.0)
    rt.shutdown()
    bench.stop()
    assert rt.messages["radio.rx_frame"] == [b"ping \xc0\xdb"]
    assert [(str(f.destination), str(f.source), f.info) for f in heard] == [
        ("GND", "SAT1", b"pong")
    ]
