"""What the rig does to the bytes on one direction of the radio wire: the faults it injects and
the CADU tap that watches, and can drop, whole frames.

A transparent radio link carries CADUs back to back (attached sync marker + Reed-Solomon
codeblock, `flight.codec`). The rig sees only bytes, so `CaduTap` finds the CADUs in the stream
the way a ground frame analyser does: it searches the marker, then stays locked on the fixed CADU
length while each CADU still carries its marker (up to 3 bit errors), and falls back to the search
when one does not. Each CADU it cuts is decoded in C (`cadu_decode`), which tells how many
symbols Reed-Solomon corrects in it, or that it cannot; the CADU then goes on unchanged, or is
dropped when the frame-loss fault says so. Octets outside any CADU go on as they are.

Faults (`WireFaults`) act after the channel's own bit errors: `extra_ber` flips more bits,
`frame_loss` drops that fraction of CADUs (whole frames, as a fade or a collision would),
`outage` carries nothing at all. Randomness comes from a generator seeded per direction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final

from flight.codec import CodecError, UncorrectableError, cadu_decode
from flight.sim.channel import flip_bits

ASM: Final = bytes.fromhex("1ACFFC1D")
RS_CODEWORD_OCTETS: Final = 255


@dataclass
class WireFaults:
    """Faults the rig injects on one direction of the radio wire."""

    extra_ber: float = 0.0
    frame_loss: float = 0.0  # fraction of CADUs dropped, 0..1
    outage: bool = False

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        if not 0.0 <= self.extra_ber <= 0.5:
            raise ValueError(f"extra bit error rate {self.extra_ber} must be in [0, 0.5]")
        if not 0.0 <= self.frame_loss <= 1.0:
            raise ValueError(f"frame loss {self.frame_loss} must be a fraction in [0, 1]")


@dataclass
class WireCounters:
    """What one direction of the wire carried, as the rig saw it."""

    octets: int = 0
    cadus: int = 0
    cadus_corrected: int = 0  # CADUs in which Reed-Solomon corrects at least one symbol
    symbols_corrected: int = 0
    cadus_uncorrectable: int = 0
    cadus_dropped: int = 0  # by the frame-loss fault
    octets_outside_cadus: int = 0
    octets_lost_to_outage: int = 0
    bit_errors_injected: int = 0
    sync_losses: int = 0


@dataclass
class CaduTap:
    """Cuts one direction's byte stream into CADUs, counts their corrections, applies faults."""

    interleave: int
    seed: str
    faults: WireFaults = field(default_factory=WireFaults)
    counters: WireCounters = field(default_factory=WireCounters)

    def __post_init__(self) -> None:
        self.cadu_octets = len(ASM) + RS_CODEWORD_OCTETS * self.interleave
        self._rng = random.Random(self.seed)
        self._buffer = bytearray()
        self._locked = False

    @property
    def pending(self) -> int:
        """Octets held back until the CADU they may belong to is complete."""
        return len(self._buffer)

    def feed(self, data: bytes) -> bytes:
        """The octets to pass on after `data` arrived (CADUs once complete)."""
        faults = self.faults
        if faults.outage:
            self.counters.octets_lost_to_outage += len(data)
            return b""
        chunk = bytearray(data)
        if faults.extra_ber > 0.0:
            self.counters.bit_errors_injected += flip_bits(chunk, faults.extra_ber, self._rng)
        self.counters.octets += len(chunk)
        self._buffer += chunk
        out = bytearray()
        buf = self._buffer
        n = self.cadu_octets
        while True:
            if not self._locked:
                found = buf.find(ASM)
                if found < 0:
                    keep = len(ASM) - 1
                    if len(buf) > keep:
                        self.counters.octets_outside_cadus += len(buf) - keep
                        out += buf[:len(buf) - keep]
                        del buf[:len(buf) - keep]
                    break
                if found:
                    self.counters.octets_outside_cadus += found
                    out += buf[:found]
                    del buf[:found]
                self._locked = True
            if len(buf) < n:
                break
            cadu = bytes(buf[:n])
            try:
                _, corrected = cadu_decode(cadu, self.interleave)
            except UncorrectableError:
                self.counters.cadus_uncorrectable += 1
            except CodecError:  # the marker is gone: this is not a CADU boundary after all
                self._locked = False
                self.counters.sync_losses += 1
                self.counters.octets_outside_cadus += 1
                out += buf[:1]
                del buf[:1]
                continue
            else:
                if corrected:
                    self.counters.cadus_corrected += 1
                    self.counters.symbols_corrected += corrected
            del buf[:n]
            self.counters.cadus += 1
            if faults.frame_loss > 0.0 and self._rng.random() < faults.frame_loss:
                self.counters.cadus_dropped += 1
            else:
                out += cadu
        return bytes(out)

    def flush(self) -> bytes:
        """Pass on what is held back (the stream stopped mid-CADU, e.g. at loss of signal)."""
        out = bytes(self._buffer)
        self.counters.octets_outside_cadus += len(out)
        self._buffer.clear()
        self._locked = False
        return out
