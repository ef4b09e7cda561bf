"""File directive PDUs (727.0-B-5 section 5.2): EOF, Finished, ACK, Metadata, NAK, Prompt and
Keep Alive, each a frozen value with `pack()` and `unpack(data)`.

The data field starts with the directive code octet. File-size-sensitive fields (sizes, offsets,
progress) are 32 bits, or 64 with the header's large file flag. `decode_pdu` in `flight.cfdp.pdu`
reads any PDU; each class's `unpack` also refuses a PDU of another kind.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar, Final, Self

from flight.cfdp.defs import (
    ACK_SUBTYPE_FINISHED,
    ChecksumType,
    ConditionCode,
    DeliveryCode,
    DirectiveCode,
    FileStatus,
    PduType,
    ResponseRequired,
    TlvType,
    TransactionStatus,
)
from flight.cfdp.errors import PduFieldError, PduTruncatedError
from flight.cfdp.header import PduHeader, unpack_header
from flight.cfdp.tlv import (
    FilestoreResponse,
    Tlv,
    decode_name,
    encode_name,
    entity_id_from,
    entity_id_tlv,
    pack_tlvs,
    unpack_lv,
    unpack_tlvs,
)

_CONDITIONS: Final = {c.value: c for c in ConditionCode}
_CHECKSUMS: Final = {c.value: c for c in ChecksumType}
_STATUSES: Final = tuple(TransactionStatus)
_FILE_STATUSES: Final = tuple(FileStatus)
_DELIVERY: Final = tuple(DeliveryCode)
_U32: Final = struct.Struct(">I")


def _fss(header: PduHeader) -> struct.Struct:
    return _FSS8 if header.large_file else _FSS4


_FSS4: Final = struct.Struct(">I")
_FSS8: Final = struct.Struct(">Q")


def _pack_fss(header: PduHeader, value: int, what: str) -> bytes:
    limit = 1 << (8 * header.fss_octets)
    if value.__class__ is not int or not 0 <= value < limit:
        raise PduFieldError(what, value, f"0..{limit - 1} (large file flag {header.large_file})")
    return value.to_bytes(header.fss_octets, "big")


def _condition(code: int) -> ConditionCode:
    c = _CONDITIONS.get(code)
    if c is None:
        raise PduFieldError("condition code", code, "a code of 727.0-B-5 table 5-5")
    return c


def _need(data: bytes, pos: int, n: int, end: int, what: str) -> None:
    if pos + n > end:
        raise PduTruncatedError(what, n, end - pos)


def _fault_location(tlvs: tuple[Tlv, ...]) -> tuple[int | None, tuple[Tlv, ...]]:
    """Split the entity ID TLV (fault location) from the other TLVs."""
    location = None
    rest = []
    for t in tlvs:
        if t.type == TlvType.ENTITY_ID:
            location = entity_id_from(t)
        else:
            rest.append(t)
    return location, tuple(rest)


class _Directive:
    """What every directive PDU shares: `unpack` checks the PDU is of the class's kind."""

    __slots__ = ()
    code: ClassVar[DirectiveCode]

    @classmethod
    def unpack(cls, data: bytes) -> Self:
        header, pdu_type, _, start, end = unpack_header(data)
        if pdu_type != PduType.FILE_DIRECTIVE or start == end or data[start] != cls.code:
            found = "file data" if pdu_type == PduType.FILE_DATA else (
                f"directive {data[start]:#04x}" if start < end else "an empty data field")
            raise PduFieldError("PDU kind", found, f"{cls.code.name} directive")
        return cls._from_body(header, data, start + 1, end)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class EofPdu(_Directive):
    code: ClassVar[DirectiveCode] = DirectiveCode.EOF
    header: PduHeader
    condition_code: ConditionCode
    checksum: int
    file_size: int
    fault_location: int | None = None

    def pack(self) -> bytes:
        if not 0 <= self.checksum <= 0xFFFFFFFF:
            raise PduFieldError("file checksum", self.checksum, "32 bits")
        body = bytes((DirectiveCode.EOF, self.condition_code << 4))
        body += _U32.pack(self.checksum) + _pack_fss(self.header, self.file_size, "file size")
        if self.fault_location is not None:
            body += entity_id_tlv(self.fault_location, self.header.entity_id_length).pack()
        return self.header.frame(PduType.FILE_DIRECTIVE, body)


    @classmethod
    def _from_body(cls, header: PduHeader, data: bytes, pos: int, end: int) -> EofPdu:
        fss = _fss(header)
        _need(data, pos, 5 + fss.size, end, "EOF PDU")
        condition = _condition(data[pos] >> 4)
        checksum = _U32.unpack_from(data, pos + 1)[0]
        size = fss.unpack_from(data, pos + 5)[0]
        location, _ = _fault_location(unpack_tlvs(data, pos + 5 + fss.size, end))
        return cls(header, condition, checksum, size, location)


@dataclass(frozen=True, slots=True)
class FinishedPdu(_Directive):
    code: ClassVar[DirectiveCode] = DirectiveCode.FINISHED
    header: PduHeader
    condition_code: ConditionCode
    delivery_code: DeliveryCode
    file_status: FileStatus
    filestore_responses: tuple[FilestoreResponse, ...] = ()
    fault_location: int | None = None

    def pack(self) -> bytes:
        body = bytes((
            DirectiveCode.FINISHED,
            (self.condition_code << 4) | (self.delivery_code << 2) | self.file_status,
        ))
        body += pack_tlvs(tuple(r.to_tlv() for r in self.filestore_responses))
        if self.fault_location is not None:
            body += entity_id_tlv(self.fault_location, self.header.entity_id_length).pack()
        return self.header.frame(PduType.FILE_DIRECTIVE, body)


    @classmethod
    def _from_body(cls, header: PduHeader, data: bytes, pos: int, end: int) -> FinishedPdu:
        _need(data, pos, 1, end, "Finished PDU")
        flags = data[pos]
        location, rest = _fault_location(unpack_tlvs(data, pos + 1, end))
        responses = tuple(
            FilestoreResponse.from_tlv(t) for t in rest if t.type == TlvType.FILESTORE_RESPONSE
        )
        return cls(header, _condition(flags >> 4), _DELIVERY[(flags >> 2) & 1],
                   _FILE_STATUSES[flags & 0b11], responses, location)


@dataclass(frozen=True, slots=True)
class AckPdu(_Directive):
    """Acknowledges an EOF (sent by the receiver) or a Finished PDU (sent by the sender)."""

    code: ClassVar[DirectiveCode] = DirectiveCode.ACK
    header: PduHeader
    acked_directive: DirectiveCode
    condition_code: ConditionCode
    transaction_status: TransactionStatus

    def pack(self) -> bytes:
        if self.acked_directive not in (DirectiveCode.EOF, DirectiveCode.FINISHED):
            raise PduFieldError("acknowledged directive", self.acked_directive, "EOF or Finished")
        subtype = ACK_SUBTYPE_FINISHED if self.acked_directive == DirectiveCode.FINISHED else 0
        body = bytes((
            DirectiveCode.ACK,
            (self.acked_directive << 4) | subtype,
            (self.condition_code << 4) | self.transaction_status,
        ))
        return self.header.frame(PduType.FILE_DIRECTIVE, body)


    @classmethod
    def _from_body(cls, header: PduHeader, data: bytes, pos: int, end: int) -> AckPdu:
        _need(data, pos, 2, end, "ACK PDU")
        acked = data[pos] >> 4
        if acked == DirectiveCode.EOF:
            directive = DirectiveCode.EOF
        elif acked == DirectiveCode.FINISHED:
            directive = DirectiveCode.FINISHED
        else:
            raise PduFieldError("acknowledged directive", acked, "EOF (4) or Finished (5)")
        return cls(header, directive, _condition(data[pos + 1] >> 4),
                   _STATUSES[data[pos + 1] & 0b11])


@dataclass(frozen=True, slots=True)
class MetadataPdu(_Directive):
    """Starts a transaction: closure request, checksum type, file size, names and options.

    Empty names mean a transaction without file data. `checksum_type` is an int when the code is
    not in the SANA registry (the receiver then declares an unsupported checksum type).
    """

    code: ClassVar[DirectiveCode] = DirectiveCode.METADATA
    header: PduHeader
    closure_requested: bool
    checksum_type: ChecksumType | int
    file_size: int
    source_file_name: str
    destination_file_name: str
    options: tuple[Tlv, ...] = field(default=())

    def pack(self) -> bytes:
        if not 0 <= self.checksum_type <= 0xF:
            raise PduFieldError("checksum type", self.checksum_type, "0..15")
        body = bytes((DirectiveCode.METADATA, (self.closure_requested << 6) | self.checksum_type))
        body += _pack_fss(self.header, self.file_size, "file size")
        body += encode_name(self.source_file_name, "source file name")
        body += encode_name(self.destination_file_name, "destination file name")
        body += pack_tlvs(self.options)
        return self.header.frame(PduType.FILE_DIRECTIVE, body)

    def options_of(self, tlv_type: TlvType) -> tuple[Tlv, ...]:
        return tuple(t for t in self.options if t.type == tlv_type)


    @classmethod
    def _from_body(cls, header: PduHeader, data: bytes, pos: int, end: int) -> MetadataPdu:
        fss = _fss(header)
        _need(data, pos, 1 + fss.size, end, "Metadata PDU")
        flags = data[pos]
        size = fss.unpack_from(data, pos + 1)[0]
        source, p = unpack_lv(data, pos + 1 + fss.size, end, "source file name")
        dest, p = unpack_lv(data, p, end, "destination file name")
        code = flags & 0xF
        return cls(header, bool(flags & 0x40), _CHECKSUMS.get(code, code), size,
                   decode_name(source, "source file name"),
                   decode_name(dest, "destination file name"), unpack_tlvs(data, p, end))


@dataclass(frozen=True, slots=True)
class NakPdu(_Directive):
    """Requests retransmission: (start, end) offset pairs within the scope; (0, 0) is Metadata."""

    code: ClassVar[DirectiveCode] = DirectiveCode.NAK
    header: PduHeader
    start_of_scope: int
    end_of_scope: int
    segment_requests: tuple[tuple[int, int], ...] = ()

    def pack(self) -> bytes:
        h = self.header
        body = bytes((DirectiveCode.NAK,))
        body += _pack_fss(h, self.start_of_scope, "start of scope")
        body += _pack_fss(h, self.end_of_scope, "end of scope")
        body += b"".join(
            _pack_fss(h, s, "segment request start") + _pack_fss(h, e, "segment request end")
            for s, e in self.segment_requests
        )
        return h.frame(PduType.FILE_DIRECTIVE, body)


    @classmethod
    def _from_body(cls, header: PduHeader, data: bytes, pos: int, end: int) -> NakPdu:
        n = header.fss_octets
        _need(data, pos, 2 * n, end, "NAK PDU")
        rest = end - pos - 2 * n
        if rest % (2 * n):
            raise PduFieldError("NAK segment requests length", rest,
                                f"a multiple of {2 * n} octets")
        count = rest // n
        values = struct.unpack_from(f">{count + 2}{'Q' if n == 8 else 'I'}", data, pos)
        pairs = tuple(zip(values[2::2], values[3::2], strict=True))
        return cls(header, values[0], values[1], pairs)


@dataclass(frozen=True, slots=True)
class PromptPdu(_Directive):
    code: ClassVar[DirectiveCode] = DirectiveCode.PROMPT
    header: PduHeader
    response_required: ResponseRequired

    def pack(self) -> bytes:
        body = bytes((DirectiveCode.PROMPT, self.response_required << 7))
        return self.header.frame(PduType.FILE_DIRECTIVE, body)


    @classmethod
    def _from_body(cls, header: PduHeader, data: bytes, pos: int, end: int) -> PromptPdu:
        _need(data, pos, 1, end, "Prompt PDU")
        response = ResponseRequired.KEEP_ALIVE if data[pos] & 0x80 else ResponseRequired.NAK
        return cls(header, response)


@dataclass(frozen=True, slots=True)
class KeepAlivePdu(_Directive):
    code: ClassVar[DirectiveCode] = DirectiveCode.KEEP_ALIVE
    header: PduHeader
    progress: int

    def pack(self) -> bytes:
        body = bytes((DirectiveCode.KEEP_ALIVE,)) + _pack_fss(self.header, self.progress,
                                                               "progress")
        return self.header.frame(PduType.FILE_DIRECTIVE, body)


    @classmethod
    def _from_body(cls, header: PduHeader, data: bytes, pos: int, end: int) -> KeepAlivePdu:
        fss = _fss(header)
        _need(data, pos, fss.size, end, "Keep Alive PDU")
        return cls(header, fss.unpack_from(data, pos)[0])


DIRECTIVES: Final = {
    DirectiveCode.EOF: EofPdu,
    DirectiveCode.FINISHED: FinishedPdu,
    DirectiveCode.ACK: AckPdu,
    DirectiveCode.METADATA: MetadataPdu,
    DirectiveCode.NAK: NakPdu,
    DirectiveCode.PROMPT: PromptPdu,
    DirectiveCode.KEEP_ALIVE: KeepAlivePdu,
}

