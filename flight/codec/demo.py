"""End-to-end demonstration of the payload-encoding engine (`make demo`).

A synthetic 16-bit observation image is compressed with CCSDS 121 (`rice_compress`), cut into
1115-octet frames, CADU-encoded (RS(255,223) interleave 5, randomized, with sync markers), sent
through a noisy channel (random bit errors and bursts of garbage between CADUs), synchronized
with `CaduSync` from chunks of random size, decoded, decompressed and compared bit for bit with
the original. Exits non-zero if anything differs. Deterministic for a given --seed.
"""

from __future__ import annotations

import argparse
import math
import random
import struct
import sys
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from flight.codec import CaduSync, cadu_encode, rice_compress, rice_decompress

FRAME_OCTETS: Final[int] = 1115
INTERLEAVE: Final[int] = 5
SAMPLE_BITS: Final[int] = 16
# Prefixed to the compressed image so the receiver knows what to decompress:
# compressed length (octets), width, height.
HEADER: Final = struct.Struct(">IHH")


@dataclass(frozen=True)
class Channel:
    """What the channel did to the CADU stream."""

    stream: bytes
    bit_errors: int
    garbage_bursts: int
    garbage_octets: int


def synthetic_image(size: int, rng: random.Random) -> array:
    """A size x size 16-bit frame: sky background, extended structure, stars, sensor noise."""
    columns = [300.0 * math.sin(x / 37.0) + 2.0 * x for x in range(size)]
    rows = [math.cos(y / 53.0) for y in range(size)]
    image = [
        [1000.0 + 3.0 * y + columns[x] * (0.5 + 0.5 * rows[y]) for x in range(size)]
        for y in range(size)
    ]
    for _ in range(max(1, size * size // 8000)):
        cx, cy = rng.uniform(0, size), rng.uniform(0, size)
        sigma, peak = rng.uniform(0.8, 4.0), rng.uniform(2000.0, 50000.0)
        reach = int(4 * sigma) + 1
        for y in range(max(0, int(cy) - reach), min(size, int(cy) + reach + 1)):
            for x in range(max(0, int(cx) - reach), min(size, int(cx) + reach + 1)):
                r2 = (x - cx) ** 2 + (y - cy) ** 2
                image[y][x] += peak * math.exp(-r2 / (2 * sigma * sigma))
    gauss = rng.gauss
    samples = array("H")
    for row in image:
        samples.extend(min(65535, max(0, int(v + gauss(0.0, 6.0 + 0.02 * math.sqrt(v)))))
                       for v in row)
    return samples


def big_endian_octets(samples: array) -> bytes:
    swapped = array("H", samples)
    if sys.byteorder == "little":
        swapped.byteswap()
    return swapped.tobytes()


def frames_of(payload: bytes) -> list[bytes]:
    """Fixed-length frames; the last is padded with zeros."""
    padded = payload + bytes(-len(payload) % FRAME_OCTETS)
    return [padded[i : i + FRAME_OCTETS] for i in range(0, len(padded), FRAME_OCTETS)]


def noisy_channel(cadus: list[bytes], ber: float, bursts: int, rng: random.Random) -> Channel:
    """Flips each bit with probability `ber` and inserts bursts of garbage between CADUs."""
    where = set(rng.sample(range(1, len(cadus)), min(bursts, len(cadus) - 1)))
    pieces: list[bytes] = []
    garbage = 0
    for index, cadu in enumerate(cadus):
        if index in where:
            burst = rng.randbytes(rng.randrange(20, 400))
            garbage += len(burst)
            pieces.append(burst)
        pieces.append(cadu)
    stream = bytearray(b"".join(pieces))
    flips = 0
    if ber > 0:
        bits = len(stream) * 8
        position = -1
        while True:  # geometric gaps between errors: one draw per error, not per bit
            position += 1 + int(math.log(1.0 - rng.random()) / math.log(1.0 - ber))
            if position >= bits:
                break
            stream[position // 8] ^= 0x80 >> (position % 8)
            flips += 1
    return Channel(bytes(stream), flips, len(where), garbage)


def receive(stream: bytes, rng: random.Random, max_chunk: int) -> tuple[list[bytes], CaduSync]:
    sync = CaduSync(INTERLEAVE)
    frames: list[bytes] = []
    position = 0
    while position < len(stream):
        size = rng.randrange(1, max_chunk + 1)
        frames += sync.feed(stream[position : position + size])
        position += size
    return frames, sync


def _rate(octets: int, seconds: float) -> str:
    return f"{octets / max(seconds, 1e-9) / 1e6:8.1f} MB/s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flight.codec.demo", description=__doc__)
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--size", type=int, default=512, help="image width and height (512)")
    parser.add_argument("--ber", type=float, default=1e-4, help="channel bit error rate (1e-4)")
    parser.add_argument("--bursts", type=int, default=3, help="garbage bursts (default 3)")
    parser.add_argument("--max-chunk", type=int, default=4096,
                        help="largest piece the receiver is fed at once (default 4096)")
    args = parser.parse_args(argv)
    if not 1 <= args.size <= 4096 or not 0 <= args.ber < 0.5 or args.max_chunk < 1:
        parser.error("need 1 <= --size <= 4096, 0 <= --ber < 0.5 and --max-chunk >= 1")
    rng = random.Random(args.seed)

    image = synthetic_image(args.size, rng)
    raw = big_endian_octets(image)
    started = time.perf_counter()
    compressed = rice_compress(raw, bits=SAMPLE_BITS)
    compress_s = time.perf_counter() - started
    payload = HEADER.pack(len(compressed), args.size, args.size) + compressed

    frames = frames_of(payload)
    started = time.perf_counter()
    cadus = [cadu_encode(frame, INTERLEAVE) for frame in frames]
    encode_s = time.perf_counter() - started
    channel = noisy_channel(cadus, args.ber, args.bursts, rng)

    started = time.perf_counter()
    received, sync = receive(channel.stream, rng, args.max_chunk)
    receive_s = time.perf_counter() - started

    print(f"image            {args.size} x {args.size} x {SAMPLE_BITS} bit, {len(raw)} octets")
    print(f"compressed       {len(compressed)} octets, ratio {len(raw) / len(compressed):.2f}"
          f"   ({_rate(len(raw), compress_s)})")
    print(f"downlink         {len(frames)} frames of {FRAME_OCTETS} octets -> "
          f"{len(channel.stream)} octets of CADUs   (encode {_rate(len(payload), encode_s)})")
    print(f"channel          {channel.bit_errors} bit errors (BER {args.ber:g}), "
          f"{channel.garbage_octets} octets of garbage in {channel.garbage_bursts} bursts")
    print(f"synchronizer     {sync.frames} frames, {sync.symbols_corrected} symbols corrected, "
          f"{sync.uncorrectable} CADUs dropped, {sync.bytes_skipped} octets skipped, "
          f"lock lost {sync.sync_losses} times   ({_rate(len(channel.stream), receive_s)})")

    if received != frames:
        print(f"FAILED: {len(received)} of {len(frames)} frames received intact")
        return 1
    stream = b"".join(received)
    length, width, height = HEADER.unpack_from(stream)
    started = time.perf_counter()
    restored = rice_decompress(stream[HEADER.size : HEADER.size + length],
                               count=width * height, bits=SAMPLE_BITS)
    decompress_s = time.perf_counter() - started
    print(f"decompressed     {len(restored)} octets   ({_rate(len(restored), decompress_s)})")
    if restored != raw:
        print("FAILED: the decompressed image differs from the original")
        return 1
    print("result           bit-exact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
