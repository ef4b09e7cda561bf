"""The sequencer: stored command sequences with relative delays, run by command.

A sequence is text (`flight.svc.command_text`), one command a line after its delay:

    # payload pass: power up, settle, two images, power down
    +0      imager.power true
    +2      imager.capture "lake-geneva" 3
    +0.5    imager.capture "lake-geneva-2" 3
    +5      imager.power false
    #crc32c 9C1A4F17

Where sequences come from. The deployment may define built-in sequences in the component's
``sequences`` table (name = text); they are compiled against the dictionary when the deployment
is built, so a typo there is a deployment error. Any other sequence is a file in the product store
(uploaded by CFDP, e.g. ``seq/pass-0142.seq``), named by its path or file ID; it is read (CRC-32C
of the stored file checked), its ``#crc32c`` trailer checked (required unless `require_crc` is
false: a file corrupted before it was stored is caught too), and compiled against the dictionary
(every opcode exists, every argument has its type and range) each time it is validated or
started, so a malformed sequence never runs a single command. A built-in name wins over a
stored file of the same path: an upload cannot silently replace what FDIR relies on.

Engines. Up to `engines` sequences run at once, each in its own engine, one instance per name
(starting a sequence that is running is refused). FDIR starts a recovery sequence while a payload
sequence runs; `stop_all` stops everything. Delays are measured on the executive's clock from the
previous command's due time (not from when it ran), so a sequence does not drift; the first
command runs at the sequencer's first cycle after its delay, never inside the start command. Each
command goes through the command dispatcher like a ground command; one that fails verification
aborts its sequence (unless `stop_on_failure` is false) with an event naming the line.

A cycle costs O(engines): each engine looks at its next due time only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from flight.codec import crc32c
from flight.runtime.component import Channel, Component, Event, Throttle, Update, command
from flight.runtime.errors import CommandError, ConfigError, ReasonCode
from flight.runtime.records import Command, Severity, Verification
from flight.runtime.registry import CommandEntry, Registry
from flight.runtime.types import F64, U8, U32, Enum, String
from flight.svc.command_text import CommandLine, CommandTextError, TimeKind, compile_text, unseal
from flight.svc.products import StoreError

MAX_NAME: Final = 64
DEFAULT_ENGINES: Final = 4
DEFAULT_MAX_STEPS: Final = 1000


class SequenceError(ValueError):
    """A sequence that cannot be run; `reason` is the command failure code."""

    def __init__(self, name: str, detail: str,
                 reason: ReasonCode = ReasonCode.EXECUTION_FAILED) -> None:
        super().__init__(f"sequence {name}: {detail}")
        self.name = name
        self.detail = detail
        self.reason = reason


@dataclass(frozen=True)
class Sequence:
    """A compiled, checked sequence."""

    name: str
    steps: tuple[CommandLine, ...]
    crc32c: int  # of the text as stored (trailer included)
    builtin: bool

    @property
    def duration_s(self) -> float:
        return sum(step.time for step in self.steps)


@dataclass
class Run:
    """A sequence running in an engine."""

    sequence: Sequence
    index: int  # next step
    due: float  # executive clock time of the next step
    sent: int = 0


class Sequencer(Component):
    """Validates, starts and stops command sequences; runs several at once."""

    running = Channel(1, U8, update=Update.ON_CHANGE, doc="sequences running")
    started = Channel(2, U32, update=Update.ON_CHANGE, doc="sequences started since boot")
    completed = Channel(3, U32, update=Update.ON_CHANGE, doc="sequences completed since boot")
    aborted = Channel(4, U32, update=Update.ON_CHANGE,
                      doc="sequences aborted by a failed command since boot")
    commands_sent = Channel(5, U32, update=Update.ON_CHANGE,
                            doc="commands dispatched by sequences since boot")
    last_started = Channel(6, String(32), update=Update.ON_CHANGE,
                           doc="name of the last sequence started")

    seq_started = Event(1, Severity.ACTIVITY_HI,
                        "sequence {name} started in engine {engine}: {steps} commands over "
                        "{duration_s:.1f} s", throttle=None, name=String(MAX_NAME), engine=U8,
                        steps=U32, duration_s=F64)
    seq_completed = Event(2, Severity.ACTIVITY_HI, "sequence {name} completed: {sent} commands",
                          throttle=None, name=String(MAX_NAME), sent=U32)
    seq_aborted = Event(3, Severity.WARNING_HI,
                        "sequence {name} aborted at line {line} ({command}): {reason}",
                        throttle=Throttle(10, 60.0), name=String(MAX_NAME), line=U32,
                        command=String(64), reason=Enum(ReasonCode))
    seq_stopped = Event(4, Severity.ACTIVITY_HI, "sequence {name} stopped by command after "
                                                 "{sent} commands", throttle=None,
                        name=String(MAX_NAME), sent=U32)
    seq_valid = Event(5, Severity.ACTIVITY_HI,
                      "sequence {name} valid: {steps} commands over {duration_s:.1f} s, "
                      "CRC-32C 0x{crc:08X}", throttle=None, name=String(MAX_NAME), steps=U32,
                      duration_s=F64, crc=U32)
    seq_invalid = Event(6, Severity.WARNING_LO, "sequence {name} rejected: {reason}",
                        throttle=Throttle(10, 60.0), name=String(MAX_NAME), reason=String(160))
    step_failed = Event(7, Severity.WARNING_LO,
                        "sequence {name} line {line} ({command}) failed: {reason}; continuing",
                        throttle=Throttle(10, 60.0), name=String(MAX_NAME), line=U32,
                        command=String(64), reason=Enum(ReasonCode))

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.dispatcher_name = "cmd"
        self.store_name: str | None = None
        self.engines = DEFAULT_ENGINES
        self.stop_on_failure = True
        self.require_crc = True
        self.max_steps = DEFAULT_MAX_STEPS
        self.builtin_text: dict[str, str] = {}
        self.builtins: dict[str, Sequence] = {}
        self.by_name: dict[str, CommandEntry] = {}
        self.store: Any = None
        self.slots: list[Run | None] = []
        self._dispatch: Callable[[Command], Verification] | None = None
        self._counts = {"started": 0, "completed": 0, "aborted": 0, "sent": 0}

    def configure(self, config: Mapping[str, Any]) -> None:
        for key, value in config.items():
            if key in ("dispatcher", "store"):
                if type(value) is not str or not value.isidentifier():
                    raise ConfigError(key, f"{value!r} must be a component instance name")
                setattr(self, f"{key}_name", value)
            elif key in ("engines", "max_steps"):
                if type(value) is not int or not 1 <= value <= (16 if key == "engines"
                                                                 else 100_000):
                    raise ConfigError(key, f"{value!r} out of range")
                setattr(self, key, value)
            elif key in ("stop_on_failure", "require_crc"):
                if type(value) is not bool:
                    raise ConfigError(key, "must be true or false")
                setattr(self, key, value)
            elif key == "sequences":
                if not isinstance(value, Mapping):
                    raise ConfigError(key, "must be a table of name = text")
                for name, text in value.items():
                    if type(text) is not str or len(name.encode()) > MAX_NAME:
                        raise ConfigError(f"{key}.{name}", "must be a sequence text, named in "
                                                           f"at most {MAX_NAME} octets")
                    self.builtin_text[name] = text
            else:
                raise ConfigError(key, "unknown setting (known: dispatcher, store, engines, "
                                       "max_steps, stop_on_failure, require_crc, sequences)")
        self.slots = [None] * self.engines

    def registry_ready(self, registry: Registry) -> None:
        dispatcher = registry.components.get(self.dispatcher_name)
        if dispatcher is None or not callable(getattr(dispatcher, "dispatch", None)):
            raise ConfigError("dispatcher", f"no command dispatcher named "
                                            f"{self.dispatcher_name!r}")
        self._dispatch = dispatcher.dispatch
        if self.store_name is not None:
            self.store = registry.components.get(self.store_name)
            if self.store is None or not callable(getattr(self.store, "read", None)):
                raise ConfigError("store", f"no product store named {self.store_name!r}")
        self.by_name = {e.name: e for e in registry.commands.values()}
        for name, text in self.builtin_text.items():
            try:
                self.builtins[name] = self.compile(name, text.encode(), builtin=True)
            except SequenceError as exc:
                raise ConfigError(f"sequences.{name}", exc.detail) from None

    # --- loading ------------------------------------------------------------------------------

    def compile(self, name: str, data: bytes, *, builtin: bool = False) -> Sequence:
        """Check a sequence text: CRC trailer, dictionary, limits; raises `SequenceError`."""
        try:
            body, claimed = unseal(data)
        except ValueError as exc:
            raise SequenceError(name, str(exc), ReasonCode.STORAGE_ERROR) from None
        if claimed is None and self.require_crc and not builtin:
            raise SequenceError(name, "not sealed: the #crc32c trailer line is missing",
                                ReasonCode.MALFORMED)
        try:
            steps = compile_text(body, self.by_name, times=TimeKind.RELATIVE, source=name,
                                 max_lines=self.max_steps)
        except CommandTextError as exc:
            raise SequenceError(name, str(exc), ReasonCode.MALFORMED) from None
        if not steps:
            raise SequenceError(name, "no commands", ReasonCode.MALFORMED)
        return Sequence(name, tuple(steps), crc32c(data), builtin)

    def load(self, name: str) -> Sequence:
        """The built-in sequence `name`, or the stored file `name` (path or ID), compiled."""
        builtin = self.builtins.get(name)
        if builtin is not None:
            return builtin
        if self.store is None:
            raise SequenceError(name, "no built-in sequence of that name and no product store",
                                ReasonCode.NOT_FOUND)
        try:
            data = self.store.read(name)
        except StoreError as exc:
            raise SequenceError(name, str(exc), exc.reason) from None
        return self.compile(name, data)

    def _load_or_fail(self, name: str) -> Sequence:
        try:
            return self.load(name)
        except SequenceError as exc:
            self.emit(self.seq_invalid, name, exc.detail[:160])
            raise CommandError(exc.reason, exc.detail) from None

    # --- running ------------------------------------------------------------------------------

    def start_sequence(self, name: str) -> int:
        """Start sequence `name` in a free engine; returns the engine number."""
        if any(run is not None and run.sequence.name == name for run in self.slots):
            raise CommandError(ReasonCode.BUSY, f"sequence {name} is already running")
        try:
            engine = self.slots.index(None)
        except ValueError:
            raise CommandError(ReasonCode.BUSY, f"all {self.engines} engines are busy") from None
        sequence = self._load_or_fail(name)
        self.slots[engine] = Run(sequence, 0, self.now() + sequence.steps[0].time)
        self._counts["started"] += 1
        self.emit(self.seq_started, name, engine, len(sequence.steps), sequence.duration_s)
        self.tlm(self.last_started, name[:32])
        self._report()
        return engine

    def cycle(self) -> None:
        now = self.now()
        for engine, run in enumerate(self.slots):
            if run is not None and run.due <= now:
                self._advance(engine, run, now)

    def _advance(self, engine: int, run: Run, now: float) -> None:
        dispatch = self._dispatch
        assert dispatch is not None
        steps = run.sequence.steps
        while run.due <= now:
            step = steps[run.index]
            report = dispatch(step.command)
            run.sent += 1
            self._counts["sent"] += 1
            if self.slots[engine] is not run:  # the command stopped this sequence
                break
            if report.failed:
                if self.stop_on_failure:
                    self.slots[engine] = None
                    self._counts["aborted"] += 1
                    self.emit(self.seq_aborted, run.sequence.name, step.line, step.name,
                              report.reason)
                    break
                self.emit(self.step_failed, run.sequence.name, step.line, step.name,
                          report.reason)
            run.index += 1
            if run.index == len(steps):
                self.slots[engine] = None
                self._counts["completed"] += 1
                self.emit(self.seq_completed, run.sequence.name, run.sent)
                break
            run.due += steps[run.index].time
        self._report()

    def _report(self) -> None:
        self.tlm(self.running, sum(run is not None for run in self.slots))
        self.tlm(self.started, self._counts["started"])
        self.tlm(self.completed, self._counts["completed"])
        self.tlm(self.aborted, self._counts["aborted"])
        self.tlm(self.commands_sent, self._counts["sent"])

    def active(self) -> dict[str, int]:
        """Running sequence name -> index of its next command."""
        return {run.sequence.name: run.index for run in self.slots if run is not None}

    # --- commands ---------------------------------------------------------------------------

    @command(1, sequence=String(MAX_NAME))
    def start_(self, sequence: str) -> None:
        """Start a sequence: a built-in name, or a stored file's path or ID."""
        self.start_sequence(sequence)

    @command(2, sequence=String(MAX_NAME))
    def stop_(self, sequence: str) -> None:
        """Stop a running sequence (no further commands of it run)."""
        for engine, run in enumerate(self.slots):
            if run is not None and run.sequence.name == sequence:
                self.slots[engine] = None
                self.emit(self.seq_stopped, sequence, run.sent)
                self._report()
                return
        raise CommandError(ReasonCode.NOT_FOUND, f"sequence {sequence} is not running")

    @command(3, sequence=String(MAX_NAME))
    def validate(self, sequence: str) -> None:
        """Check a sequence (CRC and dictionary) without running it; the result is an event."""
        seq = self._load_or_fail(sequence)
        self.emit(self.seq_valid, sequence, len(seq.steps), seq.duration_s, seq.crc32c)

    @command(4)
    def stop_all(self) -> None:
        """Stop every running sequence."""
        for engine, run in enumerate(self.slots):
            if run is not None:
                self.slots[engine] = None
                self.emit(self.seq_stopped, run.sequence.name, run.sent)
        self._report()
