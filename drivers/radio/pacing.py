"""Pacing: a token bucket on the injected clock that meters octets onto the serial line.

A radio takes octets from its UART faster than it can put them on the air (a SiK modem at 57600
baud with a 9.6 kbit/s air rate), into a buffer of a few kilobytes; a driver that writes as fast as
the UART goes overruns it and the radio drops data. The pacer lets `rate_bytes_per_s` octets
through per second on average, and at most `burst_bytes` at once after a pause, so the radio's
buffer never holds more than the burst plus what the air drains meanwhile.
"""

from __future__ import annotations

from typing import Final

from hal.clock import Clock

#: What one octet costs on the air when sizing the rate from a bit rate: 8 data bits plus 25%
#: margin for the radio's own framing and FEC, as an asynchronous character (start/stop) costs.
DEFAULT_BITS_PER_OCTET: Final = 10.0
DEFAULT_BURST_BYTES: Final = 256


def rate_from_bits(bits_per_s: float, bits_per_octet: float = DEFAULT_BITS_PER_OCTET) -> float:
    if not bits_per_s > 0 or not bits_per_octet > 0:
        raise ValueError(
            f"bit rate and bits per octet must be positive, got {bits_per_s} and {bits_per_octet}"
        )
    return bits_per_s / bits_per_octet


class TxPacer:
    def __init__(
        self, clock: Clock, rate_bytes_per_s: float, burst_bytes: int = DEFAULT_BURST_BYTES
    ) -> None:
        if burst_bytes < 1:
            raise ValueError(f"burst must be at least one octet, got {burst_bytes}")
        self._clock = clock
        self.burst_bytes = burst_bytes
        self.rate_bytes_per_s = 0.0
        self.set_rate(rate_bytes_per_s)
        self._tokens = float(burst_bytes)
        self._last = clock.monotonic()

    def set_rate(self, rate_bytes_per_s: float) -> None:
        if not rate_bytes_per_s > 0:
            raise ValueError(f"pacing rate must be positive, got {rate_bytes_per_s} octets/s")
        self._refill()
        self.rate_bytes_per_s = float(rate_bytes_per_s)

    def _refill(self) -> None:
        if not self.rate_bytes_per_s:
            return
        now = self._clock.monotonic()
        if now > self._last:
            self._tokens = min(
                float(self.burst_bytes), self._tokens + (now - self._last) * self.rate_bytes_per_s
            )
            self._last = now

    def available(self) -> int:
        """Octets that may be written now."""
        self._refill()
        return int(self._tokens)

    def consume(self, octets: int) -> None:
        self._refill()
        self._tokens -= octets

    def ready_at(self, octets: int = 1) -> float:
        """When `octets` (at most the burst) may be written, on the clock."""
        self._refill()
        missing = min(octets, self.burst_bytes) - self._tokens
        return self._last + max(0.0, missing) / self.rate_bytes_per_s
