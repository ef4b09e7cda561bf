"""Sensor buses: I2C and SPI contracts, Linux backends (/dev/i2c-N, /dev/spidevB.C) and simulated
buses answered by device models."""

from hal.bus.i2c import (
    I2cBus,
    I2cBusTimeoutError,
    I2cError,
    I2cMessage,
    I2cNackError,
)
from hal.bus.linux import LinuxI2cBus, LinuxSpiDevice
from hal.bus.sim import SimI2cBus, SimSpiDevice, SpiRegisterDevice, Tmp102
from hal.bus.spi import SpiDevice, SpiError, SpiMode, SpiSegment, SpiSettings

__all__ = [
    "I2cBus",
    "I2cBusTimeoutError",
    "I2cError",
    "I2cMessage",
    "I2cNackError",
    "LinuxI2cBus",
    "LinuxSpiDevice",
    "SimI2cBus",
    "SimSpiDevice",
    "SpiDevice",
    "SpiError",
    "SpiMode",
    "SpiRegisterDevice",
    "SpiSegment",
    "SpiSettings",
    "Tmp102",
]
