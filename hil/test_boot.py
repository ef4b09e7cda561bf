"""Boot and first telemetry."""

from hil.bench import Bench


def test_board_identifies_and_reports_housekeeping(bench: Bench, ground, dictionary):
    assert ground.reported_dictionary_id == dictionary.dictionary_id
    mark = ground.mark()
    first = ground.await_telemetry("executive.uptime_s", timeout=30, start=mark)
    later = ground.await_telemetry("executive.uptime_s", lambda v: v > first.value,
                                   timeout=30, start=mark)
    assert later.time > first.time
    assert ground.latest["health.boot_count"].value >= 1
