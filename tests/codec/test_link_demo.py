"""`make demo`'s main function, on a small image: bit-exact, deterministic, and able to fail."""

from __future__ import annotations

import re

import pytest

from flight.codec import demo


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = demo.main(list(argv))
    return status, re.sub(r" *\d+\.\d MB/s", " MB/s", capsys.readouterr().out)


def test_demo_round_trip_is_bit_exact_and_deterministic(capsys) -> None:
    status, report = _run(capsys, "--size", "48", "--seed", "7", "--max-chunk", "300")
    assert status == 0
    assert "result           bit-exact" in report
    assert re.search(r"ratio \d+\.\d\d", report)
    corrected = int(re.search(r"(\d+) symbols corrected", report).group(1))
    errors = int(re.search(r"(\d+) bit errors", report).group(1))
    assert 0 < corrected <= errors
    assert "0 CADUs dropped" in report
    assert _run(capsys, "--size", "48", "--seed", "7", "--max-chunk", "300") == (status, report)


def test_demo_reports_a_channel_it_cannot_survive(capsys) -> None:
    status, report = _run(capsys, "--size", "32", "--ber", "0.02")
    assert status == 1
    assert "FAILED" in report


def test_demo_image_has_structure_and_noise() -> None:
    import random

    image = demo.synthetic_image(64, random.Random(1))
    assert len(image) == 64 * 64
    assert len(set(image)) > 500  # noise: many distinct values
    assert max(image) > 2 * min(image)  # structure: stars well above the background
