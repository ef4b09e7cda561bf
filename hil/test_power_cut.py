"""A power cut: the flight software stops without warning (the emulated board's process is
killed; a real board's reset line is held), and after it boots again its parameters, its
schedule, its stored files and its boot count are intact."""

from __future__ import annotations

import pytest

from flight.codec import crc32c
from flight.svc.watchdog import ResetCause
from hil.ops import HK_TIMEOUT_S, fresh, param_id, read_param
from hil.test_imaging import capture

EXPOSURE_MS = 42.5
SCHEDULE_AHEAD_S = 86_400.0  # an entry a day ahead: it must still be there, and not run


def test_power_cut_keeps_parameters_schedule_files_and_boot_count(board, ground, gnss_feeder,
                                                                  dictionary):
    if board.power_cut_unavailable is not None:
        pytest.skip(board.power_cut_unavailable)
    ground.send_and_await_completion("prmdb.set_param", param_id(dictionary, "imager.exposure_ms"),
                                     EXPOSURE_MS, timeout=HK_TIMEOUT_S)
    ground.send_and_await_completion("prmdb.save_params", timeout=HK_TIMEOUT_S)
    mark = ground.mark()
    now_tai = ground.await_telemetry("executive.uptime_s", timeout=HK_TIMEOUT_S, start=mark).time
    embedded = dictionary.encode_command("cmd.no_op").pack()
    ground.send_and_await_completion("sched.insert", now_tai + SCHEDULE_AHEAD_S, embedded,
                                     timeout=HK_TIMEOUT_S)
    entry = ground.await_event("sched.entry_inserted", timeout=HK_TIMEOUT_S, start=mark).args
    path, size, crc = capture(ground, "hil_before_cut")
    stored = board.stored_file(path)
    entries = fresh(ground, "sched.entries")
    boots = fresh(ground, "health.boot_count")

    mark = ground.mark()
    board.power_cut()
    gnss_feeder.power_cycle()  # the receiver shares the board's supply
    ground.await_reboot(HK_TIMEOUT_S, start=mark)  # the station resynchronizes by itself

    assert fresh(ground, "health.boot_count") == boots + 1
    assert ground.latest["health.reset_cause"].value == ResetCause.UNKNOWN  # no orderly stop
    assert float(read_param(ground, "imager.exposure_ms")) == EXPOSURE_MS
    assert fresh(ground, "sched.entries") == entries
    mark = ground.mark()
    ground.send_and_await_completion("sched.list_entries", 0, 100, timeout=HK_TIMEOUT_S)
    listed = ground.await_event("sched.entry_listed", lambda a: a[0] == entry[0],
                                timeout=HK_TIMEOUT_S, start=mark)
    assert listed.args[1:3] == entry[1:3]  # same time, same command
    mark = ground.mark()
    ground.send_and_await_completion("store.list_files", 0, 100, timeout=HK_TIMEOUT_S)
    listed = ground.await_event("store.file_listed", lambda a: a[1] == path,
                                timeout=HK_TIMEOUT_S, start=mark)
    assert listed.args[2] == size
    ground.send_and_await_completion("store.verify", path, timeout=HK_TIMEOUT_S)  # CRC on board
    after = board.stored_file(path)
    assert after == stored and (after is None or (len(after), crc32c(after)) == (size, crc))
    ground.send_and_await_completion("sched.delete", entry[0], timeout=HK_TIMEOUT_S)
