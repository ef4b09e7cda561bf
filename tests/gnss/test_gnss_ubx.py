"""UBX decoding: messages pyubx2 builds, we decode; frames we build, pyubx2 parses."""

from __future__ import annotations

import pytest
from pyubx2 import GET, UBXMessage, UBXReader

from drivers.gnss import ubx
from drivers.gnss.errors import UbxLengthError
from drivers.gnss.framer import Framer, UbxFrame
from drivers.gnss.nmea import Constellation


def ours(raw: bytes) -> ubx.UbxMessage:
    frames = Framer().feed(raw)
    assert len(frames) == 1 and isinstance(frames[0], UbxFrame)
    return ubx.decode(frames[0])


def test_nav_pvt_from_pyubx2() -> None:
    msg = UBXMessage(
        "NAV",
        "NAV-PVT",
        GET,
        iTOW=291019000,
        year=2017,
        month=7,
        day=19,
        hour=8,
        min=50,
        second=1,
        validDate=1,
        validTime=1,
        fullyResolved=1,
        tAcc=3,
        nano=-100313,
        fixType=3,
        gnssFixOk=1,
        diffSoln=1,
        numSV=14,
        lon=138.6081199,
        lat=-34.9062266,
        height=25378,
        hMSL=28849,
        hAcc=1133,
        vAcc=1603,
        velN=16,
        velE=-4,
        velD=11,
        gSpeed=16,
        headMot=31.47178,
        sAcc=170,
        headAcc=8.5,
        pDOP=1.45,
    )
    raw = msg.serialize()
    ref = UBXReader.parse(raw)
    m = ours(raw)
    assert isinstance(m, ubx.NavPvt)
    assert m.itow_ms == ref.iTOW and m.nano_ns == ref.nano and m.fix_type == ubx.FixType.FIX_3D
    assert m.lat_deg == pytest.approx(ref.lat, abs=1e-9)
    assert m.lon_deg == pytest.approx(ref.lon, abs=1e-9)
    assert m.height_m == pytest.approx(ref.height / 1000) and m.hmsl_m == pytest.approx(28.849)
    assert m.heading_motion_deg == pytest.approx(ref.headMot)
    assert m.pdop == pytest.approx(ref.pDOP) and m.num_sv == 14
    assert m.valid & ubx.PVT_VALID_DATE and m.flags & ubx.PVT_GNSS_FIX_OK


def test_nav_timeutc_and_timegps_from_pyubx2() -> None:
    utc = ours(
        UBXMessage(
            "NAV",
            "NAV-TIMEUTC",
            GET,
            iTOW=5000,
            tAcc=20,
            nano=-5,
            year=2024,
            month=3,
            day=28,
            hour=15,
            min=57,
            sec=37,
            validTOW=1,
            validWKN=1,
            validUTC=1,
            utcStandard=3,
        ).serialize()
    )
    assert isinstance(utc, ubx.NavTimeUtc)
    assert (utc.year, utc.second, utc.nano_ns) == (2024, 37, -5)
    assert utc.valid & ubx.TIMEUTC_UTC_VALID and utc.valid >> 4 == 3
    gps = ours(
        UBXMessage(
            "NAV",
            "NAV-TIMEGPS",
            GET,
            iTOW=5000,
            fTOW=-12,
            week=2307,
            leapS=18,
            towValid=1,
            weekValid=1,
            leapSValid=1,
            tAcc=9,
        ).serialize()
    )
    assert isinstance(gps, ubx.NavTimeGps)
    assert (gps.week, gps.leap_s, gps.ftow_ns, gps.valid) == (2307, 18, -12, 7)


def test_nav_sat_from_pyubx2() -> None:
    msg = UBXMessage(
        "NAV",
        "NAV-SAT",
        GET,
        iTOW=1000,
        version=1,
        numSvs=3,
        gnssId_01=0,
        svId_01=5,
        cno_01=38,
        elev_01=19,
        azim_01=284,
        prRes_01=1.5,
        svUsed_01=1,
        gnssId_02=6,
        svId_02=3,
        cno_02=20,
        elev_02=-2,
        azim_02=10,
        gnssId_03=2,
        svId_03=11,
        cno_03=41,
        elev_03=60,
        azim_03=200,
        svUsed_03=1,
    )
    m = ours(msg.serialize())
    assert isinstance(m, ubx.NavSat)
    assert [(s.constellation, s.sv_id, s.used) for s in m.satellites] == [
        (Constellation.GPS, 5, True),
        (Constellation.GLONASS, 3, False),
        (Constellation.GALILEO, 11, True),
    ]
    assert m.satellites[1].elevation_deg == -2


def test_legacy_solution_messages_from_pyubx2() -> None:
    sol = ours(
        UBXMessage(
            "NAV",
            "NAV-SOL",
            GET,
            iTOW=161764000,
            fTOW=-1234,
            week=2025,
            gpsFix=3,
            gpsfixOK=1,
            wknSet=1,
            towSet=1,
            ecefX=-238607106,
            ecefY=-392219051,
            ecefZ=441436073,
            pAcc=165,
            ecefVX=1,
            ecefVY=1,
            ecefVZ=-1,
            sAcc=2,
            pDOP=1.7,
            numSV=9,
        ).serialize()
    )
    assert isinstance(sol, ubx.NavSol)
    assert sol.ecef_m == pytest.approx((-2386071.06, -3922190.51, 4414360.73))
    assert sol.flags == 0x0D and sol.fix_type == ubx.FixType.FIX_3D and sol.num_sv == 9
    pos = ours(
        UBXMessage(
            "NAV", "NAV-POSECEF", GET, iTOW=1, ecefX=100, ecefY=-200, ecefZ=300, pAcc=5
        ).serialize()
    )
    assert isinstance(pos, ubx.NavPosEcef) and pos.ecef_m == pytest.approx((1.0, -2.0, 3.0))
    vel = ours(
        UBXMessage(
            "NAV", "NAV-VELECEF", GET, iTOW=1, ecefVX=10, ecefVY=0, ecefVZ=-5, sAcc=5
        ).serialize()
    )
    assert isinstance(vel, ubx.NavVelEcef) and vel.ecef_vel_mps == pytest.approx((0.1, 0, -0.05))
    dop = ours(
        UBXMessage(
            "NAV",
            "NAV-DOP",
            GET,
            iTOW=1,
            gDOP=2.5,
            pDOP=1.5,
            tDOP=1.1,
            vDOP=1.2,
            hDOP=0.8,
            nDOP=0.5,
            eDOP=0.6,
        ).serialize()
    )
    assert isinstance(dop, ubx.NavDop) and dop.hdop == pytest.approx(0.8)


@pytest.mark.parametrize("name, acknowledged", [("ACK-ACK", True), ("ACK-NAK", False)])
def test_ack_nak_from_pyubx2(name: str, acknowledged: bool) -> None:
    m = ours(UBXMessage("ACK", name, GET, clsID=0x06, msgID=0x24).serialize())
    assert m == ubx.Ack(acknowledged, 0x06, 0x24)


def test_wrong_length_and_unsupported() -> None:
    with pytest.raises(UbxLengthError) as info:
        ubx.decode(UbxFrame(0x01, 0x07, b"\x00" * 50))
    assert (info.value.expected, info.value.actual) == (92, 50)
    with pytest.raises(UbxLengthError):
        ubx.decode(
            UbxFrame(0x01, 0x35, b"\x00" * 4 + b"\x01\x05" + b"\x00" * 2)
        )  # 5 SVs, none sent
    with pytest.raises(ubx.UnsupportedMessage):
        ubx.decode(UbxFrame(0x02, 0x15, b""))


def test_frames_we_build_pyubx2_parses() -> None:
    raw = ubx.frame(ubx.MsgClass.ACK, ubx.AckId.NAK, b"\x06\x8a")
    parsed = UBXReader.parse(raw)
    assert parsed.identity == "ACK-NAK" and parsed.clsID == 6 and parsed.msgID == 0x8A
