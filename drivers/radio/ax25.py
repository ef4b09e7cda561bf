"""AX.25 2.2 UI frames, as exchanged with a KISS TNC (without the FCS: the TNC adds and checks it).

Layout: destination address, source address, 0-8 digipeater addresses, control, PID, information.
Each address is 7 octets: the callsign's 6 characters (upper-case letters and digits, padded with
spaces) each shifted left one bit, then the SSID octet `C R R S S S S X`:

- C (0x80): the command/response bit on the destination and source (AX.25 2.2 section 6.1.2: a
  command has destination C = 1 and source C = 0, a response the reverse; 00 and 11 are the older
  version-1 form), the has-been-repeated bit H on a digipeater;
- R R (0x60): reserved, 1 unless a network agrees otherwise; kept as received;
- S (0x1E): the SSID, 0-15;
- X (0x01): the extension bit, 1 on the last address of the field only.

A UI frame has control 0x03 (0x13 with the poll/final bit) and a PID, 0xF0 for "no layer 3". The
information field is at most N1 = 256 octets by default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from drivers.radio.errors import (
    Ax25AddressError,
    Ax25ControlError,
    Ax25LengthError,
)

CALLSIGN_CHARS: Final = 6
ADDRESS_LEN: Final = 7
MAX_DIGIPEATERS: Final = 8
UI_CONTROL: Final = 0x03
POLL_FINAL: Final = 0x10
PID_NO_LAYER3: Final = 0xF0
DEFAULT_MAX_INFO: Final = 256
SSID_CH: Final = 0x80
SSID_RESERVED: Final = 0x60
SSID_MASK: Final = 0x1E
EXTENSION: Final = 0x01
_set: Final = object.__setattr__
#: Decoded addresses by their 7 octets: a link sees the same few stations over and over, and an
#: Address is immutable, so decoding each one once is enough. Bounded: cleared when full.
_DECODED: Final[dict[bytes, Address]] = {}
_DECODED_MAX: Final = 1024
#: Destination + source + control + PID.
MIN_FRAME: Final = 2 * ADDRESS_LEN + 2

_VALID: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_CALLSIGN: Final = re.compile(r"[A-Z0-9]{1,6}")
_SHIFT: Final = bytes((o << 1) & 0xFF for o in range(256))
#: Callsign octet -> character, or 0 for an octet that cannot be one (odd, or not A-Z 0-9 space).
_UNSHIFT: Final = bytes(
    (o >> 1) if o % 2 == 0 and ((o >> 1) in _VALID or o >> 1 == 0x20) else 0 for o in range(256)
)


def _check_callsign(callsign: object) -> str:
    if callsign.__class__ is str and _CALLSIGN.fullmatch(callsign):
        return callsign
    if not isinstance(callsign, str):
        raise Ax25AddressError("callsign", callsign, "must be a str")
    if not 1 <= len(callsign) <= CALLSIGN_CHARS:
        raise Ax25AddressError("callsign", callsign, f"must be 1 to {CALLSIGN_CHARS} characters")
    bad = [c for c in callsign if ord(c) > 0x7F or ord(c) not in _VALID]
    if bad:
        raise Ax25AddressError(
            "callsign", callsign, f"has {bad[0]!r}; only upper-case A-Z and 0-9 are allowed"
        )
    return callsign


@dataclass(frozen=True, slots=True)
class Address:
    """A callsign with SSID; `ch` is the C bit (destination/source) or H bit (digipeater)."""

    callsign: str
    ssid: int = 0
    ch: bool = False
    reserved: int = 0b11

    def __post_init__(self) -> None:
        _check_callsign(self.callsign)
        ssid = self.ssid
        if isinstance(ssid, bool) or not isinstance(ssid, int) or not 0 <= ssid <= 15:
            raise Ax25AddressError("SSID", self.ssid, "must be an integer 0..15")
        if not isinstance(self.reserved, int) or not 0 <= self.reserved <= 3:
            raise Ax25AddressError("reserved bits", self.reserved, "must be 0..3")

    @classmethod
    def parse(cls, text: str, ch: bool = False) -> Address:
        """Parse `N0CALL` or `N0CALL-7` (the usual monitor notation)."""
        if not isinstance(text, str):
            raise Ax25AddressError("address", text, "must be a str such as 'N0CALL-7'")
        callsign, dash, ssid_text = text.partition("-")
        if dash:
            if not ssid_text.isdigit() or len(ssid_text) > 2:
                raise Ax25AddressError("SSID", ssid_text, f"in {text!r} must be 0..15")
            return cls(callsign, int(ssid_text), ch)
        return cls(callsign, 0, ch)

    def __str__(self) -> str:
        return f"{self.callsign}-{self.ssid}" if self.ssid else self.callsign

    def with_ch(self, ch: bool) -> Address:
        return Address(self.callsign, self.ssid, ch, self.reserved)

    def encode(self, last: bool) -> bytes:
        octet = (SSID_CH if self.ch else 0) | (self.reserved << 5) | (self.ssid << 1)
        return self.callsign.encode("ascii").ljust(CALLSIGN_CHARS).translate(_SHIFT) + bytes(
            (octet | EXTENSION if last else octet,)
        )


def _decode_address(data: bytes, offset: int, role: str) -> Address:
    key = data[offset : offset + ADDRESS_LEN]
    cached = _DECODED.get(key)
    if cached is not None:
        return cached
    address = _parse_address(data, offset, role)
    if len(_DECODED) >= _DECODED_MAX:
        _DECODED.clear()
    _DECODED[key] = address
    return address


def _parse_address(data: bytes, offset: int, role: str) -> Address:
    raw = data[offset : offset + CALLSIGN_CHARS]
    text = raw.translate(_UNSHIFT)
    if 0 in text:
        index = text.index(0)
        octet = raw[index]
        reason = (
            "has the extension bit set in a callsign octet"
            if octet & 1
            else f"has character {chr(octet >> 1)!r}; only A-Z, 0-9 and space padding are allowed"
        )
        raise Ax25AddressError(f"{role} callsign octet {index}", f"0x{octet:02X}", reason)
    callsign = text.rstrip(b" ")
    if not callsign or b" " in callsign:
        raise Ax25AddressError(
            f"{role} callsign", text.decode("ascii"), "must be 1-6 characters, padded at the end"
        )
    # Every field is valid by construction here: skip __post_init__ on the receive path.
    ssid = data[offset + CALLSIGN_CHARS]
    address = object.__new__(Address)
    _set(address, "callsign", callsign.decode("ascii"))
    _set(address, "ssid", (ssid & SSID_MASK) >> 1)
    _set(address, "ch", bool(ssid & SSID_CH))
    _set(address, "reserved", (ssid >> 5) & 3)
    return address


@dataclass(frozen=True, slots=True)
class UiFrame:
    destination: Address
    source: Address
    info: bytes = b""
    digipeaters: tuple[Address, ...] = ()
    pid: int = PID_NO_LAYER3
    poll: bool = False

    @classmethod
    def build(
        cls,
        destination: Address | str,
        source: Address | str,
        info: bytes,
        *,
        via: Iterable[Address | str] = (),
        command: bool = True,
        pid: int = PID_NO_LAYER3,
    ) -> UiFrame:
        """A frame with the AX.25 2.2 command (or response) bits set on its addresses."""
        dest = destination if isinstance(destination, Address) else Address.parse(destination)
        src = source if isinstance(source, Address) else Address.parse(source)
        digis = tuple(d if isinstance(d, Address) else Address.parse(d) for d in via)
        return cls(dest.with_ch(command), src.with_ch(not command), bytes(info), digis, pid)

    @property
    def command(self) -> bool | None:
        """True for a command, False for a response, None for the version-1 forms (00, 11)."""
        if self.destination.ch != self.source.ch:
            return self.destination.ch
        return None


def encode(frame: UiFrame, max_info: int = DEFAULT_MAX_INFO) -> bytes:
    """The frame's octets, without FCS."""
    if len(frame.digipeaters) > MAX_DIGIPEATERS:
        raise Ax25LengthError(
            "digipeater path", f"at most {MAX_DIGIPEATERS} addresses", len(frame.digipeaters)
        )
    if len(frame.info) > max_info:
        raise Ax25LengthError("information field", f"at most {max_info}", len(frame.info))
    if isinstance(frame.pid, bool) or not isinstance(frame.pid, int) or not 0 <= frame.pid <= 255:
        raise Ax25LengthError("PID", "one octet (0..255)", frame.pid)
    digis = frame.digipeaters
    parts = [frame.destination.encode(False), frame.source.encode(not digis)]
    parts += [d.encode(i == len(digis) - 1) for i, d in enumerate(digis)]
    parts.append(bytes((UI_CONTROL | (POLL_FINAL if frame.poll else 0), frame.pid)))
    parts.append(bytes(frame.info))
    return b"".join(parts)


def decode(data: bytes | bytearray | memoryview, max_info: int = DEFAULT_MAX_INFO) -> UiFrame:
    """A UI frame from its octets (no FCS); raises an `Ax25Error` naming the fault."""
    data = bytes(data)
    if len(data) < MIN_FRAME:
        raise Ax25LengthError("frame", f"at least {MIN_FRAME}", len(data))
    if data[ADDRESS_LEN - 1] & EXTENSION:
        raise Ax25AddressError(
            "field", "destination only", "has the extension bit on the destination address"
        )
    destination = _decode_address(data, 0, "destination")
    source = _decode_address(data, ADDRESS_LEN, "source")
    end = 2 * ADDRESS_LEN
    digis: list[Address] = []
    last = bool(data[end - 1] & EXTENSION)
    while not last:
        if len(digis) == MAX_DIGIPEATERS:
            raise Ax25LengthError(
                "digipeater path", f"at most {MAX_DIGIPEATERS} addresses", len(digis) + 1
            )
        if len(data) < end + ADDRESS_LEN + 2:
            raise Ax25LengthError(
                "frame", f"at least {end + ADDRESS_LEN + 2} (address field unterminated)", len(data)
            )
        digis.append(_decode_address(data, end, f"digipeater {len(digis) + 1}"))
        end += ADDRESS_LEN
        last = bool(data[end - 1] & EXTENSION)
    if len(data) < end + 2:
        raise Ax25LengthError("frame", f"at least {end + 2}", len(data))
    control = data[end]
    if control & ~POLL_FINAL != UI_CONTROL:
        raise Ax25ControlError(control)
    info = data[end + 2 :]
    if len(info) > max_info:
        raise Ax25LengthError("information field", f"at most {max_info}", len(info))
    return UiFrame(
        destination, source, info, tuple(digis), data[end + 1], bool(control & POLL_FINAL)
    )
