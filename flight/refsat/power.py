"""The power-system monitor: samples the EPS, reports it, and watches the bus voltage."""

from __future__ import annotations

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
from flight.runtime.records import Severity
from flight.runtime.types import BOOL, F32, U32, String
from flight.sensors import PowerReading, open_sensor


class PowerMonitor(Component):
    """Reads the EPS each cycle (hardware binding `eps`); undervoltage and eclipse events."""

    bus_volts = Channel(1, F32, unit="V", doc="main bus voltage")
    solar_amps = Channel(2, F32, unit="A", doc="solar array current")
    load_amps = Channel(3, F32, unit="A", doc="total load current")
    battery_amps = Channel(4, F32, unit="A", doc="battery current, positive while charging")
    battery_soc = Channel(5, F32, unit="%", doc="battery state of charge")
    in_sun = Channel(6, BOOL, update=Update.ON_CHANGE, doc="solar current above eclipse_amps")
    min_bus_volts = Channel(7, F32, unit="V", update=Update.ON_CHANGE,
                            doc="lowest bus voltage since boot or reset_min")
    read_errors = Channel(8, U32, update=Update.ON_CHANGE, doc="failed EPS reads")

    undervolt_volts = Param(1, F32(min=5.0, max=8.0), 6.9, doc="undervoltage warning threshold")
    eclipse_amps = Param(2, F32(min=0.0, max=1.0), 0.05,
                         doc="solar current below which the spacecraft is in eclipse")

    undervoltage = Event(1, Severity.WARNING_HI, "bus at {volts:.2f} V, below {limit:.2f} V",
                         throttle=Throttle(3, 300.0), volts=F32, limit=F32)
    eclipse_entry = Event(2, Severity.ACTIVITY_LO, "eclipse entry, battery at {soc:.1f} %",
                          soc=F32)
    eclipse_exit = Event(3, Severity.ACTIVITY_LO, "eclipse exit, battery at {soc:.1f} %",
                         soc=F32)
    read_failed = Event(4, Severity.WARNING_LO, "EPS read failed: {error}",
                        throttle=Throttle(5, 600.0), error=String(80))
    min_reset = Event(5, Severity.ACTIVITY_LO, "minimum bus voltage reset", throttle=None)

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.eps: Any = None
        self._min = float("inf")
        self._errors = 0
        self._sun: bool | None = None

    def init(self) -> None:
        self.eps = open_sensor(self.hardware("eps"), self.context.resources)

    def cycle(self) -> None:
        try:
            r: PowerReading = self.eps.read(self._now())
        except OSError as exc:
            self._errors += 1
            self.tlm(self.read_errors, self._errors)
            self.emit(self.read_failed, str(exc)[:80])
            self.set_health(Health.WARNING, "EPS read failing")
            return
        self.tlm(self.bus_volts, r.bus_volts)
        self.tlm(self.solar_amps, r.solar_amps)
        self.tlm(self.load_amps, r.load_amps)
        self.tlm(self.battery_amps, r.battery_amps)
        soc = r.battery_soc * 100.0
        self.tlm(self.battery_soc, soc)
        if r.bus_volts < self._min:
            self._min = r.bus_volts
            self.tlm(self.min_bus_volts, r.bus_volts)
        if r.bus_volts < self.undervolt_volts:
            self.emit(self.undervoltage, r.bus_volts, self.undervolt_volts)
        sun = r.solar_amps > self.eclipse_amps
        if sun is not self._sun:
            if self._sun is not None:
                self.emit(self.eclipse_exit if sun else self.eclipse_entry, soc)
            self._sun = sun
            self.tlm(self.in_sun, sun)

    @command(1)
    def reset_min(self) -> None:
        """Restart tracking the minimum bus voltage."""
        self._min = float("inf")
        self.emit(self.min_reset)
