"""The GNSS decoding path: bytes in, checked messages and per-epoch fixes out, faults counted.

`StreamDecoder` is the stateful core the runtime component wraps: `feed(chunk)` takes a serial
read of any size and returns the fixes completed by it; `messages` (optional callback) sees every
decoded sentence and UBX message (ACKs for the configurator, NAV-SAT for telemetry, ...);
`counters` says what happened to every byte. Nothing in here raises on input.

`decode(data)` is the offline form used on captured streams.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.gnss import nmea, ubx
from drivers.gnss.errors import GnssDecodeError
from drivers.gnss.fix import Fix, FixAssembler
from drivers.gnss.framer import Framer, FramerCounters, NmeaFrame

Message = nmea.Sentence | ubx.UbxMessage


@dataclass(slots=True)
class DecoderCounters:
    """Telemetry: framing counts plus decoded messages per type and rejections per fault."""

    framing: FramerCounters
    decoded: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    fixes: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            **self.framing.as_dict(),
            "decoded": dict(self.decoded),
            "rejected": dict(self.rejected),
            "fixes": self.fixes,
        }


class StreamDecoder:
    def __init__(self, on_message: Callable[[Message], None] | None = None) -> None:
        self._framer = Framer()
        self._assembler = FixAssembler()
        self._on_message = on_message
        self.counters = DecoderCounters(self._framer.counters)
        self.last_error: GnssDecodeError | None = None

    def feed(self, data: bytes) -> list[Fix]:
        fixes: list[Fix] = []
        decoded = self.counters.decoded
        for frame in self._framer.feed(data):
            try:
                if type(frame) is NmeaFrame:
                    message: Message = nmea.parse(frame.sentence)
                    decoded[frame.sentence[3:6].decode("ascii")] += 1
                else:
                    message = ubx.decode(frame)  # type: ignore[arg-type]
                    decoded[ubx.NAMES[frame.msg_class, frame.msg_id]] += 1  # type: ignore[union-attr]
            except GnssDecodeError as exc:
                self.counters.rejected[exc.counter] += 1
                self.last_error = exc
                continue
            if self._on_message is not None:
                self._on_message(message)
            fixes += self._assembler.add(message)
        self.counters.fixes += len(fixes)
        return fixes

    def flush(self) -> list[Fix]:
        """End of stream: count any partial frame and publish the epoch in progress."""
        self._framer.flush()
        fixes = self._assembler.flush()
        self.counters.fixes += len(fixes)
        return fixes


def decode(data: bytes) -> list[Fix]:
    """The fixes of a whole captured byte stream, in order."""
    decoder = StreamDecoder()
    return decoder.feed(data) + decoder.flush()


def strip_comment_header(data: bytes) -> bytes:
    """Drop the leading lines that start with '#' (a capture file's header), nothing else."""
    pos = 0
    while data.startswith(b"#", pos):
        nl = data.find(b"\n", pos)
        if nl < 0:
            return b""
        pos = nl + 1
    return data[pos:]
