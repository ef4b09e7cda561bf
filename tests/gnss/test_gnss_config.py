"""UBX configuration commands (checked with pyubx2) and the ACK-waiting configurator."""

from __future__ import annotations

import pytest
from pyubx2 import UBXReader

from drivers.gnss import config, ubx
from drivers.gnss.config import Configurator, DynamicModel, Outcome
from hal.clock import SimClock


def test_builders_parse_in_pyubx2() -> None:
    ports = (config.Port.UART1, config.Port.USB)
    msg = UBXReader.parse(config.cfg_msg(ubx.MsgClass.NAV, ubx.NavId.PVT, 2, ports), msgmode=1)
    assert msg.identity == "CFG-MSG" and msg.msgClass == 1 and msg.msgID == 7
    assert (msg.rateUART1, msg.rateUSB, msg.rateUART2, msg.rateDDC) == (2, 2, 0, 0)
    short = config.cfg_msg(ubx.MsgClass.NAV, ubx.NavId.SAT, 1)  # current port: 3-octet payload
    assert short[4:9] == b"\x03\x00\x01\x35\x01"
    assert UBXReader.parse(short, msgmode=1).identity == "CFG-MSG"
    rate = UBXReader.parse(config.cfg_rate(200, 1), msgmode=1)
    assert (rate.measRate, rate.navRate, rate.timeRef) == (200, 1, 1)
    nav5 = UBXReader.parse(config.cfg_nav5(DynamicModel.AIRBORNE_4G), msgmode=1)
    assert nav5.dynModel == 8 and nav5.dyn == 1 and nav5.minEl == 0
    valset = UBXReader.parse(
        config.cfg_valset(
            [
                (config.CFG_RATE_MEAS, 100),
                (config.CFG_NAVSPG_DYNMODEL, 8),
                (config.CFG_MSGOUT_UBX_NAV_PVT_UART1, 1),
            ],
            config.Layer.RAM,
        ),
        msgmode=1,
    )
    assert valset.identity == "CFG-VALSET"
    assert (valset.CFG_RATE_MEAS, valset.CFG_NAVSPG_DYNMODEL) == (100, 8)
    assert valset.CFG_MSGOUT_UBX_NAV_PVT_UART1 == 1
    assert (valset.ram, valset.bbr, valset.flash) == (1, 0, 0)


def test_valset_rejects_key_without_size() -> None:
    with pytest.raises(ValueError):
        config.cfg_valset([(0x00110021, 1)])


class FakeReceiver:
    """A receiver at the far end of a port: answers each command after `delay_s` of sim time.

    `answers` decides per command: "ack", "nak", "silent", or "garbage".
    """

    def __init__(self, clock: SimClock, answers: list[str], delay_s: float = 0.05) -> None:
        self.clock = clock
        self.answers = answers
        self.delay_s = delay_s
        self.written: list[bytes] = []
        self._due: list[tuple[float, bytes]] = []

    def write(self, data: bytes) -> int:
        self.written.append(data)
        answer = self.answers.pop(0) if self.answers else "silent"
        cls_id = data[2:4]
        reply = {
            "ack": ubx.frame(ubx.MsgClass.ACK, ubx.AckId.ACK, cls_id),
            "nak": ubx.frame(ubx.MsgClass.ACK, ubx.AckId.NAK, cls_id),
            "garbage": b"\xb5\x62\x05\x01\xff\xff\x00$GPGGA,garbled*00\r\n",
            "other": ubx.frame(ubx.MsgClass.ACK, ubx.AckId.ACK, b"\x06\x99"),
        }.get(answer, b"")
        if reply:
            self._due.append((self.clock.monotonic() + self.delay_s, reply))
        return len(data)

    def read(self, size: int = 1) -> bytes:
        now = self.clock.monotonic()
        ready = [r for t, r in self._due if t <= now]
        self._due = [(t, r) for t, r in self._due if t > now]
        return b"".join(ready)[:size]


def test_ack_on_first_attempt() -> None:
    clock = SimClock()
    port = FakeReceiver(clock, ["ack"])
    result = Configurator(port, clock, timeout_s=0.5).send(config.cfg_rate(1000))
    assert result.outcome is Outcome.ACKED and result.ok and result.attempts == 1
    assert result.command == "CFG-RATE" and result.elapsed_s == pytest.approx(0.06, abs=0.02)


def test_nak_is_reported_not_retried() -> None:
    clock = SimClock()
    port = FakeReceiver(clock, ["nak"])
    configurator = Configurator(port, clock)
    result = configurator.send(config.cfg_nav5(DynamicModel.AIRBORNE_4G))
    assert result.outcome is Outcome.NAKED and not result.ok and len(port.written) == 1
    assert configurator.counters.naked == 1


def test_retries_after_silence_and_garbage_then_ack() -> None:
    clock = SimClock()
    port = FakeReceiver(clock, ["silent", "garbage", "other", "ack"])
    configurator = Configurator(port, clock, timeout_s=0.3, retries=3)
    result = configurator.send(config.cfg_msg(1, 7, 1))
    assert result.outcome is Outcome.ACKED and result.attempts == 4
    assert configurator.counters.retries == 3
    assert configurator.decoder.counters.framing.ubx_oversized == 1
    assert result.elapsed_s == pytest.approx(3 * 0.3 + 0.05, abs=0.03)


def test_receiver_that_stops_answering_is_a_counted_timeout() -> None:
    clock = SimClock()
    port = FakeReceiver(clock, ["ack"])  # answers the first command only
    configurator = Configurator(port, clock, timeout_s=0.5, retries=2)
    results = configurator.apply(config.flight_profile(rate_ms=500))
    assert [r.outcome for r in results] == [Outcome.ACKED] + [Outcome.TIMEOUT] * 4
    assert all(r.attempts == 3 for r in results[1:])
    assert configurator.counters.timeouts == 4 and configurator.counters.writes == 13
    assert clock.monotonic() == pytest.approx(0.05 + 4 * 3 * 0.5, abs=0.05)


class BrokenPort:
    def write(self, data: bytes) -> int:
        raise OSError("device disconnected")

    def read(self, size: int = 1) -> bytes:
        raise OSError("device disconnected")


def test_port_errors_do_not_escape() -> None:
    clock = SimClock()
    configurator = Configurator(BrokenPort(), clock, timeout_s=0.1, retries=1)
    result = configurator.send(config.cfg_rate(1000))
    assert result.outcome is Outcome.TIMEOUT
    assert configurator.counters.port_errors > 2
