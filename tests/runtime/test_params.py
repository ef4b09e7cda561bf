import msgpack
import pytest

from flight.runtime.errors import ReasonCode
from flight.runtime.executive import RateGroup
from flight.runtime.records import Stage
from flight.runtime.runtime import Runtime
from flight.runtime.topics import EVENTS
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.params import LoadStatus, ParameterDatabase, encode_parameters
from hal.clock import SimClock
from hal.storage import Storage, sim_disk

from .helpers import Counter, collect

_disk_names = iter(range(1_000_000))


@pytest.fixture
def disk_url():
    return f"mem://params-test-{next(_disk_names)}"


def build(url, config=None):
    rt = Runtime("t", clock=SimClock(), tick_hz=10)
    rt.add(Counter("ctr", 0x1000))
    rt.add(CommandDispatcher("cmd", 0x0400))
    rt.add(ParameterDatabase("prm", 0x0500), hardware={"storage": url}, config=config)
    rt.add_group(RateGroup("g", 0x0300, divisor=1), ["ctr"])
    rt.events = collect(rt, EVENTS)
    rt.boot()
    return rt


def names(rt):
    rt.bus.pump()
    return [rt.registry.events[e.event_id].name for e in rt.events]


def run(rt, name, *args):
    return rt.components["cmd"].dispatch(rt.command(name, *args))


def test_missing_store_falls_back_to_defaults_with_a_warning(disk_url):
    rt = build(disk_url)
    assert rt.components["prm"].load_status is LoadStatus.MISSING
    assert rt.components["ctr"].limit == 10
    assert "prm.missing" in names(rt)
    assert rt.telemetry.get("prm.status") == LoadStatus.MISSING
    assert rt.telemetry.get("prm.count") == 2


def test_set_save_reload_and_reset(disk_url):
    rt = build(disk_url)
    limit = rt.registry.param("ctr.limit").param_id
    gain = rt.registry.param("ctr.gain").param_id
    assert run(rt, "prm.set_param", limit, 42).stage is Stage.COMPLETED
    assert run(rt, "prm.set_param", gain, 2).stage is Stage.COMPLETED
    assert run(rt, "prm.set_param", gain, 2.0).stage is Stage.COMPLETED  # no change, no notice
    ctr = rt.components["ctr"]
    assert ctr.limit == 42 and ctr.gain == 2.0 and type(ctr.gain) is float
    assert ctr.changed == ["limit", "gain"]
    assert rt.telemetry.get("prm.dirty") == 2 and rt.telemetry.get("prm.sets") == 3
    assert run(rt, "prm.save_params").stage is Stage.COMPLETED
    assert rt.telemetry.get("prm.dirty") == 0
    again = build(disk_url)
    assert again.components["ctr"].limit == 42
    assert again.components["prm"].load_status is LoadStatus.LOADED
    assert run(again, "prm.reset_defaults").stage is Stage.COMPLETED
    assert again.components["ctr"].limit == 10
    assert run(again, "prm.load_params").stage is Stage.COMPLETED
    assert again.components["ctr"].limit == 42


@pytest.mark.parametrize(("args", "reason"), [
    ((0x1001, 5000), ReasonCode.OUT_OF_RANGE),
    ((0x1001, "ten"), ReasonCode.WRONG_ARG_TYPE),
    ((0x1002, 2.5), ReasonCode.OUT_OF_RANGE),
    ((0x7777, 1), ReasonCode.NOT_FOUND),
])
def test_bad_sets_fail_and_change_nothing(disk_url, args, reason):
    rt = build(disk_url)
    report = run(rt, "prm.set_param", *args)
    assert (report.stage, report.reason) == (Stage.COMPLETION_FAILED, reason)
    assert rt.components["ctr"].limit == 10 and rt.components["ctr"].gain == 1.0


def test_get_reports_value_and_default(disk_url):
    rt = build(disk_url)
    run(rt, "prm.set_param", 0x1001, 7)
    run(rt, "prm.get_param", 0x1001)
    rt.bus.pump()
    value = [e for e in rt.events if e.event_id == 0x0507]
    assert value[-1].args == ("ctr.limit", "7", "10")


def test_corrupt_store_falls_back_to_defaults(disk_url):
    rt = build(disk_url)
    run(rt, "prm.set_param", 0x1001, 42)
    run(rt, "prm.save_params")
    disk = sim_disk(disk_url[len("mem://"):])
    raw = bytearray(disk.read("params.db"))
    raw[-1] ^= 0xFF
    disk.write("params.db", bytes(raw))
    again = build(disk_url)
    assert again.components["prm"].load_status is LoadStatus.CORRUPT
    assert again.components["ctr"].limit == 10
    assert "prm.corrupt" in names(again)


def test_invalid_and_unknown_stored_values_are_defaulted(disk_url):
    Storage(sim_disk(disk_url[len("mem://"):])).save(
        "params.db", encode_parameters({0x1001: 5000, 0x1002: 0.5, 0x9999: 1})
    )
    rt = build(disk_url)
    assert rt.components["prm"].load_status is LoadStatus.PARTIAL
    assert rt.components["ctr"].limit == 10 and rt.components["ctr"].gain == 0.5
    assert {"prm.value_rejected", "prm.unknown_id", "prm.loaded"} <= set(names(rt))


def test_wrong_format_is_corrupt(disk_url):
    Storage(sim_disk(disk_url[len("mem://"):])).save("params.db", msgpack.packb([1, 2, 3]))
    assert build(disk_url).components["prm"].load_status is LoadStatus.CORRUPT


def test_power_loss_between_saves_keeps_the_last_saved_set():
    url = "mem://params-powerloss"
    disk = sim_disk("params-powerloss")
    rt = build(url)
    run(rt, "prm.set_param", 0x1001, 1)
    run(rt, "prm.save_params")
    for value in range(2, 40):
        run(rt, "prm.set_param", 0x1001, value)
        if value % 3 == 0:
            disk.power_loss()
            assert build(url).components["ctr"].limit == value - 1
        else:
            run(rt, "prm.save_params")
            assert build(url).components["ctr"].limit == value


def test_configuration_is_checked(disk_url):
    with pytest.raises(Exception, match="file"):
        build(disk_url, config={"file": "a/b"})
    with pytest.raises(Exception, match="colour"):
        build(disk_url, config={"colour": 1})
