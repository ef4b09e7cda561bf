"""A day of refsat in orbit (issue 6): at the first pass the ground puts the satellite in nominal
mode and schedules an imaging campaign out of contact; later the EPS sensor dies and FDIR enters
safe mode on its own, which sheds the payload; at the following passes the ground asks for the
pending products and every image taken before the failure comes down bit-exact and is marked
downlinked on board.

In one process on the simulated clock (deterministic, seeded): the shipped refsat deployment,
passes and the radio channel from the environment simulator (`tests/svc/day_rig.py`), the
ground station of `flight.ground`. The default run covers the first three passes (about 1 h 45
min of orbit: the campaign, the failure, safe mode, downlinks over two passes); the full day is
a soak test (`--run-soak`, about two minutes).

refsat's safe mode sheds the payload (its mode table switches the imager off) and keeps the
link, file downlink and the schedule running: captures due in safe mode are refused by the
dispatcher (the imager is unavailable), each a failed verification the scheduler reports by an
event and counts, while every image taken before the failure still comes down."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flight.deployments import resolve
from flight.runtime.component import Lifecycle
from flight.runtime.deployment import Deployment
from flight.runtime.errors import ReasonCode
from flight.runtime.records import Stage, Verification
from flight.sim.channel import Endpoint
from flight.sim.stations import Pass
from flight.svc.modes import ModeCause
from hal.clock import SimClock

from .day_rig import PASS_POLL_S, DayInOrbit, tai

_disks = itertools.count()
TARGET = "lake-chad"
PRIORITY = 2  # what the campaign's products are stored with and the ground asks for
MAX_FILES = 2  # files the ground asks for a pass: the images come down over more than one
TIMEOUT_S = 60.0  # a command's round trip in a pass, bit errors and COP-1 retransmissions included
SETTLE_S = 30.0  # after the last loss of signal: the ground notices it
CYCLE_S = 0.1  # refsat's 10 Hz rate group: the scheduler's and FDIR's resolution
EPS_STALE_S = 5.0  # refsat's eps_silent monitor


@dataclass(frozen=True)
class Campaign:
    """Capture times and the sensor failure, in clock seconds (UTC = day_rig.EPOCH + t)."""

    captures: tuple[float, ...]
    failure_at: float
    end: float  # passes that start before this are flown


SHORT = Campaign(
    # 19:53, 19:55, 19:57 UTC after Hartebeesthoek's pass; the EPS sensor dies at 19:59;
    # 20:01 in safe mode before Delft's pass and 20:21 after it: both refused (payload shed)
    captures=(720.0, 840.0, 960.0, 1200.0, 2460.0),
    failure_at=1080.0,
    end=6000.0,
)
DAY = Campaign(
    captures=(720.0, 960.0, 3000.0, 20_000.0, 40_000.0, 46_000.0, 56_000.0, 70_000.0),
    failure_at=45_000.0,
    end=86_400.0,
)


@dataclass
class Flight:
    """What happened, as the test loop saw it."""

    passes: list[Pass]
    failed_at: float | None = None
    modes_seen: list[tuple[int, int]] = field(default_factory=list)  # (pass, modes.mode)


def fly(day: DayInOrbit, campaign: Campaign) -> Flight:
    station = day.station
    flight = Flight(day.passes(0.0, campaign.end))
    for n, p in enumerate(flight.passes):
        if flight.failed_at is None and campaign.failure_at < p.aos:
            day.run_until(campaign.failure_at)
            day.rt.resources["simulation"].device("sim://eps").fail()
            flight.failed_at = day.now()
        day.run_until(p.aos)
        station.poll_interval_s = PASS_POLL_S
        mark = station.mark()
        if n == 0:
            station.identify()
            station.send_and_await_completion("modes.set_mode", "nominal", timeout=TIMEOUT_S)
            station.send_and_await_completion("imager.power", True, timeout=TIMEOUT_S)
            capture = station.dictionary.encode_command("imager.capture", (TARGET, PRIORITY),
                                                        {}).pack()
            for t in campaign.captures:
                station.send_and_await_completion("sched.insert", tai(t), capture,
                                                  timeout=TIMEOUT_S)
            station.await_telemetry("sched.entries", len(campaign.captures), timeout=TIMEOUT_S,
                                    start=mark)
        else:
            mode = station.await_telemetry("modes.mode", timeout=TIMEOUT_S, start=mark)
            flight.modes_seen.append((n, int(mode.value)))
            station.send_and_await_completion("files.downlink_pending", PRIORITY, MAX_FILES, 2,
                                              timeout=TIMEOUT_S)
        day.run_until(p.los, poll_s=PASS_POLL_S)
    day.run_until(day.now() + SETTLE_S)
    return flight


def check(day: DayInOrbit, campaign: Campaign, flight: Flight) -> None:
    passes, failed_at = flight.passes, flight.failed_at
    assert failed_at is not None and len(passes) >= 3
    assert not any(day.env.in_view(t) for t in (*campaign.captures, failed_at))  # out of contact

    # FDIR: the EPS sensor's silence trips eps_silent one stale period later; safe mode at once
    trips = day.event_times("fdir.trip")
    assert trips and trips[0][1][0] == "eps_silent"
    assert failed_at + EPS_STALE_S - CYCLE_S <= trips[0][0] <= failed_at + EPS_STALE_S + CYCLE_S
    changes = day.event_times("modes.changed")
    assert [args for _, args in changes] == [("boot", "nominal", ModeCause.COMMAND),
                                            ("nominal", "safe", ModeCause.FDIR)]
    assert changes[0][0] < passes[0].los and changes[1][0] == trips[0][0]
    assert day.rt.telemetry.get("modes.mode") == 1
    assert day.rt.telemetry.get("thermal.heater_mode") == 0  # safe mode's entry command
    # the ground sees the mode each pass: nominal before the failure, safe after it
    assert flight.modes_seen == [(n, 2 if passes[n].aos < failed_at else 1)
                                 for n in range(1, len(passes))]

    # the campaign: before the failure each capture within one cycle of its time; safe mode
    # sheds the payload, so each capture due after it is refused (the imager is unavailable),
    # reported and counted, and the schedule goes on
    safe = next(m for m in day.component("modes").table if m.name == "safe")
    assert "imager" in safe.off
    assert day.component("imager").lifecycle is Lifecycle.STOPPED
    before = [t for t in campaign.captures if t < failed_at]
    after = [t for t in campaign.captures if t > failed_at]
    assert before and after  # captures on both sides of it
    products = day.stored_products()
    by_time = sorted(products.values(), key=lambda item: item[0].meta["capture_tai"])
    assert len(by_time) == len(before)
    for t, (info, _) in zip(before, by_time, strict=True):
        assert 0.0 <= info.meta["capture_tai"] - tai(t) <= CYCLE_S + 1e-6
        assert info.meta["target"] == TARGET and info.priority == PRIORITY
    refused = day.event_times("sched.entry_failed")
    assert [args[1:] for _, args in refused] == [
        ("imager.capture", ReasonCode.COMPONENT_UNAVAILABLE)] * len(after)
    for t, (when, _) in zip(after, refused, strict=True):
        assert 0.0 <= when - t <= CYCLE_S + 1e-6
    failures = day.event_times("cmd.failed_event")
    assert [(args[0], args[2]) for _, args in failures] == [
        ("imager.capture", ReasonCode.COMPONENT_UNAVAILABLE)] * len(after)
    assert all("imager is STOPPED" in args[3] for _, args in failures)
    assert day.rt.telemetry.get("sched.dispatched") == len(before)
    assert day.rt.telemetry.get("sched.failed") == len(after)
    assert day.rt.telemetry.get("sched.entries") == 0
    assert day.rt.telemetry.get("imager.captures") == len(before)

    # every image on the ground, bit-exact against the blobs in the satellite's storage, and
    # marked downlinked in the catalog
    received = {f.name: f for f in day.station.received_files()}
    assert set(received) == set(products)
    store = day.component("store")
    for path, (info, data) in products.items():
        assert received[path].path.read_bytes() == data
        assert received[path].crc32c == info.crc32c and received[path].size == len(data)
        assert store.info(info.file_id).downlinked
    on_ground = {p.relative_to(day.folder).as_posix() for p in day.folder.rglob("*")
                 if p.is_file() and ".cfdp-partial" not in p.parts}
    assert on_ground == set(products)
    # downlinks finish inside passes, over more than one of them
    finished = [t for t, args in day.event_times("files.finished") if args[2] in products]
    assert len(finished) == len(products)
    carried = {next(n for n, p in enumerate(passes) if p.aos <= t <= p.los) for t in finished}
    assert len(carried) >= 2 and 0 not in carried

    # the link existed only during passes, through a channel with bit errors
    delivered, dropped, bit_errors = day.bridge.stats(Endpoint.SPACE)
    assert delivered > 0 and dropped > delivered and bit_errors > 0
    assert day.bridge.octets_unwritten == 0


def _day(tmp_path: Path) -> DayInOrbit:
    return DayInOrbit(tmp_path / "ground", disk=f"mem://refsat-day-{next(_disks)}", seed=1)


def test_refsat_campaign_failure_safe_mode_and_downlink_over_three_passes(tmp_path: Path):
    day = _day(tmp_path)
    flight = fly(day, SHORT)
    assert [p.station for p in flight.passes] == ["Hartebeesthoek", "Delft", "Hartebeesthoek"]
    check(day, SHORT, flight)
    day.rt.shutdown()


def test_refsat_modes_shed_the_imager_in_safe_and_bring_it_back_unpowered_in_nominal():
    """The mode table the day relies on, command by command: safe mode takes the imager out of
    service (its commands refused as unavailable), nominal brings it back unpowered (a capture
    refused because the imager is off) and payload mode powers it (a capture stored)."""
    dep = Deployment.load(resolve("refsat"))
    rt = dep.build(clock=SimClock(), bindings={"nvm": f"mem://refsat-modes-{next(_disks)}"})
    dep.boot(rt)
    rt.run(1.0)
    cmd, imager = rt.components["cmd"], rt.components["imager"]

    def send(name: str, *args: object) -> Verification:
        report = cmd.dispatch(rt.command(name, *args))
        rt.run(0.5)  # the mode's entry commands go through the dispatcher's input
        return report

    assert send("modes.set_mode", "nominal").stage is Stage.COMPLETED
    assert send("imager.power", True).stage is Stage.COMPLETED
    assert send("modes.set_mode", "safe").stage is Stage.COMPLETED
    assert imager.lifecycle is Lifecycle.STOPPED
    refused = send("imager.capture", TARGET, PRIORITY)
    assert (refused.stage, refused.reason) == (Stage.START_FAILED,
                                               ReasonCode.COMPONENT_UNAVAILABLE)
    assert send("modes.set_mode", "nominal").stage is Stage.COMPLETED
    assert imager.lifecycle is Lifecycle.RUNNING and rt.telemetry.get("imager.powered") is False
    off = send("imager.capture", TARGET, PRIORITY)
    assert (off.stage, off.reason) == (Stage.COMPLETION_FAILED, ReasonCode.EXECUTION_FAILED)
    assert send("modes.set_mode", "payload").stage is Stage.COMPLETED
    assert rt.telemetry.get("imager.powered") is True
    assert send("imager.capture", TARGET, PRIORITY).stage is Stage.COMPLETED
    assert rt.telemetry.get("imager.captures") == 1
    assert (rt.telemetry.get("cmd.failed"), rt.telemetry.get("modes.switch_failures")) == (2, 0)
    rt.shutdown()


@pytest.mark.soak
def test_refsat_a_full_day_in_orbit(tmp_path: Path):
    day = _day(tmp_path)
    flight = fly(day, DAY)
    assert day.now() >= DAY.end - 1000.0 and len(flight.passes) >= 8
    check(day, DAY, flight)
    assert day.component("cmd").dispatch(day.rt.command("store.verify_all")).stage is (
        Stage.COMPLETED)
    day.rt.shutdown()
