"""The `flight` command line (also `python -m flight`).

Subcommands live in their own modules; each defines ``register(subparsers)``, which adds its
parser and sets ``func(args) -> int`` as the parser's default. To add one (`flight ground`,
`flight emulate`, ...), write the module and add its name to `COMMAND_MODULES`.

Exit status: 0 success, 1 failure while running, 2 bad usage or a bad deployment file.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Final

import flight

COMMAND_MODULES: Final = ("flight.runtime.cli", "flight.ground.cli", "flight.emulation.emulate")

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flight", description="Autonomous Sky flight software.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {flight.__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
