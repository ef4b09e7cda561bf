"""cfdp-py (`cfdppy`) wired as the peer entity of interop tests: its source or destination handler,
a user that records its indications, and the loop that moves PDUs between it and our entity."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
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

from flight.cfdp import CfdpEntity, ChecksumType, TransmissionMode


class PeerFaults(DefaultFaultHandlerBase):
    def __init__(self) -> None:
        super().__init__()
        self.faults: list[object] = []

    def notice_of_suspension_cb(self, transaction_id, cond, progress) -> None:
        self.faults.append(("suspension", cond))

    def notice_of_cancellation_cb(self, transaction_id, cond, progress) -> None:
        self.faults.append(("cancellation", cond))

    def abandoned_cb(self, transaction_id, cond, progress) -> None:
        self.faults.append(("abandoned", cond))

    def ignore_cb(self, transaction_id, cond, progress) -> None:
        self.faults.append(("ignored", cond))


class PeerUser(CfdpUserBase):
    """Records what cfdppy tells its user."""

    def __init__(self) -> None:
        super().__init__()
        self.finished: list[object] = []
        self.metadata: list[object] = []

    def transaction_indication(self, transaction_indication_params) -> None: ...

    def eof_sent_indication(self, transaction_id) -> None: ...

    def transaction_finished_indication(self, params) -> None:
        self.finished.append(params.finished_params)

    def metadata_recv_indication(self, params) -> None:
        self.metadata.append(params)

    def file_segment_recv_indication(self, params) -> None: ...

    def report_indication(self, transaction_id, status_report) -> None: ...

    def suspended_indication(self, transaction_id, cond_code) -> None: ...

    def resumed_indication(self, transaction_id, progress) -> None: ...

    def fault_indication(self, transaction_id, cond_code, progress) -> None: ...

    def abandoned_indication(self, transaction_id, cond_code, progress) -> None: ...

    def eof_recv_indication(self, transaction_id) -> None: ...


class CheckTimers(CheckTimerProvider):
    def provide_check_timer(self, local_entity_id, remote_entity_id, entity_type) -> Countdown:
        return Countdown.from_seconds(5.0)


def remote(entity_id: int, mode: TransmissionMode, checksum: ChecksumType, segment: int,
           crc: bool = False) -> RemoteEntityConfig:
    return RemoteEntityConfig(
        entity_id=ByteFieldU16(entity_id), max_file_segment_len=segment,
        max_packet_len=segment + 64, closure_requested=True, crc_on_transmission=crc,
        default_transmission_mode=PeerMode(int(mode)), crc_type=PeerChecksum(int(checksum)),
    )


@dataclass
class Peer:
    """cfdppy as entity `local_id`, talking to our entity `remote_id`."""

    local_id: int
    remote_id: int
    mode: TransmissionMode
    checksum: ChecksumType
    segment: int = 1024
    crc: bool = False
    to_us: deque[bytes] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.user = PeerUser()
        self.faults = PeerFaults()
        config = LocalEntityConfig(ByteFieldU16(self.local_id),
                                   IndicationConfig(file_segment_recvd_indication_required=False),
                                   self.faults)
        table = RemoteEntityConfigTable(
            [remote(self.remote_id, self.mode, self.checksum, self.segment, self.crc)])
        self.source = SourceHandler(config, self.user, table, CheckTimers(), SeqCountProvider(16))
        self.dest = DestHandler(config, self.user, table, CheckTimers())

    def put(self, source: Path, destination: str) -> None:
        self.source.put_request(PutRequest(
            destination_id=ByteFieldU16(self.remote_id), source_file=source,
            dest_file=Path(destination), trans_mode=PeerMode(int(self.mode)),
            closure_requested=True))

    def receive(self, pdu: bytes) -> None:
        """A PDU from our entity: to cfdppy's destination or source handler by its direction."""
        packet = PduFactory.from_raw(pdu)
        handler = self.dest if pdu[0] & 0x08 == 0 else self.source
        handler.state_machine(packet)
        self._drain(handler)

    def step(self) -> None:
        self.source.state_machine()
        self._drain(self.source)
        self.dest.state_machine()
        self._drain(self.dest)

    def _drain(self, handler: SourceHandler | DestHandler) -> None:
        while handler.packets_ready:
            self.to_us.append(bytes(handler.get_next_packet().pdu.pack()))

    @property
    def idle(self) -> bool:
        return self.source.state == CfdpState.IDLE and self.dest.state == CfdpState.IDLE


def exchange(ours: CfdpEntity, to_peer: deque[bytes], peer: Peer, max_rounds: int = 100_000,
             drop: Callable[[bytes], bool] | None = None) -> int:
    """Move PDUs both ways until both sides are idle, dropping those `drop` picks; returns the
    rounds taken."""
    for rounds in range(max_rounds):
        ours.tick()
        while to_peer:
            pdu = to_peer.popleft()
            if drop is None or not drop(pdu):
                peer.receive(pdu)
        peer.step()
        while peer.to_us:
            pdu = peer.to_us.popleft()
            if drop is None or not drop(pdu):
                ours.receive(pdu)
        if ours.idle and peer.idle and not to_peer:
            return rounds
    raise AssertionError(f"no conclusion: ours {ours.transfers()}, peer busy")
