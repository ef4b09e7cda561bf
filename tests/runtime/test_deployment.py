import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.runtime.deployment import Deployment, DeploymentError
from flight.runtime.records import Stage
from hal.clock import SimClock

GOOD = """
[deployment]
name = "mini"
tick_hz = 10

[hardware]
nvm = "mem://mini-{n}"

[[components]]
name = "cmd"
class = "flight.svc.dispatcher:CommandDispatcher"
base_id = 0x0400

[[components]]
name = "ctr"
class = "tests.runtime.helpers:Counter"
base_id = 0x1000

[[components]]
name = "ctr2"
class = "tests.runtime.helpers:Counter"
base_id = 0x2000

[[components]]
name = "prm"
class = "flight.svc.params:ParameterDatabase"
base_id = 0x0500
hardware = {{ storage = "nvm" }}

[[rate_groups]]
name = "fast"
base_id = 0x0300
rate_hz = 10
members = ["ctr"]

[[rate_groups]]
name = "slow"
base_id = 0x0310
divisor = 5
offset = 2
members = ["ctr2"]

[[connections]]
from = "ctr.out"
to = "ctr2.inbox"
depth = 2
policy = "reject"
"""

_n = iter(range(10**6))


def write(tmp_path, text, name="dep.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def good(tmp_path):
    return write(tmp_path, GOOD.format(n=next(_n)))


def test_a_good_deployment_builds_and_runs(tmp_path):
    dep = Deployment.load(good(tmp_path))
    rt = dep.build(clock=SimClock())
    dep.boot(rt)
    rt.run(2.0)
    assert rt.components["ctr"].n == 20 and rt.components["ctr2"].n == 4
    assert rt.groups["slow"].divisor == 5 and rt.groups["slow"].offset == 2
    sub = next(s for s in rt.bus.subscriptions() if s.name == "ctr2.inbox" and s.topic == "ctr.out")
    assert sub.depth == 2 and sub.policy == "reject"
    report = rt.components["cmd"].dispatch(rt.command("ctr2.set_count", 7))
    assert report.stage is Stage.COMPLETED and rt.components["ctr2"].n == 7


def mutate(tmp_path, old, new):
    text = GOOD.format(n=next(_n))
    assert old in text, old
    return write(tmp_path, text.replace(old, new, 1))


@pytest.mark.parametrize(("old", "new", "key", "words"), [
    ('base_id = 0x2000', 'base_id = 0x1001', "components[2].base_id", "duplicate"),
    ('class = "tests.runtime.helpers:Counter"', 'class = "tests.runtime.helpers:Nope"',
     "components[1].class", "unknown class"),
    ('class = "tests.runtime.helpers:Counter"', 'class = "no.such.module:Counter"',
     "components[1].class", "no module"),
    ('class = "tests.runtime.helpers:Counter"', 'class = "Counter"', "components[1].class",
     "package.module:ClassName"),
    ('class = "tests.runtime.helpers:Counter"', 'class = "tests.runtime.helpers:collect"',
     "components[1].class", "not a Component"),
    ('members = ["ctr2"]', 'members = ["ctr2", "ctr"]', "rate_groups[1].members[1]",
     "already a member of rate group fast"),
    ('members = ["ctr2"]', 'members = ["ghost"]', "rate_groups[1].members[0]", "no component"),
    ('rate_hz = 10', 'rate_hz = 3', "rate_groups[0].rate_hz", "does not divide"),
    ('rate_hz = 10', 'rate_hz = 10\ndivisor = 1', "rate_groups[0]", "exactly one"),
    ('divisor = 5', 'divisor = 0', "rate_groups[1].divisor", "at least 1"),
    ('offset = 2', 'offset = 5', "rate_groups[1].offset", "outside 0..4"),
    ('tick_hz = 10', 'tick_hz = 0', "deployment.tick_hz", "outside"),
    ('tick_hz = 10', 'tick_hz = "fast"', "deployment.tick_hz", "number"),
    ('name = "ctr2"', 'name = "ctr"', "components[2].name", "already used"),
    ('name = "ctr2"', 'name = "bus"', "components[2].name", "already used"),
    ('name = "ctr2"', 'name = "two words"', "components[2].name", "instance name"),
    ('storage = "nvm"', 'storage = "disk"', "components[3].hardware.storage", "[hardware]"),
    ('to = "ctr2.inbox"', 'to = "ctr2.nothing"', "connections[0].to", "no input port"),
    ('from = "ctr.out"', 'from = "ctr.nothing"', "connections[0].from", "no output port"),
    ('policy = "reject"', 'policy = "explode"', "connections[0].policy", "drop_oldest"),
    ('depth = 2', 'depth = 0', "connections[0].depth", "positive"),
    ('[hardware]', '[hardwear]', "hardwear", "unknown table"),
    ('base_id = 0x0400', 'base_id = -4', "components[0].base_id", "non-negative"),
    ('name = "mini"', 'name = "mini"\ncolour = 1', "deployment.colour", "unknown key"),
    ('base_id = 0x1000\n', 'base_id = 0x1000\nspeed = 3\n', "components[1].speed",
     "takes no settings"),
])
def test_validation_errors_name_the_file_and_key(tmp_path, old, new, key, words):
    path = mutate(tmp_path, old, new)
    with pytest.raises(DeploymentError) as info:
        Deployment.load(path).build(clock=SimClock())
    assert info.value.path == path
    assert info.value.key == key, str(info.value)
    assert words in info.value.detail
    assert str(info.value).startswith(f"{path}: {key}: ")


def test_syntax_errors_and_missing_files(tmp_path):
    with pytest.raises(DeploymentError) as info:
        Deployment.load(write(tmp_path, "[deployment\nname = 1"))
    assert info.value.key == "(syntax)" and "line 1" in info.value.detail
    with pytest.raises(DeploymentError) as info:
        Deployment.load(tmp_path / "absent.toml")
    assert info.value.key == "(file)"


def test_bindings_override_hardware_and_must_exist(tmp_path):
    dep = Deployment.load(good(tmp_path))
    rt = dep.build(clock=SimClock(), bindings={"nvm": "mem://override"})
    assert rt.components["prm"].hardware("storage") == "mem://override"
    with pytest.raises(DeploymentError) as info:
        dep.build(clock=SimClock(), bindings={"radio": "/dev/ttyUSB0"})
    assert info.value.key == "hardware.radio"


def test_packet_errors_found_when_preparing(tmp_path):
    text = GOOD.format(n=next(_n)) + textwrap.dedent("""
        [[components]]
        name = "hk"
        class = "flight.svc.packetizer:TlmPacketizer"
        base_id = 0x0700

        [[components.packets]]
        name = "p"
        id = 1
        period_s = 1.0
        channels = ["ctr.count", "ctr.nope"]
    """)
    with pytest.raises(DeploymentError) as info:
        Deployment.load(write(tmp_path, text)).build(clock=SimClock())
    assert info.value.key == "components[4].packets[0].channels[1]"
    fixed = text.replace('"ctr.nope"', '"ctr.volts"')
    dep = Deployment.load(write(tmp_path, fixed, "fixed.toml"))
    with pytest.raises(DeploymentError) as info:
        dep.boot(dep.build(clock=SimClock()))
    assert info.value.key == "components[4].rate_group"  # not in any rate group


def test_flight_exits_2_on_a_bad_deployment(tmp_path):
    path = mutate(tmp_path, 'base_id = 0x2000', 'base_id = 0x1001')
    for cmd in (["run", path, "--sim", "--duration", "1"], ["dict", path]):
        result = subprocess.run([sys.executable, "-m", "flight", *cmd], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert f"{path}: components[2].base_id: duplicate" in result.stderr


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.floats(-10, 1e4),
                     st.text(max_size=12), st.sampled_from([
                         "flight.svc.dispatcher:CommandDispatcher", "tests.runtime.helpers:Counter",
                         "cmd", "ctr", "ctr.out", "ctr.inbox", "drop_oldest", "mem://fuzz"]))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["name", "class", "base_id", "divisor", "rate_hz", "offset",
                                     "members", "from", "to", "depth", "policy", "tick_hz",
                                     "hardware", "seed", "nvm", "x"]), inner, max_size=6)),
    max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["deployment", "simulation", "hardware", "components",
                                        "rate_groups", "connections", "extra"]), _values,
                       max_size=6))
def test_arbitrary_deployment_data_is_accepted_or_rejected_with_a_key(data):
    data.setdefault("deployment", {"name": "fuzz", "tick_hz": 10})  # mostly reach the rest
    try:
        Deployment.parse(data, "fuzz.toml").build(clock=SimClock())
    except DeploymentError as exc:
        assert exc.path == "fuzz.toml" and exc.key and exc.detail
