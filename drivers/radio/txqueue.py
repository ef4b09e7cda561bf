"""The bounded transmit queue: frames wait here, highest priority first, until the pacer lets them
onto the serial line.

Bounds are a frame count and an octet count. When a new frame does not fit, the newest frames of
lower priority are evicted to make room (a command echo outranks a file chunk); if that is not
enough, the new frame is dropped instead and nothing is evicted. Within one priority the order is
first in, first out. Every drop and eviction is counted per priority.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

DEFAULT_MAX_FRAMES: Final = 64
DEFAULT_MAX_BYTES: Final = 64 * 1024


class Priority(IntEnum):
    """Lower value goes first."""

    REALTIME = 0  # command responses, real-time telemetry
    EVENTS = 1
    PLAYBACK = 2  # stored telemetry, file transfer


def _per_priority() -> list[int]:
    return [0] * len(Priority)


@dataclass(slots=True)
class TxQueueCounters:
    enqueued: list[int] = field(default_factory=_per_priority)
    dropped: list[int] = field(default_factory=_per_priority)
    evicted: list[int] = field(default_factory=_per_priority)

    @property
    def drops(self) -> int:
        """Frames that will never be sent: refused on arrival or evicted."""
        return sum(self.dropped) + sum(self.evicted)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            name: {p.name.lower(): values[p] for p in Priority}
            for name, values in (
                ("enqueued", self.enqueued),
                ("dropped", self.dropped),
                ("evicted", self.evicted),
            )
        }


class TxQueue:
    def __init__(
        self, max_frames: int = DEFAULT_MAX_FRAMES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        if max_frames < 1 or max_bytes < 1:
            raise ValueError(
                f"queue bounds must be positive (max_frames {max_frames}, max_bytes {max_bytes})"
            )
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.counters = TxQueueCounters()
        self._queues: tuple[deque[bytes], ...] = tuple(deque() for _ in Priority)
        self._frames = 0
        self._bytes = 0

    def __len__(self) -> int:
        return self._frames

    @property
    def octets(self) -> int:
        return self._bytes

    def depth(self, priority: Priority) -> int:
        return len(self._queues[priority])

    def push(self, frame: bytes, priority: Priority = Priority.REALTIME) -> bool:
        """Queue `frame`; False when it was dropped (counted)."""
        priority = Priority(priority)
        size = len(frame)
        counters = self.counters
        if size > self.max_bytes or not self._make_room(size, priority):
            counters.dropped[priority] += 1
            return False
        self._queues[priority].append(frame)
        self._frames += 1
        self._bytes += size
        counters.enqueued[priority] += 1
        return True

    def pop(self) -> bytes | None:
        """The next frame to send, or None when the queue is empty."""
        for queue in self._queues:
            if queue:
                frame = queue.popleft()
                self._frames -= 1
                self._bytes -= len(frame)
                return frame
        return None

    def clear(self) -> int:
        """Discard everything queued (not counted as drops); returns the frames discarded."""
        discarded = self._frames
        for queue in self._queues:
            queue.clear()
        self._frames = self._bytes = 0
        return discarded

    def _fits(self, size: int) -> bool:
        return self._frames < self.max_frames and self._bytes + size <= self.max_bytes

    def _make_room(self, size: int, priority: Priority) -> bool:
        if self._fits(size):
            return True
        # Would evicting every lower-priority frame be enough? If not, evict nothing.
        lower = self._queues[priority + 1 :]
        spare_frames = sum(len(q) for q in lower)
        spare_bytes = sum(len(f) for q in lower for f in q)
        if (
            self._frames - spare_frames >= self.max_frames
            or self._bytes - spare_bytes + size > self.max_bytes
        ):
            return False
        for level in range(len(Priority) - 1, priority, -1):
            queue = self._queues[level]
            while queue and not self._fits(size):
                victim = queue.pop()
                self._frames -= 1
                self._bytes -= len(victim)
                self.counters.evicted[level] += 1
            if self._fits(size):
                return True
        return self._fits(size)
