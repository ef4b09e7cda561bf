"""u-blox UBX messages: the navigation solution, time and satellite messages, ACK/NAK, and framing.

`decode(frame)` turns a checksum-verified `UbxFrame` into a frozen value scaled to SI units and
degrees; a payload of the wrong length raises `UbxLengthError`, a message we do not use raises
`UnsupportedMessage`. `frame(msg_class, msg_id, payload)` builds a wire frame with its checksum.

Besides NAV-PVT (u-blox 7 on) we decode the older NAV-SOL / NAV-POSECEF / NAV-VELECEF /
NAV-TIMEGPS set, which many receivers in service still emit instead (u-blox M8T timing firmware).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from drivers.gnss.errors import GnssDecodeError, UbxLengthError
from drivers.gnss.framer import UBX_MAX_PAYLOAD, UBX_SYNC, UbxFrame, ubx_checksum
from drivers.gnss.nmea import Constellation


class MsgClass(IntEnum):
    NAV = 0x01
    RXM = 0x02
    INF = 0x04
    ACK = 0x05
    CFG = 0x06
    MON = 0x0A
    TIM = 0x0D


class NavId(IntEnum):
    POSECEF = 0x01
    POSLLH = 0x02
    DOP = 0x04
    SOL = 0x06
    PVT = 0x07
    VELECEF = 0x11
    TIMEGPS = 0x20
    TIMEUTC = 0x21
    SAT = 0x35
    EOE = 0x61


class AckId(IntEnum):
    NAK = 0x00
    ACK = 0x01


class CfgId(IntEnum):
    PRT = 0x00
    MSG = 0x01
    RST = 0x04
    RATE = 0x08
    CFG = 0x09
    NAV5 = 0x24
    VALSET = 0x8A
    VALGET = 0x8B


class FixType(IntEnum):
    """UBX fixType / gpsFix."""

    NO_FIX = 0
    DEAD_RECKONING = 1
    FIX_2D = 2
    FIX_3D = 3
    GNSS_DEAD_RECKONING = 4
    TIME_ONLY = 5


# NAV-PVT valid and flags bits
PVT_VALID_DATE: Final = 0x01
PVT_VALID_TIME: Final = 0x02
PVT_FULLY_RESOLVED: Final = 0x04
PVT_GNSS_FIX_OK: Final = 0x01
PVT_DIFF_SOLN: Final = 0x02
# NAV-SOL flags
SOL_GPS_FIX_OK: Final = 0x01
SOL_DIFF_SOLN: Final = 0x02
SOL_WEEK_VALID: Final = 0x04
SOL_TOW_VALID: Final = 0x08
# NAV-TIMEGPS valid
TIMEGPS_TOW_VALID: Final = 0x01
TIMEGPS_WEEK_VALID: Final = 0x02
TIMEGPS_LEAP_VALID: Final = 0x04
# NAV-TIMEUTC valid
TIMEUTC_TOW_VALID: Final = 0x01
TIMEUTC_WEEK_VALID: Final = 0x02
TIMEUTC_UTC_VALID: Final = 0x04
# NAV-SAT flags
SAT_USED: Final = 0x08

_PVT: Final = struct.Struct("<IH6BIi4B4i2I4iiIIHH4xihH")
_PVT_V7: Final = struct.Struct("<IH6BIi4B4i2I4iiIIH6x")  # u-blox 7: 84 octets, no flags3
_TIMEUTC: Final = struct.Struct("<IIiH6B")
_TIMEGPS: Final = struct.Struct("<IihbBI")
_SOL: Final = struct.Struct("<IihBBiiiIiiiIHxB4x")
_ECEF: Final = struct.Struct("<IiiiI")
_POSLLH: Final = struct.Struct("<IiiiiII")
_DOP: Final = struct.Struct("<I7H")
_SAT_HEAD: Final = struct.Struct("<IBB2x")
_SAT_SV: Final = struct.Struct("<BBBbhhI")
_EOE: Final = struct.Struct("<I")
_ACK: Final = struct.Struct("<BB")


class UnsupportedMessage(GnssDecodeError):
    """A well-formed UBX message this driver does not decode (counted, not an error)."""

    counter = "ubx_unsupported"

    def __init__(self, msg_class: int, msg_id: int) -> None:
        super().__init__(f"UBX message {msg_class:#04x} {msg_id:#04x} is not decoded")
        self.msg_class = msg_class
        self.msg_id = msg_id


@dataclass(frozen=True, slots=True)
class NavPvt:
    itow_ms: int
    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int
    valid: int  # PVT_VALID_* bits
    time_accuracy_ns: int
    nano_ns: int  # signed fraction of second, may be negative
    fix_type: FixType | int
    flags: int  # PVT_GNSS_FIX_OK, PVT_DIFF_SOLN, ...
    flags2: int
    num_sv: int
    lon_deg: float
    lat_deg: float
    height_m: float  # above the ellipsoid
    hmsl_m: float
    h_acc_m: float
    v_acc_m: float
    vel_n_mps: float
    vel_e_mps: float
    vel_d_mps: float
    ground_speed_mps: float
    heading_motion_deg: float
    speed_acc_mps: float
    heading_acc_deg: float
    pdop: float
    flags3: int


@dataclass(frozen=True, slots=True)
class NavTimeUtc:
    itow_ms: int
    time_accuracy_ns: int
    nano_ns: int
    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int
    valid: int  # TIMEUTC_* bits, utcStandard in the high nibble


@dataclass(frozen=True, slots=True)
class NavTimeGps:
    itow_ms: int
    ftow_ns: int
    week: int
    leap_s: int
    valid: int  # TIMEGPS_* bits
    time_accuracy_ns: int


@dataclass(frozen=True, slots=True)
class NavSol:
    itow_ms: int
    ftow_ns: int
    week: int
    fix_type: FixType | int
    flags: int  # SOL_* bits
    ecef_m: tuple[float, float, float]
    p_acc_m: float
    ecef_vel_mps: tuple[float, float, float]
    s_acc_mps: float
    pdop: float
    num_sv: int


@dataclass(frozen=True, slots=True)
class NavPosEcef:
    itow_ms: int
    ecef_m: tuple[float, float, float]
    p_acc_m: float


@dataclass(frozen=True, slots=True)
class NavVelEcef:
    itow_ms: int
    ecef_vel_mps: tuple[float, float, float]
    s_acc_mps: float


@dataclass(frozen=True, slots=True)
class NavPosLlh:
    itow_ms: int
    lon_deg: float
    lat_deg: float
    height_m: float
    hmsl_m: float
    h_acc_m: float
    v_acc_m: float


@dataclass(frozen=True, slots=True)
class NavDop:
    itow_ms: int
    gdop: float
    pdop: float
    tdop: float
    vdop: float
    hdop: float
    ndop: float
    edop: float


@dataclass(frozen=True, slots=True)
class SatelliteInfo:
    constellation: Constellation | int
    sv_id: int
    cno_dbhz: int
    elevation_deg: int
    azimuth_deg: int
    pseudorange_residual_m: float
    flags: int

    @property
    def used(self) -> bool:
        return bool(self.flags & SAT_USED)


@dataclass(frozen=True, slots=True)
class NavSat:
    itow_ms: int
    version: int
    satellites: tuple[SatelliteInfo, ...]


@dataclass(frozen=True, slots=True)
class NavEoe:
    itow_ms: int


@dataclass(frozen=True, slots=True)
class Ack:
    """ACK-ACK (acknowledged=True) or ACK-NAK for the command of class/id."""

    acknowledged: bool
    msg_class: int
    msg_id: int


UbxMessage = (
    NavPvt
    | NavTimeUtc
    | NavTimeGps
    | NavSol
    | NavPosEcef
    | NavVelEcef
    | NavPosLlh
    | NavDop
    | NavSat
    | NavEoe
    | Ack
)


def _exact(name: str, payload: bytes, size: int) -> None:
    if len(payload) != size:
        raise UbxLengthError(name, size, len(payload))


def _fix_type(value: int) -> FixType | int:
    return FixType(value) if value <= FixType.TIME_ONLY else value


def _constellation(value: int) -> Constellation | int:
    return Constellation(value) if value <= Constellation.NAVIC else value


def decode_nav_pvt(p: bytes) -> NavPvt:
    if len(p) == _PVT.size:
        v = _PVT.unpack(p)
    elif len(p) == _PVT_V7.size:
        v = (*_PVT_V7.unpack(p), 0)
    else:
        raise UbxLengthError("NAV-PVT", _PVT.size, len(p))
    return NavPvt(
        v[0],
        v[1],
        v[2],
        v[3],
        v[4],
        v[5],
        v[6],
        v[7],
        v[8],
        v[9],
        _fix_type(v[10]),
        v[11],
        v[12],
        v[13],
        v[14] * 1e-7,
        v[15] * 1e-7,
        v[16] * 1e-3,
        v[17] * 1e-3,
        v[18] * 1e-3,
        v[19] * 1e-3,
        v[20] * 1e-3,
        v[21] * 1e-3,
        v[22] * 1e-3,
        v[23] * 1e-3,
        v[24] * 1e-5,
        v[25] * 1e-3,
        v[26] * 1e-5,
        v[27] * 0.01,
        v[28],
    )


def decode_nav_timeutc(p: bytes) -> NavTimeUtc:
    _exact("NAV-TIMEUTC", p, _TIMEUTC.size)
    return NavTimeUtc(*_TIMEUTC.unpack(p))


def decode_nav_timegps(p: bytes) -> NavTimeGps:
    _exact("NAV-TIMEGPS", p, _TIMEGPS.size)
    return NavTimeGps(*_TIMEGPS.unpack(p))


def decode_nav_sol(p: bytes) -> NavSol:
    _exact("NAV-SOL", p, _SOL.size)
    v = _SOL.unpack(p)
    return NavSol(
        v[0],
        v[1],
        v[2],
        _fix_type(v[3]),
        v[4],
        (v[5] * 0.01, v[6] * 0.01, v[7] * 0.01),
        v[8] * 0.01,
        (v[9] * 0.01, v[10] * 0.01, v[11] * 0.01),
        v[12] * 0.01,
        v[13] * 0.01,
        v[14],
    )


def decode_nav_posecef(p: bytes) -> NavPosEcef:
    _exact("NAV-POSECEF", p, _ECEF.size)
    t, x, y, z, acc = _ECEF.unpack(p)
    return NavPosEcef(t, (x * 0.01, y * 0.01, z * 0.01), acc * 0.01)


def decode_nav_velecef(p: bytes) -> NavVelEcef:
    _exact("NAV-VELECEF", p, _ECEF.size)
    t, x, y, z, acc = _ECEF.unpack(p)
    return NavVelEcef(t, (x * 0.01, y * 0.01, z * 0.01), acc * 0.01)


def decode_nav_posllh(p: bytes) -> NavPosLlh:
    _exact("NAV-POSLLH", p, _POSLLH.size)
    t, lon, lat, h, hmsl, hacc, vacc = _POSLLH.unpack(p)
    return NavPosLlh(t, lon * 1e-7, lat * 1e-7, h * 1e-3, hmsl * 1e-3, hacc * 1e-3, vacc * 1e-3)


def decode_nav_dop(p: bytes) -> NavDop:
    _exact("NAV-DOP", p, _DOP.size)
    t, *dops = _DOP.unpack(p)
    return NavDop(t, *(d * 0.01 for d in dops))


def decode_nav_sat(p: bytes) -> NavSat:
    if len(p) < _SAT_HEAD.size:
        raise UbxLengthError("NAV-SAT", _SAT_HEAD.size, len(p))
    itow, version, count = _SAT_HEAD.unpack_from(p)
    size = _SAT_HEAD.size + count * _SAT_SV.size
    _exact("NAV-SAT", p, size)
    sats = tuple(
        SatelliteInfo(_constellation(g), sv, cno, elev, azim, res * 0.1, flags)
        for g, sv, cno, elev, azim, res, flags in _SAT_SV.iter_unpack(p[_SAT_HEAD.size :])
    )
    return NavSat(itow, version, sats)


def decode_nav_eoe(p: bytes) -> NavEoe:
    _exact("NAV-EOE", p, _EOE.size)
    return NavEoe(*_EOE.unpack(p))


def _decode_ack(acknowledged: bool, p: bytes) -> Ack:
    _exact("ACK-ACK" if acknowledged else "ACK-NAK", p, _ACK.size)
    return Ack(acknowledged, *_ACK.unpack(p))


_NAV_DECODERS: Final = {
    NavId.PVT: decode_nav_pvt,
    NavId.TIMEUTC: decode_nav_timeutc,
    NavId.TIMEGPS: decode_nav_timegps,
    NavId.SOL: decode_nav_sol,
    NavId.POSECEF: decode_nav_posecef,
    NavId.VELECEF: decode_nav_velecef,
    NavId.POSLLH: decode_nav_posllh,
    NavId.DOP: decode_nav_dop,
    NavId.SAT: decode_nav_sat,
    NavId.EOE: decode_nav_eoe,
}

NAMES: Final[dict[tuple[int, int], str]] = {(MsgClass.NAV, i): f"NAV-{i.name}" for i in NavId} | {
    (MsgClass.ACK, AckId.ACK): "ACK-ACK",
    (MsgClass.ACK, AckId.NAK): "ACK-NAK",
}


def decode(f: UbxFrame) -> UbxMessage:
    """Decode a checksum-verified frame; raises a `GnssDecodeError` subclass."""
    if f.msg_class == MsgClass.NAV:
        decoder = _NAV_DECODERS.get(f.msg_id)  # type: ignore[call-overload]
        if decoder is not None:
            return decoder(f.payload)
    elif f.msg_class == MsgClass.ACK and f.msg_id <= AckId.ACK:
        return _decode_ack(f.msg_id == AckId.ACK, f.payload)
    raise UnsupportedMessage(f.msg_class, f.msg_id)


def frame(msg_class: int, msg_id: int, payload: bytes = b"") -> bytes:
    """A complete UBX frame: sync, class, id, length, payload, checksum."""
    if len(payload) > UBX_MAX_PAYLOAD:
        raise UbxLengthError("UBX frame", UBX_MAX_PAYLOAD, len(payload))
    body = struct.pack("<BBH", msg_class, msg_id, len(payload)) + payload
    return UBX_SYNC + body + ubx_checksum(body).to_bytes(2, "little")
