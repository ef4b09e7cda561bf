"""The simulated GNSS receiver: its bytes decode with our driver and with pynmea2 and pyubx2 (an
independent pair), positions match the truth within the noise, and its behaviour over power,
outages, COCOM limits, configuration commands and seeds."""

from __future__ import annotations

import io
import math
import statistics

import pynmea2
import pytest
from pyubx2 import NMEA_PROTOCOL, UBX_PROTOCOL, VALCKSUM, UBXReader

from drivers.gnss import FixMode, decode
from drivers.gnss.config import cfg_msg, cfg_rate, flight_profile
from flight.sim.errors import SimError, TimeOrderError
from flight.sim.frames import geodetic_to_ecef
from flight.sim.gnss import GnssConfig, GnssOutput, GnssReceiver, Message
from flight.sim.gnss_sky import GnssSystem
from flight.sim.orbit import Orbit
from flight.sim.timebase import TimeBase

FAST = GnssConfig(time_valid_after_s=2.0, cold_start_s=5.0)


@pytest.fixture(scope="module")
def orbit() -> Orbit:
    return Orbit.default()


@pytest.fixture(scope="module")
def timebase(orbit: Orbit) -> TimeBase:
    return TimeBase(orbit.epoch)


def _run(rx: GnssReceiver, seconds: int, start: float = 0.0) -> list[GnssOutput]:
    out: list[GnssOutput] = []
    for k in range(1, seconds + 1):
        out += rx.advance(start + k)
    return out


@pytest.fixture(scope="module")
def stream(orbit: Orbit, timebase: TimeBase) -> list[GnssOutput]:
    return _run(GnssReceiver(orbit, timebase, FAST, seed=11), 90)


def _distance_m(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    return math.dist(geodetic_to_ecef(*a), geodetic_to_ecef(*b))


def test_our_decoder_reads_every_epoch_at_the_truth(stream: list[GnssOutput]) -> None:
    fixes = decode(b"".join(o.data for o in stream))
    epochs = [o.epoch for o in stream if o.epoch is not None]
    assert len(fixes) == len(epochs) == 90
    for fix, e in zip(fixes, epochs, strict=True):
        assert fix.mode == (FixMode.FIX_3D if e.fix else FixMode.NO_FIX)
        if not e.time_valid:
            assert not fix.timing.time_valid
            continue
        assert fix.time == e.utc
        if e.fix:
            got = (fix.lat, fix.lon, fix.alt_hae)
            assert _distance_m(got, tuple(e.solution)) < 0.05  # the encoding's resolution
            assert _distance_m(got, tuple(e.truth)) < 5 * 3.0  # within 5 sigma of the noise
            assert fix.speed == pytest.approx(math.hypot(*e.truth_velocity_ned[:2]), abs=0.3)
    assert sum(e.fix for e in epochs) >= 84  # cold start of 5 s


def _frames(data: bytes) -> list[tuple[bytes, object]]:
    reader = UBXReader(io.BytesIO(data), protfilter=NMEA_PROTOCOL | UBX_PROTOCOL,
                       validate=VALCKSUM, quitonerror=2)
    return list(reader)


def test_pyubx2_and_pynmea2_read_the_stream(stream: list[GnssOutput]) -> None:
    by_second = {o.epoch.utc: o.epoch for o in stream if o.epoch is not None and o.epoch.fix}
    seen: dict[str, int] = {}
    checked = 0
    for raw, parsed in _frames(b"".join(o.data for o in stream)):
        seen[parsed.identity] = seen.get(parsed.identity, 0) + 1
        if raw.startswith(b"$"):
            sentence = pynmea2.parse(raw.decode("ascii").strip(), check=True)  # checksum checked
            assert len(raw) <= 82
            if isinstance(sentence, pynmea2.GGA) and sentence.gps_qual == 1:
                e = next(v for k, v in by_second.items() if k.timetz() == sentence.timestamp)
                got = (sentence.latitude, sentence.longitude, sentence.altitude)
                assert _distance_m(got, tuple(e.solution)) < 0.1  # 1e-5 min, 0.1 m
                assert _distance_m(got, tuple(e.truth)) < 15.0
                checked += 1
            if isinstance(sentence, pynmea2.RMC) and sentence.status == "A":
                assert sentence.datestamp.isoformat() == "2022-04-19"
        elif parsed.identity == "NAV-PVT" and parsed.fixType == 3:
            e = next(v for k, v in by_second.items()
                     if (k.hour, k.minute, k.second) == (parsed.hour, parsed.min, parsed.second))
            got = (parsed.lat, parsed.lon, parsed.height / 1000.0)
            assert _distance_m(got, tuple(e.solution)) < 0.05
            assert parsed.gnssFixOk == 1 and parsed.numSV == e.satellites_used
            checked += 1
        elif parsed.identity == "NAV-TIMEUTC" and parsed.validUTC:
            assert parsed.year == 2022 and parsed.utcStandard == 3
    assert checked >= 2 * 84
    for name in ("GNRMC", "GNVTG", "GNGGA", "GNZDA", "NAV-PVT", "NAV-TIMEUTC", "NAV-EOE"):
        assert seen[name] == 90
    assert seen["GNGSA"] == 180  # one per constellation
    assert seen["GPGSV"] > 90 and seen["GAGSV"] > 90


def test_gps_only_talker_and_nmea_only_stream(orbit: Orbit, timebase: TimeBase) -> None:
    config = GnssConfig(talker="GP", systems=(GnssSystem.GPS,), time_valid_after_s=1.0,
                        cold_start_s=2.0, messages=(Message.RMC, Message.GGA, Message.GSA,
                                                    Message.GSV, Message.VTG, Message.ZDA))
    out = _run(GnssReceiver(orbit, timebase, config, seed=2), 30)
    data = b"".join(o.data for o in out)
    assert b"\xb5\x62" not in data and b"$GN" not in data and b"$GA" not in data
    fixes = decode(data)
    epochs = [o.epoch for o in out if o.epoch is not None and o.epoch.fix]
    by_time = {e.utc: e for e in epochs}
    matched = [f for f in fixes if f.mode == FixMode.FIX_3D and f.time in by_time]
    assert len(matched) >= 25
    for f in matched:
        e = by_time[f.time]
        assert _distance_m((f.lat, f.lon, f.alt_hae), tuple(e.solution)) < 0.1


def test_noise_statistics_follow_the_configuration(orbit: Orbit, timebase: TimeBase) -> None:
    config = GnssConfig(time_valid_after_s=0.0, cold_start_s=0.0, error_correlation_s=0.5,
                        horizontal_sigma_m=2.0, vertical_sigma_m=4.0,
                        messages=(Message.NAV_PVT,))
    out = _run(GnssReceiver(orbit, timebase, config, seed=5), 600)
    ups, totals = [], []
    for o in out:
        e = o.epoch
        if e is not None and e.fix:
            ups.append(e.solution.alt_m - e.truth.alt_m)
            totals.append(_distance_m(tuple(e.solution), tuple(e.truth)))
    assert len(ups) >= 595
    assert statistics.pstdev(ups) == pytest.approx(4.0, rel=0.15)
    rms = math.sqrt(statistics.fmean(d * d for d in totals))
    assert rms == pytest.approx(math.sqrt(2 * 2.0**2 + 4.0**2), rel=0.15)


def test_cold_start_pps_and_outage(orbit: Orbit, timebase: TimeBase) -> None:
    rx = GnssReceiver(orbit, timebase, GnssConfig(), seed=3)  # 30 s to time, 45 s to a fix
    out = _run(rx, 60)
    epochs = [o.epoch for o in out if o.epoch is not None]
    for e in epochs:
        assert e.time_valid == (e.t >= 30.0)
        assert e.fix == (e.t >= 45.0)
        assert (e.pps_t is not None) == e.fix
        if e.pps_t is not None:
            assert abs(e.pps_t - e.t) < 200e-9  # 20 ns jitter, 10 sigma
    for o in out:
        assert o.t == pytest.approx(o.epoch.t + 0.05)  # the edge comes before the messages
    rx.set_outage(60.5, True)
    during = _run(rx, 10, start=60.0)
    assert all(o.epoch.time_valid and not o.epoch.fix for o in during)
    assert all(b"$GPGSV,1,1,00" in o.data for o in during)  # no satellites
    rx.set_outage(70.2, False)
    after = [o.epoch for o in _run(rx, 10, start=70.0)]
    assert [e.fix for e in after] == [e.t >= 73.2 for e in after]  # 3 s to reacquire
    assert rx.counters.pps_edges == sum(e.fix for e in epochs) + sum(e.fix for e in after)


def test_scheduled_outage_and_power_cycle(orbit: Orbit, timebase: TimeBase) -> None:
    rx = GnssReceiver(orbit, timebase, FAST, seed=4)
    rx.add_outage(20.0, 25.0)
    epochs = [o.epoch for o in _run(rx, 40)]
    assert [e.fix for e in epochs if 19 < e.t < 30] == [
        not (20.0 <= e.t < 28.0) for e in epochs if 19 < e.t < 30]
    rx.power_off(40.5)
    assert not rx.powered and _run(rx, 10, start=40.0) == []
    rx.power_on(50.5)
    back = [o.epoch for o in _run(rx, 10, start=50.0)]
    assert not back[0].time_valid and back[-1].fix  # a cold start again
    with pytest.raises(SimError, match="empty"):
        rx.add_outage(5.0, 5.0)
    late = GnssReceiver(orbit, timebase, FAST, power_on_at=30.0)
    assert _run(late, 29) == [] and _run(late, 2, start=29.0)[0].epoch.t >= 30.0
    with pytest.raises(SimError, match="before the run"):
        GnssReceiver(orbit, timebase, FAST, power_on_at=-1.0)


def test_cocom_limits_blank_the_fix_in_orbit(orbit: Orbit, timebase: TimeBase) -> None:
    rx = GnssReceiver(orbit, timebase, GnssConfig(time_valid_after_s=1.0, cold_start_s=2.0,
                                                  cocom_limits=True), seed=6)
    out = _run(rx, 20)
    assert all(not o.epoch.fix for o in out)
    assert out[-1].epoch.time_valid
    fixes = decode(b"".join(o.data for o in out))
    assert all(f.mode == FixMode.NO_FIX for f in fixes)
    nmea = b"".join(o.data for o in out).split(b"\r\n")
    gga = [line for line in nmea if line.startswith(b"$GNGGA")]
    assert all(b",,,,,0,00," in line for line in gga)  # no position, quality 0
    assert gga[-1].startswith(b"$GNGGA,105449.00,")  # but the time
    assert fixes[-1].time == out[-1].epoch.utc


def test_same_seed_same_bytes(orbit: Orbit, timebase: TimeBase) -> None:
    def run(seed: int) -> bytes:
        return b"".join(o.data for o in _run(GnssReceiver(orbit, timebase, FAST, seed=seed), 15))

    assert run(8) == run(8)
    assert run(8) != run(9)


def _acks(outputs: list[GnssOutput]) -> list[tuple[str, int, int]]:
    data = b"".join(o.data for o in outputs if o.epoch is None)
    return [(p.identity, p.clsID, p.msgID) for _, p in _frames(data)]


def test_driver_configuration_is_applied_and_acknowledged(orbit: Orbit,
                                                          timebase: TimeBase) -> None:
    rx = GnssReceiver(orbit, timebase, FAST, seed=10)
    _run(rx, 10)
    for k, command in enumerate(flight_profile(rate_ms=500)):
        rx.command(10.1 + 0.01 * k, command)
    rx.command(10.2, b"garbage" + cfg_msg(0x01, 0x99, 1))  # a message it cannot output
    rx.command(10.3, cfg_rate(20))  # 50 Hz: too fast
    out = _run(rx, 4, start=10.0)
    assert _acks(out) == [("ACK-ACK", 0x06, 0x01)] * 3 + [("ACK-ACK", 0x06, 0x08),
                                                          ("ACK-ACK", 0x06, 0x24),
                                                          ("ACK-NAK", 0x06, 0x01),
                                                          ("ACK-NAK", 0x06, 0x08)]
    epochs = [o.epoch for o in out if o.epoch is not None]
    assert len(epochs) in (7, 8)  # 2 Hz after CFG-RATE 500 ms
    identities = {p.identity for _, p in _frames(b"".join(o.data for o in out))}
    assert "NAV-SAT" in identities
    assert rx.counters.input_bytes_skipped == len(b"garbage")


def test_valset_and_bad_input(orbit: Orbit, timebase: TimeBase) -> None:
    from drivers.gnss.config import (
        CFG_MSGOUT_UBX_NAV_PVT_UART1,
        CFG_RATE_MEAS,
        cfg_valset,
    )

    rx = GnssReceiver(orbit, timebase, FAST, seed=12)
    rx.command(0.5, cfg_valset([(CFG_MSGOUT_UBX_NAV_PVT_UART1, 0), (CFG_RATE_MEAS, 1000)]))
    rx.command(0.6, cfg_valset([(0x10110013, 1)]))  # a key it does not know
    broken = bytearray(cfg_rate(1000))
    broken[-1] ^= 0xFF
    rx.command(0.7, bytes(broken))
    out = _run(rx, 3)
    assert _acks(out) == [("ACK-ACK", 0x06, 0x8A), ("ACK-NAK", 0x06, 0x8A)]
    assert rx.counters.input_bad_checksums == 1
    assert b"\xb5\x62\x01\x07" not in b"".join(o.data for o in out if o.epoch is not None)


def test_time_only_moves_forward_and_bad_configs(orbit: Orbit, timebase: TimeBase) -> None:
    rx = GnssReceiver(orbit, timebase, FAST)
    rx.advance(5.0)
    with pytest.raises(TimeOrderError):
        rx.advance(4.0)
    for kwargs, match in (({"rate_hz": 3.0}, "rate"), ({"talker": "GL"}, "talker"),
                          ({"talker": "GP"}, "GPS-only"), ({"systems": ()}, "constellation"),
                          ({"time_valid_after_s": 50.0}, "cold start"),
                          ({"horizontal_sigma_m": -1.0}, "negative")):
        with pytest.raises(SimError, match=match):
            GnssConfig(**kwargs)
