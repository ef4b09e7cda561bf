"""The rig against an emulated board: the ground station commands the flight process through the
radio bridge, the GNSS feeder answers the receiver's configuration and gives it a fix, faults on
the wire are corrected or recovered, and passes gate the link."""

from __future__ import annotations

import pytest

from flight.emulation.board import EmulatedBoard
from flight.emulation.operator import send_verified
from flight.emulation.rig import Rig

SPEED = 20.0


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """A board and a rig on a bench link (always up), and a ground station on the rig."""
    with EmulatedBoard("refsat", tmp_path_factory.mktemp("bench"), seed=5, speed=SPEED) as board:
        board.wait_booted()
        with Rig.for_board(board, stations=()) as rig:
            station = rig.ground_station(board.dictionary(), board.ground_keys(),
                                         board.link_profile())
            station.identify(timeout=120)
            yield board, rig, station
            station.link.transport.close()


def test_commands_and_gnss_over_the_bench_link(bench):
    board, rig, station = bench
    assert send_verified(station, "cmd.no_op").verified
    station.await_event("gnss.fix_acquired", timeout=200)  # after the receiver's cold start
    receiver = rig.gnss.receiver.counters
    assert receiver.commands_acked >= 10 and receiver.commands_naked == 0  # its configuration
    status = rig.status()
    assert status.gnss.octets_in > 0 and status.gnss.outputs > 0
    assert status.link.station == "bench" and status.link.in_view
    assert status.downlink.cadus > 0 and status.uplink.cadus >= 1
    assert status.downlink.cadus_corrected == 0  # a clean cable
    assert rig.errors == [] and board.alive


def test_bit_errors_on_the_wire_are_corrected_by_reed_solomon(bench):
    board, rig, station = bench
    rig.faults("downlink").extra_ber = 2e-3
    rig.faults("uplink").extra_ber = 2e-3
    try:
        before = rig.status().downlink.cadus_corrected
        assert send_verified(station, "cmd.no_op").verified
        station.run_for(10.0)
        after = rig.status()
        assert after.downlink.cadus_corrected - before > 10
        assert after.downlink.bit_errors_injected > 0
        assert station.link.transport.radio.sync.symbols_corrected > 0  # the ground's decoder
    finally:
        rig.faults("downlink").extra_ber = rig.faults("uplink").extra_ber = 0.0


def test_uplink_frame_loss_is_recovered_by_cop1(bench):
    board, rig, station = bench
    rig.faults("uplink").frame_loss = 0.3
    try:
        outcomes = [send_verified(station, "cmd.no_op", timeout=120) for _ in range(6)]
        assert all(o.verified for o in outcomes), (
            [o.describe() for o in outcomes], station.link.alerts)
        assert rig.status().uplink.cadus_dropped > 0
    finally:
        rig.faults("uplink").frame_loss = 0.0


def test_outage_silences_the_link_until_it_ends(bench):
    board, rig, station = bench
    rig.faults("downlink").outage = True
    station.run_for(3.0)  # what was already on its way
    mark = station.mark()
    station.run_for(15.0)
    assert station.telemetry_history(start=mark) == []
    assert rig.status().downlink.octets_lost_to_outage > 0
    rig.faults("downlink").outage = False
    station.await_telemetry("executive.uptime_s", timeout=30, start=station.mark())


def test_passes_gate_the_link(tmp_path):
    with EmulatedBoard("refsat", tmp_path, seed=2, speed=SPEED) as board:
        board.wait_booted()
        with Rig.for_board(board) as rig:  # the default epoch: 90 s before the first pass
            first = rig.passes(0.0, 3600.0)[0]
            assert first.station == "Hartebeesthoek" and 60 < first.aos < 150
            assert not rig.status().link.in_view
            station = rig.ground_station(board.dictionary(), board.ground_keys(),
                                         board.link_profile())
            station.identify(timeout=first.aos + 120)
            t = rig.clock.monotonic()
            assert first.aos <= t <= first.los
            state = rig.status().link
            assert state.in_view and state.station == "Hartebeesthoek" and state.elevation_deg > 0
            assert rig.status().downlink.cadus_corrected > 0  # the low-elevation bit errors
            dropped = rig.radio.counters.octets_dropped_out_of_view.get("downlink", 0)
            assert dropped > 0  # the satellite talked before AOS, nobody heard it
            station.link.transport.close()
