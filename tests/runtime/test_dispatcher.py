import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.runtime.component import Health
from flight.runtime.errors import ReasonCode
from flight.runtime.records import Command, Stage
from flight.runtime.topics import EVENTS

from .helpers import collect, small_runtime


@pytest.fixture
def rt():
    rt = small_runtime()
    rt.verifications = collect(rt, "cmd.verification")
    rt.events = collect(rt, EVENTS)
    rt.boot()
    return rt


def stages(rt):
    rt.bus.pump()
    out = [(v.stage, v.reason) for v in rt.verifications]
    rt.verifications.clear()
    return out


def test_a_good_command_is_accepted_started_completed(rt):
    d = rt.components["cmd"]
    report = d.dispatch(rt.command("ctr.set_count", 42, seq=5))
    assert report.stage is Stage.COMPLETED and report.seq == 5
    assert stages(rt) == [(Stage.ACCEPTED, ReasonCode.OK), (Stage.STARTED, ReasonCode.OK),
                          (Stage.COMPLETED, ReasonCode.OK)]
    assert rt.components["ctr"].n == 42
    assert d.counts == {"accepted": 1, "rejected": 0, "completed": 1, "failed": 0}
    assert rt.telemetry.get("cmd.accepted") == 1
    assert rt.telemetry.get("cmd.last_opcode") == 0x1001


@pytest.mark.parametrize(("cmd", "reason"), [
    (Command(0x9999, ()), ReasonCode.UNKNOWN_OPCODE),
    (Command(0x1001, ()), ReasonCode.WRONG_ARG_COUNT),
    (Command(0x1001, (1, 2)), ReasonCode.WRONG_ARG_COUNT),
    (Command(0x1001, ("5",)), ReasonCode.WRONG_ARG_TYPE),
    (Command(0x1001, (5.0,)), ReasonCode.WRONG_ARG_TYPE),
    (Command(0x1001, (51,)), ReasonCode.OUT_OF_RANGE),
    (Command(0x1002, ("hi", 4, 0)), ReasonCode.OUT_OF_RANGE),
    (Command(0x1002, ("x" * 17, 1, 0)), ReasonCode.OUT_OF_RANGE),
    (Command(0x1002, ("hi", 1, 40000)), ReasonCode.OUT_OF_RANGE),
    (b"\xc1\xc1", ReasonCode.MALFORMED),
    (msgpack.packb([1, 2]), ReasonCode.MALFORMED),
    (b"", ReasonCode.MALFORMED),
])
def test_bad_commands_fail_acceptance_and_execute_nothing(rt, cmd, reason):
    d = rt.components["cmd"]
    before = rt.components["ctr"].n
    report = d.dispatch(cmd)
    assert (report.stage, report.reason) == (Stage.ACCEPTANCE_FAILED, reason)
    assert stages(rt) == [(Stage.ACCEPTANCE_FAILED, reason)]
    assert rt.components["ctr"].n == before
    assert d.counts["rejected"] == 1 and d.counts["accepted"] == 0
    rejected = [e for e in rt.events if e.event_id == 0x0402]
    assert len(rejected) == 1 and rejected[0].args[2] == reason


def test_handler_refusal_and_exception_fail_completion(rt):
    d = rt.components["cmd"]
    assert d.dispatch(rt.command("ctr.refuse")).reason is ReasonCode.EXECUTION_FAILED
    assert stages(rt)[-1] == (Stage.COMPLETION_FAILED, ReasonCode.EXECUTION_FAILED)
    assert rt.components["ctr"].health is Health.OK
    report = d.dispatch(rt.command("ctr.crash"))
    assert (report.stage, report.reason) == (Stage.COMPLETION_FAILED, ReasonCode.HANDLER_EXCEPTION)
    ctr = rt.components["ctr"]
    assert ctr.health is Health.WARNING and ctr.faults == 1
    rt.bus.pump()
    assert any(e.event_id == 0x0404 and "ZeroDivisionError" in e.args[1] for e in rt.events)
    assert d.dispatch(rt.command("ctr.set_count", 3)).stage is Stage.COMPLETED
    assert d.counts == {"accepted": 3, "rejected": 0, "completed": 1, "failed": 2}


def test_commands_through_the_bus_and_replay(rt):
    accepted = collect(rt, "cmd.accepted_commands")
    cmds = [rt.command("ctr.set_count", v, seq=i) for i, v in enumerate((7, 99, 9))]
    for c in cmds:
        rt.bus.publish("cmd.commands", c.pack())
    rt.run(0.1)
    assert accepted == [cmds[0], cmds[2]]  # 99 is out of range: never accepted
    log = [c.pack() for c in accepted]  # a command log is its packed commands
    first = [s for s in stages(rt) if s[0] is not Stage.ACCEPTANCE_FAILED]
    n_first = rt.components["ctr"].n
    replay = small_runtime()
    replay.verifications = collect(replay, "cmd.verification")
    replay.boot()
    for data in log:
        replay.bus.publish("cmd.commands", Command.unpack(data))
    replay.run(0.1)
    assert stages(replay) == first
    assert replay.components["ctr"].n == n_first == 10  # set to 9, then one cycle


def test_a_stopped_component_fails_start(rt):
    rt.shutdown()
    report = rt.components["cmd"].dispatch(rt.command("ctr.set_count", 1))
    assert (report.stage, report.reason) == (Stage.START_FAILED, ReasonCode.COMPONENT_UNAVAILABLE)


def test_a_full_command_queue_rejects(rt):
    topic = rt.bus.topic("cmd.commands")
    results = [topic.publish(rt.command("cmd.no_op").pack()) for _ in range(70)]
    assert results.count(False) == 6


_FUZZ_TARGET = small_runtime()
_FUZZ_TARGET.boot()


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=80),
    st.builds(lambda op, args: Command(op, tuple(args)).pack(),
              st.sampled_from([0x0400, 0x1001, 0x1002, 0x1003, 0x1004, 0x7777]),
              st.lists(st.one_of(st.integers(-2**40, 2**40), st.floats(), st.text(max_size=20),
                                 st.booleans(), st.none(), st.binary(max_size=8)), max_size=4)),
))
def test_fuzzed_commands_never_crash_the_dispatcher(data):
    report = _FUZZ_TARGET.components["cmd"].dispatch(data)
    assert report.stage in (Stage.ACCEPTANCE_FAILED, Stage.COMPLETED, Stage.COMPLETION_FAILED)
    if report.stage is Stage.ACCEPTANCE_FAILED:
        assert report.reason is not ReasonCode.OK
