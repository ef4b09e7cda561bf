"""The schedule of time-tagged commands: timing, loading, listing, persistence, late policy."""

from __future__ import annotations

import collections
import heapq
import math
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flight.runtime.errors import CommandError, ReasonCode
from flight.runtime.executive import RateGroup
from flight.runtime.records import Command, Stage
from flight.runtime.runtime import Runtime
from flight.svc.command_text import seal
from flight.svc.dispatcher import CommandDispatcher
from flight.svc.products import FileCategory
from flight.svc.scheduler import Schedule, Scheduler
from hal.clock import SimClock
from hal.time import DisciplinedTime

from .services_rig import (
    T0,
    CuttingDisk,
    PowerCut,
    Probe,
    build,
    epoch_url,
    event_names,
    events_named,
    hit,
    new_disk,
    on_disk,
    power_cycle,
    send,
)

PERIOD = 0.1


def test_each_entry_runs_within_one_cycle_of_its_time_in_time_order():
    rt = build(new_disk())
    sched = rt.components["sched"]
    offsets = [3.05, 1.0, 2.5, 2.5, 7.99, 0.31]
    sched.insert_many([(T0 + t, hit(rt, i)) for i, t in enumerate(offsets)])
    assert rt.telemetry.get("sched.entries") == 6
    assert rt.telemetry.get("sched.next_tai") == T0 + 0.31
    rt.run(10.0)
    hits = rt.components["probe"].hits
    assert [tag for tag, _ in hits] == [5, 1, 2, 3, 0, 4]  # by time, then by ID
    for tag, ran in hits:
        assert 0 <= ran - offsets[tag] < PERIOD + 1e-9, (tag, ran)
    assert rt.telemetry.get("sched.entries") == 0
    assert rt.telemetry.get("sched.dispatched") == 6
    assert len(events_named(rt, "sched.entry_ran")) == 6


def test_at_most_max_per_cycle_entries_run_per_cycle_the_rest_follow_in_order():
    rt = build(new_disk(), sched={"max_per_cycle": 3})
    rt.components["sched"].insert_many([(T0 + 1.0, hit(rt, i)) for i in range(7)])
    rt.run(2.0)
    hits = rt.components["probe"].hits
    assert [tag for tag, _ in hits] == list(range(7))
    assert [round(t, 6) for _, t in hits] == [1.0] * 3 + [1.1] * 3 + [1.2]


def test_insert_command_takes_a_packed_command_and_rejects_bad_entries_with_a_reason():
    rt = build(new_disk())
    ok = send(rt, "sched.insert", T0 + 1.5, hit(rt, 9).pack())
    assert ok.stage is Stage.COMPLETED
    assert events_named(rt, "sched.entry_inserted")[0].args[2] == "probe.hit"
    bad = {
        b"\xc1garbage": ReasonCode.MALFORMED,
        Command(0xDEAD).pack(): ReasonCode.UNKNOWN_OPCODE,
        Command(rt.command("probe.hit", 1).opcode, ()).pack(): ReasonCode.WRONG_ARG_COUNT,
        Command(rt.command("probe.hit", 1).opcode, (-1,)).pack(): ReasonCode.OUT_OF_RANGE,
        Command(rt.command("probe.hit", 1).opcode, ("x",)).pack(): ReasonCode.WRONG_ARG_TYPE,
    }
    for packed, reason in bad.items():
        report = send(rt, "sched.insert", T0 + 2.0, packed)
        assert (report.stage, report.reason) == (Stage.COMPLETION_FAILED, reason), packed
    for when in (T0 - 1.0, math.nan, math.inf, -5.0):
        report = send(rt, "sched.insert", when, hit(rt, 1).pack())
        assert report.failed and report.reason in (ReasonCode.OUT_OF_RANGE,), when
    assert len(rt.components["sched"].schedule) == 1
    rt.run(2.0)
    assert [tag for tag, _ in rt.components["probe"].hits] == [9]


def test_a_failing_entry_is_reported_and_the_schedule_goes_on():
    rt = build(new_disk())
    sched = rt.components["sched"]
    sched.insert_many([(T0 + 0.5, rt.command("probe.fail")), (T0 + 0.6, hit(rt, 1))])
    rt.run(1.0)
    assert [tag for tag, _ in rt.components["probe"].hits] == [1]
    failed = events_named(rt, "sched.entry_failed")
    assert len(failed) == 1 and failed[0].args[2] is ReasonCode.EXECUTION_FAILED
    assert rt.telemetry.get("sched.failed") == 1


def test_delete_clear_and_list():
    rt = build(new_disk())
    sched = rt.components["sched"]
    ids = sched.insert_many([(T0 + 10 + i, hit(rt, i)) for i in range(5)])
    assert send(rt, "sched.delete", ids[1]).stage is Stage.COMPLETED
    assert send(rt, "sched.delete", ids[1]).reason is ReasonCode.NOT_FOUND
    assert send(rt, "sched.list_entries", 1, 2).stage is Stage.COMPLETED
    listed = events_named(rt, "sched.entry_listed")
    assert [e.args[0] for e in listed] == [ids[2], ids[3]]
    assert listed[0].args[1] == "2025-03-20T00:00:12.000000Z" and listed[0].args[3] == "2"
    assert send(rt, "sched.clear").stage is Stage.COMPLETED
    assert events_named(rt, "sched.schedule_cleared")[0].args == (4,)
    rt.run(20.0)
    assert rt.components["probe"].hits == []


TABLE = """\
# imaging campaign
2025-03-20T00:00:02Z      probe.hit 1
2025-03-20T00:00:02.5Z    probe.hit 2   # half a second later
TAI:{tai!r}               probe.hit 0x3
"""


def test_bulk_table_from_the_store_and_dump_round_trip():
    rt = build(new_disk())
    store = rt.components["store"]
    store.write("tables/campaign.txt", seal(TABLE.format(tai=T0 + 4.25)),
                category=FileCategory.TABLE, priority=1)
    assert send(rt, "sched.load_table", "tables/campaign.txt").stage is Stage.COMPLETED
    assert events_named(rt, "sched.table_loaded")[0].args == ("tables/campaign.txt", 3)
    assert send(rt, "sched.dump", "tables/dump.txt").stage is Stage.COMPLETED
    dumped = store.read("tables/dump.txt").decode()
    assert dumped.count("probe.hit") == 3 and "2025-03-20T00:00:04.250000Z" in dumped
    assert send(rt, "sched.clear").stage is Stage.COMPLETED
    assert send(rt, "sched.load_table", "tables/dump.txt").stage is Stage.COMPLETED
    rt.run(5.0)
    assert [(tag, round(t, 6)) for tag, t in rt.components["probe"].hits] == [
        (1, 2.0), (2, 2.5), (3, 4.3)]


@pytest.mark.parametrize(("line", "reason"), [
    ("2025-03-20T00:00:02Z probe.nothing 1", "no command named 'probe.nothing'"),
    ("2025-03-20T00:00:02Z probe.hit", "takes 1 arguments"),
    ("2025-03-20T00:00:02Z probe.hit 1 2", "takes 1 arguments"),
    ("2025-03-20T00:00:02Z probe.hit -4", "outside"),
    ("2025-03-20T00:00:02Z probe.hit \"one\"", "U32 expected"),
    ("2025-03-20T25:00:02Z probe.hit 1", "time"),
    ("2025-03-20T23:59:60Z probe.hit 1", "leap second"),
    ("+5 probe.hit 1", "not ISO 8601"),
    ("TAI:nan probe.hit 1", "TAI:SECONDS"),
    ("2020-01-01T00:00:00Z probe.hit 1", "in the past"),
    ('2025-03-20T00:00:02Z probe.hit "1', "unterminated"),
])
def test_a_malformed_table_is_rejected_whole_with_the_line_and_reason(line, reason):
    rt = build(new_disk())
    store = rt.components["store"]
    text = "2025-03-20T00:00:01Z probe.hit 7\n" + line + "\n"
    store.write("t.txt", text.encode(), category=FileCategory.TABLE, priority=1)
    report = send(rt, "sched.load_table", "t.txt")
    assert report.stage is Stage.COMPLETION_FAILED
    rejected = events_named(rt, "sched.load_rejected")
    assert len(rejected) == 1 and reason in rejected[0].args[1], rejected[0].args
    if "past" not in reason:
        assert "t.txt:2" in rejected[0].args[1]
    assert len(rt.components["sched"].schedule) == 0  # all or none


def test_a_sealed_table_with_a_wrong_crc_is_rejected():
    rt = build(new_disk())
    sealed = bytearray(seal("2025-03-20T00:00:01Z probe.hit 7\n"))
    sealed[0:4] = b"2026"
    rt.components["store"].write("t.txt", bytes(sealed), category=FileCategory.TABLE,
                                 priority=1)
    assert send(rt, "sched.load_table", "t.txt").reason is ReasonCode.OUT_OF_RANGE
    assert "CRC-32C" in events_named(rt, "sched.load_rejected")[0].args[1]
    assert send(rt, "sched.load_table", "missing.txt").reason is ReasonCode.NOT_FOUND


def test_capacity_is_enforced():
    rt = build(new_disk(), sched={"capacity": 5})
    sched = rt.components["sched"]
    sched.insert_many([(T0 + 10 + i, hit(rt, i)) for i in range(4)])
    with pytest.raises(CommandError) as err:
        sched.insert_many([(T0 + 20, hit(rt, 1)), (T0 + 21, hit(rt, 2))])
    assert "schedule full" in err.value.detail
    assert len(sched.schedule) == 4


def test_schedule_survives_a_restart():
    disk = new_disk()
    rt = build(disk)
    ids = rt.components["sched"].insert_many([(T0 + 100 + i, hit(rt, i)) for i in range(3)])
    send(rt, "sched.delete", ids[0])
    rt.run(1.0)
    power_cycle(disk)  # everything acknowledged was synced
    again = build(disk, offset_s=50.0)
    sched = again.components["sched"]
    assert sorted(sched.schedule.entries) == ids[1:]
    assert events_named(again, "sched.restored")[0].args[0] == 2
    again.run(60.0)
    assert [(tag, round(t, 6)) for tag, t in again.components["probe"].hits] == [
        (1, 51.0), (2, 52.0)]


@pytest.mark.parametrize("policy", ["run", "skip"])
def test_entries_missed_during_a_reset_follow_the_late_policy(policy):
    disk = new_disk()
    rt = build(disk)
    rt.components["sched"].insert_many(
        [(T0 + 10, hit(rt, 1)), (T0 + 100, hit(rt, 2)), (T0 + 290, hit(rt, 3)),
         (T0 + 400, hit(rt, 4))])
    rt.run(5.0)
    # down from t=5 s to t=300 s: entries 1 (290 s late), 2 (200 s) and 3 (10 s) were missed
    again = build(disk, offset_s=300.0, sched={"late_policy": policy, "late_window_s": 250.0})
    again.run(200.0)
    hits = again.components["probe"].hits
    missed = events_named(again, "sched.missed_at_boot")[0].args
    skipped = [e.args[0] for e in events_named(again, "sched.entry_skipped")]
    if policy == "run":
        assert [tag for tag, _ in hits] == [2, 3, 4]
        assert hits[0][1] == hits[1][1] == 0.0  # at the first cycle, oldest first
        assert missed == (3, 2, "run", 1) and skipped == [1]
    else:
        assert [tag for tag, _ in hits] == [4]
        assert missed == (3, 0, "skip", 3) and skipped == [1, 2, 3]
    assert round(hits[-1][1], 6) == 100.0
    assert again.telemetry.get("sched.skipped") == len(skipped)
    # the skipped and run entries are gone for good
    third = build(disk, offset_s=600.0)
    assert len(third.components["sched"].schedule) == 0


def test_a_forward_time_step_past_the_window_skips_instead_of_running():
    source = DisciplinedTime(clock=None)  # set below, once the runtime has its clock
    rt = build(new_disk(), sched={"late_window_s": 30.0}, time_url="resource:sctime",
               resources={"sctime": source}, boot=False)
    source.clock = rt.clock
    rt.boot()
    assert rt.telemetry.get("sched.time_valid") is False
    rt.components["sched"].insert_many([(T0 + 5, hit(rt, 1)), (T0 + 100, hit(rt, 2)),
                                        (T0 + 200, hit(rt, 3))])
    rt.run(2.0)
    assert rt.components["probe"].hits == []  # no time, nothing runs
    assert rt.telemetry.get("sched.time_valid") is False
    source.set_coarse(T0 + 4.0, rt.clock.monotonic())
    rt.run(2.0)
    assert rt.telemetry.get("sched.time_valid") is True
    assert [tag for tag, _ in rt.components["probe"].hits] == [1]
    source._set_reference(rt.clock.monotonic(), 0, T0 + 150.0)  # a 145 s step forward
    rt.run(60.0)
    assert [tag for tag, _ in rt.components["probe"].hits] == [1, 3]
    assert [e.args[0] for e in events_named(rt, "sched.entry_skipped")] == [2]


def test_journal_compacts_and_the_compacted_schedule_reloads_identically():
    disk = new_disk()
    rt = build(disk)
    sched = rt.components["sched"]
    ids = []
    for batch in range(30):
        ids += sched.insert_many([(T0 + 1000 + batch * 100 + i, hit(rt, i)) for i in range(100)])
        for entry_id in ids[batch * 100: batch * 100 + 60]:
            sched.delete(entry_id)
    assert sched.journal.compactions >= 1
    assert sched.journal.journal_bytes < 8 * sched.journal.snapshot_bytes + 65536
    assert len(sched.schedule.heap) <= 2 * len(sched.schedule) + 64  # stale items bounded
    expected = {e.entry_id: (e.tai, e.command) for e in sched.schedule.entries.values()}
    power_cycle(disk)
    again = build(disk)
    got = {e.entry_id: (e.tai, e.command) for e in again.components["sched"].schedule.entries
           .values()}
    assert got == expected and len(got) == 30 * 40
    assert again.components["sched"].insert_many([(T0 + 99_999, hit(again, 1))]) == [
        max(ids) + 1]  # IDs are never reused


def test_power_loss_right_after_a_dispatch_never_runs_it_again():
    disk = new_disk()
    rt = build(disk)
    rt.components["sched"].insert_many([(T0 + 1.0, hit(rt, 1)), (T0 + 3.0, hit(rt, 2))])
    rt.run(1.1)
    assert [tag for tag, _ in rt.components["probe"].hits] == [1]
    power_cycle(disk)
    again = build(disk, offset_s=0.5, sched={"late_window_s": 1000.0})
    again.run(5.0)
    assert [tag for tag, _ in again.components["probe"].hits] == [2]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "add", "add", "delete", "run", "restart"]),
                          st.floats(0.0, 30.0), st.integers(0, 50)), max_size=40))
# An entry added for "now" after restarts: float sums here and in the scheduler differ by an ulp.
@example(ops=[("restart", 0.0, 0)] * 4 + [("run", 1.25, 0), ("add", 0.0, 0)])
def test_schedule_matches_a_model_through_inserts_deletes_runs_and_restarts(ops):
    """Every inserted, undeleted entry runs exactly once, within one cycle, in time order."""
    disk = new_disk()
    rt = build(disk)
    start = 0.0  # simulated time since EPOCH at the current runtime's clock zero
    model: dict[int, float] = {}
    due: dict[int, float] = {}
    ran: list[tuple[int, float]] = []
    tag_of: dict[int, int] = {}
    for op, offset, pick in ops:
        sched = rt.components["sched"]
        now = start + rt.clock.monotonic()
        if op == "add":
            tag = len(tag_of)
            (entry_id,) = sched.insert_many([(T0 + now + offset, hit(rt, tag))])
            tag_of[tag] = entry_id
            model[entry_id] = T0 + now + offset
        elif op == "delete" and model:
            entry_id = sorted(model)[pick % len(model)]
            sched.delete(entry_id)
            del model[entry_id]
        elif op == "run":
            before = len(rt.components["probe"].hits)
            rt.run(round(offset, 1))
            for tag, t in rt.components["probe"].hits[before:]:
                ran.append((tag_of[tag], T0 + start + t))
                due[tag_of[tag]] = model.pop(tag_of[tag])
        elif op == "restart":
            rt.run(0.1)
            for tag, t in rt.components["probe"].hits:
                if tag_of[tag] in model:
                    ran.append((tag_of[tag], T0 + start + t))
                    due[tag_of[tag]] = model.pop(tag_of[tag])
            start = round(start + rt.clock.monotonic(), 6)  # epoch_url has microseconds
            rt = build(disk, offset_s=start, sched={"late_window_s": 1e9})
    assert len({i for i, _ in ran}) == len(ran)  # nothing ran twice
    for entry_id, t in ran:
        assert -1e-6 <= t - due[entry_id] < PERIOD + 1e-6, (entry_id, t - T0, due[entry_id] - T0)
    assert [i for i, _ in ran] == sorted(due, key=lambda i: (due[i], i))  # in time order
    assert sorted(rt.components["sched"].schedule.entries) == sorted(model)


def test_schedule_heap_keeps_order_and_bounds_stale_items():
    schedule = Schedule(capacity=100_000)
    from flight.svc.scheduler import Entry

    for i in range(1000):
        schedule.add(Entry(i, float((i * 7919) % 1000), Command(1), b""))
    for i in range(0, 1000, 2):
        schedule.remove(i)
    assert len(schedule.heap) <= 2 * len(schedule) + 64
    due = schedule.pop_due(499.0, 10_000)
    assert [e.tai for e in due] == sorted(e.tai for e in due)
    assert all(e.entry_id % 2 for e in due) and all(e.tai <= 499.0 for e in due)
    rest = [heapq.heappop(schedule.heap) for _ in range(len(schedule.heap))]
    assert all(t > 499.0 for t, i in rest if i in schedule.entries)


def test_the_scheduler_reports_missing_wiring_at_build_time():
    from flight.runtime.errors import ConfigError

    with pytest.raises(ConfigError, match="dispatcher"):
        build(new_disk(), sched={"dispatcher": "nobody"}, boot=False).prepare()
    with pytest.raises(ConfigError, match="late_policy"):
        build(new_disk(), sched={"late_policy": "maybe"}, boot=False)
    assert "sched.restored" in event_names(build(new_disk()))


# --- power loss -------------------------------------------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORDS = ("inserting", "acked", "dispatching", "ran", "deleting", "deleted")


def _kill_scheduling_child(directory, start_s, run, rng):
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.svc.sched_child", str(directory), repr(start_s), str(run)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout.readline() == "ready\n"
    time.sleep(rng.uniform(0.0, 0.06))
    child.send_signal(signal.SIGKILL)
    rest = child.stdout.read()
    child.wait()
    return rest.splitlines()


def schedule_crash_campaign(directory, kills, seed):
    """Kill a scheduling process at random instants; after each restart check that nothing
    acknowledged was lost and nothing ran twice (at most once)."""
    from .sched_child import build as build_child

    rng = random.Random(seed)
    seen = {w: set() for w in WORDS}
    ran = collections.Counter()
    lost_allowed: set[int] = set()
    start = 0.0
    interrupted = 0
    for run in range(1, kills + 1):
        lines = _kill_scheduling_child(directory, start, run, rng)
        last = ""
        batch: set[int] = set()  # recorded as run, not run yet
        for line in lines:
            word, *rest = line.split()
            if word == "now":
                start = float(rest[0])
                continue
            tags = [int(t) for t in rest]
            seen[word].update(tags)
            if word == "ran":
                ran.update(tags)
                batch.difference_update(tags)
            elif word == "dispatching":
                batch = set(tags)
            last = line
        lost_allowed |= batch  # killed between the at-most-once point and running them
        if last and not last.startswith(("acked", "deleted", "ran")):
            interrupted += 1
        assert all(count == 1 for count in ran.values()), "an entry ran twice"
        start += rng.uniform(0.0, 0.3)  # the reset took a moment of spacecraft time
    rt = build_child(str(directory), start)
    pending = {e.command.args[0] for e in rt.components["sched"].schedule.entries.values()}
    assert not pending & set(ran), "an entry that ran is still scheduled"
    assert set(ran) <= seen["inserting"]
    assert not set(ran) & seen["deleted"], "a deleted entry ran"
    in_doubt = (seen["deleting"] - seen["deleted"]) | (seen["inserting"] - seen["acked"])
    lost = seen["acked"] - seen["deleted"] - set(ran) - pending - in_doubt
    assert lost <= lost_allowed - set(ran), f"acknowledged entries lost: {sorted(lost)[:10]}"
    return interrupted


def test_killed_while_scheduling_keeps_every_entry_and_runs_none_twice(tmp_path):
    interrupted = schedule_crash_campaign(tmp_path, kills=30, seed=1)
    assert interrupted >= 10  # most kills landed inside an operation


@pytest.mark.soak
def test_killed_while_scheduling_soak(tmp_path):
    schedule_crash_campaign(tmp_path, kills=500, seed=2)


class RecordingScheduler(Scheduler):
    """The scheduler, noting which entries it is about to record as run (at most once)."""

    batches: list[set[int]]

    def _remove_durably(self, entries):
        self.batches.append({e.command.args[0] for e in entries})
        return super()._remove_durably(entries)


def _cut_runtime(url, start, batches):
    rt = Runtime("cut", clock=SimClock(), tick_hz=10)
    rt.add(CommandDispatcher("cmd", 0x0400), config={"log_commands": False})
    rt.add(Probe("probe", 0x2000))
    sched = RecordingScheduler("sched", 0x0A00)
    sched.batches = batches
    rt.add(sched, hardware={"storage": url, "time": epoch_url(start)},
           config={"late_window_s": 1e9, "max_per_cycle": 3})
    rt.add_group(RateGroup("rg", 0x0300, divisor=1), ["sched"])
    rt.boot()
    sched.journal.min_compact_bytes = 1024
    return rt


def power_cut_campaign(monkeypatch, cuts, seed):
    """Cut the power at random storage operations (unsynced data lost, appends torn), reboot,
    go on; in the end nothing acknowledged is lost and nothing ran twice."""
    import flight.svc.scheduler as module

    rng = random.Random(seed)
    disk = CuttingDisk(random.Random(seed + 1))
    url = on_disk(monkeypatch, disk, module)
    seen = {w: set() for w in ("inserting", "acked", "deleting", "deleted")}
    ran = collections.Counter()
    lost_allowed: set[int] = set()
    start = 0.0
    tag = 0
    for _ in range(cuts):
        disk.budget = disk.operations + rng.randrange(1, 120)
        batches: list[set[int]] = []
        rt = None
        try:
            rt = _cut_runtime(url, start, batches)
            sched = rt.components["sched"]
            while True:
                now = T0 + start + rt.clock.monotonic()
                tags = list(range(tag, tag + rng.randrange(1, 4)))
                tag += len(tags)
                seen["inserting"].update(tags)
                sched.insert_many([(now + rng.uniform(0, 0.6), hit(rt, t)) for t in tags])
                seen["acked"].update(tags)
                if rng.random() < 0.3 and sched.schedule.entries:
                    entry = rng.choice(sorted(sched.schedule.entries.values()))
                    seen["deleting"].add(entry.command.args[0])
                    sched.delete(entry.entry_id)
                    seen["deleted"].add(entry.command.args[0])
                rt.run(0.1)
        except PowerCut:
            pass
        if rt is not None:
            hits = [t for t, _ in rt.components["probe"].hits]
            ran.update(hits)
            if batches:
                lost_allowed |= batches[-1] - set(hits)
            start += rt.clock.monotonic() + rng.uniform(0, 0.3)
        assert all(count == 1 for count in ran.values()), "an entry ran twice"
    rt = _cut_runtime(url, start, [])
    pending = {e.command.args[0] for e in rt.components["sched"].schedule.entries.values()}
    assert not pending & set(ran)
    assert not set(ran) & seen["deleted"]
    in_doubt = (seen["deleting"] - seen["deleted"]) | (seen["inserting"] - seen["acked"])
    lost = seen["acked"] - seen["deleted"] - set(ran) - pending - in_doubt
    assert lost <= lost_allowed, f"acknowledged entries lost: {sorted(lost - lost_allowed)}"
    assert rt.components["sched"].journal.generation > 0  # crashes inside compaction too
    return len(ran), len(pending)


def test_power_cut_at_random_storage_operations_loses_nothing_and_runs_nothing_twice(
        monkeypatch):
    ran, pending = power_cut_campaign(monkeypatch, cuts=150, seed=3)
    assert ran > 200


@pytest.mark.soak
def test_power_cut_soak(monkeypatch):
    power_cut_campaign(monkeypatch, cuts=5000, seed=4)
