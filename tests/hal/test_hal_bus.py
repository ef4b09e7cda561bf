"""I2C and SPI: simulated buses with device models and faults; Linux backends' error paths."""

from __future__ import annotations

import errno

import pytest

from hal.bus import (
    I2cBusTimeoutError,
    I2cError,
    I2cMessage,
    I2cNackError,
    LinuxI2cBus,
    LinuxSpiDevice,
    SimI2cBus,
    SimSpiDevice,
    SpiError,
    SpiMode,
    SpiRegisterDevice,
    SpiSegment,
    SpiSettings,
    Tmp102,
)
from hal.clock import SimClock


def bus_with_sensor(temperature_c: float = 21.5) -> tuple[SimClock, SimI2cBus, Tmp102]:
    clock = SimClock()
    bus = SimI2cBus(clock, bitrate_hz=400_000)
    sensor = Tmp102(0x48, temperature_c)
    bus.attach(0x48, sensor)
    return clock, bus, sensor


@pytest.mark.parametrize("celsius", [21.5, 0.0, -25.0, 127.9375, -55.0, 0.0625])
def test_temperature_read_through_a_register(celsius: float) -> None:
    clock, bus, sensor = bus_with_sensor(celsius)
    raw = bus.read_register(0x48, Tmp102.TEMPERATURE, 2)
    assert Tmp102.decode(int.from_bytes(raw, "big")) == celsius


def test_datasheet_encodings() -> None:
    assert Tmp102.encode(25.0) == 0x1900  # 0x190 counts, left-justified
    assert Tmp102.encode(-25.0) == 0xE700
    assert Tmp102.encode(0.0625) == 0x0010


def test_transfers_take_wire_time() -> None:
    clock, bus, sensor = bus_with_sensor()
    bus.read_register(0x48, 0, 2)
    # START + addr + pointer (18 clocks+1), repeated START + addr + 2 octets (27+1), STOP
    assert clock.monotonic() == pytest.approx((1 + 18 + 1 + 27 + 1) / 400_000)


def test_register_writes_persist() -> None:
    clock, bus, sensor = bus_with_sensor()
    bus.write_register(0x48, Tmp102.T_HIGH, b"\x55\x00")
    assert bus.read_register(0x48, Tmp102.T_HIGH, 2) == b"\x55\x00"


def test_absent_target_and_bad_register_nack() -> None:
    clock, bus, sensor = bus_with_sensor()
    with pytest.raises(I2cNackError) as err:
        bus.read(0x49, 1)
    assert err.value.address == 0x49 and err.value.errno == errno.ENXIO
    with pytest.raises(I2cNackError):
        bus.read_register(0x48, 7, 2)
    assert bus.nacks == 2


def test_injected_nack_and_timeout() -> None:
    clock, bus, sensor = bus_with_sensor()
    bus.inject_nack(2, address=0x48)
    for _ in range(2):
        with pytest.raises(I2cNackError):
            bus.read_register(0x48, 0, 2)
    assert len(bus.read_register(0x48, 0, 2)) == 2
    bus.inject_timeout(duration_s=0.035)
    before = clock.monotonic()
    with pytest.raises(I2cBusTimeoutError):
        bus.read_register(0x48, 0, 2)
    assert clock.monotonic() - before == pytest.approx(0.035)
    assert (bus.timeouts, bus.transfers) == (1, 4)


def test_messages_are_validated() -> None:
    with pytest.raises(ValueError, match="7-bit"):
        I2cMessage.write(0x80, b"\x00")
    with pytest.raises(ValueError, match="read length"):
        I2cMessage.read_of(0x48, 0)
    clock, bus, sensor = bus_with_sensor()
    with pytest.raises(ValueError, match="messages"):
        bus.transfer([])
    with pytest.raises(ValueError, match="taken"):
        bus.attach(0x48, Tmp102())
    bus.close()
    with pytest.raises(I2cError, match="closed"):
        bus.read(0x48, 2)


def make_spi(target: SpiRegisterDevice, **settings: object) -> tuple[SimClock, SimSpiDevice]:
    clock = SimClock()
    device = SimSpiDevice(clock, target, SpiSettings(**settings))  # type: ignore[arg-type]
    device.open()
    return clock, device


def test_spi_register_read_and_write() -> None:
    chip = SpiRegisterDevice(bytes([0x58, 0x00, 0x11, 0x22]))
    clock, spi = make_spi(chip, max_speed_hz=1_000_000)
    assert spi.write_then_read(bytes([0x80]), 4) == bytes([0x58, 0x00, 0x11, 0x22])
    assert clock.monotonic() == pytest.approx(5 * 8 / 1_000_000)
    spi.transfer(bytes([0x01, 0xAB]))
    assert chip.registers[1] == 0xAB
    full_duplex = spi.transfer(bytes([0x82, 0x00, 0x00]))
    assert full_duplex == bytes([0xFF, 0x11, 0x22])


def test_spi_settings_apply_when_opened_and_mismatch_shifts_bits() -> None:
    chip = SpiRegisterDevice(bytes([0x58]), mode=SpiMode.MODE3)
    clock = SimClock()
    spi = SimSpiDevice(clock, chip)
    spi.configure(mode=SpiMode.MODE3)
    spi.open()
    assert spi.write_then_read(b"\x80", 1) == b"\x58"
    spi.configure(mode=SpiMode.MODE0)
    assert spi.write_then_read(b"\x80", 1) == bytes([0x58 >> 1 | 0x80])
    with pytest.raises(ValueError):
        spi.configure(mode=4)
    with pytest.raises(ValueError):
        spi.configure(max_speed_hz=0)


def test_spi_faults() -> None:
    chip = SpiRegisterDevice(bytes([0x58]))
    clock, spi = make_spi(chip)
    spi.inject_error()
    with pytest.raises(SpiError) as err:
        spi.transfer(b"\x80\x00")
    assert err.value.errno == errno.EIO
    spi.stuck_miso = 0x00
    assert spi.transfer(b"\x80\x00") == b"\x00\x00"
    spi.stuck_miso = None
    assert spi.transfer(b"\x80\x00") == b"\xff\x58"
    with pytest.raises(ValueError):
        SpiSegment(b"")
    spi.close()
    with pytest.raises(SpiError, match="not open"):
        spi.transfer(b"\x80")


def test_linux_i2c_absent_adapter_is_a_clear_error() -> None:
    with pytest.raises(I2cError) as err:
        LinuxI2cBus("/dev/i2c-not-here")
    assert err.value.errno == errno.ENOENT and "/dev/i2c-not-here" in str(err.value)


def test_linux_i2c_on_a_non_i2c_device_fails_the_transfer_cleanly() -> None:
    with LinuxI2cBus("/dev/null") as bus, pytest.raises(I2cError) as err:
        bus.read_register(0x48, 0, 2)
    assert err.value.errno == errno.ENOTTY and err.value.address == 0x48


def test_linux_spi_absent_and_wrong_device() -> None:
    with pytest.raises(SpiError) as err:
        LinuxSpiDevice("/dev/spidev9.9").open()
    assert err.value.errno == errno.ENOENT
    with pytest.raises(SpiError) as err:
        LinuxSpiDevice("/dev/null").open()
    assert err.value.errno == errno.ENOTTY and "SPI mode" in str(err.value)
