"""SiK `+++`/`AT` configuration against the simulated SiK radio: guard times, answers, retries,
refusals, and a radio that stops answering mid-configuration."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.radio import AtResult, SikSettings, TransparentConfig, TransparentRadio
from drivers.radio.errors import AtResponseError
from drivers.radio.sik import (
    AtCounters,
    AtSession,
    AtTiming,
    SikParam,
    configure_script,
    parse_banner,
    parse_listing,
    parse_rssi,
)
from drivers.radio.sik_sim import SimSikRadio
from hal.clock import SimClock

from .helpers import open_link, run


class Bench:
    """A driver on end a of a 57600 baud link, a simulated SiK radio on end b."""

    def __init__(self, clock: SimClock, timing: AtTiming | None = None, **radio: object) -> None:
        self.clock = clock
        self.link = open_link(clock, baudrate=57600)
        self.radio = SimSikRadio(self.link.b, clock, **radio)
        self.results: list[AtResult] = []
        config = TransparentConfig(air_rate_bps=64000, at_timing=timing or AtTiming())
        self.driver = TransparentRadio(self.link.a, clock, config, on_at_result=self.results.append)

    def poll(self) -> None:
        before = self.clock.monotonic()
        self.driver.poll()
        assert self.clock.monotonic() == before, "poll waited on the clock"
        self.radio.poll()

    def until_result(self, limit_s: float = 30.0) -> float:
        count = len(self.results)
        return run(self.clock, [self], limit_s, until=lambda: len(self.results) > count)


def test_parse_listing_banner_rssi() -> None:
    lines = ("S0:FORMAT=25", "S2:AIR_SPEED=64", "S4:TXPOWER=20")
    assert parse_listing("ATI5", lines) == {
        "FORMAT": (0, 25),
        "AIR_SPEED": (2, 64),
        "TXPOWER": (4, 20),
    }
    with pytest.raises(AtResponseError, match="S<n>:<NAME>=<value>"):
        parse_listing("ATI5", ("S0:FORMAT=25", "garbage"))
    with pytest.raises(AtResponseError, match="no registers"):
        parse_listing("ATI5", ())
    assert parse_banner("SiK 1.9 on RFD900A") == ("1.9", "RFD900A")
    assert parse_banner("RFD SiK 2.65 on RFD900X-R1.3") == ("2.65", "RFD900X-R1.3")
    assert parse_banner("Hello") is None
    # The firmware's own format (tdm.c tdm_show_rssi), two printf calls back to back.
    report = parse_rssi(
        "ATI7",
        "L/R RSSI: 217/200  L/R noise: 60/58 pkts: 120  txe=1 rxe=2 stx=3 srx=4 ecc=5/6 "
        "temp=33 dco=0",
        7.5,
    )
    assert (report.local_rssi, report.remote_rssi, report.local_noise, report.remote_noise) == (
        217,
        200,
        60,
        58,
    )
    assert (report.packets, report.serial_rx_overflow, report.ecc_packets) == (120, 4, 6)
    assert report.temperature_c == 33 and report.at == 7.5
    assert report.local_dbm == pytest.approx(217 / 1.9 - 127)
    with pytest.raises(AtResponseError, match="L/R RSSI"):
        parse_rssi("ATI7", "OK", 0.0)


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match="not a SiK rate"):
        SikSettings(air_speed_kbps=100)
    with pytest.raises(ValueError, match="0..30 dBm"):
        SikSettings(tx_power_dbm=31)
    assert SikSettings(air_speed_kbps=64, ecc=True).registers() == {
        SikParam.AIR_SPEED: 64,
        SikParam.ECC: 1,
    }


def test_configure_sets_saves_reboots_and_repaces(clock: SimClock) -> None:
    bench = Bench(clock)
    assert bench.driver.configure(SikSettings(air_speed_kbps=128, tx_power_dbm=17, mavlink=0))
    assert not bench.driver.configure(SikSettings())  # one session at a time
    elapsed = bench.until_result()
    (result,) = bench.results
    assert result.ok, result.failure
    assert result.version == "2.2" and result.board == "HM-TRP"
    assert result.changed == ("AIR_SPEED", "TXPOWER", "MAVLINK")
    assert result.params["AIR_SPEED"] == 128 and result.rebooted
    radio = bench.radio
    assert radio.commands == [
        "ATI", "ATI5", "ATS2=128", "ATS2?", "ATS4=17", "ATS4?", "ATS6=0", "ATS6?", "AT&W", "ATZ",
    ]  # fmt: skip
    assert radio.saved[SikParam.AIR_SPEED] == 128 and radio.reboots == 1
    assert radio.air_rate_kbps == 128 and not radio.command_mode
    # Guard (1 s + margin), +++, guard, the commands, then the radio's boot time.
    assert 1.0 + 1.0 + 2.0 < elapsed < 6.0
    # Paced at the radio's new air rate, capped by the 57600 baud UART.
    assert bench.driver.pacer.rate_bytes_per_s == pytest.approx(5760)
    assert bench.driver.at_counters.sessions_ok == 1 and not bench.driver.busy


def test_nothing_to_change_returns_to_data_mode_without_saving(clock: SimClock) -> None:
    bench = Bench(clock)
    bench.driver.configure(SikSettings(air_speed_kbps=64, tx_power_dbm=20))
    bench.until_result()
    (result,) = bench.results
    assert result.ok and result.changed == () and not result.rebooted
    assert bench.radio.commands == ["ATI", "ATI5", "ATO"]
    assert not bench.radio.command_mode


def test_power_is_rounded_by_the_radio(clock: SimClock) -> None:
    bench = Bench(clock)
    bench.driver.configure(SikSettings(tx_power_dbm=15, reboot=False))
    bench.until_result()
    (result,) = bench.results
    assert result.ok and result.params["TXPOWER"] == 14  # the level the amplifier has
    assert bench.radio.commands[-2:] == ["AT&W", "ATO"]


def test_guard_time_too_short_never_enters_command_mode(clock: SimClock) -> None:
    """The radio only takes +++ after a full second of silence: a driver that does not wait as
    long fails, cleanly, with the radio still in data mode."""
    bench = Bench(clock, AtTiming(guard_s=0.4, guard_margin_s=0.0, response_timeout_s=0.5))
    bench.driver.configure(SikSettings(air_speed_kbps=32))
    bench.until_result()
    (result,) = bench.results
    assert not result.ok and result.failed_command == "+++"
    assert "did not enter command mode" in (result.failure or "")
    assert bench.radio.commands == [] and not bench.radio.command_mode


def test_data_waits_for_the_session_and_the_session_for_the_frame(clock: SimClock) -> None:
    bench = Bench(clock)
    ground_link = open_link(clock)
    ground_modem = SimSikRadio(ground_link.b, clock)
    SimSikRadio.pair(bench.radio, ground_modem)
    ground = TransparentRadio(ground_link.a, clock, TransparentConfig(air_rate_bps=64000))
    received: list[bytes] = []

    class Ground:
        def poll(self) -> None:
            received.extend(ground.poll())
            ground_modem.poll()

    frames = [bytes([i]) * 223 for i in range(6)]
    for frame in frames[:3]:
        bench.driver.send(frame)
    run(clock, [bench, Ground()], 0.02)  # a CADU is on its way
    assert bench.driver.transmitting
    done, queued = bench.driver.stats.frames_out, len(bench.driver.queue)
    bench.driver.configure(SikSettings(net_id=7, reboot=False))
    for frame in frames[3:]:
        bench.driver.send(frame)
    run(clock, [bench, Ground()], 1.0, until=lambda: bench.driver.session is not None)
    # The session started once the CADU being written was complete; the rest waited.
    assert bench.driver.stats.frames_out == done + 1
    assert len(bench.driver.queue) == queued + 3
    run(clock, [bench, Ground()], 10.0, until=lambda: bool(bench.results))
    assert bench.results[0].ok
    assert bench.radio.commands == ["ATI", "ATI5", "ATS3=7", "ATS3?", "AT&W", "ATO"]
    run(clock, [bench, Ground()], 3.0, until=lambda: len(received) == 6)
    assert received == frames
    assert ground.stats.crc_failures == 0


def test_radio_already_in_command_mode_answers_the_probe(clock: SimClock) -> None:
    bench = Bench(clock)
    bench.radio.command_mode = True
    bench.driver.read_info()
    bench.until_result()
    (result,) = bench.results
    assert result.ok and result.params["NETID"] == 25
    assert bench.driver.at_counters.retries == 2  # +++ tried three times, then AT
    assert not bench.radio.command_mode


def test_lost_command_is_retried(clock: SimClock) -> None:
    bench = Bench(clock)
    bench.radio.swallow(1)
    bench.driver.configure(SikSettings(air_speed_kbps=32))
    bench.until_result()
    (result,) = bench.results
    assert result.ok and result.params["AIR_SPEED"] == 32
    assert bench.driver.at_counters.retries == 1
    assert bench.radio.commands[:2] == ["ATI", "ATI5"]


def test_refused_setting_fails_and_leaves_command_mode(clock: SimClock) -> None:
    bench = Bench(clock)  # an HM-TRP: 20 dBm at most
    bench.driver.configure(SikSettings(air_speed_kbps=32, tx_power_dbm=27))
    bench.until_result()
    (result,) = bench.results
    assert not result.ok
    assert result.failed_command == "ATS4=27"
    assert result.failure == "the radio answered ERROR to ATS4=27"
    assert result.changed == ("AIR_SPEED",)  # what was done before the refusal is reported
    assert bench.driver.at_counters.errors == 1 and bench.driver.at_counters.sessions_failed == 1
    run(clock, [bench], 0.2)
    assert not bench.radio.command_mode  # the blind ATO
    assert bench.radio.saved[SikParam.AIR_SPEED] == 64  # nothing was saved


def test_radio_stops_answering_mid_configuration(clock: SimClock) -> None:
    bench = Bench(clock)
    bench.radio.hang_after(2)  # answers ATI and ATI5, then locks up
    for i in range(3):
        bench.driver.send(bytes([i]) * 223)
    run(clock, [bench], 1.0)
    sent_before = bench.driver.stats.frames_out
    bench.driver.configure(SikSettings(air_speed_kbps=128))
    elapsed = bench.until_result(limit_s=60)
    (result,) = bench.results
    assert not result.ok
    assert result.failed_command == "ATS2=128"
    assert "stopped answering" in (result.failure or "")
    assert result.params["AIR_SPEED"] == 64  # what was read before it stopped
    counters = bench.driver.at_counters
    assert counters.timeouts == 1 and counters.retries == 2 and counters.sessions_failed == 1
    # Bounded: the guard after +++, two answers, then three attempts of 1 s each (the guard
    # before +++ ran while the line was idle already).
    assert 1.0 + 3 * 1.0 < elapsed < 7.0
    assert not bench.driver.busy
    # The driver is back in data mode: queued frames keep going out (into a dead radio).
    bench.driver.send(b"\x55" * 223)
    run(clock, [bench], 2.0)
    assert bench.driver.stats.frames_out > sent_before
    assert bench.radio.hung


def test_read_rssi(clock: SimClock) -> None:
    bench = Bench(clock)
    bench.radio.rssi, bench.radio.remote_rssi = 150, 140
    bench.driver.read_rssi()
    bench.until_result()
    assert bench.results[0].ok
    snapshot = bench.driver.snapshot()
    assert snapshot["rssi_dbm"] == round(150 / 1.9 - 127, 1)
    assert snapshot["remote_rssi_dbm"] == round(140 / 1.9 - 127, 1)
    assert bench.driver.stats.rssi is not None and bench.radio.commands == ["ATI7", "ATO"]


TIMING = AtTiming()
#: The longest any session can take: each step waits at most guard + reply time-out per attempt.
MAX_SESSION_S = (
    20 * (TIMING.retries + 1) * (TIMING.guard_s + TIMING.guard_margin_s + TIMING.response_timeout_s)
    + TIMING.boot_time_s
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=400), st.integers(0, 10))
def test_session_survives_any_answer(chunks: list[bytes], seed: int) -> None:
    clock = SimClock()
    session = AtSession(
        "configure",
        configure_script(SikSettings(air_speed_kbps=64, tx_power_dbm=20)),
        clock,
        TIMING,
        char_time_s=10 / 57600,
        line_quiet_at=0.0,
        counters=AtCounters(),
    )
    stream = iter(chunks)
    while not session.done and clock.monotonic() < MAX_SESSION_S:
        session.step(next(stream, b""))
        clock.advance(0.05 + 0.01 * seed)
    assert session.done
    assert isinstance(session.result, AtResult)
