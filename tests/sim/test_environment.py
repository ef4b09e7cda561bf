"""The Environment: one clock for orbit, Sun, stations, GNSS and radio; determinism by seed."""

from __future__ import annotations

import math

import pytest

from drivers.gnss import decode
from flight.sim.channel import Endpoint
from flight.sim.environment import DELFT, Environment
from flight.sim.errors import SimError, TimeOrderError
from flight.sim.stations import GroundStation
from flight.sim.sun import Lighting

SVALBARD = GroundStation("Svalbard", 78.2298, 15.4078, 500.0, mask_deg=5.0)


def test_snapshot_geometry() -> None:
    env = Environment()
    s = env.at(1234.5)
    assert s.utc == env.timebase.utc(1234.5)
    assert s.orbit == env.orbit.state(s.utc)
    assert math.dist((0, 0, 0), s.sun_body) == pytest.approx(1.0)
    assert 20.0 < abs(s.beta_deg) < 35.0
    # the Sun's angle to the orbit plane is the angle of the body-frame Sun vector to the
    # x-z plane (the body y axis is the orbit anti-normal)
    assert math.degrees(math.asin(-s.sun_body[1])) == pytest.approx(s.beta_deg, abs=0.01)
    dark = next(t for t in range(0, 6000, 30) if env.at(float(t)).lighting is Lighting.UMBRA)
    assert env.at(float(dark)).sun_fraction == 0.0
    assert env.illumination.sun_fraction(float(dark)) == 0.0


def test_radio_and_views_follow_the_passes() -> None:
    env = Environment(stations=(DELFT, SVALBARD), seed=2, gnss_power_on_at=1e6)
    passes = env.passes(0.0, 86400.0)
    assert {p.station for p in passes} == {"Delft", "Svalbard"}
    assert passes == sorted(passes, key=lambda p: p.aos)
    svalbard = env.passes(0.0, 86400.0, "Svalbard")
    assert len(svalbard) > len(env.passes(0.0, 86400.0, "Delft"))  # polar station, SSO
    p = next(x for x in svalbard if not x.aos_clipped)
    step = env.advance(p.tca)
    assert step.in_view["Svalbard"] and env.in_view(p.tca)
    assert step.looks["Svalbard"].elevation_deg == pytest.approx(p.max_elevation_deg, abs=1e-6)
    env.uplink("Svalbard", p.tca, b"PING")
    done = env.downlink(p.tca, b"PONG")
    arrived = env.advance(done + 0.1).deliveries
    assert sorted((d.dest.value, d.data) for name, d in arrived if name == "Svalbard") == [
        ("ground", b"PONG"), ("space", b"PING")]
    delft = env.channels["Delft"].stats[Endpoint.SPACE]
    assert (delft.bytes_delivered, delft.bytes_dropped) == (
        (4, 0) if env.in_view(p.tca, "Delft") else (0, 4))
    with pytest.raises(SimError, match="no ground station"):
        env.uplink("Nowhere", p.tca, b"x")
    with pytest.raises(TimeOrderError):
        env.advance(p.tca)


def test_gnss_comes_out_of_advance() -> None:
    env = Environment(seed=5)
    out = []
    t = 0.0
    while t < 60.0:
        nxt = env.next_event()
        assert nxt is not None and nxt > t
        t = nxt
        out += env.advance(t).gnss
    fixes = decode(b"".join(o.data for o in out))
    assert len(fixes) == len(out) >= 59
    assert [f.mode for f in fixes].count(3) >= 14  # a fix after the 45 s cold start


def _run(env: Environment) -> tuple[bytes, list[bytes]]:
    p = next(x for x in env.passes(0.0, 86400.0, "Delft") if not x.aos_clipped)
    gnss = b"".join(o.data for o in env.advance(90.0).gnss)
    env.gnss.power_off(90.0)  # hours of GNSS output to the pass would only cost time here
    for k in range(30):
        env.downlink(p.aos + k, bytes(range(256)) * 4)
    radio = [d.data for name, d in env.advance(p.aos + 60.0).deliveries if name == "Delft"]
    return gnss, radio


def test_same_seed_same_bytes_and_streams_are_independent() -> None:
    a = _run(Environment(seed=9))
    assert a == _run(Environment(seed=9))
    b = _run(Environment(seed=10))
    assert a[0] != b[0] and a[1] != b[1]
    assert a[1] != [bytes(range(256)) * 4] * len(a[1])  # low in the sky: some bit errors
    # adding a station changes neither the GNSS noise nor the first station's bit errors
    assert _run(Environment(seed=9, stations=(DELFT, SVALBARD))) == a


def test_station_names_must_be_unique() -> None:
    with pytest.raises(SimError, match="unique"):
        Environment(stations=(DELFT, DELFT))
