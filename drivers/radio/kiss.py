"""KISS TNC framing (Chepponis & Karn, "The KISS TNC: A simple Host-to-TNC communications
protocol", 1987/1990).

A frame on the host-TNC line is FEND, a type octet (port in the high nibble, command in the low
nibble; 0 = data), the escaped content, FEND. FEND (0xC0) inside a frame travels as FESC TFEND
(0xDB 0xDC) and FESC (0xDB) as FESC TFESC (0xDB 0xDD); the type octet is escaped like the rest,
since port 12 data (0xC0) would otherwise end the frame. There is no checksum on this line: the TNC
checks the AX.25 FCS on the air and drops bad frames itself, and adds the FCS when it transmits, so
the AX.25 frames we exchange with it never carry one.

`KissDeframer` takes a byte stream in chunks of any size and returns the frames it completes.
Every octet ends up in a frame, in a counted rejection, or in `bytes_skipped` (the garbage before
the first FEND). Back-to-back FENDs are idle fill, not frames (counted in `empty`, not rejected).

Two choices that differ from the letter of the spec, both because a frame known to be damaged on
the serial line must not reach the flight software when the line carries no checksum:

- a FESC followed by anything but TFEND/TFESC is "an error; no action is taken and frame assembly
  continues" in the spec; here the whole frame is dropped and counted in `bad_escapes`;
- a frame longer than `max_frame` content octets is dropped and counted in `oversized`; the
  deframer stops buffering it as soon as its escaped length proves it too long, so a stream
  without FENDs costs bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Final, NamedTuple

FEND: Final = 0xC0
FESC: Final = 0xDB
TFEND: Final = 0xDC
TFESC: Final = 0xDD
#: The whole type octet of the RETURN command (leave KISS mode).
RETURN_TYPE: Final = 0xFF
#: TNC memory bounds a KISS frame; 1024 covers an AX.25 UI frame with 8 digipeaters and a
#: 256-octet information field (328 octets) with room for TNCs configured for longer N1.
DEFAULT_MAX_FRAME: Final = 1024
MAX_PORT: Final = 15

_FEND_B: Final = b"\xc0"
_FESC_B: Final = b"\xdb"
_ESC_FEND: Final = b"\xdb\xdc"
_ESC_FESC: Final = b"\xdb\xdd"
_TYPE_OCTETS: Final = tuple(bytes((t,)) for t in range(256))


class KissCommand(IntEnum):
    """The low nibble of the type octet. RETURN is the whole octet 0xFF (command 15, port 15)."""

    DATA = 0x00
    TXDELAY = 0x01
    P = 0x02
    SLOTTIME = 0x03
    TXTAIL = 0x04
    FULLDUPLEX = 0x05
    SETHARDWARE = 0x06
    RETURN = 0x0F


class KissFrame(NamedTuple):
    """A decoded frame (a NamedTuple: immutable, and built fast on the receive path)."""

    port: int
    command: int
    payload: bytes

    @property
    def type_octet(self) -> int:
        return (self.port << 4) | self.command


def escape(data: bytes) -> bytes:
    """FESC -> FESC TFESC, then FEND -> FESC TFEND (in that order, so nothing is escaped twice)."""
    return data.replace(_FESC_B, _ESC_FESC).replace(_FEND_B, _ESC_FEND)


def kiss_encode(payload: bytes, port: int = 0, command: KissCommand = KissCommand.DATA) -> bytes:
    """One complete frame, FEND to FEND."""
    if port.__class__ is not int or not 0 <= port <= MAX_PORT:
        raise ValueError(f"KISS port must be 0..{MAX_PORT}, got {port!r}")
    if command:
        if command == KissCommand.RETURN:
            raise ValueError("RETURN is a whole type octet (0xFF): use kiss_return()")
        command = KissCommand(command)
    body = _TYPE_OCTETS[(port << 4) | command] + payload
    return b"".join((_FEND_B, escape(body), _FEND_B))


def kiss_return() -> bytes:
    """Leave KISS mode (the TNC goes back to its own command interpreter)."""
    return bytes((FEND, RETURN_TYPE, FEND))


def _octet_ms(name: str, value_ms: int) -> int:
    if isinstance(value_ms, bool) or not isinstance(value_ms, int):
        raise ValueError(f"{name} must be an integer number of milliseconds, got {value_ms!r}")
    if not 0 <= value_ms <= 2550 or value_ms % 10:
        raise ValueError(f"{name} must be a multiple of 10 ms in 0..2550 ms, got {value_ms}")
    return value_ms // 10


@dataclass(frozen=True, slots=True)
class KissTncParams:
    """The KISS parameter commands. Times are sent in 10 ms units; `persistence` is the octet P,
    with the CSMA persistence p = (P + 1) / 256."""

    txdelay_ms: int = 500
    persistence: int = 63
    slottime_ms: int = 100
    txtail_ms: int = 0
    full_duplex: bool = False

    def __post_init__(self) -> None:
        for name in ("txdelay_ms", "slottime_ms", "txtail_ms"):
            _octet_ms(name, getattr(self, name))
        p = self.persistence
        if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 255:
            raise ValueError(f"persistence must be an octet 0..255, got {p!r}")

    def frames(self, port: int = 0) -> list[bytes]:
        """The command frames that set these parameters on `port`, in the spec's order."""
        values = (
            (KissCommand.TXDELAY, self.txdelay_ms // 10),
            (KissCommand.P, self.persistence),
            (KissCommand.SLOTTIME, self.slottime_ms // 10),
            (KissCommand.TXTAIL, self.txtail_ms // 10),
            (KissCommand.FULLDUPLEX, int(self.full_duplex)),
        )
        return [kiss_encode(bytes((value,)), port, command) for command, value in values]


@dataclass(slots=True)
class KissCounters:
    frames: int = 0
    empty: int = 0
    bytes_skipped: int = 0
    oversized: int = 0
    bad_escapes: int = 0

    @property
    def rejected(self) -> int:
        return self.oversized + self.bad_escapes

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class KissDeframer:
    """Streaming KISS deframer: `feed(chunk)` returns the frames completed by that chunk."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        if isinstance(max_frame, bool) or not isinstance(max_frame, int) or max_frame < 1:
            raise ValueError(f"max_frame must be a positive number of octets, got {max_frame!r}")
        self.max_frame = max_frame
        # Type octet plus content, every octet escaped: anything longer is certainly oversized.
        self._escaped_limit = 2 * (max_frame + 1)
        self.counters = KissCounters()
        self._buffer = bytearray()
        self._in_frame = False
        self._overflow = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[KissFrame]:
        frames: list[KissFrame] = []
        data = bytes(data)
        start, end_of_data = 0, len(data)
        while start < end_of_data:
            end = data.find(_FEND_B, start)
            if end < 0:
                self._absorb(data, start, end_of_data)
                break
            self._absorb(data, start, end)
            if self._in_frame:
                frame = self._complete()
                if frame is not None:
                    frames.append(frame)
            self._in_frame = True
            start = end + 1
        return frames

    def reset(self) -> None:
        """Forget a partial frame (the line was re-opened): hunt for a FEND again."""
        self._buffer.clear()
        self._in_frame = False
        self._overflow = False

    def _absorb(self, data: bytes, start: int, stop: int) -> None:
        if stop <= start:
            return
        if not self._in_frame:
            self.counters.bytes_skipped += stop - start
            return
        if self._overflow:
            return
        self._buffer += data[start:stop]
        if len(self._buffer) > self._escaped_limit:
            self._overflow = True
            self._buffer.clear()

    def _complete(self) -> KissFrame | None:
        counters = self.counters
        if self._overflow:
            self._overflow = False
            counters.oversized += 1
            return None
        if not self._buffer:
            counters.empty += 1
            return None
        body = bytes(self._buffer)
        self._buffer.clear()
        if FESC in body:
            pairs = body.count(_ESC_FEND) + body.count(_ESC_FESC)
            if body.count(_FESC_B) != pairs:
                counters.bad_escapes += 1
                return None
            body = body.replace(_ESC_FEND, _FEND_B).replace(_ESC_FESC, _FESC_B)
        if len(body) - 1 > self.max_frame:
            counters.oversized += 1
            return None
        counters.frames += 1
        kind = body[0]
        return KissFrame(kind >> 4, kind & 0x0F, body[1:])
