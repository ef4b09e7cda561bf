"""Ground operations the suite's tests share: parameters by name, fresh housekeeping values."""

from __future__ import annotations

from typing import Any

from flight.ground.dictionary import GroundDictionary
from flight.ground.station import GroundStation, HistoryMark

HK_TIMEOUT_S = 60.0  # board seconds: a few periods of the slowest packet a test waits for


def param_id(dictionary: GroundDictionary, name: str) -> int:
    """The global ID of parameter `name` ("imager.exposure_ms")."""
    for entry in dictionary.body["parameters"]:
        if entry["name"] == name:
            return int(entry["id"])
    raise KeyError(f"no parameter {name!r} in the dictionary")


def read_param(ground: GroundStation, name: str, timeout: float = HK_TIMEOUT_S) -> str:
    """A parameter's value on board as the satellite reports it (`prmdb.get_param`): the value's
    text, as in the `prmdb.param_value` event."""
    mark = ground.mark()
    ground.send_and_await_completion("prmdb.get_param", param_id(ground.dictionary, name),
                                     timeout=timeout)
    event = ground.await_event("prmdb.param_value", lambda args: args[0] == name,
                               timeout=timeout, start=mark)
    return str(event.args[1])


def fresh(ground: GroundStation, channel: str, predicate: Any = None,
          timeout: float = HK_TIMEOUT_S) -> Any:
    """The value of `channel` in the next housekeeping sample from now (satisfying `predicate`)."""
    return ground.await_telemetry(channel, predicate, timeout=timeout, start=ground.mark()).value


def count_events(ground: GroundStation, name: str, start: HistoryMark,
                 settle_s: float = 10.0) -> int:
    """How many events `name` arrived since `start`, after `settle_s` more board seconds for late
    ones (events travel on their own virtual channel, behind housekeeping)."""
    ground.run_for(settle_s)
    return len(ground.event_history(name, start=start))
