"""Simulated serial links: two connected UARTs on the injected clock, faithful enough that a driver
cannot tell them from a cable.

The model, one direction of a link (a `SimLine`) at a time:

- **Timing.** A write queues octets in the sender's transmit FIFO (`tx_buffer_size`); the line
  carries them one after another, each taking one character time (start + data + parity + stop
  bits over the baud rate: 10 bits for 8N1). An octet arrives when its last bit has. A full FIFO
  blocks the writer on the clock, up to `write_timeout`.
- **Receiving.** Arrived octets wait in the receiver's RX buffer (`rx_buffer_size`). An octet that
  arrives while it is full is lost and counted as an overrun, as in a UART whose driver did not keep
  up. A blocking read drains the buffer as it waits, as a driver's read loop does.
- **Format.** Octets arriving at a receiver whose baud rate or framing differs from the sender's
  come out as garbage (seeded) and are counted as framing errors.
- **Faults** (per direction, deterministic for a given seed): a bit error rate on data bits, a drop
  rate per octet, bit flips or drops at given octet positions of the stream, and disconnection of
  the whole link (octets on the wire are lost until it is reconnected). A dropped octet still takes
  its time on the line.
- **Break.** `send_break` holds the line for the duration; the receiver reads one NUL octet, as a
  Linux tty does by default, and counts a break.

Nothing runs in the background: each operation first settles the lines up to `clock.monotonic()`,
which gives exactly what continuous operation would have given, because a receive buffer only
fills between two operations. Every written octet is accounted for in `LineStats`.

A read with `timeout=None` on a silent line waits for a write from another thread: on a `SimClock`
with a single thread that wait never ends, as it would not on a silent cable, so simulations give
their reads a timeout. A reader that may block on the clock (any thread on a real clock, a worker
thread on a `SimClock`) waits on a silent line with the clock's `wait_for` until the far end writes
(a write, break or close calls the clock's `notify` when such a reader waits), the timeout passes
or the port is closed, so an idle reader costs nothing per simulated millisecond; other threads
poll every `_POLL_S`. Closing the port from another thread ends a waiting read with
`PortNotOpenError`.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, urlsplit

from hal.clock import Clock
from hal.serial.base import (
    PortNotOpenError,
    SerialError,
    SerialPort,
    SerialSettings,
    SerialTimeoutError,
    SerialURLError,
)

DEFAULT_RX_BUFFER: Final[int] = 4096
DEFAULT_TX_BUFFER: Final[int] = 4096
#: Longest a waiting read sleeps before looking for writes from another thread, where it cannot
#: wait on the clock for them.
_POLL_S: Final[float] = 1e-3
_NO_DROPS: Final[frozenset[int]] = frozenset()
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass
class LineStats:
    """Counters of one direction. Every written octet ends in exactly one of delivered, dropped,
    overruns, lost_disconnected, lost_port_closed, discarded, or is still pending."""

    bytes_sent: int = 0
    bytes_delivered: int = 0
    bytes_dropped: int = 0
    overruns: int = 0
    lost_disconnected: int = 0
    lost_port_closed: int = 0
    discarded: int = 0
    bits_flipped: int = 0
    bytes_corrupted: int = 0
    framing_errors: int = 0
    breaks: int = 0


@dataclass(slots=True)
class _Chunk:
    """Octets queued by one write: octet i arrives at t0 + (i + 1) * char_time."""

    t0: float
    char_time: float
    data: bytes
    frame: tuple[object, ...] | None  # the sender's frame format; None marks a break
    drops: frozenset[int]
    done: int = 0  # octets already handed to the receiver side
    lost_from: int | None = None  # octets from this index on were on the wire when the link dropped

    def arrival(self, i: int) -> float:
        return self.t0 + (i + 1) * self.char_time

    def arrived(self, now: float) -> int:
        """How many octets have arrived by `now`, consistent with `arrival()` to the last bit."""
        n = len(self.data)
        t0, char_time = self.t0, self.char_time
        k = min(n, max(0, math.floor((now - t0) / char_time)))
        while k < n and t0 + (k + 1) * char_time <= now:  # arrival(k)
            k += 1
        while k > 0 and t0 + k * char_time > now:  # arrival(k - 1)
            k -= 1
        return k


def _geometric_gap(rng: random.Random, p: float) -> int:
    """Trials before the next success at probability p (skips straight to the next fault)."""
    if p >= 1.0:
        return 0
    return math.floor(math.log(1.0 - rng.random()) / math.log(1.0 - p))


def _check_rate(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


class SimLine:
    """One direction of a simulated link, from `sender` to `receiver`, with its faults and stats."""

    def __init__(
        self, name: str, seed: int, sender: SimSerialPort, receiver: SimSerialPort
    ) -> None:
        self.name = name
        self.sender = sender
        self.receiver = receiver
        self.stats = LineStats()
        self._rng = random.Random(f"{seed}/{name}")
        self._bit_error_rate = 0.0
        self._drop_rate = 0.0
        self._next_bit_error = math.inf  # absolute data-bit index of the next random bit error
        self._next_drop = math.inf  # absolute octet index of the next random drop
        self._flips: dict[int, int] = {}
        self._drops: set[int] = set()
        self._chunks: deque[_Chunk] = deque()
        self._pending = 0  # octets of the queued chunks not yet handed to the receiver side
        self._busy_until = -math.inf
        self.writes = 0  # chunks queued so far: what a waiting reader watches for

    @property
    def position(self) -> int:
        """Octets written into this line so far: the index the next written octet will have."""
        return self.stats.bytes_sent

    @property
    def bit_error_rate(self) -> float:
        return self._bit_error_rate

    @bit_error_rate.setter
    def bit_error_rate(self, value: float) -> None:
        self._bit_error_rate = _check_rate("bit_error_rate", value)
        self._next_bit_error = (
            self.position * 8 + _geometric_gap(self._rng, value) if value > 0 else math.inf
        )

    @property
    def drop_rate(self) -> float:
        return self._drop_rate

    @drop_rate.setter
    def drop_rate(self, value: float) -> None:
        self._drop_rate = _check_rate("drop_rate", value)
        self._next_drop = (
            self.position + _geometric_gap(self._rng, value) if value > 0 else math.inf
        )

    def flip_bits(self, octet_index: int, mask: int = 0x01) -> None:
        """XOR `mask` into the octet at `octet_index` of this direction's stream when it is sent."""
        if octet_index < self.position:
            raise ValueError(f"octet {octet_index} was already sent (position {self.position})")
        if not 0 < mask <= 0xFF:
            raise ValueError(f"bit mask must be 1..255, got {mask}")
        self._flips[octet_index] = self._flips.get(octet_index, 0) ^ mask

    def drop_octet(self, octet_index: int) -> None:
        """Lose the octet at `octet_index` of this direction's stream."""
        if octet_index < self.position:
            raise ValueError(f"octet {octet_index} was already sent (position {self.position})")
        self._drops.add(octet_index)

    # -- used by the ports, under the link's lock -----------------------------------------------

    def pending(self) -> int:
        return self._pending

    def next_arrivals(self, count: int) -> float | None:
        """When the `count`-th octet still on its way arrives (None if fewer are under way)."""
        for c in self._chunks:
            left = len(c.data) - c.done
            if count <= left:
                return c.arrival(c.done + count - 1)
            count -= left
        return None

    def busy_until(self) -> float:
        return self._busy_until

    def transmit(
        self, data: bytes, now: float, char_time: float, frame: tuple[object, ...], connected: bool
    ) -> None:
        base, n = self.position, len(data)
        if (
            not self._flips
            and not self._drops
            and self._next_bit_error >= (base + n) * 8
            and self._next_drop >= base + n
        ):  # no fault falls in this write: the octets go as they are
            self.stats.bytes_sent += n
            self._enqueue(
                _Chunk(max(now, self._busy_until), char_time, data, frame, _NO_DROPS), connected
            )
            return
        octets = bytearray(data)
        corrupted: set[int] = set()
        for index in [i for i in self._flips if base <= i < base + n]:
            mask = self._flips.pop(index)
            octets[index - base] ^= mask
            self.stats.bits_flipped += mask.bit_count()
            corrupted.add(index - base)
        end_bit = (base + n) * 8
        while self._next_bit_error < end_bit:
            bit = int(self._next_bit_error)
            octets[bit // 8 - base] ^= 1 << (bit % 8)
            self.stats.bits_flipped += 1
            corrupted.add(bit // 8 - base)
            self._next_bit_error = bit + 1 + _geometric_gap(self._rng, self._bit_error_rate)
        scheduled = {i for i in self._drops if base <= i < base + n}
        self._drops -= scheduled
        drops = {i - base for i in scheduled}
        while self._next_drop < base + n:
            index = int(self._next_drop)
            drops.add(index - base)
            self._next_drop = index + 1 + _geometric_gap(self._rng, self._drop_rate)
        self.stats.bytes_corrupted += len(corrupted)
        self.stats.bytes_dropped += len(drops)
        self.stats.bytes_sent += n
        self._enqueue(
            _Chunk(max(now, self._busy_until), char_time, bytes(octets), frame, frozenset(drops)),
            connected,
        )

    def transmit_break(self, now: float, duration: float, connected: bool) -> None:
        self._enqueue(
            _Chunk(max(now, self._busy_until), duration, b"\x00", None, _NO_DROPS), connected
        )

    def _enqueue(self, chunk: _Chunk, connected: bool) -> None:
        if not connected:
            chunk.lost_from = 0
        self._chunks.append(chunk)
        self._pending += len(chunk.data)
        self._busy_until = chunk.arrival(len(chunk.data) - 1)
        self.writes += 1

    def settle(self, now: float) -> None:
        chunks = self._chunks
        while chunks:
            chunk = chunks[0]
            k = chunk.arrived(now)
            if k > chunk.done:
                self._pending -= k - chunk.done
                self._deliver(chunk, chunk.done, k)
                chunk.done = k
            if chunk.done < len(chunk.data):
                return
            chunks.popleft()

    def _deliver(self, chunk: _Chunk, start: int, stop: int) -> None:
        if chunk.lost_from is None and not chunk.drops and chunk.frame is not None:
            # no fault in this chunk (the common case): the octets as written
            if not self.receiver.is_open:
                self.stats.lost_port_closed += stop - start
                return
            data = chunk.data
            self._hand_over(chunk, data if start == 0 and stop == len(data) else data[start:stop])
            return
        live_stop = stop if chunk.lost_from is None else max(start, min(stop, chunk.lost_from))
        if chunk.frame is None:
            if live_stop > start and self.receiver.is_open:
                self.stats.breaks += 1
                self.receiver.receive(b"\x00")
            return
        dropped = sum(1 for i in chunk.drops if start <= i < stop)
        lost = sum(1 for i in range(live_stop, stop) if i not in chunk.drops)
        self.stats.lost_disconnected += lost
        octets = (
            bytes(chunk.data[i] for i in range(start, live_stop) if i not in chunk.drops)
            if dropped
            else chunk.data[start:live_stop]
        )
        if not octets:
            return
        if not self.receiver.is_open:
            self.stats.lost_port_closed += len(octets)
            return
        self._hand_over(chunk, octets)

    def _hand_over(self, chunk: _Chunk, octets: bytes) -> None:
        """Put arrived octets in the open receiver's buffer, garbled if the formats differ."""
        if chunk.frame != self.receiver.settings.frame_format:
            self.stats.framing_errors += len(octets)
            octets = self._rng.randbytes(len(octets))
        accepted = self.receiver.receive(octets)
        self.stats.bytes_delivered += accepted
        self.stats.overruns += len(octets) - accepted

    def disconnect(self) -> None:
        for chunk in self._chunks:
            chunk.lost_from = (
                chunk.done if chunk.lost_from is None else min(chunk.lost_from, chunk.done)
            )

    def discard_pending(self, now: float) -> None:
        """Drop what the sender has queued: the octet on the wire finishes, the rest never goes."""
        for chunk in self._chunks:
            on_wire = chunk.done < len(chunk.data) and chunk.t0 <= now
            keep = chunk.done + on_wire
            if chunk.frame is not None:
                self.stats.discarded += sum(
                    1 for i in range(keep, len(chunk.data)) if i not in chunk.drops
                )
            self._pending -= len(chunk.data) - keep
            chunk.data = chunk.data[:keep]
        while self._chunks and len(self._chunks[-1].data) == self._chunks[-1].done:
            self._chunks.pop()
        self._busy_until = max(
            (c.arrival(len(c.data) - 1) for c in self._chunks if c.data), default=now
        )


class SimSerialPort(SerialPort):
    """One end of a `SimSerialLink`; get it from the link (or a hub), not by constructing it."""

    def __init__(self, link: SimSerialLink, end: str, rx_buffer_size: int) -> None:
        super().__init__(f"sim://{link.name}?end={end}")
        self.link = link
        self.end = end
        self.rx_buffer_size = rx_buffer_size
        self._rx = bytearray()
        self._clock_waits = 0  # reads of this port waiting on the clock (under the link's lock)
        self.tx: SimLine
        self.rx: SimLine

    @property
    def clock(self) -> Clock:
        return self.link.clock

    def receive(self, octets: bytes) -> int:
        """Called by the incoming line: store what fits, return how many octets fitted."""
        room = self.rx_buffer_size - len(self._rx)
        self._rx += octets[:room]
        return min(room, len(octets))

    def _open_port(self) -> None:
        with self.link.lock:
            self.link.settle_locked()
            self._rx.clear()

    def _close_port(self) -> None:
        with self.link.lock:
            self.link.settle_locked()
            self._rx.clear()
            waiting = self._clock_waits
        if waiting:
            self._notify()

    def _apply(self, settings: SerialSettings) -> None:
        with self.link.lock:
            self.link.settle_locked()

    def _take(self, n: int) -> bytes:
        out = bytes(self._rx[:n])
        del self._rx[:n]
        return out

    def _notify(self) -> None:
        """Tell readers waiting on the clock (at the other end, or a closed one here) to look;
        called only when one waits (`_clock_waits`), since a notify costs a barrier settle."""
        notify = getattr(self.link.clock, "notify", None)
        if notify is not None:
            notify()

    def _wait(self, writes: int | None, wake: float | None) -> bool:
        """Wait on the clock until `wake`, this port closes or, with `writes` given, the far end
        writes; False when this thread cannot block on the clock (a `SimClock` blocks only its
        worker threads), which then sleeps instead."""
        wait_for = getattr(self.link.clock, "wait_for", None)
        if wait_for is None:
            return False
        line = self.rx

        def woken() -> bool:
            return not self._is_open or (writes is not None and line.writes != writes)

        try:
            wait_for(woken, wake)
        except RuntimeError:  # SimClock.wait_for outside a worker thread, raised before waiting
            return False
        return True

    def _read(self, size: int, timeout: float | None) -> bytes:
        clock = self.link.clock
        deadline = None if timeout is None else clock.monotonic() + timeout
        got = bytearray()
        while True:
            writes = None  # the far end's write count, when waiting for it to write
            with self.link.lock:
                if not self._is_open:  # closed by another thread while this one waited
                    raise PortNotOpenError(self.name)
                self.link.settle_locked()
                got += self._take(size - len(got))
                if len(got) == size:
                    return bytes(got)
                now = clock.monotonic()
                if deadline is not None and now >= deadline:
                    return bytes(got)
                # Octets arrive in order, so sleeping until the last one wanted (or the last one
                # under way) misses nothing; the RX buffer cannot overflow meanwhile.
                under_way = self.rx.pending()
                if under_way:
                    wanted = min(size - len(got), self.rx_buffer_size, under_way)
                    wake = self.rx.next_arrivals(wanted)
                    assert wake is not None
                else:
                    writes = self.rx.writes
                    wake = now + max(_POLL_S, self.settings.character_time_s)
                if deadline is not None:
                    wake = min(wake, deadline)
                self._clock_waits += 1
            try:
                if not self._wait(writes, wake if writes is None else deadline):
                    clock.sleep_until(wake)
            finally:
                with self.link.lock:
                    self._clock_waits -= 1

    def _write(self, data: bytes, timeout: float | None) -> int:
        clock = self.link.clock
        deadline = None if timeout is None else clock.monotonic() + timeout
        sent = 0
        far = self.tx.receiver
        waiting = 0  # readers of the far end waiting on the clock when we last wrote
        try:
            while True:
                with self.link.lock:
                    self.link.settle_locked()
                    now = clock.monotonic()
                    room = self.link.tx_buffer_size - self.tx.pending()
                    if room > 0:
                        piece = data[sent : sent + room] if sent or room < len(data) else data
                        settings = self._settings
                        self.tx.transmit(piece, now, settings.character_time_s,
                                         settings.frame_format, self.link.connected)
                        sent += len(piece)
                        waiting = far._clock_waits
                        if sent == len(data):
                            return sent
                        continue
                    if deadline is not None and now >= deadline:
                        raise SerialTimeoutError(self.name, sent, len(data), timeout)
                    wake = self.tx.next_arrivals(1)
                    assert wake is not None, "a full transmit FIFO has an octet under way"
                    if deadline is not None:
                        wake = min(wake, deadline)
                if waiting:
                    self._notify()
                    waiting = 0
                clock.sleep_until(wake)
        finally:
            if waiting:
                self._notify()

    def _flush(self) -> None:
        with self.link.lock:
            until = self.tx.busy_until()
        self.link.clock.sleep_until(until)
        with self.link.lock:
            self.link.settle_locked()

    def _in_waiting(self) -> int:
        with self.link.lock:
            self.link.settle_locked()
            return len(self._rx)

    def _out_waiting(self) -> int:
        with self.link.lock:
            self.link.settle_locked()
            return self.tx.pending()

    def _reset_input(self) -> None:
        with self.link.lock:
            self.link.settle_locked()
            self._rx.clear()

    def _reset_output(self) -> None:
        with self.link.lock:
            self.link.settle_locked()
            self.tx.discard_pending(self.link.clock.monotonic())

    def _send_break(self, duration: float) -> None:
        with self.link.lock:
            self.link.settle_locked()
            self.tx.transmit_break(self.link.clock.monotonic(), duration, self.link.connected)
            until = self.tx.busy_until()
            waiting = self.tx.receiver._clock_waits
        if waiting:
            self._notify()
        self.link.clock.sleep_until(until)


class SimSerialLink:
    """A cable between two simulated UARTs, `a` and `b`, with a line each way (`a_to_b`,
    `b_to_a`) that carries the timing, the faults and the counters."""

    def __init__(
        self,
        clock: Clock,
        *,
        name: str = "link",
        seed: int = 0,
        rx_buffer_size: int = DEFAULT_RX_BUFFER,
        tx_buffer_size: int = DEFAULT_TX_BUFFER,
    ) -> None:
        if rx_buffer_size < 1 or tx_buffer_size < 1:
            raise ValueError(
                f"buffer sizes must be positive (rx {rx_buffer_size}, tx {tx_buffer_size})"
            )
        self.clock = clock
        self.name = name
        self.tx_buffer_size = tx_buffer_size
        self.lock = threading.RLock()
        self.connected = True
        self._settled_at: float | None = None  # both lines are settled up to this instant
        self.a = SimSerialPort(self, "a", rx_buffer_size)
        self.b = SimSerialPort(self, "b", rx_buffer_size)
        self.a_to_b = SimLine(f"{name}:a->b", seed, self.a, self.b)
        self.b_to_a = SimLine(f"{name}:b->a", seed, self.b, self.a)
        self.a.tx, self.a.rx = self.a_to_b, self.b_to_a
        self.b.tx, self.b.rx = self.b_to_a, self.a_to_b

    def end(self, end: str) -> SimSerialPort:
        if end == "a":
            return self.a
        if end == "b":
            return self.b
        raise ValueError(f"a simulated link has ends 'a' and 'b', not {end!r}")

    def settle(self) -> None:
        """Deliver what has arrived by now."""
        with self.lock:
            self.settle_locked()

    def settle_locked(self) -> None:
        """`settle` for a caller that holds `lock`. Settling twice at one instant changes nothing
        (a write at an instant arrives after it), so the lines are only walked when time has
        moved."""
        now = self.clock.monotonic()
        if now != self._settled_at:
            self._settled_at = now
            self.a_to_b.settle(now)
            self.b_to_a.settle(now)

    def disconnect(self) -> None:
        """Cut the cable: octets on the wire and written from now on are lost."""
        with self.lock:
            self.settle()
            self.connected = False
            self.a_to_b.disconnect()
            self.b_to_a.disconnect()

    def reconnect(self) -> None:
        with self.lock:
            self.settle()
            self.connected = True


class SimSerialHub:
    """Named simulated links, the backend of `sim://NAME[?end=a|b]` URLs.

    The flight side conventionally opens end `a` (the default) and the simulated device end `b`.
    Register it in a `SerialRegistry` under "sim"; each link runs on the clock it is first opened
    with, and all links of a hub draw their faults from one seed.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        rx_buffer_size: int = DEFAULT_RX_BUFFER,
        tx_buffer_size: int = DEFAULT_TX_BUFFER,
    ) -> None:
        self.seed = seed
        self.rx_buffer_size = rx_buffer_size
        self.tx_buffer_size = tx_buffer_size
        self._links: dict[str, SimSerialLink] = {}

    def link(self, name: str, clock: Clock | None = None) -> SimSerialLink:
        """The link called `name`, created on `clock` if it does not exist yet."""
        if not _NAME.fullmatch(name):
            raise SerialURLError(f"sim://{name}", "link names use letters, digits, '_', '.', '-'")
        existing = self._links.get(name)
        if existing is not None:
            if clock is not None and clock is not existing.clock:
                raise SerialURLError(f"sim://{name}", "the link already runs on another clock")
            return existing
        if clock is None:
            raise SerialURLError(f"sim://{name}", "a simulated link needs the clock: pass clock=")
        created = SimSerialLink(
            clock,
            name=name,
            seed=self.seed,
            rx_buffer_size=self.rx_buffer_size,
            tx_buffer_size=self.tx_buffer_size,
        )
        self._links[name] = created
        return created

    def create_port(self, url: str, clock: Clock | None, settings: SerialSettings) -> SerialPort:
        parts = urlsplit(url)
        if parts.path not in ("", "/"):
            raise SerialURLError(url, "expected sim://NAME[?end=a|b]")
        try:
            query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        except ValueError as exc:
            raise SerialURLError(url, f"bad query: {exc}") from None
        unknown = set(query) - {"end"}
        if unknown:
            raise SerialURLError(url, f"unknown option {sorted(unknown)[0]!r} (known: end)")
        end = query.get("end", ["a"])[-1]
        if end not in ("a", "b"):
            raise SerialURLError(url, f"end must be 'a' or 'b', not {end!r}")
        port = self.link(parts.netloc, clock).end(end)
        if port.is_open:
            raise SerialError(f"serial port {url} is busy: that end is already open")
        port.configure(**dataclasses.asdict(settings))
        return port
