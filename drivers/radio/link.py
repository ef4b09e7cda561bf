"""Link statistics and link state, as plain attributes a component maps to telemetry and events.

The link is UP while good frames keep arriving and LOST once none has arrived for
`silence_timeout_s`; it starts UNKNOWN until the first good frame or the first timeout. Each change
is a `LinkTransition` handed to the `on_change` callback (the component raises its "link lost" and
"link recovered" events there) and counted. Only frames that decoded cleanly count as signs of
life: noise on the line does not keep a dead link UP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from hal.clock import Clock


class LinkState(IntEnum):
    UNKNOWN = 0
    UP = 1
    LOST = 2


@dataclass(frozen=True, slots=True)
class LinkTransition:
    previous: LinkState
    state: LinkState
    at: float
    #: Seconds without a good frame when the link was declared lost, or the gap it recovered from
    #: (None when no frame had ever been seen).
    silence_s: float | None

    @property
    def lost(self) -> bool:
        return self.state is LinkState.LOST

    @property
    def recovered(self) -> bool:
        return self.previous is LinkState.LOST and self.state is LinkState.UP


@dataclass(frozen=True, slots=True)
class RssiReport:
    """What a SiK radio reports in `ATI7`: filtered RSSI and noise of both ends of the link (raw
    Si1000 register units, 0-255), and its error counters since boot."""

    local_rssi: int
    remote_rssi: int
    local_noise: int
    remote_noise: int
    packets: int
    tx_errors: int
    rx_errors: int
    serial_tx_overflow: int
    serial_rx_overflow: int
    ecc_corrected: int
    ecc_packets: int
    temperature_c: int | None
    at: float

    @staticmethod
    def to_dbm(raw: int) -> float:
        """The Si1000 RSSI register in dBm (SiK documentation: dBm = raw / 1.9 - 127)."""
        return raw / 1.9 - 127.0

    @property
    def local_dbm(self) -> float:
        return self.to_dbm(self.local_rssi)

    @property
    def remote_dbm(self) -> float:
        return self.to_dbm(self.remote_rssi)


@dataclass(slots=True)
class LinkStats:
    """Counters since start. `crc_failures` are frames the link layer found damaged: CADUs whose
    Reed-Solomon decoding failed (transparent mode) or KISS frames rejected (KISS mode, where the
    TNC drops FCS failures itself and the host sees only what the serial line damaged)."""

    frames_in: int = 0
    frames_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    crc_failures: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    tx_aborted: int = 0
    port_errors: int = 0
    rssi: RssiReport | None = None

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1


class LinkMonitor:
    def __init__(
        self,
        clock: Clock,
        silence_timeout_s: float,
        on_change: Callable[[LinkTransition], None] | None = None,
    ) -> None:
        if not silence_timeout_s > 0:
            raise ValueError(f"silence timeout must be positive, got {silence_timeout_s} s")
        self._clock = clock
        self.silence_timeout_s = silence_timeout_s
        self.on_change = on_change
        self.state = LinkState.UNKNOWN
        self.last_frame_at: float | None = None
        self.losses = 0
        self.recoveries = 0
        self.last_transition: LinkTransition | None = None
        self._since = clock.monotonic()

    def frame_received(self) -> None:
        now = self._clock.monotonic()
        previous = self.last_frame_at
        self.last_frame_at = now
        if self.state is not LinkState.UP:
            gap = None if previous is None else now - previous
            if self.state is LinkState.LOST:
                self.recoveries += 1
            self._change(LinkState.UP, now, gap)

    def check(self) -> None:
        """Declare the link lost once the silence has lasted the timeout."""
        if self.state is LinkState.LOST:
            return
        now = self._clock.monotonic()
        reference = self._since if self.last_frame_at is None else self.last_frame_at
        if now - reference >= self.silence_timeout_s:
            self.losses += 1
            self._change(LinkState.LOST, now, now - reference)

    @property
    def lost_at(self) -> float:
        """When `check` will declare the link lost if nothing arrives (the next deadline)."""
        reference = self._since if self.last_frame_at is None else self.last_frame_at
        return reference + self.silence_timeout_s

    def _change(self, state: LinkState, now: float, silence: float | None) -> None:
        transition = LinkTransition(self.state, state, now, silence)
        self.state = state
        self.last_transition = transition
        if self.on_change is not None:
            self.on_change(transition)
