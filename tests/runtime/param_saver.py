"""Child process of the crash test: saves parameter sets forever until it is killed.

Usage: python -m tests.runtime.param_saver DIRECTORY

Prints ``ready``, then for k = 1, 2, ...: sets every parameter to the set derived from k,
prints ``saving k``, saves through the parameter database, prints ``saved k``.
"""

from __future__ import annotations

import sys

from flight.runtime.runtime import Runtime
from flight.svc.params import ParameterDatabase
from hal.clock import SimClock
from tests.runtime.helpers import Counter


def parameter_set(k: int) -> tuple[int, float]:
    """The values of set k: (ctr.limit, ctr.gain); set 0 is the defaults."""
    if k == 0:
        return 10, 1.0
    return k % 1000, (k % 200) / 100


def build(directory: str) -> Runtime:
    rt = Runtime("crash", clock=SimClock())
    rt.add(Counter("ctr", 0x1000))
    rt.add(ParameterDatabase("prm", 0x0500), hardware={"storage": f"file:{directory}"})
    rt.boot()
    return rt


def main(directory: str) -> None:
    rt = build(directory)
    prm: ParameterDatabase = rt.components["prm"]
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    k = 0
    while True:
        k += 1
        limit, gain = parameter_set(k)
        prm.set(0x1001, limit)
        prm.set(0x1002, gain)
        out.write(f"saving {k}\n")
        out.flush()
        prm.save()
        out.write(f"saved {k}\n")
        out.flush()


if __name__ == "__main__":
    main(sys.argv[1])
