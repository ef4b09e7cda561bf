"""Space Data Link Security (355.0-B-2) on TC frames: security associations, AES-256-GCM, anti-
replay, and the frame security report.

A secured frame's data field is: security header (SPI, 2 octets; IV; anti-replay sequence number
(ARSN)), then the frame data (plaintext or ciphertext), then the security trailer (the MAC). What
is authenticated follows 355.0-B: the transfer frame primary header, the segment header, the
security header and the frame data, all bits (the SA's authentication bit mask is all ones):

- authenticated encryption: AES-GCM with the headers as additional authenticated data and the
  frame data as plaintext; the 16-octet tag is the MAC;
- authentication only: GMAC, i.e. AES-GCM with headers + frame data as AAD and no plaintext;
- encryption only: AES-CTR with GCM's counter layout (IV || 00000002), no MAC;
- clear: SPI and ARSN only.

IV choice: a random 96-bit IV per frame (`os.urandom`), not a counter. The sender is the ground,
which restarts, fails over to another station and restores databases from backups: a counter IV
under one key repeats after any of these unless its state is perfectly durable and shared, and one
repeat breaks GCM outright. A random IV needs no state; NIST SP 800-38D bounds the chance of any
repeat below 2^-32 when a key protects at most 2^32 frames, so the sender refuses to use a key
more than `MAX_INVOCATIONS_PER_KEY` times (rekey by OTAR first). Replay protection is the ARSN's
job, not the IV's.

Anti-replay: a sliding window (bitmap) behind the highest ARSN accepted, so a frame that arrives
after a later one (a COP-1 retransmission) is still accepted once. An ARSN is marked used only
when the caller commits it, after FARM-1 accepted the frame: FOP-1 retransmits frames verbatim, and
a frame FARM-1 discarded (out of sequence) must pass again when it comes back. A frame FARM-1 did
accept is never accepted again.

Rejections happen before anything in the frame data is interpreted, raise an `SdlsError` whose
`reason` names the fault, and are counted per reason and latched into the FSR.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum, IntEnum
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from flight.codec import crc16
from flight.link.errors import FieldValueError, LinkError
from flight.link.keystore import KeyStore
from flight.link.tcframe import FECF_OCTETS, TcFrame

SPI_OCTETS: Final[int] = 2
GCM_IV_OCTETS: Final[int] = 12
GCM_TAG_OCTETS: Final[int] = 16
MAX_INVOCATIONS_PER_KEY: Final[int] = 1 << 32
_CTR_FIRST_BLOCK: Final[bytes] = b"\x00\x00\x00\x02"


class ServiceType(IntEnum):
    CLEAR = 0
    AUTHENTICATION = 1
    ENCRYPTION = 2
    AUTHENTICATED_ENCRYPTION = 3


class RejectReason(Enum):
    """Why a telecommand frame was rejected before any command in it was decoded."""

    MALFORMED = "malformed frame or security header"
    BAD_FECF = "frame error control (CRC) mismatch"
    WRONG_SCID = "addressed to another spacecraft"
    WRONG_VCID = "virtual channel not configured"
    UNKNOWN_SPI = "no security association with this SPI on this channel"
    INACTIVE_SA = "security association or its key not active"
    BAD_MAC = "authentication failed"
    REPLAY = "sequence number already used or too old"


class SdlsError(LinkError):
    reason: RejectReason = RejectReason.MALFORMED

    def __init__(self, message: str, spi: int | None = None) -> None:
        super().__init__(message)
        self.spi = spi


class SecurityHeaderError(SdlsError):
    reason = RejectReason.MALFORMED


class UnknownSpiError(SdlsError):
    reason = RejectReason.UNKNOWN_SPI


class InactiveSaError(SdlsError):
    reason = RejectReason.INACTIVE_SA


class BadMacError(SdlsError):
    reason = RejectReason.BAD_MAC


class ReplayError(SdlsError):
    reason = RejectReason.REPLAY

    def __init__(self, message: str, spi: int, sequence_number: int, highest: int) -> None:
        super().__init__(message, spi)
        self.sequence_number = sequence_number
        self.highest = highest


class KeyExhaustedError(SdlsError):
    """Sending side: the key has protected its maximum number of frames, or the ARSN wrapped."""


@dataclass(frozen=True, slots=True)
class SaParameters:
    """The managed parameters of one security association, bound to one TC virtual channel."""

    spi: int
    service_type: ServiceType
    spacecraft_id: int
    virtual_channel_id: int
    key_id: int = 0
    iv_length: int = GCM_IV_OCTETS
    sequence_number_length: int = 4
    mac_length: int = GCM_TAG_OCTETS
    replay_window: int = 64

    def __post_init__(self) -> None:
        if not 1 <= self.spi <= 0xFFFE:
            raise FieldValueError("SPI", self.spi, "1..65534 (0 and 65535 are reserved)")
        object.__setattr__(self, "service_type", ServiceType(self.service_type))
        ciphered = self.service_type != ServiceType.CLEAR
        authenticated = self.service_type in (
            ServiceType.AUTHENTICATION, ServiceType.AUTHENTICATED_ENCRYPTION
        )
        if self.iv_length != (GCM_IV_OCTETS if ciphered else 0):
            raise FieldValueError("IV length", self.iv_length,
                                  "12 with a cipher (96-bit GCM IV), 0 in clear")
        if self.mac_length != (GCM_TAG_OCTETS if authenticated else 0):
            raise FieldValueError("MAC length", self.mac_length,
                                  "16 when authenticated (full GCM tag), else 0")
        if not 0 <= self.sequence_number_length <= 8:
            raise FieldValueError("sequence number length", self.sequence_number_length, "0..8")
        if not 1 <= self.replay_window <= 4096:
            raise FieldValueError("anti-replay window", self.replay_window, "1..4096")

    @property
    def header_octets(self) -> int:
        return SPI_OCTETS + self.iv_length + self.sequence_number_length

    @property
    def overhead_octets(self) -> int:
        return self.header_octets + self.mac_length


class _ReplayWindow:
    """Highest ARSN accepted and a bitmap of the `size` ARSNs at and below it (bit i: highest-i)."""

    __slots__ = ("highest", "bitmap", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.highest = 0
        self.bitmap = 1  # ARSN 0 is never valid: the sender starts at 1

    def seen(self, number: int) -> bool:
        if number > self.highest:
            return False
        behind = self.highest - number
        return behind >= self.size or bool((self.bitmap >> behind) & 1)

    def mark(self, number: int) -> None:
        if number > self.highest:
            self.bitmap = ((self.bitmap << (number - self.highest)) | 1) & ((1 << self.size) - 1)
            self.highest = number
        else:
            self.bitmap |= 1 << (self.highest - number)


class SecurityAssociation:
    def __init__(self, parameters: SaParameters) -> None:
        self.parameters = parameters
        self.active = False
        self.next_sequence_number = 1
        self.window = _ReplayWindow(parameters.replay_window)

    def __repr__(self) -> str:
        p = self.parameters
        return (f"SecurityAssociation(spi={p.spi}, {p.service_type.name}, key {p.key_id}, "
                f"{'active' if self.active else 'inactive'})")


@dataclass(frozen=True, slots=True)
class VerifiedFrame:
    """A frame that passed security processing: `frame.data` is the plain frame data."""

    frame: TcFrame
    spi: int
    sequence_number: int | None


@dataclass(slots=True)
class _FsrLatch:
    bad_sn: bool = False
    bad_mac: bool = False
    bad_sa: bool = False
    last_spi: int = 0
    last_sn: int = 0


def fsr_word(*, alarm: bool, bad_sn: bool, bad_mac: bool, bad_sa: bool, last_spi: int,
             last_sn: int) -> int:
    """The 32-bit Frame Security Report: type 1, version 100, flags, last SPI, last ARSN (LSB)."""
    return (
        (1 << 31) | (0b100 << 28) | (alarm << 27) | (bad_sn << 26) | (bad_mac << 25)
        | (bad_sa << 24) | ((last_spi & 0xFFFF) << 8) | (last_sn & 0xFF)
    )


class Sdls:
    """The security processing of one end of the link, over its own key store."""

    def __init__(self, keys: KeyStore, *, random_bytes: Callable[[int], bytes] = os.urandom,
                 fecf: bool = True) -> None:
        self.keys = keys
        self._random = random_bytes
        self.fecf = fecf
        self._sas: dict[int, SecurityAssociation] = {}
        self._invocations: Counter[int] = Counter()
        self.rejections: Counter[RejectReason] = Counter()
        self.verified = 0
        self._fsr = _FsrLatch()

    def __repr__(self) -> str:
        return f"Sdls({len(self._sas)} SAs, {self.keys!r})"

    # ------------------------------------------------------------ SA management

    def add(self, parameters: SaParameters) -> SecurityAssociation:
        if parameters.spi in self._sas:
            raise FieldValueError("SPI", parameters.spi, "not already in use")
        sa = self._sas[parameters.spi] = SecurityAssociation(parameters)
        return sa

    def start(self, spi: int) -> None:
        self._sa(spi).active = True

    def stop(self, spi: int) -> None:
        self._sa(spi).active = False

    def association(self, spi: int) -> SecurityAssociation:
        return self._sa(spi)

    def rekey(self, spi: int, key_id: int) -> None:
        """Bind SA `spi` to key `key_id` from the next frame on (355.1-B Rekey SA). The ARSN and
        the anti-replay window carry on: a new key does not make an old frame new."""
        sa = self._sa(spi)
        sa.parameters = replace(sa.parameters, key_id=key_id)

    def highest_sequence_number(self, spi: int) -> int:
        """The highest ARSN committed on SA `spi` (not secret: every frame carries its ARSN)."""
        return self._sa(spi).window.highest

    def resume_after(self, spi: int, sequence_number: int) -> None:
        """Treat every ARSN up to `sequence_number` as used (after a reboot: the number saved in
        non-volatile storage), so no frame recorded before the reboot verifies again."""
        window = self._sa(spi).window
        if sequence_number > window.highest:
            window.highest = sequence_number
            window.bitmap = (1 << window.size) - 1

    def _sa(self, spi: int) -> SecurityAssociation:
        sa = self._sas.get(spi)
        if sa is None:
            raise UnknownSpiError(f"no security association with SPI {spi}", spi)
        return sa

    # ------------------------------------------------------------ sending end (ground)

    def apply(self, frame: TcFrame, spi: int) -> bytes:
        """The octets of `frame` protected under SA `spi` (with FECF if configured)."""
        sa = self._sa(spi)
        p = sa.parameters
        if not sa.active:
            raise InactiveSaError(f"SA {spi} is not active", spi)
        if (frame.spacecraft_id, frame.virtual_channel_id) != (p.spacecraft_id,
                                                               p.virtual_channel_id):
            raise UnknownSpiError(f"SA {spi} is not for VC {frame.virtual_channel_id}", spi)
        number = sa.next_sequence_number
        if p.sequence_number_length and number >> (8 * p.sequence_number_length):
            raise KeyExhaustedError(f"SA {spi}: sequence numbers exhausted; rekey", spi)
        plain = frame.data
        total = frame.header_octets + p.overhead_octets + len(plain)
        total += FECF_OCTETS if self.fecf else 0
        header = frame.header(total)
        iv = b""
        if p.iv_length:
            if self._invocations[p.key_id] >= MAX_INVOCATIONS_PER_KEY:
                raise KeyExhaustedError(f"key {p.key_id} has protected 2^32 frames; rekey", spi)
            iv = self._random(p.iv_length)
            self._invocations[p.key_id] += 1
        security_header = (
            spi.to_bytes(2, "big") + iv + number.to_bytes(p.sequence_number_length, "big")
        )
        aad = header + security_header
        body = self._protect(p, iv, aad, plain)
        sa.next_sequence_number = number + 1
        octets = aad + body
        if self.fecf:
            octets += crc16(octets).to_bytes(2, "big")
        return octets

    def _protect(self, p: SaParameters, iv: bytes, aad: bytes, plain: bytes) -> bytes:
        service = p.service_type
        if service == ServiceType.CLEAR:
            return plain
        if service == ServiceType.ENCRYPTION:
            return self._ctr(p, iv, plain)
        cipher = self.keys.cipher(p.key_id)
        if cipher is None:
            raise InactiveSaError(f"key {p.key_id} of SA {p.spi} is not active", p.spi)
        if service == ServiceType.AUTHENTICATION:
            return plain + cipher.encrypt(iv, b"", aad + plain)
        return cipher.encrypt(iv, plain, aad)

    def _ctr(self, p: SaParameters, iv: bytes, data: bytes) -> bytes:
        key = self.keys.ctr_key(p.key_id)
        if key is None:
            raise InactiveSaError(f"key {p.key_id} of SA {p.spi} is not active", p.spi)
        context = Cipher(algorithms.AES(key), modes.CTR(iv + _CTR_FIRST_BLOCK)).encryptor()
        return context.update(data) + context.finalize()

    # ------------------------------------------------------------ receiving end (board)

    def process(self, frame: TcFrame, octets: bytes) -> VerifiedFrame:
        """Verify (and decrypt) a frame unpacked from `octets`; the ARSN is not yet committed.

        Raises an `SdlsError` (counted, latched in the FSR) for anything that does not verify.
        """
        try:
            verified = self._process(frame, octets)
        except SdlsError as error:
            self.rejections[error.reason] += 1
            latch = self._fsr
            if error.reason == RejectReason.REPLAY:
                latch.bad_sn = True
            elif error.reason == RejectReason.BAD_MAC:
                latch.bad_mac = True
            elif error.reason in (RejectReason.UNKNOWN_SPI, RejectReason.INACTIVE_SA):
                latch.bad_sa = True
            raise
        self._fsr.last_spi = verified.spi
        if verified.sequence_number is not None:
            self._fsr.last_sn = verified.sequence_number
        return verified

    def _process(self, frame: TcFrame, octets: bytes) -> VerifiedFrame:
        data = frame.data
        if len(data) < SPI_OCTETS:
            raise SecurityHeaderError(f"frame data of {len(data)} octets has no SPI")
        spi = (data[0] << 8) | data[1]
        sa = self._sas.get(spi)
        if sa is None:
            raise UnknownSpiError(f"no security association with SPI {spi}", spi)
        p = sa.parameters
        if (frame.spacecraft_id, frame.virtual_channel_id) != (p.spacecraft_id,
                                                               p.virtual_channel_id):
            raise UnknownSpiError(f"SA {spi} is not for VC {frame.virtual_channel_id}", spi)
        if not sa.active:
            raise InactiveSaError(f"SA {spi} is not active", spi)
        if len(data) < p.overhead_octets + 1:
            raise SecurityHeaderError(
                f"frame data of {len(data)} octets cannot hold SA {spi}'s "
                f"{p.overhead_octets} octets of security header and trailer and any data", spi,
            )
        iv_end = SPI_OCTETS + p.iv_length
        header_end = p.header_octets
        iv = data[SPI_OCTETS:iv_end]
        number = int.from_bytes(data[iv_end:header_end], "big") if header_end > iv_end else None
        body = data[header_end : len(data) - p.mac_length]
        aad = octets[: frame.header_octets] + data[:header_end]
        service = p.service_type
        if service == ServiceType.CLEAR:
            plain = body
        elif service == ServiceType.ENCRYPTION:
            plain = self._ctr(p, iv, body)
        else:
            cipher = self.keys.cipher(p.key_id)
            if cipher is None:
                raise InactiveSaError(f"key {p.key_id} of SA {spi} is not active", spi)
            try:
                if service == ServiceType.AUTHENTICATION:
                    cipher.decrypt(iv, data[len(data) - p.mac_length :], aad + body)
                    plain = body
                else:
                    plain = cipher.decrypt(iv, data[header_end:], aad)
            except InvalidTag:
                raise BadMacError(f"SA {spi}: MAC does not verify", spi) from None
        if number is not None and sa.window.seen(number):
            raise ReplayError(
                f"SA {spi}: sequence number {number} already used or outside the window "
                f"(highest {sa.window.highest}, window {sa.window.size})",
                spi, number, sa.window.highest,
            )
        self.verified += 1
        return VerifiedFrame(replace(frame, data=plain), spi, number)

    def commit(self, verified: VerifiedFrame) -> None:
        """Mark the frame's ARSN used (call once FARM-1 has accepted the frame)."""
        if verified.sequence_number is not None:
            self._sas[verified.spi].window.mark(verified.sequence_number)

    # ------------------------------------------------------------ reporting

    def fsr(self) -> int:
        """The Frame Security Report word; its event flags cover the time since the last call."""
        latch = self._fsr
        word = fsr_word(
            alarm=latch.bad_sn or latch.bad_mac or latch.bad_sa,
            bad_sn=latch.bad_sn, bad_mac=latch.bad_mac, bad_sa=latch.bad_sa,
            last_spi=latch.last_spi, last_sn=latch.last_sn,
        )
        latch.bad_sn = latch.bad_mac = latch.bad_sa = False
        return word
