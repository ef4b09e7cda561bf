"""Known answers for the C engine's test program (tests/c/test_engine.c), from the Python reference.

`python tests/c/engine_vectors.py` rewrites tests/c/engine_vectors.h. Every expected value in it is
computed here by `flight.codec.reference` (pure Python, no C), and checked against the compiled
engine of this machine before it is written, so the C test program run on another architecture
(`make cross-check`, aarch64 under qemu-user) is held to the exact octets produced on this one.

The inputs are not stored: both sides generate them from a seed with the same 32-bit LCG and the
same sample and error-injection rules (mirrored in test_engine.c), and the header carries the
seeds, the parameters and CRC-32C digests of the outputs. tests/c/test_engine_vectors.py fails when
the committed header is not what this script produces.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import flight.codec as engine
from flight.codec.errors import CodecError, UncorrectableError
from flight.codec.reference import link as reference
from flight.codec.reference import rice as reference_rice

HEADER: Final = Path(__file__).resolve().with_name("engine_vectors.h")

LCG_MULTIPLIER: Final = 1103515245
LCG_INCREMENT: Final = 12345
ERROR_STRIDE: Final = 13
"""Symbols between injected errors: coprime with 255, so the errors land on distinct symbols."""
PHASE_SAMPLES: Final = 128
"""Samples per phase of the generated signal (walk, flat, noise, small values)."""
MARKER_FLIP_STRIDE: Final = 7


class Lcg:
    """The 32-bit linear congruential generator shared with test_engine.c."""

    def __init__(self, seed: int) -> None:
        self.state = seed & 0xFFFFFFFF

    def next(self) -> int:
        self.state = (self.state * LCG_MULTIPLIER + LCG_INCREMENT) & 0xFFFFFFFF
        return self.state

    def octets(self, count: int) -> bytes:
        return bytes(self.next() >> 24 for _ in range(count))


def inject(block: bytearray, interleave: int, errors: tuple[int, ...], lcg: Lcg) -> None:
    """errors[k] wrong symbols in codeword k, 13 symbols apart from a random first one."""
    symbols = len(block) // interleave
    for k, count in enumerate(errors):
        first = lcg.next() % symbols
        for e in range(count):
            symbol = (first + ERROR_STRIDE * e) % symbols
            value = lcg.next() >> 24
            block[symbol * interleave + k] ^= value if value else 0x5A


def flip_marker(octets: bytearray, flips: int) -> None:
    """Invert `flips` bits of the 4-octet marker at the start of octets, 7 bits apart."""
    for f in range(flips):
        bit = (MARKER_FLIP_STRIDE * f + 1) % 32
        octets[bit // 8] ^= 0x80 >> (bit % 8)


def sample_patterns(seed: int, count: int, bits: int) -> list[int]:
    """An n-bit test signal in phases of 128 samples: random walk, flat, noise, small values."""
    lcg = Lcg(seed)
    mask = (1 << bits) - 1
    x = 0
    patterns = []
    for i in range(count):
        r = lcg.next()
        phase = (i // PHASE_SAMPLES) % 4
        if phase == 0:
            x = (x + ((r >> 28) & 7) - 3) & mask
        elif phase == 2:
            x = (r ^ (r >> 16)) & mask
        elif phase == 3:
            x = (r >> 30) & mask
        patterns.append(x)
    return patterns


def pack(patterns: list[int], bits: int, signed: bool, msb_first: bool) -> bytes:
    """libaec's sample layout: 1/2/4 octets, signed values sign-extended to the container."""
    octets = 1 if bits <= 8 else 2 if bits <= 16 else 4
    container = (1 << (8 * octets)) - 1
    order = "big" if msb_first else "little"
    out = bytearray()
    for v in patterns:
        if signed and v >> (bits - 1):
            v |= container & ~((1 << bits) - 1)
        out += v.to_bytes(octets, order)
    return bytes(out)


def crc32c(data: bytes) -> int:
    return reference.crc32c(data)


def agree(what: str, ours: object, theirs: object) -> None:
    """The reference and this machine's compiled engine must give the same answer."""
    if ours != theirs:
        raise SystemExit(f"{what}: reference {ours!r} but compiled engine {theirs!r}")


@dataclass(frozen=True)
class RiceCase:
    bits: int
    block_size: int
    rsi: int
    preprocess: bool
    signed: bool
    msb_first: bool
    count: int
    seed: int

    @property
    def parameters(self) -> dict[str, object]:
        return {
            "bits": self.bits,
            "block_size": self.block_size,
            "rsi": self.rsi,
            "preprocess": self.preprocess,
            "signed": self.signed,
            "msb_first": self.msb_first,
        }

    def samples(self) -> bytes:
        return pack(
            sample_patterns(self.seed, self.count, self.bits),
            self.bits,
            self.signed,
            self.msb_first,
        )


CRC_LENGTHS: Final = (0, 1, 7, 8, 15, 16, 17, 255, 1115, 4099)
RS_CASES: Final = ((1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (8, 0), (5, 10), (1, 100))
# (interleave, errors per codeword): correctable, then one codeword past the limit
RS_ERROR_CASES: Final = (
    (1, (16,)),
    (5, (16, 16, 16, 16, 16)),
    (8, (1, 2, 3, 4, 5, 6, 7, 8)),
    (1, (17,)),
    (5, (3, 16, 17, 0, 5)),
    (2, (0, 20)),
)
# (interleave, marker bits flipped, symbol errors per codeword); the decoder tolerates 3 flips
CADU_CASES: Final = ((1, 0, 0), (5, 2, 8), (8, 3, 16), (5, 4, 0), (4, 0, 17))
# (garbage octets before the marker, marker bits flipped, tolerated bits)
MARKER_CASES: Final = ((0, 0, 0), (1, 0, 0), (100, 3, 3), (333, 3, 2), (40, 0, 3), (7, 5, 5))
RICE_CASES: Final = (
    RiceCase(1, 8, 4, True, False, True, 1000, 11),
    RiceCase(4, 16, 2, True, True, False, 777, 12),
    RiceCase(8, 16, 128, True, False, True, 2048, 13),
    RiceCase(8, 32, 3, False, True, True, 1500, 14),
    RiceCase(12, 64, 7, True, False, False, 1601, 15),
    RiceCase(16, 16, 128, True, False, True, 4096, 16),
    RiceCase(16, 8, 1, True, True, False, 999, 17),
    RiceCase(17, 32, 16, True, True, True, 1700, 18),
    RiceCase(24, 16, 64, False, False, False, 1333, 19),
    RiceCase(32, 64, 4096, True, False, True, 2000, 20),
    RiceCase(32, 8, 2, True, True, False, 1031, 21),
)
RICE_SHORT: Final = RiceCase(8, 8, 2, True, True, True, 64, 22)


def crc_rows() -> Iterator[str]:
    for n, length in enumerate(CRC_LENGTHS):
        seed = 100 + n
        data = Lcg(seed).octets(length)
        c16, c32 = reference.crc16(data), reference.crc32c(data)
        agree(f"crc16 of {length} octets", c16, engine.crc16(data))
        agree(f"crc32c of {length} octets", c32, engine.crc32c(data))
        yield f"    {{{length}u, {seed}u, 0x{c16:04X}u, 0x{c32:08X}u}},"


def rs_rows() -> Iterator[str]:
    for n, (interleave, fill) in enumerate(RS_CASES):
        seed = 200 + n
        data = Lcg(seed).octets((223 - fill) * interleave)
        block = reference.rs_encode(data, interleave, fill)
        agree(
            f"rs_encode I={interleave} fill={fill}", block, engine.rs_encode(data, interleave, fill)
        )
        digest = crc32c(block[len(data) :])
        yield f"    {{{interleave}, {fill}, {seed}u, 0x{digest:08X}u}},"


def rs_error_rows() -> Iterator[str]:
    for n, (interleave, errors) in enumerate(RS_ERROR_CASES):
        seed = 300 + n
        lcg = Lcg(seed)
        data = lcg.octets(223 * interleave)
        block = bytearray(reference.rs_encode(data, interleave))
        inject(block, interleave, errors, lcg)
        try:
            decoded, corrected = reference.rs_decode(bytes(block), interleave)
            failed = -1
            if decoded != data:
                raise SystemExit(f"RS error case {n}: the reference miscorrected")
        except UncorrectableError as error:
            corrected, failed = -1, error.codeword
        try:
            theirs = engine.rs_decode(bytes(block), interleave)[1], -1
        except UncorrectableError as error:
            theirs = -1, error.codeword
        agree(f"rs_decode of error case {n}", (corrected, failed), theirs)
        counts = ", ".join(str(e) for e in errors)
        yield (f"    {{{interleave}, {seed}u, {{{counts}}}, {corrected}, {failed}}},")


def cadu_rows() -> Iterator[str]:
    for n, (interleave, flips, errors) in enumerate(CADU_CASES):
        seed = 400 + n
        lcg = Lcg(seed)
        frame = lcg.octets(223 * interleave)
        cadu = reference.cadu_encode(frame, interleave)
        agree(f"cadu_encode I={interleave}", cadu, engine.cadu_encode(frame, interleave))
        received = bytearray(cadu)
        flip_marker(received, flips)
        codeblock = bytearray(received[4:])
        inject(codeblock, interleave, (errors,) * interleave, lcg)
        received[4:] = codeblock
        try:
            decoded, corrected = reference.cadu_decode(bytes(received), interleave)
            if decoded != frame:
                raise SystemExit(f"CADU case {n}: the reference miscorrected")
            outcome = "AS_LINK_OK"
        except UncorrectableError:
            corrected, outcome = -1, "AS_LINK_EUNCORRECTABLE"
        except CodecError:
            corrected, outcome = -1, "AS_LINK_EMARKER"
        try:
            theirs = engine.cadu_decode(bytes(received), interleave)[1]
        except CodecError:
            theirs = -1
        agree(f"cadu_decode of case {n}", corrected, theirs)
        yield (
            f"    {{{interleave}, {seed}u, 0x{crc32c(cadu):08X}u, {flips}, {errors}, "
            f"{outcome}, {corrected}}},"
        )


def marker_distance(window: bytes | bytearray) -> int:
    return (int.from_bytes(window, "big") ^ int.from_bytes(reference.ASM, "big")).bit_count()


def marker_rows() -> Iterator[str]:
    for n, (garbage, flips, tolerated) in enumerate(MARKER_CASES):
        seed = 500 + n
        buffer = bytearray(Lcg(seed).octets(garbage + 4 + 64))
        buffer[garbage : garbage + 4] = reference.ASM
        flip_marker(memoryview(buffer)[garbage:], flips)
        found = next(
            (i for i in range(len(buffer) - 3) if marker_distance(buffer[i : i + 4]) <= tolerated),
            -1,
        )
        yield f"    {{{garbage}u, {seed}u, {flips}, {tolerated}, {found}}},"


def pn_digest() -> str:
    agree("pseudo-random sequence", reference.PN_SEQUENCE, engine.randomize(bytes(255)))
    return f"static const uint32_t PN_SEQUENCE_CRC32C = 0x{crc32c(reference.PN_SEQUENCE):08X}u;"


def rice_row(case: RiceCase) -> str:
    samples = case.samples()
    stream = reference_rice.rice_compress(samples, **case.parameters)
    agree(f"rice_compress {case}", stream, engine.rice_compress(samples, **case.parameters))
    agree(
        f"rice_decompress {case}",
        samples,
        reference_rice.rice_decompress(stream, count=case.count, **case.parameters),
    )
    flags = ", ".join(str(int(f)) for f in (case.preprocess, case.signed, case.msb_first))
    return (
        f"    {{{case.bits}u, {case.block_size}u, {case.rsi}u, {flags}, {case.count}u, "
        f"{case.seed}u, {len(stream)}u, 0x{crc32c(stream):08X}u}},"
    )


def octet_array(name: str, data: bytes) -> Iterator[str]:
    yield f"static const uint8_t {name}[{len(data)}] = {{"
    for start in range(0, len(data), 12):
        yield "    " + " ".join(f"0x{b:02X}," for b in data[start : start + 12])
    yield "};"


def short_stream() -> Iterator[str]:
    samples = RICE_SHORT.samples()
    stream = reference_rice.rice_compress(samples, **RICE_SHORT.parameters)
    agree("short stream", stream, engine.rice_compress(samples, **RICE_SHORT.parameters))
    for cut in range(len(stream)):
        try:
            reference_rice.rice_decompress(
                stream[:cut], count=RICE_SHORT.count, **RICE_SHORT.parameters
            )
        except CodecError:
            continue
        raise SystemExit(f"the reference decodes the short stream cut to {cut} octets")
    c = RICE_SHORT
    flags = ", ".join(str(int(f)) for f in (c.preprocess, c.signed, c.msb_first))
    yield f"/* {c.count} samples of {c.bits} bits; every proper prefix of the stream is refused */"
    yield (
        f"static const as_rice_config RICE_SHORT_CONFIG = {{{c.bits}u, {c.block_size}u, "
        f"{c.rsi}u, {flags}}};"
    )
    yield from octet_array("RICE_SHORT_SAMPLES", samples)
    yield from octet_array("RICE_SHORT_STREAM", stream)


def table(declaration: str, rows: Iterator[str]) -> Iterator[str]:
    yield f"{declaration} = {{"
    yield from rows
    yield "};"
    yield ""


def render() -> str:
    lines = [
        "/* Generated by tests/c/engine_vectors.py from flight.codec.reference; do not edit. */",
        "#ifndef ENGINE_VECTORS_H",
        "#define ENGINE_VECTORS_H",
        "",
        '#include "link.h"',
        '#include "rice.h"',
        "",
        f"enum {{ LCG_MULTIPLIER = {LCG_MULTIPLIER}, LCG_INCREMENT = {LCG_INCREMENT}, "
        f"ERROR_STRIDE = {ERROR_STRIDE},",
        f"       PHASE_SAMPLES = {PHASE_SAMPLES}, MARKER_FLIP_STRIDE = {MARKER_FLIP_STRIDE} }};",
        "",
        "struct crc_vector { size_t length; uint32_t seed; uint16_t crc16; uint32_t crc32c; };",
        "struct rs_vector { int interleave; int virtual_fill; uint32_t seed; uint32_t parity; };",
        "struct rs_error_vector {",
        "    int interleave; uint32_t seed; int errors[AS_RS_MAX_INTERLEAVE];",
        "    int corrected;       /* symbols corrected, or -1 when a codeword is uncorrectable */",
        "    int failed_codeword; /* the first uncorrectable codeword, or -1 */",
        "};",
        "struct cadu_vector {",
        "    int interleave; uint32_t seed; uint32_t cadu; int flips; int errors; int outcome;",
        "    int corrected;",
        "};",
        "struct marker_vector { size_t garbage; uint32_t seed; int flips; int tolerated; "
        "long found; };",
        "struct rice_vector {",
        "    unsigned bits, block_size, rsi; int preprocess, is_signed, msb_first;",
        "    size_t count; uint32_t seed; size_t length; uint32_t stream;",
        "};",
        "",
        *table("static const struct crc_vector CRC_VECTORS[]", crc_rows()),
        *table("static const struct rs_vector RS_VECTORS[]", rs_rows()),
        *table("static const struct rs_error_vector RS_ERROR_VECTORS[]", rs_error_rows()),
        *table("static const struct cadu_vector CADU_VECTORS[]", cadu_rows()),
        *table("static const struct marker_vector MARKER_VECTORS[]", marker_rows()),
        *table("static const struct rice_vector RICE_VECTORS[]", map(rice_row, RICE_CASES)),
        pn_digest(),
        "",
        *short_stream(),
        "",
        "#endif",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if engine.BACKEND != "c":
        sys.exit("the compiled engine is not in use: run `make build` first")
    HEADER.write_text(render())
    print(f"wrote {HEADER}")
