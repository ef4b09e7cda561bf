"""CCSDS 121.0-B-3 lossless data compression (adaptive Rice coding), in plain Python.

The reference the C engine is tested against: written for clarity, block by block, from the
standard. Where the standard leaves the encoder a free choice (which option codes a block, which
split position k among equally short ones, how a short last block is filled) it follows libaec,
so that both produce the same octets:

- Samples are cut into reference sample intervals (RSI) of `rsi` blocks of `block_size` (J)
  samples. With preprocessing, each RSI starts with a reference sample (sent raw, n bits) and
  every other sample is replaced by its mapped prediction residual (unit-delay predictor).
- Each block is coded with the shortest option: zero-block run, second extension, split sample
  (k = 0 is the fundamental sequence) or no compression. The option identifier is 3, 4 or 5 bits
  for n <= 8, <= 16, <= 32; k ranges over 0 .. 2**id_len - 3.
- A run of all-zero blocks ends at a non-zero block, at the end of a 64-block segment or at the
  end of the RSI; a run reaching such an end with more than 4 blocks is coded "remainder of
  segment" (ROS).
- Among the split positions k of minimal length, the one closest to the previous block's k.
- A short last block is filled with copies of the last sample, a short last RSI is cut after its
  last block, and the stream ends padded with zero bits to a whole octet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from flight.codec.errors import CodecError

BLOCK_SIZES: Final = (8, 16, 32, 64)
MAX_RSI: Final = 4096
MAX_BITS: Final = 32
SEGMENT_BLOCKS: Final = 64
ROS_FS: Final = 4
"""Fundamental-sequence value of a zero-block run that covers the remainder of the segment."""


@dataclass(frozen=True)
class RiceParameters:
    """Validated coding parameters, with what follows from them."""

    bits: int
    block_size: int
    rsi: int
    preprocess: bool
    signed: bool
    msb_first: bool

    @property
    def sample_octets(self) -> int:
        return 1 if self.bits <= 8 else 2 if self.bits <= 16 else 4

    @property
    def id_len(self) -> int:
        return 3 if self.bits <= 8 else 4 if self.bits <= 16 else 5

    @property
    def kmax(self) -> int:
        return (1 << self.id_len) - 3

    @property
    def uncompressed_id(self) -> int:
        return (1 << self.id_len) - 1

    @property
    def mask(self) -> int:
        return (1 << self.bits) - 1


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def _integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def rice_parameters(
    *, bits: object, block_size: object, rsi: object, preprocess: object, signed: object,
    msb_first: object,
) -> RiceParameters:
    """Check every coding parameter, raising TypeError/ValueError that names the wrong one."""
    bits = _integer("bits", bits)
    block_size = _integer("block_size", block_size)
    rsi = _integer("rsi", rsi)
    if not 1 <= bits <= MAX_BITS:
        raise ValueError(f"bits must be 1..{MAX_BITS}, got {bits}")
    if block_size not in BLOCK_SIZES:
        raise ValueError(f"block_size must be one of {BLOCK_SIZES}, got {block_size}")
    if not 1 <= rsi <= MAX_RSI:
        raise ValueError(f"rsi must be 1..{MAX_RSI} blocks, got {rsi}")
    return RiceParameters(
        bits, block_size, rsi, _flag("preprocess", preprocess), _flag("signed", signed),
        _flag("msb_first", msb_first),
    )


def sample_buffer(samples: object, p: RiceParameters) -> memoryview:
    """`samples` as a flat octet view, checked to hold a whole number of samples."""
    try:
        view = memoryview(samples)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"samples must be a bytes-like object, got {type(samples).__name__}"
        ) from None
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    octets = view.cast("B") if view.ndim != 1 or view.format != "B" else view
    if len(octets) % p.sample_octets:
        raise ValueError(
            f"samples hold {len(octets)} octets, not a multiple of the {p.sample_octets}-octet"
            f" sample size for bits={p.bits}"
        )
    return octets


def decode_count(count: object, data_octets: int, p: RiceParameters) -> int:
    """Check `count` against what a stream of `data_octets` could possibly code.

    The densest record is a zero-block run to the end of a segment: 64 blocks in id_len + 6
    bits. Refusing a larger count up front keeps a corrupt count from costing a huge buffer.
    """
    count = _integer("count", count)
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    most = 8 * data_octets * SEGMENT_BLOCKS * p.block_size // (p.id_len + 6)
    if count > most:
        raise CodecError(
            f"count {count} is more samples than {data_octets} octets can code (at most {most})"
        )
    return count


def _read_values(octets: memoryview, p: RiceParameters) -> list[int]:
    """Sample values from the container layout; signed ones become n-bit patterns."""
    order = "big" if p.msb_first else "little"
    size = p.sample_octets
    raw = [int.from_bytes(octets[i : i + size], order) for i in range(0, len(octets), size)]
    container = 8 * size
    values = []
    for index, value in enumerate(raw):
        if p.signed:
            number = value - (1 << container) if value >> (container - 1) else value
            if not -(1 << (p.bits - 1)) <= number < 1 << (p.bits - 1):
                raise ValueError(
                    f"sample {index} is {number}, outside the {p.bits}-bit signed range"
                )
            values.append(number & p.mask)
        else:
            if value > p.mask:
                raise ValueError(f"sample {index} is {value}, outside the {p.bits}-bit range")
            values.append(value)
    return values


def _signed_value(pattern: int, bits: int) -> int:
    return pattern - (1 << bits) if pattern >> (bits - 1) else pattern


def _map_residual(x: int, previous: int, xmin: int, xmax: int) -> int:
    """CCSDS 121 prediction-error mapping of sample x after `previous` (both as numbers)."""
    delta = x - previous
    theta = min(previous - xmin, xmax - previous)
    if 0 <= delta <= theta:
        return 2 * delta
    if -theta <= delta < 0:
        return -2 * delta - 1
    return theta + abs(delta)


def _unmap_residual(d: int, previous: int, xmin: int, xmax: int) -> int:
    theta = min(previous - xmin, xmax - previous)
    if d <= 2 * theta:
        return previous + (d >> 1) if d % 2 == 0 else previous - (d + 1 >> 1)
    if previous - xmin < xmax - previous:
        return xmin + d
    return xmax - d


class _BitWriter:
    def __init__(self) -> None:
        self.bits: list[str] = []

    def put(self, value: int, width: int) -> None:
        if width:
            self.bits.append(format(value, f"0{width}b"))

    def put_fs(self, value: int) -> None:
        self.bits.append("0" * value + "1")

    def octets(self) -> bytes:
        text = "".join(self.bits)
        text += "0" * (-len(text) % 8)
        return int(text, 2).to_bytes(len(text) // 8, "big") if text else b""


def _split_length(block: list[int], k: int) -> int:
    return sum(d >> k for d in block) + len(block) * (k + 1)


def _choose_k(block: list[int], previous_k: int, kmax: int) -> int:
    """The minimal-length split position closest to the previous block's (as libaec picks it)."""
    lengths = [_split_length(block, k) for k in range(kmax + 1)]
    best = min(lengths)
    minimal = [k for k, length in enumerate(lengths) if length == best]
    return min(max(previous_k, minimal[0]), minimal[-1])


def _se_length(pairs: list[tuple[int, int]], limit: int) -> int | None:
    """Second-extension length (with its extra identifier bit), None when above `limit`."""
    length = 1
    for a, b in pairs:
        s = a + b
        length += s * (s + 1) // 2 + b + 1
        if length > limit:
            return None
    return length


def _se_pairs(block: list[int], has_reference: bool) -> list[tuple[int, int]]:
    values = ([0] if has_reference else []) + block
    return [(values[i], values[i + 1]) for i in range(0, len(values), 2)]


def rice_compress(
    samples: object, *, bits: int, block_size: int = 16, rsi: int = 128,
    preprocess: bool = True, signed: bool = False, msb_first: bool = True,
) -> bytes:
    """Compress samples into a CCSDS 121 stream, octet for octet as libaec does.

    `samples`: any bytes-like object, 1/2/4 octets per sample for bits <= 8/16/32, big-endian
    when `msb_first`; signed samples two's complement, sign-extended to the sample's octets.
    """
    p = rice_parameters(
        bits=bits, block_size=block_size, rsi=rsi, preprocess=preprocess, signed=signed,
        msb_first=msb_first,
    )
    values = _read_values(sample_buffer(samples, p), p)
    out = _BitWriter()
    k = 0
    interval = p.rsi * p.block_size
    for start in range(0, len(values), interval):
        chunk = values[start : start + interval]
        k = _encode_interval(out, chunk, p, k)
    return out.octets()


def _encode_interval(out: _BitWriter, chunk: list[int], p: RiceParameters, k: int) -> int:
    """Code one RSI (possibly short); returns the split position carried to the next block."""
    n_blocks = -(-len(chunk) // p.block_size)
    chunk = chunk + [chunk[-1]] * (n_blocks * p.block_size - len(chunk))
    reference = chunk[0]
    if p.preprocess:
        if p.signed:
            numbers = [_signed_value(v, p.bits) for v in chunk]
            xmin, xmax = -(1 << (p.bits - 1)), (1 << (p.bits - 1)) - 1
        else:
            numbers, xmin, xmax = chunk, 0, p.mask
        coded = [0] + [
            _map_residual(numbers[i], numbers[i - 1], xmin, xmax) for i in range(1, len(numbers))
        ]
    else:
        coded = chunk
    zero_run, zero_run_has_reference = 0, False
    for b in range(n_blocks):
        has_reference = p.preprocess and b == 0
        block = coded[b * p.block_size : (b + 1) * p.block_size]
        if not any(block):
            if zero_run == 0:
                zero_run_has_reference = has_reference
            zero_run += 1
            if b == n_blocks - 1 or (b + 1) % SEGMENT_BLOCKS == 0:
                fs = ROS_FS if zero_run > 4 else zero_run - 1
                _emit_zero_run(out, p, fs, zero_run_has_reference, reference)
                zero_run = 0
            continue
        if zero_run:
            fs = zero_run if zero_run >= 5 else zero_run - 1
            _emit_zero_run(out, p, fs, zero_run_has_reference, reference)
            zero_run = 0
        k = _emit_block(out, p, block[1:] if has_reference else block, has_reference, reference, k)
    return k


def _emit_zero_run(
    out: _BitWriter, p: RiceParameters, fs: int, has_reference: bool, reference: int
) -> None:
    out.put(0, p.id_len + 1)
    if has_reference:
        out.put(reference, p.bits)
    out.put_fs(fs)


def _emit_block(
    out: _BitWriter, p: RiceParameters, block: list[int], has_reference: bool, reference: int,
    previous_k: int,
) -> int:
    k = _choose_k(block, previous_k, p.kmax)
    split_len = _split_length(block, k)
    uncompressed_len = len(block) * p.bits
    pairs = _se_pairs(block, has_reference)
    se_len = _se_length(pairs, uncompressed_len)
    if split_len < uncompressed_len:
        option = "split" if se_len is None or split_len < se_len else "se"
    else:
        option = "uncompressed" if se_len is None or uncompressed_len <= se_len else "se"
    if option == "se":
        out.put(1, p.id_len + 1)
    elif option == "split":
        out.put(k + 1, p.id_len)
    else:
        out.put(p.uncompressed_id, p.id_len)
    if has_reference:
        out.put(reference, p.bits)
    if option == "se":
        for a, b in pairs:
            s = a + b
            out.put_fs(s * (s + 1) // 2 + b)
    elif option == "split":
        for d in block:
            out.put_fs(d >> k)
        for d in block:
            out.put(d & ((1 << k) - 1), k)
    else:
        for d in block:
            out.put(d, p.bits)
    return k


class _BitReader:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.position = 0
        self.size = 8 * len(data)

    def _bit(self) -> int:
        if self.position >= self.size:
            raise CodecError(f"compressed stream truncated: ends after {len(self.data)} octets")
        octet = self.data[self.position >> 3]
        bit = (octet >> (7 - (self.position & 7))) & 1
        self.position += 1
        return bit

    def get(self, width: int) -> int:
        value = 0
        for _ in range(width):
            value = (value << 1) | self._bit()
        return value

    def get_fs(self) -> int:
        zeros = 0
        while self._bit() == 0:
            zeros += 1
        return zeros


def rice_decompress(
    data: object, *, count: int, bits: int, block_size: int = 16, rsi: int = 128,
    preprocess: bool = True, signed: bool = False, msb_first: bool = True,
) -> bytes:
    """Decompress `count` samples from a CCSDS 121 stream, in `rice_compress`'s layout.

    Raises CodecError naming the fault when the stream is truncated or malformed.
    """
    p = rice_parameters(
        bits=bits, block_size=block_size, rsi=rsi, preprocess=preprocess, signed=signed,
        msb_first=msb_first,
    )
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"data must be a bytes-like object, got {type(data).__name__}") from None
    octets = memoryview(view.tobytes())
    count = decode_count(count, len(octets), p)
    reader = _BitReader(octets)
    values: list[int] = []
    interval = p.rsi * p.block_size
    while len(values) < count:
        coded = _decode_interval(reader, p, min(interval, count - len(values)))
        values.extend(_reconstruct(coded, p))
    return _write_values(values[:count], p)


def _decode_interval(reader: _BitReader, p: RiceParameters, wanted: int) -> list[int]:
    """Coded values (reference sample first, with preprocessing) of one RSI, at least `wanted`."""
    coded: list[int] = []
    block_index = 0
    while len(coded) < wanted:
        has_reference = p.preprocess and block_index == 0
        size = p.block_size - 1 if has_reference else p.block_size
        option = reader.get(p.id_len)
        if option == 0:
            if reader.get(1) == 0:
                if has_reference:
                    coded.append(reader.get(p.bits))
                blocks = _zero_run_blocks(reader.get_fs(), block_index, p)
                coded.extend([0] * (blocks * p.block_size - has_reference))
                block_index += blocks
                continue
            if has_reference:
                coded.append(reader.get(p.bits))
            coded.extend(_decode_se(reader, p, has_reference))
        elif option == p.uncompressed_id:
            coded.extend(reader.get(p.bits) for _ in range(p.block_size))
        else:
            k = option - 1
            if has_reference:
                coded.append(reader.get(p.bits))
            high = []
            for _ in range(size):
                h = reader.get_fs()
                if h > p.mask >> k:
                    raise CodecError(
                        f"split-sample value at least {h << k} (k={k}) exceeds {p.bits} bits"
                        f" in block {block_index} of an RSI"
                    )
                high.append(h)
            for h in high:
                value = (h << k) | reader.get(k)
                if value > p.mask:
                    raise CodecError(
                        f"split-sample value {value} (k={k}) exceeds {p.bits} bits"
                        f" in block {block_index} of an RSI"
                    )
                coded.append(value)
        block_index += 1
    return coded


def _zero_run_blocks(fs: int, block_index: int, p: RiceParameters) -> int:
    left_in_rsi = p.rsi - block_index
    if fs == ROS_FS:
        return min(left_in_rsi, SEGMENT_BLOCKS - block_index % SEGMENT_BLOCKS)
    blocks = fs + 1 if fs < ROS_FS else fs
    if blocks > left_in_rsi:
        raise CodecError(
            f"zero-block run of {blocks} blocks at block {block_index} overruns the RSI of"
            f" {p.rsi} blocks"
        )
    return blocks


def _decode_se(reader: _BitReader, p: RiceParameters, has_reference: bool) -> list[int]:
    values: list[int] = []
    for pair in range(p.block_size // 2):
        m = reader.get_fs()
        s = 0
        while (s + 1) * (s + 2) // 2 <= m:
            s += 1
            if s > 2 * p.mask:
                raise CodecError(f"second-extension code {m} exceeds two {p.bits}-bit values")
        b = m - s * (s + 1) // 2
        a = s - b
        if a > p.mask or b > p.mask:
            raise CodecError(f"second-extension code {m} exceeds two {p.bits}-bit values")
        if not (has_reference and pair == 0):
            values.append(a)
        values.append(b)
    return values


def _reconstruct(coded: list[int], p: RiceParameters) -> list[int]:
    """Samples as numbers (signed ones negative) from one RSI's coded values."""
    if not p.preprocess:
        return [_signed_value(v, p.bits) if p.signed else v for v in coded]
    if p.signed:
        xmin, xmax = -(1 << (p.bits - 1)), (1 << (p.bits - 1)) - 1
        previous = _signed_value(coded[0], p.bits)
    else:
        xmin, xmax, previous = 0, p.mask, coded[0]
    numbers = [previous]
    for d in coded[1:]:
        previous = _unmap_residual(d, previous, xmin, xmax)
        numbers.append(previous)
    return numbers


def _write_values(numbers: list[int], p: RiceParameters) -> bytes:
    order = "big" if p.msb_first else "little"
    size = p.sample_octets
    container = (1 << (8 * size)) - 1
    return b"".join((n & container).to_bytes(size, order) for n in numbers)
