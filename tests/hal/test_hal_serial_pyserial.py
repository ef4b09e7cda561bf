"""The pyserial backend for real: loop://, pseudo-terminals, socket://, spy://, and the registry."""

from __future__ import annotations

import os
import socket
import sys
import termios
import threading
import time

import pytest

from hal.clock import MonotonicClock, SimClock
from hal.serial import (
    BackendUnavailableError,
    PtyBridge,
    PySerialPort,
    SerialError,
    SerialRegistry,
    SerialSettingError,
    SerialURLError,
    UnknownSchemeError,
    open_pty,
    open_serial,
    scheme_of,
)


def test_loop_url_round_trip_with_timeouts() -> None:
    port = open_serial("loop://", timeout=0.05)
    assert isinstance(port, PySerialPort)
    assert port.write(b"$GPZDA*00\r\nrest") == 15
    assert port.readline() == b"$GPZDA*00\r\n"
    assert port.in_waiting == 4
    start = time.monotonic()
    assert port.read(10) == b"rest"
    assert time.monotonic() - start >= 0.04
    port.baudrate = 115200
    port.reset_input_buffer()
    assert port.in_waiting == 0
    port.close()


def test_pty_pair_carries_bytes_both_ways_in_raw_mode() -> None:
    with open_pty() as pty:
        port = open_serial(pty.path, baudrate=115200, timeout=1.0)
        try:
            port.write(b"\r\n\x03\x11binary\x00\xff")
            port.flush()
            got = b""
            while len(got) < 12:
                got += os.read(pty.master_fd, 64)
            assert got == b"\r\n\x03\x11binary\x00\xff"  # no CR/LF translation, no XON/XOFF
            os.write(pty.master_fd, b"KISS\xc0\r")
            assert port.read(6) == b"KISS\xc0\r"
        finally:
            port.close()


def test_baud_rate_change_reaches_the_tty() -> None:
    with open_pty() as pty:
        port = open_serial(pty.path, baudrate=9600, timeout=0)
        try:
            assert termios.tcgetattr(pty.slave_fd)[4] == termios.B9600
            port.baudrate = 57600
            assert termios.tcgetattr(pty.slave_fd)[4] == termios.B57600
        finally:
            port.close()


def test_settings_stored_on_a_closed_port_apply_at_open() -> None:
    with open_pty() as pty:
        port = open_serial(pty.path, do_not_open=True)
        port.baudrate = 38400
        assert not port.is_open
        port.open()
        try:
            assert termios.tcgetattr(pty.slave_fd)[4] == termios.B38400
        finally:
            port.close()


def test_read_until_times_out_on_a_silent_pty() -> None:
    with open_pty() as pty:
        with open_serial(pty.path, timeout=0.1) as port:
            os.write(pty.master_fd, b"partial")
            start = time.monotonic()
            assert port.read_until(b"\n") == b"partial"
            assert 0.09 <= time.monotonic() - start < 1.0


def test_send_break_on_a_pty() -> None:
    with open_pty() as pty, open_serial(pty.path, timeout=0) as port:
        start = time.monotonic()
        port.send_break(0.05)
        assert time.monotonic() - start >= 0.045


def test_pty_bridge_joins_two_pyserial_ports() -> None:
    with PtyBridge() as bridge:
        flight = open_serial(bridge.path_a, baudrate=115200, timeout=2.0)
        rig = open_serial(bridge.path_b, baudrate=115200, timeout=2.0)
        try:
            payload = bytes(range(256)) * 8
            rig.write(payload)
            assert flight.read(len(payload)) == payload
            flight.write(b"telemetry\n")
            assert rig.readline() == b"telemetry\n"
        finally:
            flight.close()
            rig.close()
        assert bridge.relayed["b->a"] == 2048 and bridge.dropped["b->a"] == 0


def test_socket_url_to_a_local_server() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port_number = server.getsockname()[1]

    def echo() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(100).upper())

    thread = threading.Thread(target=echo)
    thread.start()
    try:
        with open_serial(f"socket://127.0.0.1:{port_number}", timeout=2.0) as port:
            port.write(b"ping")
            assert port.read(4) == b"PING"
    finally:
        thread.join()
        server.close()


def test_spy_url_hex_dumps_traffic(tmp_path) -> None:
    log = tmp_path / "spy.txt"
    with open_pty() as pty:
        with open_serial(f"spy://{pty.path}?file={log}", timeout=1.0) as port:
            port.write(b"\xb5\x62")
            os.write(pty.master_fd, b"\x01\x07")
            assert port.read(2) == b"\x01\x07"
    dump = log.read_text()
    assert "B5 62" in dump and "01 07" in dump


def test_absent_device_is_a_clear_serial_error(tmp_path) -> None:
    with pytest.raises(SerialError, match="no-such-tty"):
        open_serial(str(tmp_path / "no-such-tty"))


def test_unknown_scheme_names_the_registered_ones() -> None:
    with pytest.raises(UnknownSchemeError) as err:
        open_serial("sim://gnss", clock=SimClock())
    assert err.value.scheme == "sim"
    assert "loop://" in str(err.value)
    with pytest.raises(SerialURLError):
        scheme_of("bad scheme://x")
    assert scheme_of("LOOP://") == "loop" and scheme_of("/dev/ttyUSB0") == ""


def test_missing_handler_dependency_is_not_an_unknown_scheme() -> None:
    try:
        import hid  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("hid is installed here, so cp2110:// is available")
    with pytest.raises(BackendUnavailableError) as err:
        open_serial("cp2110://0001:0002")
    assert err.value.missing == "hid"


def test_missing_pyserial_is_reported_as_such(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "serial", None)
    with pytest.raises(BackendUnavailableError, match="pyserial"):
        open_serial("loop://")


def test_handler_pyserial_lacks_is_an_unknown_scheme() -> None:
    registry = SerialRegistry.with_defaults()
    registry.register("nosuch", registry.backend_for("loop://"))
    with pytest.raises(UnknownSchemeError):
        registry.create("nosuch://x")


def test_real_ports_refuse_a_simulated_clock() -> None:
    with pytest.raises(SerialSettingError, match="real time"):
        open_serial("loop://", clock=SimClock())
    open_serial("loop://", clock=MonotonicClock()).close()


def test_registry_is_extensible_and_explicit() -> None:
    registry = SerialRegistry()
    assert registry.schemes == ()
    with pytest.raises(UnknownSchemeError):
        open_serial("/dev/ttyS0", registry=registry)
    defaults = SerialRegistry.with_defaults()
    registry.register("bench", defaults.backend_for("loop://"))
    with pytest.raises(ValueError, match="already registered"):
        registry.register("bench", defaults.backend_for("loop://"))
    assert registry.schemes == ("bench",)
