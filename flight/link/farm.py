"""FARM-1, the receiving end of COP-1 (232.1-B-2 section 6), on board, one per virtual channel.

States: OPEN (S1), WAIT (S2: the buffer for accepted frames is full) and LOCKOUT (S3: a frame fell
outside the sliding window; only an Unlock control command reopens). Type-AD frames are accepted
only in sequence (N(S) = V(R)), so FOP-1 retransmits what was lost; frames in the positive window
set the retransmit flag, frames in the negative window are duplicates and dropped, anything else
locks out. Type-BD frames bypass every check and are always accepted; type-BC frames carry the
Unlock and Set V(R) control commands. Every acceptance and decision is visible in the CLCW.

The state table (rows as in 232.1-B-2 Table 6-1):

| event                              | OPEN              | WAIT              | LOCKOUT          |
| ---------------------------------- | ----------------- | ----------------- | ---------------- |
| AD, N(S)=V(R), buffer free         | accept, V(R)+1,   | (cannot happen)   | discard          |
|                                    | retransmit=0      |                   |                  |
| AD, N(S)=V(R), buffer full         | discard, retr=1,  | discard, retr=1   | discard          |
|                                    | wait=1 -> WAIT    |                   |                  |
| AD, positive window                | discard, retr=1   | discard           | discard          |
| AD, negative window                | discard           | discard           | discard          |
| AD, lockout area                   | lockout=1 -> LOCK | lockout=1 -> LOCK | discard          |
| BD                                 | accept, B+1       | accept, B+1       | accept, B+1      |
| BC Unlock                          | B+1, retr=0       | B+1, retr=0,      | B+1, retr=0,     |
|                                    |                   | wait=0 -> OPEN    | wait=0, lock=0   |
|                                    |                   |                   | -> OPEN          |
| BC Set V(R)                        | B+1, retr=0, V(R) | B+1, retr=0,      | B+1              |
|                                    |                   | wait=0, V(R)      |                  |
|                                    |                   | -> OPEN           |                  |
| buffer release                     | -                 | wait=0 -> OPEN    | wait=0           |
| invalid frame / control command    | discard           | discard           | discard          |

The buffer is modelled here: accepted frames queue until the user takes them, and taking one from a
full buffer is the buffer release signal.
"""

from __future__ import annotations

from collections import deque
from enum import Enum, IntEnum
from typing import Final

from flight.link.clcw import Clcw
from flight.link.errors import FieldValueError
from flight.link.tcframe import SetVr, TcFrame, Unlock, parse_control_command

MODULUS: Final[int] = 256


class FarmState(IntEnum):
    OPEN = 1
    WAIT = 2
    LOCKOUT = 3


class FarmEvent(Enum):
    """What FARM-1 did with one frame (the outcome, for counting and tests)."""

    AD_ACCEPTED = "AD accepted"
    AD_NO_BUFFER = "AD in sequence, buffer full: discarded"
    AD_POSITIVE_WINDOW = "AD ahead of V(R) (a frame was lost): discarded"
    AD_NEGATIVE_WINDOW = "AD behind V(R) (a duplicate): discarded"
    AD_LOCKOUT = "AD outside the window: lockout"
    AD_IN_LOCKOUT = "AD while locked out: discarded"
    BD_ACCEPTED = "BD accepted"
    UNLOCK = "Unlock"
    SET_V_R = "Set V(R)"
    SET_V_R_IN_LOCKOUT = "Set V(R) while locked out: counted, ignored"
    INVALID = "invalid frame or control command: discarded"


_ACCEPTED: Final = frozenset({FarmEvent.AD_ACCEPTED, FarmEvent.BD_ACCEPTED})


class Farm1:
    """FARM-1 of one virtual channel. Feed frames to `receive`, collect data with `take`."""

    def __init__(
        self, virtual_channel_id: int, *, window_width: int = 10, buffer_capacity: int = 16
    ) -> None:
        if not (2 <= window_width <= 254 and window_width % 2 == 0):
            raise FieldValueError("FARM sliding window width", window_width, "even, 2..254")
        if buffer_capacity < 1:
            raise FieldValueError("FARM buffer capacity", buffer_capacity, "at least 1")
        self.virtual_channel_id = virtual_channel_id
        self.window_width = window_width
        self.buffer_capacity = buffer_capacity
        self.state = FarmState.OPEN
        self.v_r = 0
        self.lockout = False
        self.wait = False
        self.retransmit = False
        self.farm_b_counter = 0
        self._buffer: deque[TcFrame] = deque()
        self.counts: dict[FarmEvent, int] = dict.fromkeys(FarmEvent, 0)

    @property
    def positive_window(self) -> int:
        return self.window_width // 2

    @property
    def negative_window(self) -> int:
        return self.window_width // 2

    def receive(self, frame: TcFrame) -> FarmEvent:
        """Run one valid frame of this virtual channel through the state table."""
        if frame.bypass:
            event = self._type_b(frame)
        else:
            event = self._type_ad(frame)
        self.counts[event] += 1
        return event

    def accepts(self, event: FarmEvent) -> bool:
        return event in _ACCEPTED

    def _type_ad(self, frame: TcFrame) -> FarmEvent:
        if self.state == FarmState.LOCKOUT:
            return FarmEvent.AD_IN_LOCKOUT
        ahead = (frame.sequence_number - self.v_r) % MODULUS
        if ahead == 0:
            if len(self._buffer) >= self.buffer_capacity:
                self.retransmit = True
                self.wait = True
                self.state = FarmState.WAIT
                return FarmEvent.AD_NO_BUFFER
            self._buffer.append(frame)
            self.v_r = (self.v_r + 1) % MODULUS
            self.retransmit = False
            return FarmEvent.AD_ACCEPTED
        if ahead <= self.positive_window - 1:
            if self.state == FarmState.OPEN:
                self.retransmit = True
            return FarmEvent.AD_POSITIVE_WINDOW
        if MODULUS - ahead <= self.negative_window:
            return FarmEvent.AD_NEGATIVE_WINDOW
        self.lockout = True
        self.state = FarmState.LOCKOUT
        return FarmEvent.AD_LOCKOUT

    def _type_b(self, frame: TcFrame) -> FarmEvent:
        if not frame.control_command:
            self._buffer.append(frame)
            self._count_b()
            return FarmEvent.BD_ACCEPTED
        try:
            command = parse_control_command(frame.data)
        except FieldValueError:
            return FarmEvent.INVALID
        self._count_b()
        if isinstance(command, Unlock):
            self.retransmit = False
            if self.state != FarmState.OPEN:
                self.wait = False
                self.lockout = False
                self.state = FarmState.OPEN
            return FarmEvent.UNLOCK
        assert isinstance(command, SetVr)
        if self.state == FarmState.LOCKOUT:
            return FarmEvent.SET_V_R_IN_LOCKOUT
        self.retransmit = False
        self.wait = False
        self.state = FarmState.OPEN
        self.v_r = command.value
        return FarmEvent.SET_V_R

    def _count_b(self) -> None:
        self.farm_b_counter = (self.farm_b_counter + 1) % 4

    def take(self) -> TcFrame | None:
        """The oldest accepted frame (AD or BD), or None; frees buffer space."""
        if not self._buffer:
            return None
        frame = self._buffer.popleft()
        if self.wait and len(self._buffer) < self.buffer_capacity:
            self.wait = False  # buffer release signal
            if self.state == FarmState.WAIT:
                self.state = FarmState.OPEN
        return frame

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def clcw(self, *, no_rf_available: bool = False, no_bit_lock: bool = False) -> Clcw:
        return Clcw(
            virtual_channel_id=self.virtual_channel_id,
            report_value=self.v_r,
            lockout=self.lockout,
            wait=self.wait,
            retransmit=self.retransmit,
            farm_b_counter=self.farm_b_counter,
            no_rf_available=no_rf_available,
            no_bit_lock=no_bit_lock,
        )
