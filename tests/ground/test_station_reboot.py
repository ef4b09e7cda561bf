"""The ground station across a reboot of the satellite: it notices the reboot in housekeeping (boot
count, or uptime without a health monitor), resynchronizes COP-1 and the SDLS sequence numbers by
itself, fails the commands that were open with `CommandInterrupted`, and the satellite still
refuses the frames sent before the reboot. The satellite reboots by building its runtime again on
the same non-volatile storage and the same simulated clock."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

import pytest

from flight.ground.dictionary import GroundDictionary
from flight.ground.link import GroundLink
from flight.ground.station import (
    CommandInterrupted,
    CommandNotDelivered,
    DictionaryMismatchError,
    GroundStation,
    SatelliteReboot,
)
from flight.ground.transport import BusTransport
from flight.link import TmFrame
from flight.link.devkeys import GroundKeys
from flight.link.downlink_component import Downlink
from flight.link.sdls import RejectReason
from flight.link.uplink_component import ARSN_RESERVATION, Uplink
from flight.runtime import dictionary
from flight.runtime.component import Component, command
from flight.runtime.executive import RateGroup
from flight.runtime.records import Stage
from flight.runtime.runtime import Runtime
from flight.runtime.types import U32
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.health import HealthMonitor
from flight.svc.packetizer import TlmPacketizer
from hal.clock import SimClock
from hal.storage import open_storage

_disk = itertools.count()


class Recorder(Component):
    """Runs `record` commands into a list the satellite keeps across its boots."""

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.calls: list[int] = []

    @command(1, n=U32)
    def record(self, n: int) -> None:
        self.calls.append(n)


class Radio:
    """The ground's transport: reaches whichever runtime is booted. While the satellite is off,
    frames sent are lost; at a reboot, frames the old boot had sent and the ground had not taken
    yet are lost too (the radio lost them with the power). Keeps every frame sent."""

    def __init__(self, sat: RebootingSatellite) -> None:
        self.sat = sat
        self.sent: list[bytes] = []
        self.outage = False  # out of view: nothing gets through either way
        self.realtime_lost_until = 0.0  # frames of the real-time VC (housekeeping) lost

    def send(self, frame: bytes) -> bool:
        self.sent.append(frame)
        if self.sat.transport is None or self.outage:
            return True  # radiated, nobody listening
        return self.sat.transport.send(frame)

    def poll(self) -> list[bytes]:
        if self.sat.transport is None:
            return []
        frames = self.sat.transport.poll()
        if self.sat.clock.monotonic() < self.realtime_lost_until:
            realtime = self.sat.uplink.profile.vc_realtime
            frames = [f for f in frames if TmFrame.unpack(f).virtual_channel_id != realtime]
        return [] if self.outage else frames


class RebootingSatellite:
    def __init__(self, *, health: bool = True, hk_period_s: float = 1.0) -> None:
        self.disk = f"mem://station-reboot-{next(_disk)}"
        self.health = health
        self.hk_period_s = hk_period_s
        self.clock = SimClock()
        self.calls: list[int] = []  # every `record` run, over all boots
        self.boots = 0
        self.transport: BusTransport | None = None
        self.boot()
        self.keys = GroundKeys.decode(open_storage(self.disk).load("sdls-ground.key"))
        self.dictionary = GroundDictionary(dictionary.build(self.rt))

    def boot(self, *, extra: bool = False) -> None:
        rt = self.rt = Runtime("rebootsat", clock=self.clock, tick_hz=10)
        rt.add(CommandDispatcher("cmd", 0x0400))
        self.recorder = rt.add(Recorder("recorder", 0x2000))
        self.recorder.calls = self.calls
        if extra:  # new software: another dictionary
            rt.add(Recorder("recorder2", 0x2100))
        self.uplink = rt.add(Uplink("uplink", 0x0900), hardware={"storage": self.disk},
                             config={"provision_dev_keys": True})
        rt.add(Downlink("downlink", 0x0A00), config={"air_rate_bps": 500_000})
        system = ["executive.dictionary_id", "executive.uptime_s", "uplink.arsn"]
        members = ["downlink", "hk"]
        if self.health:
            rt.add(HealthMonitor("health", 0x0800), hardware={"storage": self.disk})
            system.append("health.boot_count")
            members.append("health")
        rt.add(TlmPacketizer("hk", 0x0700), config={"packets": [
            {"name": "system", "id": 1, "period_s": self.hk_period_s, "channels": system}]})
        rt.add_group(RateGroup("rg10hz", 0x0300, divisor=1), members)
        rt.add_group(RateGroup("rg1hz", 0x0310, divisor=10), ["uplink"])
        rt.connect("radio.rx_frame", "uplink.rx_frame")
        rt.connect("uplink.commands", "cmd.commands")
        rt.connect("uplink.clcw", "downlink.ocf")
        rt.connect("hk.packets", "downlink.housekeeping")
        rt.connect("cmd.verification", "downlink.verification")
        rt.connect("sys.events", "downlink.events")
        self.transport = BusTransport(rt)
        rt.boot()
        self.boots += 1

    def power_off(self) -> None:
        self.rt.shutdown()
        self.transport = None

    def reboot(self, *, extra: bool = False) -> None:
        if self.transport is not None:
            self.power_off()
        self.boot(extra=extra)

    def wait(self, deadline: float) -> None:
        step = max(deadline - self.clock.monotonic(), 0.1)
        if self.transport is None:
            self.clock.sleep_until(self.clock.monotonic() + step)
        else:
            self.rt.run(step)

    def station(self, radio: Radio | None = None) -> GroundStation:
        link = GroundLink(self.uplink.profile, self.keys, self.clock, radio or Radio(self))
        return GroundStation(self.dictionary, link, wait=self.wait, poll_interval_s=0.1,
                             wall_time=lambda: 1.7e9 + self.clock.monotonic(),
                             identify_timeout_s=5.0)


@pytest.fixture
def satellite() -> Callable[..., RebootingSatellite]:
    return RebootingSatellite


def test_the_station_notices_a_reboot_resynchronizes_and_the_next_command_runs_once(
        satellite, caplog) -> None:
    sat = satellite()
    station = sat.station()
    told: list[SatelliteReboot] = []
    station.reboot_listeners.append(told.append)
    station.send_and_await_completion("recorder.record", 1)
    station.run_for(2.0)
    mark = station.mark()

    with caplog.at_level(logging.INFO, logger="flight.ground.station"):
        sat.reboot()
        reboot = station.await_reboot(timeout=10.0, start=mark)
        report = station.send_and_await_completion("recorder.record", 2)
        station.run_for(3.0)

    assert told == [reboot] and station.reboots == [reboot]
    assert reboot.signal == "health.boot_count 1 -> 2" and reboot.boot_count == 2
    assert reboot.interrupted == ()
    assert report.stage is Stage.COMPLETED and sat.calls == [1, 2]
    assert [r.stage for r in station.verification_history(station.commands[-1])] == [
        Stage.ACCEPTED, Stage.STARTED, Stage.COMPLETED]
    # the AD service started again with Set V(R), and the SDLS numbers after the reservation
    assert any(e.name == "uplink.farm_control" and e.args[0] == "SET_V_R"
               for e in station.event_history(start=mark))
    arsn = station.latest["uplink.arsn"].value
    assert arsn > ARSN_RESERVATION  # past the range the rebooted uplink reserved
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("satellite rebooted (health.boot_count 1 -> 2)") for m in messages)
    assert any(m.startswith("satellite resynchronized after reboot 1") for m in messages)


@pytest.mark.parametrize("case", ["lost-on-the-way", "ran-report-lost", "clcw-first"])
def test_a_command_open_across_the_reboot_fails_as_interrupted_and_is_never_run_again(
        satellite, case) -> None:
    sat = satellite()
    radio = Radio(sat)
    station = sat.station(radio)
    station.send_and_await_completion("recorder.record", 1)
    station.run_for(2.0)
    ran = case == "ran-report-lost"
    if ran:  # it reaches the satellite and runs; its report dies with the power
        request = station.send_command("recorder.record", 7)
        sat.rt.run(0.5)
        assert sat.calls == [1, 7]
        sat.power_off()
    else:  # the satellite is already down when it goes up
        sat.power_off()
        request = station.send_command("recorder.record", 7)
    sat.clock.sleep_until(sat.clock.monotonic() + 2.0)
    if case == "clcw-first":  # the new FARM-1's CLCW (V(R) 0) makes COP-1 purge the command
        radio.realtime_lost_until = sat.clock.monotonic() + 1.5  # before housekeeping tells why
    sat.boot()

    with pytest.raises(CommandInterrupted) as info:
        station.await_completion(request, timeout=10.0)
    assert isinstance(info.value, CommandNotDelivered)  # a caller's resend logic covers both
    assert "satellite rebooted (health.boot_count 1 -> 2)" in str(info.value)
    assert info.value.reboot.interrupted == (request,)
    station.send_and_await_completion("recorder.record", 8)
    station.run_for(5.0)  # nothing old is retransmitted
    assert sat.calls == ([1, 7, 8] if ran else [1, 8])
    assert not [r for r in station.verification_history(request) if r.stage is Stage.COMPLETED]


def test_frames_sent_before_the_reboot_are_still_refused_after_it(satellite) -> None:
    sat = satellite()
    radio = Radio(sat)
    station = sat.station(radio)
    for n in (1, 2, 3):
        station.send_and_await_completion("recorder.record", n)
    recorded = list(radio.sent)
    mark = station.mark()
    sat.reboot()
    station.await_reboot(timeout=10.0, start=mark)
    station.send_and_await_completion("recorder.record", 4)
    replayed = sat.uplink.rejections[RejectReason.REPLAY]

    for frame in recorded:
        sat.transport.send(frame)
    sat.rt.run(1.0)

    assert sat.uplink.rejections[RejectReason.REPLAY] == replayed + len(recorded)
    assert sat.calls == [1, 2, 3, 4]
    station.send_and_await_completion("recorder.record", 5)  # the station is not disturbed
    assert sat.calls == [1, 2, 3, 4, 5]


def test_without_a_health_monitor_the_uptime_going_back_shows_the_reboot(satellite) -> None:
    sat = satellite(health=False)
    station = sat.station()
    station.send_and_await_completion("recorder.record", 1)
    station.run_for(5.0)
    mark = station.mark()
    sat.reboot()
    reboot = station.await_reboot(timeout=10.0, start=mark)
    assert reboot.signal.startswith("executive.uptime_s ") and reboot.boot_count is None
    station.send_and_await_completion("recorder.record", 2)
    assert sat.calls == [1, 2]


def test_no_reboot_is_seen_in_a_backlog_or_a_quiet_spell(satellite) -> None:
    sat = satellite()
    radio = Radio(sat)
    station = sat.station(radio)
    station.send_and_await_completion("recorder.record", 1)
    sat.rt.run(30.0)  # the station does not poll: housekeeping piles up
    station.run_for(2.0)
    radio.outage = True  # then nothing is heard for a while
    station.run_for(20.0)
    radio.outage = False
    station.send_and_await_completion("recorder.record", 2)
    assert station.reboots == [] and sat.calls == [1, 2]


def test_a_passive_station_reports_a_reboot_and_sends_nothing(satellite) -> None:
    sat = satellite()
    radio = Radio(sat)
    station = sat.station(radio)
    station.run_for(3.0)  # never identified: a monitor
    sat.reboot()
    station.run_for(5.0)
    assert [r.signal for r in station.reboots] == ["health.boot_count 1 -> 2"]
    assert radio.sent == [] and not station.link.ready


def test_new_software_after_the_reboot_is_not_commanded(satellite) -> None:
    sat = satellite()
    station = sat.station()
    station.send_and_await_completion("recorder.record", 1)
    mark = station.mark()
    sat.reboot(extra=True)
    with pytest.raises(DictionaryMismatchError):
        station.await_reboot(timeout=10.0, start=mark)
    sent = station.link.counters.tc_frames_sent
    with pytest.raises(DictionaryMismatchError):
        station.send_command("recorder.record", 2)
    station.run_for(5.0)
    assert station.link.counters.tc_frames_sent == sent and sat.calls == [1]
    assert not station.link.ready and len(station.commands) == 1
