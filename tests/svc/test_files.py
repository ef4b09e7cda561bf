"""The onboard file transfer component with the real link components and a ground station on the
simulated clock: products downlinked class 2 over a link that loses 20% of TM frames arrive
bit-exact and are marked downlinked; files uplinked arrive bit-exact in the product store;
transfers survive a loss of signal in the middle; a checksum failure is reported and nothing is
stored; malformed PDUs are counted and never crash; queueing by priority, the automatic downlink
of important products, commands and sequence numbers across a reboot."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.ports import sim_serial_hub
from drivers.radio import Priority, TransparentConfig, TransparentRadio
from drivers.radio.link import LinkState, LinkTransition
from flight.cfdp import (
    ChecksumType,
    ConditionCode,
    Direction,
    EofPdu,
    FileDataPdu,
    MetadataPdu,
    PduHeader,
    TransmissionMode,
)
from flight.codec import crc32c
from flight.deployments import resolve
from flight.ground.dictionary import GroundDictionary
from flight.ground.files import GroundFiles
from flight.ground.link import GroundLink
from flight.ground.station import FileTransferFailed, GroundStation
from flight.link.devkeys import GroundKeys
from flight.link.profile import LinkProfile
from flight.runtime import dictionary
from flight.runtime.deployment import Deployment
from flight.runtime.errors import ConfigError, ReasonCode
from flight.runtime.records import EventRecord, Stage
from flight.runtime.runtime import Runtime
from flight.runtime.topics import EVENTS
from flight.svc.files import SEQ_RESERVATION, FileTransfer
from flight.svc.products import FileCategory, ProductStore
from hal.clock import SimClock
from hal.serial import SerialSettings
from hal.storage import open_storage

from .files_rig import FileSat


def _args(sat: FileSat, name: str) -> list[tuple]:
    return [e.args for e in sat.events_named(name)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_product_comes_down_bit_exact_over_a_link_losing_20_percent_of_frames(
        tmp_path: Path, seed: int) -> None:
    sat = FileSat(tmp_path, down=0.2, up=0.2, seed=seed)
    fid = sat.capture("lake", 3)
    info = sat.store.info(fid)
    sat.station.identify()
    assert sat.command("files.downlink", str(fid), 2).stage is Stage.COMPLETED
    received = sat.station.await_file(info.path, timeout=120)
    assert received.path == tmp_path / info.path
    assert received.path.read_bytes() == sat.store.read(fid)
    assert received.crc32c == info.crc32c and received.size == info.size
    sat.station.run_for(1.0)
    for _ in range(60):  # the Finished PDU goes up through COP-1, which loses frames too
        if sat.store.info(fid).downlinked:
            break
        sat.station.run_for(1.0)
    assert sat.store.info(fid).downlinked
    lost, passed = sat.transport.lost[1], sat.transport.passed[1]
    assert lost > 5 and 0.1 < lost / (lost + passed) < 0.3  # TM frames, and PDUs with them
    assert sat.channel("files.retransmissions") > 0 and sat.channel("files.naks_received") > 0
    assert sat.channel("files.downlinked") == 1 and sat.channel("files.active") == 0
    assert sat.channel("files.octets_sent") > info.size
    assert sat.channel("files.fault_count") == 0 and sat.channel("files.failed") == 0
    assert _args(sat, "files.finished")[-1][2] == info.path
    assert "store.downlinked" in sat.event_names()
    assert [r.name for r in sat.station.received_files()] == [info.path]
    assert sat.station.await_telemetry("files.downlinked", 1, timeout=10).value == 1


def test_class_1_downlink_with_closure_is_confirmed_and_marked(tmp_path: Path) -> None:
    sat = FileSat(tmp_path)
    fid = sat.capture("field", 4)
    sat.station.identify()
    sat.command("files.downlink", sat.store.info(fid).path, 1)
    received = sat.station.await_file(sat.store.info(fid).path, timeout=30)
    assert received.path.read_bytes() == sat.store.read(fid)
    sat.station.run_for(3.0)
    assert sat.store.info(fid).downlinked
    assert _args(sat, "files.started")[0][4] == 1  # class 1


@pytest.mark.parametrize("name,category", [("sw/app-1.2.bin", FileCategory.UPLINK),
                                           ("seq/pass-0142.seq", FileCategory.SEQUENCE)])
def test_a_file_uplinked_arrives_bit_exact_in_the_store(tmp_path: Path, name: str,
                                                        category: FileCategory) -> None:
    sat = FileSat(tmp_path / "ground", down=0.1, up=0.2, seed=7)
    data = random.Random(name).randbytes(30_000)
    local = tmp_path / "local.bin"
    local.write_bytes(data)
    tid = sat.station.put_file(str(local), name)
    status = sat.station.await_transfer(tid, timeout=120)
    assert status.destination_file == name and status.file_size == len(data)
    info = sat.store.info(name)
    assert sat.store.read(name) == data and info.crc32c == crc32c(data)
    assert info.category is category and info.meta == {"source": "uplink"}
    stored = _args(sat, "files.file_received")
    assert stored == [(tid.seq_num, name, info.file_id, len(data))]
    assert sat.channel("files.uplinked") == 1 and sat.channel("files.octets_received") >= len(data)
    assert sat.transport.lost[0] > 0  # TC frames lost: COP-1 sent them again


def test_suspended_at_loss_of_signal_and_resumed_at_acquisition(tmp_path: Path) -> None:
    sat = FileSat(tmp_path, down=0.1, up=0.1, seed=4, air_rate_bps=64_000, size=256)
    fid = sat.capture("coast", 2)
    info = sat.store.info(fid)
    station = sat.station
    station.identify()
    sat.command("files.downlink", str(fid), 2)
    while sat.channel("files.progress_octets") < info.size // 3:
        station.run_for(0.5)
    assert sat.channel("files.progress_octets") < info.size  # in the middle of it
    sat.transport.in_contact = False  # loss of signal
    sat.rt.bus.publish("files.link", False)
    station.poll_interval_s = 2.0
    station.run_for(3600.0)  # far longer than any CFDP timer
    assert sat.channel("files.held") and not sat.channel("files.link_up")
    assert _args(sat, "files.suspended") == [("link lost", 1)]
    assert sat.ground.suspended
    assert sat.files.entity.transfers()[0].suspended
    assert sat.ground.entity.transfers()[0].suspended
    assert not sat.store.info(fid).downlinked and sat.channel("files.fault_count") == 0
    sat.transport.in_contact = True  # acquisition of signal
    sat.rt.bus.publish("files.link", True)
    station.poll_interval_s = 0.1
    received = station.await_file(info.path, timeout=120)
    assert received.path.read_bytes() == sat.store.read(fid)
    for _ in range(30):
        if sat.store.info(fid).downlinked:
            break
        station.run_for(1.0)
    assert sat.store.info(fid).downlinked
    assert _args(sat, "files.resumed") == [(1,)]
    assert sat.files.entity.counters.faults.total() == 0
    assert sat.ground.entity.counters.faults.total() == 0


def test_suspend_and_resume_by_command(tmp_path: Path) -> None:
    sat = FileSat(tmp_path, air_rate_bps=64_000, size=256)
    fid = sat.capture("delta", 2)
    sat.station.identify()
    assert sat.command("files.suspend").stage is Stage.COMPLETED
    sat.command("files.downlink", str(fid), 2)
    sat.station.run_for(20.0)
    assert sat.channel("files.queued") == 1 and sat.channel("files.active") == 0  # held
    assert sat.command("files.suspend").reason is ReasonCode.EXECUTION_FAILED
    assert sat.command("files.resume").stage is Stage.COMPLETED
    assert sat.command("files.resume").reason is ReasonCode.EXECUTION_FAILED
    sat.station.run_for(2.0)
    assert sat.channel("files.active") == 1
    sat.command("files.suspend")
    sent = sat.channel("files.octets_sent")
    sat.station.run_for(30.0)
    assert sat.channel("files.octets_sent") == sent
    assert _args(sat, "files.suspended")[-1] == ("command", 1)
    sat.command("files.resume")
    received = sat.station.await_file(sat.store.info(fid).path, timeout=120)
    assert received.path.read_bytes() == sat.store.read(fid)


def _uplink_pdus(data: bytes, name: str, checksum: int, seq: int = 77) -> list[bytes]:
    """The PDUs of a class 2 transfer from the ground (entity 1) to the satellite (2), the EOF
    carrying `checksum`."""
    header = PduHeader(Direction.TOWARD_RECEIVER, TransmissionMode.ACKNOWLEDGED, 1, seq, 2,
                       seq_num_length=4)
    pdus = [MetadataPdu(header, True, ChecksumType.CRC32C, len(data), name, name).pack()]
    pdus += [FileDataPdu(header, offset, data[offset:offset + 512]).pack()
             for offset in range(0, len(data), 512)]
    pdus.append(EofPdu(header, ConditionCode.NO_ERROR, checksum, len(data)).pack())
    return pdus


def test_a_file_whose_checksum_fails_is_reported_and_not_stored(tmp_path: Path) -> None:
    sat = FileSat(tmp_path)
    sat.station.identify()
    data = b"+0 imager.power true\n" * 100
    sat.ground.outbox.extend(_uplink_pdus(data, "seq/bad.seq", crc32c(data) ^ 1))
    sat.station.run_for(10.0)
    with pytest.raises(OSError):
        sat.store.info("seq/bad.seq")
    assert _args(sat, "files.checksum_mismatch") == [(77, "seq/bad.seq")]
    failed = _args(sat, "files.transfer_failed")
    assert failed == [(1, 77, ConditionCode.FILE_CHECKSUM_FAILURE, "seq/bad.seq")]
    assert sat.channel("files.failed") == 1 and sat.channel("files.uplinked") == 0
    # the same file with the right checksum goes in
    sat.ground.outbox.extend(_uplink_pdus(data, "seq/bad.seq", crc32c(data), seq=78))
    sat.station.run_for(10.0)
    assert sat.store.read("seq/bad.seq") == data


def test_a_file_larger_than_the_uplink_limit_is_refused(tmp_path: Path) -> None:
    sat = FileSat(tmp_path, files={"max_uplink_octets": 4096})
    sat.station.identify()
    local = tmp_path / "big.bin"
    local.write_bytes(bytes(10_000))
    tid = sat.station.put_file(str(local), "sw/big.bin")
    with pytest.raises(FileTransferFailed, match="CANCEL_REQUEST_RECEIVED"):
        sat.station.await_transfer(tid, timeout=60)
    with pytest.raises(OSError):
        sat.store.info("sw/big.bin")
    assert _args(sat, "files.too_large") == [(tid.seq_num, "sw/big.bin", 10_000, 4096)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=20))
def test_malformed_pdus_are_counted_and_never_crash(tmp_path: Path,
                                                    pdus: list[bytes]) -> None:
    sat = _fuzz_sat(tmp_path)
    before = sat.files.entity.counters.pdus_received
    ground_before = sat.ground.entity.counters.pdus_received
    for pdu in pdus:
        sat.rt.bus.publish("files.uplink_pdus", pdu)
        sat.ground.receive(pdu)
    sat.run(0.2)
    sat.station.poll()
    assert sat.files.entity.counters.pdus_received == before + len(pdus)
    assert sat.ground.entity.counters.pdus_received == ground_before + len(pdus)
    assert sat.files.health.name == "OK" and sat.rt.components["files"].faults == 0


_FUZZ: list[FileSat] = []


def _fuzz_sat(tmp_path: Path) -> FileSat:
    if not _FUZZ:
        _FUZZ.append(FileSat(tmp_path))
    return _FUZZ[0]


def test_malformed_pdus_show_in_telemetry_and_a_transfer_still_completes(tmp_path: Path) -> None:
    sat = FileSat(tmp_path)
    for junk in (b"", b"\x20", b"\xff" * 40, bytes(8), b"\x24\x00\x05\x11\x00\x01\x00\x00"):
        sat.rt.bus.publish("files.uplink_pdus", junk)
    sat.run(0.5)
    assert sat.channel("files.malformed_pdus") == 5
    assert "files.malformed" in sat.event_names()
    fid = sat.capture("river", 2)
    sat.station.identify()
    sat.command("files.downlink", str(fid), 2)
    received = sat.station.await_file(sat.store.info(fid).path, timeout=60)
    assert received.path.read_bytes() == sat.store.read(fid)


def test_pending_products_go_most_important_first_and_auto_downlink(tmp_path: Path) -> None:
    sat = FileSat(tmp_path, size=64)
    low = sat.capture("a", 9)
    urgent = sat.capture("b", 1)
    normal = sat.capture("c", 4)
    sat.station.identify()
    assert sat.command("files.downlink_pending", 5, 10, 2).stage is Stage.COMPLETED
    assert [a[0] for a in _args(sat, "files.downlink_queued")] == [urgent, normal]
    for fid in (urgent, normal):
        sat.station.await_file(sat.store.info(fid).path, timeout=60)
    sat.station.run_for(5.0)
    assert [sat.store.info(f).downlinked for f in (low, urgent, normal)] == [False, True, True]
    order = [a[2] for a in _args(sat, "files.started")]
    assert order == [sat.store.info(urgent).path, sat.store.info(normal).path]
    # automatic downlink of priority 0..2 products while the link is up
    pid = sat.rt.registry.param("files.auto_priority").param_id
    assert sat.command("prmdb.set_param", pid, 2).stage is Stage.COMPLETED
    fresh = sat.capture("d", 2)
    ignored = sat.capture("e", 6)
    sat.station.await_file(sat.store.info(fresh).path, timeout=60)
    sat.station.run_for(5.0)
    assert sat.store.info(fresh).downlinked and not sat.store.info(ignored).downlinked
    sat.rt.bus.publish("files.link", False)
    late = sat.capture("f", 0)
    sat.station.run_for(10.0)
    assert not sat.store.info(late).downlinked and sat.channel("files.queued") == 0
    sat.rt.bus.publish("files.link", True)
    sat.station.await_file(sat.store.info(late).path, timeout=60)


def test_commands_refuse_unknown_files_and_transactions(tmp_path: Path) -> None:
    sat = FileSat(tmp_path)
    assert sat.command("files.downlink", "img/none.r121", 2).reason is ReasonCode.NOT_FOUND
    assert sat.command("files.downlink", "12345", 2).reason is ReasonCode.NOT_FOUND
    assert sat.command("files.downlink", "../x", 2).reason is ReasonCode.NOT_FOUND
    assert sat.command("files.downlink", "img/x", 3).reason is ReasonCode.OUT_OF_RANGE
    assert sat.command("files.cancel", 2, 99).reason is ReasonCode.NOT_FOUND
    fid = sat.capture("g", 3)
    sat.command("files.downlink", str(fid), 2)
    sat.command("files.downlink", str(fid), 2)
    assert sat.channel("files.queued") == 2
    assert sat.command("files.clear_queue").stage is Stage.COMPLETED
    assert sat.channel("files.queued") == 0


def test_cancel_ends_a_downlink_without_marking_it(tmp_path: Path) -> None:
    sat = FileSat(tmp_path, air_rate_bps=64_000, size=256)
    fid = sat.capture("h", 3)
    sat.station.identify()
    sat.command("files.downlink", str(fid), 2)
    sat.station.run_for(2.0)
    seq = _args(sat, "files.started")[0][1]
    assert sat.command("files.cancel", 2, seq).stage is Stage.COMPLETED
    sat.station.run_for(20.0)
    failed = _args(sat, "files.transfer_failed")
    assert failed[0][:3] == (0, seq, ConditionCode.CANCEL_REQUEST_RECEIVED)
    assert not sat.store.info(fid).downlinked and sat.station.received_files() == []
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # the partial file is gone


def test_sequence_numbers_continue_after_a_reboot(tmp_path: Path) -> None:
    first = FileSat(tmp_path / "a", size=64)
    fid = first.capture("i", 3)
    first.command("files.downlink", str(fid), 1)
    first.run(1.0)
    assert _args(first, "files.started")[0][1] == 0
    second = FileSat(tmp_path / "b", disk=first.disk, size=64)
    assert second.channel("files.next_seq") == SEQ_RESERVATION
    second.command("files.downlink", str(fid), 1)
    second.run(1.0)
    assert _args(second, "files.started")[0][1] == SEQ_RESERVATION


def test_the_radio_link_transitions_hold_and_release_the_transfers(tmp_path: Path) -> None:
    sat = FileSat(tmp_path, size=64)
    lost = LinkTransition(LinkState.UP, LinkState.LOST, 10.0, 10.0)
    back = LinkTransition(LinkState.LOST, LinkState.UP, 20.0, 10.0)
    fid = sat.capture("j", 3)
    sat.rt.bus.publish("files.link", lost)
    sat.command("files.downlink", str(fid), 2)
    sat.run(2.0)
    assert sat.channel("files.held") and sat.channel("files.queued") == 1
    sat.rt.bus.publish("files.link", LinkTransition(LinkState.LOST, LinkState.LOST, 21.0, 11.0))
    sat.rt.bus.publish("files.link", "up")  # not a link state: ignored
    sat.run(1.0)
    assert sat.channel("files.held")
    sat.rt.bus.publish("files.link", back)
    sat.station.identify()
    sat.station.await_file(sat.store.info(fid).path, timeout=30)
    assert not sat.channel("files.held") and sat.channel("files.link_up")


class _GroundRadio:
    """The ground's radio on the far end of refsat's simulated radio UART (`sim://radio`)."""

    def __init__(self, rt: Any) -> None:
        port = sim_serial_hub(rt.resources).create_port(
            "sim://radio?end=b", rt.clock,
            SerialSettings.derive(baudrate=115_200, timeout=0, write_timeout=0))
        port.open()
        self.radio = TransparentRadio(port, rt.clock,
                                      TransparentConfig(interleave=5, air_rate_bps=64_000))

    def send(self, frame: bytes) -> bool:
        return self.radio.send(frame, Priority.REALTIME)

    def poll(self) -> list[bytes]:
        return self.radio.poll()


def test_refsat_downlinks_a_captured_image_through_its_radio(tmp_path: Path) -> None:
    """The shipped deployment, its radio on a simulated UART, a ground station with a radio on
    the other end: the onboard link goes quiet and holds the transfers until the ground speaks;
    an image captured by command comes down bit-exact and is marked downlinked."""
    deployment = Deployment.load(resolve("refsat"))
    disk = "mem://files-refsat"
    rt = deployment.build(clock=SimClock(), bindings={"nvm": disk}, seed=3)
    events: list[EventRecord] = []
    rt.bus.subscribe(EVENTS, events.append, depth=100_000)
    deployment.boot(rt)
    profile = LinkProfile.from_deployment("refsat")
    keys = GroundKeys.decode(open_storage(disk).load("sdls-ground.key"))
    link = GroundLink(profile, keys, rt.clock, _GroundRadio(rt))
    files = GroundFiles(link, tmp_path, wall_time=rt.clock.monotonic)
    station = GroundStation(GroundDictionary(dictionary.build(rt)), link, files=files,
                            wait=lambda deadline: rt.run(max(deadline - rt.clock.monotonic(),
                                                             0.1)),
                            poll_interval_s=0.1, identify_timeout_s=30.0)
    station.run_for(15.0)

    def names() -> list[str]:
        rt.bus.pump()
        return [rt.registry.events[e.event_id].name for e in events]

    assert rt.telemetry.get("files.held")  # nothing from the ground yet: the link is down
    assert "radio.link_lost" in names()
    station.send_and_await_completion("imager.power", True, timeout=30)
    station.send_and_await_completion("imager.capture", "lake", 2, timeout=30)
    store = rt.components["store"]
    product = store.file_list()[-1]
    station.send_and_await_completion("files.downlink", str(product.file_id), 2, timeout=30)
    received = station.await_file(product.path, timeout=120)
    assert received.path.read_bytes() == store.read(product.file_id)
    station.await_telemetry("files.downlinked", 1, timeout=30)
    assert store.info(product.file_id).downlinked
    assert {"files.suspended", "files.resumed", "files.finished", "store.downlinked"} <= set(
        names())
    rt.shutdown()


@pytest.mark.parametrize(("config", "key"), [
    ({"entity_id": 70_000}, "entity_id"),
    ({"entity_id": 1}, "ground_entity_id"),
    ({"checksum": "md5"}, "checksum"),
    ({"segment_octets": 0}, "segment_octets"),
    ({"nak_timer_s": -1}, "nak_timer_s"),
    ({"ack_limit": 1.5}, "ack_limit"),
    ({"link_up": "yes"}, "link_up"),
    ({"store": "no store"}, "store"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_settings_name_the_key(config: dict, key: str) -> None:
    rt = Runtime("bad", clock=SimClock(), tick_hz=10)
    with pytest.raises(ConfigError) as info:
        rt.add(FileTransfer("files", 0x1300), hardware={"storage": "mem://x"}, config=config)
    assert info.value.key == key


def test_a_missing_store_or_downlink_is_a_deployment_error(tmp_path: Path) -> None:
    for config, key in (({"store": "nothing"}, "store"), ({"downlink": "nothing"}, "downlink")):
        rt = Runtime("bad", clock=SimClock(), tick_hz=10)
        rt.add(ProductStore("store", 0x0C00), hardware={"storage": "mem://y", "time": "system"})
        rt.add(FileTransfer("files", 0x1300), hardware={"storage": "mem://y"}, config=config)
        with pytest.raises(ConfigError) as info:
            rt.prepare()
        assert info.value.key == key
