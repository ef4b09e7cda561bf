"""A simulated space-grade GNSS receiver: NMEA and UBX for the true orbit, on simulated time.

What it does, per navigation epoch (1 Hz by default, on the UTC grid):

* Solution: the true position from the orbit plus a first-order Gauss-Markov error in east,
  north and up (sigma and correlation time configurable: errors that wander over tens of seconds,
  as real ones do, rather than white noise), velocity with white noise; satellites, C/N0 and DOPs
  from the nominal constellations' geometry (`gnss_sky`).
* Messages: NMEA RMC, VTG, GGA, GSA, GSV, ZDA (talker GN for a multi-constellation solution with
  GPGSV/GAGSV per system, or GP for GPS only; NMEA 4.10 fields) and UBX NAV-PVT, NAV-TIMEUTC,
  NAV-SAT and NAV-EOE, in one burst `output_latency_s` after the epoch, like a u-blox receiver.
* PPS: one edge per UTC second while it has a fix, with Gaussian jitter; the edge comes before that
  second's messages, which name the second it marked.
* Power and signal: after `power_on` the receiver is silent about time until `time_valid_after_s`
  and reports no fix until `cold_start_s` (a cold start); outages (jamming, antenna fault: on
  command, or scheduled) remove the fix and the satellites but keep time, and the fix returns
  `reacquire_s` after the outage ends. Off means no output at all.
* COCOM: a space-grade receiver reports in orbit. `cocom_limits=True` models a consumer chip
  instead: above 18 000 m or 515 m/s it blanks the position (no fix; time still valid).
* Configuration: UBX CFG-MSG, CFG-RATE, CFG-NAV5 and CFG-VALSET written to the receiver are
  applied (message rates, navigation rate) and answered with ACK-ACK, anything it cannot do with
  ACK-NAK, as the flight driver's configurator expects.

No geoid model: the reported MSL height equals the ellipsoidal height and the geoid separation
field is 0.0. All randomness comes from one generator seeded from `seed`, and time only from the
`t` passed in, so the same calls give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import struct
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from flight.sim import frames
from flight.sim import gnss_messages as msg
from flight.sim.errors import SimError, TimeOrderError
from flight.sim.frames import Geodetic, Vec3
from flight.sim.gnss_sky import Dops, GnssSystem, SkySatellite, dops, sky
from flight.sim.orbit import Orbit
from flight.sim.timebase import GPS_EPOCH, J2000_JD, SECONDS_PER_DAY, TimeBase, gps_minus_utc

KNOTS_PER_M_S: Final = 3600.0 / 1852.0
COCOM_ALTITUDE_M: Final = 18_000.0
COCOM_SPEED_M_S: Final = 515.0
ACK_LATENCY_S: Final = 0.02
MAX_UBX_INPUT: Final = 1024
NO_ACCURACY_M: Final = 4294967.295  # 0xFFFFFFFF mm: "unknown" in NAV-PVT


class Message(StrEnum):
    RMC = "RMC"
    VTG = "VTG"
    GGA = "GGA"
    GSA = "GSA"
    GSV = "GSV"
    ZDA = "ZDA"
    NAV_PVT = "NAV-PVT"
    NAV_TIMEUTC = "NAV-TIMEUTC"
    NAV_SAT = "NAV-SAT"
    NAV_EOE = "NAV-EOE"


NMEA_MESSAGES: Final = (Message.RMC, Message.VTG, Message.GGA, Message.GSA, Message.GSV,
                        Message.ZDA)
# UBX (class, id) of every message, for CFG-MSG and CFG-VALSET
MESSAGE_IDS: Final = {
    Message.GGA: (msg.NMEA_STD, 0x00), Message.GSA: (msg.NMEA_STD, 0x02),
    Message.GSV: (msg.NMEA_STD, 0x03), Message.RMC: (msg.NMEA_STD, 0x04),
    Message.VTG: (msg.NMEA_STD, 0x05), Message.ZDA: (msg.NMEA_STD, 0x08),
    Message.NAV_PVT: (msg.NAV, msg.NAV_PVT), Message.NAV_TIMEUTC: (msg.NAV, msg.NAV_TIMEUTC),
    Message.NAV_SAT: (msg.NAV, msg.NAV_SAT), Message.NAV_EOE: (msg.NAV, msg.NAV_EOE),
}
_BY_ID: Final = {ids: m for m, ids in MESSAGE_IDS.items()}
# CFG-VALSET keys (u-blox generation 9): UART1 output rates and the navigation rate
VALSET_MESSAGE_KEYS: Final = {
    0x20910007: Message.NAV_PVT, 0x2091005C: Message.NAV_TIMEUTC, 0x20910016: Message.NAV_SAT,
    0x20910160: Message.NAV_EOE, 0x209100BB: Message.GGA, 0x209100C0: Message.GSA,
    0x209100C5: Message.GSV, 0x209100AC: Message.RMC, 0x209100B1: Message.VTG,
    0x209100D9: Message.ZDA,
}
VALSET_RATE_MEAS: Final = 0x30210001
VALSET_RATE_NAV: Final = 0x30210002
VALSET_ACCEPTED: Final = frozenset({0x20210003, 0x20110021})  # time reference, dynamic model
_VALUE_BYTES: Final = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8}
CFG_MSG: Final = 0x01
CFG_RATE: Final = 0x08
CFG_NAV5: Final = 0x24
CFG_VALSET: Final = 0x8A


@dataclass(frozen=True)
class GnssConfig:
    rate_hz: float = 1.0
    talker: str = "GN"
    systems: tuple[GnssSystem, ...] = (GnssSystem.GPS, GnssSystem.GALILEO)
    messages: tuple[Message, ...] = (Message.RMC, Message.VTG, Message.GGA, Message.GSA,
                                     Message.GSV, Message.ZDA, Message.NAV_PVT,
                                     Message.NAV_TIMEUTC, Message.NAV_EOE)
    horizontal_sigma_m: float = 1.5  # per axis (east, north), 1 sigma
    vertical_sigma_m: float = 3.0
    error_correlation_s: float = 30.0
    velocity_sigma_m_s: float = 0.03  # per axis
    pps_jitter_ns: float = 20.0
    output_latency_s: float = 0.05
    time_valid_after_s: float = 30.0
    cold_start_s: float = 45.0
    reacquire_s: float = 3.0
    solution_mask_deg: float = 5.0
    cocom_limits: bool = False

    def __post_init__(self) -> None:
        period_ms = 1000.0 / self.rate_hz if self.rate_hz > 0 else 0.0
        if not (0 < self.rate_hz <= 10 and abs(period_ms - round(period_ms)) < 1e-9):
            raise SimError(f"GNSS rate {self.rate_hz} Hz must be at most 10 Hz with a whole "
                           "number of milliseconds per epoch")
        systems = tuple(GnssSystem(s) for s in self.systems)
        if not systems:
            raise SimError("GNSS receiver needs at least one constellation")
        if self.talker not in ("GP", "GN"):
            raise SimError(f"NMEA talker {self.talker!r} must be GP or GN")
        if self.talker == "GP" and systems != (GnssSystem.GPS,):
            raise SimError("talker GP is for a GPS-only receiver: use GN with "
                           f"{', '.join(s.name for s in systems)}")
        object.__setattr__(self, "systems", systems)
        object.__setattr__(self, "messages", tuple(Message(m) for m in self.messages))
        for name in ("horizontal_sigma_m", "vertical_sigma_m", "velocity_sigma_m_s",
                     "pps_jitter_ns", "output_latency_s", "reacquire_s"):
            if not getattr(self, name) >= 0:
                raise SimError(f"GNSS {name} = {getattr(self, name)} must not be negative")
        if not self.error_correlation_s > 0:
            raise SimError(f"GNSS error_correlation_s = {self.error_correlation_s} must be > 0")
        if not 0 <= self.time_valid_after_s <= self.cold_start_s:
            raise SimError(f"time_valid_after_s ({self.time_valid_after_s}) must lie within the "
                           f"cold start ({self.cold_start_s} s)")
        if not 0 <= self.output_latency_s < 1.0 / self.rate_hz:
            raise SimError(f"output latency {self.output_latency_s} s must be shorter than an "
                           "epoch")


@dataclass(frozen=True, slots=True)
class GnssEpoch:
    """One navigation epoch: what was true and what the receiver reported."""

    t: float
    utc: dt.datetime
    time_valid: bool
    fix: bool
    pps_t: float | None
    truth: Geodetic
    truth_velocity_ned: Vec3
    solution: Geodetic | None
    solution_velocity_ned: Vec3 | None
    satellites_used: int
    dops: Dops | None


@dataclass(frozen=True, slots=True)
class GnssOutput:
    """Bytes the receiver puts on its serial line at simulated time `t`: an epoch's messages, or
    (with `epoch` None) an answer to a command."""

    t: float
    data: bytes
    epoch: GnssEpoch | None = None


@dataclass
class GnssCounters:
    epochs: int = 0
    fixes: int = 0
    pps_edges: int = 0
    bytes_out: int = 0
    commands_acked: int = 0
    commands_naked: int = 0
    input_bytes_skipped: int = 0
    input_bad_checksums: int = 0


@dataclass
class _Power:
    on_at: float | None
    fix_ready_at: float = math.inf
    outages: list[tuple[float, float]] = field(default_factory=list)
    jammed_since: float | None = None


class GnssReceiver:
    """The receiver on the satellite whose orbit is `orbit`; `t` is simulated seconds of
    `timebase`. It is switched on at `power_on_at` (default: the time base's t0; a cold start);
    `power_off(t0)` right after construction gives a receiver that starts unpowered."""

    def __init__(self, orbit: Orbit, timebase: TimeBase, config: GnssConfig | None = None, *,
                 seed: int = 0, power_on_at: float | None = None) -> None:
        self.orbit = orbit
        self.timebase = timebase
        self.config = config or GnssConfig()
        self.counters = GnssCounters()
        self._rng = random.Random(f"{seed}/gnss")
        self._leap_s = gps_minus_utc(timebase.start_utc)
        self._origin_utc = timebase.start_utc.replace(hour=0, minute=0, second=0, microsecond=0)
        self._period_ms = round(1000.0 / self.config.rate_hz)
        self._rates = {m: (1 if m in self.config.messages else 0) for m in Message}
        self._now = timebase.t0
        self._next_k = 0
        self._epoch_count = 0
        self._error: list[float] | None = None
        self._pending: list[GnssOutput] = []
        self._input = bytearray()
        on_at = timebase.t0 if power_on_at is None else power_on_at
        if on_at < timebase.t0:
            raise SimError(f"GNSS power-on at {on_at} s is before the run starts at "
                           f"{timebase.t0} s")
        self._power = _Power(on_at, on_at + self.config.cold_start_s)
        self._next_k = self._first_epoch_at_or_after(on_at)

    # --- commands ---------------------------------------------------------------------------

    def _at(self, what: str, t: float) -> None:
        if t < self._now:
            raise TimeOrderError(f"GNSS {what}", self._now, t)
        self._now = t

    def power_on(self, t: float) -> None:
        """Switch on (a cold start) at `t`; no effect if already on."""
        self._at("power on", t)
        if self._power.on_at is not None:
            return
        self._power = _Power(t, t + self.config.cold_start_s, self._power.outages)
        self._error = None
        self._next_k = self._first_epoch_at_or_after(t)

    def power_off(self, t: float) -> None:
        """Switch off at `t`: nothing more is sent, including what was not yet sent."""
        self._at("power off", t)
        self._emit_epochs(t)
        self._power.on_at = None
        self._pending = [o for o in self._pending if o.t <= t]

    def add_outage(self, start: float, end: float) -> None:
        """Signals blocked from `start` to `end` (simulated seconds)."""
        if not end > start:
            raise SimError(f"outage [{start}, {end}] s is empty")
        self._power.outages.append((start, end))

    def set_outage(self, t: float, blocked: bool) -> None:
        """Start or end an outage now (a command from a scenario)."""
        self._at("outage", t)
        if blocked and self._power.jammed_since is None:
            self._power.jammed_since = t
        elif not blocked and self._power.jammed_since is not None:
            self._power.outages.append((self._power.jammed_since, t))
            self._power.jammed_since = None

    @property
    def powered(self) -> bool:
        return self._power.on_at is not None

    def in_outage(self, t: float) -> bool:
        p = self._power
        if p.jammed_since is not None and t >= p.jammed_since:
            return True
        return any(a <= t < b for a, b in p.outages)

    def _fix_ready(self, t: float) -> bool:
        p = self._power
        if p.on_at is None or t < p.fix_ready_at or self.in_outage(t):
            return False
        ends = [b for a, b in p.outages if b <= t and b > p.on_at]
        return not ends or t >= max(ends) + self.config.reacquire_s

    # --- epochs -----------------------------------------------------------------------------

    def _epoch_utc(self, k: int) -> dt.datetime:
        return self._origin_utc + dt.timedelta(milliseconds=k * self._period_ms)

    def _first_epoch_at_or_after(self, t: float) -> int:
        ms = (self.timebase.utc(t) - self._origin_utc) / dt.timedelta(milliseconds=1)
        return math.ceil(ms / self._period_ms - 1e-9)

    def advance(self, t: float) -> list[GnssOutput]:
        """Everything the receiver has put on the line by `t`, in order."""
        self._at("advance", t)
        self._emit_epochs(t)
        ready = [o for o in self._pending if o.t <= t]
        self._pending = [o for o in self._pending if o.t > t]
        ready.sort(key=lambda o: o.t)
        self.counters.bytes_out += sum(len(o.data) for o in ready)
        return ready

    def next_output_time(self) -> float | None:
        """When the next output is due (for an emulator choosing how far to step)."""
        times = [o.t for o in self._pending]
        if self._power.on_at is not None:
            times.append(self.timebase.seconds(self._epoch_utc(self._next_k))
                         + self.config.output_latency_s)
        return min(times) if times else None

    def _emit_epochs(self, t: float) -> None:
        if self._power.on_at is None:
            return
        while True:
            utc = self._epoch_utc(self._next_k)
            te = self.timebase.seconds(utc)
            if te > t:
                return
            self._pending.append(self._epoch(te, utc))
            self._next_k += 1

    def _step_error(self) -> list[float]:
        c = self.config
        sig = (c.horizontal_sigma_m, c.horizontal_sigma_m, c.vertical_sigma_m)
        g = self._rng.gauss
        if self._error is None:
            self._error = [g(0.0, s) for s in sig]
        else:
            phi = math.exp(-self._period_ms / 1000.0 / c.error_correlation_s)
            k = math.sqrt(1.0 - phi * phi)
            self._error = [phi * e + s * k * g(0.0, 1.0) for e, s in zip(self._error, sig,
                                                                         strict=True)]
        return self._error

    def _epoch(self, te: float, utc: dt.datetime) -> GnssOutput:
        c = self.config
        p = self._power
        assert p.on_at is not None
        jd, fr = self.timebase.jd(te)
        state = self.orbit.state_jd(jd, fr, self.timebase.dut1_s)
        truth = state.geodetic
        truth_vel = frames.ecef_to_ned_velocity(truth.lat_deg, truth.lon_deg, state.v_ecef_m_s)
        time_valid = te >= p.on_at + c.time_valid_after_s
        signals = time_valid and not self.in_outage(te)
        satellites: list[SkySatellite] = []
        if signals:
            seconds = ((jd - J2000_JD) + fr) * SECONDS_PER_DAY
            satellites = sky(state.r_teme_km, truth.lat_deg, truth.lon_deg, state.gmst_rad,
                             seconds, c.systems, c.solution_mask_deg)
        dop = dops(satellites)
        speed = frames.norm(state.v_ecef_m_s)
        cocom = c.cocom_limits and (truth.alt_m > COCOM_ALTITUDE_M or speed > COCOM_SPEED_M_S)
        fix = self._fix_ready(te) and dop is not None and not cocom
        if not fix:
            satellites = [SkySatellite(s.system, s.prn, s.elevation_deg, s.azimuth_deg, False,
                                       s.los_enu) for s in satellites]
        error = self._step_error()
        solution = solution_vel = None
        if fix:
            east, north, up = frames.enu_basis(truth.lat_deg, truth.lon_deg)
            r = state.r_ecef_m
            moved = tuple(r[i] + error[0] * east[i] + error[1] * north[i] + error[2] * up[i]
                          for i in range(3))
            solution = frames.ecef_to_geodetic(moved)  # type: ignore[arg-type]
            sv = c.velocity_sigma_m_s
            g = self._rng.gauss
            solution_vel = (truth_vel[0] + g(0, sv), truth_vel[1] + g(0, sv),
                            truth_vel[2] + g(0, sv))
        pps_t = None
        if fix and utc.microsecond == 0:
            pps_t = te + self._rng.gauss(0.0, c.pps_jitter_ns * 1e-9)
            self.counters.pps_edges += 1
        cnos = {(s.system, s.prn): max(20, min(50, round(30.0 + 18.0 * math.sin(
            math.radians(s.elevation_deg)) + self._rng.gauss(0.0, 1.0)))) for s in satellites}
        used = sum(1 for s in satellites if s.used)
        epoch = GnssEpoch(te, utc, time_valid, fix, pps_t, truth, truth_vel, solution,
                          solution_vel, used, dop if fix else None)
        self.counters.epochs += 1
        self.counters.fixes += fix
        data = self._messages(epoch, satellites, cnos, te - p.on_at)
        self._epoch_count += 1
        return GnssOutput(te + c.output_latency_s, data, epoch)

    # --- message content ---------------------------------------------------------------------

    def _due(self, m: Message) -> bool:
        rate = self._rates[m]
        return rate > 0 and self._epoch_count % rate == 0

    def _messages(self, e: GnssEpoch, sats: list[SkySatellite], cnos: dict, uptime: float) -> bytes:
        out = bytearray()
        for m in NMEA_MESSAGES:
            if self._due(m):
                out += self._nmea(m, e, sats, cnos)
        gps_s = (e.utc - GPS_EPOCH).total_seconds() + self._leap_s
        itow = round(gps_s * 1000.0) % (7 * 86_400_000) if e.time_valid else round(uptime * 1000)
        if self._due(Message.NAV_PVT):
            out += self._nav_pvt(e, itow, uptime)
        if self._due(Message.NAV_TIMEUTC):
            utc = e.utc if e.time_valid else _unset_clock(uptime)
            valid = 0x07 | (3 << 4) if e.time_valid else 0
            out += msg.nav_timeutc(itow_ms=itow, t_acc_ns=self._t_acc(e), nano_ns=0, utc=utc,
                                   valid=valid)
        if self._due(Message.NAV_SAT):
            out += msg.nav_sat(itow, [
                (s.system.ubx_gnss_id, s.prn, cnos[(s.system, s.prn)], round(s.elevation_deg),
                 round(s.azimuth_deg) % 360, (7 if s.used else 4) | (0x08 if s.used else 0)
                 | (1 << 4)) for s in sats])
        if self._due(Message.NAV_EOE):
            out += msg.nav_eoe(itow)
        return bytes(out)

    def _t_acc(self, e: GnssEpoch) -> int:
        if not e.time_valid:
            return 0xFFFFFFFF
        return max(1, round(self.config.pps_jitter_ns)) if e.fix else 1000

    def _nav_pvt(self, e: GnssEpoch, itow: int, uptime: float) -> bytes:
        c = self.config
        if e.fix and e.solution is not None and e.solution_velocity_ned is not None:
            s, v = e.solution, e.solution_velocity_ned
            dop = e.dops.pdop if e.dops else 99.99
            return msg.nav_pvt(
                itow_ms=itow, utc=e.utc, valid=0x07, t_acc_ns=self._t_acc(e), nano_ns=0,
                fix_type=3, flags=0x01, flags2=0xE0, num_sv=e.satellites_used,
                lon_deg=(s.lon_deg + 180.0) % 360.0 - 180.0, lat_deg=s.lat_deg,
                height_m=s.alt_m, hmsl_m=s.alt_m, h_acc_m=math.sqrt(2) * c.horizontal_sigma_m,
                v_acc_m=c.vertical_sigma_m, vel_ned_m_s=v, ground_speed_m_s=math.hypot(v[0], v[1]),
                heading_deg=math.degrees(math.atan2(v[1], v[0])) % 360.0,
                s_acc_m_s=max(0.01, c.velocity_sigma_m_s), head_acc_deg=0.5, pdop=dop)
        utc = e.utc if e.time_valid else _unset_clock(uptime)
        return msg.nav_pvt(
            itow_ms=itow, utc=utc, valid=0x07 if e.time_valid else 0, t_acc_ns=self._t_acc(e),
            nano_ns=0, fix_type=0, flags=0, flags2=0xE0 if e.time_valid else 0, num_sv=0,
            lon_deg=0.0, lat_deg=0.0, height_m=0.0, hmsl_m=0.0, h_acc_m=NO_ACCURACY_M,
            v_acc_m=NO_ACCURACY_M, vel_ned_m_s=(0.0, 0.0, 0.0), ground_speed_m_s=0.0,
            heading_deg=0.0, s_acc_m_s=20.0, head_acc_deg=180.0, pdop=99.99)

    def _nmea(self, m: Message, e: GnssEpoch, sats: list[SkySatellite], cnos: dict) -> bytes:
        talker = self.config.talker
        utc = e.utc if e.time_valid else None
        tod, date = msg.nmea_time(utc), msg.nmea_date(utc)
        s, v = e.solution, e.solution_velocity_ned
        if m is Message.RMC:
            if s is None or v is None:
                return msg.nmea_sentence(f"{talker}RMC", [tod, "V", "", "", "", "", "", "", date,
                                                          "", "", "N", "V"])
            lat, ns = msg.nmea_latitude(s.lat_deg)
            lon, ew = msg.nmea_longitude(s.lon_deg)
            knots = math.hypot(v[0], v[1]) * KNOTS_PER_M_S
            track = math.degrees(math.atan2(v[1], v[0])) % 360.0
            return msg.nmea_sentence(f"{talker}RMC", [tod, "A", lat, ns, lon, ew, f"{knots:.3f}",
                                                      f"{track:.2f}", date, "", "", "A", "V"])
        if m is Message.VTG:
            if v is None:
                return msg.nmea_sentence(f"{talker}VTG", ["", "T", "", "M", "", "N", "", "K", "N"])
            speed = math.hypot(v[0], v[1])
            track = math.degrees(math.atan2(v[1], v[0])) % 360.0
            return msg.nmea_sentence(f"{talker}VTG", [
                f"{track:.2f}", "T", "", "M", f"{speed * KNOTS_PER_M_S:.3f}", "N",
                f"{speed * 3.6:.3f}", "K", "A"])
        if m is Message.GGA:
            if s is None or e.dops is None:
                return msg.nmea_sentence(f"{talker}GGA", [tod, "", "", "", "", "0", "00", "99.99",
                                                          "", "", "", "", "", ""])
            lat, ns = msg.nmea_latitude(s.lat_deg)
            lon, ew = msg.nmea_longitude(s.lon_deg)
            return msg.nmea_sentence(f"{talker}GGA", [
                tod, lat, ns, lon, ew, "1", f"{min(e.satellites_used, 12):02d}",
                f"{e.dops.hdop:.2f}", f"{s.alt_m:.1f}", "M", "0.0", "M", "", ""])
        if m is Message.ZDA:
            if utc is None:
                return msg.nmea_sentence(f"{talker}ZDA", ["", "", "", "", "00", "00"])
            return msg.nmea_sentence(f"{talker}ZDA", [tod, f"{utc.day:02d}", f"{utc.month:02d}",
                                                      f"{utc.year:04d}", "00", "00"])
        if m is Message.GSA:
            return self._gsa(e, sats)
        return self._gsv(sats, cnos)

    def _gsa(self, e: GnssEpoch, sats: list[SkySatellite]) -> bytes:
        d = e.dops
        dop_fields = ([f"{d.pdop:.2f}", f"{d.hdop:.2f}", f"{d.vdop:.2f}"] if d
                      else ["99.99", "99.99", "99.99"])
        out = bytearray()
        for system in self.config.systems:
            ids = [f"{s.prn:02d}" for s in sats if s.system is system and s.used][:12]
            ids += [""] * (12 - len(ids))
            out += msg.nmea_sentence(f"{self.config.talker}GSA", [
                "A", "3" if e.fix else "1", *ids, *dop_fields, f"{int(system):X}"])
        return bytes(out)

    def _gsv(self, sats: list[SkySatellite], cnos: dict) -> bytes:
        out = bytearray()
        for system in self.config.systems:
            mine = [s for s in sats if s.system is system]
            pages = max(1, math.ceil(len(mine) / 4))
            for page in range(pages):
                fields = [str(pages), str(page + 1), f"{len(mine):02d}"]
                for s in mine[page * 4:page * 4 + 4]:
                    fields += [f"{s.prn:02d}", f"{round(s.elevation_deg):02d}",
                               f"{round(s.azimuth_deg) % 360:03d}",
                               f"{cnos[(s.system, s.prn)]:02d}"]
                fields.append(f"{system.nmea_signal_id:X}")
                out += msg.nmea_sentence(f"{system.talker}GSV", fields)
        return bytes(out)

    # --- input: UBX configuration -----------------------------------------------------------

    def command(self, t: float, data: bytes) -> None:
        """Bytes the flight software wrote to the receiver at `t`; UBX CFG messages among them are
        applied and answered (ACK-ACK or ACK-NAK) `ACK_LATENCY_S` later."""
        self._at("command", t)
        if self._power.on_at is None:
            return
        self._input += data
        buf = self._input
        while True:
            start = buf.find(msg.UBX_SYNC)
            if start < 0:
                keep = 1 if buf.endswith(b"\xb5") else 0
                self.counters.input_bytes_skipped += len(buf) - keep
                del buf[:len(buf) - keep]
                return
            self.counters.input_bytes_skipped += start
            del buf[:start]
            if len(buf) < 6:
                return
            length = struct.unpack_from("<H", buf, 4)[0]
            if length > MAX_UBX_INPUT:
                self.counters.input_bytes_skipped += 2
                del buf[:2]
                continue
            if len(buf) < 8 + length:
                return
            frame = bytes(buf[:8 + length])
            if msg.fletcher(frame[2:6 + length]) != frame[6 + length:]:
                self.counters.input_bad_checksums += 1
                del buf[:2]
                continue
            del buf[:8 + length]
            self._configure(t, frame[2], frame[3], frame[6:6 + length])

    def _configure(self, t: float, cls: int, mid: int, payload: bytes) -> None:
        if cls != msg.CFG:
            return  # a real receiver ignores (or polls) other classes silently
        ok = False
        if mid == CFG_MSG and len(payload) in (3, 8):
            target = _BY_ID.get((payload[0], payload[1]))
            if target is not None:
                self._rates[target] = payload[2] if len(payload) == 3 else payload[3]
                ok = True
        elif mid == CFG_RATE and len(payload) == 6:
            meas, nav, _ = struct.unpack("<HHH", payload)
            ok = self._set_period(meas * nav, t)
        elif mid == CFG_NAV5 and len(payload) == 36:
            ok = True  # the dynamic model changes nothing in this simulation
        elif mid == CFG_VALSET and len(payload) >= 4:
            ok = self._valset(payload[4:], t)
        if ok:
            self.counters.commands_acked += 1
        else:
            self.counters.commands_naked += 1
        self._pending.append(GnssOutput(t + ACK_LATENCY_S, msg.ack(cls, mid, ok)))

    def _set_period(self, period_ms: int, t: float) -> bool:
        if not 100 <= period_ms <= 10_000:
            return False
        self._period_ms = period_ms
        self._next_k = self._first_epoch_at_or_after(t)
        return True

    def _valset(self, items: bytes, t: float) -> bool:
        changes: list[tuple[int, int]] = []
        i = 0
        while i < len(items):
            if len(items) - i < 4:
                return False
            key = struct.unpack_from("<I", items, i)[0]
            size = _VALUE_BYTES.get((key >> 28) & 0x7)
            if size is None or len(items) - i - 4 < size:
                return False
            changes.append((key, int.from_bytes(items[i + 4:i + 4 + size], "little")))
            i += 4 + size
        known = set(VALSET_MESSAGE_KEYS) | {VALSET_RATE_MEAS, VALSET_RATE_NAV} | VALSET_ACCEPTED
        if any(key not in known for key, _ in changes):
            return False  # u-blox rejects the whole message if any key is unknown
        meas, nav = self._period_ms, 1
        for key, value in changes:
            if key in VALSET_MESSAGE_KEYS:
                self._rates[VALSET_MESSAGE_KEYS[key]] = value
            elif key == VALSET_RATE_MEAS:
                meas = value
            elif key == VALSET_RATE_NAV:
                nav = value
        if (meas, nav) != (self._period_ms, 1):
            return self._set_period(meas * nav, t)
        return True


def _unset_clock(uptime: float) -> dt.datetime:
    """What a receiver whose clock was never set reports: its default date plus its uptime."""
    return GPS_EPOCH + dt.timedelta(seconds=int(uptime))
