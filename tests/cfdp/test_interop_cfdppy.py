"""Interop with cfdp-py (module `cfdppy`): files we send, it receives, and the reverse, in class 1
and class 2, over a loss-free in-memory link, with real files on both sides."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from pathlib import Path

import pytest
from spacepackets.cfdp import ConditionCode as PeerCondition
from spacepackets.cfdp.defs import DeliveryCode as PeerDelivery
from spacepackets.cfdp.defs import FileStatus as PeerFileStatus

from flight.cfdp import (
    CfdpEntity,
    ChecksumType,
    ConditionCode,
    DeliveryCode,
    FileDataPdu,
    FileStatus,
    Indication,
    IndicationKind,
    LocalEntityConfig,
    NativeFilestore,
    RemoteEntityConfig,
    TransmissionMode,
    decode_pdu,
)
from hal.clock import SimClock

from .cfdppy_peer import Peer, exchange

OURS, PEER = 1, 2
CASES = [
    (TransmissionMode.UNACKNOWLEDGED, ChecksumType.MODULAR, 0, False),
    (TransmissionMode.UNACKNOWLEDGED, ChecksumType.CRC32, 70_001, True),
    (TransmissionMode.ACKNOWLEDGED, ChecksumType.MODULAR, 70_001, False),
    (TransmissionMode.ACKNOWLEDGED, ChecksumType.CRC32C, 4096, True),
    (TransmissionMode.ACKNOWLEDGED, ChecksumType.CRC32, 1, False),
]
IDS = [f"class{1 if m else 2}-{c.name}-{n}-{'crc' if crc else 'nocrc'}" for m, c, n, crc in CASES]


def our_entity(root: Path, mode: TransmissionMode, ctype: ChecksumType, crc: bool,
               to_peer: deque[bytes], events: list[Indication]) -> CfdpEntity:
    return CfdpEntity(
        LocalEntityConfig(OURS),
        [RemoteEntityConfig(PEER, transmission_mode=mode, checksum_type=ctype, crc_on_pdus=crc,
                            max_file_segment_octets=1024)],
        NativeFilestore(root), SimClock(), lambda _remote, pdu: to_peer.append(pdu),
        events.append,
    )


def finished(events: list[Indication]) -> Indication:
    (done,) = [e for e in events if e.kind == IndicationKind.TRANSACTION_FINISHED]
    return done


@pytest.mark.parametrize("mode, ctype, size, crc", CASES, ids=IDS)
def test_we_send_cfdppy_receives(tmp_path: Path, mode, ctype, size, crc) -> None:
    data = random.Random(size).randbytes(size)
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / "img.raw").write_bytes(data)
    target = tmp_path / "peer" / "received" / "img.raw"
    to_peer: deque[bytes] = deque()
    events: list[Indication] = []
    ours = our_entity(tmp_path / "ours", mode, ctype, crc, to_peer, events)
    peer = Peer(PEER, OURS, mode, ctype, crc=crc)
    ours.put(PEER, "img.raw", str(target))
    exchange(ours, to_peer, peer)
    assert target.read_bytes() == data
    (peer_done,) = peer.user.finished
    assert (peer_done.condition_code, peer_done.delivery_code, peer_done.file_status) == (
        PeerCondition.NO_ERROR, PeerDelivery.DATA_COMPLETE, PeerFileStatus.FILE_RETAINED)
    done = finished(events)
    assert (done.condition_code, done.delivery_code, done.file_status) == (
        ConditionCode.NO_ERROR, DeliveryCode.DATA_COMPLETE, FileStatus.RETAINED)
    assert not peer.faults.faults
    assert ours.counters.malformed_pdus == 0 and ours.counters.ignored_pdus == 0


@pytest.mark.parametrize("mode, ctype, size, crc", CASES, ids=IDS)
def test_cfdppy_sends_we_receive(tmp_path: Path, mode, ctype, size, crc) -> None:
    data = random.Random(size + 1).randbytes(size)
    source = tmp_path / "peer" / "img.raw"
    source.parent.mkdir()
    source.write_bytes(data)
    to_peer: deque[bytes] = deque()
    events: list[Indication] = []
    ours = our_entity(tmp_path / "ours", mode, ctype, crc, to_peer, events)
    peer = Peer(PEER, OURS, mode, ctype, crc=crc)
    peer.put(source, "down/img.raw")
    exchange(ours, to_peer, peer)
    assert (tmp_path / "ours" / "down" / "img.raw").read_bytes() == data
    done = finished(events)
    assert (done.condition_code, done.delivery_code, done.file_status) == (
        ConditionCode.NO_ERROR, DeliveryCode.DATA_COMPLETE, FileStatus.RETAINED)
    assert (done.source_file, done.destination_file) == (str(source), "down/img.raw")
    (peer_done,) = peer.user.finished
    assert (peer_done.condition_code, peer_done.delivery_code, peer_done.file_status) == (
        PeerCondition.NO_ERROR, PeerDelivery.DATA_COMPLETE, PeerFileStatus.FILE_RETAINED)
    assert not peer.faults.faults
    assert ours.counters.malformed_pdus == 0 and ours.counters.ignored_pdus == 0


def drop_some_file_data() -> Callable[[bytes], bool]:
    """Drop the first copy of every fifth file data PDU: NAKs (immediate ones, and the deferred
    one at EOF for the last segment) bring them back with no timer involved, so cfdppy's
    wall-clock timers never come into play.

    The Metadata is not dropped: cfdppy 0.7's receiver, given the Metadata after the EOF, goes
    back to waiting for an EOF that our sender (its EOF acknowledged) does not send again."""
    seen: set[int] = set()
    count = [0]

    def drop(pdu: bytes) -> bool:
        p = decode_pdu(pdu)
        if isinstance(p, FileDataPdu) and p.offset not in seen:
            seen.add(p.offset)
            count[0] += 1
            return count[0] % 5 == 0
        return False

    return drop


@pytest.mark.parametrize("direction", ["we-send", "cfdppy-sends"])
def test_class2_naks_interoperate(tmp_path: Path, direction: str) -> None:
    mode, ctype = TransmissionMode.ACKNOWLEDGED, ChecksumType.CRC32
    data = random.Random(7).randbytes(30_000)
    to_peer: deque[bytes] = deque()
    events: list[Indication] = []
    ours = our_entity(tmp_path / "ours", mode, ctype, False, to_peer, events)
    peer = Peer(PEER, OURS, mode, ctype)
    if direction == "we-send":
        (tmp_path / "ours" / "img.raw").write_bytes(data)
        target = tmp_path / "peer" / "img.raw"
        ours.put(PEER, "img.raw", str(target))
    else:
        source = tmp_path / "img.raw"
        source.write_bytes(data)
        target = tmp_path / "ours" / "down" / "img.raw"
        peer.put(source, "down/img.raw")
    exchange(ours, to_peer, peer, drop=drop_some_file_data())
    assert target.read_bytes() == data
    assert finished(events).condition_code == ConditionCode.NO_ERROR
    if direction == "we-send":
        assert ours.counters.naks_received > 0 and ours.counters.retransmitted_segments >= 6
    else:
        assert ours.counters.naks_sent > 0
