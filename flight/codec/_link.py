"""The link half of the engine in C: CRCs, randomizer, Reed-Solomon, CADUs and the synchronizer.

Thin wrappers over `flight.codec._link_c` (see `src/link.h`): they check types, parameters and
lengths (with the same errors, worded the same, as `flight.codec.reference.link`), pass the
caller's buffer to C without copying it (`ffi.from_buffer`) and let C write straight into the
output buffer. Every C return code is checked with an explicit `if`. When the engine is not
compiled, the reference takes over and `BACKEND` is ``"python"``.
"""

from __future__ import annotations

from typing import Final

from flight.codec.errors import CodecError, UncorrectableError
from flight.codec.reference import link as _reference
from flight.codec.reference.link import (
    DEFAULT_MAX_MARKER_ERRORS,
    INTERLEAVE_DEPTHS,
    RS_K,
    RS_N,
    RS_PARITY,
    RS_T,
)

try:
    from flight.codec._link_c import ffi, lib
except ImportError:
    ffi = lib = None

BACKEND: Final[str] = "python" if lib is None else "c"

_U8: Final = "uint8_t[]"
# C writes every octet of an output buffer before it is read, so it need not be zeroed first.
_new_output: Final = ffi.new_allocator(should_clear_after_alloc=False) if ffi is not None else None
_DEPTHS: Final = frozenset(INTERLEAVE_DEPTHS)
_ASM_LENGTH: Final = 4


def _view(data: object, name: str):
    """`data` as a C array over the caller's memory (no copy)."""
    try:
        return ffi.from_buffer(_U8, data)
    except (TypeError, BufferError):
        _reference.as_octets(data, name)
        raise TypeError(f"{name} must be a contiguous bytes-like object") from None


def _check_block_parameters(interleave: object, virtual_fill: object) -> None:
    if interleave.__class__ is not int or interleave not in _DEPTHS:
        _reference.check_interleave(interleave)
    if virtual_fill.__class__ is not int or not 0 <= virtual_fill < RS_K:
        _reference.check_virtual_fill(virtual_fill)


def _length_error(name: str, expected: int, actual: int, what: str) -> ValueError:
    return ValueError(f"{name} must be {expected} octets ({what}), got {actual}")


def _fail(rc: int, interleave: int, failed_codeword: int) -> CodecError:
    """The exception for a non-zero C return code (the checks above should pre-empt all but one)."""
    if rc == lib.AS_LINK_EUNCORRECTABLE:
        return UncorrectableError(
            f"Reed-Solomon codeword {failed_codeword} of {interleave} has more than "
            f"{RS_T} symbol errors",
            codeword=failed_codeword,
        )
    return CodecError(f"the C engine rejected the call with code {rc}")


def crc16(data: object, init: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, MSB first, no final XOR; `init` chains."""
    try:
        view = ffi.from_buffer(_U8, data)
    except (TypeError, BufferError):
        view = _view(data, "data")
    if init.__class__ is not int or not 0 <= init <= 0xFFFF:
        _reference.check_unsigned(init, 16, "init")
    return lib.as_crc16(view, len(view), init)


def crc32c(data: object, init: int = 0) -> int:
    """CRC-32C (Castagnoli), reflected; `init` is a previous result, so calls chain."""
    try:
        view = ffi.from_buffer(_U8, data)
    except (TypeError, BufferError):
        view = _view(data, "data")
    if init.__class__ is not int or not 0 <= init <= 0xFFFFFFFF:
        _reference.check_unsigned(init, 32, "init")
    return lib.as_crc32c(view, len(view), init)


def randomize(data: object) -> bytes:
    """XOR with the CCSDS pseudo-random sequence from its start; applying it twice is identity."""
    view = _view(data, "data")
    length = len(view)
    out = _new_output(_U8, length)
    rc = lib.as_randomize(view, length, out, length)
    if rc != lib.AS_LINK_OK:
        raise _fail(rc, 1, 0)
    return ffi.buffer(out)[:]


def rs_encode(data: object, interleave: int = 1, virtual_fill: int = 0) -> bytes:
    """CCSDS RS(255,223) codeblock: the data followed by the interleaved parity."""
    view = _view(data, "data")
    _check_block_parameters(interleave, virtual_fill)
    kept = RS_K - virtual_fill
    if len(view) != kept * interleave:
        raise _length_error("data", kept * interleave, len(view),
                            "(223 - virtual_fill) * interleave")
    length = (kept + RS_PARITY) * interleave
    out = _new_output(_U8, length)
    rc = lib.as_rs_encode(view, len(view), interleave, virtual_fill, out, length)
    if rc != lib.AS_LINK_OK:
        raise _fail(rc, interleave, 0)
    return ffi.buffer(out)[:]


def rs_decode(codeblock: object, interleave: int = 1, virtual_fill: int = 0) -> tuple[bytes, int]:
    """(data, symbols corrected); raises UncorrectableError naming the first failed codeword."""
    view = _view(codeblock, "codeblock")
    _check_block_parameters(interleave, virtual_fill)
    kept = RS_K - virtual_fill
    if len(view) != (kept + RS_PARITY) * interleave:
        raise _length_error("codeblock", (kept + RS_PARITY) * interleave, len(view),
                            "(255 - virtual_fill) * interleave")
    length = kept * interleave
    out = _new_output(_U8, length)
    status = ffi.new("int[2]")
    rc = lib.as_rs_decode(view, len(view), interleave, virtual_fill, out, length,
                          status, status + 1)
    if rc != lib.AS_LINK_OK:
        raise _fail(rc, interleave, status[1])
    return ffi.buffer(out)[:], status[0]


def cadu_encode(frame: object, interleave: int = 5) -> bytes:
    """Attached sync marker + randomized RS codeblock of one 223 * interleave octet frame."""
    view = _view(frame, "frame")
    if interleave.__class__ is not int or interleave not in _DEPTHS:
        _reference.check_interleave(interleave)
    if len(view) != RS_K * interleave:
        raise _length_error("frame", RS_K * interleave, len(view), "223 * interleave")
    length = _ASM_LENGTH + RS_N * interleave
    out = _new_output(_U8, length)
    rc = lib.as_cadu_encode(view, len(view), interleave, out, length)
    if rc != lib.AS_LINK_OK:
        raise _fail(rc, interleave, 0)
    return ffi.buffer(out)[:]


def cadu_decode(cadu: object, interleave: int = 5) -> tuple[bytes, int]:
    """(frame, symbols corrected) of one CADU; the marker may have up to 3 bit errors."""
    view = _view(cadu, "cadu")
    if interleave.__class__ is not int or interleave not in _DEPTHS:
        _reference.check_interleave(interleave)
    if len(view) != _ASM_LENGTH + RS_N * interleave:
        raise _length_error("cadu", _ASM_LENGTH + RS_N * interleave, len(view),
                            "4 + 255 * interleave")
    length = RS_K * interleave
    out = _new_output(_U8, length)
    status = ffi.new("int[2]")
    rc = lib.as_cadu_decode(view, len(view), interleave, DEFAULT_MAX_MARKER_ERRORS, out, length,
                            status, status + 1)
    if rc == lib.AS_LINK_EMARKER:
        raise CodecError(
            "cadu does not start with the attached sync marker 1ACFFC1D: "
            f"{bytes(view[0:4]).hex().upper()} is {lib.as_marker_distance(view, 4)} bits away "
            f"(at most {DEFAULT_MAX_MARKER_ERRORS} tolerated)"
        )
    if rc != lib.AS_LINK_OK:
        raise _fail(rc, interleave, status[1])
    return ffi.buffer(out)[:], status[0]


class CaduSync:
    """Frame synchronizer: finds CADUs in a byte stream that arrives in arbitrary pieces.

    The behaviour (search and lock modes, what is accepted, where the search resumes, what is
    counted) is specified in `flight.codec.reference.link.CaduSync`; this one runs the marker
    search and the CADU decoding in C over its receive buffer, which it trims as it goes.
    """

    def __init__(self, interleave: int = 5, max_marker_errors: int = DEFAULT_MAX_MARKER_ERRORS):
        self.interleave = _reference.check_interleave(interleave)
        self.max_marker_errors = _reference.check_max_marker_errors(max_marker_errors)
        self.cadu_length = _ASM_LENGTH + RS_N * self.interleave
        self.frames = 0
        self.symbols_corrected = 0
        self.uncorrectable = 0
        self.bytes_skipped = 0
        self.sync_losses = 0
        self._buffer = bytearray()
        self._base = 0  # stream offset of _buffer[0]
        self._position = 0  # lock: where the next CADU starts; search: where to search from
        self._locked = False
        self._last_start = -1  # stream offset of the last accepted CADU
        self._accounted = 0  # stream offsets below this are in a CADU or counted as skipped
        self._frame_length = RS_K * self.interleave
        self._frame = ffi.new(_U8, self._frame_length)
        self._status = ffi.new("int[2]")

    @property
    def locked(self) -> bool:
        return self._locked

    def feed(self, chunk: object) -> list[bytes]:
        """Frames completed by this chunk, in stream order."""
        try:
            self._buffer += chunk  # type: ignore[operator]
        except (TypeError, BufferError):
            _view(chunk, "chunk")
            raise TypeError("chunk must be a contiguous bytes-like object") from None
        frames: list[bytes] = []
        with ffi.from_buffer(_U8, self._buffer) as buffer:
            while True:
                outcome = self._step(buffer, len(self._buffer))
                if outcome is False:
                    break
                if outcome is not None:
                    frames.append(outcome)
        keep_from = min(self._position, self._last_start + 1) if self._locked else self._position
        del self._buffer[: keep_from - self._base]
        self._base = keep_from
        return frames

    def _decode(self, buffer, offset: int, tolerance: int) -> tuple[int, bytes | None]:
        """(return code, frame if decoded) of the CADU at buffer offset."""
        rc = lib.as_cadu_decode(buffer + offset, self.cadu_length, self.interleave, tolerance,
                                self._frame, self._frame_length, self._status, self._status + 1)
        if rc == lib.AS_LINK_OK:
            return rc, ffi.buffer(self._frame)[:]
        if rc != lib.AS_LINK_EUNCORRECTABLE and rc != lib.AS_LINK_EMARKER:
            raise _fail(rc, self.interleave, 0)
        return rc, None

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
            self.symbols_corrected += self._status[0]
        return frame

    def _step(self, buffer, available: int) -> bytes | None | bool:
        """One decision: a frame, None (progress without a frame) or False (needs more data)."""
        length = self.cadu_length
        offset = self._position - self._base
        if self._locked:
            if available < offset + length:
                return False
            rc, frame = self._decode(buffer, offset, self.max_marker_errors)
            if rc == lib.AS_LINK_EMARKER:
                self._locked = False
                self.sync_losses += 1
                self._position = self._last_start + 1
                return None
            return self._accept(self._position, frame)
        found = lib.as_marker_search(buffer, available, offset, self.max_marker_errors)
        if found == lib.AS_LINK_NOT_FOUND:
            self._position = self._base + max(offset, available - 3)
            return False
        if found < 0:
            raise _fail(found, self.interleave, 0)
        self._position = start = self._base + found
        if available < found + length:
            return False
        rc, frame = self._decode(buffer, found, lib.AS_MARKER_BITS)
        if frame is not None:
            return self._accept(start, frame)
        if available < found + length + _ASM_LENGTH:
            return False
        distance = lib.as_marker_distance(buffer + found + length, _ASM_LENGTH)
        if distance <= self.max_marker_errors:
            return self._accept(start, None)
        self._position = start + 1
        return None


if lib is None:  # not compiled: the reference keeps the package usable
    from flight.codec.reference.link import (  # noqa: F401, F811
        CaduSync,
        cadu_decode,
        cadu_encode,
        crc16,
        crc32c,
        randomize,
        rs_decode,
        rs_encode,
    )
else:
    lib.as_crc_init()
    lib.as_coding_init()
