"""The timing harness: repetitions follow the budget and alternatives are interleaved in blocks."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import pytest

from benchmarks.timing import ROUNDS, Budget, Timing, interleaved


def recorder(log: list[str], name: str, sleep_s: float) -> Callable[[], None]:
    def call() -> None:
        log.append(name)
        if sleep_s:
            time.sleep(sleep_s)

    return call


def test_slow_call_gets_fewer_reps_spread_over_the_run() -> None:
    log: list[str] = []
    budget = Budget(seconds=0.05, warmup=2, min_reps=3, max_reps=200)
    timings = interleaved(
        {"fast": recorder(log, "fast", 0), "slow": recorder(log, "slow", 0.005)}, budget
    )
    assert timings["fast"].reps == 200
    assert 3 <= timings["slow"].reps <= 12
    measured = log[4:]  # after two warm-up rounds of both
    slow_at = [i for i, name in enumerate(measured) if name == "slow"]
    assert slow_at[0] < len(measured) / 2 < slow_at[-1]
    assert timings["slow"].median_s > timings["fast"].median_s


def test_calls_run_in_blocks_of_one_alternative() -> None:
    """At most ROUNDS switches from one alternative to the other: each runs warm in a block."""
    log: list[str] = []
    budget = Budget(seconds=0.05, warmup=1, min_reps=1000, max_reps=1000)
    interleaved({"a": recorder(log, "a", 0), "b": recorder(log, "b", 0)}, budget)
    measured = log[2:]  # after one warm-up round of both
    assert measured.count("a") == measured.count("b") == 1000
    switches = sum(1 for first, second in itertools.pairwise(measured) if first != second)
    assert ROUNDS <= switches < 2 * ROUNDS


@pytest.mark.parametrize(
    ("call_ns", "reps"),
    [
        pytest.param(1e3, 100, id="cheap call capped at max"),
        pytest.param(1e6, 10, id="fills the budget"),
        pytest.param(1e9, 2, id="costly call floored at min"),
        pytest.param(0.0, 100, id="zero-length warm-up"),
    ],
)
def test_reps_for_budget(call_ns: float, reps: int) -> None:
    assert Budget(seconds=0.01, min_reps=2, max_reps=100).reps_for(call_ns) == reps


def test_timing_statistics() -> None:
    timing = Timing(tuple(range(1_000, 101_000, 1_000)))
    assert timing.reps == 100
    assert timing.median_s == pytest.approx(50.5e-6)
    assert 99e-6 <= timing.p99_s <= 100e-6
