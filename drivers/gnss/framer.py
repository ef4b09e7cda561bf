"""Split one interleaved receiver byte stream into checked NMEA sentences and UBX frames.

A receiver port carries NMEA 0183 text and u-blox UBX binary in any mix, in reads that cut frames
anywhere. The framer keeps what it has not yet been able to frame, hunts for the next sync
(`$` or 0xB5 0x62), checks every checksum, and on anything wrong counts the fault, steps one sync
past it and hunts again, so a good frame right after garbage is never lost. It never raises on
input: every byte is either part of a returned frame, a line terminator, or counted as skipped.

Bounds keep a hostile stream from stalling it: a sentence longer than `NMEA_MAX_CHARS` and a UBX
length field above `UBX_MAX_PAYLOAD` (65535 included) are rejected as soon as they are seen.

Speed (pure Python; `tests/benchmarks/test_gnss_bench.py`): most of a receiver's output is plain
sentences, one CR LF line after another. Such a stretch is framed as one run: one split into
lines, a few whole-stretch scans proving every line is a plain sentence, and one XOR pass over the
whole stretch from which each line's checksum is two lookups (`_suffix_xor`). Anything else goes
line by line, the careful way, and `tests/gnss/test_gnss_framer.py` checks that both ways give the
same frames and counts for any stream.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, fields
from typing import Final, NamedTuple

NMEA_START: Final = 0x24  # '$'
UBX_SYNC1: Final = 0xB5
UBX_SYNC2: Final = 0x62
UBX_SYNC: Final = b"\xb5\x62"
UBX_HEADER_LEN: Final = 6  # sync(2) class id length(2)
UBX_OVERHEAD: Final = 8  # header + CK_A CK_B
#: '$' through the two checksum digits. NMEA allows 82 with CR LF; receivers exceed it (gpsd
#: accepts up to 102, as we do); longer lines are runaway garbage or merged sentences.
NMEA_MAX_CHARS: Final = 102
#: Larger than any navigation message a u-blox receiver emits (RXM-RAWX with 255 signals is 8176).
UBX_MAX_PAYLOAD: Final = 8192
#: The most octets framed as one run of lines: a whole capture given to `decode()` at once is
#: taken in pieces, so the XOR pass (a few integers of this size) stays small and fast.
_RUN_MAX: Final = 1 << 16
_CR: Final = 0x0D
_LF: Final = 0x0A
_STAR: Final = 0x2A
_HEX_DIGITS: Final = b"0123456789ABCDEFabcdef"
#: For each checksum field "*hh": the XOR of a whole valid line `$body*hh`, that is
#: int(hh, 16) ^ '$' ^ '*' ^ h ^ h. A line's last three octets, looked up here, say whether it
#: ends in a checksum field and what the XOR of all its octets must be: no slice of the body.
_LINE_XOR: Final[dict[bytes, int]] = {
    bytes((_STAR, h1, h2)): int(bytes((h1, h2)), 16) ^ NMEA_START ^ _STAR ^ h1 ^ h2
    for h1 in _HEX_DIGITS
    for h2 in _HEX_DIGITS
}


def nmea_checksum(body: bytes) -> int:
    """XOR of the octets between '$' and '*' (at most 127 of them), computed without a loop.

    The octets become one little-endian integer, folded onto itself by halves: each shift-XOR
    pairs every octet with one 2**k places above it, so after seven steps octet 0 holds the XOR
    of all of them. `Framer.feed` inlines the same fold.
    """
    n = int.from_bytes(body, "little")
    n ^= n >> 512
    n ^= n >> 256
    n ^= n >> 128
    n ^= n >> 64
    n ^= n >> 32
    n ^= n >> 16
    n ^= n >> 8
    return n & 0xFF


def ubx_checksum(data: bytes) -> int:
    """8-bit Fletcher over class..payload, returned as CK_A | CK_B << 8 (the wire order)."""
    n = len(data)
    ck_a = sum(data) & 0xFF
    ck_b = sum(map(operator.mul, data, range(n, 0, -1))) & 0xFF
    return ck_a | ck_b << 8


class NmeaFrame(NamedTuple):
    """A checksum-verified sentence from '$' through the checksum digits, without CR LF.

    A NamedTuple, not a frozen dataclass: the framer makes one per sentence, and a frozen
    dataclass's construction (one `object.__setattr__` per field) costs a third of the
    sentence's whole framing.
    """

    sentence: bytes


_new_nmea_frame: Final = tuple.__new__  # NmeaFrame(line) without the Python-level __new__


@dataclass(frozen=True, slots=True)
class UbxFrame:
    """A checksum-verified UBX message."""

    msg_class: int
    msg_id: int
    payload: bytes


Frame = NmeaFrame | UbxFrame


@dataclass(slots=True)
class FramerCounters:
    """What the framer did with every octet it was given."""

    bytes_in: int = 0
    bytes_skipped: int = 0
    nmea_frames: int = 0
    ubx_frames: int = 0
    nmea_bad_checksum: int = 0
    nmea_no_checksum: int = 0
    nmea_oversized: int = 0
    nmea_truncated: int = 0
    ubx_bad_checksum: int = 0
    ubx_oversized: int = 0
    ubx_truncated: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Framer:
    """Stateful: feed it reads of any size, get back the frames completed so far.

    At a '$' it first tries the stretch up to the next UBX sync octet as a run of plain lines
    (`_run_of_lines`); a stretch that is not one is not tried again. Line by line, a well-formed
    sentence still takes a short path: find the line end, slice the line once, check it is ASCII
    with no second '$' and within bounds, fold its octets for the checksum. Everything else
    (cut-short lines, binary inside a line, a missing checksum) leaves that path for the careful
    one, which decides what to count and where to resume.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._wanted = 0  # octets the held-back UBX frame needs in all; 0: not waiting for one
        self.counters = FramerCounters()

    @property
    def pending(self) -> int:
        """Octets held back waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        c = self.counters
        c.bytes_in += len(data)
        buf = self._buf
        if buf:
            buf += data
            if len(buf) < self._wanted:
                return []  # still inside a long UBX frame: reads add to it, nothing to frame
            data = bytes(buf)
        elif type(data) is not bytes:
            data = bytes(data)
        self._wanted = 0
        find = data.find
        frames: list[Frame] = []
        append = frames.append
        new_nmea = _new_nmea_frame
        line_xor = _LINE_XOR
        nmea_frames = 0
        n = len(data)
        i = 0
        run_from = 0  # no run of lines is tried before here (that stretch was found unfit)
        while i < n:
            octet = data[i]
            if octet == NMEA_START:
                if i >= run_from:
                    stop = find(b"\xb5", i, i + _RUN_MAX)
                    if stop < 0:
                        stop = min(n, i + _RUN_MAX)
                    after = self._run_of_lines(data, i, stop, frames)
                    if after:
                        i = after
                        continue
                    run_from = stop
                nl = find(b"\n", i)
                if nl < 0:
                    nxt = _hunt(data, i + 1)
                    if nxt >= 0:
                        self._reject_nmea(nxt - i, truncated=True)
                        i = nxt
                    elif n - i > NMEA_MAX_CHARS + 1:
                        self._reject_nmea(n - i, oversized=True)
                        i = n
                    else:
                        break  # wait for the rest of the line
                    continue
                end = nl - 1 if data[nl - 1] == _CR else nl
                line = data[i:end]
                if end - i > NMEA_MAX_CHARS or not line.isascii() or line.find(b"$", 1) >= 0:
                    cut = _cut_short_at(line)
                    if cut:
                        # another frame starts before this line ends: the sentence was cut short
                        self._reject_nmea(cut, truncated=True)
                        i += cut
                        continue
                    self._reject_nmea(nl + 1 - i, oversized=True)
                elif (expected := line_xor.get(line[-3:])) is None:
                    c.nmea_no_checksum += 1
                    c.bytes_skipped += nl + 1 - i
                else:
                    x = int.from_bytes(line, "little")
                    x ^= x >> 512
                    x ^= x >> 256
                    x ^= x >> 128
                    x ^= x >> 64
                    x ^= x >> 32
                    x ^= x >> 16
                    x ^= x >> 8
                    if x & 0xFF == expected:
                        nmea_frames += 1
                        append(new_nmea(NmeaFrame, (line,)))
                    else:
                        c.nmea_bad_checksum += 1
                        c.bytes_skipped += nl + 1 - i
                i = nl + 1
            elif octet == UBX_SYNC1:
                if n - i < UBX_HEADER_LEN:
                    if n - i >= 2 and data[i + 1] != UBX_SYNC2:
                        c.bytes_skipped += 1
                        i += 1
                        continue
                    break
                if data[i + 1] != UBX_SYNC2:
                    c.bytes_skipped += 1
                    i += 1
                    continue
                length = data[i + 4] | data[i + 5] << 8
                if length > UBX_MAX_PAYLOAD:
                    c.ubx_oversized += 1
                    c.bytes_skipped += 2
                    i += 2
                    continue
                total = length + UBX_OVERHEAD
                if n - i < total:
                    self._wanted = total
                    break  # wait for the rest of the frame
                body = data[i + 2 : i + total - 2]
                if ubx_checksum(body) != data[i + total - 2] | data[i + total - 1] << 8:
                    c.ubx_bad_checksum += 1
                    c.bytes_skipped += 2
                    i += 2
                    continue
                c.ubx_frames += 1
                append(UbxFrame(body[0], body[1], body[4:]))
                i += total
            elif octet == _LF or octet == _CR:
                i += 1
            else:
                nxt = _hunt(data, i + 1)
                if nxt < 0:
                    nxt = n
                c.bytes_skipped += nxt - i
                i = nxt
        c.nmea_frames += nmea_frames
        self._buf = bytearray(memoryview(data)[i:])
        return frames

    def _run_of_lines(self, data: bytes, start: int, stop: int, frames: list[Frame]) -> int:
        """Frame every CR LF line in data[start:stop] at once, if they are all plain sentences.

        Plain: ASCII, each line starting with '$' and holding no other, no stray LF. Then each
        line is exactly what the one-line-at-a-time path would cut, so the outcome (frames and
        counts) is the same; only the work differs: one split for all lines, and one XOR pass
        over the whole stretch (`_suffix_xor`) instead of a fold per line. Returns the position
        after the last line's CR LF, or 0 when the stretch is not plain.
        """
        last = data.rfind(b"\r\n", start, stop)
        if last < 0:
            return 0
        run = data[start:last]
        lines = run.split(b"\r\n")
        breaks = len(lines) - 1
        if not (
            run.isascii()
            and run.count(b"\n") == breaks
            and run.count(b"\r\n$") == breaks
            and run.count(b"$") == breaks + 1
        ):
            return 0
        c = self.counters
        append = frames.append
        new_nmea = _new_nmea_frame
        frame_type = NmeaFrame
        line_xor = _LINE_XOR
        suffix = _suffix_xor(run)
        before = len(frames)
        at = 0  # where the line starts in run
        for line in lines:
            size = len(line)
            if size > NMEA_MAX_CHARS:
                self._reject_nmea(size + 2, oversized=True)
            elif (expected := line_xor.get(line[-3:])) is None:
                c.nmea_no_checksum += 1
                c.bytes_skipped += size + 2
            elif suffix[at] ^ suffix[at + size] == expected:
                append(new_nmea(frame_type, (line,)))
            else:
                c.nmea_bad_checksum += 1
                c.bytes_skipped += size + 2
            at += size + 2
        c.nmea_frames += len(frames) - before
        return last + 2

    def flush(self) -> None:
        """End of stream: whatever is held back is a frame that will never complete."""
        buf = self._buf
        if buf:
            c = self.counters
            c.bytes_skipped += len(buf)
            if buf[0] == NMEA_START:
                c.nmea_truncated += 1
            elif buf[0] == UBX_SYNC1:
                c.ubx_truncated += 1
            buf.clear()
            self._wanted = 0

    def _reject_nmea(
        self, length: int, *, oversized: bool = False, truncated: bool = False
    ) -> None:
        c = self.counters
        c.bytes_skipped += length
        if oversized:
            c.nmea_oversized += 1
        if truncated:
            c.nmea_truncated += 1


def _suffix_xor(data: bytes) -> bytes:
    """S[k] = XOR of data[k:] for k = 0..len(data), so data[a:b] XORs to S[a] ^ S[b].

    One integer (octet k at bits 8k..8k+7) XORed with itself shifted down 1, 2, 4, ... octets:
    after each step octet k holds the XOR of twice as many octets from k on, after log2(len)
    steps all of them. Each step is a single big-integer operation over the whole read.
    """
    n = len(data)
    x = int.from_bytes(data, "little")
    shift = 8
    while shift < 8 * n:
        x ^= x >> shift
        shift <<= 1
    return x.to_bytes(n + 1, "little")


def _cut_short_at(line: bytes) -> int:
    """Where another frame ('$', a UBX sync, or any binary) starts inside a line, or 0."""
    inner = line.find(b"$", 1)
    if not line.isascii():
        sync = line.find(UBX_SYNC, 1)
        if sync >= 0 and (inner < 0 or sync < inner):
            inner = sync
        elif inner < 0:
            inner = len(line)
    return max(inner, 0)


def _hunt(buf: bytes, start: int) -> int:
    """Index of the next '$' or UBX sync octet at or after start, or -1."""
    a = buf.find(b"$", start)
    b = buf.find(b"\xb5", start)
    if a < 0:
        return b
    if b < 0:
        return a
    return min(a, b)
