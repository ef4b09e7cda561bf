"""The health monitor: component health, pings, recovery of hung components, the watchdog, and
the boot record (boot count, reset cause, uptime).

Each cycle it:

1. compares each component's health (set by the component, or lowered to WARNING by the runtime
   when a handler or cycle raised) with what it last saw, emits an event for each change, and
   keeps counts as telemetry; an operator clears a component back to OK by command;
2. pings every running component. A component answers unless it is a `ThreadedComponent` whose
   worker thread has died, or it defines ``answer_ping() -> bool`` and that says False (or
   raises): a component whose work happens elsewhere (a worker, a device) says there whether
   that work progresses. A component that runs on the executive's thread and blocks stops the
   executive, this monitor with it, and the watchdog goes hungry: that hang is the hardware's to
   catch;
3. after `warn_cycles` unanswered pings, a warning; after `fatal_cycles`, the component is hung
   and its recovery runs: ``restart`` (stop, init, start), ``mode:NAME`` (a mode transition,
   e.g. to a mode that switches it off) or ``none``. At most `max_recoveries` recoveries per
   component per `recovery_window_s`; a hung component beyond them is given up: its health goes
   to FAULT, a FATAL event says so, the boot record notes a watchdog reset is coming, and the
   watchdog is no longer fed;
4. feeds the watchdog while every component answers or is being recovered within its budget.

The watchdog is the ``watchdog`` hardware binding (`flight.svc.watchdog.open_watchdog`): on a
board ``/dev/watchdog`` (the kernel resets the board when it runs out), in simulation
``sim://watchdog``, checked at every tick; when it runs out, the monitor records the reset,
emits a FATAL event and stops the runtime, and `flight run` exits with status 3
(`EXIT_RESET`) so that its supervisor starts it again, as the board would reboot.

The boot record (`flight.svc.watchdog.BootLog`, ``storage`` binding) gives the boot count, the
cause of the last reset and the operating time across boots; the reset cause is read by the mode
manager to choose the boot mode.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final

from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Health,
    Lifecycle,
    ThreadedComponent,
    Throttle,
    Update,
    command,
)
from flight.runtime.errors import CommandError, ConfigError, ReasonCode
from flight.runtime.executive import Executive
from flight.runtime.records import Severity
from flight.runtime.registry import Registry
from flight.runtime.types import BOOL, F64, U32, Enum, String
from flight.svc.modes import ModeCause, ModeManager, check_switchable, switch_off, switch_on
from flight.svc.watchdog import BootLog, ResetCause, open_watchdog, reset_by_watchdog
from hal.storage import open_storage
from hal.watchdog import SimWatchdog, Watchdog, WatchdogError

EXIT_RESET: Final = 3  # `flight run` exit status after a watchdog or commanded reset
_RUNNING: Final = Lifecycle.RUNNING
_SETTINGS: Final = ("warn_cycles", "fatal_cycles", "recovery", "recoveries", "max_recoveries",
                    "recovery_window_s", "watchdog_timeout_s", "checkpoint_s", "file")


class RecoveryKind(IntEnum):
    NONE = 0
    RESTART = 1
    MODE = 2


@dataclass(frozen=True)
class Recovery:
    kind: RecoveryKind
    mode: str = ""

    @classmethod
    def parse(cls, key: str, text: Any) -> Recovery:
        if text == "none":
            return cls(RecoveryKind.NONE)
        if text == "restart":
            return cls(RecoveryKind.RESTART)
        if type(text) is str and text.startswith("mode:") and text[5:].isidentifier():
            return cls(RecoveryKind.MODE, text[5:])
        raise ConfigError(key, f"{text!r} is not a recovery (restart, none, mode:NAME)")

    def __str__(self) -> str:
        return f"mode:{self.mode}" if self.kind is RecoveryKind.MODE else self.kind.name.lower()


@dataclass
class _Watch:
    comp: Component
    recovery: Recovery
    missed: int = 0
    pinged: bool = True  # pings enabled by command
    recovering: bool = False  # a recovery ran and the component has not answered since
    down: bool = False  # stopped by a restart whose init/start failed
    given_up: bool = False
    attempts: deque[float] = field(default_factory=deque)


class HealthMonitor(Component):
    """Reports the health of every component, pings them, recovers hung ones, feeds the
    watchdog, and keeps the boot record."""

    ok = Channel(1, U32, update=Update.ON_CHANGE, doc="components in health OK")
    warning = Channel(2, U32, update=Update.ON_CHANGE, doc="components in health WARNING")
    fault = Channel(3, U32, update=Update.ON_CHANGE, doc="components in health FAULT")
    worst = Channel(4, Enum(Health), update=Update.ON_CHANGE, doc="worst health of any component")
    isolated = Channel(5, U32, update=Update.ON_CHANGE,
                       doc="exceptions isolated in all components since boot")
    boot_count = Channel(6, U32, update=Update.ON_CHANGE, doc="boots of this storage, this one "
                                                              "included")
    reset_cause = Channel(7, Enum(ResetCause), update=Update.ON_CHANGE,
                          doc="why the computer last restarted")
    uptime_s = Channel(8, F64, unit="s", doc="time since this boot")
    operating_s = Channel(9, F64, unit="s", doc="time running, over all boots")
    not_answering = Channel(10, U32, update=Update.ON_CHANGE,
                            doc="components that missed their last ping")
    recoveries = Channel(11, U32, update=Update.ON_CHANGE, doc="recoveries run since boot")
    watchdog_fed = Channel(12, BOOL, update=Update.ON_CHANGE,
                           doc="the watchdog was fed at the last cycle")

    changed = Event(1, Severity.WARNING_LO, "{component} health {old} -> {new}: {reason}",
                    throttle=Throttle(20, 60.0), component=String(32), old=Enum(Health),
                    new=Enum(Health), reason=String(96))
    recovered = Event(2, Severity.ACTIVITY_HI, "{component} health back to OK",
                      throttle=Throttle(20, 60.0), component=String(32))
    cleared = Event(3, Severity.ACTIVITY_HI, "{component} health cleared by command",
                    throttle=None, component=String(32))
    ping_late = Event(4, Severity.WARNING_LO, "{component} missed {count} pings",
                      throttle=Throttle(10, 60.0), component=String(32), count=U32)
    hung = Event(5, Severity.WARNING_HI,
                 "{component} hung ({count} pings missed): recovery {attempt} by {recovery}",
                 throttle=Throttle(10, 60.0), component=String(32), count=U32, attempt=U32,
                 recovery=String(32))
    answering = Event(6, Severity.ACTIVITY_HI, "{component} answers pings again",
                      throttle=Throttle(10, 60.0), component=String(32))
    given_up = Event(7, Severity.FATAL,
                     "{component} hung, not recovered after {attempts} recoveries: {outcome}",
                     throttle=None, component=String(32), attempts=U32, outcome=String(64))
    watchdog_reset = Event(8, Severity.FATAL, "watchdog reset at {time:.3f} s", throttle=None,
                           time=F64)
    booted = Event(9, Severity.ACTIVITY_HI,
                   "boot {count}: reset cause {cause}, {operating_s:.0f} s operating",
                   throttle=None, count=U32, cause=Enum(ResetCause), operating_s=F64)
    restart_failed = Event(10, Severity.WARNING_HI, "restarting {component} failed: {error}",
                           throttle=Throttle(10, 60.0), component=String(32), error=String(96))
    reset_commanded = Event(11, Severity.WARNING_HI, "software reset by command", throttle=None)
    watchdog_failed = Event(12, Severity.WARNING_HI, "watchdog: {detail}",
                            throttle=Throttle(5, 600.0), detail=String(120))
    boot_record_problem = Event(13, Severity.WARNING_LO, "boot record: {detail}",
                                throttle=Throttle(5, 600.0), detail=String(120))
    ping_set = Event(14, Severity.ACTIVITY_HI, "pings of {component}: {state}", throttle=None,
                     component=String(32), state=String(8))

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.watched: dict[str, Component] = {}
        self._seen: dict[str, Health] = {}
        self.warn_cycles = 2
        self.fatal_cycles = 4
        self.default_recovery: Recovery | None = None  # None: restart, or none if threaded
        self.recovery_for: dict[str, Recovery] = {}
        self.max_recoveries = 2
        self.recovery_window_s = 600.0
        self.watchdog_timeout_s = 10.0
        self.checkpoint_s = 60.0
        self.file = "boot.db"
        self.watchdog: Watchdog | None = None
        self.boot_log = BootLog(None)
        self.boot_cause: ResetCause = ResetCause.POWER_ON
        self.reset_requested: ResetCause | None = None  # the runtime stopped for a reset
        self._watches: list[_Watch] = []
        self._by_name: dict[str, _Watch] = {}
        self._modes: ModeManager | None = None
        self._executive: Executive | None = None
        self._boot_t = 0.0
        self._last_checkpoint = 0.0
        self._recoveries = 0
        self._starving = False

    # --- configuration -------------------------------------------------------------------------

    def configure(self, config: Mapping[str, Any]) -> None:
        for key, value in config.items():
            if key not in _SETTINGS:
                raise ConfigError(key, f"unknown setting (known: {', '.join(_SETTINGS)})")
            if key in ("warn_cycles", "fatal_cycles", "max_recoveries"):
                if type(value) is not int or not 0 <= value <= 1000 or (
                    key != "max_recoveries" and value < 1
                ):
                    raise ConfigError(key, f"{value!r} must be an integer in "
                                           f"{0 if key == 'max_recoveries' else 1}..1000")
                setattr(self, key, value)
            elif key in ("recovery_window_s", "watchdog_timeout_s", "checkpoint_s"):
                if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    0 < value < 1e9
                ):
                    raise ConfigError(key, f"{value!r} must be a positive number of seconds")
                setattr(self, key, float(value))
            elif key == "recovery":
                self.default_recovery = Recovery.parse(key, value)
            elif key == "recoveries":
                if not isinstance(value, dict):
                    raise ConfigError(key, "must be a table: component = recovery")
                self.recovery_for = {c: Recovery.parse(f"{key}.{c}", r) for c, r in value.items()}
            elif key == "file":
                if type(value) is not str or not value or "/" in value:
                    raise ConfigError(key, f"{value!r} is not a plain file name")
                self.file = value
        if self.fatal_cycles <= self.warn_cycles:
            raise ConfigError("fatal_cycles", f"{self.fatal_cycles} must exceed warn_cycles "
                                              f"({self.warn_cycles})")

    def registry_ready(self, registry: Registry) -> None:
        self.watched = dict(registry.components)
        self._seen = {name: c.health for name, c in self.watched.items()}
        modes = [c for c in registry.components.values() if isinstance(c, ModeManager)]
        self._modes = modes[0] if len(modes) == 1 else None
        self._executive = next((c for c in registry.components.values()
                                if isinstance(c, Executive)), None)
        for cname in self.recovery_for:
            if cname not in registry.components:
                raise ConfigError(f"recoveries.{cname}", f"no component named {cname!r}")
        self._watches = []
        for cname, comp in registry.components.items():
            recovery = self.recovery_for.get(cname) or self.default_recovery or (
                Recovery(RecoveryKind.NONE) if isinstance(comp, ThreadedComponent)
                else Recovery(RecoveryKind.RESTART))
            key = f"recoveries.{cname}" if cname in self.recovery_for else "recovery"
            if recovery.kind is RecoveryKind.RESTART and cname in self.recovery_for:
                check_switchable(comp, key)
            if recovery.kind is RecoveryKind.MODE:
                if self._modes is None:
                    raise ConfigError(key, f"{recovery} needs exactly one mode manager in the "
                                           f"deployment ({len(modes)} found)")
                if not self._modes.has_mode(recovery.mode):
                    raise ConfigError(key, f"no mode named {recovery.mode!r}")
            self._watches.append(_Watch(comp, recovery))
        self._by_name = {w.comp.name: w for w in self._watches}

    def restore(self) -> None:
        url = self.context.hardware.get("storage")
        self.boot_log = BootLog(open_storage(url) if url is not None else None, self.file)
        self.boot_log.load()

    def init(self) -> None:
        self._boot_t = self._last_checkpoint = self._now()
        url = self.context.hardware.get("watchdog")
        if url is not None:
            self._open_watchdog(url)
        if self.boot_log.problem:
            self.emit(self.boot_record_problem, _clip(self.boot_log.problem))
        try:
            self.boot_cause = self.boot_log.begin(watchdog_says=reset_by_watchdog(self.watchdog))
        except OSError as exc:
            self.boot_cause = ResetCause.UNKNOWN
            self.emit(self.boot_record_problem, _clip(f"cannot write: {exc}"))
        record = self.boot_log.record
        self.tlm(self.boot_count, record.boots)
        self.tlm(self.reset_cause, self.boot_cause)
        self.tlm(self.operating_s, record.operating_s)
        self.emit(self.booted, record.boots, self.boot_cause, record.operating_s)

    def _open_watchdog(self, url: str) -> None:
        if self.rate_group is None:
            raise ConfigError("rate_group", "the health monitor feeds the watchdog: make it a "
                                            "member of a rate group")
        if self.rate_group.period_s * 2 > self.watchdog_timeout_s:
            raise ConfigError("watchdog_timeout_s",
                              f"{self.watchdog_timeout_s} s is less than two health cycles "
                              f"({self.rate_group.period_s} s each)")
        try:
            self.watchdog = open_watchdog(url, self.clock, self.watchdog_timeout_s,
                                          self._watchdog_expired)
        except ValueError as exc:
            raise ConfigError(f"{self.name}.hardware.watchdog", str(exc)) from None
        try:
            self.watchdog.start()
        except WatchdogError as exc:  # a device that fails in flight must not stop the boot
            self.watchdog = None
            self.set_health(Health.WARNING, "no hardware watchdog")
            self.emit(self.watchdog_failed, _clip(f"not started, running without: {exc}"))
            return
        if isinstance(self.watchdog, SimWatchdog) and self._executive is not None:
            poll = self.watchdog.poll
            self._executive.tick_hooks.append(lambda _tick: poll())
        self.tlm(self.watchdog_fed, True)

    def stop(self) -> None:
        operating = self._operating()
        wd = self.watchdog
        if wd is not None and self.reset_requested is None:
            if self._starving and hasattr(wd, "abandon"):
                wd.abandon()  # the reset is due: leave the timer running, as a crash would
            else:
                wd.stop()
        try:
            self.boot_log.shutdown(operating)
        except OSError as exc:
            self.emit(self.boot_record_problem, _clip(f"cannot write: {exc}"))

    # --- the cycle -------------------------------------------------------------------------------

    def cycle(self) -> None:
        self._report_health()
        now = self._now()
        late = 0
        for w in self._watches:
            if not self._ping(w, now):
                late += 1
        self.tlm(self.not_answering, late)
        self._feed()
        uptime = now - self._boot_t
        self.tlm(self.uptime_s, uptime)
        self.tlm(self.operating_s, self._operating())
        if now - self._last_checkpoint >= self.checkpoint_s:
            self._last_checkpoint = now
            try:
                self.boot_log.checkpoint(self._operating())
            except OSError as exc:
                self.emit(self.boot_record_problem, _clip(f"cannot write: {exc}"))

    def _report_health(self) -> None:
        counts = [0, 0, 0]
        total_faults = 0
        for name, comp in self.watched.items():
            health = comp.health
            counts[health] += 1
            total_faults += comp.faults
            before = self._seen[name]
            if health is not before:
                self._seen[name] = health
                if health is Health.OK:
                    self.emit(self.recovered, name)
                else:
                    self.emit(self.changed, name, before, health, comp.health_reason[:96])
        self.tlm(self.ok, counts[Health.OK])
        self.tlm(self.warning, counts[Health.WARNING])
        self.tlm(self.fault, counts[Health.FAULT])
        self.tlm(self.isolated, total_faults)
        worst = Health.FAULT if counts[2] else Health.WARNING if counts[1] else Health.OK
        self.tlm(self.worst, worst)

    def _ping(self, w: _Watch, now: float) -> bool:
        """Ping one component; False if it did not answer."""
        comp = w.comp
        if not w.pinged or (comp.lifecycle is not _RUNNING and not w.down):
            w.missed = 0  # switched off by a mode, or not pinged: nothing to answer
            return True
        if not w.down and _answers(comp):
            if w.missed >= self.warn_cycles or w.recovering:
                self.emit(self.answering, comp.name[:32])
            w.missed = 0
            w.recovering = False
            return True
        w.missed += 1
        if w.given_up:
            return False
        if w.missed == self.warn_cycles:
            self.emit(self.ping_late, comp.name[:32], w.missed)
            comp.set_health(Health.WARNING, f"missed {w.missed} pings")
        if w.missed >= self.fatal_cycles:
            self._recover(w, now)
        return False

    def _recover(self, w: _Watch, now: float) -> None:
        attempts = w.attempts
        while attempts and now - attempts[0] >= self.recovery_window_s:
            attempts.popleft()
        if w.recovery.kind is RecoveryKind.NONE or len(attempts) >= self.max_recoveries:
            self._give_up(w)
            return
        attempts.append(now)
        self._recoveries += 1
        self.tlm(self.recoveries, self._recoveries)
        self.emit(self.hung, w.comp.name[:32], w.missed, len(attempts), str(w.recovery)[:32])
        w.missed = 0
        w.recovering = True
        if w.recovery.kind is RecoveryKind.MODE:
            assert self._modes is not None
            self._modes.request(w.recovery.mode, ModeCause.HEALTH)
            return
        comp = w.comp
        try:
            switch_off(comp)
            switch_on(comp)
            w.down = False
        except Exception as exc:  # noqa: BLE001 - a unit that will not restart is reported
            w.down = True
            self.emit(self.restart_failed, comp.name[:32], _clip(f"{type(exc).__name__}: {exc}",
                                                                  96))

    def _give_up(self, w: _Watch) -> None:
        w.given_up = True
        w.comp.set_health(Health.FAULT, "hung; recovery failed")
        if self.watchdog is None:
            outcome = "no watchdog bound; running on"
        else:
            outcome = f"watchdog reset within {self.watchdog_timeout_s:g} s"
            self._starving = True
            self._expect(ResetCause.WATCHDOG)
        self.emit(self.given_up, w.comp.name[:32], len(w.attempts), outcome)

    def _feed(self) -> None:
        wd = self.watchdog
        if wd is None:
            return
        fed = False
        if not self._starving and self.reset_requested is None and wd.running:
            try:
                wd.feed()
                fed = True
            except WatchdogError as exc:
                self.emit(self.watchdog_failed, _clip(str(exc)))
        self.tlm(self.watchdog_fed, fed)

    def _watchdog_expired(self, expiry: float) -> None:
        """The simulated watchdog ran out: the computer resets now."""
        self.reset_requested = ResetCause.WATCHDOG
        self._expect(ResetCause.WATCHDOG)
        self.emit(self.watchdog_reset, expiry)
        if self._executive is not None:
            self._executive.stop()

    def _expect(self, cause: ResetCause | None) -> None:
        try:
            self.boot_log.expect_reset(cause, self._operating())
        except OSError as exc:
            self.emit(self.boot_record_problem, _clip(f"cannot write: {exc}"))

    def _operating(self) -> float:
        """Operating time over all boots: the previous boots' and this one's uptime."""
        prev = self.boot_log.previous
        return (prev.operating_s if prev is not None else 0.0) + self._now() - self._boot_t

    # --- commands ------------------------------------------------------------------------------

    @command(1, component=String(32))
    def clear_health(self, component: str) -> None:
        """Set a component's health back to OK (after the operator dealt with the cause); a
        component given up as hung is watched again and the watchdog fed again."""
        comp = self.watched.get(component)
        if comp is None:
            raise CommandError(ReasonCode.NOT_FOUND, f"no component named {component!r}")
        comp.set_health(Health.OK)
        w = self._by_name.get(component)
        if w is not None and w.given_up:
            w.given_up = False
            w.missed = 0
            w.attempts.clear()
            if self._starving and not any(x.given_up for x in self._watches):
                self._starving = False
                self._expect(None)
        self.emit(self.cleared, component)

    @command(2)
    def reset_software(self) -> None:
        """Stop the flight software for a restart by its supervisor (reset cause COMMANDED)."""
        if self._executive is None:
            raise CommandError(ReasonCode.COMPONENT_UNAVAILABLE, "no executive to stop")
        self.reset_requested = ResetCause.COMMANDED
        self._expect(ResetCause.COMMANDED)
        self.emit(self.reset_commanded)
        if self.watchdog is not None:
            self.watchdog.stop()
        self._executive.stop()

    @command(3, component=String(32), enabled=BOOL)
    def set_pinged(self, component: str, enabled: bool) -> None:
        """Ping a component or stop pinging it (a unit under investigation)."""
        w = self._by_name.get(component)
        if w is None:
            raise CommandError(ReasonCode.NOT_FOUND, f"no component named {component!r}")
        w.pinged = enabled
        w.missed = 0
        self.emit(self.ping_set, component, "enabled" if enabled else "disabled")


def _answers(comp: Component) -> bool:
    if isinstance(comp, ThreadedComponent) and comp.thread is not None and (
        not comp.thread.is_alive()
    ):
        return False
    hook = getattr(comp, "answer_ping", None)
    if hook is None:
        return True
    try:
        return bool(hook())
    except Exception:  # noqa: BLE001 - a ping that raises is a ping not answered
        return False


def _clip(text: str, limit: int = 120) -> str:
    return text.encode()[:limit].decode(errors="ignore")
