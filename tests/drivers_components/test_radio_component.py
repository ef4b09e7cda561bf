"""The radio component in small deployments on the simulated clock: frames through the bus topics
of the link contract, link loss and recovery, refused messages, line noise, and SiK AT
configuration at start and by command against the simulated modem, including one that hangs."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ports import sim_serial_hub
from drivers.radio import LinkState, Priority, SikParam
from flight.runtime.deployment import DeploymentError
from flight.runtime.records import Stage
from hal.clock import SimClock
from tests.drivers_components.helpers import build, named, names

RADIO = """
[deployment]
name = "radio-test"
tick_hz = {tick_hz}

[simulation]
seed = 3

[hardware]
radio = "sim://radio"

[[components]]
name = "cmd"
class = "flight.svc.dispatcher:CommandDispatcher"
base_id = 0x0400

[[components]]
name = "radio"
class = "drivers.radio.component:Radio"
base_id = 0x1300
hardware = {{ port = "radio" }}
{radio}

[[components]]
name = "far"
class = "{far}"
base_id = 0x7100
{far_settings}

[[rate_groups]]
name = "rg_fast"
base_id = 0x0300
divisor = 1
members = ["far"]

[[rate_groups]]
name = "rg10hz"
base_id = 0x0310
rate_hz = 10
members = ["radio"]
"""
GROUND = "tests.drivers_components.helpers:GroundRadio"
MODEM = "tests.drivers_components.helpers:SikModem"


def radio_run(radio: str = "", far: str = GROUND, far_settings: str = "", tick_hz: int = 10):
    text = RADIO.format(tick_hz=tick_hz, radio=radio, far=far, far_settings=far_settings)
    rt = build(text, SimClock())
    return rt, rt.components["radio"], rt.components["far"]


def command(rt, name: str, *args):
    return rt.components["cmd"].dispatch(rt.command(name, *args))


def tlm(rt, name: str):
    return rt.telemetry.get(f"radio.{name}")


def test_transparent_frames_in_and_out_through_the_bus_topics() -> None:
    rt, radio, ground = radio_run("air_rate_bps = 64000\ninterleave = 1")
    frames = [(i % 3, bytes([i]) * 223) for i in range(30)]
    for msg in frames:
        rt.bus.publish("radio.tx_frame", msg)
    for i in range(10):
        ground.send(bytes([200 + i]) * 223)
    rt.run(5.0)
    # the queue sends realtime before events before playback; the far end decodes every CADU
    expected = [f for p in Priority for prio, f in frames if prio == p]
    assert ground.received == expected
    assert rt.messages["radio.rx_frame"] == [bytes([200 + i]) * 223 for i in range(10)]
    assert names(rt, "radio.") == ["radio.link_up"]
    assert (tlm(rt, "frames_out"), tlm(rt, "frames_in"), tlm(rt, "crc_failures")) == (30, 10, 0)
    assert tlm(rt, "bytes_out") == 30 * 259 and tlm(rt, "link_state") == LinkState.UP
    assert radio.frame_length == 223 and tlm(rt, "air_rate") == 57600  # the UART's 57600 baud


def test_kiss_frames_carry_the_information_field() -> None:
    rt, radio, ground = radio_run(
        'mode = "kiss"\nlocal = "SAT1"\ndestination = "GND"\nair_rate_bps = 9600',
        far_settings='mode = "kiss"',
    )
    rt.bus.publish("radio.tx_frame", (Priority.EVENTS, b"event report"))
    rt.bus.publish("radio.tx_frame", (Priority.REALTIME, b"\xc0\xdb telemetry"))
    ground.send(b"telecommand")
    rt.run(3.0)
    assert [f.info for f in ground.received] == [b"\xc0\xdb telemetry", b"event report"]
    assert [str(f.source) for f in ground.received] == ["SAT1", "SAT1"]
    assert rt.messages["radio.rx_frame"] == [b"telecommand"]
    assert radio.frame_length is None
    assert command(rt, "radio.read_rssi").stage is Stage.COMPLETION_FAILED  # no AT on a TNC


def test_link_lost_and_recovered_events() -> None:
    rt, _, ground = radio_run("silence_timeout_s = 5.0", far_settings="beacon_s = 1.0")
    rt.run(10.0)
    ground.beacon_s = 0.0
    rt.run(10.0)
    ground.beacon_s = 1.0
    rt.run(5.0)
    events = named(rt, "radio.link_")
    assert [n for n, _, _ in events] == ["radio.link_up", "radio.link_lost", "radio.link_recovered"]
    assert events[1][2][0] == pytest.approx(5.0, abs=0.15)
    assert 10.0 < events[2][2][0] < 11.5  # from the last beacon before the pause
    assert (tlm(rt, "link_losses"), tlm(rt, "link_recoveries")) == (1, 1)
    states = [t.state for t in rt.messages["radio.link"]]  # the transitions, on the bus too
    assert states == [LinkState.UP, LinkState.LOST, LinkState.UP]
    assert tlm(rt, "link_state") == LinkState.UP


def test_messages_that_break_the_contract_are_refused_and_counted() -> None:
    rt, radio, ground = radio_run()
    for msg in ("junk", (7, bytes(223)), (0, "text"), (0, bytes(100)), (1, 2, 3), None):
        rt.bus.publish("radio.tx_frame", msg)
    rt.bus.publish("radio.tx_frame", (0, bytes(223)))
    rt.run(2.0)
    assert tlm(rt, "tx_refused") == 6 and tlm(rt, "frames_out") == 1
    refused = named(rt, "radio.frame_refused")
    assert len(refused) == 5  # throttled: five a minute
    assert "frame of 100 octets, the link takes 223" in [a[0] for _, _, a in refused]
    assert rt.bus.handler_faults == 0 and radio.health.name == "OK"
    assert len(ground.received) == 1
    assert command(rt, "radio.reset_stats").stage is Stage.COMPLETED
    rt.run(1.5)
    assert tlm(rt, "tx_refused") == 0 and tlm(rt, "frames_out") == 0


def test_noise_on_the_receive_line_is_counted_and_frames_still_arrive() -> None:
    rt, radio, ground = radio_run("baudrate = 115200", far_settings="baudrate = 115200")
    rng = random.Random(4)
    ground.driver.port.write(rng.randbytes(2000))  # noise before any frame
    for i in range(5):
        ground.send(bytes([i]) * 223)
    rt.run(2.0)
    line = sim_serial_hub(rt.resources).link("radio").b_to_a
    line.bit_error_rate = 8e-3  # Reed-Solomon corrects some CADUs, not all
    for i in range(40):
        ground.send(bytes([50 + i]) * 223)
    rt.run(5.0)
    line.bit_error_rate = 0.0
    for i in range(5):
        ground.send(bytes([100 + i]) * 223)
    rt.run(2.0)
    received = rt.messages["radio.rx_frame"]
    assert received[:5] == [bytes([i]) * 223 for i in range(5)]
    assert received[-5:] == [bytes([100 + i]) * 223 for i in range(5)]
    assert 10 + 1 <= len(received) < 50  # some of the noisy 40 were lost, none came corrupted
    assert all(f in [bytes([b]) * 223 for b in range(256)] for f in received)
    assert 0 < tlm(rt, "crc_failures") <= 50 - len(received)  # the rest lost their sync marker
    assert "radio.input_damaged" in names(rt)
    assert radio.health.name == "OK" and rt.telemetry.get("rg10hz.member_faults") == 0


MODEM_RADIO = """air_rate_bps = 64000
sik = {{ air_speed_kbps = 64, tx_power_dbm = {power} }}"""


def modem_run(power: int = 20):
    return radio_run(MODEM_RADIO.format(power=power), far=MODEM, tick_hz=100)


def test_at_configuration_at_start_and_by_command() -> None:
    rt, radio, far = modem_run(power=11)
    rt.run(12.0)
    done = named(rt, "radio.at_done")
    assert [a[0] for _, _, a in done] == ["configure"]
    assert "SiK 2.2 on HM-TRP" in done[0][2][1] and "changed TXPOWER" in done[0][2][1]
    modem = far.modem
    assert modem.saved[SikParam.TXPOWER] == 11
    assert command(rt, "radio.configure_modem", 64, 16).stage is Stage.COMPLETED
    assert command(rt, "radio.read_rssi").stage is Stage.COMPLETION_FAILED  # busy
    rt.run(12.0)
    assert named(rt, "radio.at_done")[-1][2][0] == "configure"
    assert modem.params[SikParam.TXPOWER] == 14  # the radio's level
    assert command(rt, "radio.read_rssi").stage is Stage.COMPLETED
    rt.run(6.0)
    assert named(rt, "radio.rssi_read")[-1][2] == pytest.approx((120 / 1.9 - 127, 110 / 1.9 - 127))
    assert tlm(rt, "rssi") == pytest.approx(120 / 1.9 - 127, abs=0.05)
    assert (tlm(rt, "at_sessions_ok"), tlm(rt, "at_sessions_failed")) == (3, 0)
    assert command(rt, "radio.configure_modem", 65, 10).stage is Stage.COMPLETION_FAILED
    assert command(rt, "radio.configure_modem", 64, 31).stage is Stage.ACCEPTANCE_FAILED
    assert radio.health.name == "OK"


def test_a_modem_that_hangs_mid_configuration_fails_cleanly() -> None:
    rt, radio, far = modem_run()
    rt.run(8.0)
    assert names(rt, "radio.at_") == ["radio.at_done"]
    far.modem.hang_after(3)
    assert command(rt, "radio.configure_modem", 128, 20).stage is Stage.COMPLETED
    rt.run(30.0)
    failed = named(rt, "radio.at_failed")
    assert len(failed) == 1 and failed[0][2][0] == "configure" and failed[0][2][1]
    assert tlm(rt, "at_sessions_failed") == 1 and radio.health.name == "WARNING"
    assert not radio.driver.busy  # the session ended; the driver is back in data mode
    assert rt.telemetry.get("rg10hz.member_faults") == 0
    assert rt.telemetry.get("rg10hz.cycles") == 380  # every cycle ran: nothing stalled
    rt.bus.publish("radio.tx_frame", (0, bytes(223)))
    rt.run(1.0)
    assert tlm(rt, "frames_out") == 1  # data flows to the (now silent) modem again


@pytest.mark.parametrize(
    ("radio", "key"),
    [
        ('mode = "fm"', "components[1].mode"),
        ("air_rate_bps = 9600.5", "components[1].air_rate_bps"),
        ('colour = "red"', "components[1].colour"),
        ("sik = { air_speed_kbps = 65 }", "components[1].sik"),
        ("sik = { power = 1 }", "components[1].sik.power"),
        ("tnc = { txdelay_ms = 300 }", "components[1].tnc"),
        ('mode = "kiss"\nsik = { air_speed_kbps = 64 }', "components[1].sik"),
        ('mode = "kiss"\nlocal = "not a callsign"', "components[1].radio"),
        ("interleave = 7", "components[1].radio"),
        ("baudrate = 0", "components[1].baudrate"),
    ],
)
def test_bad_settings_are_deployment_errors_naming_the_key(radio: str, key: str) -> None:
    with pytest.raises(DeploymentError) as err:
        radio_run(radio)
    assert err.value.key == key


def test_the_radio_must_run_in_a_rate_group() -> None:
    text = RADIO.format(tick_hz=10, radio="", far=GROUND, far_settings="")
    with pytest.raises(DeploymentError) as err:
        build(text.replace('members = ["radio"]', "members = []"), SimClock())
    assert err.value.key == "components[1].rate_groups"


@pytest.fixture(scope="module")
def quiet_link():
    rt, radio, ground = radio_run("max_queue_frames = 256")
    yield rt, radio, ground
    rt.shutdown()


messages = st.one_of(
    st.tuples(st.integers(-2, 5), st.binary(min_size=220, max_size=226)),
    st.tuples(st.sampled_from([0, 1, 2]), st.binary(max_size=300)),
    st.tuples(st.integers(0, 2), st.text(max_size=5)),
    st.none(), st.integers(), st.binary(max_size=10), st.lists(st.integers(0, 2), max_size=3),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(messages, max_size=8))
def test_any_message_on_tx_frame_is_sent_or_refused_never_raised(quiet_link, batch) -> None:
    rt, radio, ground = quiet_link
    valid = [
        m[1] for m in batch
        if isinstance(m, tuple) and len(m) == 2 and m[0] in (0, 1, 2)
        and isinstance(m[1], bytes) and len(m[1]) == 223
    ]  # fmt: skip
    refused, sent = tlm(rt, "tx_refused"), len(ground.received)
    for msg in batch:
        rt.bus.publish("radio.tx_frame", msg)
    rt.run(2.0)
    assert sorted(ground.received[sent:]) == sorted(valid)
    assert tlm(rt, "tx_refused") == refused + len(batch) - len(valid)
    assert rt.bus.handler_faults == 0 and radio.health.name == "OK"
