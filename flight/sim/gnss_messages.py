"""Encoders for what the simulated receiver says: NMEA 0183 (version 4.10 field layout, as
u-blox receivers emit it) and u-blox UBX frames.

These are written independently of `drivers.gnss` (the flight software's decoder): the simulator
is the test oracle for that decoder, so it must not share its code. NMEA sentences are
`$<address>,<fields>*<XOR checksum>\\r\\n`; UBX frames are sync 0xB5 0x62, class, id,
little-endian length, payload, 8-bit Fletcher checksum over class..payload.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Final

NMEA_MAX_CHARS: Final = 82  # including "$" and CR LF
UBX_SYNC: Final = b"\xb5\x62"

# UBX classes and ids the receiver emits or answers
NAV: Final = 0x01
ACK: Final = 0x05
CFG: Final = 0x06
NMEA_STD: Final = 0xF0
NAV_PVT: Final = 0x07
NAV_TIMEUTC: Final = 0x21
NAV_SAT: Final = 0x35
NAV_EOE: Final = 0x61
ACK_NAK: Final = 0x00
ACK_ACK: Final = 0x01

_PVT: Final = struct.Struct("<IHBBBBBBIiBBBBiiiiIIiiiiiIIHH4xihH")
_TIMEUTC: Final = struct.Struct("<IIiHBBBBBB")
_SAT_HEAD: Final = struct.Struct("<IBBxx")
_SAT_SV: Final = struct.Struct("<BBBbhhI")


def nmea_sentence(address: str, fields: list[str]) -> bytes:
    body = ",".join([address, *fields]).encode("ascii")
    checksum = 0
    for c in body:
        checksum ^= c
    sentence = b"$%s*%02X\r\n" % (body, checksum)
    if len(sentence) > NMEA_MAX_CHARS:
        raise ValueError(f"{address} sentence of {len(sentence)} characters exceeds "
                         f"{NMEA_MAX_CHARS}")
    return sentence


def nmea_time(utc: dt.datetime | None) -> str:
    if utc is None:
        return ""
    return f"{utc.hour:02d}{utc.minute:02d}{utc.second:02d}.{utc.microsecond // 10000:02d}"


def nmea_date(utc: dt.datetime | None) -> str:
    return "" if utc is None else f"{utc.day:02d}{utc.month:02d}{utc.year % 100:02d}"


def nmea_latitude(lat_deg: float) -> tuple[str, str]:
    units = round(abs(lat_deg) * 6_000_000)  # 1e-5 minute
    deg, rest = divmod(units, 6_000_000)
    return f"{deg:02d}{rest // 100000:02d}.{rest % 100000:05d}", "N" if lat_deg >= 0 else "S"


def nmea_longitude(lon_deg: float) -> tuple[str, str]:
    lon = (lon_deg + 180.0) % 360.0 - 180.0
    units = round(abs(lon) * 6_000_000)
    deg, rest = divmod(units, 6_000_000)
    return f"{deg:03d}{rest // 100000:02d}.{rest % 100000:05d}", "E" if lon >= 0 else "W"


def fletcher(data: bytes) -> bytes:
    a = b = 0
    for c in data:
        a = (a + c) & 0xFF
        b = (b + a) & 0xFF
    return bytes((a, b))


def ubx_frame(msg_class: int, msg_id: int, payload: bytes) -> bytes:
    body = struct.pack("<BBH", msg_class, msg_id, len(payload)) + payload
    return UBX_SYNC + body + fletcher(body)


def nav_pvt(*, itow_ms: int, utc: dt.datetime, valid: int, t_acc_ns: int, nano_ns: int,
            fix_type: int, flags: int, flags2: int, num_sv: int, lon_deg: float, lat_deg: float,
            height_m: float, hmsl_m: float, h_acc_m: float, v_acc_m: float,
            vel_ned_m_s: tuple[float, float, float], ground_speed_m_s: float,
            heading_deg: float, s_acc_m_s: float, head_acc_deg: float, pdop: float) -> bytes:
    payload = _PVT.pack(
        itow_ms, utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, valid, t_acc_ns,
        nano_ns, fix_type, flags, flags2, num_sv, round(lon_deg * 1e7), round(lat_deg * 1e7),
        round(height_m * 1e3), round(hmsl_m * 1e3), round(h_acc_m * 1e3), round(v_acc_m * 1e3),
        round(vel_ned_m_s[0] * 1e3), round(vel_ned_m_s[1] * 1e3), round(vel_ned_m_s[2] * 1e3),
        round(ground_speed_m_s * 1e3), round(heading_deg * 1e5), round(s_acc_m_s * 1e3),
        round(head_acc_deg * 1e5), min(0xFFFF, round(pdop * 100)), 0, 0, 0, 0)
    return ubx_frame(NAV, NAV_PVT, payload)


def nav_timeutc(*, itow_ms: int, t_acc_ns: int, nano_ns: int, utc: dt.datetime,
                valid: int) -> bytes:
    payload = _TIMEUTC.pack(itow_ms, t_acc_ns, nano_ns, utc.year, utc.month, utc.day, utc.hour,
                            utc.minute, utc.second, valid)
    return ubx_frame(NAV, NAV_TIMEUTC, payload)


def nav_sat(itow_ms: int, satellites: list[tuple[int, int, int, int, int, int]]) -> bytes:
    """Satellites as (gnssId, svId, C/N0 dB-Hz, elevation deg, azimuth deg, flags)."""
    payload = bytearray(_SAT_HEAD.pack(itow_ms, 1, len(satellites)))
    for gnss_id, sv, cno, elev, azim, flags in satellites:
        payload += _SAT_SV.pack(gnss_id, sv, cno, elev, azim, 0, flags)
    return ubx_frame(NAV, NAV_SAT, bytes(payload))


def nav_eoe(itow_ms: int) -> bytes:
    return ubx_frame(NAV, NAV_EOE, struct.pack("<I", itow_ms))


def ack(msg_class: int, msg_id: int, acknowledged: bool) -> bytes:
    return ubx_frame(ACK, ACK_ACK if acknowledged else ACK_NAK, bytes((msg_class, msg_id)))
