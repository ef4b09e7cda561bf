"""Boot and first telemetry: the board identifies itself with the dictionary the ground holds,
housekeeping flows with advancing time stamps, and COP-1 runs on its CLCW."""

from hil.ops import HK_TIMEOUT_S


def test_board_identifies_and_reports_housekeeping(ground, dictionary):
    assert ground.reported_dictionary_id == dictionary.dictionary_id
    clcw = ground.link.clcw
    assert ground.link.ready and clcw is not None and not clcw.lockout  # COP-1 on its CLCW
    first = ground.await_telemetry("power.bus_volts", timeout=HK_TIMEOUT_S, start=ground.mark())
    later = ground.await_telemetry("power.bus_volts", timeout=HK_TIMEOUT_S, start=ground.mark())
    assert later.time > first.time and 6.0 < later.value < 8.5
    assert ground.latest["health.boot_count"].value >= 1
    assert ground.decode_errors == {}  # everything received decoded with this dictionary
