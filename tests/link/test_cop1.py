"""COP-1: FARM-1 state table, FOP-1 behaviour, and both over a lossy simulated link."""

from __future__ import annotations

import random

import pytest

from flight.link.clcw import Clcw
from flight.link.farm import Farm1, FarmEvent, FarmState
from flight.link.fop import DirectiveRejected, Fop1, FopAlert, FopState, TimeoutType
from flight.link.tcframe import UNLOCK, TcFrame, set_v_r
from hal.clock import SimClock

SCID, VCID = 0x2A, 1


def ad(n: int, data: bytes = b"cmd") -> TcFrame:
    return TcFrame(SCID, VCID, n % 256, data)


def bd(data: bytes = b"bypass") -> TcFrame:
    return TcFrame(SCID, VCID, 0, data, bypass=True)


def bc(data: bytes) -> TcFrame:
    return TcFrame(SCID, VCID, 0, data, bypass=True, control_command=True)


def farm_in(state: FarmState, v_r: int = 10) -> Farm1:
    farm = Farm1(VCID, window_width=10, buffer_capacity=2)
    farm.v_r = v_r
    if state == FarmState.WAIT:
        farm.receive(ad(v_r))
        farm.receive(ad(v_r + 1))
        assert farm.receive(ad(v_r + 2)) == FarmEvent.AD_NO_BUFFER
    elif state == FarmState.LOCKOUT:
        assert farm.receive(ad(v_r + 100)) == FarmEvent.AD_LOCKOUT
    assert farm.state == state
    return farm


# ---------------------------------------------------------------- FARM-1 state table


def test_open_accepts_in_sequence() -> None:
    farm = farm_in(FarmState.OPEN)
    farm.retransmit = True
    assert farm.receive(ad(10)) == FarmEvent.AD_ACCEPTED
    assert (farm.v_r, farm.retransmit, farm.state) == (11, False, FarmState.OPEN)
    assert farm.take().sequence_number == 10


def test_open_buffer_full_goes_to_wait_then_release_reopens() -> None:
    farm = farm_in(FarmState.WAIT)
    clcw = farm.clcw()
    assert (clcw.wait, clcw.retransmit, clcw.report_value) == (True, True, 12)
    assert farm.receive(ad(12)) == FarmEvent.AD_NO_BUFFER
    assert farm.state == FarmState.WAIT
    farm.take()
    assert (farm.state, farm.wait, farm.retransmit) == (FarmState.OPEN, False, True)
    assert farm.receive(ad(12)) == FarmEvent.AD_ACCEPTED
    assert farm.retransmit is False


@pytest.mark.parametrize("state", [FarmState.OPEN, FarmState.WAIT])
def test_positive_window_discards(state: FarmState) -> None:
    farm = farm_in(state)
    v_r = farm.v_r
    farm.retransmit = False
    assert farm.receive(ad(v_r + 4)) == FarmEvent.AD_POSITIVE_WINDOW  # PW - 1 = 4
    assert farm.v_r == v_r and farm.state == state
    assert farm.retransmit is (state == FarmState.OPEN)


@pytest.mark.parametrize("state", [FarmState.OPEN, FarmState.WAIT])
def test_negative_window_discards_silently(state: FarmState) -> None:
    farm = farm_in(state)
    before = farm.clcw()
    assert farm.receive(ad(farm.v_r - 5)) == FarmEvent.AD_NEGATIVE_WINDOW  # NW = 5
    assert farm.clcw() == before


@pytest.mark.parametrize("state", [FarmState.OPEN, FarmState.WAIT])
@pytest.mark.parametrize("offset", [5, 100, -6, -100])
def test_lockout_area_locks_out(state: FarmState, offset: int) -> None:
    farm = farm_in(state)
    assert farm.receive(ad(farm.v_r + offset)) == FarmEvent.AD_LOCKOUT
    assert farm.state == FarmState.LOCKOUT and farm.clcw().lockout


def test_window_wraps_modulo_256() -> None:
    farm = farm_in(FarmState.OPEN, v_r=254)
    assert farm.receive(ad(1)) == FarmEvent.AD_POSITIVE_WINDOW
    assert farm.receive(ad(250)) == FarmEvent.AD_NEGATIVE_WINDOW
    assert farm.receive(ad(254)) == FarmEvent.AD_ACCEPTED
    assert farm.receive(ad(255)) == FarmEvent.AD_ACCEPTED
    assert farm.receive(ad(256)) == FarmEvent.AD_NO_BUFFER  # capacity 2, N(S) 0 = V(R)
    assert farm.v_r == 0


def test_lockout_discards_ad_even_in_sequence() -> None:
    farm = farm_in(FarmState.LOCKOUT)
    assert farm.receive(ad(10)) == FarmEvent.AD_IN_LOCKOUT
    assert farm.v_r == 10 and farm.buffered == 0


@pytest.mark.parametrize("state", list(FarmState))
def test_bd_always_accepted(state: FarmState) -> None:
    farm = farm_in(state)
    counter = farm.farm_b_counter
    assert farm.receive(bd()) == FarmEvent.BD_ACCEPTED
    assert farm.farm_b_counter == (counter + 1) % 4
    assert farm.state == state
    frames = [farm.take() for _ in range(farm.buffered)]
    assert frames[-1].data == b"bypass"


@pytest.mark.parametrize("state", list(FarmState))
def test_unlock_reopens_from_every_state(state: FarmState) -> None:
    farm = farm_in(state)
    assert farm.receive(bc(UNLOCK)) == FarmEvent.UNLOCK
    clcw = farm.clcw()
    assert farm.state == FarmState.OPEN
    assert (clcw.lockout, clcw.wait, clcw.retransmit, clcw.farm_b_counter) == (
        False, False, False, 1)


@pytest.mark.parametrize("state", [FarmState.OPEN, FarmState.WAIT])
def test_set_v_r_outside_lockout(state: FarmState) -> None:
    farm = farm_in(state)
    assert farm.receive(bc(set_v_r(200))) == FarmEvent.SET_V_R
    assert (farm.state, farm.v_r, farm.retransmit, farm.wait) == (FarmState.OPEN, 200, False, False)


def test_set_v_r_in_lockout_only_counts() -> None:
    farm = farm_in(FarmState.LOCKOUT)
    assert farm.receive(bc(set_v_r(200))) == FarmEvent.SET_V_R_IN_LOCKOUT
    assert (farm.state, farm.v_r, farm.farm_b_counter) == (FarmState.LOCKOUT, 10, 1)


@pytest.mark.parametrize("command", [b"\x01", b"\x82\x01\x05", b"\x82\x00", b""])
def test_invalid_control_command_discarded(command: bytes) -> None:
    farm = farm_in(FarmState.LOCKOUT)
    assert farm.receive(bc(command)) == FarmEvent.INVALID
    assert farm.state == FarmState.LOCKOUT and farm.farm_b_counter == 0


def test_farm_rejects_bad_window_width() -> None:
    with pytest.raises(ValueError):
        Farm1(VCID, window_width=7)


# ---------------------------------------------------------------- FOP-1


def make_fop(clock: SimClock, **kwargs) -> Fop1:
    return Fop1(SCID, VCID, clock, **kwargs)


def test_fop_rejects_ad_before_initiation_and_directives_out_of_state() -> None:
    fop = make_fop(SimClock())
    assert fop.transmit_ad(b"x") is False
    fop.initiate_ad()
    with pytest.raises(DirectiveRejected):
        fop.initiate_ad()
    with pytest.raises(DirectiveRejected):
        fop.set_v_s(3)


def test_fop_sends_window_then_waits_for_acknowledgement() -> None:
    fop = make_fop(SimClock(), window_width=3)
    fop.initiate_ad()
    for i in range(5):
        assert fop.transmit_ad(bytes([i]), tag=i)
    frames = [TcFrame.unpack(f) for f in fop.take_frames()]
    assert [f.sequence_number for f in frames] == [0, 1, 2]
    fop.on_clcw(Clcw(VCID, report_value=2))
    assert fop.take_confirmations() == [0, 1]
    assert [TcFrame.unpack(f).data for f in fop.take_frames()] == [b"\x03", b"\x04"]
    fop.on_clcw(Clcw(VCID, report_value=5))
    assert fop.take_confirmations() == [2, 3, 4]
    assert fop.status().state == FopState.ACTIVE and fop.status().sent_queue == 0


def test_fop_retransmits_on_timer_then_alerts_at_limit() -> None:
    clock = SimClock()
    fop = make_fop(clock, t1_initial_s=1.0, transmission_limit=3)
    fop.initiate_ad()
    fop.transmit_ad(b"a", tag="a")
    assert len(fop.take_frames()) == 1
    for _ in range(2):
        clock.advance(1.0)
        fop.poll()
        assert len(fop.take_frames()) == 1
        assert fop.state == FopState.RETRANSMIT_WITHOUT_WAIT
    clock.advance(1.0)
    fop.poll()
    assert fop.take_alerts() == [FopAlert.T1]
    assert fop.take_purged() == ["a"] and fop.state == FopState.INITIAL


def test_fop_suspends_and_resumes() -> None:
    clock = SimClock()
    fop = make_fop(clock, t1_initial_s=1.0, transmission_limit=1, timeout_type=TimeoutType.SUSPEND)
    fop.initiate_ad()
    fop.transmit_ad(b"a", tag="a")
    fop.take_frames()
    clock.advance(1.0)
    fop.poll()
    assert fop.state == FopState.INITIAL and fop.status().suspend_state == FopState.ACTIVE
    assert fop.take_alerts() == []
    fop.resume_ad()
    assert fop.state == FopState.ACTIVE
    fop.on_clcw(Clcw(VCID, report_value=1))
    assert fop.take_confirmations() == ["a"]


def test_fop_retransmit_flag_triggers_go_back_n() -> None:
    fop = make_fop(SimClock())
    fop.initiate_ad()
    for i in range(3):
        fop.transmit_ad(bytes([i]))
    fop.take_frames()
    fop.on_clcw(Clcw(VCID, report_value=1, retransmit=True))
    assert [TcFrame.unpack(f).sequence_number for f in fop.take_frames()] == [1, 2]
    fop.on_clcw(Clcw(VCID, report_value=1, retransmit=True))  # already retransmitting
    assert fop.take_frames() == []


@pytest.mark.parametrize(
    ("clcw", "alert"),
    [
        (Clcw(VCID, 0, lockout=True), FopAlert.LOCKOUT),
        (Clcw(VCID, 9), FopAlert.SYNCH),
        (Clcw(VCID, 2, retransmit=True), FopAlert.CLCW),
        (Clcw(VCID, 1, wait=True), FopAlert.CLCW),
    ],
)
def test_fop_alerts_on_bad_clcw(clcw: Clcw, alert: FopAlert) -> None:
    fop = make_fop(SimClock())
    fop.initiate_ad()
    fop.transmit_ad(b"a")
    fop.transmit_ad(b"b")
    fop.on_clcw(clcw)
    assert fop.take_alerts() == [alert] and fop.state == FopState.INITIAL


def test_fop_ignores_other_virtual_channels() -> None:
    fop = make_fop(SimClock())
    fop.initiate_ad()
    fop.transmit_ad(b"a")
    fop.on_clcw(Clcw(VCID + 1, 0, lockout=True))
    assert fop.state == FopState.ACTIVE


def test_initiate_with_set_v_r_and_clcw_check() -> None:
    clock = SimClock()
    fop = make_fop(clock)
    farm = Farm1(VCID)
    farm.v_r = 77
    fop.initiate_ad_with_set_v_r(5)
    fop.transmit_ad(b"queued")
    (frame,) = fop.take_frames()
    assert fop.state == FopState.INITIALISING_WITH_BC
    fop.on_clcw(farm.clcw())  # before the BC frame arrived: still initialising
    assert fop.state == FopState.INITIALISING_WITH_BC
    farm.receive(TcFrame.unpack(frame))
    fop.on_clcw(farm.clcw())
    assert fop.state == FopState.ACTIVE and farm.v_r == 5
    (frame,) = fop.take_frames()
    assert TcFrame.unpack(frame).sequence_number == 5
    fop.terminate_ad()
    fop.initiate_ad(check_clcw=True)
    assert fop.state == FopState.INITIALISING_WITHOUT_BC
    fop.on_clcw(Clcw(VCID, 6))
    assert fop.state == FopState.ACTIVE


# ---------------------------------------------------------------- lossy link


def run_lossy_link(seed: int, commands: int, loss: float) -> tuple[list[bytes], Fop1, Farm1]:
    """FOP-1 and FARM-1 over a link losing `loss` of TC frames and of CLCWs, never reordering."""
    rng = random.Random(seed)
    clock = SimClock()
    farm = Farm1(VCID, window_width=20, buffer_capacity=4)
    farm.v_r = rng.randrange(256)
    farm.receive(TcFrame(SCID, VCID, farm.v_r + 50 & 0xFF, b"x"))  # starts locked out
    fop = make_fop(clock, window_width=10, t1_initial_s=0.5, transmission_limit=40,
                   queue_limit=commands)
    fop.set_v_s(farm.clcw().report_value)  # the operator reads V(R) from a CLCW
    fop.initiate_ad_with_unlock()
    sent = [f"command {i}".encode() for i in range(commands)]
    for i, data in enumerate(sent):
        assert fop.transmit_ad(data, tag=i)
    delivered: list[bytes] = []
    confirmed: list[int] = []
    for _ in range(50 * commands):
        for octets in fop.take_frames():
            if rng.random() >= loss:
                farm.receive(TcFrame.unpack(octets))
        for _ in range(rng.randrange(4)):  # the dispatcher drains at its own pace
            if (frame := farm.take()) is not None:
                delivered.append(frame.data)
        if rng.random() >= loss:
            fop.on_clcw(Clcw.unpack(farm.clcw().pack()))
        clock.advance(0.1)
        fop.poll()
        assert fop.take_alerts() == []
        confirmed += fop.take_confirmations()
        if len(confirmed) == commands:
            break
    while (frame := farm.take()) is not None:
        delivered.append(frame.data)
    assert confirmed == list(range(commands))
    return delivered, fop, farm


@pytest.mark.parametrize("seed", range(6))
def test_every_command_arrives_exactly_once_in_order_over_lossy_link(seed: int) -> None:
    delivered, fop, farm = run_lossy_link(seed, commands=300, loss=0.10)
    assert delivered == [f"command {i}".encode() for i in range(300)]
    assert fop.status().frames_retransmitted > 0  # the loss was real
    assert farm.counts[FarmEvent.AD_POSITIVE_WINDOW] > 0


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(50))
def test_lossy_link_soak(seed: int) -> None:
    delivered, _, _ = run_lossy_link(seed, commands=2000, loss=0.3)
    assert delivered == [f"command {i}".encode() for i in range(2000)]
