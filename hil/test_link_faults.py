"""Faults on the wire, injected by the rig between the board's radio UART and the ground: bit
errors that Reed-Solomon corrects, and lost frames that COP-1 (commands) and CFDP class 2 (files)
recover, every command executed exactly once and the file bit-exact."""

from __future__ import annotations

from flight.codec import crc32c
from flight.runtime.records import Stage
from hil.ops import HK_TIMEOUT_S, count_events, fresh
from hil.test_imaging import DOWNLINK_TIMEOUT_S, capture

BER = 1e-3  # two symbol errors per codeword on average: within RS(255,223)'s 16
UPLINK_LOSS = 0.25
DOWNLINK_LOSS = 0.1
MIN_DROPPED = 2  # commands go on until the rig has dropped this many uplink frames
MAX_COMMANDS = 30


def test_bit_errors_corrected_by_reed_solomon(ground, rig):
    ground_radio = ground.link.transport.radio
    corrected = ground_radio.sync.symbols_corrected
    failures = ground_radio.stats.crc_failures
    rejected = ground.link.counters.frames_rejected
    mark = ground.mark()
    rig.faults("downlink").extra_ber = BER
    rig.faults("uplink").extra_ber = BER
    for _ in range(3):
        report = ground.send_and_await_completion("cmd.no_op", timeout=HK_TIMEOUT_S)
        assert report.stage is Stage.COMPLETED
    ground.run_for(10.0)
    rig.faults("downlink").extra_ber = rig.faults("uplink").extra_ber = 0.0
    wire = rig.radio.wire("downlink")
    assert wire.bit_errors_injected > 0 and wire.cadus_uncorrectable == 0
    assert ground_radio.sync.symbols_corrected > corrected  # counted by the ground's decoder
    assert ground_radio.stats.crc_failures == failures
    assert ground.link.counters.frames_rejected == rejected
    assert rig.radio.wire("uplink").cadus_corrected > 0  # the board's decoder had work too
    assert count_events(ground, "cmd.no_op_event", mark) == 3


def test_lost_frames_recovered_by_cop1_and_cfdp(ground, rig, board):
    mark = ground.mark()
    retransmissions = fresh(ground, "files.retransmissions")
    uplink = rig.radio.wire("uplink")
    dropped = uplink.cadus_dropped
    resent = ground.link.fop.frames_retransmitted
    rig.faults("uplink").frame_loss = UPLINK_LOSS
    requests = []
    while uplink.cadus_dropped < dropped + MIN_DROPPED and len(requests) < MAX_COMMANDS:
        requests.append(ground.send_command("cmd.no_op"))
        ground.await_completion(requests[-1], timeout=HK_TIMEOUT_S)
    assert uplink.cadus_dropped >= dropped + MIN_DROPPED
    assert ground.link.fop.frames_retransmitted > resent  # COP-1 sent the lost frames again
    for request in requests:  # one report of each stage: each command ran once
        assert [r.stage for r in ground.verification_history(request)] == [
            Stage.ACCEPTED, Stage.STARTED, Stage.COMPLETED]
    assert count_events(ground, "cmd.no_op_event", mark) == len(requests)  # each exactly once

    path, size, crc = capture(ground, "hil_lossy")
    rig.faults("downlink").frame_loss = DOWNLINK_LOSS
    ground.send_command("files.downlink", path, 2)  # its report may be lost: the file tells
    received = ground.await_file(path, timeout=DOWNLINK_TIMEOUT_S)
    rig.faults("downlink").frame_loss = rig.faults("uplink").frame_loss = 0.0
    data = received.path.read_bytes()
    assert (len(data), crc32c(data)) == (size, crc)
    stored = board.stored_file(path)
    assert stored is None or data == stored
    assert rig.radio.wire("downlink").cadus_dropped > 0
    assert fresh(ground, "files.retransmissions", lambda n: n > retransmissions) > \
        retransmissions  # CFDP resent what the lost frames carried
