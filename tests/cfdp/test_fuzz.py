"""Whatever the link delivers, decoding raises only `PduError`, and an entity counts it and keeps
running (and still concludes its transactions)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flight.cfdp import (
    AckPdu,
    ChecksumType,
    ConditionCode,
    DeliveryCode,
    Direction,
    DirectiveCode,
    EofPdu,
    FileDataPdu,
    FileStatus,
    FinishedPdu,
    KeepAlivePdu,
    MetadataPdu,
    NakPdu,
    PduError,
    PduHeader,
    PromptPdu,
    RecordContinuationState,
    ResponseRequired,
    Tlv,
    TransactionStatus,
    TransmissionMode,
    decode_pdu,
)

from .harness import GROUND, SAT, make_pair

TO_RX = PduHeader(Direction.TOWARD_RECEIVER, TransmissionMode.ACKNOWLEDGED, SAT, 0, GROUND, 2, 4)
TO_TX = TO_RX.toward(Direction.TOWARD_SENDER)
CRC = PduHeader(Direction.TOWARD_RECEIVER, TransmissionMode.UNACKNOWLEDGED, SAT, 0, GROUND,
                crc=True, large_file=True)

SEEDS = [
    FileDataPdu(TO_RX, 0, b"abcdefgh"),
    FileDataPdu(TO_RX, 8, b"x", RecordContinuationState.START, b"m"),
    MetadataPdu(TO_RX, True, ChecksumType.MODULAR, 100, "img/a.raw", "down/a.raw",
                (Tlv(2, b"msg"),)),
    EofPdu(TO_RX, ConditionCode.NO_ERROR, 7, 100),
    EofPdu(TO_RX, ConditionCode.CANCEL_REQUEST_RECEIVED, 7, 100, fault_location=SAT),
    FinishedPdu(TO_TX, ConditionCode.NO_ERROR, DeliveryCode.DATA_COMPLETE, FileStatus.RETAINED),
    AckPdu(TO_TX, DirectiveCode.EOF, ConditionCode.NO_ERROR, TransactionStatus.ACTIVE),
    AckPdu(TO_RX, DirectiveCode.FINISHED, ConditionCode.NO_ERROR, TransactionStatus.ACTIVE),
    NakPdu(TO_TX, 0, 100, ((0, 0), (10, 20))),
    PromptPdu(TO_RX, ResponseRequired.NAK),
    KeepAlivePdu(TO_TX, 50),
    FileDataPdu(CRC, 1 << 40, b"large"),
]
SEED_BYTES = [p.pack() for p in SEEDS]


def fix_length(pdu: bytearray) -> bytearray:
    """Make the data field length agree with the octets, so parsing goes past the header."""
    if len(pdu) >= 4:
        e = ((pdu[3] >> 4) & 7) + 1
        s = (pdu[3] & 7) + 1
        length = max(0, len(pdu) - (4 + 2 * e + s))
        pdu[1:3] = min(length, 0xFFFF).to_bytes(2, "big")
    return pdu


@st.composite
def mutated(draw) -> bytes:
    pdu = bytearray(draw(st.sampled_from(SEED_BYTES)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "cut", "grow", "insert"]))
        if op == "flip" and pdu:
            i = draw(st.integers(0, len(pdu) - 1))
            pdu[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and pdu:
            pdu[draw(st.integers(0, len(pdu) - 1))] = draw(st.integers(0, 255))
        elif op == "cut":
            del pdu[draw(st.integers(0, len(pdu))):]
        elif op == "grow":
            pdu += draw(st.binary(min_size=1, max_size=20))
        elif op == "insert":
            i = draw(st.integers(0, len(pdu)))
            pdu[i:i] = draw(st.binary(min_size=1, max_size=8))
    if draw(st.booleans()):
        fix_length(pdu)
    return bytes(pdu)


def decodes_or_rejects(data: bytes) -> bool:
    try:
        decode_pdu(data)
    except PduError:
        return False
    return True


@given(st.binary(max_size=400))
@settings(max_examples=1500, deadline=None)
def test_random_octets(data: bytes) -> None:
    decodes_or_rejects(data)


@given(mutated())
@settings(max_examples=3000, deadline=None)
def test_mutated_pdus(data: bytes) -> None:
    if decodes_or_rejects(data):
        assert decode_pdu(data).pack() is not None  # whatever decodes also encodes


def exercise_entities(pdus: list[bytes]) -> None:
    """Throw `pdus` at both ends of a transfer under way; it must still conclude."""
    # A bounded receiver: a mutated offset must not make the in-memory filestore allocate GiBs.
    pair = make_pair(remote=dict(inactivity_timeout_s=30.0, ack_timer_s=2.0, nak_timer_s=2.0),
                     ground_local=dict(max_file_octets=1 << 20),
                     sat_local=dict(max_file_octets=1 << 20))
    data = os.urandom(5000)
    pair.sat_files.files["img/a.raw"] = data
    pair.sat.put(GROUND, "img/a.raw", "down/a.raw")
    pair.step(budget=2)
    bad = sum(not decodes_or_rejects(p) for p in pdus)
    for pdu in pdus:
        pair.ground.receive(pdu)
        pair.sat.receive(pdu)
    assert pair.ground.counters.malformed_pdus == bad
    assert pair.sat.counters.malformed_pdus == bad
    pair.run(step_s=1.0, max_steps=20_000)  # concludes one way or another, never raises
    assert pair.sat.idle and pair.ground.idle
    assert pair.ground_files.partials == 0
    if "down/a.raw" in pair.ground_files.files:  # whatever was kept is the right file
        assert pair.ground_files.files["down/a.raw"] == data


@given(st.lists(mutated(), min_size=1, max_size=25))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_entities_count_bad_pdus_and_keep_running(pdus: list[bytes]) -> None:
    exercise_entities(pdus)


@pytest.mark.soak
@given(st.lists(mutated(), min_size=1, max_size=60))
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_entities_soak(pdus: list[bytes]) -> None:
    exercise_entities(pdus)
