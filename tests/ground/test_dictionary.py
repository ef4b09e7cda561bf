"""The ground's dictionary: it accepts exactly the commands the satellite's dispatcher accepts,
parses command-line words, decodes housekeeping packets and events, and refuses a dictionary
file that was edited or damaged."""

from __future__ import annotations

import json
from enum import IntEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.ground.dictionary import CommandArgumentError, DictionaryError, GroundDictionary
from flight.runtime import dictionary
from flight.runtime.component import Channel, Component, Event, command
from flight.runtime.executive import RateGroup
from flight.runtime.records import Command, EventRecord, Severity, Stage
from flight.runtime.runtime import Runtime
from flight.runtime.types import (
    BOOL,
    F32,
    F64,
    I16,
    SCALAR,
    U8,
    U64,
    Bytes,
    Enum,
    String,
)
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.packetizer import TlmPacketizer
from hal.clock import SimClock


class Colour(IntEnum):
    RED = 1
    GREEN = 2
    BLUE = 7


class Typed(Component):
    small = Channel(1, U8)
    ratio = Channel(2, F32)
    flag = Channel(3, BOOL)
    label = Channel(4, String(8))
    colour = Channel(5, Enum(Colour))
    big = Channel(6, U64)
    painted = Event(1, Severity.ACTIVITY_LO, "painted {colour} x{times} ({note})",
                    colour=Enum(Colour), times=I16, note=String(16))

    @command(1, a=U8(max=200), b=I16, c=F32(min=-1.0, max=1.0), d=BOOL, e=String(8),
             f=Enum(Colour), g=Bytes(4), h=F64, i=SCALAR)
    def everything(self, a, b, c, d, e, f, g, h, i) -> None:  # noqa: ANN001
        """Every argument type."""

    def cycle(self) -> None:
        self.tlm(self.small, 200)
        self.tlm(self.ratio, 0.25)
        self.tlm(self.flag, True)
        self.tlm(self.label, "abc")
        self.tlm(self.colour, Colour.BLUE)
        self.tlm(self.big, 2**63 + 5)


def build() -> tuple[Runtime, GroundDictionary]:
    rt = Runtime("typed", clock=SimClock(), tick_hz=10)
    rt.add(CommandDispatcher("cmd", 0x0400))
    rt.add(Typed("typed", 0x2000))
    rt.add(TlmPacketizer("hk", 0x0700), config={"packets": [{
        "name": "typed", "id": 9, "period_s": 0.1,
        "channels": ["typed.small", "typed.ratio", "typed.flag", "typed.label", "typed.colour",
                     "typed.big"]}]})
    rt.add_group(RateGroup("rg", 0x0300, divisor=1), ["typed", "hk"])
    rt.boot()
    return rt, GroundDictionary(dictionary.build(rt))


RT, GD = build()
GOOD = (5, -3, 0.5, True, "text", 2, b"\x01", 1e300, "any")

values = st.one_of(
    st.integers(-(2**40), 2**40), st.floats(allow_nan=True), st.booleans(),
    st.text(max_size=12), st.binary(max_size=6), st.none(),
)


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 8), values)
def test_the_ground_accepts_exactly_what_the_dispatcher_accepts(position: int, value) -> None:
    args = list(GOOD)
    args[position] = value
    try:
        GD.encode_command("typed.everything", args)
        ground = True
    except CommandArgumentError:
        ground = False
    report = RT.components["cmd"].dispatch(Command(GD.command("typed.everything").opcode,
                                                   tuple(args)).pack())
    assert ground == (report.stage is not Stage.ACCEPTANCE_FAILED), (value, report)


def test_arguments_by_name_and_enumerations_by_member_name() -> None:
    command = GD.encode_command("typed.everything", GOOD[:5], {
        "f": "BLUE", "g": b"", "h": 0, "i": 3}, seq=9)
    assert command.args[5] == 7 and command.seq == 9 and type(command.args[7]) is float
    with pytest.raises(CommandArgumentError, match="PURPLE"):
        GD.encode_command("typed.everything", GOOD[:5], {"f": "PURPLE", "g": b"", "h": 0,
                                                          "i": 3})


def test_command_line_words() -> None:
    definition = GD.command("typed.everything")
    parsed = definition.parse(["200", "-0x10", "-1", "true", "hi there", "GREEN", "0a0b", "2.5",
                               "i=x"])
    assert parsed == (200, -16, -1.0, True, "hi there", 2, b"\n\x0b", 2.5, "x")
    assert definition.parse(["1", "2", "0", "0", "e", "7", "", "1", "3.5"])[-1] == 3.5
    for words, fault in [
        (["201", "0", "0", "0", "e", "1", "", "1", "1"], "OUT_OF_RANGE"),
        (["x", "0", "0", "0", "e", "1", "", "1", "1"], "WRONG_ARG_TYPE"),
        (["1", "0", "0", "maybe", "e", "1", "", "1", "1"], "WRONG_ARG_TYPE"),
        (["1"], "WRONG_ARG_COUNT"),
        (["a=1", "2"], "WRONG_ARG_COUNT"),
    ]:
        with pytest.raises(CommandArgumentError, match=fault):
            definition.parse(words)


def test_housekeeping_and_events_decode_as_on_board() -> None:
    packets = []
    RT.bus.subscribe("hk.packets", packets.append, depth=10)
    RT.run(0.3)
    layout, decoded = GD.decode_housekeeping(packets[-1].pack())
    values = {channel.name: value for channel, value in decoded}
    assert layout.name == "typed" and values == {
        "typed.small": 200, "typed.ratio": 0.25, "typed.flag": True, "typed.label": "abc",
        "typed.colour": 7, "typed.big": 2**63 + 5}
    assert {c.name: c.display(v) for c, v in decoded}["typed.colour"] == "BLUE"
    with pytest.raises(DictionaryError, match="structure ID 3"):
        GD.decode_housekeeping(b"\x00\x03")
    with pytest.raises(DictionaryError, match="octets"):
        GD.decode_housekeeping(packets[-1].pack()[:-1])
    event_id = RT.registry.event("typed.painted").event_id
    record = EventRecord.unpack(EventRecord(event_id, Severity.ACTIVITY_LO, 1.0,
                                            (Colour.BLUE, 3, "ok")).pack())
    assert GD.describe_event(record) == ("typed.painted", "painted BLUE x3 (ok)")
    name, text = GD.describe_event(EventRecord(event_id, Severity.ACTIVITY_LO, 1.0, (1,)))
    assert name == "typed.painted" and "unformattable" in text
    assert GD.describe_event(EventRecord(0xFFFF, Severity.FATAL, 0.0, (1,)))[0] == "event_0xFFFF"
    assert GD.channel("typed.ratio").display(0.1234567891) == "0.123457"


def test_an_edited_damaged_or_foreign_file_is_refused(tmp_path) -> None:
    body = dictionary.build(RT)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(body))
    assert GroundDictionary.load(good).dictionary_id == int(body["hash"][:8], 16)
    edited = dict(body, commands=body["commands"][1:])
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    with pytest.raises(DictionaryError, match="hash does not match"):
        GroundDictionary.load(tmp_path / "edited.json")
    (tmp_path / "broken.json").write_text(json.dumps(body)[:-10])
    with pytest.raises(DictionaryError, match="not JSON"):
        GroundDictionary.load(tmp_path / "broken.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(DictionaryError, match="format"):
        GroundDictionary.load(tmp_path / "other.json")
    with pytest.raises(DictionaryError, match="No such file"):
        GroundDictionary.load(tmp_path / "missing.json")
    with pytest.raises(DictionaryError, match="did you mean typed.ratio"):
        GD.channel("typed.ration")
