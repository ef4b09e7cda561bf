"""End to end on simulated links: KISS between two drivers, CADUs through a pair of simulated SiK
radios, link loss and recovery, and damage on the line counted."""

from __future__ import annotations

from drivers.radio import (
    KissConfig,
    KissRadio,
    LinkState,
    LinkTransition,
    Priority,
    TransparentConfig,
    TransparentRadio,
    UiFrame,
)
from drivers.radio.kiss import kiss_encode
from drivers.radio.sik_sim import SimSikRadio
from hal.clock import SimClock

from .helpers import open_link, run


class Collect:
    def __init__(self, driver: KissRadio | TransparentRadio) -> None:
        self.driver = driver
        self.frames: list = []

    def poll(self) -> None:
        self.frames.extend(self.driver.poll())


def kiss_pair(clock: SimClock, **config: object) -> tuple[KissRadio, KissRadio, object]:
    """Satellite (end a) and ground station (end b) on one KISS line, as if through two TNCs
    whose radio link is perfect."""
    link = open_link(clock, baudrate=115200)
    sat = KissRadio(
        link.a, clock, KissConfig(local="SAT1", destination="GND-1", air_rate_bps=96000, **config)
    )
    gnd = KissRadio(
        link.b, clock, KissConfig(local="GND-1", destination="SAT1", air_rate_bps=96000, **config)
    )
    return sat, gnd, link


def test_kiss_both_ways(clock: SimClock) -> None:
    sat, gnd, _ = kiss_pair(clock)
    sat_rx, gnd_rx = Collect(sat), Collect(gnd)
    for i in range(20):
        assert sat.send(f"tm {i}".encode() + b"\xc0\xdb", Priority.PLAYBACK)
        assert gnd.send(f"tc {i}".encode())
    run(clock, [sat_rx, gnd_rx], 2.0)
    assert [f.info for f in gnd_rx.frames] == [f"tm {i}".encode() + b"\xc0\xdb" for i in range(20)]
    assert [f.info for f in sat_rx.frames] == [f"tc {i}".encode() for i in range(20)]
    frame: UiFrame = gnd_rx.frames[0]
    assert str(frame.source) == "SAT1" and str(frame.destination) == "GND-1" and frame.command
    for driver in (sat, gnd):
        assert driver.stats.frames_in == driver.stats.frames_out == 20
        assert driver.stats.crc_failures == 0 and driver.link.state is LinkState.UP


def test_kiss_frames_for_other_stations_are_counted_not_delivered(clock: SimClock) -> None:
    sat, gnd, _ = kiss_pair(clock)
    gnd_rx = Collect(gnd)
    sat.send(b"for you")
    sat.send(b"not for you", destination="OTHER")
    run(clock, [sat, gnd_rx], 1.0)
    assert [f.info for f in gnd_rx.frames] == [b"for you"]
    assert gnd.stats.rejected == {"not_addressed_to_us": 1}
    assert gnd.stats.crc_failures == 0


def test_kiss_damage_is_counted_and_the_stream_resyncs(clock: SimClock) -> None:
    sat, gnd, link = kiss_pair(clock)
    gnd_rx = Collect(gnd)
    link.b.write(b"\x00garbage" + kiss_encode(b"\x01\x02") + bytes.fromhex("C0 00 41 DB 41 C0"))
    link.b.write(kiss_encode(b"x", port=3) + bytes.fromhex("C0 01 1E C0"))
    sat.send(b"after the noise")
    sat_rx = Collect(sat)
    run(clock, [sat_rx, gnd_rx], 1.0)
    assert sat_rx.frames == []
    assert sat.stats.rejected == {
        "ax25_length": 1,
        "kiss_bad_escape": 1,
        "kiss_oversized": 0,
        "kiss_other_port": 1,
        "kiss_not_data": 1,
    }
    assert sat.stats.crc_failures == 3  # damaged: short AX.25, bad escape, TXDELAY from a TNC
    assert sat.deframer.counters.bytes_skipped == 8
    assert [f.info for f in gnd_rx.frames] == [b"after the noise"]


def test_kiss_tnc_parameters_go_first(clock: SimClock) -> None:
    from drivers.radio import KissTncParams

    sat, _, link = kiss_pair(clock)
    sat.send(b"data", Priority.EVENTS)
    assert sat.set_tnc_params(KissTncParams(txdelay_ms=250))
    run(clock, [sat], 0.5)
    wire = link.b.read(4096)
    assert wire.startswith(bytes.fromhex("C0 01 19 C0 C0 02 3F C0"))
    assert wire.endswith(b"data\xc0")


def test_link_lost_and_recovered(clock: SimClock) -> None:
    transitions: list[LinkTransition] = []
    link = open_link(clock, baudrate=115200)
    sat = KissRadio(
        link.a, clock, KissConfig(local="SAT1", silence_timeout_s=5.0), transitions.append
    )
    gnd = KissRadio(link.b, clock, KissConfig(local="GND", destination="SAT1"))
    gnd.send(b"hello")
    run(clock, [sat, gnd], 1.0)
    assert sat.link.state is LinkState.UP
    run(clock, [sat, gnd], 6.0)
    assert sat.link.state is LinkState.LOST and sat.link.losses == 1
    gnd.send(b"again")
    run(clock, [sat, gnd], 1.0)
    assert [(t.previous, t.state) for t in transitions] == [
        (LinkState.UNKNOWN, LinkState.UP),
        (LinkState.UP, LinkState.LOST),
        (LinkState.LOST, LinkState.UP),
    ]
    lost, recovered = transitions[1], transitions[2]
    assert lost.lost and 5.0 <= lost.silence_s < 5.1
    assert recovered.recovered and 6.9 < recovered.silence_s < 7.2
    assert sat.link.recoveries == 1
    assert sat.snapshot()["link_state"] == "UP"


def test_link_never_up_is_declared_lost(clock: SimClock) -> None:
    transitions: list[LinkTransition] = []
    link = open_link(clock)
    sat = KissRadio(link.a, clock, KissConfig(silence_timeout_s=3.0), transitions.append)
    run(clock, [sat], 4.0)
    assert [(t.previous, t.state, t.silence_s) for t in transitions] == [
        (LinkState.UNKNOWN, LinkState.LOST, transitions[0].silence_s)
    ]
    assert 3.0 <= transitions[0].silence_s < 3.1


def sik_pair(clock: SimClock, interleave: int = 1, **config: object):
    sat_link, gnd_link = open_link(clock), open_link(clock)
    sat_modem, gnd_modem = SimSikRadio(sat_link.b, clock), SimSikRadio(gnd_link.b, clock)
    SimSikRadio.pair(sat_modem, gnd_modem)
    cfg = TransparentConfig(air_rate_bps=64000, interleave=interleave, **config)
    sat = TransparentRadio(sat_link.a, clock, cfg)
    gnd = TransparentRadio(gnd_link.a, clock, cfg)
    return sat, gnd, sat_modem, gnd_modem, sat_link


def test_cadus_through_two_sik_radios(clock: SimClock) -> None:
    sat, gnd, sat_modem, gnd_modem, _ = sik_pair(clock, interleave=5)
    assert sat.frame_length == 1115
    frames = [bytes([i]) * 1115 for i in range(8)]
    for frame in frames:
        assert sat.send(frame, Priority.PLAYBACK)
    gnd_rx = Collect(gnd)
    run(clock, [sat, sat_modem, gnd_modem, gnd_rx], 10.0, until=lambda: len(gnd_rx.frames) == 8)
    assert gnd_rx.frames == frames
    assert gnd.stats.frames_in == 8 and gnd.stats.crc_failures == 0
    assert gnd.link.state is LinkState.UP and sat.stats.frames_out == 8


def test_line_noise_corrected_or_counted_as_crc_failures(clock: SimClock) -> None:
    sat, gnd, sat_modem, gnd_modem, sat_link = sik_pair(clock)
    sat_link.a_to_b.bit_error_rate = 5e-3  # UART noise between the flight computer and its radio
    frames = [bytes([i]) * 223 for i in range(40)]
    for frame in frames:
        sat.send(frame)
    gnd_rx = Collect(gnd)
    run(clock, [sat, sat_modem, gnd_modem, gnd_rx], 15.0)
    # Most CADUs are corrected, a few fail Reed-Solomon: counted, never delivered damaged.
    delivered = iter(frames)
    assert all(f in delivered for f in gnd_rx.frames)
    assert gnd.sync.symbols_corrected > 100
    assert gnd.stats.crc_failures >= 1
    assert len(gnd_rx.frames) + gnd.stats.crc_failures == 40
    assert gnd.stats.rejected == {"cadu_uncorrectable": gnd.stats.crc_failures}


def test_poll_survives_a_closed_port(clock: SimClock) -> None:
    sat, _, link = kiss_pair(clock)
    sat.send(b"x")
    link.a.close()
    assert sat.poll() == []
    assert sat.stats.port_errors >= 1 and sat.last_error is not None
    link.a.open()
    run(clock, [sat], 0.5)
    assert sat.stats.frames_out == 1
