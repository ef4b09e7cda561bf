"""Command verification: every stage reported, a failure carries its reason, and the satellite
refuses what the ground's own checks would have stopped."""

import pytest

from flight.ground.station import CommandFailed, CommandRequest
from flight.runtime.errors import ReasonCode
from flight.runtime.records import Command, Stage


def test_command_accepted_started_completed(ground):
    mark = ground.mark()
    before = ground.await_telemetry("cmd.completed", timeout=30).value
    request = ground.send_command("cmd.no_op")
    report = ground.await_completion(request, timeout=30)
    assert report.stage is Stage.COMPLETED
    assert [r.stage for r in ground.verification_history(request)] == [
        Stage.ACCEPTED, Stage.STARTED, Stage.COMPLETED]
    ground.await_event("cmd.no_op_event", timeout=30, start=mark)
    ground.await_telemetry("cmd.completed", lambda n: n > before, timeout=30, start=mark)


def test_failed_command_reports_its_reason(ground):
    mark = ground.mark()
    with pytest.raises(CommandFailed) as failed:
        ground.send_and_await_completion("modes.set_mode", "no_such_mode", timeout=30)
    report = failed.value.report
    assert (report.stage, report.reason) == (Stage.COMPLETION_FAILED, ReasonCode.NOT_FOUND)
    assert [r.stage for r in ground.verification_history(failed.value.request)] == [
        Stage.ACCEPTED, Stage.STARTED, Stage.COMPLETION_FAILED]
    event = ground.await_event("cmd.failed_event", lambda a: a[1] == failed.value.request.seq,
                               timeout=30, start=mark)
    assert event.args[0] == "modes.set_mode" and event.args[2] == ReasonCode.NOT_FOUND


def test_out_of_range_argument_fails_acceptance_on_board(ground, dictionary):
    """An argument the ground's dictionary would refuse, sent past it: the satellite checks too."""
    definition = dictionary.command("store.list_files")
    seq = 0xFFF0
    command = Command(definition.opcode, (0, 500), seq)  # max_count is 1..100
    assert ground.link.send_packet(ground.profile.apid_command, command.pack(), tag=seq)
    request = CommandRequest("store.list_files", definition.opcode, seq, command.args, 0.0)
    with pytest.raises(CommandFailed) as failed:
        ground.await_completion(request, timeout=30)
    assert (failed.value.report.stage, failed.value.report.reason) == (
        Stage.ACCEPTANCE_FAILED, ReasonCode.OUT_OF_RANGE)
    assert [r.stage for r in ground.verification_history(request)] == [Stage.ACCEPTANCE_FAILED]
