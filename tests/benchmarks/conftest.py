"""Benchmarks compare us with a named peer in the same run and report the ratio.

Each benchmark calls the `compare` fixture with our callable and the peer's. Both are timed here,
interleaved round by round so that machine noise hits them alike; the ratio is
peer time / our time (above 1: we are faster). pytest-benchmark then times ours once more for its
own table and JSON, with the peer, the ratio and the required minimum in `extra_info`.

Under `--benchmark-disable` (as in `make test`) each side runs once, as a smoke test, and no ratio
is asserted; `make bench` measures and asserts the minimum ratios the issues ask for.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Comparison:
    name: str
    peer: str
    ours_s: float
    peer_s: float
    min_ratio: float

    @property
    def ratio(self) -> float:
        return self.peer_s / self.ours_s


_RESULTS: list[Comparison] = []


def _loops_for(fn: Callable[[], object], target_s: float) -> int:
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        if time.perf_counter() - start >= target_s or loops >= 1 << 20:
            return loops
        loops *= 2


def _time_per_call(fn: Callable[[], object], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - start) / loops


@pytest.fixture
def compare(benchmark, request):
    """compare(ours, peer, peer_name=..., min_ratio=...) -> Comparison (None when disabled)."""

    def run(
        ours: Callable[[], object],
        peer: Callable[[], object],
        *,
        peer_name: str,
        min_ratio: float,
        rounds: int = 7,
        round_s: float = 0.05,
    ) -> Comparison | None:
        if benchmark.disabled:
            peer()
            benchmark(ours)
            return None
        ours_loops, peer_loops = _loops_for(ours, round_s), _loops_for(peer, round_s)
        ours_t, peer_t = [], []
        for _ in range(rounds):
            ours_t.append(_time_per_call(ours, ours_loops))
            peer_t.append(_time_per_call(peer, peer_loops))
        result = Comparison(
            name=request.node.name,
            peer=peer_name,
            ours_s=statistics.median(ours_t),
            peer_s=statistics.median(peer_t),
            min_ratio=min_ratio,
        )
        _RESULTS.append(result)
        benchmark.extra_info.update(
            peer=peer_name, peer_median_s=result.peer_s, ours_median_s=result.ours_s,
            ratio=round(result.ratio, 3), min_ratio=min_ratio,
        )
        benchmark(ours)
        assert result.ratio >= min_ratio, (
            f"{result.name}: {result.ratio:.2f}x {peer_name}, required at least {min_ratio}x"
        )
        return result

    return run


def pytest_terminal_summary(terminalreporter) -> None:
    if not _RESULTS:
        return
    terminalreporter.section("ratios against peers (peer time / our time)")
    for r in _RESULTS:
        verdict = "ok" if r.ratio >= r.min_ratio else "BELOW"
        terminalreporter.write_line(
            f"{r.name:<48} {r.ratio:>9.2f}x {r.peer:<40} (min {r.min_ratio}x) {verdict}"
        )
