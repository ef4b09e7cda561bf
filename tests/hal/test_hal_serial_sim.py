"""The simulated serial link: timing on the SimClock, buffers, faults, determinism."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.clock import SimClock
from hal.serial import (
    Parity,
    PortNotOpenError,
    SerialError,
    SerialRegistry,
    SerialSettingError,
    SerialTimeoutError,
    SerialURLError,
    SimSerialHub,
    SimSerialLink,
    open_serial,
)


def make_link(baudrate: int = 9600, **kwargs: object) -> tuple[SimClock, SimSerialLink]:
    clock = SimClock(100.0)
    link = SimSerialLink(clock, **kwargs)  # type: ignore[arg-type]
    for port in (link.a, link.b):
        port.configure(baudrate=baudrate, timeout=1.0)
        port.open()
    return clock, link


def accounted(link: SimSerialLink, direction: str = "a_to_b") -> int:
    s = getattr(link, direction).stats
    return (
        s.bytes_delivered
        + s.bytes_dropped
        + s.overruns
        + s.lost_disconnected
        + s.lost_port_closed
        + s.discarded
    )


def test_octets_take_ten_bit_times_each_at_8n1() -> None:
    clock, link = make_link(9600)
    link.a.write(b"0123456789")
    assert clock.monotonic() == 100.0  # the write only queues
    assert link.b.in_waiting == 0
    clock.advance(3 * 10 / 9600 + 1e-9)
    assert link.b.in_waiting == 3
    assert link.b.read(10) == b"0123456789"
    assert clock.monotonic() == pytest.approx(100.0 + 10 * 10 / 9600)


def test_character_time_counts_parity_and_stop_bits() -> None:
    clock, link = make_link(19200)
    for port in (link.a, link.b):
        port.configure(parity=Parity.EVEN, stopbits=2)
    link.a.write(b"x" * 8)
    assert link.b.read(8) == b"x" * 8
    assert clock.monotonic() == pytest.approx(100.0 + 8 * 12 / 19200)


def test_read_timeout_returns_what_arrived_at_the_deadline() -> None:
    clock, link = make_link(9600)
    link.b.timeout = 0.002  # 1.92 octets' time
    link.a.write(b"abcdef")
    assert link.b.read(6) == b"a"
    assert clock.monotonic() == pytest.approx(100.002)
    link.b.timeout = 0
    assert link.b.read(6) == b""
    link.b.timeout = None
    assert link.b.read(5) == b"bcdef"


def test_read_on_silent_line_times_out_on_the_clock() -> None:
    clock, link = make_link()
    assert link.b.read(1) == b""
    assert clock.monotonic() == pytest.approx(101.0)


def test_full_transmit_fifo_blocks_the_writer_on_the_clock() -> None:
    clock, link = make_link(9600, tx_buffer_size=16)
    ct = 10 / 9600
    assert link.a.write(bytes(64)) == 64
    # the write returned once the last 16 octets fitted in the FIFO
    assert clock.monotonic() == pytest.approx(100.0 + 48 * ct)
    assert link.a.out_waiting == 16
    link.a.flush()
    assert clock.monotonic() == pytest.approx(100.0 + 64 * ct)
    assert link.a.out_waiting == 0


def test_write_timeout_raises_with_the_count_that_went_out() -> None:
    clock, link = make_link(9600, tx_buffer_size=16)
    link.a.write_timeout = 10 * 10 / 9600
    with pytest.raises(SerialTimeoutError) as err:
        link.a.write(bytes(64))
    assert err.value.written == 26 and err.value.requested == 64
    link.a.write_timeout = 0
    with pytest.raises(SerialTimeoutError):
        link.a.write(b"more")


def test_rx_overflow_drops_like_a_uart_overrun() -> None:
    clock, link = make_link(115200, rx_buffer_size=32)
    link.a.write(bytes(range(100)))
    clock.advance(1.0)
    assert link.b.in_waiting == 32
    assert link.b.read(100) == bytes(range(32))  # the rest was lost while nobody read
    stats = link.a_to_b.stats
    assert stats.overruns == 68 and stats.bytes_delivered == 32
    assert accounted(link) == stats.bytes_sent == 100


def test_a_blocking_read_larger_than_the_buffer_drains_as_it_goes() -> None:
    clock, link = make_link(115200, rx_buffer_size=32)
    link.b.timeout = None
    data = bytes(range(256)) * 4
    link.a.write(data)
    assert link.b.read(len(data)) == data
    assert link.a_to_b.stats.overruns == 0


def test_baud_rate_mismatch_garbles_and_counts_framing_errors() -> None:
    clock, link = make_link(9600)
    link.b.baudrate = 19200
    link.a.write(b"NMEA sentence here")
    received = link.b.read(18)
    assert received != b"NMEA sentence here"
    assert link.a_to_b.stats.framing_errors == 18
    link.b.baudrate = 9600
    link.a.write(b"clean")
    assert link.b.read(5) == b"clean"


def test_baud_change_takes_effect_for_later_octets() -> None:
    clock, link = make_link(9600)
    for port in (link.a, link.b):
        port.baudrate = 115200
    link.a.write(b"z" * 100)
    link.b.read(100)
    assert clock.monotonic() == pytest.approx(100.0 + 100 * 10 / 115200)


def _bit_differences(a: bytes, b: bytes) -> int:
    return sum((x ^ y).bit_count() for x, y in zip(a, b, strict=True))


def test_bit_error_rate_flips_about_the_expected_number_of_bits() -> None:
    clock, link = make_link(1_000_000, seed=3, rx_buffer_size=1 << 20, tx_buffer_size=1 << 20)
    link.a_to_b.bit_error_rate = 1e-3
    data = bytes(range(256)) * 200  # 409,600 bits: 409.6 errors expected
    link.a.write(data)
    received = link.b.read(len(data))
    flipped = _bit_differences(data, received)
    assert flipped == link.a_to_b.stats.bits_flipped
    assert 330 < flipped < 490  # about 4 standard deviations either side
    assert link.a_to_b.stats.bytes_corrupted == sum(
        x != y for x, y in zip(data, received, strict=True)
    )


def test_faults_are_deterministic_for_a_seed() -> None:
    def run(seed: int) -> bytes:
        clock, link = make_link(115200, seed=seed, rx_buffer_size=1 << 16)
        link.a_to_b.bit_error_rate = 1e-2
        link.a_to_b.drop_rate = 1e-2
        link.a.write(bytes(4000))
        return link.b.read(4000)

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_flip_bits_at_a_position_of_the_stream() -> None:
    clock, link = make_link()
    link.a.write(b"ab")
    link.a_to_b.flip_bits(link.a_to_b.position + 1, 0x81)
    link.a.write(b"cde")
    assert link.b.read(5) == b"abc" + bytes([ord("d") ^ 0x81]) + b"e"
    assert link.a_to_b.stats.bits_flipped == 2
    with pytest.raises(ValueError):
        link.a_to_b.flip_bits(0)


def test_flip_bits_lands_on_the_named_octet() -> None:
    clock, link = make_link()
    link.a_to_b.flip_bits(3, 0x01)
    link.a.write(b"\x00\x00\x00\x00\x00")
    assert link.b.read(5) == b"\x00\x00\x00\x01\x00"


def test_dropped_octets_vanish_but_keep_their_line_time() -> None:
    clock, link = make_link(9600)
    link.a_to_b.drop_octet(1)
    link.a_to_b.drop_octet(3)
    link.a.write(b"abcdef")
    assert link.b.read(4) == b"acef"
    assert clock.monotonic() == pytest.approx(100.0 + 6 * 10 / 9600)
    assert link.a_to_b.stats.bytes_dropped == 2


def test_drop_rate_loses_octets_from_a_subsequence() -> None:
    clock, link = make_link(115200, seed=11, rx_buffer_size=1 << 16)
    link.a_to_b.drop_rate = 0.1
    data = bytes(range(256)) * 10
    link.a.write(data)
    link.a.flush()
    received = link.b.read(link.b.in_waiting)
    stats = link.a_to_b.stats
    assert len(received) == len(data) - stats.bytes_dropped
    assert 180 < stats.bytes_dropped < 340
    it = iter(data)
    assert all(octet in it for octet in received)  # in order, nothing invented


def test_disconnect_loses_what_is_on_the_wire_until_reconnect() -> None:
    clock, link = make_link(9600)
    link.a.write(b"0123456789")
    clock.advance(4 * 10 / 9600)
    link.disconnect()
    link.a.write(b"lost")
    link.a.flush()
    assert link.b.read(20) == b"0123"
    assert link.a_to_b.stats.lost_disconnected == 10
    link.reconnect()
    link.a.write(b"back")
    assert link.b.read(4) == b"back"
    assert accounted(link) == link.a_to_b.stats.bytes_sent


def test_octets_arriving_at_a_closed_port_are_lost() -> None:
    clock, link = make_link(9600)
    link.b.close()
    link.a.write(b"nobody listens")
    link.a.flush()
    link.b.open()
    link.b.timeout = 0
    assert link.b.read(20) == b""
    assert link.a_to_b.stats.lost_port_closed == 14


def test_break_reads_as_nul_and_takes_its_duration() -> None:
    clock, link = make_link(9600)
    link.a.send_break(0.25)
    assert clock.monotonic() == pytest.approx(100.25)
    link.a.write(b"A")
    assert link.b.read(2) == b"\x00A"
    assert link.a_to_b.stats.breaks == 1


def test_reset_buffers() -> None:
    clock, link = make_link(9600)
    link.a.write(b"0123456789")
    clock.advance(2.5 * 10 / 9600)
    link.a.reset_output_buffer()  # octet 2 is on the wire and finishes; 3..9 never go
    clock.advance(1.0)
    assert link.b.in_waiting == 3
    assert link.a_to_b.stats.discarded == 7
    link.b.reset_input_buffer()
    assert link.b.in_waiting == 0
    assert accounted(link) == 10


def test_read_until_terminator_size_and_timeout() -> None:
    clock, link = make_link(9600)
    link.a.write(b"$GPGGA,1*00\r\n$GPRMC")
    assert link.b.read_until(b"\r\n") == b"$GPGGA,1*00\r\n"
    assert link.b.read_until(b"\r\n", size=3) == b"$GP"
    start = clock.monotonic()
    assert link.b.read_until(b"\r\n") == b"RMC"
    assert clock.monotonic() == pytest.approx(start + 1.0)


def test_closed_port_refuses_io_and_keeps_settings_for_open() -> None:
    clock = SimClock()
    link = SimSerialLink(clock)
    with pytest.raises(PortNotOpenError):
        link.a.read(1)
    link.a.baudrate = 57600
    with pytest.raises(SerialSettingError):
        link.a.baudrate = 0
    with link.a as port:
        assert port.baudrate == 57600
    assert not link.a.is_open
    with pytest.raises(SerialSettingError):
        link.a.configure(speed=5)


def test_hub_serves_named_links_through_open_serial() -> None:
    clock = SimClock()
    hub = SimSerialHub(seed=5)
    registry = SerialRegistry.with_defaults()
    registry.register("sim", hub)
    flight = open_serial("sim://gnss", clock=clock, registry=registry, baudrate=38400, timeout=0.5)
    device = open_serial("sim://gnss?end=b", clock=clock, registry=registry, baudrate=38400)
    device.write(b"$GNZDA\r\n")
    assert flight.readline() == b"$GNZDA\r\n"
    assert hub.link("gnss").b_to_a.stats.bytes_delivered == 8
    with pytest.raises(SerialError, match="busy"):
        open_serial("sim://gnss", clock=clock, registry=registry)
    with pytest.raises(SerialURLError, match="another clock"):
        open_serial("sim://gnss", clock=SimClock(), registry=registry)
    with pytest.raises(SerialURLError, match="end must be"):
        open_serial("sim://radio?end=c", clock=clock, registry=registry)
    with pytest.raises(SerialURLError, match="unknown option"):
        open_serial("sim://radio?baud=9600", clock=clock, registry=registry)
    with pytest.raises(SerialURLError, match="needs the clock"):
        open_serial("sim://radio", registry=registry)


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("write"), st.binary(min_size=1, max_size=80)),
            st.tuples(st.just("advance"), st.floats(0, 0.05)),
            st.tuples(st.just("read"), st.integers(1, 100)),
            st.tuples(st.just("toggle"), st.booleans()),
            st.tuples(st.just("reset_out"), st.none()),
            st.tuples(st.just("close_rx"), st.booleans()),
        ),
        max_size=40,
    ),
    ber=st.sampled_from([0.0, 1e-3, 0.05]),
    drop=st.sampled_from([0.0, 0.01, 0.2]),
)
def test_every_written_octet_is_accounted_for(ops, ber: float, drop: float) -> None:
    clock, link = make_link(9600, seed=1, rx_buffer_size=64, tx_buffer_size=64)
    link.b.timeout = 0
    link.a_to_b.bit_error_rate = ber
    link.a_to_b.drop_rate = drop
    read_total = 0
    for op, arg in ops:
        if op == "write":
            link.a.write(arg)
        elif op == "advance":
            clock.advance(arg)
        elif op == "read" and link.b.is_open:
            read_total += len(link.b.read(arg))
        elif op == "toggle":
            link.disconnect() if arg else link.reconnect()
        elif op == "reset_out":
            link.a.reset_output_buffer()
        elif op == "close_rx":
            link.b.close() if arg else (link.b.is_open or link.b.open())
    link.a.flush()
    stats = link.a_to_b.stats
    assert accounted(link) == stats.bytes_sent
    assert read_total <= stats.bytes_delivered
