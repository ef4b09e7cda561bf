"""Pure-Python reference for the link half of the engine: CRCs, randomizer, Reed-Solomon, CADUs.

Written for clarity, straight from the texts, and sharing no code with the C engine (or with
`flight.codec._link`), so that the tests comparing the two compare two readings of the standards:

- CRC-16/CCITT-FALSE (CCSDS 132.0-B FECF) and CRC-32C (RFC 3720), computed bit by bit.
- The pseudo-randomizer of CCSDS 131.0-B section 10: the sequence of h(x) = x^8+x^7+x^5+x^3+1
  from the all-ones state, i.e. a(k+8) = a(k+7) ^ a(k+5) ^ a(k+3) ^ a(k), period 255 bits.
- Reed-Solomon (255,223), E = 16, of CCSDS 131.0-B section 4: field polynomial
  F(x) = x^8+x^7+x^2+x+1, generator g(x) = prod_{j=112}^{143} (x - beta^j) with beta = alpha^11,
  symbols in Berlekamp's dual basis on the wire (the Tα / Tα^-1 matrices of its Annex F),
  interleaving depth I with symbol i of the codeblock in codeword i mod I, and virtual fill
  (the first symbols of every codeword are zeros that are not transmitted).
- Decoding: syndromes, Berlekamp-Massey, Chien search over the transmitted positions only, Forney,
  then a check that the corrected codeword has zero syndromes (bounded-distance decoding).
- CADU: attached sync marker 0x1ACFFC1D + randomized codeblock; `CaduSync` is the frame
  synchronizer whose behaviour is specified in its docstring.
"""

from __future__ import annotations

from typing import Final

from flight.codec.errors import CodecError, UncorrectableError

ASM: Final[bytes] = bytes.fromhex("1ACFFC1D")
RS_N: Final[int] = 255
RS_K: Final[int] = 223
RS_PARITY: Final[int] = 32
RS_T: Final[int] = 16
INTERLEAVE_DEPTHS: Final[tuple[int, ...]] = (1, 2, 3, 4, 5, 8)
DEFAULT_MAX_MARKER_ERRORS: Final[int] = 3
MAX_MARKER_ERRORS_LIMIT: Final[int] = 8

_FIELD_POLY: Final[int] = 0x187
_FIRST_ROOT: Final[int] = 112
_ROOT_STEP: Final[int] = 11

# CCSDS 131.0-B Annex F, the matrix Tα from the conventional basis (coefficient of alpha^7 in
# the most significant bit) to Berlekamp's dual basis: row i is the dual-basis image of bit 7 - i.
_T_ALPHA_ROWS: Final[tuple[int, ...]] = (0x8D, 0xEF, 0xEC, 0x86, 0xFA, 0x99, 0xAF, 0x7B)


# Argument checks, shared with `flight.codec._link` so both raise the same errors.


def as_octets(data: object, name: str) -> bytes:
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be a bytes-like object, not {type(data).__name__}") from None
    if not view.c_contiguous:
        raise TypeError(f"{name} must be a contiguous bytes-like object")
    return view.tobytes()


def check_unsigned(value: object, bits: int, name: str) -> int:
    if type(value) is not int:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{name} must be in 0..{(1 << bits) - 1}, got {value}")
    return value


def check_interleave(value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"interleave must be an int, not {type(value).__name__}")
    if value not in INTERLEAVE_DEPTHS:
        raise ValueError(f"interleave must be one of {INTERLEAVE_DEPTHS}, got {value}")
    return value


def check_virtual_fill(value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"virtual_fill must be an int, not {type(value).__name__}")
    if not 0 <= value < RS_K:
        raise ValueError(f"virtual_fill must be in 0..{RS_K - 1}, got {value}")
    return value


def check_max_marker_errors(value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"max_marker_errors must be an int, not {type(value).__name__}")
    if not 0 <= value <= MAX_MARKER_ERRORS_LIMIT:
        raise ValueError(f"max_marker_errors must be in 0..{MAX_MARKER_ERRORS_LIMIT}, got {value}")
    return value


def _require_length(data: bytes, expected: int, name: str, what: str) -> None:
    if len(data) != expected:
        raise ValueError(f"{name} must be {expected} octets ({what}), got {len(data)}")


# ---------------------------------------------------------------------------------------- CRCs


def crc16(data: object, init: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, MSB first, no final XOR; `init` chains."""
    octets = as_octets(data, "data")
    crc = check_unsigned(init, 16, "init")
    for octet in octets:
        crc ^= octet << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def crc32c(data: object, init: int = 0) -> int:
    """CRC-32C (Castagnoli), reflected; `init` is a previous result, so calls chain."""
    octets = as_octets(data, "data")
    crc = check_unsigned(init, 32, "init") ^ 0xFFFFFFFF
    for octet in octets:
        crc ^= octet
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


# ---------------------------------------------------------------------------------- randomizer


def _pseudo_random_sequence() -> bytes:
    bits = [1] * 8
    while len(bits) < 255 * 8:
        k = len(bits) - 8
        bits.append(bits[k + 7] ^ bits[k + 5] ^ bits[k + 3] ^ bits[k])
    return bytes(
        int("".join(str(b) for b in bits[i : i + 8]), 2) for i in range(0, len(bits), 8)
    )


PN_SEQUENCE: Final[bytes] = _pseudo_random_sequence()


def randomize(data: object) -> bytes:
    """XOR with the CCSDS pseudo-random sequence from its start; applying it twice is identity."""
    octets = as_octets(data, "data")
    return bytes(octet ^ PN_SEQUENCE[i % 255] for i, octet in enumerate(octets))


# ------------------------------------------------------------------------------- GF(2^8) maths


def _field_tables() -> tuple[list[int], list[int]]:
    exp, log = [0] * 255, [0] * 256
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= _FIELD_POLY
    return exp, log


_EXP, _LOG = _field_tables()


def _mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[(_LOG[a] + _LOG[b]) % 255]


def _pow_alpha(k: int) -> int:
    return _EXP[k % 255]


def _inv(a: int) -> int:
    return _EXP[(255 - _LOG[a]) % 255]


def _poly_eval(coefficients_high_first: list[int], x: int) -> int:
    value = 0
    for c in coefficients_high_first:
        value = _mul(value, x) ^ c
    return value


def _generator_polynomial() -> list[int]:
    g = [1]
    for j in range(_FIRST_ROOT, _FIRST_ROOT + RS_PARITY):
        root = _pow_alpha(_ROOT_STEP * j)
        g = [a ^ _mul(b, root) for a, b in zip([*g, 0], [0, *g], strict=True)]
    return g


_GENERATOR: Final[list[int]] = _generator_polynomial()


def _matrix_tables() -> tuple[list[int], list[int]]:
    to_dual, to_conventional = [0] * 256, [0] * 256
    for conventional in range(256):
        dual = 0
        for row in range(8):
            if conventional & (0x80 >> row):
                dual ^= _T_ALPHA_ROWS[row]
        to_dual[conventional] = dual
        to_conventional[dual] = conventional
    return to_dual, to_conventional


_TO_DUAL, _TO_CONVENTIONAL = _matrix_tables()


def _encode_codeword(message: list[int]) -> list[int]:
    """Parity (conventional basis) of a full-length 223-symbol message: m(x) x^32 mod g(x)."""
    remainder = list(message) + [0] * RS_PARITY
    for i in range(RS_K):
        factor = remainder[i]
        if factor:
            for j in range(1, RS_PARITY + 1):
                remainder[i + j] ^= _mul(_GENERATOR[j], factor)
    return remainder[RS_K:]


def _syndromes(codeword: list[int]) -> list[int]:
    return [_poly_eval(codeword, _pow_alpha(_ROOT_STEP * (_FIRST_ROOT + j))) for j in range(32)]


def _decode_codeword(codeword: list[int], virtual_fill: int) -> tuple[list[int], int] | None:
    """Corrected 255-symbol codeword (conventional basis) and error count, or None."""
    syndromes = _syndromes(codeword)
    if not any(syndromes):
        return codeword, 0
    # Berlekamp-Massey: the shortest LFSR (connection polynomial `sigma`, low order first).
    sigma, previous, length, shift, last_discrepancy = [1], [1], 0, 1, 1
    for n in range(RS_PARITY):
        discrepancy = syndromes[n]
        for i in range(1, length + 1):
            if i < len(sigma):
                discrepancy ^= _mul(sigma[i], syndromes[n - i])
        if discrepancy == 0:
            shift += 1
            continue
        scale = _mul(discrepancy, _inv(last_discrepancy))
        candidate = sigma + [0] * max(0, len(previous) + shift - len(sigma))
        for i, p in enumerate(previous):
            candidate[i + shift] ^= _mul(scale, p)
        if 2 * length <= n:
            previous, length, last_discrepancy, shift = sigma, n + 1 - length, discrepancy, 1
        else:
            shift += 1
        sigma = candidate
    if length > RS_T:
        return None
    # Chien search over the transmitted degrees 0 .. 254 - virtual_fill (locator X = beta^i).
    errors = []
    for degree in range(RS_N - virtual_fill):
        x_inverse = _pow_alpha(-_ROOT_STEP * degree)
        if _poly_eval(sigma[::-1], x_inverse) == 0:
            errors.append(degree)
    if len(errors) != length:
        return None
    # Forney: e = X^(1 - fcr) * omega(X^-1) / sigma'(X^-1), omega = S(x) sigma(x) mod x^32.
    omega = [0] * RS_PARITY
    for i, s in enumerate(syndromes):
        for j, c in enumerate(sigma):
            if i + j < RS_PARITY:
                omega[i + j] ^= _mul(s, c)
    derivative = [c if k % 2 == 1 else 0 for k, c in enumerate(sigma)][1:]
    corrected = list(codeword)
    for degree in errors:
        x_inverse = _pow_alpha(-_ROOT_STEP * degree)
        denominator = _poly_eval(derivative[::-1], x_inverse)
        if denominator == 0:
            return None
        numerator = _mul(_poly_eval(omega[::-1], x_inverse),
                         _pow_alpha(_ROOT_STEP * degree * (1 - _FIRST_ROOT)))
        value = _mul(numerator, _inv(denominator))
        if value == 0:
            return None
        corrected[RS_N - 1 - degree] ^= value
    if any(_syndromes(corrected)):
        return None
    return corrected, length


def _rs_encode_octets(data: bytes, interleave: int, virtual_fill: int) -> bytes:
    kept = RS_K - virtual_fill
    block = bytearray(data) + bytearray(RS_PARITY * interleave)
    for k in range(interleave):
        message = [0] * virtual_fill + [_TO_CONVENTIONAL[data[j * interleave + k]]
                                        for j in range(kept)]
        parity = _encode_codeword(message)
        for j, symbol in enumerate(parity):
            block[(kept + j) * interleave + k] = _TO_DUAL[symbol]
    return bytes(block)


def _rs_decode_octets(block: bytes, interleave: int, virtual_fill: int) -> tuple[bytes, int]:
    kept = RS_K - virtual_fill
    data = bytearray(block[: kept * interleave])
    total = 0
    for k in range(interleave):
        received = [0] * virtual_fill + [_TO_CONVENTIONAL[block[j * interleave + k]]
                                         for j in range(kept + RS_PARITY)]
        result = _decode_codeword(received, virtual_fill)
        if result is None:
            raise UncorrectableError(
                f"Reed-Solomon codeword {k} of {interleave} has more than {RS_T} symbol errors",
                codeword=k,
            )
        corrected, count = result
        total += count
        for j in range(kept):
            data[j * interleave + k] = _TO_DUAL[corrected[virtual_fill + j]]
    return bytes(data), total


def rs_encode(data: object, interleave: int = 1, virtual_fill: int = 0) -> bytes:
    """CCSDS RS(255,223) codeblock: the data followed by the interleaved parity."""
    octets = as_octets(data, "data")
    depth, fill = check_interleave(interleave), check_virtual_fill(virtual_fill)
    _require_length(octets, (RS_K - fill) * depth, "data", "(223 - virtual_fill) * interleave")
    return _rs_encode_octets(octets, depth, fill)


def rs_decode(codeblock: object, interleave: int = 1, virtual_fill: int = 0) -> tuple[bytes, int]:
    """(data, symbols corrected); raises UncorrectableError naming the first failed codeword."""
    octets = as_octets(codeblock, "codeblock")
    depth, fill = check_interleave(interleave), check_virtual_fill(virtual_fill)
    _require_length(octets, (RS_N - fill) * depth, "codeblock", "(255 - virtual_fill) * interleave")
    return _rs_decode_octets(octets, depth, fill)


# ----------------------------------------------------------------------------------------- CADU


def _marker_distance(candidate: bytes) -> int:
    return sum(bin(a ^ b).count("1") for a, b in zip(candidate, ASM, strict=True))


def cadu_encode(frame: object, interleave: int = 5) -> bytes:
    """Attached sync marker + randomized RS codeblock of one 223 * interleave octet frame."""
    octets = as_octets(frame, "frame")
    depth = check_interleave(interleave)
    _require_length(octets, RS_K * depth, "frame", "223 * interleave")
    return ASM + randomize(_rs_encode_octets(octets, depth, 0))


def cadu_decode(cadu: object, interleave: int = 5) -> tuple[bytes, int]:
    """(frame, symbols corrected) of one CADU; the marker may have up to 3 bit errors."""
    octets = as_octets(cadu, "cadu")
    depth = check_interleave(interleave)
    _require_length(octets, 4 + RS_N * depth, "cadu", "4 + 255 * interleave")
    distance = _marker_distance(octets[:4])
    if distance > DEFAULT_MAX_MARKER_ERRORS:
        raise CodecError(
            "cadu does not start with the attached sync marker 1ACFFC1D: "
            f"{octets[:4].hex().upper()} is {distance} bits away "
            f"(at most {DEFAULT_MAX_MARKER_ERRORS} tolerated)"
        )
    return _rs_decode_octets(randomize(octets[4:]), depth, 0)


class CaduSync:
    """Frame synchronizer: finds CADUs in a byte stream that arrives in arbitrary pieces.

    Byte-aligned, with two modes (the decisions depend only on the stream, never on how it was
    cut into chunks):

    - search: look for the first position whose 4 octets are within `max_marker_errors` bits of
      the marker. Accept the candidate when its CADU decodes, or else when the octets one CADU
      later are a marker too (the CADU is then counted uncorrectable); otherwise reject it and
      search on from the next octet. Either way, accepting locks.
    - lock: the next CADU is expected right after the last one. If its marker is within
      `max_marker_errors` bits, decode it (a frame, or one more uncorrectable CADU). If not, lock
      is lost and the search starts again one octet after the start of the last accepted CADU,
      which finds the marker again after a lost or inserted octet.

    Counters: `frames` decoded, `symbols_corrected`, `uncorrectable` CADUs dropped,
    `bytes_skipped` (stream octets that were in no accepted CADU), `sync_losses`.
    """

    def __init__(self, interleave: int = 5, max_marker_errors: int = DEFAULT_MAX_MARKER_ERRORS):
        self.interleave = check_interleave(interleave)
        self.max_marker_errors = check_max_marker_errors(max_marker_errors)
        self.cadu_length = 4 + RS_N * self.interleave
        self.frames = 0
        self.symbols_corrected = 0
        self.uncorrectable = 0
        self.bytes_skipped = 0
        self.sync_losses = 0
        self._stream = bytearray()  # the received octets from stream offset `_base` on
        self._base = 0
        self._position = 0  # lock: where the next CADU starts; search: where to search from
        self._locked = False
        self._last_start = -1  # stream offset of the last accepted CADU
        self._accounted = 0  # stream offsets below this are in a CADU or counted as skipped

    @property
    def locked(self) -> bool:
        return self._locked

    def feed(self, chunk: object) -> list[bytes]:
        """Frames completed by this chunk, in stream order."""
        self._stream += as_octets(chunk, "chunk")
        frames: list[bytes] = []
        while (outcome := self._step()) is not False:
            if outcome is not None:
                frames.append(outcome)
        # what a later decision can still look at: the search position, and after a loss of
        # lock the octets from one after the start of the last accepted CADU
        keep_from = min(self._position, self._last_start + 1) if self._locked else self._position
        del self._stream[: keep_from - self._base]
        self._base = keep_from
        return frames

    def _octets_at(self, start: int, count: int) -> bytes:
        return bytes(self._stream[start - self._base : start - self._base + count])

    def _end(self) -> int:
        return self._base + len(self._stream)

    def _decode_at(self, start: int) -> bytes | None:
        cadu = self._octets_at(start, self.cadu_length)
        try:
            frame, corrected = _rs_decode_octets(randomize(cadu[4:]), self.interleave, 0)
        except UncorrectableError:
            return None
        self.symbols_corrected += corrected
        return frame

    def _accept(self, start: int, frame: bytes | None) -> bytes | None:
        if start > self._accounted:
            self.bytes_skipped += start - self._accounted
        self._accounted = max(self._accounted, start + self.cadu_length)
        self._last_start = start
        self._position = start + self.cadu_length
        self._locked = True
        if frame is None:
            self.uncorrectable += 1
        else:
            self.frames += 1
        return frame

    def _is_marker(self, start: int) -> bool:
        return _marker_distance(self._octets_at(start, 4)) <= self.max_marker_errors

    def _step(self) -> bytes | None | bool:
        """One decision: a frame, None (progress without a frame) or False (needs more data)."""
        length, end = self.cadu_length, self._end()
        if self._locked:
            start = self._position
            if end < start + length:
                return False
            if self._is_marker(start):
                return self._accept(start, self._decode_at(start))
            self._locked = False
            self.sync_losses += 1
            self._position = self._last_start + 1
            return None
        start = self._position
        while start + 4 <= end and not self._is_marker(start):
            start += 1
        self._position = start
        if end < start + length:
            return False
        frame = self._decode_at(start)
        if frame is not None:
            return self._accept(start, frame)
        if end < start + length + 4:
            return False
        if self._is_marker(start + length):
            return self._accept(start, None)
        self._position = start + 1
        return None
