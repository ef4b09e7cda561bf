import pytest

from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Param,
    Throttle,
    command,
)
from flight.runtime.errors import ConfigError, DeclarationError
from flight.runtime.records import Severity
from flight.runtime.registry import IdCollision, Registry
from flight.runtime.runtime import Runtime
from flight.runtime.topics import EVENTS, EVENTS_SUPPRESSED
from flight.runtime.types import U8, U32
from hal.clock import SimClock

from .helpers import Counter, collect


def test_declarations_are_collected_with_names_and_ids():
    spec = Counter._spec
    assert {c.name for c in spec.channels.values()} == {"count", "volts"}
    assert spec.commands[2].args.keys() == {"text", "times", "offset"}
    assert spec.commands[1].doc == "Set the counter."
    assert spec.events[1].name == "reached"
    assert spec.params[2].default == 1.0
    assert set(spec.inputs) == {"inbox"} and set(spec.outputs) == {"out"}


def test_duplicate_local_ids_are_refused():
    with pytest.raises(DeclarationError, match="channel local ID 1 declared twice"):
        class Twice(Component):
            a = Channel(1, U8)
            b = Channel(1, U8)


def test_handler_signature_must_match_arguments():
    with pytest.raises(DeclarationError, match="differ from the declared arguments"):
        class Bad(Component):
            @command(1, x=U8)
            def go(self, y):
                pass


def test_event_format_must_name_declared_arguments():
    with pytest.raises(DeclarationError, match="undeclared"):
        Event(1, Severity.DIAGNOSTIC, "value {v} of {w}", v=U8)


def test_local_ids_are_bounded_and_defaults_checked():
    with pytest.raises(DeclarationError):
        Channel(256, U8)
    with pytest.raises(ValueError):
        Param(1, U8(max=5), 6)


def test_instances_offset_ids_so_a_class_can_be_used_twice():
    reg = Registry([Counter("a", 0x1000), Counter("b", 0x2000)])
    assert reg.command("a.set_count").opcode == 0x1001
    assert reg.command("b.set_count").opcode == 0x2001
    assert reg.channel("b.volts").channel_id == 0x2002
    with pytest.raises(IdCollision) as info:
        Registry([Counter("a", 0x1000), Counter("b", 0x1001)])
    assert info.value.global_id == 0x1002  # b.set_count lands on a.say
    assert (info.value.first, info.value.second) == ("a.say", "b.set_count")


def test_bad_instance_name_and_base_id():
    with pytest.raises(ConfigError):
        Counter("not a name", 0)
    with pytest.raises(ConfigError):
        Counter("ok", -1)


def test_parameters_read_as_attributes_and_cannot_be_assigned():
    c = Counter("c", 0)
    assert c.limit == 10
    with pytest.raises(AttributeError):
        c.limit = 3
    assert isinstance(Counter.limit, Param)


def test_on_change_channel_keeps_its_time_while_unchanged():
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    c = rt.add(Counter("c", 0x1000))
    rt.boot()
    c.tlm(c.volts, 5.0)
    rt.clock.advance(1.0)
    c.tlm(c.volts, 5.0)
    assert rt.telemetry.time(0x1002) == 0.0
    c.tlm(c.volts, 5.5)
    assert rt.telemetry.time(0x1002) == 1.0 and rt.telemetry.get("c.volts") == 5.5
    c.tlm(c.count, 1)
    rt.clock.advance(1.0)
    c.tlm(c.count, 1)
    assert rt.telemetry.time(0x1001) == 2.0
    sample = rt.telemetry.sample(0x1001)
    assert (sample.channel_id, sample.time, sample.value) == (0x1001, 2.0, 1)
    assert rt.telemetry.info[0x1002].unit == "V"
    with pytest.raises(KeyError, match="c.nothing"):
        rt.telemetry.get("c.nothing")


class Chatty(Component):
    noisy = Event(1, Severity.WARNING_LO, "noise {n}", throttle=Throttle(3, 10.0), n=U32)


def test_event_throttling_suppresses_and_reports_the_count():
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    c = rt.add(Chatty("c", 0x1000))
    events = collect(rt, EVENTS)
    reports = collect(rt, EVENTS_SUPPRESSED)
    rt.boot()
    sent = [c.emit(c.noisy, i) for i in range(10)]
    assert sent == [True] * 3 + [False] * 7
    rt.clock.advance(10.0)
    assert c.emit(c.noisy, 99)
    rt.bus.pump()
    noisy = [e for e in events if e.event_id == 0x1001]
    assert [e.args for e in noisy] == [(0,), (1,), (2,), (99,)]
    assert reports == [(0x1001, 7)]


def test_emit_checks_the_argument_count():
    c = Chatty("c", 0)
    rt = Runtime("t", clock=SimClock())
    rt.add(c)
    with pytest.raises(TypeError):
        c.emit(c.noisy)


def test_event_format_renders_arguments():
    ev = Counter.said
    assert ev.format(("hi", 2)) == "said hi x2"
    assert "unformattable" in Event(9, Severity.DIAGNOSTIC, "{v:d}", v=U8).format(("x",))


def test_unknown_configuration_is_refused_with_its_key():
    with pytest.raises(ConfigError) as info:
        Counter("c", 0).configure({"speed": 3})
    assert info.value.key == "speed"


def test_hardware_binding_lookup_names_the_missing_binding():
    rt = Runtime("t", clock=SimClock())
    c = rt.add(Counter("c", 0x1000), hardware={"port": "loop://"})
    assert c.hardware("port") == "loop://"
    with pytest.raises(ConfigError, match="c.hardware.radio"):
        c.hardware("radio")


def test_declarations_cannot_hide_component_attributes():
    with pytest.raises(DeclarationError, match="faults"):
        class Hiding(Component):
            faults = Channel(1, U32)


def test_commands_cannot_replace_lifecycle_hooks():
    with pytest.raises(DeclarationError, match="stop"):
        class Stopper(Component):
            @command(1)
            def stop(self):
                pass
