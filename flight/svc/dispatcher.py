"""The command dispatcher: decode, validate, route by opcode, and verify every command.

Each command gets verification reports with PUS service 1 semantics, published on the
`verification` port: ACCEPTED (it decoded, the opcode exists, the arguments have the right count,
types and ranges) or ACCEPTANCE_FAILED with the reason; then STARTED (the owning component is
running) or START_FAILED; then COMPLETED, or COMPLETION_FAILED with the reason the handler gave
(`CommandError`) or HANDLER_EXCEPTION if it raised anything else, in which case the owner's health
drops to WARNING and an event names the exception. A rejected command executes nothing.

Commands arrive on the `commands` input as packed bytes (a TC packet's data field) or as `Command`
values; `dispatch()` is the same path called directly. Every accepted command also goes out on
`accepted_commands`, as the value it is, so a log of them can be stored and replayed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Health,
    Lifecycle,
    Output,
    Throttle,
    Update,
    command,
    input_port,
)
from flight.runtime.errors import (
    ArgumentError,
    CommandError,
    ConfigError,
    DecodeError,
    ReasonCode,
)
from flight.runtime.records import Command, Severity, Stage, Verification
from flight.runtime.registry import CommandEntry, Registry
from flight.runtime.types import U16, U32, Enum, String

_ON_CHANGE: Final = Update.ON_CHANGE
_OK: Final = ReasonCode.OK
_ACCEPTED: Final = Stage.ACCEPTED
_STARTED: Final = Stage.STARTED
_COMPLETED: Final = Stage.COMPLETED
_RUNNING: Final = Lifecycle.RUNNING
_new: Final = tuple.__new__  # builds a NamedTuple record without its Python-level __new__ (3x)


class CommandDispatcher(Component):
    """Routes commands by opcode and reports their verification."""

    accepted = Channel(1, U32, update=Update.ON_CHANGE, doc="commands accepted")
    rejected = Channel(2, U32, update=Update.ON_CHANGE, doc="commands failing acceptance")
    completed = Channel(3, U32, update=Update.ON_CHANGE, doc="commands completed")
    failed = Channel(4, U32, update=Update.ON_CHANGE, doc="commands failing start or completion")
    last_opcode = Channel(5, U32, update=Update.ON_CHANGE,
                          doc="opcode of the last accepted command")

    dispatched = Event(1, Severity.COMMAND,
                       "command {name} (opcode 0x{opcode:X}, seq {seq}) accepted", throttle=None,
                       name=String(64), opcode=U32, seq=U16)
    rejected_event = Event(2, Severity.WARNING_LO,
                           "command opcode 0x{opcode:X} seq {seq} rejected: {reason}: {detail}",
                           throttle=Throttle(20, 60.0), opcode=U32, seq=U16,
                           reason=Enum(ReasonCode), detail=String(120))
    failed_event = Event(3, Severity.WARNING_LO,
                         "command {name} seq {seq} failed: {reason}: {detail}",
                         throttle=Throttle(20, 60.0), name=String(64), seq=U16,
                         reason=Enum(ReasonCode), detail=String(120))
    handler_fault = Event(4, Severity.WARNING_HI,
                          "command {name} handler raised {error}",
                          throttle=Throttle(10, 60.0), name=String(64), error=String(120))

    no_op_event = Event(5, Severity.ACTIVITY_HI, "no-op received", throttle=None)

    verification = Output("verification reports (Verification)")
    accepted_commands = Output("every accepted command (Command), for a command log or replay")

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.table: dict[int, CommandEntry] = {}
        self.accepted_count = self.rejected_count = self.completed_count = self.failed_count = 0
        self.log_commands = True
        self._accepted_id = base_id + self.accepted.id
        self._completed_id = base_id + self.completed.id
        self._last_opcode_id = base_id + self.last_opcode.id

    def configure(self, config: Mapping[str, Any]) -> None:
        for key, value in config.items():
            if key == "log_commands":
                if type(value) is not bool:
                    raise ConfigError(key, "must be true or false")
                self.log_commands = value
            else:
                raise ConfigError(key, "unknown setting (known: log_commands)")

    def registry_ready(self, registry: Registry) -> None:
        self.table = dict(registry.commands)

    @input_port(depth=64, policy="reject")
    def commands(self, msg: Command | bytes) -> None:
        self.dispatch(msg)

    def dispatch(self, msg: Command | bytes) -> Verification:
        """Run one command through acceptance, start and completion; returns the last report."""
        if type(msg) is not Command:
            try:
                msg = Command.unpack(msg if type(msg) is bytes else bytes(msg))
            except DecodeError as exc:
                return self._reject(0, 0, ReasonCode.MALFORMED, exc.detail)
        opcode = msg.opcode
        entry = self.table.get(opcode)
        if entry is None:
            return self._reject(opcode, msg.seq, ReasonCode.UNKNOWN_OPCODE,
                                f"no command has opcode 0x{opcode:X}")
        types = entry.arg_types
        args = msg.args
        if len(args) != len(types):
            return self._reject(opcode, msg.seq, ReasonCode.WRONG_ARG_COUNT,
                                f"{entry.name} takes {len(types)} arguments, got {len(args)}")
        try:
            checked = [t.check(a) for t, a in zip(types, args, strict=True)]
        except ArgumentError as exc:
            return self._reject(opcode, msg.seq, exc.reason, f"{entry.name}: {exc.detail}")
        now = self._now()
        send = self.verification.send
        write = self._tlm_write
        seq = msg.seq
        self.accepted_count += 1
        write(self._accepted_id, _ON_CHANGE, self.accepted_count, now)
        write(self._last_opcode_id, _ON_CHANGE, opcode, now)
        send(_new(Verification, (opcode, seq, _ACCEPTED, _OK, now)))
        self.accepted_commands.send(msg)
        if self.log_commands:
            self.emit(self.dispatched, entry.name, opcode, seq)
        owner = entry.component
        if owner.lifecycle is not _RUNNING:
            return self._fail(entry, seq, Stage.START_FAILED, ReasonCode.COMPONENT_UNAVAILABLE,
                              f"{owner.name} is {owner.lifecycle.name}")
        send(_new(Verification, (opcode, seq, _STARTED, _OK, now)))
        try:
            entry.handler(*checked)
        except CommandError as exc:
            return self._fail(entry, seq, Stage.COMPLETION_FAILED, exc.reason, exc.detail)
        except Exception as exc:  # noqa: BLE001 - a handler bug must not take the dispatcher down
            error = f"{type(exc).__name__}: {exc}"
            owner.faults += 1
            owner.set_health(Health.WARNING, f"command {entry.name} raised {error[:80]}")
            self.emit(self.handler_fault, entry.name, _clip(error))
            return self._fail(entry, seq, Stage.COMPLETION_FAILED,
                              ReasonCode.HANDLER_EXCEPTION, error)
        now = self._now()
        self.completed_count += 1
        write(self._completed_id, _ON_CHANGE, self.completed_count, now)
        report = _new(Verification, (opcode, seq, _COMPLETED, _OK, now))
        send(report)
        return report

    def _reject(self, opcode: int, seq: int, reason: ReasonCode, detail: str) -> Verification:
        self.rejected_count += 1
        self.tlm(self.rejected, self.rejected_count)
        self.emit(self.rejected_event, opcode, seq, reason, _clip(detail))
        report = Verification(opcode, seq, Stage.ACCEPTANCE_FAILED, reason, self._now())
        self.verification.send(report)
        return report

    def _fail(self, entry: CommandEntry, seq: int, stage: Stage, reason: ReasonCode,
              detail: str) -> Verification:
        self.failed_count += 1
        self.tlm(self.failed, self.failed_count)
        self.emit(self.failed_event, entry.name, seq, reason, _clip(detail))
        report = Verification(entry.opcode, seq, stage, reason, self._now())
        self.verification.send(report)
        return report

    @command(0)
    def no_op(self) -> None:
        """Do nothing but report: checks the command path end to end."""
        self.emit(self.no_op_event)

    @property
    def counts(self) -> dict[str, int]:
        return {"accepted": self.accepted_count, "rejected": self.rejected_count,
                "completed": self.completed_count, "failed": self.failed_count}


def _clip(text: str, limit: int = 120) -> str:
    return text.encode()[:limit].decode(errors="ignore")
