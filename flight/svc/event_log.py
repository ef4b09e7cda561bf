"""The onboard event log: every event kept in a bounded record log that survives restarts.

Each event is stored as msgpack ``[time, packed EventRecord]`` in a `hal.storage.RecordLog`; when
the log outgrows its size the oldest records go first and are counted. Appends are flushed (one
fsync) each cycle of the log's rate group, so a power cut loses at most one cycle of events. The
log also counts what event throttling suppressed, and can play its records back on command.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

import msgpack

from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Output,
    Throttle,
    Update,
    command,
    input_port,
)
from flight.runtime.errors import CommandError, ConfigError, DecodeError, ReasonCode
from flight.runtime.records import EventRecord, Severity
from flight.runtime.topics import EVENTS, EVENTS_SUPPRESSED
from flight.runtime.types import U32, String
from hal.storage import RecordLog, open_storage

DEFAULT_MAX_BYTES: Final = 256 * 1024


class EventLog(Component):
    """Stores every event; reports counts; plays stored events back on command."""

    logged = Channel(1, U32, update=Update.ON_CHANGE, doc="events logged since boot")
    retained = Channel(2, U32, update=Update.ON_CHANGE, doc="events held in the log")
    dropped = Channel(3, U32, update=Update.ON_CHANGE,
                      doc="events lost to the log's bound since it was created")
    suppressed = Channel(4, U32, update=Update.ON_CHANGE,
                         doc="events suppressed by throttling since boot")
    warnings = Channel(5, U32, update=Update.ON_CHANGE,
                       doc="events of severity warning or fatal since boot")
    torn = Channel(6, U32, update=Update.ON_CHANGE,
                   doc="log segments found with a torn tail at boot (power lost mid-write)")

    opened = Event(1, Severity.ACTIVITY_LO, "event log holds {count} records ({dropped} dropped, "
                                            "{torn} torn)", count=U32, dropped=U32, torn=U32)
    throttled = Event(2, Severity.WARNING_LO, "{count} occurrences of event 0x{event_id:X} "
                                              "suppressed by throttling",
                      throttle=Throttle(10, 60.0), event_id=U32, count=U32)
    cleared = Event(3, Severity.ACTIVITY_HI, "event log cleared", throttle=None)
    playback_done = Event(4, Severity.ACTIVITY_LO, "played back {count} events from seq {first}",
                          throttle=None, count=U32, first=U32)
    write_failed = Event(5, Severity.WARNING_HI, "event log write failed: {detail}",
                         throttle=Throttle(5, 60.0), detail=String(120))

    playback = Output("stored events played back on command (EventRecord)")

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.max_bytes = DEFAULT_MAX_BYTES
        self.file = "events"
        self.log: RecordLog | None = None
        self._logged = 0
        self._suppressed = 0
        self._warnings = 0
        self._failed = False

    def configure(self, config: Mapping[str, Any]) -> None:
        for key, value in config.items():
            if key == "max_bytes":
                if type(value) is not int or value < 4096:
                    raise ConfigError(key, f"{value!r} must be an integer of at least 4096")
                self.max_bytes = value
            elif key == "file":
                if type(value) is not str or not value.isidentifier():
                    raise ConfigError(key, f"{value!r} must be a plain name")
                self.file = value
            else:
                raise ConfigError(key, "unknown setting (known: max_bytes, file)")

    def init(self) -> None:
        storage = open_storage(self.hardware("storage"))
        self.log = storage.record_log(self.file, max_bytes=self.max_bytes)
        self.tlm(self.torn, self.log.torn)
        self._report()
        self.emit(self.opened, len(self.log), self.log.dropped, self.log.torn)

    @input_port(depth=256, policy="drop_oldest", topic=EVENTS)
    def events(self, record: EventRecord) -> None:
        if self.log is None:
            return
        try:
            self.log.append(msgpack.packb([record.time, record.pack()]))
        except OSError as exc:
            if not self._failed:
                self._failed = True
                self.emit(self.write_failed, str(exc)[:120])
            return
        self._logged += 1
        if record.severity >= Severity.WARNING_LO:
            self._warnings += 1

    @input_port(depth=64, policy="drop_oldest", topic=EVENTS_SUPPRESSED)
    def suppressions(self, report: tuple[int, int]) -> None:
        event_id, count = report
        self._suppressed += count
        self.emit(self.throttled, event_id, count)

    def cycle(self) -> None:
        if self.log is not None:
            try:
                self.log.flush()
            except OSError as exc:
                self.emit(self.write_failed, str(exc)[:120])
        self._report()

    def stop(self) -> None:
        if self.log is not None:
            self.log.flush()

    def _report(self) -> None:
        assert self.log is not None
        self.tlm(self.logged, self._logged)
        self.tlm(self.retained, len(self.log))
        self.tlm(self.dropped, self.log.dropped)
        self.tlm(self.suppressed, self._suppressed)
        self.tlm(self.warnings, self._warnings)

    def stored(self) -> Iterator[tuple[int, EventRecord]]:
        """(seq, record) of every stored event, oldest first; undecodable records are skipped."""
        assert self.log is not None
        for seq, raw in self.log.records():
            try:
                time, packed = msgpack.unpackb(raw, raw=False)
                yield seq, EventRecord.unpack(packed, float(time))
            except (ValueError, TypeError, DecodeError, msgpack.UnpackException):
                continue

    @command(1, first_seq=U32, max_count=U32(min=1, max=10000))
    def play_back(self, first_seq: int, max_count: int) -> None:
        """Send up to `max_count` stored events from sequence number `first_seq` on `playback`."""
        sent = 0
        for seq, record in self.stored():
            if seq < first_seq:
                continue
            if sent >= max_count or not self.playback.send(record):
                break
            sent += 1
        self.emit(self.playback_done, sent, first_seq)

    @command(2)
    def clear(self) -> None:
        """Delete every stored event."""
        if self.log is None:
            raise CommandError(ReasonCode.COMPONENT_UNAVAILABLE, "log not open")
        self.log.flush()
        self.log.clear()
        self._report()
        self.emit(self.cleared)
