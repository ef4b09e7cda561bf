"""Decode any CFDP PDU: `decode_pdu(data)` returns the PDU value of the right class or raises a
`PduError` naming the fault; nothing else escapes, whatever the octets."""

from __future__ import annotations

from flight.cfdp.defs import PduType
from flight.cfdp.directives import (
    DIRECTIVES,
    AckPdu,
    EofPdu,
    FinishedPdu,
    KeepAlivePdu,
    MetadataPdu,
    NakPdu,
    PromptPdu,
)
from flight.cfdp.errors import PduTruncatedError, UnknownDirectiveError
from flight.cfdp.file_data import FileDataPdu
from flight.cfdp.header import unpack_header

Pdu = (
    FileDataPdu | MetadataPdu | EofPdu | FinishedPdu | AckPdu | NakPdu | PromptPdu | KeepAlivePdu
)

_BY_CODE = {int(code): cls for code, cls in DIRECTIVES.items()}


def decode_pdu(data: bytes) -> Pdu:
    header, pdu_type, segment_metadata, start, end = unpack_header(data)
    if pdu_type == PduType.FILE_DATA:
        return FileDataPdu._from_body(header, segment_metadata, data, start, end)
    if start >= end:
        raise PduTruncatedError("file directive code", 1, 0)
    cls = _BY_CODE.get(data[start])
    if cls is None:
        raise UnknownDirectiveError(data[start])
    return cls._from_body(header, data, start + 1, end)
