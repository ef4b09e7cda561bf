"""The radio channel between the satellite and one ground station, on simulated time, I/O-free.

Bytes handed to `send(source, t, data)` leave the transmitter one after another at the air rate
(each direction has its own transmitter: full duplex, as with separate up- and downlink
frequencies); a transmission that arrives while the transmitter is busy waits its turn. A byte
is carried only if it is sent while the station sees the satellite (its elevation above the
station's mask: the `PassSchedule`), otherwise it is dropped and counted. A carried byte arrives
one byte-time plus the light time (range / c) after it was sent, with bit errors drawn from the
link budget's bit error rate at the range of that moment (a seeded generator; the range is
re-evaluated every second of air time). The emulator moves the results to pseudo-terminals: it
calls `deliveries(t)` (or `receive(dest, t)`) as its clock advances, and `next_arrival()` says
when the next chunk is due.

Framing overhead of the radio itself (preambles, HDLC flags, bit stuffing) is not modelled: the
air rate counts the bytes handed to the radio.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final

from flight.sim.errors import SimError
from flight.sim.frames import SPEED_OF_LIGHT_M_S
from flight.sim.linkbudget import UHF_DOWNLINK, UHF_UPLINK, LinkBudget
from flight.sim.orbit import Orbit
from flight.sim.stations import GroundStation, PassSchedule
from flight.sim.timebase import TimeBase

BER_UPDATE_S: Final = 1.0


class Endpoint(StrEnum):
    SPACE = "space"
    GROUND = "ground"

    @property
    def other(self) -> Endpoint:
        return Endpoint.GROUND if self is Endpoint.SPACE else Endpoint.SPACE


@dataclass(frozen=True, slots=True)
class Delivery:
    """Bytes that reach `dest` at simulated time `t` (the last byte's arrival)."""

    dest: Endpoint
    t: float
    data: bytes
    sent_at: float
    range_m: float
    bit_errors: int


@dataclass
class DirectionStats:
    bytes_sent: int = 0
    bytes_delivered: int = 0
    bytes_dropped: int = 0
    bit_errors: int = 0
    chunks_delivered: int = 0


@dataclass(frozen=True, slots=True)
class LinkState:
    """The link at one instant, for status displays."""

    in_view: bool
    elevation_deg: float
    range_m: float
    latency_s: float
    downlink_ebn0_db: float
    downlink_ber: float
    uplink_ebn0_db: float
    uplink_ber: float


@dataclass(order=True)
class _Queued:
    t: float
    seq: int
    delivery: Delivery = field(compare=False)


def flip_bits(data: bytearray, ber: float, rng: random.Random) -> int:
    """Flip each bit of `data` with probability `ber`; returns the number flipped. Error positions
    are drawn as geometric gaps, so a clean link costs one random draw per call."""
    if ber <= 0.0:
        return 0
    log_q = math.log1p(-min(ber, 0.5))
    if log_q == 0.0:  # a rate too small to be told from zero
        return 0
    nbits = len(data) * 8
    pos, flips = -1, 0
    while True:
        gap = math.log1p(-rng.random()) / log_q  # clean bits before the next error (may be inf)
        if gap >= nbits - 1 - pos:
            return flips
        pos += 1 + int(gap)
        data[pos >> 3] ^= 0x80 >> (pos & 7)
        flips += 1


class RadioChannel:
    """Satellite <-> `station` radio link over `orbit`, on the simulated seconds of `timebase`."""

    def __init__(self, orbit: Orbit, station: GroundStation, timebase: TimeBase, *,
                 air_rate_bps: float = 9600.0, downlink: LinkBudget = UHF_DOWNLINK,
                 uplink: LinkBudget = UHF_UPLINK, seed: int = 0,
                 schedule: PassSchedule | None = None) -> None:
        if not (air_rate_bps > 0 and math.isfinite(air_rate_bps)):
            raise SimError(f"air rate {air_rate_bps} bit/s must be positive")
        self.orbit = orbit
        self.station = station
        self.timebase = timebase
        self.air_rate_bps = float(air_rate_bps)
        self.budgets = {Endpoint.SPACE: replace(downlink, bit_rate_bps=air_rate_bps),
                        Endpoint.GROUND: replace(uplink, bit_rate_bps=air_rate_bps)}
        self.schedule = schedule or PassSchedule(orbit, station, timebase)
        self.stats = {Endpoint.SPACE: DirectionStats(), Endpoint.GROUND: DirectionStats()}
        self._rng = random.Random(f"{seed}/radio/{station.name}")
        self._tx_free = {Endpoint.SPACE: -math.inf, Endpoint.GROUND: -math.inf}
        self._queues: dict[Endpoint, list[_Queued]] = {Endpoint.SPACE: [], Endpoint.GROUND: []}
        self._seq = 0

    @property
    def byte_time_s(self) -> float:
        return 8.0 / self.air_rate_bps

    def range_m(self, t: float) -> float:
        r, _ = self.orbit.ecef_jd(*self.timebase.jd(t), self.timebase.dut1_s)
        return self.station.look(r).range_m

    def state(self, t: float) -> LinkState:
        r, v = self.orbit.ecef_jd(*self.timebase.jd(t), self.timebase.dut1_s)
        look = self.station.look(r, v)
        down, up = self.budgets[Endpoint.SPACE], self.budgets[Endpoint.GROUND]
        return LinkState(self.schedule.in_view(t), look.elevation_deg, look.range_m,
                         look.range_m / SPEED_OF_LIGHT_M_S, down.ebn0_db(look.range_m),
                         down.ber(look.range_m), up.ebn0_db(look.range_m), up.ber(look.range_m))

    def send(self, source: Endpoint, t: float, data: bytes) -> float:
        """Transmit `data` from `source` at `t`; returns when its last byte has left."""
        source = Endpoint(source)
        if not data:
            return max(t, self._tx_free[source])
        bt = self.byte_time_s
        start = max(t, self._tx_free[source])
        end = start + len(data) * bt
        self._tx_free[source] = end
        stats = self.stats[source]
        stats.bytes_sent += len(data)
        carried = 0
        for p in self.schedule.passes(start, end):
            first = max(0, math.ceil((p.aos - start) / bt - 1e-9))
            last = min(len(data), math.ceil((p.los - start) / bt - 1e-9))
            if first < last:
                self._carry(source, start, first, data[first:last])
                carried += last - first
        stats.bytes_dropped += len(data) - carried
        return end

    def _carry(self, source: Endpoint, start: float, offset: int, run: bytes) -> None:
        """Deliver a run of bytes sent in view (byte `offset` of a send that started at `start`)."""
        bt = self.byte_time_s
        block = max(1, int(BER_UPDATE_S / bt))
        budget = self.budgets[source]
        stats = self.stats[source]
        dest = source.other
        for i in range(0, len(run), block):
            chunk = bytearray(run[i:i + block])
            sent = start + (offset + i) * bt
            done = sent + len(chunk) * bt
            rng_m = self.range_m(0.5 * (sent + done))
            errors = flip_bits(chunk, budget.ber(rng_m), self._rng)
            delivery = Delivery(dest, done + rng_m / SPEED_OF_LIGHT_M_S, bytes(chunk), sent,
                                rng_m, errors)
            stats.bytes_delivered += len(chunk)
            stats.bit_errors += errors
            stats.chunks_delivered += 1
            self._seq += 1
            heapq.heappush(self._queues[dest], _Queued(delivery.t, self._seq, delivery))

    def next_arrival(self, dest: Endpoint | None = None) -> float | None:
        """When the next queued chunk arrives (at `dest`, or at either end)."""
        ends = (dest,) if dest is not None else tuple(Endpoint)
        times = [self._queues[e][0].t for e in ends if self._queues[e]]
        return min(times) if times else None

    def deliveries(self, t: float, dest: Endpoint | None = None) -> list[Delivery]:
        """Every chunk that has arrived by `t` (at `dest`, or at either end), in arrival order."""
        out: list[Delivery] = []
        for e in (dest,) if dest is not None else tuple(Endpoint):
            q = self._queues[e]
            while q and q[0].t <= t:
                out.append(heapq.heappop(q).delivery)
        out.sort(key=lambda d: d.t)
        return out

    def receive(self, dest: Endpoint, t: float) -> bytes:
        """The bytes that have arrived at `dest` by `t`, joined."""
        return b"".join(d.data for d in self.deliveries(t, dest))
