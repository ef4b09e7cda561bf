"""FOP-1, the sending end of COP-1 (232.1-B-2 section 5), on the ground, one per virtual channel.

A go-back-N sliding window over type-AD frames: at most `window_width` (K) frames are sent and not
yet acknowledged; each CLCW from FARM-1 acknowledges up to N(R) and, with its retransmit flag, asks
for the rest again; the timer T1 (on an injected clock: call `poll()`) retransmits when CLCWs stop
coming. Every (re)transmission of the sent queue counts against `transmission_limit`; past it, FOP-1
alerts (or suspends, with `TimeoutType.SUSPEND`) and stops until the operator initiates AD service
again. Retransmitted frames are the same octets as the first time (SDLS is applied once, by the
`encoder`), which is why the onboard anti-replay window only marks a sequence number used when
FARM-1 accepts the frame.

States: ACTIVE (S1), RETRANSMIT_WITHOUT_WAIT (S2), RETRANSMIT_WITH_WAIT (S3, FARM's buffer is
full), INITIALISING_WITHOUT_BC (S4, waiting for a CLCW that confirms V(S)),
INITIALISING_WITH_BC (S5, an Unlock or Set V(R) is in flight), INITIAL (S6, AD service stopped).

Simplifications against the standard, chosen for a ground station that owns its radio: the lower
layer is always ready (frames queue in `take_frames()`; no AD/BD/BC_Out flags), and FDUs wait in
an unbounded-by-protocol transmit queue (bounded by `queue_limit`) whose head is the standard's
one-FDU wait queue.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Final

from flight.link.clcw import COP_1, Clcw
from flight.link.errors import FieldValueError
from flight.link.tcframe import UNLOCK, TcFrame, set_v_r
from hal.clock import Clock

MODULUS: Final[int] = 256


class FopState(IntEnum):
    ACTIVE = 1
    RETRANSMIT_WITHOUT_WAIT = 2
    RETRANSMIT_WITH_WAIT = 3
    INITIALISING_WITHOUT_BC = 4
    INITIALISING_WITH_BC = 5
    INITIAL = 6


class TimeoutType(IntEnum):
    ALERT = 0  # transmission limit reached: alert and stop
    SUSPEND = 1  # transmission limit reached: suspend; `resume_ad` carries on


class FopAlert(Enum):
    LIMIT = "transmission limit reached on a retransmit request"
    T1 = "timer T1 expired at the transmission limit"
    LOCKOUT = "FARM-1 reports lockout"
    CLCW = "inconsistent CLCW"
    SYNCH = "N(R) outside the sent window"
    TERM = "AD service terminated by the operator"


@dataclass(frozen=True, slots=True)
class FopStatus:
    state: FopState
    v_s: int
    nn_r: int
    sent_queue: int
    transmit_queue: int
    transmission_count: int
    suspend_state: int
    frames_sent: int
    frames_retransmitted: int
    last_alert: FopAlert | None


@dataclass(slots=True)
class _Sent:
    sequence_number: int
    octets: bytes
    tag: Hashable
    to_be_retransmitted: bool = False


class DirectiveRejected(Exception):
    """A FOP-1 directive not allowed in the current state (the standard's Reject response)."""


def _pack(frame: TcFrame) -> bytes:
    return frame.pack()


class Fop1:
    def __init__(
        self,
        spacecraft_id: int,
        virtual_channel_id: int,
        clock: Clock,
        *,
        window_width: int = 10,
        t1_initial_s: float = 2.0,
        transmission_limit: int = 5,
        timeout_type: TimeoutType = TimeoutType.ALERT,
        map_id: int | None = None,
        encoder: Callable[[TcFrame], bytes] = _pack,
        queue_limit: int = 1024,
    ) -> None:
        self.spacecraft_id = spacecraft_id
        self.virtual_channel_id = virtual_channel_id
        self.map_id = map_id
        self._clock = clock
        self._encoder = encoder
        self.window_width = window_width
        self.t1_initial_s = t1_initial_s
        self.transmission_limit = transmission_limit
        self.timeout_type = timeout_type
        self.queue_limit = queue_limit
        self.state = FopState.INITIAL
        self.v_s = 0
        self.nn_r = 0
        self.transmission_count = 0
        self.suspend_state = 0
        self.frames_sent = 0
        self.frames_retransmitted = 0
        self.last_alert: FopAlert | None = None
        self._transmit_queue: deque[tuple[bytes, Hashable]] = deque()
        self._sent: deque[_Sent] = deque()
        self._bc: _Sent | None = None
        self._deadline: float | None = None
        self._out: deque[bytes] = deque()
        self._alerts: list[FopAlert] = []
        self._confirmed: list[Hashable] = []
        self._purged: list[Hashable] = []

    # ------------------------------------------------------------ managed parameters

    @property
    def window_width(self) -> int:
        return self._window_width

    @window_width.setter
    def window_width(self, value: int) -> None:
        if not 1 <= value <= 255:
            raise FieldValueError("FOP sliding window width K", value, "1..255")
        self._window_width = value

    @property
    def transmission_limit(self) -> int:
        return self._transmission_limit

    @transmission_limit.setter
    def transmission_limit(self, value: int) -> None:
        if value < 1:
            raise FieldValueError("transmission limit", value, "at least 1")
        self._transmission_limit = value

    @property
    def t1_initial_s(self) -> float:
        return self._t1

    @t1_initial_s.setter
    def t1_initial_s(self, value: float) -> None:
        if not value > 0:
            raise FieldValueError("T1", value, "positive seconds")
        self._t1 = float(value)

    # ------------------------------------------------------------ outputs

    def take_frames(self) -> list[bytes]:
        """Frames to radiate now, oldest first."""
        frames = list(self._out)
        self._out.clear()
        return frames

    def take_alerts(self) -> list[FopAlert]:
        alerts, self._alerts = self._alerts, []
        return alerts

    def take_confirmations(self) -> list[Hashable]:
        """Tags of FDUs acknowledged by FARM-1 (positive confirmation), in order."""
        done, self._confirmed = self._confirmed, []
        return done

    def take_purged(self) -> list[Hashable]:
        """Tags of FDUs dropped unconfirmed by an alert or a new initiation (negative)."""
        gone, self._purged = self._purged, []
        return gone

    def status(self) -> FopStatus:
        return FopStatus(
            state=self.state,
            v_s=self.v_s,
            nn_r=self.nn_r,
            sent_queue=len(self._sent),
            transmit_queue=len(self._transmit_queue),
            transmission_count=self.transmission_count,
            suspend_state=self.suspend_state,
            frames_sent=self.frames_sent,
            frames_retransmitted=self.frames_retransmitted,
            last_alert=self.last_alert,
        )

    # ------------------------------------------------------------ service requests

    def transmit_ad(self, data: bytes, tag: Hashable = None) -> bool:
        """Queue an FDU for sequence-controlled (type-AD) delivery; False is the Reject response."""
        if self.state == FopState.INITIAL or len(self._transmit_queue) >= self.queue_limit:
            return False
        self._transmit_queue.append((bytes(data), tag))
        self._look_for_fdu()
        return True

    def transmit_bd(self, data: bytes) -> bytes:
        """Send an FDU as an expedited type-BD frame at once, in any state."""
        frame = self._frame(0, data, bypass=True)
        self._out.append(frame)
        self.frames_sent += 1
        return frame

    # ------------------------------------------------------------ directives

    def initiate_ad(self, *, check_clcw: bool = False) -> None:
        self._require_initial("Initiate AD")
        self._initialise()
        if check_clcw:
            self._start_timer()
            self.transmission_count = 1
            self.state = FopState.INITIALISING_WITHOUT_BC
        else:
            self.state = FopState.ACTIVE

    def initiate_ad_with_unlock(self) -> None:
        self._require_initial("Initiate AD with Unlock")
        self._initialise()
        self._send_bc(UNLOCK)

    def initiate_ad_with_set_v_r(self, value: int) -> None:
        self._require_initial("Initiate AD with Set V(R)")
        self._initialise()
        self.v_s = self.nn_r = value % MODULUS
        self._send_bc(set_v_r(self.v_s))

    def terminate_ad(self) -> None:
        self._alert(FopAlert.TERM)

    def resume_ad(self) -> None:
        if self.state != FopState.INITIAL or self.suspend_state == 0:
            raise DirectiveRejected("Resume AD: AD service is not suspended")
        self.state = FopState(self.suspend_state)
        self.suspend_state = 0
        self._start_timer()
        self._look_for_fdu()

    def set_v_s(self, value: int) -> None:
        if self.state != FopState.INITIAL or self.suspend_state != 0:
            raise DirectiveRejected("Set V(S): only while AD service is initial, not suspended")
        self.v_s = self.nn_r = value % MODULUS

    def _require_initial(self, directive: str) -> None:
        if self.state != FopState.INITIAL:
            raise DirectiveRejected(f"{directive}: FOP-1 is {self.state.name}, not INITIAL")

    def _initialise(self) -> None:
        self._purge()
        self.transmission_count = 0
        self.suspend_state = 0

    def _send_bc(self, command: bytes) -> None:
        self._bc = _Sent(0, self._frame(0, command, bypass=True, control=True), None)
        self._out.append(self._bc.octets)
        self.frames_sent += 1
        self.transmission_count = 1
        self._start_timer()
        self.state = FopState.INITIALISING_WITH_BC

    # ------------------------------------------------------------ CLCW

    def on_clcw(self, clcw: Clcw) -> None:
        """Process one CLCW of this virtual channel (others, and any in INITIAL, are ignored)."""
        if clcw.virtual_channel_id != self.virtual_channel_id or clcw.cop_in_effect != COP_1:
            return
        state = self.state
        if state == FopState.INITIAL:
            return
        if state == FopState.INITIALISING_WITH_BC:
            self._clcw_after_bc(clcw)
            return
        if clcw.lockout:
            self._alert(FopAlert.LOCKOUT)
            return
        n_r = clcw.report_value
        outstanding = (self.v_s - self.nn_r) % MODULUS
        acknowledged = (n_r - self.nn_r) % MODULUS
        if acknowledged > outstanding:
            self._alert(FopAlert.SYNCH)
            return
        if state == FopState.INITIALISING_WITHOUT_BC:
            if n_r == self.v_s and not clcw.retransmit and not clcw.wait:
                self._cancel_timer()
                self.state = FopState.ACTIVE
                self._look_for_fdu()
            return
        if acknowledged:
            self._remove_acknowledged(n_r)
        if n_r == self.v_s:
            if clcw.retransmit or clcw.wait:
                self._alert(FopAlert.CLCW)
                return
            self._cancel_timer()
            self.state = FopState.ACTIVE
            self._look_for_fdu()
            return
        if not clcw.retransmit:
            if clcw.wait:
                self._alert(FopAlert.CLCW)
            elif acknowledged:
                self.state = FopState.ACTIVE
                self._look_for_fdu()
            return
        if clcw.wait:
            self.state = FopState.RETRANSMIT_WITH_WAIT
            return
        if acknowledged or state != FopState.RETRANSMIT_WITHOUT_WAIT:
            self._retransmit_or_alert(FopAlert.LIMIT)

    def _clcw_after_bc(self, clcw: Clcw) -> None:
        if (
            not clcw.lockout
            and not clcw.retransmit
            and not clcw.wait
            and clcw.report_value == self.v_s
        ):
            self._bc = None
            self._cancel_timer()
            self.state = FopState.ACTIVE
            self._look_for_fdu()

    def _remove_acknowledged(self, n_r: int) -> None:
        while self._sent and self._sent[0].sequence_number != n_r:
            self._confirmed.append(self._sent.popleft().tag)
        self.nn_r = n_r
        self.transmission_count = 1

    def _retransmit_or_alert(self, alert: FopAlert) -> None:
        if self.transmission_count >= self.transmission_limit:
            self._alert(alert)
            return
        self.transmission_count += 1
        for sent in self._sent:
            sent.to_be_retransmitted = True
        self._start_timer()
        self.state = FopState.RETRANSMIT_WITHOUT_WAIT
        self._look_for_fdu()

    # ------------------------------------------------------------ timer

    def poll(self) -> None:
        """Check timer T1 against the clock; call whenever time may have passed."""
        if self._deadline is None or self._clock.monotonic() < self._deadline:
            return
        if self.transmission_count >= self.transmission_limit:
            self._deadline = None
            if self.timeout_type == TimeoutType.SUSPEND:
                self.suspend_state = int(self.state)
                self.state = FopState.INITIAL
            else:
                self._alert(FopAlert.T1)
            return
        if self.state in (FopState.ACTIVE, FopState.RETRANSMIT_WITHOUT_WAIT):
            self._retransmit_or_alert(FopAlert.T1)
            return
        self.transmission_count += 1
        if self.state == FopState.INITIALISING_WITH_BC and self._bc is not None:
            self._out.append(self._bc.octets)
            self.frames_retransmitted += 1
        self._start_timer()

    def _start_timer(self) -> None:
        self._deadline = self._clock.monotonic() + self._t1

    def _cancel_timer(self) -> None:
        self._deadline = None

    # ------------------------------------------------------------ transmission

    def _look_for_fdu(self) -> None:
        if self.state not in (FopState.ACTIVE, FopState.RETRANSMIT_WITHOUT_WAIT):
            return
        for sent in self._sent:
            if sent.to_be_retransmitted:
                sent.to_be_retransmitted = False
                self._out.append(sent.octets)
                self.frames_retransmitted += 1
        while self._transmit_queue and len(self._sent) < self._window_width:
            data, tag = self._transmit_queue.popleft()
            octets = self._frame(self.v_s, data)
            if not self._sent:
                self.transmission_count = 1
            self._sent.append(_Sent(self.v_s, octets, tag))
            self.v_s = (self.v_s + 1) % MODULUS
            self._out.append(octets)
            self.frames_sent += 1
            self._start_timer()

    def _frame(self, sequence_number: int, data: bytes, *, bypass: bool = False,
               control: bool = False) -> bytes:
        return self._encoder(
            TcFrame(
                self.spacecraft_id, self.virtual_channel_id, sequence_number, data,
                bypass=bypass, control_command=control,
                map_id=None if control else self.map_id,
            )
        )

    # ------------------------------------------------------------ alerts

    def _alert(self, alert: FopAlert) -> None:
        self._purge()
        self._cancel_timer()
        self.last_alert = alert
        self._alerts.append(alert)
        self.suspend_state = 0
        self.state = FopState.INITIAL

    def _purge(self) -> None:
        self._purged.extend(sent.tag for sent in self._sent)
        self._purged.extend(tag for _, tag in self._transmit_queue)
        self._sent.clear()
        self._transmit_queue.clear()
        self._bc = None
