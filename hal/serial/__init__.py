"""Serial ports: one `SerialPort` contract, a pyserial backend (device paths and pyserial URLs), a
simulated backend on the injected clock, and real pseudo-terminals for tests and the HIL rig."""

from hal.serial.base import (
    BackendUnavailableError,
    Parity,
    PortNotOpenError,
    SerialError,
    SerialPort,
    SerialSettingError,
    SerialSettings,
    SerialTimeoutError,
    SerialURLError,
    UnknownSchemeError,
)
from hal.serial.pty import PtyBridge, PtyPair, open_pty
from hal.serial.pyserial_backend import PySerialPort
from hal.serial.registry import (
    PYSERIAL_SCHEMES,
    PySerialBackend,
    SerialBackend,
    SerialRegistry,
    open_serial,
    scheme_of,
)
from hal.serial.sim import LineStats, SimLine, SimSerialHub, SimSerialLink, SimSerialPort

__all__ = [
    "PYSERIAL_SCHEMES",
    "BackendUnavailableError",
    "LineStats",
    "Parity",
    "PortNotOpenError",
    "PtyBridge",
    "PtyPair",
    "PySerialBackend",
    "PySerialPort",
    "SerialBackend",
    "SerialError",
    "SerialPort",
    "SerialRegistry",
    "SerialSettingError",
    "SerialSettings",
    "SerialTimeoutError",
    "SerialURLError",
    "SimLine",
    "SimSerialHub",
    "SimSerialLink",
    "SimSerialPort",
    "UnknownSchemeError",
    "open_pty",
    "open_serial",
    "scheme_of",
]
