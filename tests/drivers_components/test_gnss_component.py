"""The GNSS component in a small deployment on the simulated clock, fed by the simulated receiver
(flight.sim) through a simulated UART and a simulated PPS line: fixes, events, time discipline,
commands, damaged input, a silent receiver, and reproducibility."""

from __future__ import annotations

import datetime as dt
import math
import random
import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyubx2 import GET, UBXMessage, UBXReader

from drivers.gnss import FixMode, config, decode, ubx
from drivers.gnss.config import Configurator, Outcome, StartMode
from drivers.gnss.framer import nmea_checksum
from drivers.gnss.sim_device import SimGnssDevice, _next_second
from drivers.ports import sim_gpio_chip, sim_serial_hub
from flight.runtime.deployment import DeploymentError
from flight.runtime.records import Stage
from flight.svc.sctime import open_time_source
from hal.clock import MonotonicClock, SimClock
from hal.time import SyncState, utc_to_tai
from tests.drivers_components.helpers import build, named, names

DEPLOYMENT = """
[deployment]
name = "gnss-test"
tick_hz = 10

[simulation]
seed = {seed}

[hardware]
gnss = "{port}"
gnss_pps = "sim://gpio:3"
gnss_sky = "sim://gnss?end=b"

[[components]]
name = "cmd"
class = "flight.svc.dispatcher:CommandDispatcher"
base_id = 0x0400

[[components]]
name = "gnss"
class = "drivers.gnss.component:GnssReceiver"
base_id = 0x1200
hardware = {{ port = "gnss", pps = "gnss_pps" }}
baudrate = 115200
messages = ["NAV-PVT", "NAV-TIMEUTC", "NAV-EOE"]
nmea_off = ["GGA", "GSA", "GSV", "RMC", "VTG", "ZDA"]
{extra}

[[components]]
name = "gnss_sky"
class = "drivers.gnss.sim_device:SimGnssDevice"
base_id = 0x7000
hardware = {{ port = "gnss_sky", pps = "gnss_pps" }}
baudrate = 115200

[[rate_groups]]
name = "rg10hz"
base_id = 0x0300
rate_hz = 10
members = ["gnss_sky"]

[[rate_groups]]
name = "rg1hz"
base_id = 0x0310
rate_hz = 1
members = ["gnss"]
"""


def gnss_run(seed: int = 5, extra: str = "", port: str = "sim://gnss", clock=None):
    rt = build(DEPLOYMENT.format(seed=seed, extra=extra, port=port), clock or SimClock())
    return rt, rt.components["gnss"], rt.components["gnss_sky"]


def command(rt, name: str, *args):
    return rt.components["cmd"].dispatch(rt.command(name, *args))


def tlm(rt, name: str):
    return rt.telemetry.get(f"gnss.{name}")


def truth_tai(device: SimGnssDevice, t: float) -> float:
    """TAI at simulated time t: the simulated receiver's epochs start at the first cycle (t=0)."""
    return utc_to_tai(_next_second(device.orbit.epoch)) + t


def test_cold_start_configuration_fix_and_fixes_on_the_bus() -> None:
    rt, _, device = gnss_run()
    rt.run(60.0)
    events = named(rt, "gnss.")
    assert events[0][0] == "gnss.configured" and events[0][2] == ("configure", 11, 11)
    coarse = next(
        t for n, t, a in events if n == "gnss.time_state_changed" and a == (SyncState.COARSE,)
    )
    acquired = next((t, a) for n, t, a in events if n == "gnss.fix_acquired")
    assert 30 <= coarse <= 32  # the receiver's time is valid 30 s after power-on
    assert 45 <= acquired[0] <= 47 and acquired[1][0] is FixMode.FIX_3D and acquired[1][1] >= 4
    fixes = [f for f in rt.messages["gnss.fix"] if f.mode is FixMode.FIX_3D]
    assert 10 <= len(fixes) <= 16
    for fix in fixes:  # the whole chain, simulator to bus, against the true orbit
        truth = device.orbit.state(fix.time).geodetic
        assert abs(fix.lat - truth.lat_deg) < 2e-4
        assert abs(fix.lon - truth.lon_deg) * math.cos(math.radians(truth.lat_deg)) < 2e-4
        assert abs(fix.alt_hae - truth.alt_m) < 25.0
        assert 7000 < fix.speed < 8000  # m/s in low Earth orbit
    assert tlm(rt, "fix_mode") == FixMode.FIX_3D and tlm(rt, "satellites") >= 4
    assert tlm(rt, "latitude") in {f.lat for f in fixes[-3:]} and tlm(rt, "config_acked") == 11
    assert tlm(rt, "ubx_messages") > 150 and tlm(rt, "bad_checksums") == 0
    assert tlm(rt, "bytes_skipped") == 0 and tlm(rt, "port_errors") == 0
    rt.shutdown()


def test_time_discipline_converges_on_the_simulated_pps() -> None:
    rt, gnss, device = gnss_run()
    rt.run(120.0)
    status = gnss.time_status()
    assert status.state is SyncState.LOCKED and status.jumps == 0 and status.outliers == 0
    assert abs(status.time_error_s) < 1e-6  # the simulated PPS jitters by 20 ns
    assert abs(gnss.tai() - truth_tai(device, rt.clock.monotonic())) < 1e-6
    source = open_time_source("resource:gnss", rt.clock, rt.resources)  # as services bind it
    assert source is gnss.time_source and source.status().state is SyncState.LOCKED
    assert tlm(rt, "time_state") == SyncState.LOCKED and abs(tlm(rt, "time_error")) < 1e-6
    assert 70 <= tlm(rt, "pps_edges") <= 76  # one a second with a fix, from 45 s on
    rt.shutdown()


def test_fix_lost_and_regained_in_an_outage() -> None:
    rt, gnss, device = gnss_run()
    rt.run(60.0)
    device.outage(True)
    rt.run(10.0)
    lost = named(rt, "gnss.fix_lost")
    assert len(lost) == 1 and lost[0][2] == ("the receiver reports no fix",)
    assert (SyncState.HOLDOVER,) in [a for n, _, a in named(rt, "gnss.time_state_changed")]
    assert tlm(rt, "fix_mode") == FixMode.NO_FIX
    device.outage(False)
    rt.run(10.0)
    assert names(rt, "gnss.fix_")[-3:] == [
        "gnss.fix_acquired",
        "gnss.fix_lost",
        "gnss.fix_acquired",
    ]
    assert gnss.time_status().state is SyncState.LOCKED and gnss.time_status().jumps == 0
    assert abs(gnss.tai() - truth_tai(device, rt.clock.monotonic())) < 1e-6
    rt.shutdown()


def test_a_silent_receiver_and_its_return() -> None:
    rt, gnss, device = gnss_run()
    rt.run(60.0)
    device.power(False)
    rt.run(10.0)
    assert "gnss.receiver_silent" in names(rt) and gnss.health.name == "WARNING"
    assert any(n == "gnss.fix_lost" and a[0].startswith("no fix for") for n, _, a in named(rt))
    report = command(rt, "gnss.set_dynamic_model", 7)  # nobody answers: three attempts, refused
    assert report.stage is Stage.COMPLETED
    rt.run(10.0)
    refused = named(rt, "gnss.config_refused")
    assert refused[-1][2] == ("CFG-NAV5", "timeout", 3)
    assert named(rt, "gnss.configured")[-1][2] == ("CFG-NAV5", 0, 1)
    device.power(True)
    rt.run(60.0)
    assert "gnss.receiver_talking" in names(rt) and gnss.health.name == "OK"
    assert names(rt, "gnss.fix_")[-1] == "gnss.fix_acquired"  # after the cold start
    rt.shutdown()


def test_garbage_on_the_line_is_counted_and_the_decoder_resynchronizes() -> None:
    rt, gnss, device = gnss_run()
    rt.run(60.0)
    fixes_before = tlm(rt, "fixes")
    rng = random.Random(9)
    garbage = b"".join([
        rng.randbytes(300),  # noise
        b"$GPGGA,120000.00,4807.038,N,01131.0",  # a sentence cut short
        b"\xb5\x62\x01\x07\xff\xff" + bytes(40),  # UBX length 65535
        b"$GPRMC,120000,A,4807.038,N,01131.000,E,0.0,0.0,010125,,*00\r\n",  # bad checksum
        b"\xb5\x62\x01\x07\x5c\x00" + bytes(92) + b"\x00\x00",  # NAV-PVT, bad checksum
    ])  # fmt: skip
    device.port.write(garbage)
    for year, nano in ((9999, 999_999_999), (1960, 0), (2025, -999_999_999)):  # odd times
        device.port.write(UBXMessage(
            "NAV", "NAV-PVT", GET, iTOW=1000, year=year, month=12, day=31, hour=23, min=59,
            second=59, nano=nano, validDate=1, validTime=1, fullyResolved=1, fixType=3,
        ).serialize())  # fmt: skip
    rt.run(10.0)
    assert tlm(rt, "bytes_skipped") >= 300 and tlm(rt, "bad_checksums") >= 2
    assert tlm(rt, "rejected") >= 1  # the oversized UBX frame
    assert "gnss.input_damaged" in names(rt)
    assert tlm(rt, "fixes") >= fixes_before + 9  # fixes go on after the garbage
    assert names(rt, "gnss.fix_")[-1] == "gnss.fix_acquired"  # the NAV-PVTs above had no fix
    line = sim_serial_hub(rt.resources).link("gnss").b_to_a
    line.bit_error_rate = 3e-4  # a noisy cable for a minute
    rt.run(60.0)
    line.bit_error_rate = 0.0
    rt.run(5.0)
    assert tlm(rt, "bad_checksums") > 2 and tlm(rt, "port_errors") == 0
    assert gnss.time_status().state is SyncState.LOCKED
    assert abs(gnss.tai() - truth_tai(device, rt.clock.monotonic())) < 1e-6
    assert gnss.health.name == "OK" and rt.telemetry.get("rg1hz.member_faults") == 0
    assert gnss.thread is not None and gnss.thread.is_alive()
    rt.shutdown()


def test_commands_rate_restart_and_busy() -> None:
    rt, gnss, device = gnss_run()
    rt.run(60.0)
    assert command(rt, "gnss.set_rate", 500).stage is Stage.COMPLETED
    assert command(rt, "gnss.cold_start").stage is Stage.COMPLETION_FAILED  # one at a time
    rt.run(3.0)
    assert named(rt, "gnss.configured")[-1][2] == ("CFG-RATE", 1, 1)
    count = tlm(rt, "fixes")
    rt.run(10.0)
    assert 19 <= tlm(rt, "fixes") - count <= 21  # two epochs a second now
    assert gnss.time_status().state is SyncState.LOCKED and gnss.time_status().jumps == 0
    assert command(rt, "gnss.configure_receiver").stage is Stage.COMPLETED
    rt.run(5.0)
    assert named(rt, "gnss.configured")[-1][2] == ("configure", 11, 11)
    assert command(rt, "gnss.cold_start").stage is Stage.COMPLETED
    rt.run(5.0)
    assert named(rt, "gnss.restart_sent")[-1][2] == ("cold",)
    assert command(rt, "gnss.set_rate", 20).stage is Stage.ACCEPTANCE_FAILED  # below 50 ms
    rt.shutdown()


def test_same_seed_same_run() -> None:
    runs = []
    for _ in range(2):
        rt, _, _ = gnss_run(seed=11)
        rt.run(90.0)
        runs.append(
            (
                [(e.event_id, e.time, e.args) for e in rt.events],
                [(f.time, f.lat, f.lon, f.alt_hae) for f in rt.messages["gnss.fix"]],
                rt.components["gnss"].time_status(),
            )
        )
        rt.shutdown()
    assert runs[0] == runs[1]
    rt, _, _ = gnss_run(seed=12)
    rt.run(90.0)
    assert [(f.time, f.lat) for f in rt.messages["gnss.fix"]] != [
        (t, lat) for t, lat, _, _ in runs[0][1]
    ]
    rt.shutdown()


def test_shutdown_stops_the_worker_at_once() -> None:
    rt, gnss, _ = gnss_run()
    rt.run(50.0)
    started = time.perf_counter()
    rt.shutdown()
    assert time.perf_counter() - started < 2.0
    assert gnss.thread is not None and not gnss.thread.is_alive()


@pytest.mark.parametrize(
    ("extra", "port", "key"),
    [
        ("", "nope://x", "components[1].gnss.hardware.port"),
        ("", "/dev/ttyS0", "components[1].gnss.hardware.port"),  # a real port on the sim clock
        ('dynamic_model = "rocket"', "sim://gnss", "components[1].dynamic_model"),
        ("rate_ms = 10", "sim://gnss", "components[1].rate_ms"),
        ("gather_s = -1", "sim://gnss", "components[1].gather_s"),
        ("colour = 1", "sim://gnss", "components[1].colour"),
    ],
)
def test_deployment_errors_name_the_key(extra: str, port: str, key: str) -> None:
    with pytest.raises(DeploymentError) as err:
        gnss_run(extra=extra, port=port)
    assert err.value.key == key


def test_unknown_message_names_are_deployment_errors() -> None:
    text = DEPLOYMENT.format(seed=1, extra="", port="sim://gnss")
    for old, new in (('"NAV-EOE"]', '"NAV-XYZ"]'), ('"ZDA"]', '"ZZZ"]')):
        with pytest.raises(DeploymentError) as err:
            build(text.replace(old, new), SimClock())
        assert err.value.key in ("components[1].messages", "components[1].nmea_off")


def test_bad_pps_bindings_are_deployment_errors() -> None:
    text = DEPLOYMENT.format(seed=1, extra="", port="sim://gnss")
    for pps, why in (
        ("sim://gpio", "LINE"),
        ("sim://gpio:99", "LINE"),
        ("/dev/gpiochip0:17", "real clock"),
    ):
        with pytest.raises(DeploymentError) as err:
            build(text.replace('gnss_pps = "sim://gpio:3"', f'gnss_pps = "{pps}"'), SimClock())
        assert err.value.key == "components[1].gnss.hardware.pps" and why in err.value.detail


def test_a_port_that_does_not_open_is_reported_not_raised() -> None:
    text = DEPLOYMENT.format(seed=1, extra="reopen_s = 60", port="/dev/no-such-gnss-uart")
    text = text.replace('members = ["gnss_sky"]', 'members = ["gnss_sky", "gnss"]')
    text = text.replace('members = ["gnss"]', "members = []")
    rt = build(
        text.replace(
            'hardware = { port = "gnss", pps = "gnss_pps" }', 'hardware = { port = "gnss" }'
        ),
        MonotonicClock(),
    )
    rt.run(0.3)
    assert [a[0] for n, _, a in named(rt, "gnss.port_failed")][0].startswith("SerialError")
    assert rt.components["gnss"].health.name == "WARNING"
    assert command(rt, "gnss.cold_start").stage is Stage.COMPLETION_FAILED
    rt.shutdown()


def test_cfg_rst_parses_in_pyubx2_and_is_not_acknowledged() -> None:
    msg = UBXReader.parse(config.cfg_rst(StartMode.COLD), msgmode=1)
    assert msg.identity == "CFG-RST" and msg.resetMode == 2
    assert struct.unpack("<H", config.cfg_rst(StartMode.COLD)[6:8])[0] == 0xFFFF
    assert UBXReader.parse(config.cfg_rst(StartMode.WARM), msgmode=1).eph == 1


class _Silent:
    def write(self, data: bytes) -> int:
        return len(data)

    def read(self, size: int = 1) -> bytes:
        return b""


def test_a_cancelled_configurator_stops_waiting() -> None:
    clock = SimClock()
    stop = {"now": False}
    configurator = Configurator(
        _Silent(), clock, timeout_s=1.0, retries=5, cancelled=lambda: stop["now"]
    )
    assert configurator.send(config.cfg_rate(1000)).outcome is Outcome.TIMEOUT
    assert clock.monotonic() == pytest.approx(6.0)
    stop["now"] = True
    result = configurator.send(config.cfg_rate(1000))
    assert result.outcome is Outcome.CANCELLED and result.attempts == 0
    assert configurator.counters.cancelled == 1 and clock.monotonic() == pytest.approx(6.0)


def pvt_epoch(utc: dt.datetime) -> bytes:
    """NAV-PVT naming `utc` with a 3D fix, then NAV-EOE, built by pyubx2."""
    itow = (utc.weekday() + 1) % 7 * 86_400_000 + utc.hour * 3_600_000 + utc.second * 1000
    return UBXMessage(
        "NAV", "NAV-PVT", GET, iTOW=itow, year=utc.year, month=utc.month, day=utc.day,
        hour=utc.hour, min=utc.minute, second=utc.second, validDate=1, validTime=1,
        fullyResolved=1, fixType=3, gnssFixOk=1, numSV=8, lat=10.0, lon=20.0, height=500_000_000,
    ).serialize() + UBXMessage("NAV", "NAV-EOE", GET, iTOW=itow).serialize()  # fmt: skip


def test_a_receiver_that_steps_its_time_gives_a_time_jump_event() -> None:
    rt, gnss, device = gnss_run()
    rt.run(60.0)
    assert gnss.time_status().state is SyncState.LOCKED
    device.power(False)  # from here the test is the receiver: PPS edges and epochs 100 s ahead
    chip = sim_gpio_chip(rt.resources, rt.clock, "gpio")
    start = _next_second(device.orbit.epoch)
    for _ in range(4):
        edge = rt.clock.monotonic() + 1.0
        chip.schedule(3, True, edge)
        chip.schedule(3, False, edge + 0.1)
        rt.run(1.0)
        device.port.write(pvt_epoch(start + dt.timedelta(seconds=round(edge) + 100)))
    rt.run(2.0)
    jumps = named(rt, "gnss.time_jump")
    assert len(jumps) == 1 and jumps[0][2][0] == pytest.approx(100.0, abs=1e-6)
    assert tlm(rt, "time_jumps") == 1 and gnss.time_status().state is SyncState.LOCKED
    assert abs(gnss.tai() - truth_tai(device, rt.clock.monotonic()) - 100.0) < 1e-6
    rt.shutdown()


@pytest.fixture(scope="module")
def locked_run():
    rt, gnss, device = gnss_run()
    rt.run(48.0)
    yield rt, gnss, device
    rt.shutdown()


# Well-formed frames with arbitrary contents reach the decoders (noise alone seldom passes a
# checksum): NAV-PVT (92 octets), NAV-TIMEUTC (20), NAV-EOE (4), ACK-ACK (2), any length.
_UBX_KINDS = st.sampled_from([(0x01, 0x07, 92), (0x01, 0x21, 20), (0x01, 0x61, 4),
                              (0x05, 0x01, 2), (0x01, 0x07, None)])  # fmt: skip
frames = st.builds(
    lambda kind, payload: ubx.frame(kind[0], kind[1], payload[: kind[2]].ljust(kind[2] or 0,
                                                                            b"\x00")),
    _UBX_KINDS, st.binary(max_size=120),
)  # fmt: skip
sentences = st.builds(
    lambda talker, body: b"$" + talker + b"," + body + b"*%02X\r\n" % nmea_checksum(
        talker + b"," + body),
    st.sampled_from([b"GPRMC", b"GPGGA", b"GNZDA", b"GPGSA", b"GLGSV", b"GNVTG"]),
    st.binary(max_size=70).map(lambda b: bytes(c for c in b if 32 <= c < 127 and c not in b"$*")),
)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(st.one_of(st.binary(min_size=1, max_size=400), frames, sentences),
                       min_size=1, max_size=6))  # fmt: skip
def test_any_bytes_on_the_line_are_counted_never_raised(locked_run, chunks: list[bytes]) -> None:
    rt, gnss, device = locked_run
    fixes = tlm(rt, "fixes")
    for chunk in chunks:
        device.port.write(chunk)
        rt.run(0.3)
    rt.run(2.0)
    delivered = sim_serial_hub(rt.resources).link("gnss").b_to_a.stats.bytes_delivered
    assert delivered == gnss.decoder.counters.framing.bytes_in + gnss.port.in_waiting
    assert 0 < tlm(rt, "bytes_in") <= gnss.decoder.counters.framing.bytes_in  # as of the cycle
    assert tlm(rt, "fixes") > fixes  # the receiver's epochs still decode
    assert rt.telemetry.get("rg1hz.member_faults") == 0 and gnss.thread.is_alive()
    assert not named(rt, "gnss.port_failed") and gnss.health.name == "OK"


def test_on_the_real_clock_the_simulated_receiver_and_its_pps_keep_up() -> None:
    device = 'port = "gnss_sky", pps = "gnss_pps" }\nbaudrate = 115200'
    text = DEPLOYMENT.format(seed=2, extra="", port="sim://gnss")
    text = text.replace(device, device + "\ncold_start_s = 1.0")  # a fix within a second
    rt = build(text, MonotonicClock())
    rt.run(5.5)
    rt.shutdown()
    assert "gnss.fix_acquired" in names(rt) and rt.components["gnss"]._counts.pps_edges >= 2
    assert rt.components["gnss"].time_status().state is SyncState.LOCKED
    assert rt.telemetry.get("rg10hz.member_faults") == 0


@pytest.mark.parametrize(
    "fields",
    [(2025, 2, 30, 0, 0, 0, 0), (2025, 13, 1, 0, 0, 0, 0), (2016, 12, 31, 23, 59, 60, 0),
     (9999, 12, 31, 23, 59, 59, 999_999_999), (0, 1, 1, 0, 0, 0, 0)],
)  # fmt: skip
def test_flagged_valid_times_no_calendar_holds_are_no_time_not_a_crash(fields) -> None:
    year, month, day, hour, minute, second, nano = fields
    epoch = UBXMessage(
        "NAV", "NAV-PVT", GET, iTOW=1000, year=year, month=month, day=day, hour=hour, min=minute,
        second=second, nano=nano, validDate=1, validTime=1, fullyResolved=1, fixType=3,
    ).serialize() + UBXMessage(
        "NAV", "NAV-TIMEUTC", GET, iTOW=1000, year=year, month=month, day=day, hour=hour,
        min=minute, sec=second, nano=nano, validTOW=1, validWKN=1, validUTC=1,
    ).serialize() + UBXMessage("NAV", "NAV-EOE", GET, iTOW=1000).serialize()  # fmt: skip
    [fix] = decode(epoch)
    assert fix.time is None
