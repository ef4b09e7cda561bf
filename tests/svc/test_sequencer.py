"""The sequencer: text compiled against the dictionary, CRC, engines, start/stop/validate."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.runtime.errors import ConfigError, ReasonCode
from flight.runtime.records import Stage
from flight.svc.command_text import (
    CommandTextError,
    TimeKind,
    compile_text,
    format_args,
    seal,
    unseal,
)
from flight.svc.products import FileCategory

from .services_rig import build, events_named, new_disk, send

PASS = """\
# a pass: three hits, the second after 2.5 s
+0        probe.hit 1
+2.5      probe.hit 2     # comment after a command
+00:00:01 probe.hit 3
"""


def store_sequence(rt, path, text, *, sealed=True):
    rt.components["store"].write(path, seal(text) if sealed else text.encode(),
                                 category=FileCategory.SEQUENCE, priority=0)


def hits(rt):
    return [(tag, round(t, 6)) for tag, t in rt.components["probe"].hits]


def test_a_stored_sequence_runs_its_commands_after_their_delays():
    rt = build(new_disk())
    store_sequence(rt, "seq/pass.seq", PASS)
    rt.run(1.0)
    assert send(rt, "seq.start", "seq/pass.seq").stage is Stage.COMPLETED
    assert rt.telemetry.get("seq.running") == 1
    rt.run(5.0)
    assert hits(rt) == [(1, 1.0), (2, 3.5), (3, 4.5)]
    started = events_named(rt, "seq.seq_started")[0].args
    assert started == ("seq/pass.seq", 0, 3, 3.5)
    assert events_named(rt, "seq.seq_completed")[0].args == ("seq/pass.seq", 3)
    assert rt.telemetry.get("seq.running") == 0 and rt.telemetry.get("seq.completed") == 1
    assert rt.telemetry.get("seq.commands_sent") == 3
    assert rt.telemetry.get("seq.last_started") == "seq/pass.seq"


def test_start_by_file_id_and_builtins_from_the_deployment():
    rt = build(new_disk(), seq={"sequences": {"safe": "+0 probe.hit 7\n+1 probe.hit 8\n"}})
    store_sequence(rt, "seq/other.seq", "+0.5 probe.hit 9\n")
    file_id = rt.components["store"].info("seq/other.seq").file_id
    assert send(rt, "seq.start", "safe").stage is Stage.COMPLETED
    assert send(rt, "seq.start", str(file_id)).stage is Stage.COMPLETED
    rt.run(3.0)
    assert hits(rt) == [(7, 0.0), (9, 0.5), (8, 1.0)]


def test_a_builtin_with_an_error_is_a_deployment_error():
    with pytest.raises(ConfigError) as err:
        build(new_disk(), seq={"sequences": {"safe": "+0 probe.hit 7\n+1 probe.hot 8\n"}})
    assert err.value.key == "sequences.safe" and "safe:2" in err.value.detail


def test_several_sequences_run_at_once_each_name_once_engines_bounded():
    rt = build(new_disk(), seq={"engines": 2})
    store_sequence(rt, "a", "+1 probe.hit 1\n+1 probe.hit 2\n")
    store_sequence(rt, "b", "+0.5 probe.hit 10\n+1 probe.hit 20\n")
    store_sequence(rt, "c", "+0 probe.hit 100\n")
    assert send(rt, "seq.start", "a").stage is Stage.COMPLETED
    assert send(rt, "seq.start", "a").reason is ReasonCode.BUSY
    assert send(rt, "seq.start", "b").stage is Stage.COMPLETED
    assert send(rt, "seq.start", "c").reason is ReasonCode.BUSY  # both engines busy
    rt.run(3.0)
    assert hits(rt) == [(10, 0.5), (1, 1.0), (20, 1.5), (2, 2.0)]
    assert send(rt, "seq.start", "c").stage is Stage.COMPLETED


def test_stop_and_stop_all():
    rt = build(new_disk())
    store_sequence(rt, "long", "".join(f"+1 probe.hit {i}\n" for i in range(10)))
    store_sequence(rt, "other", "".join(f"+1 probe.hit {100 + i}\n" for i in range(10)))
    send(rt, "seq.start", "long")
    send(rt, "seq.start", "other")
    rt.run(2.5)
    assert send(rt, "seq.stop", "long").stage is Stage.COMPLETED
    assert send(rt, "seq.stop", "long").reason is ReasonCode.NOT_FOUND
    rt.run(2.0)
    assert send(rt, "seq.stop_all").stage is Stage.COMPLETED
    rt.run(5.0)
    assert [tag for tag, _ in hits(rt)] == [0, 100, 1, 101, 102, 103]
    assert [e.args for e in events_named(rt, "seq.seq_stopped")] == [("long", 2), ("other", 4)]


def test_a_failing_command_aborts_the_sequence_with_its_line_unless_configured_to_go_on():
    text = "+0 probe.hit 1\n+1 probe.fail\n+1 probe.hit 2\n"
    rt = build(new_disk())
    store_sequence(rt, "f", text)
    send(rt, "seq.start", "f")
    rt.run(5.0)
    assert [tag for tag, _ in hits(rt)] == [1]
    assert events_named(rt, "seq.seq_aborted")[0].args == ("f", 2, "probe.fail",
                                                            ReasonCode.EXECUTION_FAILED)
    assert rt.telemetry.get("seq.aborted") == 1
    lenient = build(new_disk(), seq={"stop_on_failure": False})
    store_sequence(lenient, "f", text)
    send(lenient, "seq.start", "f")
    lenient.run(5.0)
    assert [tag for tag, _ in hits(lenient)] == [1, 2]
    assert events_named(lenient, "seq.step_failed")[0].args[1] == 2


def test_a_sequence_can_stop_itself_and_start_another():
    rt = build(new_disk(), seq={"sequences": {
        "first": '+0 probe.hit 1\n+1 seq.start "second"\n+0 seq.stop "first"\n+1 probe.hit 2\n',
        "second": "+0.5 probe.hit 3\n"}})
    send(rt, "seq.start", "first")
    rt.run(5.0)
    assert hits(rt) == [(1, 0.0), (3, 1.5)]


@pytest.mark.parametrize(("text", "reason"), [
    ("+0 probe.hit 1\n+1 probe.missing 2\n", "f:2: no command named 'probe.missing'"),
    ("+0 probe.hit\n", "takes 1 arguments"),
    ("+0 probe.hit 99999999999\n", "outside"),
    ("+0 probe.hit one\n", "not an integer"),
    ("5 probe.hit 1\n", "not a relative delay"),
    ("+1:75 probe.hit 1\n", "below 60"),
    ("# nothing but a comment\n", "no commands"),
    ('+0 seq.start "' + "x" * 70 + '"\n', "exceeds 64"),
    ("+0 probe.hit 1 \"\n", "unterminated"),
])
def test_a_malformed_sequence_is_rejected_at_validation_and_start_with_the_reason(text, reason):
    rt = build(new_disk())
    store_sequence(rt, "f", text)
    for command in ("seq.validate", "seq.start"):
        report = send(rt, command, "f")
        assert report.stage is Stage.COMPLETION_FAILED
        assert report.reason is ReasonCode.MALFORMED
    invalid = events_named(rt, "seq.seq_invalid")
    assert len(invalid) == 2 and reason in invalid[0].args[1], invalid[0].args
    rt.run(2.0)
    assert hits(rt) == [] and rt.telemetry.get("seq.started") == 0


def test_crc_is_checked_and_required():
    rt = build(new_disk())
    store_sequence(rt, "unsealed", "+0 probe.hit 1\n", sealed=False)
    assert send(rt, "seq.validate", "unsealed").reason is ReasonCode.MALFORMED
    damaged = bytearray(seal("+0 probe.hit 1\n"))
    damaged[12] = ord("7")
    rt.components["store"].write("damaged", bytes(damaged), category=FileCategory.SEQUENCE,
                                 priority=0)
    assert send(rt, "seq.start", "damaged").reason is ReasonCode.STORAGE_ERROR
    assert "CRC-32C" in events_named(rt, "seq.seq_invalid")[-1].args[1]
    store_sequence(rt, "good", "+0 probe.hit 1\n+2 probe.hit 2\n")
    assert send(rt, "seq.validate", "good").stage is Stage.COMPLETED
    valid = events_named(rt, "seq.seq_valid")[0].args
    assert valid[:3] == ("good", 2, 2.0)
    assert valid[3] == _crc(rt.components["store"].read("good"))
    assert send(rt, "seq.start", "nowhere").reason is ReasonCode.NOT_FOUND
    relaxed = build(new_disk(), seq={"require_crc": False})
    store_sequence(relaxed, "unsealed", "+0 probe.hit 1\n", sealed=False)
    assert send(relaxed, "seq.start", "unsealed").stage is Stage.COMPLETED


def _crc(data):
    from flight.codec import crc32c

    return crc32c(data)


def test_seal_and_unseal():
    body = b"+0 probe.hit 1\n"
    sealed = seal(body)
    assert sealed.startswith(body) and sealed.endswith(b"\n")
    assert unseal(sealed) == (body, int(sealed.split()[-1], 16))
    assert unseal(body) == (body, None)
    assert seal("+0 probe.hit 1")[: len(body)] == body  # a final newline is added
    with pytest.raises(ValueError, match="CRC-32C"):
        unseal(sealed.replace(b"1", b"2", 1))


def test_relative_time_forms():
    rt = build(new_disk())
    by_name = {e.name: e for e in rt.registry.commands.values()}
    lines = compile_text("+1.5 probe.hit 1\n+2:03 probe.hit 2\n+01:02:03.25 probe.hit 3\n"
                         "+0. probe.hit 4\n", by_name, times=TimeKind.RELATIVE)
    assert [line.time for line in lines] == [1.5, 123.0, 3723.25, 0.0]
    assert [line.line for line in lines] == [1, 2, 3, 4]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_compiles_or_is_rejected_with_a_line(text):
    try:
        lines = compile_text(text, _BY_NAME, times=TimeKind.RELATIVE)
    except CommandTextError as exc:
        assert 0 <= exc.line <= text.count("\n") + 1 and exc.detail
        return
    for line in lines:  # whatever compiled is a checked command of the dictionary
        entry = next(e for e in _BY_NAME.values() if e.opcode == line.command.opcode)
        assert len(line.command.args) == len(entry.arg_types) and line.time >= 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.text(max_size=20)), min_size=1,
                max_size=5))
def test_formatted_arguments_compile_back_to_the_same_command(items):
    lines = []
    expected = []
    for tag, text in items:
        cmd_tag = _BY_NAME["probe.hit"]
        lines.append(f"+0 probe.hit {format_args(cmd_tag, (tag,))}")
        expected.append((tag,))
        string_cmd = _BY_NAME["seq.validate"]
        text = text.encode()[:64].decode(errors="ignore")
        lines.append(f"+0 seq.validate {format_args(string_cmd, (text,))}")
        expected.append((text,))
    compiled = compile_text("\n".join(lines), _BY_NAME, times=TimeKind.RELATIVE)
    assert [line.command.args for line in compiled] == expected


_DICT_RT = build(new_disk(), boot=False)
_DICT_RT.prepare()
_BY_NAME = {e.name: e for e in _DICT_RT.registry.commands.values()}
