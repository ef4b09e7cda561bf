"""The thermal monitor: four temperatures, limit events, and the battery heater's thermostat."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Health,
    Param,
    Throttle,
    Update,
    command,
)
from flight.runtime.errors import CommandError, ReasonCode
from flight.runtime.records import Severity
from flight.runtime.types import BOOL, F32, U32, Enum, String
from flight.sensors import open_sensor


class HeaterMode(IntEnum):
    AUTO = 0  # thermostat on the battery temperature
    OFF = 1
    ON = 2


class Limit(IntEnum):
    LOW = 0
    HIGH = 1


class ThermalMonitor(Component):
    """Reads the thermal sensors (hardware binding `thermal`) and runs the battery heater."""

    panel_px_c = Channel(1, F32, unit="degC", doc="+X solar panel")
    panel_mx_c = Channel(2, F32, unit="degC", doc="-X solar panel")
    battery_c = Channel(3, F32, unit="degC", doc="battery pack")
    obc_c = Channel(4, F32, unit="degC", doc="onboard computer")
    heater_on = Channel(5, BOOL, update=Update.ON_CHANGE, doc="battery heater state")
    heater_mode = Channel(6, Enum(HeaterMode), update=Update.ON_CHANGE, doc="heater control mode")
    read_errors = Channel(7, U32, update=Update.ON_CHANGE, doc="failed sensor reads")

    heater_on_c = Param(1, F32(min=-20.0, max=30.0), 5.0, doc="thermostat: heater on below")
    heater_off_c = Param(2, F32(min=-20.0, max=40.0), 10.0, doc="thermostat: heater off above")
    battery_low_c = Param(3, F32(min=-40.0, max=20.0), 0.0, doc="battery low-temperature limit")
    battery_high_c = Param(4, F32(min=10.0, max=80.0), 45.0,
                           doc="battery high-temperature limit")

    out_of_limits = Event(1, Severity.WARNING_HI,
                          "{sensor} at {temp_c:.1f} degC beyond its {limit} limit {limit_c:.1f}",
                          throttle=Throttle(3, 600.0), sensor=String(16), temp_c=F32,
                          limit=Enum(Limit), limit_c=F32)
    heater_switched = Event(2, Severity.ACTIVITY_LO, "battery heater {state} at {temp_c:.1f} degC",
                            throttle=Throttle(10, 600.0), state=String(4), temp_c=F32)
    mode_set = Event(3, Severity.ACTIVITY_HI, "heater mode {mode}", throttle=None,
                     mode=Enum(HeaterMode))
    read_failed = Event(4, Severity.WARNING_LO, "thermal read failed: {error}",
                        throttle=Throttle(5, 600.0), error=String(80))

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.sensors: Any = None
        self.mode = HeaterMode.AUTO
        self._heater = False
        self._errors = 0

    def init(self) -> None:
        self.sensors = open_sensor(self.hardware("thermal"), self.context.resources)
        self.tlm(self.heater_mode, self.mode)
        self.tlm(self.heater_on, False)

    def cycle(self) -> None:
        try:
            temps = self.sensors.read(self._now())
        except OSError as exc:
            self._errors += 1
            self.tlm(self.read_errors, self._errors)
            self.emit(self.read_failed, str(exc)[:80])
            self.set_health(Health.WARNING, "thermal sensors failing")
            return
        battery = temps["battery"]
        self.tlm(self.panel_px_c, temps["panel_px"])
        self.tlm(self.panel_mx_c, temps["panel_mx"])
        self.tlm(self.battery_c, battery)
        self.tlm(self.obc_c, temps["obc"])
        if battery < self.battery_low_c:
            self.emit(self.out_of_limits, "battery", battery, Limit.LOW, self.battery_low_c)
        elif battery > self.battery_high_c:
            self.emit(self.out_of_limits, "battery", battery, Limit.HIGH, self.battery_high_c)
        if self.mode is HeaterMode.AUTO:
            if not self._heater and battery < self.heater_on_c:
                self._switch(True, battery)
            elif self._heater and battery > self.heater_off_c:
                self._switch(False, battery)

    def _switch(self, on: bool, temp_c: float) -> None:
        self._heater = on
        self.sensors.heater_on = on
        self.tlm(self.heater_on, on)
        self.emit(self.heater_switched, "on" if on else "off", temp_c)

    @command(1, mode=Enum(HeaterMode))
    def set_heater_mode(self, mode: HeaterMode) -> None:
        """AUTO (thermostat), or force the heater OFF or ON."""
        if self.sensors is None:
            raise CommandError(ReasonCode.COMPONENT_UNAVAILABLE, "thermal sensors not open")
        self.mode = mode
        self.tlm(self.heater_mode, mode)
        self.emit(self.mode_set, mode)
        if mode is not HeaterMode.AUTO:
            self._switch(mode is HeaterMode.ON, self.context.telemetry.value(
                self.base_id + self.battery_c.id))
