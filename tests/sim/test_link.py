"""Link budget against textbook figures, and the pass-gated radio channel."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flight.sim.channel import Endpoint, RadioChannel, flip_bits
from flight.sim.errors import SimError
from flight.sim.linkbudget import (
    UHF_DOWNLINK,
    UHF_UPLINK,
    LinkBudget,
    Modulation,
    bit_error_rate,
)
from flight.sim.orbit import Orbit
from flight.sim.stations import GroundStation, Pass, predict_passes
from flight.sim.timebase import TimeBase

DELFT = GroundStation("Delft", 51.9990, 4.3733, 30.0, mask_deg=5.0)
C = 299_792_458.0


def test_free_space_loss_and_noise_arithmetic() -> None:
    # FSPL(dB) = 20 log10(d km) + 20 log10(f MHz) + 32.45
    assert UHF_DOWNLINK.free_space_loss_db(1000e3) == pytest.approx(
        60 + 20 * math.log10(437) + 32.45, abs=0.01)
    b = LinkBudget(tx_power_w=10.0, tx_antenna_gain_dbi=3.0, tx_losses_db=1.0,
                   rx_g_over_t_db_k=-10.0, path_losses_db=0.0, implementation_loss_db=0.0,
                   bit_rate_bps=1000.0)
    assert b.eirp_dbw == pytest.approx(12.0)
    assert b.cn0_dbhz(1000e3) == pytest.approx(12.0 - b.free_space_loss_db(1000e3) - 10 + 228.6)
    assert b.ebn0_db(1000e3) == pytest.approx(b.cn0_dbhz(1000e3) - 30.0)


def test_bit_error_rates_match_textbook_thresholds() -> None:
    assert bit_error_rate(Modulation.BPSK, 9.59) == pytest.approx(1e-5, rel=0.05)
    assert bit_error_rate(Modulation.FSK, 13.36) == pytest.approx(1e-5, rel=0.05)
    # GMSK is BPSK shifted by 10 log10(1 / 0.68) = 1.67 dB
    assert bit_error_rate(Modulation.GMSK, 9.59 + 1.675) == pytest.approx(1e-5, rel=0.05)
    assert bit_error_rate(Modulation.BPSK, -50.0) == pytest.approx(0.5, abs=0.01)


@given(st.floats(300e3, 4000e3), st.floats(300e3, 4000e3), st.sampled_from(list(Modulation)))
def test_budget_is_monotonic_in_range_and_ber_bounded(r1: float, r2: float,
                                                      modulation: Modulation) -> None:
    near, far = sorted((r1, r2))
    for budget in (LinkBudget(modulation=modulation), UHF_UPLINK):
        assert budget.ebn0_db(near) >= budget.ebn0_db(far)
        assert budget.ber(near) <= budget.ber(far)
        assert 0.0 <= budget.ber(far) <= 0.5


def test_default_downlink_is_marginal_only_near_the_horizon() -> None:
    assert 1e-3 < UHF_DOWNLINK.ber(2600e3) < 2e-2
    assert UHF_DOWNLINK.ber(1000e3) < 1e-8
    assert UHF_UPLINK.ber(2600e3) < 1e-20


def test_bad_budget_rejected() -> None:
    with pytest.raises(SimError, match="tx_power_w"):
        LinkBudget(tx_power_w=0.0)
    with pytest.raises(SimError, match="modulation 'qam'"):
        LinkBudget(modulation="qam")  # type: ignore[arg-type]


@given(st.binary(min_size=1, max_size=64), st.floats(0.0, 0.5), st.integers(0, 2**32))
def test_flip_bits_counts_what_it_flips(data: bytes, ber: float, seed: int) -> None:
    import random

    buf = bytearray(data)
    flips = flip_bits(buf, ber, random.Random(seed))
    assert flips == sum(bin(a ^ b).count("1") for a, b in zip(data, buf, strict=True))
    if ber == 0.5 and len(data) == 64:
        assert 150 < flips < 362  # half of 512 bits, give or take 9 sigma


@pytest.fixture(scope="module")
def orbit() -> Orbit:
    return Orbit.default()


@pytest.fixture(scope="module")
def timebase(orbit: Orbit) -> TimeBase:
    return TimeBase(orbit.epoch)


@pytest.fixture(scope="module")
def passes(orbit: Orbit, timebase: TimeBase) -> list[Pass]:
    return [p for p in predict_passes(orbit, DELFT, timebase, 0.0, 86400.0) if not p.aos_clipped]


def _channel(orbit: Orbit, timebase: TimeBase, seed: int = 1) -> RadioChannel:
    return RadioChannel(orbit, DELFT, timebase, air_rate_bps=9600.0, seed=seed)


def test_nothing_crosses_outside_a_pass(orbit: Orbit, timebase: TimeBase,
                                        passes: list[Pass]) -> None:
    ch = _channel(orbit, timebase)
    gap = passes[0].los + 600.0
    assert not ch.schedule.in_view(gap)
    ch.send(Endpoint.GROUND, gap, b"\x55" * 500)
    ch.send(Endpoint.SPACE, gap, b"\xaa" * 500)
    assert ch.next_arrival() is None
    assert ch.deliveries(gap + 3600.0) == []
    for e in Endpoint:
        assert (ch.stats[e].bytes_sent, ch.stats[e].bytes_dropped) == (500, 500)


def test_bytes_in_a_pass_arrive_after_air_time_and_light_time(orbit: Orbit, timebase: TimeBase,
                                                             passes: list[Pass]) -> None:
    ch = _channel(orbit, timebase)
    best = max(passes, key=lambda p: p.max_elevation_deg)
    data = bytes(range(256)) * 4
    done = ch.send(Endpoint.GROUND, best.tca, data)
    assert done == pytest.approx(best.tca + len(data) * 8 / 9600.0)
    got = ch.deliveries(done + 1.0)
    assert b"".join(d.data for d in got) == data  # high in the sky: no errors on the uplink
    assert all(d.dest is Endpoint.SPACE for d in got)
    last = got[-1]
    assert last.t == pytest.approx(done + ch.range_m(best.tca + 0.5) / C, abs=2e-4)
    assert 1.5e-3 < last.t - done < 1e-2  # light time over 500-2600 km


def test_transmitter_queues_at_the_air_rate(orbit: Orbit, timebase: TimeBase,
                                            passes: list[Pass]) -> None:
    ch = _channel(orbit, timebase)
    t = passes[0].tca
    first = ch.send(Endpoint.SPACE, t, b"a" * 120)
    second = ch.send(Endpoint.SPACE, t, b"b" * 120)  # waits for the first
    assert second == pytest.approx(first + 0.1)
    assert ch.next_arrival(Endpoint.GROUND) == pytest.approx(first + ch.range_m(t) / C, abs=1e-3)
    assert ch.receive(Endpoint.GROUND, second + 1.0).count(b"b") >= 100
    assert ch.receive(Endpoint.SPACE, second + 1.0) == b""


def test_transmission_cut_at_los(orbit: Orbit, timebase: TimeBase, passes: list[Pass]) -> None:
    ch = _channel(orbit, timebase)
    p = passes[0]
    start = p.los - 1.0  # 1200 bytes of air time left
    ch.send(Endpoint.GROUND, start, bytes(3000))
    got = ch.receive(Endpoint.SPACE, p.los + 10.0)
    assert len(got) == math.ceil((p.los - start) * 1200 - 1e-9)
    assert ch.stats[Endpoint.GROUND].bytes_dropped == 3000 - len(got)


def test_low_elevation_downlink_has_errors_at_the_budgets_rate(orbit: Orbit, timebase: TimeBase,
                                                               passes: list[Pass]) -> None:
    ch = _channel(orbit, timebase, seed=7)
    p = passes[0]
    data = bytes(12000)  # 10 s of air time just after AOS, range near 2100 km
    ch.send(Endpoint.SPACE, p.aos, data)
    got = ch.deliveries(p.aos + 60.0)
    received = b"".join(d.data for d in got)
    assert len(received) == len(data)
    flipped = sum(bin(b).count("1") for b in received)
    assert flipped == ch.stats[Endpoint.SPACE].bit_errors == sum(d.bit_errors for d in got)
    expected = sum(UHF_DOWNLINK.ber(d.range_m) * 8 * len(d.data) for d in got)
    assert expected > 30
    assert abs(flipped - expected) < 5 * math.sqrt(expected)


def test_same_seed_same_bytes(orbit: Orbit, timebase: TimeBase, passes: list[Pass]) -> None:
    def run(seed: int) -> list[tuple[float, bytes]]:
        ch = _channel(orbit, timebase, seed=seed)
        for k in range(20):
            ch.send(Endpoint.SPACE, passes[0].aos + 2.0 * k, bytes(range(200)))
        return [(d.t, d.data) for d in ch.deliveries(passes[0].aos + 100.0)]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_link_state_and_bad_rate(orbit: Orbit, timebase: TimeBase, passes: list[Pass]) -> None:
    ch = _channel(orbit, timebase)
    s = ch.state(passes[0].tca)
    assert s.in_view and s.elevation_deg == pytest.approx(passes[0].max_elevation_deg, abs=1e-6)
    assert s.latency_s == pytest.approx(s.range_m / C)
    assert s.uplink_ebn0_db > s.downlink_ebn0_db
    with pytest.raises(SimError, match="air rate"):
        RadioChannel(orbit, DELFT, timebase, air_rate_bps=0.0)
