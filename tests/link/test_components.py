"""The onboard uplink and downlink components in a deployment on the simulated clock: commands
through SDLS and COP-1 from the ground link, bad frames counted under their reasons, COP-1 over a
lossy link, key management by command, a reboot that keeps keys and anti-replay state, and the
downlink's virtual channels, packets, OCF and pacing."""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flight.ground.dictionary import GroundDictionary
from flight.ground.link import GroundLink
from flight.ground.station import GroundStation
from flight.ground.transport import BusTransport
from flight.link import Clcw, SpacePacket, TcFrame, TmFrame, telemetry_time
from flight.link.devkeys import GroundKeys
from flight.link.downlink_component import Downlink
from flight.link.farm import FarmState
from flight.link.keystore import KeyState
from flight.link.profile import LinkProfile
from flight.link.sdls import RejectReason, Sdls
from flight.link.spacepacket import PacketType
from flight.link.uplink_component import RejectCode, Uplink
from flight.runtime import dictionary
from flight.runtime.component import Component, Health, command
from flight.runtime.errors import ConfigError
from flight.runtime.executive import RateGroup
from flight.runtime.records import Command, EventRecord, Stage, Verification
from flight.runtime.runtime import Runtime
from flight.runtime.types import U32
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.packetizer import TlmPacketizer
from hal.clock import SimClock
from hal.storage import open_storage
from hal.time import utc_to_tai

_disk = itertools.count()


class Recorder(Component):
    """Remembers every `record` command, in the order executed."""

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.calls: list[int] = []

    @command(1, n=U32)
    def record(self, n: int) -> None:
        self.calls.append(n)


class Sat:
    """A small satellite: dispatcher, recorder, uplink, downlink, housekeeping; no radio (the
    ground is attached to the bus)."""

    def __init__(self, disk: str | None = None, *, air_rate_bps: int = 1_000_000,
                 downlink_hardware: dict[str, str] | None = None,
                 **uplink_config: object) -> None:
        self.disk = disk or f"mem://link-components-{next(_disk)}"
        self.clock = SimClock()
        rt = self.rt = Runtime("linksat", clock=self.clock, tick_hz=10)
        self.cmd = rt.add(CommandDispatcher("cmd", 0x0400))
        self.recorder = rt.add(Recorder("recorder", 0x2000))
        self.uplink = rt.add(Uplink("uplink", 0x0900), hardware={"storage": self.disk},
                             config={"provision_dev_keys": True, **uplink_config})
        self.downlink = rt.add(Downlink("downlink", 0x0A00), hardware=downlink_hardware,
                               config={"air_rate_bps": air_rate_bps})
        rt.add(TlmPacketizer("hk", 0x0700), config={"packets": [
            {"name": "system", "id": 1, "period_s": 1.0,
             "channels": ["executive.dictionary_id", "uplink.arsn", "uplink.frames_rejected"]},
        ]})
        rt.add_group(RateGroup("rg10hz", 0x0300, divisor=1), ["downlink", "hk"])
        rt.add_group(RateGroup("rg1hz", 0x0310, divisor=10), ["uplink"])
        rt.connect("radio.rx_frame", "uplink.rx_frame")
        rt.connect("uplink.commands", "cmd.commands")
        rt.connect("uplink.clcw", "downlink.ocf")
        rt.connect("hk.packets", "downlink.housekeeping")
        rt.connect("cmd.verification", "downlink.verification")
        self.frames: list[tuple[int, bytes]] = []
        rt.bus.subscribe("downlink.tx_frame", self.frames.append, depth=100_000)
        self.events: list[EventRecord] = []
        rt.bus.subscribe("sys.events", self.events.append, depth=100_000)
        self.transport = BusTransport(rt)
        rt.boot()
        self.profile: LinkProfile = self.uplink.profile
        self.keys = GroundKeys.decode(open_storage(self.disk).load("sdls-ground.key"))

    def run(self, seconds: float) -> None:
        self.rt.run(seconds)

    def feed(self, frames: list[bytes], batch: int = 50) -> None:
        """Frames into the uplink through the bus, a queue's worth at a time."""
        for i in range(0, len(frames), batch):
            for frame in frames[i : i + batch]:
                self.rt.bus.publish("radio.rx_frame", frame)
            self.rt.bus.pump()

    def station(self, transport: object = None) -> GroundStation:
        link = GroundLink(self.profile, self.keys, self.clock, transport or self.transport)
        return GroundStation(GroundDictionary(dictionary.build(self.rt)), link,
                             wait=lambda deadline: self.run(max(deadline - self.clock.monotonic(),
                                                                0.1)),
                             poll_interval_s=0.1, wall_time=self.clock.monotonic)

    def event_names(self) -> list[str]:
        return [self.rt.registry.events[e.event_id].name for e in self.events]

    def rejected(self) -> dict[RejectReason, int]:
        return {r: n for r, n in self.uplink.rejections.items() if n}


def protected_frame(sat: Sat, data: bytes, number: int, keys: GroundKeys | None = None, *,
                    scid: int | None = None, vcid: int | None = None) -> bytes:
    """A type-AD TC frame carrying a command packet, secured as the ground secures it (ARSN
    `number`, N(S) `number` - 1), optionally under other keys or for another address."""
    p = sat.profile
    scid = p.spacecraft_id if scid is None else scid
    vcid = p.tc_vcid if vcid is None else vcid
    sdls = Sdls((keys or sat.keys).key_store())
    sdls.add(replace(p.sa_parameters, spacecraft_id=scid, virtual_channel_id=vcid))
    sdls.start(p.spi)
    sdls.association(p.spi).next_sequence_number = number
    packet = SpacePacket(p.apid_command, number % 16384, data, PacketType.TC).pack()
    return sdls.apply(TcFrame(scid, vcid, (number - 1) % 256, packet, map_id=p.tc_map_id), p.spi)


def pad(sat: Sat, frame: bytes) -> bytes:
    return frame + b"\x55" * (sat.profile.frame_octets - len(frame))


def record_command(sat: Sat, n: int) -> bytes:
    return Command(sat.rt.registry.command("recorder.record").opcode, (n,), n).pack()


# ---------------------------------------------------------------- the command path


def test_commands_from_the_ground_link_are_executed_and_verified() -> None:
    sat = Sat()
    station = sat.station()
    station.identify(timeout=5)
    report = station.send_and_await_completion("recorder.record", 7)
    assert report.stage is Stage.COMPLETED
    assert sat.recorder.calls == [7]
    assert sat.uplink.tc.frames_accepted == 1 and not sat.uplink.rejections
    sat.run(1.0)  # the uplink reports at 1 Hz
    assert sat.rt.telemetry.get("uplink.farm_state") is FarmState.OPEN
    assert sat.rt.telemetry.get("uplink.farm_v_r") == 1
    assert sat.rt.telemetry.get("uplink.packets_routed") == 1
    assert [r.stage for r in station.verification_history()] == [
        Stage.ACCEPTED, Stage.STARTED, Stage.COMPLETED]
    assert sat.uplink.health is Health.OK and sat.downlink.health is Health.OK


def test_bad_frames_are_rejected_counted_and_reported() -> None:
    sat = Sat()
    p = sat.profile
    good = protected_frame(sat, record_command(sat, 1), 1)
    damaged = bytearray(good)
    damaged[20] ^= 0x04
    frames = {
        RejectReason.MALFORMED: [
            b"", good[:3], good[:-1],  # truncated: no header, half a header, a frame cut short
            pad(sat, good) + b"\x00", bytes(5000),  # oversized radio frames
            pad(sat, _refecf(b"\xc0" + good[1:])),  # TC version 3
        ],
        RejectReason.BAD_FECF: [pad(sat, bytes(damaged))],
        RejectReason.WRONG_SCID: [
            pad(sat, protected_frame(sat, record_command(sat, 1), 1, scid=0x155))],
        RejectReason.WRONG_VCID: [
            pad(sat, protected_frame(sat, record_command(sat, 1), 1, vcid=9))],
    }
    rng = random.Random(5)
    for reason, batch in frames.items():
        before = sat.uplink.rejections[reason]
        sat.feed(batch)
        assert sat.uplink.rejections[reason] - before == len(batch), reason
    randoms = [rng.randbytes(p.frame_octets) for _ in range(300)]
    total = sum(sat.uplink.rejections.values())
    sat.feed(randoms)
    assert sum(sat.uplink.rejections.values()) - total == 300
    sat.run(1.0)
    assert sat.recorder.calls == [] and sat.cmd.accepted_count == 0
    assert sat.uplink.health is Health.OK
    assert sat.rt.telemetry.get("uplink.frames_rejected") == sum(sat.uplink.rejections.values())
    assert sat.rt.telemetry.get("uplink.rejected_wrong_scid") == 1
    assert sat.rt.telemetry.get("uplink.rejected_wrong_vcid") == 1
    codes = {e.args[0] for e in sat.events
             if sat.rt.registry.events[e.event_id].name == "uplink.frame_rejected"}
    assert {RejectCode.MALFORMED, RejectCode.BAD_FECF} <= codes
    assert sat.event_names().count("uplink.frame_rejected") == 10  # throttled: 10 a minute
    # the channel still works afterwards
    sat.feed([pad(sat, good)])
    sat.run(0.2)
    assert sat.recorder.calls == [1]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1200))
def test_arbitrary_frames_never_crash_and_are_counted(frame: bytes) -> None:
    sat = _shared_sat()
    before = sum(sat.uplink.rejections.values())
    sat.uplink.rx_frame(frame)
    assert sum(sat.uplink.rejections.values()) == before + 1
    assert sat.cmd.accepted_count == 0


@functools.cache
def _shared_sat() -> Sat:
    """One satellite for all the examples: each must leave it able to count the next."""
    return Sat()


class LossyTransport:
    """Loses each frame, either way, with probability `loss`; never reorders."""

    def __init__(self, inner: BusTransport, loss: float, seed: int) -> None:
        self.inner = inner
        self.loss = loss
        self.rng = random.Random(seed)
        self.lost = [0, 0]

    def send(self, frame: bytes) -> bool:
        if self.rng.random() < self.loss:
            self.lost[0] += 1
            return True
        return self.inner.send(frame)

    def poll(self) -> list[bytes]:
        kept = []
        for frame in self.inner.poll():
            if self.rng.random() < self.loss:
                self.lost[1] += 1
            else:
                kept.append(frame)
        return kept


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cop1_over_a_lossy_link_delivers_every_command_once_in_order(seed: int) -> None:
    sat = Sat()
    lossy = LossyTransport(sat.transport, 0.10, seed)
    station = sat.station(lossy)
    station.identify(timeout=10)
    for n in range(60):
        station.send_command("recorder.record", n)
    for _ in range(120):  # verification reports can be lost on the way down: watch COP-1
        station.run_for(1.0)
        if station.link.counters.tc_packets_confirmed == 60:
            break
    sat.run(0.5)
    assert sat.recorder.calls == list(range(60))
    assert lossy.lost[0] > 0 and lossy.lost[1] > 0
    assert station.link.fop.frames_retransmitted > 0
    assert sat.cmd.accepted_count == 60 and not station.link.alerts


# ---------------------------------------------------------------- adversarial telecommands


def test_ten_thousand_forged_replayed_flipped_and_wrong_key_commands_never_execute() -> None:
    sat = Sat()
    rng = random.Random(1)
    legit = [protected_frame(sat, record_command(sat, n), n + 1) for n in range(5)]
    sat.feed([pad(sat, f) for f in legit])
    sat.run(0.5)
    assert sat.recorder.calls == [0, 1, 2, 3, 4]
    accepted, handled = sat.cmd.accepted_count, list(sat.recorder.calls)
    wrong_keys = GroundKeys(sat.profile.spi, sat.profile.key_id, os.urandom(32),
                            sat.profile.master_key_id, os.urandom(32))
    attacks: dict[RejectReason, list[bytes]] = {r: [] for r in RejectReason}
    for i in range(2000):  # replays of frames that were accepted
        attacks[RejectReason.REPLAY].append(legit[i % 5])
    for i in range(2500):  # authentic frames with one bit flipped after the SPI, FECF fixed
        frame = bytearray(legit[i % 5])
        bit = rng.randrange(8 * 8, 8 * (len(frame) - 2))
        frame[bit // 8] ^= 1 << (bit % 8)
        attacks[RejectReason.BAD_MAC].append(_refecf(bytes(frame)))
    for i in range(2000):  # under a key the satellite does not have
        attacks[RejectReason.BAD_MAC].append(
            protected_frame(sat, record_command(sat, 100 + i), 100 + i, wrong_keys))
    for _ in range(2000):  # forged: random IV, ARSN and MAC
        frame = bytearray(legit[0])
        frame[8:-2] = rng.randbytes(len(frame) - 10)
        frame[6:8] = sat.profile.spi.to_bytes(2, "big")
        attacks[RejectReason.BAD_MAC].append(_refecf(bytes(frame)))
    for _ in range(1000):  # damaged in transit (FECF not fixed)
        frame = bytearray(legit[1])
        frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
        attacks[RejectReason.BAD_FECF].append(bytes(frame))
    for i in range(500):  # an SPI the satellite does not know
        frame = bytearray(legit[2])
        frame[6:8] = (2 + i % 100).to_bytes(2, "big")
        attacks[RejectReason.UNKNOWN_SPI].append(_refecf(bytes(frame)))
    total = sum(len(v) for v in attacks.values())
    assert total >= 10_000
    mixed = [(reason, frame) for reason, frames in attacks.items() for frame in frames]
    rng.shuffle(mixed)
    before = dict(sat.uplink.rejections)
    sat.feed([pad(sat, frame) for _, frame in mixed])
    sat.run(1.0)
    assert sat.cmd.accepted_count == accepted and sat.cmd.rejected_count == 0
    assert sat.recorder.calls == handled
    for reason, frames in attacks.items():
        assert sat.uplink.rejections[reason] - before.get(reason, 0) == len(frames), reason
    assert sat.rt.telemetry.get("uplink.frames_rejected") == total
    fsr = sat.rt.telemetry.get("uplink.fsr")
    assert fsr >> 31 == 1 and (fsr >> 28) & 0b111 == 0b100
    assert sat.uplink.health is Health.OK


def _refecf(frame: bytes) -> bytes:
    from flight.codec import crc16

    return frame[:-2] + crc16(frame[:-2]).to_bytes(2, "big")


# ---------------------------------------------------------------- keys and reboots


def test_key_management_by_command_and_keys_never_in_telemetry_or_events() -> None:
    sat = Sat()
    station = sat.station()
    station.identify(timeout=5)
    new_key = os.urandom(32)
    wrapped = sat.keys.wrap(new_key)
    station.send_and_await_completion("uplink.load_key", 11, wrapped, 1)
    station.send_and_await_completion("uplink.activate_key", 11)
    station.send_and_await_completion("uplink.rekey_sa", 1, 11)
    station.link.use_key(sat.keys.rekeyed(11, new_key))
    station.send_and_await_completion("recorder.record", 5)
    station.send_and_await_completion("uplink.deactivate_key", 10)
    station.send_and_await_completion("uplink.destroy_key", 10)
    assert sat.recorder.calls == [5]
    assert sat.uplink.keys.states() == {1: KeyState.ACTIVE, 10: KeyState.DESTROYED,
                                        11: KeyState.ACTIVE}
    sat.run(1.0)
    assert sat.rt.telemetry.get("uplink.sa_key_id") == 11
    old = protected_frame(sat, record_command(sat, 9), 10_000)
    sat.feed([pad(sat, old)])
    assert sat.uplink.rejections[RejectReason.BAD_MAC] == 1
    failing = station.send_command("uplink.activate_key", 10)
    with pytest.raises(Exception, match="EXECUTION_FAILED"):
        station.await_completion(failing)
    stored = json.loads(sat.keys.encode())
    secrets = [new_key, bytes.fromhex(stored["key"]), bytes.fromhex(stored["master_key"])]
    seen = repr([e.args for e in sat.events]) + repr(sat.rt.telemetry._values)
    assert not any(s.hex() in seen or repr(s) in seen for s in secrets)
    assert "material hidden" in repr(sat.keys) and new_key.hex() not in repr(sat.uplink.keys)


def test_reboot_keeps_keys_sa_and_refuses_frames_recorded_before() -> None:
    sat = Sat()
    station = sat.station()
    station.identify(timeout=5)
    recorded: list[bytes] = []
    original_send = sat.transport.send
    sat.transport.send = lambda frame: recorded.append(frame) or original_send(frame)
    station.send_and_await_completion("recorder.record", 1)
    sat.rt.shutdown()
    again = Sat(sat.disk)
    assert again.uplink.keys.states()[10] is KeyState.ACTIVE
    assert not any(e for e in again.event_names() if e == "uplink.dev_keys")
    again.feed(recorded)
    again.run(0.5)
    assert again.recorder.calls == [] and again.uplink.rejections[RejectReason.REPLAY] >= 1
    ground = again.station()  # a restarted ground station: it learns the ARSN to continue from
    ground.identify(timeout=5)
    ground.send_and_await_completion("recorder.record", 2)
    assert again.recorder.calls == [2]


def test_a_full_dispatcher_queue_holds_packets_and_raises_the_farm_wait_flag() -> None:
    sat = Sat(farm_buffer=4)
    frames = [pad(sat, protected_frame(sat, record_command(sat, n), n + 1)) for n in range(70)]
    for frame in frames:  # no bus pump in between: the dispatcher's queue (64) fills up
        sat.uplink.rx_frame(frame)
    farm = sat.uplink.tc.farms[sat.profile.tc_vcid]
    assert sat.uplink.routed == 64 and len(sat.uplink._pending) == 1 and farm.buffered == 4
    assert farm.state is FarmState.WAIT and Clcw.from_word(sat.uplink._clcw_word).wait
    assert farm.v_r == 69  # frame 69 was discarded for want of buffer space: FOP-1 resends it
    sat.run(1.0)
    assert sat.recorder.calls == list(range(69)) and farm.state is FarmState.OPEN
    sat.feed([frames[69]])
    sat.run(0.2)
    assert sat.recorder.calls == list(range(70))


# ---------------------------------------------------------------- the downlink


def test_downlink_packets_virtual_channels_ocf_and_pacing() -> None:
    sat = Sat(air_rate_bps=64_000)
    p = sat.profile
    sat.run(10.0)
    assert sat.downlink.frame_rate == pytest.approx(64_000 / (1279 * 10))
    assert 45 <= len(sat.frames) <= 52  # 5 frames a second
    assert all(len(f) == 1115 for _, f in sat.frames)
    decoded = [(prio, TmFrame.unpack(f)) for prio, f in sat.frames]
    assert {tm.spacecraft_id for _, tm in decoded} == {p.spacecraft_id}
    assert all(Clcw.from_word(tm.ocf).virtual_channel_id == p.tc_vcid for _, tm in decoded)
    assert {prio for prio, _ in decoded} == {0}  # one radio priority: the radio keeps the order
    assert {tm.virtual_channel_id for _, tm in decoded} >= {p.vc_realtime, p.vc_events}
    counts = [tm.master_frame_count for _, tm in decoded]
    assert all((b - a) % 256 == 1 for a, b in zip(counts, counts[1:], strict=False))
    from flight.link.tm_demux import TmDemultiplexer

    demux = TmDemultiplexer(p.spacecraft_id)
    packets = [SpacePacket.unpack(o) for _, f in sat.frames for _, o in demux.receive(f)]
    by_apid: dict[int, list[SpacePacket]] = {}
    for packet in packets:
        by_apid.setdefault(packet.apid, []).append(packet)
    assert set(by_apid) >= {p.apid_housekeeping, p.apid_event}
    hk_times = [telemetry_time(x)[0] for x in by_apid[p.apid_housekeeping]]
    assert hk_times == sorted(hk_times) and 8.0 <= hk_times[-1] <= 10.0
    counts = [x.sequence_count for x in by_apid[p.apid_housekeeping]]
    assert counts == list(range(len(counts)))
    first_event = EventRecord.unpack(telemetry_time(by_apid[p.apid_event][0])[1])
    assert sat.rt.registry.events[first_event.event_id].name
    assert demux.counters.vc_gaps == 0 and demux.sequence.statistics(p.apid_event).gaps == 0


def test_downlink_verification_on_the_realtime_channel_and_a_full_queue_counted() -> None:
    sat = Sat(air_rate_bps=64_000)
    sat.run(0.1)
    sat.rt.bus.publish("cmd.verification", Verification(1, 2, Stage.COMPLETED, 0, 3.5))
    for _ in range(2000):
        sat.rt.bus.publish("sys.events", EventRecord(0x0405, 3, 1.0, ()))
        sat.rt.bus.pump()
    sat.run(1.0)
    assert sat.downlink.counts[2] == 1
    assert sat.downlink.dropped > 0
    assert sat.rt.telemetry.get("downlink.packets_dropped") == sat.downlink.dropped
    assert "downlink.queue_full" in sat.event_names()
    realtime = [TmFrame.unpack(f) for _, f in sat.frames]
    assert realtime[0].virtual_channel_id == sat.profile.vc_realtime  # ahead of the events


def test_downlink_without_idle_frames_sends_only_data() -> None:
    sat = Sat()
    sat.downlink.send_idle = False
    sat.run(0.5)
    count = len(sat.frames)
    sat.run(5.0)
    assert len(sat.frames) - count < 10  # just the housekeeping, no idle fill
    assert all(TmFrame.unpack(f).first_header_pointer != 0x7FE for _, f in sat.frames[count:])


@pytest.mark.parametrize(("component", "config", "key"), [
    (Uplink, {"spacecraft_id": 5000}, "spacecraft_id"),
    (Uplink, {"service_type": "clear"}, "service_type"),
    (Uplink, {"key_file": "a/b"}, "key_file"),
    (Uplink, {"typo": 1}, "typo"),
    (Downlink, {"air_rate_bps": 0}, "air_rate_bps"),
    (Downlink, {"frame_octets": 1000}, "frame_octets"),
    (Downlink, {"queue_octets": {"realtime": 10}}, "queue_octets"),
])
def test_bad_configuration_names_the_key(component: type, config: dict, key: str) -> None:
    rt = Runtime("bad", clock=SimClock())
    with pytest.raises(ConfigError) as info:
        rt.add(component("link", 0x0900), config=config)
    assert info.value.key == key


def test_profile_from_the_shipped_deployment_matches_the_components() -> None:
    profile = LinkProfile.from_deployment("refsat")
    assert profile.frame_octets == 1115 and profile.interleave == 5
    assert profile.max_tc_packet_octets == 1024 - 5 - 3 - 34


def test_downlink_time_stamps_in_spacecraft_time() -> None:
    sat = Sat(downlink_hardware={"time": "epoch:2025-03-20T00:00:00Z"})
    sat.run(3.0)
    from flight.link.tm_demux import TmDemultiplexer

    demux = TmDemultiplexer(sat.profile.spacecraft_id)
    stamps = [telemetry_time(SpacePacket.unpack(o))[0] for _, f in sat.frames
              for _, o in demux.receive(f)]
    epoch = utc_to_tai(datetime(2025, 3, 20))
    assert stamps and all(epoch <= t <= epoch + 3.0 for t in stamps)
