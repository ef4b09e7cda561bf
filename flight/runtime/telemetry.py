"""The telemetry channel store: the latest value and time of every channel, by global channel ID.

Components write through `Component.tlm`; the housekeeping packetizer and any query read here.
A channel with the `on_change` policy keeps its time stamp while the written value is unchanged;
an `every_cycle` channel is re-stamped by every write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from flight.runtime.component import Update
from flight.runtime.records import TlmSample
from flight.runtime.types import FieldType

_ON_CHANGE: Final = Update.ON_CHANGE
_MISSING: Final = object()


@dataclass(frozen=True)
class ChannelInfo:
    channel_id: int
    name: str  # "instance.channel"
    type: FieldType
    unit: str
    update: Update


class TelemetryStore:
    def __init__(self) -> None:
        self._values: dict[int, Any] = {}
        self._times: dict[int, float] = {}
        self.info: dict[int, ChannelInfo] = {}
        self.by_name: dict[str, ChannelInfo] = {}

    def register(self, info: ChannelInfo) -> None:
        self.info[info.channel_id] = info
        self.by_name[info.name] = info
        self._values[info.channel_id] = info.type.zero()

    def write(self, channel_id: int, update: Update, value: Any, time: float) -> None:
        values = self._values
        if update is _ON_CHANGE and values.get(channel_id, _MISSING) == value and (
            channel_id in self._times
        ):
            return
        values[channel_id] = value
        self._times[channel_id] = time

    def tables(self) -> tuple[dict[int, Any], dict[int, float]]:
        """The live value and time tables, for `Component.tlm`, which writes them by the rule
        of `write` without the call."""
        return self._values, self._times

    def value(self, channel_id: int) -> Any:
        return self._values[channel_id]

    def time(self, channel_id: int) -> float | None:
        """When the channel was last updated; None if it never was."""
        return self._times.get(channel_id)

    def sample(self, channel_id: int) -> TlmSample:
        return TlmSample(channel_id, self._times.get(channel_id, 0.0), self._values[channel_id])

    def get(self, name: str) -> Any:
        """The latest value of channel ``"instance.channel"``."""
        try:
            return self._values[self.by_name[name].channel_id]
        except KeyError:
            raise KeyError(f"no telemetry channel {name!r}") from None

    def values_ref(self) -> dict[int, Any]:
        """The live value table (for the packetizer's hot path; read only)."""
        return self._values
