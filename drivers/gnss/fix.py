"""Assemble decoded sentences and UBX messages into one fix per navigation epoch.

A receiver spreads one epoch over many messages: NMEA sends RMC, GGA, GSA, ... each with part of
the solution; UBX sends NAV-PVT or NAV-SOL/POSECEF/VELECEF/TIMEGPS, all stamped with the same
iTOW. The assembler accumulates them and publishes a `Fix` when the epoch is over.

Epoch boundaries follow gpsd, the reference our captures are checked against:
* NMEA: a sentence that carries a time of fix (GGA, RMC with a valid fix, GNS, GLL) and whose time
  differs from the previous such time by more than 10 ms starts a new epoch. ZDA carries time but
  does not start epochs (some receivers send it only with a fix), and never relabels an epoch.
* UBX: a change of iTOW starts a new epoch; NAV-EOE ends one at once.
Once UBX navigation messages have been seen, NMEA sentences no longer feed the fix, so a receiver
emitting both gives one fix per epoch, from its binary solution.

The fix mode from NMEA also follows gpsd's rules, which are not obvious: GGA gives 2D with a
position, 3D when it also has an altitude and at least 4 satellites, no fix under 3 satellites,
whatever its quality flag; RMC with a valid fix gives 2D, or 3D when the epoch already has an
altitude or more than 3 satellites are in use; GSA states the mode outright; and a 3D fix is not
downgraded within an epoch by a later sentence that does not say "no fix".

Heights: MSL altitude plus geoid separation gives the ellipsoidal height (and the reverse). When a
stream gives no separation (NAV-SOL gives only ECEF) the MSL altitude stays None: we carry no geoid
model, and the ellipsoidal height is what an orbit needs.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from drivers.gnss import nmea, ubx
from drivers.gnss.geodesy import (
    GPS_EPOCH,
    SECONDS_PER_WEEK,
    ecef_to_geodetic,
    ecef_to_ned_velocity,
    gps_to_utc,
)
from drivers.gnss.nmea import Constellation


class FixMode(IntEnum):
    NO_FIX = 1
    FIX_2D = 2
    FIX_3D = 3


@dataclass(frozen=True, slots=True)
class GnssTime:
    """What a time discipline needs from an epoch.

    `utc` is the epoch's UTC time (None until the receiver has given a date). GPS week and time of
    week come from UBX (NAV-PVT's iTOW, NAV-SOL, NAV-TIMEGPS); `leap_seconds` is GPS - UTC, from
    NAV-TIMEGPS or derived from NAV-TIMEUTC and iTOW, None where the stream did not give it.
    `time_valid` / `date_valid` / `fully_resolved` are the receiver's own validity flags (for NMEA:
    a time-of-day field / a date was present); `confirmed` is set when the receiver reports the
    date and time confirmed (NAV-PVT flags2) or, for NMEA, when the fix is valid.
    """

    utc: dt.datetime | None
    gps_week: int | None = None
    tow_s: float | None = None
    leap_seconds: int | None = None
    leap_valid: bool = False
    time_valid: bool = False
    date_valid: bool = False
    fully_resolved: bool = False
    confirmed: bool = False
    accuracy_ns: int | None = None


@dataclass(frozen=True, slots=True)
class Fix:
    """One navigation epoch. None wherever the stream gave no value."""

    time: dt.datetime | None
    mode: FixMode
    lat: float | None  # degrees
    lon: float | None  # degrees
    alt_hae: float | None  # m above the WGS 84 ellipsoid
    alt_msl: float | None  # m above mean sea level
    speed: float | None  # m/s over ground
    track: float | None  # degrees true
    climb: float | None = None  # m/s up
    vel_n: float | None = None  # m/s
    vel_e: float | None = None
    vel_d: float | None = None
    hdop: float | None = None
    vdop: float | None = None
    pdop: float | None = None
    gdop: float | None = None
    tdop: float | None = None
    satellites_used: dict[Constellation, int] = field(default_factory=dict)
    timing: GnssTime | None = None
    source: str = "nmea"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in Fix.__slots__:  # type: ignore[attr-defined]
            value = getattr(self, name)
            if name == "time":
                value = iso8601(value)
            elif name == "mode":
                value = int(value)
            elif name == "satellites_used":
                value = {c.name: n for c, n in value.items()}
            elif name == "timing":
                value = (
                    None
                    if value is None
                    else {
                        k: iso8601(getattr(value, k)) if k == "utc" else getattr(value, k)
                        for k in GnssTime.__slots__  # type: ignore[attr-defined]
                    }
                )
            out[name] = value
        return out


def iso8601(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    t += dt.timedelta(microseconds=500)  # to the nearest millisecond, as gpsd prints it
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


class _Acc:
    """The epoch being accumulated (gpsd's gpsdata.fix plus what our Fix adds)."""

    __slots__ = (
        "mode",
        "time",
        "lat",
        "lon",
        "alt_hae",
        "alt_msl",
        "geoid_sep",
        "speed",
        "track",
        "climb",
        "vel",
        "hdop",
        "vdop",
        "pdop",
        "gdop",
        "tdop",
        "sats",
        "timing",
        "touched",
    )

    def __init__(self) -> None:
        self.mode = 0  # 0 = not seen
        self.time: dt.datetime | None = None
        self.lat: float | None = None
        self.lon: float | None = None
        self.alt_hae: float | None = None
        self.alt_msl: float | None = None
        self.geoid_sep: float | None = None
        self.speed: float | None = None
        self.track: float | None = None
        self.climb: float | None = None
        self.vel: tuple[float, float, float] | None = None
        self.hdop: float | None = None
        self.vdop: float | None = None
        self.pdop: float | None = None
        self.gdop: float | None = None
        self.tdop: float | None = None
        self.sats: dict[Constellation, int] = {}
        self.timing: GnssTime | None = None
        self.touched = False

    def has_alt(self) -> bool:
        return self.alt_hae is not None or self.alt_msl is not None

    def complete_heights(self) -> None:
        if self.geoid_sep is not None:
            if self.alt_hae is not None and self.alt_msl is None:
                self.alt_msl = self.alt_hae - self.geoid_sep
            elif self.alt_hae is None and self.alt_msl is not None:
                self.alt_hae = self.alt_msl + self.geoid_sep

    def to_fix(self, source: str) -> Fix:
        mode = FixMode(self.mode) if self.mode in (2, 3) else FixMode.NO_FIX
        vn = ve = vd = None
        if self.vel is not None:
            vn, ve, vd = self.vel
        timing = (
            self.timing
            if self.timing is not None
            else GnssTime(
                utc=self.time,
                time_valid=self.time is not None,
                date_valid=self.time is not None,
                confirmed=self.time is not None and mode >= FixMode.FIX_2D,
            )
        )
        return Fix(
            self.time,
            mode,
            self.lat,
            self.lon,
            self.alt_hae,
            self.alt_msl,
            self.speed,
            self.track,
            self.climb,
            vn,
            ve,
            vd,
            self.hdop,
            self.vdop,
            self.pdop,
            self.gdop,
            self.tdop,
            dict(self.sats),
            timing,
            source,
        )


class FixAssembler:
    """Feed decoded messages in stream order; `add` returns the fixes completed by each one."""

    def __init__(self) -> None:
        self._acc = _Acc()
        self.fixes_published = 0
        # NMEA state, as gpsd keeps it
        self._date: dt.date | None = None
        self._frac_time = 0.0
        self._gsa_talker = ""
        self._gsa_seen: set[str] = set()
        self._gga_talker = ""
        self._gga_stamp: float | None = None
        self._latch_mode = False
        self._sats_used: list[tuple[Constellation | None, int]] = []
        self._lastfix_time: dt.datetime | None = None
        self._lastfix_mode = 0
        self._lastfix_alt = False
        self._oldfix_alt = False
        # UBX state
        self._ubx_seen = False
        self._itow: int | None = None
        self._leap_s: int | None = None
        self._leap_valid = False
        self._week: int | None = None
        self._pending_ecef: tuple[float, float, float] | None = None
        self._pending_vel: tuple[float, float, float] | None = None

    # ------------------------------------------------------------------ public

    def add(self, message: nmea.Sentence | ubx.UbxMessage) -> list[Fix]:
        handler = _HANDLERS.get(type(message))
        if handler is None:
            return []
        return handler(self, message)

    def flush(self) -> list[Fix]:
        """End of stream: publish the epoch in progress."""
        return self._publish()

    # ------------------------------------------------------------------ common

    def _publish(self) -> list[Fix]:
        acc = self._acc
        self._acc = _Acc()
        if not acc.touched:
            return []
        self.fixes_published += 1
        return [acc.to_fix("ubx" if self._ubx_seen else "nmea")]

    # ------------------------------------------------------------------ NMEA

    def _resolve(self, time_s: float | None) -> dt.datetime | None:
        if time_s is None or self._date is None:
            return None
        micro = round(time_s * 1e6)
        return dt.datetime(
            self._date.year, self._date.month, self._date.day, tzinfo=dt.UTC
        ) + dt.timedelta(microseconds=micro)

    def _nmea(
        self,
        *,
        registers: float | None = None,
        time_s: float | None = None,
        mode: int | None = None,
        latlon: tuple[float, float] | None = None,
        alt_msl: float | None = None,
        geoid_sep: float | None = None,
        speed: float | None = None,
        track: float | None = None,
        hdop: float | None = None,
        pdop: float | None = None,
        vdop: float | None = None,
        sats: bool = False,
    ) -> list[Fix]:
        """gpsd's nmea_parse tail and gpsd_poll merge for one sentence's new data."""
        out: list[Fix] = []
        if self._ubx_seen:
            return out
        acc = self._acc
        if (
            mode is not None
            and acc.mode == 3
            and mode != 1
            and (self._lastfix_alt or self._oldfix_alt)
        ):
            mode = 3  # don't downgrade a 3D fix within the epoch
        if registers is not None:
            if abs(registers - self._frac_time) > 0.01:
                out = self._publish()
                acc = self._acc
            self._frac_time = registers
        acc.touched = True
        when = self._resolve(time_s)
        if when is not None and acc.time is None:
            acc.time = when
        if latlon is not None:
            acc.lat, acc.lon = latlon
        if mode is not None:
            acc.mode = mode
        if alt_msl is not None:
            acc.alt_msl = alt_msl
        if geoid_sep is not None:
            acc.geoid_sep = geoid_sep
        if speed is not None:
            acc.speed = speed
        if track is not None:
            acc.track = track
        if hdop is not None:
            acc.hdop = hdop
        if pdop is not None:
            acc.pdop = pdop
        if vdop is not None:
            acc.vdop = vdop
        if sats:
            counts: dict[Constellation, int] = {}
            for constellation, _prn in self._sats_used:
                if constellation is not None:
                    counts[constellation] = counts.get(constellation, 0) + 1
            acc.sats = counts
        acc.complete_heights()
        if acc.time is not None:
            if (
                self._lastfix_time is None
                or abs((acc.time - self._lastfix_time).total_seconds()) > 0.0099
            ):
                self._oldfix_alt = self._lastfix_alt
            self._lastfix_time = acc.time
            self._lastfix_mode = acc.mode
            self._lastfix_alt = acc.has_alt()
        return out

    def _end_sentence(self, kind: str) -> None:
        if kind != "GSA":
            self._gsa_talker = ""

    def _on_gga(self, s: nmea.Gga) -> list[Fix]:
        previous_talker = self._gga_talker
        self._gga_talker = s.talker
        if previous_talker and previous_talker != s.talker:
            self._latch_mode = False
        else:
            self._latch_mode = s.time_s == self._gga_stamp
        if not self._latch_mode:
            self._gga_stamp = s.time_s
        mode = 1
        latlon = None
        if s.lat_deg is not None and s.lon_deg is not None:
            latlon = (s.lat_deg, s.lon_deg)
            mode = 2
            sats = s.satellites or 0
            if s.alt_msl_m is not None and sats >= 4:
                mode = 3
            if sats < 3:
                mode = 1
        if self._latch_mode:
            mode = 1
        hdop = s.hdop if s.hdop is not None and s.hdop < 99.0 else None
        self._end_sentence("GGA")
        return self._nmea(
            registers=s.time_s,
            time_s=s.time_s,
            mode=mode,
            latlon=latlon,
            alt_msl=s.alt_msl_m if latlon else None,
            geoid_sep=s.geoid_sep_m if latlon else None,
            hdop=hdop,
        )

    def _on_rmc(self, s: nmea.Rmc) -> list[Fix]:
        self._end_sentence("RMC")
        if s.status not in ("A", "D"):
            return self._nmea(mode=1)
        registers = None
        time_s = None
        if s.time_s is not None and s.date is not None:
            self._date = s.date
            registers = s.time_s
            time_s = s.time_s
        if s.lat_deg is not None and s.lon_deg is not None:
            latlon = (s.lat_deg, s.lon_deg)
            mode = 3 if self._lastfix_mode == 3 else 2
        else:
            latlon = None
            mode = 1
        acc = self._acc
        if len(self._sats_used) > 3 or acc.has_alt():
            mode = 3
        return self._nmea(
            registers=registers,
            time_s=time_s,
            mode=mode,
            latlon=latlon,
            speed=s.speed_mps,
            track=s.track_deg,
        )

    def _on_gns(self, s: nmea.Gns) -> list[Fix]:
        self._end_sentence("GNS")
        registers = s.time_s
        if not s.modes or s.modes[0] == "N":
            return self._nmea(registers=registers, time_s=s.time_s, mode=1)
        if s.nav_status in ("U", "V"):
            return self._nmea(registers=registers, time_s=s.time_s)
        if s.lat_deg is None or s.lon_deg is None:
            return self._nmea(registers=registers, time_s=s.time_s, mode=1, hdop=s.hdop)
        mode = 2
        if s.alt_msl_m is not None and (s.satellites or 0) > 3:
            mode = 3
        return self._nmea(
            registers=registers,
            time_s=s.time_s,
            mode=mode,
            latlon=(s.lat_deg, s.lon_deg),
            alt_msl=s.alt_msl_m,
            geoid_sep=s.geoid_sep_m if s.alt_msl_m is not None else None,
            hdop=s.hdop,
        )

    def _on_gll(self, s: nmea.Gll) -> list[Fix]:
        self._end_sentence("GLL")
        registers = s.time_s
        if s.status != "A" or s.faa_mode == "N" or s.lat_deg is None or s.lon_deg is None:
            return self._nmea(registers=registers, time_s=s.time_s, mode=1)
        acc = self._acc
        if acc.has_alt() or len(self._sats_used) > 3:
            mode = 3
        elif acc.mode < 2 or not self._oldfix_alt:
            mode = 2
        else:
            mode = 0
        return self._nmea(
            registers=registers, time_s=s.time_s, mode=mode, latlon=(s.lat_deg, s.lon_deg)
        )

    def _on_gsa(self, s: nmea.Gsa) -> list[Fix]:
        previous = self._gsa_talker
        talker = s.talker
        if self._latch_mode or s.mode is None:
            self._gsa_talker = talker
            return self._nmea()
        if not previous or (talker == previous and talker != "GN"):
            self._sats_used = []
        self._gsa_talker = talker
        system = nmea.SYSTEM_ID_CONSTELLATION.get(s.system_id) if s.system_id else None
        for prn in s.prns:
            self._sats_used.append((system or nmea.constellation_of_prn(prn, talker), prn))
        mode: int | None = s.mode
        if self._gsa_seen - {"GP"} and talker == "GP":
            mode = None  # gpsd ignores GPGSA's mode when other GSA talkers are present
        self._gsa_seen.add(talker)
        dop = [d if d is not None and d < 99.0 else None for d in (s.pdop, s.hdop, s.vdop)]
        return self._nmea(mode=mode, pdop=dop[0], hdop=dop[1], vdop=dop[2], sats=True)

    def _on_vtg(self, s: nmea.Vtg) -> list[Fix]:
        self._end_sentence("VTG")
        if s.track_deg is None or s.speed_mps is None or s.faa_mode in ("E", "N"):
            return self._nmea()
        return self._nmea(speed=s.speed_mps, track=s.track_deg)

    def _on_zda(self, s: nmea.Zda) -> list[Fix]:
        self._end_sentence("ZDA")
        if s.date is None or s.time_s is None:
            return []
        self._date = s.date
        if not self._acc.touched:
            return []  # a ZDA before the epoch's first fix sentence does not open an epoch
        return self._nmea(time_s=s.time_s)

    def _on_gsv(self, s: nmea.Gsv) -> list[Fix]:
        self._end_sentence("GSV")
        return []

    # ------------------------------------------------------------------ UBX

    def _ubx_epoch(self, itow: int) -> list[Fix]:
        if not self._ubx_seen:
            self._ubx_seen = True
            self._acc = _Acc()
        out: list[Fix] = []
        if self._itow is not None and itow != self._itow:
            out = self._publish()
            self._pending_ecef = self._pending_vel = None
        self._itow = itow
        self._acc.touched = True
        return out

    def _on_nav_pvt(self, m: ubx.NavPvt) -> list[Fix]:
        out = self._ubx_epoch(m.itow_ms)
        acc = self._acc
        fix_ok = bool(m.flags & ubx.PVT_GNSS_FIX_OK)
        acc.mode = _ubx_mode(m.fix_type, fix_ok)
        date_ok = bool(m.valid & ubx.PVT_VALID_DATE)
        time_ok = bool(m.valid & ubx.PVT_VALID_TIME)
        utc = _ubx_utc(m) if date_ok and time_ok else None
        acc.time = utc
        acc.lat, acc.lon = m.lat_deg, m.lon_deg
        acc.alt_hae, acc.alt_msl = m.height_m, m.hmsl_m
        acc.geoid_sep = m.height_m - m.hmsl_m
        acc.speed, acc.track = m.ground_speed_mps, m.heading_motion_deg
        acc.vel = (m.vel_n_mps, m.vel_e_mps, m.vel_d_mps)
        acc.climb = -m.vel_d_mps
        acc.pdop = m.pdop
        leap = self._leap_s
        if utc is not None and leap is None and m.valid & ubx.PVT_FULLY_RESOLVED:
            leap = _leap_from(utc, self._week, m.itow_ms)
        acc.timing = GnssTime(
            utc=utc,
            gps_week=self._week,
            tow_s=m.itow_ms / 1000.0,
            leap_seconds=leap,
            leap_valid=self._leap_valid,
            time_valid=time_ok,
            date_valid=date_ok,
            fully_resolved=bool(m.valid & ubx.PVT_FULLY_RESOLVED),
            confirmed=(m.flags2 & 0xC0) == 0xC0,
            accuracy_ns=m.time_accuracy_ns,
        )
        return out

    def _on_nav_sol(self, m: ubx.NavSol) -> list[Fix]:
        out = self._ubx_epoch(m.itow_ms)
        acc = self._acc
        if m.flags & ubx.SOL_WEEK_VALID:
            self._week = m.week
        acc.mode = _ubx_mode(m.fix_type, bool(m.flags & ubx.SOL_GPS_FIX_OK))
        acc.pdop = m.pdop
        self._set_ecef(m.ecef_m)
        self._set_ecef_vel(m.ecef_vel_mps)
        if m.flags & ubx.SOL_TOW_VALID and m.flags & ubx.SOL_WEEK_VALID:
            tow = m.itow_ms / 1000.0 + m.ftow_ns * 1e-9
            self._set_gps_time(m.week, tow, week_valid=True)
        return out

    def _set_gps_time(self, week: int, tow: float, *, week_valid: bool) -> None:
        acc = self._acc
        utc = gps_to_utc(week, tow, self._leap_s) if self._leap_s is not None else None
        acc.time = utc
        acc.timing = GnssTime(
            utc=utc,
            gps_week=week,
            tow_s=tow,
            leap_seconds=self._leap_s,
            leap_valid=self._leap_valid,
            time_valid=True,
            date_valid=week_valid,
            fully_resolved=self._leap_valid,
            confirmed=self._leap_valid,
        )

    def _set_ecef(self, xyz: tuple[float, float, float]) -> None:
        acc = self._acc
        if abs(xyz[0]) + abs(xyz[1]) + abs(xyz[2]) <= 10.0:
            return  # all zeros: no position
        acc.lat, acc.lon, acc.alt_hae = ecef_to_geodetic(*xyz)
        self._pending_ecef = xyz
        if self._pending_vel is not None:
            self._set_ecef_vel(self._pending_vel)

    def _set_ecef_vel(self, v: tuple[float, float, float]) -> None:
        acc = self._acc
        self._pending_vel = v
        if acc.lat is None or acc.lon is None:
            return
        n, e, d = ecef_to_ned_velocity(acc.lat, acc.lon, *v)
        acc.vel = (n, e, d)
        acc.climb = -d
        acc.speed = math.hypot(n, e)
        acc.track = math.degrees(math.atan2(e, n)) % 360.0

    def _on_nav_posecef(self, m: ubx.NavPosEcef) -> list[Fix]:
        out = self._ubx_epoch(m.itow_ms)
        self._set_ecef(m.ecef_m)
        return out

    def _on_nav_velecef(self, m: ubx.NavVelEcef) -> list[Fix]:
        out = self._ubx_epoch(m.itow_ms)
        self._set_ecef_vel(m.ecef_vel_mps)
        return out

    def _on_nav_posllh(self, m: ubx.NavPosLlh) -> list[Fix]:
        out = self._ubx_epoch(m.itow_ms)
        acc = self._acc
        acc.lat, acc.lon, acc.alt_hae, acc.alt_msl = m.lat_deg, m.lon_deg, m.height_m, m.hmsl_m
        acc.geoid_sep = m.height_m - m.hmsl_m
        return out

    def _on_nav_timegps(self, m: ubx.NavTimeGps) -> list[Fix]:
        out = self._ubx_epoch(m.itow_ms)
        if m.valid & ubx.TIMEGPS_LEAP_VALID:
            self._leap_s = m.leap_s
            self._leap_valid = True
        elif self._leap_s is None:
            self._leap_s = m.leap_s  # the receiver's default until it has heard the almanac
        if m.valid & ubx.TIMEGPS_WEEK_VALID:
            self._week = m.week
        if m.valid & ubx.TIMEGPS_TOW_VALID and m.valid & ubx.TIMEGPS_WEEK_VALID:
            acc = self._acc
            if acc.timing is None or acc.time is None:
                self._set_gps_time(m.week, m.itow_ms / 1000.0 + m.ftow_ns * 1e-9, week_valid=True)
            assert acc.timing is not None
            acc.timing = _with(
                acc.timing,
                gps_week=m.week,
                accuracy_ns=m.time_accuracy_ns,
                leap_seconds=self._leap_s,
                leap_valid=self._leap_valid,
            )
        return out

    def _on_nav_timeutc(self, m: ubx.NavTimeUtc) -> list[Fix]:
        out = self._ubx_epoch(m.itow_ms)
        acc = self._acc
        utc = _ubx_utc(m) if m.valid & ubx.TIMEUTC_UTC_VALID else None
        if utc is not None:
            leap = _leap_from(utc, self._week, m.itow_ms)
            if leap is not None and self._leap_s is None:
                self._leap_s = leap
            if acc.time is None:
                acc.time = utc
            base = acc.timing or GnssTime(utc=utc, tow_s=m.itow_ms / 1000.0)
            acc.timing = _with(
                base,
                utc=acc.time,
                leap_seconds=leap if leap is not None else base.leap_seconds,
                leap_valid=True,
                time_valid=True,
                date_valid=True,
                fully_resolved=bool(m.valid & ubx.TIMEUTC_WEEK_VALID),
                accuracy_ns=m.time_accuracy_ns,
            )
        return out

    def _on_nav_dop(self, m: ubx.NavDop) -> list[Fix]:
        out = self._ubx_epoch(m.itow_ms)
        acc = self._acc
        acc.gdop, acc.pdop, acc.tdop, acc.vdop, acc.hdop = m.gdop, m.pdop, m.tdop, m.vdop, m.hdop
        return out

    def _on_nav_sat(self, m: ubx.NavSat) -> list[Fix]:
        out = self._ubx_epoch(m.itow_ms)
        counts: dict[Constellation, int] = {}
        for sat in m.satellites:
            if sat.used and isinstance(sat.constellation, Constellation):
                counts[sat.constellation] = counts.get(sat.constellation, 0) + 1
        self._acc.sats = counts
        return out

    def _on_nav_eoe(self, m: ubx.NavEoe) -> list[Fix]:
        out = self._ubx_epoch(m.itow_ms)
        out += self._publish()
        self._itow = None
        return out


def _ubx_utc(m: ubx.NavPvt | ubx.NavTimeUtc) -> dt.datetime | None:
    """UTC of a UBX time solution; None when no datetime holds it: fields that name no calendar
    date (the receiver flagged them valid all the same), or the leap second 23:59:60."""
    try:
        utc = dt.datetime(m.year, m.month, m.day, m.hour, m.minute, m.second, tzinfo=dt.UTC)
        return utc + dt.timedelta(microseconds=round(m.nano_ns / 1000))
    except (ValueError, OverflowError):
        return None


def _ubx_mode(fix_type: int, fix_ok: bool) -> int:
    """Fix mode of a UBX fixType; time-only means a surveyed-in, so precise, 3D position."""
    if not fix_ok:
        return 1
    if fix_type in (ubx.FixType.FIX_3D, ubx.FixType.GNSS_DEAD_RECKONING, ubx.FixType.TIME_ONLY):
        return 3
    if fix_type in (ubx.FixType.FIX_2D, ubx.FixType.DEAD_RECKONING):
        return 2
    return 1


def _with(t: GnssTime, **changes: Any) -> GnssTime:
    values = {k: getattr(t, k) for k in GnssTime.__slots__}  # type: ignore[attr-defined]
    values.update(changes)
    return GnssTime(**values)


def _leap_from(utc: dt.datetime, week: int | None, itow_ms: int) -> int | None:
    """GPS - UTC from a UTC time and the GPS time of week of the same instant."""
    tow_utc = (utc - GPS_EPOCH).total_seconds() % SECONDS_PER_WEEK
    leap = round((itow_ms / 1000.0 - tow_utc) % SECONDS_PER_WEEK)
    if leap > SECONDS_PER_WEEK // 2:
        leap -= SECONDS_PER_WEEK
    return leap if 0 <= leap < 60 else None


_HANDLERS: dict[type, Any] = {
    nmea.Gga: FixAssembler._on_gga,
    nmea.Rmc: FixAssembler._on_rmc,
    nmea.Gns: FixAssembler._on_gns,
    nmea.Gll: FixAssembler._on_gll,
    nmea.Gsa: FixAssembler._on_gsa,
    nmea.Vtg: FixAssembler._on_vtg,
    nmea.Zda: FixAssembler._on_zda,
    nmea.Gsv: FixAssembler._on_gsv,
    ubx.NavPvt: FixAssembler._on_nav_pvt,
    ubx.NavSol: FixAssembler._on_nav_sol,
    ubx.NavPosEcef: FixAssembler._on_nav_posecef,
    ubx.NavVelEcef: FixAssembler._on_nav_velecef,
    ubx.NavPosLlh: FixAssembler._on_nav_posllh,
    ubx.NavTimeGps: FixAssembler._on_nav_timegps,
    ubx.NavTimeUtc: FixAssembler._on_nav_timeutc,
    ubx.NavDop: FixAssembler._on_nav_dop,
    ubx.NavSat: FixAssembler._on_nav_sat,
    ubx.NavEoe: FixAssembler._on_nav_eoe,
}
