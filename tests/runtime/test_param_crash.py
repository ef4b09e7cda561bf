"""Power loss while saving parameters: kill the saving process at random instants, many times;
the stored set is always the old one or the new one, never a mix, never corrupt."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from flight.svc.params import LoadStatus

from .param_saver import build, parameter_set

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def kill_while_saving(directory, rng):
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.param_saver", str(directory)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout.readline() == "ready\n"
    time.sleep(rng.uniform(0.0, 0.02))
    child.send_signal(signal.SIGKILL)
    rest = child.stdout.read()
    child.wait()
    lines = rest.split()
    saving = [int(n) for w, n in zip(lines[::2], lines[1::2], strict=False) if w == "saving"]
    saved = [int(n) for w, n in zip(lines[::2], lines[1::2], strict=False) if w == "saved"]
    return (saving[-1] if saving else None), (saved[-1] if saved else None)


def check(directory, previous):
    """Load what is stored: it must be `previous` (the set before this run), the last set saved,
    or the set being saved when the process died."""
    rt = build(str(directory))
    prm = rt.components["prm"]
    assert prm.load_status in (LoadStatus.LOADED, LoadStatus.MISSING), prm.load_status
    ctr = rt.components["ctr"]
    return (ctr.limit, ctr.gain), prm.load_status


def campaign(tmp_path, kills, seed):
    rng = random.Random(seed)
    stored = parameter_set(0)
    interrupted = 0
    for _ in range(kills):
        saving, saved = kill_while_saving(tmp_path, rng)
        values, status = check(tmp_path, stored)
        allowed = {stored}
        if saved is not None:
            allowed.add(parameter_set(saved))
        if saving is not None and saving != saved:
            interrupted += 1
            allowed.add(parameter_set(saving))
        assert values in allowed, (values, allowed, saving, saved)
        if saved is not None:
            assert values in (parameter_set(saved), parameter_set(saving))
        if status is LoadStatus.LOADED:
            stored = values
    return interrupted


def test_killed_mid_save_leaves_old_or_new_set(tmp_path):
    interrupted = campaign(tmp_path, kills=40, seed=1)
    assert interrupted >= 20  # most kills really landed inside a save


@pytest.mark.soak
def test_killed_mid_save_soak(tmp_path):
    campaign(tmp_path, kills=1000, seed=2)
