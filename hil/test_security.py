"""Rejection of unauthenticated and replayed telecommands, crafted by the rig on the wire: the
satellite counts and reports each one, and none of them executes."""

from flight.ground.station import AwaitTimeout
from flight.link.uplink_component import RejectCode
from flight.runtime.records import Command
from hil.forge import UplinkRecorder, alter, forge, transmit
from hil.ops import HK_TIMEOUT_S, count_events, fresh, param_id, read_param

PARAM = "imager.exposure_ms"
FORGED_SEQ = 0xFFF1


def _rejections(ground, reason: RejectCode, count: int, mark) -> None:
    """Wait until the satellite has reported `count` rejections for `reason` since `mark`."""

    def found() -> list:
        return [e for e in ground.event_history("uplink.frame_rejected", start=mark)
                if e.args[0] == reason]

    try:
        ground.await_event("uplink.frame_rejected", lambda _: len(found()) >= count,
                           timeout=HK_TIMEOUT_S, start=mark)
    except AwaitTimeout:
        seen = [(e.args[0], e.message) for e in ground.event_history(start=mark)]
        raise AssertionError(f"expected {count} {reason.name} rejections; events: {seen}; "
                             f"link alerts {ground.link.alerts}") from None


def test_forged_and_altered_commands_are_refused_and_never_run(ground, dictionary):
    ground.send_and_await_completion("prmdb.set_param", param_id(dictionary, PARAM), 20.0,
                                     timeout=HK_TIMEOUT_S)
    before_noop = ground.mark()
    with UplinkRecorder(ground) as recorder:
        ground.send_and_await_completion("cmd.no_op", timeout=HK_TIMEOUT_S)
    rejected = fresh(ground, "uplink.frames_rejected")
    arsn = fresh(ground, "uplink.arsn")
    mark = ground.mark()

    command = dictionary.encode_command("prmdb.set_param", (param_id(dictionary, PARAM), 99.0),
                                        seq=FORGED_SEQ)
    v_r = ground.link.clcw.report_value
    transmit(ground, forge(ground.profile, Command(*command), v_r, arsn + 100))  # no key
    transmit(ground, alter(recorder.distinct()[0]))  # the no-op's frame, one bit changed
    _rejections(ground, RejectCode.BAD_MAC, 2, mark)

    assert fresh(ground, "uplink.frames_rejected", lambda n: n >= rejected + 2) == rejected + 2
    assert float(read_param(ground, PARAM)) == 20.0  # the forgery did not set it
    assert not [r for r in ground.verification_history(start=mark)
                if (r.opcode, r.seq) == (command.opcode, FORGED_SEQ)]
    assert count_events(ground, "cmd.no_op_event", before_noop) == 1  # not run again


def test_replayed_command_is_refused_and_runs_once(ground, dictionary):
    pid = param_id(dictionary, PARAM)
    with UplinkRecorder(ground) as recorder:
        first = ground.send_command("prmdb.set_param", pid, 25.0)
        ground.await_completion(first, timeout=HK_TIMEOUT_S)
    captured = recorder.distinct()
    assert captured
    ground.send_and_await_completion("prmdb.set_param", pid, 30.0, timeout=HK_TIMEOUT_S)
    mark = ground.mark()

    for frame in captured:  # the "set 25" frames again, verbatim
        transmit(ground, frame)
    _rejections(ground, RejectCode.REPLAY, len(captured), mark)

    assert float(read_param(ground, PARAM)) == 30.0  # not set back to 25 by the replay
    assert not ground.verification_history(first, start=mark)
