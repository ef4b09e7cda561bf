"""Bad input never crashes the simulator, and its encoders round-trip (hypothesis)."""

from __future__ import annotations

import datetime as dt

import pynmea2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.sim.channel import Endpoint
from flight.sim.environment import Environment
from flight.sim.gnss import GnssConfig, GnssReceiver
from flight.sim.gnss_messages import nmea_latitude, nmea_longitude, nmea_sentence, ubx_frame
from flight.sim.orbit import Orbit
from flight.sim.timebase import TimeBase

ORBIT = Orbit.default()
TB = TimeBase(ORBIT.epoch)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=6),
       st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=40)),
                max_size=4))
def test_receiver_survives_any_input(chunks: list[bytes],
                                     frames: list[tuple[int, int, bytes]]) -> None:
    rx = GnssReceiver(ORBIT, TB, GnssConfig(time_valid_after_s=0.0, cold_start_s=0.0))
    t = 0.0
    stream = b"".join(chunks) + b"".join(ubx_frame(c, i, p) for c, i, p in frames)
    for k in range(0, len(stream), 37):
        t += 0.01
        rx.command(t, stream[k:k + 37])
    out = rx.advance(t + 2.0)
    answered = sum(1 for o in out if o.epoch is None)
    assert answered == rx.counters.commands_acked + rx.counters.commands_naked
    assert sum(o.epoch is not None for o in out) >= 2


@given(st.floats(-90.0, 90.0), st.floats(-180.0, 180.0))
def test_nmea_coordinates_round_trip_through_pynmea2(lat: float, lon: float) -> None:
    la, ns = nmea_latitude(lat)
    lo, ew = nmea_longitude(lon)
    s = nmea_sentence("GPGLL", [la, ns, lo, ew, "120000.00", "A", "A"])
    parsed = pynmea2.parse(s.decode().strip(), check=True)
    assert parsed.latitude == pytest.approx(lat, abs=1e-5 / 60 * 0.51 + 1e-12)
    assert ((parsed.longitude - lon + 180.0) % 360.0) - 180.0 == pytest.approx(
        0.0, abs=1e-5 / 60 * 0.51 + 1e-9)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 86400.0), st.binary(min_size=1, max_size=400),
                          st.sampled_from(list(Endpoint))), max_size=8))
def test_channel_accounts_for_every_byte(sends: list[tuple[float, bytes, Endpoint]]) -> None:
    env = Environment(start_utc=dt.datetime(2022, 4, 19, 10, 54, 29, 464416, tzinfo=dt.UTC),
                      gnss_power_on_at=1e9)
    ch = env.channels["Delft"]
    for t, data, source in sorted(sends, key=lambda s: s[0]):
        ch.send(source, t, data)
    arrived = ch.deliveries(1e6)
    for e in Endpoint:
        s = ch.stats[e]
        assert s.bytes_sent == s.bytes_delivered + s.bytes_dropped
        assert sum(len(d.data) for d in arrived if d.dest is e.other) == s.bytes_delivered
