"""CFDP class 2: a 10 MB file over a loss-free in-memory link, ours against cfdp-py (`cfdppy`).

Issue 6: at least 2x cfdp-py's speed in the same run. Each side runs the whole transaction, sender
to receiver: Metadata, 1024-octet file data segments, EOF and its ACK, Finished and its ACK, with
the same checksum (CRC-32, SANA type 3), no PDU CRC, files read and written on disk in a
temporary directory by each side's own filestore (ours fsyncs and renames the received file into
place; cfdppy writes it in place). The PDUs travel as bytes through a deque in both cases.
Under --benchmark-disable (the smoke run of `make test`) the file is 256 KiB.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

from cfdppy import (
    CfdpUserBase,
    IndicationConfig,
    LocalEntityConfig,
    PutRequest,
    RemoteEntityConfig,
    RemoteEntityConfigTable,
)
from cfdppy.defs import CfdpState
from cfdppy.handler import DestHandler, SourceHandler
from cfdppy.mib import CheckTimerProvider, DefaultFaultHandlerBase
from spacepackets.cfdp import ChecksumType as PeerChecksum
from spacepackets.cfdp import TransmissionMode as PeerMode
from spacepackets.cfdp.pdu import PduFactory
from spacepackets.countdown import Countdown
from spacepackets.seqcount import SeqCountProvider
from spacepackets.util import ByteFieldU16

from flight.cfdp import (
    CfdpEntity,
    ChecksumType,
    NativeFilestore,
    TransmissionMode,
)
from flight.cfdp import (
    LocalEntityConfig as OurLocal,
)
from flight.cfdp import (
    RemoteEntityConfig as OurRemote,
)
from hal.clock import SimClock

SEGMENT = 1024
FULL_SIZE = 10_000_000
SMOKE_SIZE = 256 * 1024
SENDER, RECEIVER = 1, 2


def our_transfer(root: Path) -> None:
    clock = SimClock()
    to_receiver: deque[bytes] = deque()
    to_sender: deque[bytes] = deque()
    remote = {"transmission_mode": TransmissionMode.ACKNOWLEDGED,
              "checksum_type": ChecksumType.CRC32, "max_file_segment_octets": SEGMENT}
    sender = CfdpEntity(OurLocal(SENDER), [OurRemote(RECEIVER, **remote)],
                        NativeFilestore(root / "src"), clock,
                        lambda _r, pdu: to_receiver.append(pdu))
    receiver = CfdpEntity(OurLocal(RECEIVER), [OurRemote(SENDER, **remote)],
                          NativeFilestore(root / "ours"), clock,
                          lambda _r, pdu: to_sender.append(pdu))
    sender.put(RECEIVER, "file.bin", "file.bin")
    while not (sender.idle and receiver.idle):
        sender.tick()
        while to_receiver:
            receiver.receive(to_receiver.popleft())
        receiver.tick()
        while to_sender:
            sender.receive(to_sender.popleft())
    assert sender.counters.transactions_completed == receiver.counters.transactions_completed == 1


class _Faults(DefaultFaultHandlerBase):
    def notice_of_suspension_cb(self, transaction_id, cond, progress) -> None:
        raise AssertionError(cond)

    notice_of_cancellation_cb = abandoned_cb = ignore_cb = notice_of_suspension_cb


class _User(CfdpUserBase):
    def __init__(self) -> None:
        super().__init__()
        self.finished = 0

    def transaction_finished_indication(self, params) -> None:
        self.finished += 1

    def transaction_indication(self, *args) -> None: ...
    def eof_sent_indication(self, *args) -> None: ...
    def metadata_recv_indication(self, *args) -> None: ...
    def file_segment_recv_indication(self, *args) -> None: ...
    def report_indication(self, *args) -> None: ...
    def suspended_indication(self, *args) -> None: ...
    def resumed_indication(self, *args) -> None: ...
    def fault_indication(self, *args) -> None: ...
    def abandoned_indication(self, *args) -> None: ...
    def eof_recv_indication(self, *args) -> None: ...


class _Timers(CheckTimerProvider):
    def provide_check_timer(self, local_entity_id, remote_entity_id, entity_type) -> Countdown:
        return Countdown.from_seconds(5.0)


def _peer_remote(entity_id: int) -> RemoteEntityConfig:
    return RemoteEntityConfig(
        entity_id=ByteFieldU16(entity_id), max_file_segment_len=SEGMENT,
        max_packet_len=SEGMENT + 64, closure_requested=True, crc_on_transmission=False,
        default_transmission_mode=PeerMode.ACKNOWLEDGED, crc_type=PeerChecksum.CRC_32)


def peer_transfer(root: Path) -> None:
    indications = IndicationConfig(file_segment_recvd_indication_required=False)
    source_user, dest_user = _User(), _User()
    source = SourceHandler(
        LocalEntityConfig(ByteFieldU16(SENDER), indications, _Faults()), source_user,
        RemoteEntityConfigTable([_peer_remote(RECEIVER)]), _Timers(), SeqCountProvider(16))
    dest = DestHandler(
        LocalEntityConfig(ByteFieldU16(RECEIVER), indications, _Faults()), dest_user,
        RemoteEntityConfigTable([_peer_remote(SENDER)]), _Timers())
    source.put_request(PutRequest(
        destination_id=ByteFieldU16(RECEIVER), source_file=root / "src" / "file.bin",
        dest_file=root / "peer" / "file.bin", trans_mode=PeerMode.ACKNOWLEDGED,
        closure_requested=True))
    while True:
        source.state_machine()
        while source.packets_ready:
            dest.state_machine(PduFactory.from_raw(bytes(source.get_next_packet().pdu.pack())))
            while dest.packets_ready:
                source.state_machine(
                    PduFactory.from_raw(bytes(dest.get_next_packet().pdu.pack())))
        if source.state == CfdpState.IDLE and dest.state == CfdpState.IDLE:
            break
    assert source_user.finished == dest_user.finished == 1


def test_cfdp_class2_10mb_transfer(compare, benchmark, tmp_path: Path) -> None:
    size = SMOKE_SIZE if benchmark.disabled else FULL_SIZE
    data = os.urandom(size)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "file.bin").write_bytes(data)
    compare(lambda: our_transfer(tmp_path), lambda: peer_transfer(tmp_path),
            peer_name="cfdppy 0.7 Source/DestHandler", min_ratio=2.0, rounds=5)
    assert (tmp_path / "ours" / "file.bin").read_bytes() == data
    assert (tmp_path / "peer" / "file.bin").read_bytes() == data
