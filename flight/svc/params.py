"""The parameter database: every component's parameters, kept in non-volatile storage.

The stored set is one msgpack map ``{"format": 1, "params": {global_id: value}}`` written with
`Storage.save` (new file, fsync, rename, fsync of the directory; CRC-32 checked on load), so power
loss at any instant leaves the old set or the new one. At boot (`restore`, before any component's
`init`) the database loads the stored set; a missing or corrupt file, or a value
that no longer fits its parameter's type and range, falls back to the default with a warning event.

Commands: `set` and `get` by global parameter ID, `save`, `load`, `reset_defaults`. A `set` takes
effect at once; it reaches storage with the next `save`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any, Final

import msgpack

from flight.runtime.component import Channel, Component, Event, Throttle, Update, command
from flight.runtime.errors import ArgumentError, CommandError, ConfigError, ReasonCode
from flight.runtime.records import Severity
from flight.runtime.registry import ParamEntry, Registry
from flight.runtime.types import SCALAR, U32, Enum, String
from hal.storage import Storage, StorageCorrupt, StorageError, StorageMissing, open_storage

FORMAT: Final = 1
DEFAULT_FILE: Final = "params.db"


class LoadStatus(IntEnum):
    DEFAULTS = 0  # nothing loaded yet, or reset to defaults
    LOADED = 1
    MISSING = 2
    CORRUPT = 3
    PARTIAL = 4  # loaded, but some values were rejected and defaulted


class ParameterDatabase(Component):
    """Owns the parameter values of every component and their stored copy."""

    count = Channel(1, U32, update=Update.ON_CHANGE, doc="parameters in the deployment")
    status = Channel(2, Enum(LoadStatus), update=Update.ON_CHANGE, doc="outcome of the last load")
    saves = Channel(3, U32, update=Update.ON_CHANGE, doc="successful saves since boot")
    sets = Channel(4, U32, update=Update.ON_CHANGE, doc="parameters set by command since boot")
    dirty = Channel(5, U32, update=Update.ON_CHANGE, doc="parameters changed since the last save")

    loaded = Event(1, Severity.ACTIVITY_HI, "loaded {count} parameters from {file}",
                   count=U32, file=String(64))
    missing = Event(2, Severity.WARNING_LO, "no stored parameters in {file}; using defaults",
                    file=String(64))
    corrupt = Event(3, Severity.WARNING_HI, "stored parameters in {file} are corrupt ({detail}); "
                                            "using defaults", file=String(64), detail=String(120))
    value_rejected = Event(4, Severity.WARNING_LO,
                           "stored value of {name} rejected ({detail}); using the default",
                           throttle=Throttle(20, 60.0), name=String(64), detail=String(120))
    unknown_id = Event(5, Severity.WARNING_LO, "stored parameter 0x{param_id:X} is not in this "
                                               "deployment; ignored",
                       throttle=Throttle(20, 60.0), param_id=U32)
    param_set = Event(6, Severity.ACTIVITY_HI, "{name} set to {value}", throttle=None,
                      name=String(64), value=String(64))
    param_value = Event(7, Severity.ACTIVITY_LO, "{name} = {value} (default {default})",
                        throttle=None, name=String(64), value=String(64), default=String(64))
    saved = Event(8, Severity.ACTIVITY_HI, "saved {count} parameters to {file}", throttle=None,
                  count=U32, file=String(64))
    reset = Event(9, Severity.ACTIVITY_HI, "all parameters reset to their defaults (not saved)",
                  throttle=None)
    storage_failed = Event(10, Severity.WARNING_HI, "parameter storage failed: {detail}",
                           throttle=Throttle(10, 60.0), detail=String(120))

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.file = DEFAULT_FILE
        self.storage: Storage | None = None
        self.entries: dict[int, ParamEntry] = {}
        self.load_status = LoadStatus.DEFAULTS
        self._saves = 0
        self._sets = 0
        self._dirty: set[int] = set()

    def configure(self, config: Mapping[str, Any]) -> None:
        for key, value in config.items():
            if key == "file":
                if type(value) is not str or not value or "/" in value:
                    raise ConfigError(key, f"{value!r} is not a plain file name")
                self.file = value
            else:
                raise ConfigError(key, "unknown setting (known: file)")

    def registry_ready(self, registry: Registry) -> None:
        self.entries = dict(registry.params)

    def restore(self) -> None:
        self.storage = open_storage(self.hardware("storage"))
        self.tlm(self.count, len(self.entries))
        self.load(notify=False)

    def init(self) -> None:
        self.tlm(self.status, self.load_status)

    # --- operations ------------------------------------------------------------------------

    def load(self, *, notify: bool = True) -> LoadStatus:
        """Replace every value by the stored one (defaults where there is none or it is bad)."""
        assert self.storage is not None
        stored: dict[int, Any] = {}
        status = LoadStatus.LOADED
        try:
            stored = self._decode(self.storage.load(self.file))
        except StorageMissing:
            status = LoadStatus.MISSING
            self.emit(self.missing, self.file)
        except (StorageCorrupt, ValueError) as exc:
            status = LoadStatus.CORRUPT
            self.emit(self.corrupt, self.file, _clip(str(exc)))
        except StorageError as exc:
            status = LoadStatus.CORRUPT
            self.emit(self.storage_failed, _clip(str(exc)))
        for pid in sorted(set(stored) - set(self.entries)):
            self.emit(self.unknown_id, pid)
        accepted = 0
        for pid, entry in self.entries.items():
            value = entry.param.default
            if pid in stored:
                try:
                    value = entry.param.type.check(stored[pid])
                    accepted += 1
                except ArgumentError as exc:
                    status = LoadStatus.PARTIAL
                    self.emit(self.value_rejected, entry.name, _clip(exc.detail))
            self._assign(entry, value, notify)
        if status in (LoadStatus.LOADED, LoadStatus.PARTIAL):
            self.emit(self.loaded, accepted, self.file)
        self._dirty.clear()
        self.tlm(self.dirty, 0)
        self.load_status = status
        self.tlm(self.status, status)
        return status

    def save(self) -> None:
        assert self.storage is not None
        values = {pid: e.component._param_values[e.param.id] for pid, e in self.entries.items()}
        self.storage.save(self.file, encode_parameters(values))
        self._saves += 1
        self._dirty.clear()
        self.tlm(self.saves, self._saves)
        self.tlm(self.dirty, 0)
        self.emit(self.saved, len(values), self.file)

    def set(self, param_id: int, value: Any) -> Any:
        entry = self._entry(param_id)
        checked = entry.param.type.check(value)
        self._assign(entry, checked, True)
        self._dirty.add(param_id)
        self._sets += 1
        self.tlm(self.sets, self._sets)
        self.tlm(self.dirty, len(self._dirty))
        self.emit(self.param_set, entry.name, _clip(repr(checked), 64))
        return checked

    def _entry(self, param_id: int) -> ParamEntry:
        entry = self.entries.get(param_id)
        if entry is None:
            raise CommandError(ReasonCode.NOT_FOUND, f"no parameter has ID 0x{param_id:X}")
        return entry

    @staticmethod
    def _assign(entry: ParamEntry, value: Any, notify: bool) -> None:
        comp = entry.component
        if comp._param_values.get(entry.param.id) == value and type(
            comp._param_values.get(entry.param.id)
        ) is type(value):
            return
        comp._param_values[entry.param.id] = value
        if notify:
            comp.param_changed(entry.param)

    @staticmethod
    def _decode(data: bytes) -> dict[int, Any]:
        try:
            body = msgpack.unpackb(data, raw=False, strict_map_key=False)
        except (ValueError, msgpack.UnpackException) as exc:
            raise ValueError(f"not msgpack: {exc}") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT or not isinstance(
            body.get("params"), dict
        ):
            raise ValueError(f"not a format-{FORMAT} parameter set")
        params = body["params"]
        if not all(type(k) is int for k in params):
            raise ValueError("parameter IDs are not integers")
        return params

    # --- commands --------------------------------------------------------------------------

    @command(1, param_id=U32, value=SCALAR)
    def set_param(self, param_id: int, value: Any) -> None:
        """Set a parameter (by global ID) to a value of its type, within its range."""
        self.set(param_id, value)

    @command(2, param_id=U32)
    def get_param(self, param_id: int) -> None:
        """Report a parameter's current and default values in an event."""
        entry = self._entry(param_id)
        current = entry.component._param_values[entry.param.id]
        self.emit(self.param_value, entry.name, _clip(repr(current), 64),
                  _clip(repr(entry.param.default), 64))

    @command(3)
    def save_params(self) -> None:
        """Write every current value to storage, atomically."""
        try:
            self.save()
        except OSError as exc:
            self.emit(self.storage_failed, _clip(str(exc)))
            raise CommandError(ReasonCode.STORAGE_ERROR, str(exc)) from None

    @command(4)
    def load_params(self) -> None:
        """Reload the stored values (defaults where missing or invalid)."""
        status = self.load()
        if status in (LoadStatus.MISSING, LoadStatus.CORRUPT):
            raise CommandError(ReasonCode.STORAGE_ERROR, f"load: {status.name}")

    @command(5)
    def reset_defaults(self) -> None:
        """Set every parameter to its default (storage keeps the old set until a save)."""
        for pid, entry in self.entries.items():
            self._assign(entry, entry.param.default, True)
            self._dirty.add(pid)
        self.load_status = LoadStatus.DEFAULTS
        self.tlm(self.status, LoadStatus.DEFAULTS)
        self.tlm(self.dirty, len(self._dirty))
        self.emit(self.reset)


def encode_parameters(values: Mapping[int, Any]) -> bytes:
    """The stored form of a parameter set (what `ParameterDatabase.save` writes)."""
    return msgpack.packb({"format": FORMAT, "params": {int(k): v for k, v in values.items()}})


def _clip(text: str, limit: int = 120) -> str:
    return text.encode()[:limit].decode(errors="ignore")
