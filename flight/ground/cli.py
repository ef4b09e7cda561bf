"""`flight ground`: command and monitor a satellite from the command line.

    flight ground --port /dev/ttyUSB0 --dictionary refsat.json --key KEYFILE send cmd.no_op
    flight ground --port socket://localhost:7000 --dictionary refsat.json monitor --duration 60
    flight ground --port PTY --dictionary refsat.json --key KEYFILE shell
    flight ground --port PTY --dictionary refsat.json --key KEYFILE script passes/checkout.txt
    flight ground --dictionary refsat.json export power.bus_volts power.in_sun -o power.csv
    flight ground --port PTY --dictionary refsat.json --key KEYFILE --files passes/ monitor
    flight ground --port PTY --dictionary refsat.json --key KEYFILE --files passes/ \
        put seq/pass-0142.seq pass-0142.seq

The link profile (spacecraft ID, channels, APIDs, SPI) comes from the deployment the dictionary
was made from, when it is a shipped one or given with --deployment. Everything received and every
command sent goes into the archive (--archive, a SQLite file). With --files DIR, files the
satellite downlinks by CFDP are received into DIR (docs/cfdp.md). Script and shell lines:

    send NAME [ARG ...]          arguments positional or NAME=VALUE; waits for completion
    tlm CHANNEL                  the latest value received
    await-tlm CHANNEL VALUE [S]  wait (S seconds, default 10) until the channel equals VALUE
    await-event NAME [S]         wait until the event arrives (from now)
    wait SECONDS                 keep receiving
    put LOCAL REMOTE [CLASS]     uplink a file by CFDP (class 2 by default), wait until stored
    await-file NAME [S]          wait (S seconds, default 60) until a downlinked file arrives
    # comment

Exit status: 0 success; 1 a command failed, timed out, or the satellite's dictionary differs;
2 bad usage (options, dictionary, key file, port).
"""

from __future__ import annotations

import argparse
import os
import queue
import shlex
import sys
import threading
import time
from pathlib import Path
from typing import Any, Final, TextIO

from flight.ground.archive import Archive, ArchiveError
from flight.ground.dictionary import (
    ArgDef,
    ChannelDef,
    CommandArgumentError,
    DictionaryError,
    GroundDictionary,
)
from flight.ground.files import (
    DEFAULT_GROUND_ENTITY,
    DEFAULT_SATELLITE_ENTITY,
    FileUpdate,
    GroundFiles,
    entity_ids,
)
from flight.ground.link import GroundLink
from flight.ground.station import (
    EventUpdate,
    GroundError,
    GroundStation,
    TelemetryUpdate,
)
from flight.ground.transport import DEFAULT_AIR_RATE_BPS, DEFAULT_BAUDRATE, RadioTransport
from flight.link.devkeys import KeyFileError, read_key_file
from flight.link.profile import LinkProfile
from flight.runtime.deployment import DeploymentError
from flight.runtime.records import Verification
from hal.clock import MonotonicClock
from hal.serial import SerialError

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
DEFAULT_ARCHIVE_DIR: Final = "~/.local/state/autonomous-sky/ground"


class UsageError(Exception):
    """Bad options or files: exit status 2."""


def register(subparsers: Any) -> None:
    ground = subparsers.add_parser(
        "ground", help="command and monitor a satellite",
        description="The ground station: command a satellite by name through SDLS and COP-1, "
                    "decode its telemetry and events, archive everything.",
    )
    ground.add_argument("--port", metavar="URL",
                        help="serial device, pty path or pyserial URL (socket://HOST:PORT) of "
                             "the ground radio")
    ground.add_argument("--dictionary", required=True, metavar="FILE",
                        help="the satellite's dictionary (flight dict DEPLOYMENT -o FILE)")
    ground.add_argument("--key", metavar="FILE",
                        help="ground key file (with provision_dev_keys, the uplink writes it in "
                             "the satellite's nvm as sdls-ground.key); without it, receive only")
    ground.add_argument("--deployment", metavar="DEPLOYMENT",
                        help="deployment to take the link profile from (default: the "
                             "dictionary's, if shipped)")
    ground.add_argument("--archive", metavar="FILE",
                        help=f"SQLite archive (default {DEFAULT_ARCHIVE_DIR}/DEPLOYMENT.sqlite)")
    ground.add_argument("--no-archive", action="store_true", help="archive nothing")
    ground.add_argument("--baudrate", type=int, default=DEFAULT_BAUDRATE)
    ground.add_argument("--air-rate", type=int, default=DEFAULT_AIR_RATE_BPS, metavar="BPS",
                        help="the radio's air rate, for pacing the uplink")
    ground.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="for identification and each command's completion")
    ground.add_argument("--files", metavar="DIR",
                        help="receive files downlinked by CFDP into DIR; needed by put")
    actions = ground.add_subparsers(dest="action", required=True, metavar="ACTION")
    send = actions.add_parser("send", help="send one command and wait for its completion")
    send.add_argument("name", metavar="NAME")
    send.add_argument("args", nargs="*", metavar="ARG", help="positional or NAME=VALUE")
    monitor = actions.add_parser("monitor", help="print telemetry and events as they arrive")
    monitor.add_argument("--duration", type=float, metavar="SECONDS",
                         help="stop after this long (default: until Ctrl-C)")
    monitor.add_argument("--events-only", action="store_true", help="do not print telemetry")
    actions.add_parser("shell", help="interactive: read lines from standard input")
    script = actions.add_parser("script", help="run the lines of a file; stop at a failure")
    script.add_argument("file", metavar="FILE")
    export = actions.add_parser("export", help="write archived channels as CSV")
    export.add_argument("channels", nargs="*", metavar="CHANNEL", help="default: all")
    export.add_argument("-o", "--output", required=True, metavar="FILE")
    export.add_argument("--wide", action="store_true", help="one column per channel")
    put = actions.add_parser("put", help="uplink a file by CFDP and wait until it is stored")
    put.add_argument("local", metavar="LOCAL")
    put.add_argument("remote", metavar="REMOTE", help="its name on board (path in the store)")
    put.add_argument("--class", dest="cls", type=int, choices=(1, 2), default=2)
    put.add_argument("--wait", type=float, default=600.0, metavar="SECONDS",
                     help="how long the transfer may take (default 600)")
    ground.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    out = sys.stdout
    try:
        dictionary = GroundDictionary.load(args.dictionary)
        archive = _archive(args, dictionary)
        if args.action == "export":
            if archive is None:
                raise UsageError("export needs an archive (drop --no-archive)")
            rows = archive.export_csv(args.channels or None, args.output, wide=args.wide)
            print(f"{rows} rows written to {args.output}", file=out)
            return EXIT_OK
        station = _connect(args, dictionary, archive)
    except (UsageError, DictionaryError, KeyFileError, ArchiveError, DeploymentError) as exc:
        print(f"flight ground: {exc}", file=sys.stderr)
        return EXIT_USAGE
    printer = Printer(station, out, telemetry=not getattr(args, "events_only", False))
    station.listeners.append(printer)
    if station.files is not None:
        station.files.listeners.append(printer)
    try:
        if args.action == "send":
            printer.telemetry = False
            return _send(station, args.name, args.args, args.timeout, out)
        if args.action == "monitor":
            return _monitor(station, args.duration)
        if args.action == "put":
            printer.telemetry = False
            try:
                put_file(station, args.local, args.remote, args.cls, args.wait, out)
            except (GroundError, OSError, ValueError) as exc:
                print(f"flight ground: {exc}", file=sys.stderr)
                return EXIT_FAILURE
            return EXIT_OK
        if args.action == "script":
            printer.telemetry = False
            return _script(station, args.file, args.timeout, out)
        printer.telemetry = False
        return _shell(station, args.timeout, out)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        transport = station.link.transport
        if isinstance(transport, RadioTransport):
            transport.close()
        if station.archive is not None:
            station.archive.close()


def _archive(args: argparse.Namespace, dictionary: GroundDictionary) -> Archive | None:
    if args.no_archive:
        return None
    path = args.archive
    if path is None:
        folder = Path(os.path.expanduser(DEFAULT_ARCHIVE_DIR))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{dictionary.deployment or 'satellite'}.sqlite"
    return Archive(path, dictionary.body)


def _connect(args: argparse.Namespace, dictionary: GroundDictionary,
             archive: Archive | None) -> GroundStation:
    if not args.port:
        raise UsageError(f"{args.action} needs --port (the ground radio's serial port or URL)")
    if args.action == "put" and not args.files:
        raise UsageError("put needs --files DIR (where the ground's CFDP entity keeps files)")
    profile = _profile(args, dictionary)
    keys = read_key_file(args.key) if args.key else None
    if keys is not None and keys.spi != profile.spi:
        raise UsageError(f"{args.key}: keys for SPI {keys.spi}, the link uses SPI {profile.spi}")
    clock = MonotonicClock()
    try:
        transport = RadioTransport(args.port, clock, profile, air_rate_bps=args.air_rate,
                                   baudrate=args.baudrate)
    except (SerialError, OSError, ValueError) as exc:
        raise UsageError(f"cannot open {args.port}: {exc}") from None
    link = GroundLink(profile, keys, clock, transport)
    files = None
    if args.files:
        deployment = _deployment(args, dictionary)
        ground_id, satellite_id = (entity_ids(deployment) if deployment is not None
                                   else (DEFAULT_GROUND_ENTITY, DEFAULT_SATELLITE_ENTITY))
        files = GroundFiles(link, args.files, entity_id=ground_id,
                            satellite_entity_id=satellite_id, wall_time=time.time)
    return GroundStation(dictionary, link, archive=archive, identify_timeout_s=args.timeout,
                         files=files)


def _deployment(args: argparse.Namespace, dictionary: GroundDictionary) -> str | None:
    """The deployment to read link and file settings from: --deployment, else the dictionary's
    if it is shipped."""
    if args.deployment is not None:
        return str(args.deployment)
    from flight.deployments import shipped

    return dictionary.deployment if dictionary.deployment in shipped() else None


def _profile(args: argparse.Namespace, dictionary: GroundDictionary) -> LinkProfile:
    name = _deployment(args, dictionary)
    return LinkProfile() if name is None else LinkProfile.from_deployment(name)


class Printer:
    """Prints what the station decodes, one line each."""

    def __init__(self, station: GroundStation, out: TextIO, *, telemetry: bool = True) -> None:
        self.station = station
        self.out = out
        self.telemetry = telemetry

    def __call__(self, item: TelemetryUpdate | EventUpdate | Verification | FileUpdate) -> None:
        if isinstance(item, FileUpdate):
            way = "up" if item.uplink else "down"
            size = "" if item.size is None else f", {item.size} octets"
            self.out.write(f"{self.station.clock.monotonic():12.3f} FILE {way} {item.transaction} "
                           f"{item.name}: {item.kind.name} {item.condition.name} at "
                           f"{item.progress}{size}\n")
        elif isinstance(item, TelemetryUpdate):
            if self.telemetry:
                unit = self.station.dictionary.channels[item.channel].unit
                self.out.write(f"{item.time:12.3f} TLM {item.channel} = {item.display}"
                               f"{' ' + unit if unit else ''}\n")
        elif isinstance(item, EventUpdate):
            self.out.write(f"{item.time:12.3f} EVR {item.severity.name:<11} {item.name}: "
                           f"{item.message}\n")
        else:
            command = self.station.dictionary.commands_by_opcode.get(item.opcode)
            name = command.name if command is not None else f"opcode 0x{item.opcode:X}"
            self.out.write(f"{item.time:12.3f} CMD {name} seq {item.seq}: {item.stage.name}"
                           f"{'' if not item.failed else ' ' + item.reason.name}\n")
        self.out.flush()


def _send(station: GroundStation, name: str, words: list[str], timeout: float,
          out: TextIO) -> int:
    try:
        values = station.dictionary.command(name).parse(words)
        station.send_and_await_completion(name, *values, timeout=timeout)
    except (DictionaryError, CommandArgumentError) as exc:
        print(f"flight ground: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (GroundError, OSError) as exc:
        print(f"flight ground: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _monitor(station: GroundStation, duration: float | None) -> int:
    if station.files is not None and station.link.can_command:
        station.identify()  # CFDP's ACKs, NAKs and Finished PDUs go up only once identified
    if duration is not None:
        station.run_for(duration)
        return EXIT_OK
    while True:
        station.run_for(1.0)


def _script(station: GroundStation, path: str, timeout: float, out: TextIO) -> int:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except OSError as exc:
        print(f"flight ground: {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    for number, line in enumerate(lines, 1):
        try:
            run_line(station, line, timeout, out)
        except (GroundError, DictionaryError, CommandArgumentError, ValueError) as exc:
            print(f"flight ground: {path}:{number}: {exc}", file=sys.stderr)
            return EXIT_FAILURE
    return EXIT_OK


def _shell(station: GroundStation, timeout: float, out: TextIO) -> int:
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in sys.stdin:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, name="ground-stdin", daemon=True).start()
    out.write("ground station ready: send, tlm, await-tlm, await-event, wait; Ctrl-D ends\n")
    out.flush()
    while True:
        try:
            line = lines.get_nowait()
        except queue.Empty:
            station.run_for(0.1)
            continue
        if line is None:
            return EXIT_OK
        try:
            run_line(station, line, timeout, out)
        except (GroundError, DictionaryError, CommandArgumentError, ValueError) as exc:
            out.write(f"error: {exc}\n")
            out.flush()


def run_line(station: GroundStation, line: str, timeout: float, out: TextIO) -> None:
    """Carry out one script or shell line; raises for a failure."""
    words = shlex.split(line, comments=True)
    if not words:
        return
    verb, rest = words[0], words[1:]
    if verb == "send" and rest:
        values = station.dictionary.command(rest[0]).parse(rest[1:])
        station.send_and_await_completion(rest[0], *values, timeout=timeout)
    elif verb == "tlm" and len(rest) == 1:
        channel = station.dictionary.channel(rest[0])
        latest = station.latest.get(channel.name)
        out.write(f"{channel.name} = {'(nothing yet)' if latest is None else latest.display}\n")
    elif verb == "await-tlm" and len(rest) in (2, 3):
        channel = station.dictionary.channel(rest[0])
        wanted = channel.display(_value(channel, rest[1]))
        station.await_telemetry(channel.name, lambda v: channel.display(v) == wanted,
                                timeout=float(rest[2]) if len(rest) == 3 else 10.0)
        out.write(f"{channel.name} = {wanted}\n")
    elif verb == "await-event" and len(rest) in (1, 2):
        station.await_event(rest[0], timeout=float(rest[1]) if len(rest) == 2 else 10.0,
                            start=station.mark())
    elif verb == "wait" and len(rest) == 1:
        station.run_for(float(rest[0]))
    elif verb == "put" and len(rest) in (2, 3):
        put_file(station, rest[0], rest[1], int(rest[2]) if len(rest) == 3 else 2, 600.0, out)
    elif verb == "await-file" and len(rest) in (1, 2):
        received = station.await_file(rest[0], float(rest[1]) if len(rest) == 2 else 60.0)
        out.write(f"{received.name}: {received.size} octets in {received.path}\n")
    else:
        raise ValueError(f"cannot read {line.strip()!r} (send NAME ARGS, tlm CHANNEL, "
                         "await-tlm CHANNEL VALUE [S], await-event NAME [S], wait S, "
                         "put LOCAL REMOTE [CLASS], await-file NAME [S])")
    out.flush()


def put_file(station: GroundStation, local: str, remote: str, cls: int, timeout: float,
             out: TextIO) -> None:
    """Uplink `local` as `remote` and wait until the satellite has stored it, checksum
    verified; raises `GroundError` (`FileTransferFailed`, `AwaitTimeout`) or `OSError`."""
    tid = station.put_file(local, remote, cls)
    status = station.await_transfer(tid, timeout)
    out.write(f"{remote}: {status.file_size} octets stored on board (transaction {tid})\n")


def _value(channel: ChannelDef, text: str) -> Any:
    return ArgDef(channel.name, channel.type).parse(text)

