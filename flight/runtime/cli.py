"""`flight run` and `flight dict`: run a deployment, write its dictionary."""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import sys
import time
from datetime import datetime
from typing import Any, Final, TextIO

from flight.deployments import resolve
from flight.runtime import dictionary
from flight.runtime.deployment import Deployment, DeploymentError
from flight.runtime.records import EventRecord, HousekeepingPacket
from flight.runtime.runtime import Runtime
from flight.runtime.topics import EVENTS
from flight.svc.health import EXIT_RESET, HealthMonitor
from flight.svc.packetizer import TlmPacketizer
from flight.svc.sctime import parse_utc
from hal.clock import Clock, MonotonicClock, SimClock
from hal.time import ClockTimeSource, utc_to_tai

EXIT_FAILURE = 1
EXIT_USAGE = 2
EPOCH_RESOURCE: Final = "epoch"  # resources key of the --epoch time source (resource:epoch)


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run", help="run a deployment",
        description="Run a deployment (a TOML file, or the name of a shipped one such as refsat).",
    )
    run.add_argument("deployment", metavar="DEPLOYMENT")
    run.add_argument("--sim", action="store_true",
                     help="simulated clock: as fast as the CPU allows, reproducible")
    run.add_argument("--speed", type=_positive, metavar="N",
                     help="with --sim: pace the simulated clock at N times real time; with "
                          "--clock-origin: the scale of the shared clock")
    run.add_argument("--clock-origin", type=float, metavar="HOST_SECONDS",
                     help="run on the host's monotonic clock scaled by --speed, reading 0 at this "
                          "CLOCK_MONOTONIC instant, so that a rig on the same host follows it "
                          "(flight.emulation.clock)")
    run.add_argument("--epoch", type=_utc, metavar="ISO8601",
                     help="the UTC at clock reading 0: spacecraft time for components whose time "
                          "binding is resource:epoch")
    run.add_argument("--duration", type=_positive, metavar="SECONDS",
                     help="stop after this much (simulated or real) time; default: until Ctrl-C")
    run.add_argument("--bind", action="append", default=[], metavar="NAME=URL",
                     help="override a [hardware] binding, e.g. --bind nvm=mem://refsat")
    run.add_argument("--seed", type=int, help="override the [simulation] seed")
    run.add_argument("--realtime-priority", type=int, metavar="N",
                     help="run the executive under SCHED_FIFO at priority N (1-99; Linux, needs "
                          "CAP_SYS_NICE); ignored with --sim")
    run.add_argument("--quiet", action="store_true", help="do not print events as they happen")
    run.set_defaults(func=_run, parser=run)

    dict_ = subparsers.add_parser(
        "dict", help="write a deployment's JSON dictionary",
        description="Write the JSON dictionary the ground decodes with.",
    )
    dict_.add_argument("deployment", metavar="DEPLOYMENT")
    dict_.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    dict_.set_defaults(func=_dict)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return value


def _utc(text: str) -> datetime:
    try:
        return parse_utc(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _clock(args: argparse.Namespace) -> Clock:
    if args.clock_origin is not None:
        from flight.emulation.clock import ScaledClock

        return ScaledClock(args.speed or 1.0, args.clock_origin)
    return SimClock() if args.sim else MonotonicClock()


def _bindings(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, eq, url = item.partition("=")
        if not eq or not name or not url:
            parser.error(f"--bind {item!r}: expected NAME=URL")
        out[name] = url
    return out


def _load(path: str) -> Deployment:
    return Deployment.load(resolve(path))


def _dict(args: argparse.Namespace) -> int:
    try:
        dep = _load(args.deployment)
        rt = dep.build(clock=SimClock())
    except DeploymentError as exc:
        print(f"flight dict: {exc}", file=sys.stderr)
        return EXIT_USAGE
    text = dictionary.dumps(dictionary.build(rt))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


class EventPrinter:
    """Prints events as the ground would show them, from the deployment's registry."""

    def __init__(self, rt: Runtime, out: TextIO) -> None:
        self.rt = rt
        self.out = out

    def __call__(self, record: EventRecord) -> None:
        assert self.rt.registry is not None
        entry = self.rt.registry.events.get(record.event_id)
        if entry is None:
            text, name = repr(record.args), f"0x{record.event_id:X}"
        else:
            text, name = entry.event.format(record.args), entry.name
        self.out.write(f"{record.time:12.3f} {record.severity.name:<11} {name}: {text}\n")


class TelemetryDigest:
    """SHA-256 over every housekeeping packet (time, SID, payload), for reproducibility checks."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.packets = 0

    def __call__(self, packet: HousekeepingPacket) -> None:
        self.hash.update(json.dumps([packet.time, packet.sid]).encode())
        self.hash.update(packet.pack())
        self.packets += 1


def _run(args: argparse.Namespace) -> int:
    if args.clock_origin is not None and args.sim:
        args.parser.error("--clock-origin and --sim exclude each other")
    if args.speed is not None and not args.sim and args.clock_origin is None:
        args.parser.error("--speed needs --sim or --clock-origin (the real clock always runs at "
                          "real time)")
    if args.realtime_priority is not None and not 1 <= args.realtime_priority <= 99:
        args.parser.error("--realtime-priority must be in 1..99")
    bindings = _bindings(args.parser, args.bind)
    clock = _clock(args)
    try:
        dep = _load(args.deployment)
        rt = dep.build(clock=clock, bindings=bindings, seed=args.seed,
                       realtime_priority=args.realtime_priority)
    except DeploymentError as exc:
        print(f"flight run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.epoch is not None:
        rt.resources[EPOCH_RESOURCE] = ClockTimeSource(clock, utc_to_tai(args.epoch))
    digest = TelemetryDigest()
    for comp in rt.components.values():
        if isinstance(comp, TlmPacketizer):
            rt.bus.subscribe(comp.packets.topic_name, digest, depth=1024, name="cli.digest")
    if not args.quiet:
        rt.bus.subscribe(EVENTS, EventPrinter(rt, sys.stdout), depth=4096, name="cli.events")
    try:
        dep.boot(rt)
    except DeploymentError as exc:
        print(f"flight run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"flight run: cannot start {dep.name}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    previous = {s: signal.signal(s, lambda *_: rt.stop()) for s in (signal.SIGINT, signal.SIGTERM)}
    start = time.monotonic()
    try:
        rt.run(args.duration, speed=args.speed if args.sim else None)
    finally:
        rt.shutdown()
        for s, handler in previous.items():
            signal.signal(s, handler)
    elapsed = time.monotonic() - start
    ran = rt.executive.stats.ticks / rt.executive.tick_hz
    kind = "simulated" if args.sim else "real time" if args.clock_origin is None else "scaled"
    print(
        f"{dep.name}: ran {ran:.1f} s ({kind}) in "
        f"{elapsed:.2f} s; {rt.executive.stats.ticks} ticks, {digest.packets} housekeeping "
        f"packets, telemetry digest {digest.hash.hexdigest()}, dictionary {rt.dictionary_hash}",
        flush=True,
    )
    for comp in rt.components.values():
        if isinstance(comp, HealthMonitor) and comp.reset_requested is not None:
            print(f"{dep.name}: {comp.reset_requested.name.lower()} reset; exit status "
                  f"{EXIT_RESET} asks the supervisor to start the software again",
                  file=sys.stderr)
            return EXIT_RESET
    return 0
