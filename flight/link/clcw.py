"""The Communications Link Control Word (232.0-B-4 4.2.1.4, for COP-1 in 232.1-B-2).

32 bits, carried in the TM frame's operational control field, from FARM-1 on board to FOP-1 on
the ground: control word type (0), version (00), status field (3), COP in effect (01 = COP-1),
VCID (6), spare (2), no RF available, no bit lock, lockout, wait, retransmit, FARM-B counter (2),
spare (1), report value V(R) (8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from flight.link.errors import FieldValueError, TruncatedError, VersionError

COP_1: Final[int] = 0b01
CLCW_OCTETS: Final[int] = 4


@dataclass(frozen=True, slots=True)
class Clcw:
    virtual_channel_id: int
    report_value: int
    lockout: bool = False
    wait: bool = False
    retransmit: bool = False
    farm_b_counter: int = 0
    no_rf_available: bool = False
    no_bit_lock: bool = False
    status_field: int = 0
    cop_in_effect: int = COP_1

    def __post_init__(self) -> None:
        if not 0 <= self.virtual_channel_id < 64:
            raise FieldValueError("CLCW VCID", self.virtual_channel_id, "0..63")
        if not 0 <= self.report_value < 256:
            raise FieldValueError("CLCW report value", self.report_value, "0..255")
        if not 0 <= self.farm_b_counter < 4:
            raise FieldValueError("CLCW FARM-B counter", self.farm_b_counter, "0..3")
        if not 0 <= self.status_field < 8:
            raise FieldValueError("CLCW status field", self.status_field, "0..7")
        if not 0 <= self.cop_in_effect < 4:
            raise FieldValueError("CLCW COP in effect", self.cop_in_effect, "0..3")

    def to_word(self) -> int:
        return (
            (self.status_field << 26)
            | (self.cop_in_effect << 24)
            | (self.virtual_channel_id << 18)
            | (self.no_rf_available << 15)
            | (self.no_bit_lock << 14)
            | (self.lockout << 13)
            | (self.wait << 12)
            | (self.retransmit << 11)
            | (self.farm_b_counter << 9)
            | self.report_value
        )

    def pack(self) -> bytes:
        return self.to_word().to_bytes(4, "big")

    @classmethod
    def from_word(cls, word: int) -> Clcw:
        if not 0 <= word < 1 << 32:
            raise FieldValueError("CLCW", word, "a 32-bit word")
        if word >> 31:
            raise FieldValueError("control word type", 1, "0 for a CLCW (1 is an SDLS FSR)")
        if (word >> 29) & 0b11:
            raise VersionError("CLCW", (word >> 29) & 0b11, 0)
        return cls(
            virtual_channel_id=(word >> 18) & 0x3F,
            report_value=word & 0xFF,
            lockout=bool(word & (1 << 13)),
            wait=bool(word & (1 << 12)),
            retransmit=bool(word & (1 << 11)),
            farm_b_counter=(word >> 9) & 0b11,
            no_rf_available=bool(word & (1 << 15)),
            no_bit_lock=bool(word & (1 << 14)),
            status_field=(word >> 26) & 0b111,
            cop_in_effect=(word >> 24) & 0b11,
        )

    @classmethod
    def unpack(cls, data: bytes | bytearray | memoryview) -> Clcw:
        if len(data) != CLCW_OCTETS:
            raise TruncatedError("CLCW", CLCW_OCTETS, len(data))
        return cls.from_word(int.from_bytes(data, "big"))
