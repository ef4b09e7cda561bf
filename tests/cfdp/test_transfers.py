"""Class 1 and class 2 transfers between two entities in memory, on a simulated clock: clean and
lossy links, suspend/resume across passes, cancel, checksum failures, every timer's fault, and
PDUs the state machines must shrug off."""

from __future__ import annotations

import os
import random

import pytest

from flight.cfdp import (
    AckPdu,
    CfdpRequestError,
    ChecksumType,
    ConditionCode,
    DeliveryCode,
    Direction,
    DirectiveCode,
    EofPdu,
    FaultHandlerAction,
    FaultHandlerOverride,
    FileDataPdu,
    FileStatus,
    FilestoreError,
    FinishedPdu,
    IndicationKind,
    KeepAlivePdu,
    MetadataPdu,
    NakPdu,
    PduHeader,
    Phase,
    ResponseRequired,
    Role,
    TransactionId,
    TransactionStatus,
    TransmissionMode,
    UnknownEntityError,
    UnknownTransactionError,
    decode_pdu,
)

from .harness import GROUND, SAT, Pair, make_pair

ACKED = TransmissionMode.ACKNOWLEDGED
UNACKED = TransmissionMode.UNACKNOWLEDGED


def is_kind(pdu: bytes, cls: type) -> bool:
    return isinstance(decode_pdu(pdu), cls)


def downlink(pair: Pair, data: bytes, mode: TransmissionMode = ACKED, **put) -> None:
    pair.sat_files.files["img/a.raw"] = data
    pair.sat.put(GROUND, "img/a.raw", "down/a.raw", transmission_mode=mode, **put)


def assert_delivered(pair: Pair, data: bytes) -> None:
    assert pair.ground_files.files["down/a.raw"] == data
    for events in (pair.sat_events, pair.ground_events):
        done = pair.outcome(events)
        assert done.condition_code == ConditionCode.NO_ERROR
        assert done.delivery_code == DeliveryCode.DATA_COMPLETE
        assert done.file_status == FileStatus.RETAINED
    assert pair.ground_files.partials == 0
    assert pair.sat.counters.transactions_completed == 1
    assert pair.ground.counters.transactions_completed == 1


@pytest.mark.parametrize("mode", [ACKED, UNACKED])
@pytest.mark.parametrize("ctype", [ChecksumType.MODULAR, ChecksumType.CRC32C,
                                   ChecksumType.CRC32, ChecksumType.NULL])
@pytest.mark.parametrize("size", [0, 1, 1024, 1025, 50_001])
def test_clean_transfer(mode, ctype, size) -> None:
    pair = make_pair()
    data = random.Random(size).randbytes(size)
    downlink(pair, data, mode, checksum_type=ctype)
    pair.run()
    assert_delivered(pair, data)
    assert pair.clock.monotonic() == 0.0  # no timer was needed
    assert pair.ground.counters.naks_sent == 0


def test_class1_without_closure_reports_unreported() -> None:
    pair = make_pair()
    data = os.urandom(5000)
    downlink(pair, data, UNACKED, closure_requested=False)
    pair.run()
    assert pair.ground_files.files["down/a.raw"] == data
    assert pair.to_sat.carried == 0  # no Finished PDU
    assert pair.outcome(pair.sat_events).file_status == FileStatus.UNREPORTED


@pytest.mark.parametrize("seed", range(6))
def test_class2_over_a_link_dropping_20_percent_both_ways(seed) -> None:
    pair = make_pair(loss=0.2, seed=seed, remote=dict(max_file_segment_octets=512))
    data = random.Random(seed).randbytes(150_000)
    downlink(pair, data)
    pair.run()
    assert_delivered(pair, data)
    assert pair.to_sat.dropped > 0 and pair.to_ground.dropped > 0
    assert pair.sat.counters.retransmitted_segments > 0
    assert pair.ground.counters.naks_sent > 0
    # Deterministic: the same seed replays the same exchange.
    again = make_pair(loss=0.2, seed=seed, remote=dict(max_file_segment_octets=512))
    downlink(again, data)
    again.run()
    assert again.clock.monotonic() == pair.clock.monotonic()
    assert again.sat.counters == pair.sat.counters


@pytest.mark.soak
def test_class2_lossy_link_soak() -> None:
    """200 seeds, a file each way at once, files of random size, 20% loss both ways. The limits
    are raised to 10: with the default 5, a segment lost on five NAK rounds in a row (about 0.6%
    of stuck segments at this loss rate) rightly ends in NAK_LIMIT_REACHED."""
    for seed in range(200):
        rng = random.Random(seed)
        pair = make_pair(loss=0.2, seed=seed, remote=dict(max_file_segment_octets=512,
                                                          nak_limit=10, ack_limit=10))
        down, up = rng.randbytes(rng.randrange(300_000)), rng.randbytes(rng.randrange(50_000))
        pair.sat_files.files["img/a.raw"] = down
        pair.ground_files.files["seq/a.seq"] = up
        pair.sat.put(GROUND, "img/a.raw", "down/a.raw")
        pair.ground.put(SAT, "seq/a.seq", "up/a.seq")
        pair.run()
        assert pair.ground_files.files["down/a.raw"] == down, seed
        assert pair.sat_files.files["up/a.seq"] == up, seed


def test_class2_both_directions_at_once_over_a_lossy_link() -> None:
    pair = make_pair(loss=0.2, seed=99)
    down, up = os.urandom(40_000), os.urandom(30_000)
    pair.sat_files.files["img/a.raw"] = down
    pair.ground_files.files["seq/new.seq"] = up
    pair.sat.put(GROUND, "img/a.raw", "down/a.raw")
    pair.ground.put(SAT, "seq/new.seq", "seq/stored.seq")
    pair.run()
    assert pair.ground_files.files["down/a.raw"] == down
    assert pair.sat_files.files["seq/stored.seq"] == up
    assert pair.sat.counters.transactions_completed == 2
    assert pair.ground.counters.transactions_completed == 2


def test_lost_metadata_is_nakked_and_resent() -> None:
    pair = make_pair()
    pair.to_ground.drop_if = lambda pdu: is_kind(pdu, MetadataPdu) and pair.to_ground.dropped == 0
    data = os.urandom(10_000)
    downlink(pair, data)
    pair.run()
    assert_delivered(pair, data)
    assert pair.to_ground.dropped == 1


def test_lost_eof_is_repeated_on_the_ack_timer() -> None:
    pair = make_pair(remote=dict(ack_timer_s=3.0))
    pair.to_ground.drop_if = lambda pdu: is_kind(pdu, EofPdu) and pair.to_ground.dropped == 0
    data = os.urandom(3000)
    downlink(pair, data)
    pair.run()
    assert_delivered(pair, data)
    assert pair.sat.report(pair.outcome(pair.sat_events).transaction).ack_retries == 1
    assert pair.clock.monotonic() == pytest.approx(3.0, abs=0.5)


def test_lost_finished_ack_is_answered_from_history() -> None:
    pair = make_pair(remote=dict(ack_timer_s=2.0))
    dropped = []

    def drop_first_finished_ack(pdu: bytes) -> bool:
        p = decode_pdu(pdu)
        if isinstance(p, AckPdu) and p.acked_directive == DirectiveCode.FINISHED and not dropped:
            dropped.append(p)
            return True
        return False

    pair.to_ground.drop_if = drop_first_finished_ack
    data = os.urandom(3000)
    downlink(pair, data)
    pair.run()
    assert_delivered(pair, data)
    assert dropped
    # The sender had finished; the repeated Finished got an ACK saying so.
    assert pair.sat.counters.unknown_transaction_pdus == 0
    assert pair.ground.history()[0].phase == Phase.FINISHED


def test_late_copies_never_start_a_new_transaction() -> None:
    pair = make_pair()
    sent: list[bytes] = []
    original = pair.to_ground.send

    def record(remote: int, pdu: bytes) -> None:
        sent.append(pdu)
        original(remote, pdu)

    pair.sat._send = record
    data = os.urandom(4000)
    downlink(pair, data)
    pair.run()
    for pdu in sent:  # replay the whole transfer after it finished
        pair.ground.receive(pdu)
    assert pair.ground.idle
    assert pair.ground.counters.transactions_received == 1


def test_a_reused_sequence_number_starts_a_new_transaction_after_the_guard() -> None:
    pair = make_pair(ground_local=dict(late_pdu_guard_s=100.0))
    first, second = os.urandom(3000), os.urandom(2000)
    downlink(pair, first)
    pair.run()

    def reset_satellite() -> None:  # a new entity: its transaction counter starts again at 0
        pair.sat = type(pair.sat)(pair.sat.config, pair.sat.remotes.values(), pair.sat_files,
                                  pair.clock, pair.to_ground.send, pair.sat_events.append)

    reset_satellite()
    pair.sat_files.files["img/a.raw"] = second
    assert pair.sat.put(GROUND, "img/a.raw", "down/a.raw", transmission_mode=UNACKED).seq_num == 0
    pair.run()
    assert pair.ground_files.files["down/a.raw"] == first  # within the guard: taken for late copies
    assert pair.ground.counters.transactions_received == 1
    pair.clock.advance(100.0)
    reset_satellite()
    pair.sat.put(GROUND, "img/a.raw", "down/a.raw", transmission_mode=UNACKED)
    pair.run()
    assert pair.ground_files.files["down/a.raw"] == second
    assert pair.ground.counters.transactions_received == 2


def test_source_file_removed_after_the_put() -> None:
    pair = make_pair()
    downlink(pair, os.urandom(3000))
    del pair.sat_files.files["img/a.raw"]  # the file is opened when its first segment is due
    pair.run()
    assert pair.sat.counters.faults[ConditionCode.FILESTORE_REJECTION] == 1
    assert pair.outcome(pair.sat_events).condition_code == ConditionCode.FILESTORE_REJECTION


def test_file_data_budget_paces_the_sender() -> None:
    pair = make_pair()
    data = os.urandom(20 * 1024)
    downlink(pair, data)
    assert pair.sat.tick(5) == 5
    assert pair.sat.tick(5) == 5
    status = pair.sat.transfers()[0]
    assert (status.phase, status.progress, status.role) == (Phase.SENDING, 10 * 1024, Role.SENDER)
    pair.run(budget=3)
    assert_delivered(pair, data)


def test_status_for_telemetry() -> None:
    pair = make_pair()
    data = os.urandom(8192)
    downlink(pair, data)
    pair.sat.tick(4)
    pair.to_ground.deliver(pair.ground)
    (rx,) = pair.ground.transfers()
    assert (rx.role, rx.phase, rx.progress, rx.received_octets, rx.file_size) == (
        Role.RECEIVER, Phase.RECEIVING, 4096, 4096, 8192)
    assert (rx.source_file, rx.destination_file, rx.transmission_mode) == (
        "img/a.raw", "down/a.raw", ACKED)
    pair.run()
    tid = pair.outcome(pair.ground_events).transaction
    done = pair.ground.report(tid)
    assert done.phase == Phase.FINISHED and done.received_octets == 8192
    with pytest.raises(UnknownTransactionError):
        pair.ground.report(type(tid)(SAT, 12345))


# --- suspend and resume across passes --------------------------------------------------------

def test_suspend_resume_across_a_long_gap_between_passes() -> None:
    pair = make_pair(remote=dict(inactivity_timeout_s=60.0, ack_timer_s=5.0))
    data = os.urandom(30_000)
    downlink(pair, data)
    for _ in range(3):
        pair.step(budget=4)
    # Loss of signal: both ends suspend; the pass gap is far longer than any timer.
    pair.to_ground.up = pair.to_sat.up = False
    assert pair.sat.suspend_all() == 1 and pair.ground.suspend_all() == 1
    for _ in range(100):
        pair.clock.advance(60.0)
        assert pair.step(budget=4) == 0
    assert pair.to_ground.dropped == 0 and pair.to_sat.dropped == 0  # nothing was even tried
    assert all(t.suspended for t in pair.sat.transfers() + pair.ground.transfers())
    assert not pair.sat.counters.faults and not pair.ground.counters.faults
    # Acquisition of signal: resume and finish.
    pair.to_ground.up = pair.to_sat.up = True
    assert pair.sat.resume_all() == 1 and pair.ground.resume_all() == 1
    pair.run(budget=4)
    assert_delivered(pair, data)
    for events in (pair.sat_events, pair.ground_events):
        assert len(pair.of_kind(events, IndicationKind.SUSPENDED)) == 1
        assert len(pair.of_kind(events, IndicationKind.RESUMED)) == 1


def test_suspended_while_waiting_for_the_eof_ack_resends_it_on_resume() -> None:
    pair = make_pair(remote=dict(ack_timer_s=5.0, ack_limit=1))
    pair.to_ground.drop_if = lambda pdu: is_kind(pdu, EofPdu)
    data = os.urandom(2000)
    downlink(pair, data)
    pair.step()
    (tx,) = pair.sat.transfers()
    assert tx.phase == Phase.WAIT_EOF_ACK
    pair.sat.suspend(tx.transaction)
    pair.ground.suspend_all()
    pair.clock.advance(1000.0)
    pair.step()
    assert not pair.sat.counters.faults  # the ACK timer was frozen
    assert pair.sat.report(tx.transaction).ack_retries == 0
    pair.to_ground.drop_if = None
    pair.sat.resume(tx.transaction)
    pair.ground.resume_all()
    pair.run()
    assert_delivered(pair, data)


def test_without_suspension_a_dead_link_ends_in_a_fault() -> None:
    pair = make_pair(remote=dict(ack_timer_s=2.0, ack_limit=3, inactivity_timeout_s=30.0))
    data = os.urandom(5000)
    downlink(pair, data)
    pair.step(budget=2)  # the pass ends after two segments
    pair.to_ground.up = pair.to_sat.up = False
    pair.run(step_s=1.0)
    # The sender's EOF is never acknowledged: fault, notice of cancellation; its EOF (cancel) is
    # never acknowledged either, and a fault while closing abandons the transaction.
    assert pair.sat.counters.faults[ConditionCode.POSITIVE_ACK_LIMIT_REACHED] == 2
    (abandoned,) = pair.of_kind(pair.sat_events, IndicationKind.ABANDONED)
    assert abandoned.condition_code == ConditionCode.POSITIVE_ACK_LIMIT_REACHED
    assert pair.sat.counters.transactions_failed == 1
    assert pair.sat.history()[0].condition_code == ConditionCode.POSITIVE_ACK_LIMIT_REACHED
    # The receiver, hearing nothing more, gives up on inactivity; its Finished goes unanswered.
    ground = pair.ground.counters
    assert ground.faults[ConditionCode.INACTIVITY_DETECTED] == 1
    assert pair.outcome(pair.ground_events).condition_code == ConditionCode.INACTIVITY_DETECTED
    assert pair.of_kind(pair.ground_events, IndicationKind.ABANDONED)
    assert pair.ground_files.partials == 0


# --- cancel --------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", [ACKED, UNACKED])
def test_sender_cancels(mode) -> None:
    pair = make_pair()
    downlink(pair, os.urandom(50_000), mode)
    pair.step(budget=10)
    tid = pair.sat.transfers()[0].transaction
    assert pair.sat.cancel(tid)
    if mode == ACKED:  # still waiting for the ACK of its EOF (cancel): a second cancel is moot
        assert not pair.sat.cancel(tid)
    pair.run()
    for events in (pair.sat_events, pair.ground_events):
        assert pair.outcome(events).condition_code == ConditionCode.CANCEL_REQUEST_RECEIVED
    assert "down/a.raw" not in pair.ground_files.files
    assert pair.ground_files.partials == 0
    assert pair.outcome(pair.ground_events).file_status == FileStatus.DISCARDED_DELIBERATELY


def test_receiver_cancels() -> None:
    pair = make_pair()
    downlink(pair, os.urandom(50_000))
    pair.step(budget=10)
    (rx,) = pair.ground.transfers()
    assert pair.ground.cancel(rx.transaction)
    pair.run()
    sat_done = pair.outcome(pair.sat_events)
    assert sat_done.condition_code == ConditionCode.CANCEL_REQUEST_RECEIVED
    assert sat_done.delivery_code == DeliveryCode.DATA_INCOMPLETE
    assert "down/a.raw" not in pair.ground_files.files and pair.ground_files.partials == 0


def test_cancel_before_anything_was_sent() -> None:
    pair = make_pair()
    downlink(pair, b"abc")
    tid = pair.sat.transfers()[0].transaction
    pair.sat.cancel(tid)
    pair.run()
    assert pair.to_ground.carried == 0 and pair.ground.counters.pdus_received == 0


# --- checksum and file faults -----------------------------------------------------------------

def flip_one_data_octet(pair: Pair) -> list[int]:
    flipped: list[int] = []

    def alter(pdu: bytes) -> bytes:
        if not flipped and is_kind(pdu, FileDataPdu):
            flipped.append(1)
            return pdu[:-1] + bytes([pdu[-1] ^ 0x40])
        return pdu

    pair.to_ground.alter = alter
    return flipped


@pytest.mark.parametrize("mode", [ACKED, UNACKED])
def test_checksum_mismatch_discards_the_file(mode) -> None:
    pair = make_pair()
    flipped = flip_one_data_octet(pair)
    downlink(pair, os.urandom(9000), mode)
    pair.run()
    assert flipped
    rx = pair.outcome(pair.ground_events)
    assert rx.condition_code == ConditionCode.FILE_CHECKSUM_FAILURE
    assert rx.file_status == FileStatus.DISCARDED_DELIBERATELY
    assert pair.ground.counters.faults[ConditionCode.FILE_CHECKSUM_FAILURE] == 1
    assert pair.outcome(pair.sat_events).condition_code == ConditionCode.FILE_CHECKSUM_FAILURE
    assert "down/a.raw" not in pair.ground_files.files and pair.ground_files.partials == 0


def test_pdu_crc_turns_corruption_into_a_loss_that_class2_repairs() -> None:
    pair = make_pair(remote=dict(crc_on_pdus=True))
    flipped = flip_one_data_octet(pair)
    data = os.urandom(9000)
    downlink(pair, data)
    pair.run()
    assert flipped
    assert_delivered(pair, data)
    assert pair.ground.counters.malformed_by_reason["PduCrcError"] == 1


def test_fault_handler_override_ignores_a_checksum_failure() -> None:
    pair = make_pair()
    flip_one_data_octet(pair)
    data = os.urandom(9000)
    downlink(pair, data, fault_handler_overrides=[
        FaultHandlerOverride(ConditionCode.FILE_CHECKSUM_FAILURE, FaultHandlerAction.IGNORE)])
    pair.run()
    rx = pair.outcome(pair.ground_events)
    assert rx.condition_code == ConditionCode.NO_ERROR
    assert rx.delivery_code == DeliveryCode.DATA_INCOMPLETE  # kept, but known not to verify
    assert pair.ground_files.files["down/a.raw"] != data


def test_destination_outside_the_filestore_is_rejected() -> None:
    pair = make_pair()
    pair.sat_files.files["a"] = b"data"
    pair.sat.put(GROUND, "a", "../../etc/passwd")
    pair.run()
    rx = pair.outcome(pair.ground_events)
    assert rx.condition_code == ConditionCode.FILESTORE_REJECTION
    assert rx.file_status == FileStatus.DISCARDED_FILESTORE_REJECTION
    assert pair.outcome(pair.sat_events).condition_code == ConditionCode.FILESTORE_REJECTION
    assert list(pair.ground_files.files) == []


def test_nak_limit() -> None:
    pair = make_pair(remote=dict(nak_timer_s=2.0, nak_limit=3))
    seen_eof: list[bool] = []

    def drop(pdu: bytes) -> bool:
        p = decode_pdu(pdu)
        if isinstance(p, EofPdu):
            seen_eof.append(True)
        return isinstance(p, FileDataPdu) and (p.offset == 1024 or bool(seen_eof))

    pair.to_ground.drop_if = drop
    downlink(pair, os.urandom(4096))
    pair.run()
    rx = pair.outcome(pair.ground_events)
    assert rx.condition_code == ConditionCode.NAK_LIMIT_REACHED
    assert pair.ground.counters.naks_sent == 1 + 1 + 3  # immediate, at EOF, 3 repeats
    assert pair.outcome(pair.sat_events).condition_code == ConditionCode.NAK_LIMIT_REACHED


def test_class1_inactivity_at_both_ends() -> None:
    pair = make_pair(remote=dict(inactivity_timeout_s=20.0))
    pair.to_ground.drop_if = lambda pdu: is_kind(pdu, EofPdu)
    downlink(pair, os.urandom(3000), UNACKED)
    pair.run(step_s=1.0)
    for entity, events in ((pair.sat, pair.sat_events), (pair.ground, pair.ground_events)):
        assert entity.counters.faults[ConditionCode.INACTIVITY_DETECTED] == 1
        assert pair.outcome(events).condition_code == ConditionCode.INACTIVITY_DETECTED


def test_class1_waits_for_data_overtaken_by_the_eof() -> None:
    pair = make_pair(remote=dict(check_timer_s=5.0, check_limit=3))
    held: list[bytes] = []

    def hold_second_segment(pdu: bytes) -> bool:
        p = decode_pdu(pdu)
        if isinstance(p, FileDataPdu) and p.offset == 1024:
            held.append(pdu)
            return True
        return False

    pair.to_ground.drop_if = hold_second_segment
    data = os.urandom(3000)
    downlink(pair, data, UNACKED)
    pair.step()
    pair.clock.advance(6.0)
    pair.step()
    assert not pair.ground.idle  # first check period passed, still waiting
    pair.ground.receive(held[0])
    pair.run()
    assert pair.ground_files.files["down/a.raw"] == data


def test_class1_check_limit() -> None:
    pair = make_pair(remote=dict(check_timer_s=5.0, check_limit=2))
    pair.to_ground.drop_if = lambda pdu: is_kind(pdu, FileDataPdu) and decode_pdu(pdu).offset == 0
    downlink(pair, os.urandom(3000), UNACKED)
    pair.run(step_s=1.0)
    assert pair.outcome(pair.ground_events).condition_code == ConditionCode.CHECK_LIMIT_REACHED


def test_prompts_keep_alive_and_discrepancy_limit() -> None:
    pair = make_pair(remote=dict(keep_alive_discrepancy_limit=2048))
    pair.to_ground.drop_if = lambda pdu: is_kind(pdu, FileDataPdu) and decode_pdu(pdu).offset > 0
    downlink(pair, os.urandom(10_000))
    pair.sat.tick(5)
    pair.to_ground.deliver(pair.ground)
    tid = pair.sat.transfers()[0].transaction
    pair.sat.prompt(tid, ResponseRequired.NAK)
    pair.to_ground.deliver(pair.ground)
    naks = [decode_pdu(p) for p in pair.to_sat.queue]
    assert [type(p) for p in naks] == [NakPdu]
    assert naks[0].segment_requests == ()  # nothing missing below the furthest offset seen
    pair.to_sat.deliver(pair.sat)
    pair.sat.prompt(tid, ResponseRequired.KEEP_ALIVE)
    pair.to_ground.deliver(pair.ground)
    keep = decode_pdu(pair.to_sat.queue[0])
    assert isinstance(keep, KeepAlivePdu) and keep.progress == 1024
    pair.to_sat.deliver(pair.sat)  # 5120 sent, 1024 received: beyond the limit
    assert pair.sat.counters.faults[ConditionCode.KEEP_ALIVE_LIMIT_REACHED] == 1
    pair.to_ground.drop_if = None
    pair.run()
    assert pair.outcome(pair.sat_events).condition_code == \
        ConditionCode.KEEP_ALIVE_LIMIT_REACHED


def test_periodic_keep_alive_from_the_receiver() -> None:
    pair = make_pair(remote=dict(keep_alive_interval_s=5.0))
    pair.to_ground.drop_if = lambda pdu: is_kind(pdu, EofPdu)
    downlink(pair, os.urandom(2000))
    pair.step()
    pair.clock.advance(5.0)
    pair.ground.tick()
    assert [type(decode_pdu(p)) for p in pair.to_sat.queue] == [KeepAlivePdu]


# --- crafted PDUs into a receiving entity ------------------------------------------------------

def crafted(mode: TransmissionMode = ACKED, seq: int = 1) -> PduHeader:
    return PduHeader(Direction.TOWARD_RECEIVER, mode, SAT, seq, GROUND)


def test_file_size_error_when_data_exceeds_the_eof_size() -> None:
    pair = make_pair()
    h = crafted()
    pair.ground.receive(MetadataPdu(h, True, ChecksumType.NULL, 100, "a", "b").pack())
    pair.ground.receive(FileDataPdu(h, 0, bytes(100)).pack())
    pair.ground.receive(EofPdu(h, ConditionCode.NO_ERROR, 0, 50).pack())
    assert pair.ground.counters.faults[ConditionCode.FILE_SIZE_ERROR] == 1
    replies = [decode_pdu(p) for p in pair.to_sat.queue]
    assert isinstance(replies[0], AckPdu)
    assert isinstance(replies[-1], FinishedPdu)
    assert replies[-1].condition_code == ConditionCode.FILE_SIZE_ERROR
    assert replies[-1].fault_location == GROUND


def test_unsupported_checksum_type_is_a_fault() -> None:
    pair = make_pair()
    h = crafted(UNACKED)
    pair.ground.receive(MetadataPdu(h, True, ChecksumType.CRC32_PROXIMITY1, 3, "a", "b").pack())
    assert pair.ground.counters.faults[ConditionCode.UNSUPPORTED_CHECKSUM_TYPE] == 1
    assert pair.outcome(pair.ground_events).condition_code == \
        ConditionCode.UNSUPPORTED_CHECKSUM_TYPE


def test_class2_transaction_started_by_an_eof() -> None:
    pair = make_pair()
    h = crafted()
    pair.ground.receive(EofPdu(h, ConditionCode.NO_ERROR, 0, 0).pack())
    replies = [decode_pdu(p) for p in pair.to_sat.queue]
    assert isinstance(replies[0], AckPdu)
    assert isinstance(replies[1], NakPdu) and replies[1].segment_requests == ((0, 0),)
    pair.to_sat.queue.clear()
    pair.ground.receive(MetadataPdu(h, True, ChecksumType.NULL, 0, "", "").pack())
    assert isinstance(decode_pdu(pair.to_sat.queue[0]), FinishedPdu)


def test_malformed_and_stray_pdus_are_counted_and_ignored_mid_transfer() -> None:
    pair = make_pair(remote=dict(max_file_segment_octets=256))
    data = os.urandom(6000)
    downlink(pair, data)
    pair.step(budget=5)
    g = pair.ground
    h = crafted(seq=0)
    rng = random.Random(5)
    good = FileDataPdu(h, 0, b"x" * 10).pack()
    strays = [
        b"", b"\x20", bytes(rng.randrange(256) for _ in range(40)), good[:-3], good + b"\x00",
        bytes([0x00]) + good[1:],  # version 0
        FileDataPdu(PduHeader(Direction.TOWARD_RECEIVER, ACKED, SAT, 0, 77), 0, b"x").pack(),
        FileDataPdu(PduHeader(Direction.TOWARD_RECEIVER, ACKED, 55, 0, GROUND), 0, b"x").pack(),
        AckPdu(crafted(seq=9), DirectiveCode.FINISHED, ConditionCode.NO_ERROR,
               TransactionStatus.ACTIVE).pack(),
        NakPdu(PduHeader(Direction.TOWARD_SENDER, ACKED, GROUND, 3, SAT), 0, 1).pack(),
        FileDataPdu(crafted(UNACKED, seq=0), 0, b"mode").pack(),  # mode differs from the transfer
    ]
    for pdu in strays:
        g.receive(pdu)
        pair.sat.receive(pdu)
    c = g.counters
    assert c.malformed_pdus == 6
    assert c.misrouted_pdus >= 2 and c.unknown_transaction_pdus >= 1 and c.protocol_errors >= 1
    # NAKs asking for data outside the file are protocol errors at the sender, not crashes.
    tx_header = PduHeader(Direction.TOWARD_SENDER, ACKED, SAT, 0, GROUND, 2, 4)
    pair.sat.receive(NakPdu(tx_header, 0, 10**6, ((5000, 10**6), (9, 3))).pack())
    assert pair.sat.counters.protocol_errors == 2
    pair.run()
    assert_delivered(pair, data)


# --- requests that cannot be carried out -------------------------------------------------------

def test_put_refusals() -> None:
    pair = make_pair(remote=dict(max_pdu_octets=16))
    pair.sat_files.files["a"] = b"x"
    with pytest.raises(UnknownEntityError):
        pair.sat.put(99, "a", "b")
    with pytest.raises(FilestoreError):
        pair.sat.put(GROUND, "missing", "b")
    with pytest.raises(CfdpRequestError, match="not supported"):
        pair.sat.put(GROUND, "a", "b", checksum_type=ChecksumType.CRC32_PROXIMITY1)
    with pytest.raises(CfdpRequestError, match="no room"):
        pair.sat.put(GROUND, "a", "b")
    with pytest.raises(UnknownTransactionError):
        pair.sat.cancel(TransactionId(SAT, 5))
    assert pair.sat.idle


def test_data_beyond_the_metadata_file_size_is_refused_before_the_eof() -> None:
    pair = make_pair()
    h = crafted()
    pair.ground.receive(MetadataPdu(h, True, ChecksumType.NULL, 100, "a", "b").pack())
    pair.ground.receive(FileDataPdu(h, 1 << 31, b"far away").pack())
    assert pair.ground.counters.faults[ConditionCode.FILE_SIZE_ERROR] == 1
    assert pair.ground_files.partials == 0
