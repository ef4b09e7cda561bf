"""The watchdog: the simulated timer on the clock, and the Linux device's protocol and errors."""

from __future__ import annotations

import errno

import pytest

from hal.clock import SimClock
from hal.watchdog import LinuxWatchdog, SimWatchdog, WatchdogError


def make(timeout_s: float = 2.0, **kwargs: bool) -> tuple[SimClock, SimWatchdog, list[float]]:
    clock = SimClock(100.0)
    resets: list[float] = []
    return clock, SimWatchdog(clock, timeout_s, resets.append, **kwargs), resets


def test_fed_in_time_never_resets() -> None:
    clock, dog, resets = make()
    dog.start()
    for _ in range(100):
        clock.advance(1.9)
        dog.feed()
    assert resets == [] and dog.running


def test_starved_watchdog_resets_at_the_exact_expiry() -> None:
    clock, dog, resets = make()
    dog.start()
    clock.advance(1.0)
    dog.feed()
    clock.advance(5.0)
    assert dog.poll() is True
    assert resets == [103.0] and dog.last_reset_at == 103.0 and dog.resets == 1
    assert not dog.running
    with pytest.raises(WatchdogError, match="not running"):
        dog.feed()  # a late feed cannot undo the reset


def test_time_left_and_expires_at_for_a_scheduler() -> None:
    clock, dog, resets = make(timeout_s=5.0)
    dog.start()
    clock.advance(2.0)
    assert dog.time_left() == pytest.approx(3.0)
    assert dog.expires_at is not None
    clock.sleep_until(dog.expires_at)
    assert dog.time_left() is None and resets == [105.0]


def test_magic_close_disarms_unless_nowayout() -> None:
    clock, dog, resets = make()
    dog.start()
    assert dog.stop() is True
    clock.advance(10.0)
    assert not dog.poll() and resets == []
    clock, dog, resets = make(nowayout=True)
    dog.start()
    assert dog.stop() is False
    clock.advance(10.0)
    assert dog.poll() and resets == [102.0]


def test_start_twice_and_bad_timeout() -> None:
    clock, dog, resets = make()
    dog.start()
    with pytest.raises(WatchdogError, match="already running"):
        dog.start()
    with pytest.raises(ValueError):
        SimWatchdog(clock, 0, resets.append)
    with pytest.raises(ValueError):
        LinuxWatchdog(timeout_s=0)


def test_linux_watchdog_absent_device_is_a_clear_error() -> None:
    dog = LinuxWatchdog("/dev/watchdog-not-here")
    with pytest.raises(WatchdogError) as err:
        dog.start()
    assert err.value.errno == errno.ENOENT and "watchdog driver" in str(err.value)
    assert not dog.running


def test_linux_watchdog_write_protocol_on_a_plain_file(tmp_path) -> None:
    device = tmp_path / "watchdog"
    device.touch()
    dog = LinuxWatchdog(str(device), timeout_s=30)
    with pytest.raises(WatchdogError) as err:
        dog.start()  # a file is no watchdog: the timeout ioctl is refused ...
    assert err.value.errno == errno.ENOTTY and "set timeout 30 s" in str(err.value)
    assert dog.running  # ... but the device stays open and fed, as a real timer would need
    dog.feed()
    assert dog.stop() is False  # no magic-close support was reported
    assert device.read_bytes() == b"\0\0V"
    assert not dog.running
    with pytest.raises(WatchdogError):
        dog.feed()
