"""Rejection of unauthenticated and replayed telecommands, crafted by the rig on the wire: the
satellite counts and reports each one, and none of them executes."""

from flight.ground.station import AwaitTimeout
from flight.link.uplink_component import RejectCode
from flight.runtime.records import Command
from hil.forge import UplinkRecorder, alter, forge, transmit
from hil.ops import fresh, param_id, read_param

PARAM = "imager.exposure_ms"


def _rejections(ground, reason: RejectCode, count: int, mark) -> None:
    """Wait until the satellite has reported `count` rejections for `reason` since `mark`."""

    def found() -> list:
        return [e for e in ground.event_history("uplink.frame_rejected", start=mark)
                if e.args[0] == reason]

    try:
        ground.await_event("uplink.frame_rejected", lambda _: len(found()) >= count,
                           timeout=60, start=mark)
    except AwaitTimeout:
        seen = [(e.args[0], e.message) for e in ground.event_history(start=mark)]
        raise AssertionError(f"expected {count} {reason.name} rejections; events: {seen}; "
                             f"link alerts {ground.link.alerts}") from None


def test_forged_and_altered_commands_are_refused_and_never_run(ground, dictionary):
    ground.send_and_await_completion("prmdb.set_param", param_id(dictionary, PARAM), 20.0,
                                     timeout=60)
    with UplinkRecorder(ground) as recorder:
        ground.send_and_await_completion("cmd.no_op", timeout=60)
    accepted = fresh(ground, "cmd.accepted")
    rejected = fresh(ground, "uplink.frames_rejected")
    arsn = fresh(ground, "uplink.arsn")
    mark = ground.mark()

    command = dictionary.encode_command("prmdb.set_param",
                                        (param_id(dictionary, PARAM), 99.0), seq=0xFFF1)
    v_r = ground.link.clcw.report_value
    transmit(ground, forge(ground.profile, Command(*command), v_r, arsn + 100))  # no key
    transmit(ground, alter(recorder.distinct()[0]))  # a real frame, one bit changed
    _rejections(ground, RejectCode.BAD_MAC, 2, mark)

    assert fresh(ground, "uplink.frames_rejected", lambda n: n >= rejected + 2) == rejected + 2
    assert fresh(ground, "cmd.accepted") == accepted  # nothing reached the dispatcher
    assert not ground.verification_history(start=mark)
    assert float(read_param(ground, PARAM)) == 20.0


def test_replayed_command_is_refused_and_runs_once(ground, dictionary):
    pid = param_id(dictionary, PARAM)
    with UplinkRecorder(ground) as recorder:
        ground.send_and_await_completion("prmdb.set_param", pid, 25.0, timeout=60)
    captured = recorder.distinct()
    assert captured
    ground.send_and_await_completion("prmdb.set_param", pid, 30.0, timeout=60)
    accepted = fresh(ground, "cmd.accepted")
    mark = ground.mark()

    for frame in captured:  # the "set 25" frames again, verbatim
        transmit(ground, frame)
    _rejections(ground, RejectCode.REPLAY, len(captured), mark)

    assert fresh(ground, "cmd.accepted") == accepted
    assert not ground.verification_history(start=mark)
    assert float(read_param(ground, PARAM)) == 30.0  # not set back to 25 by the replay
