"""Timing alternatives side by side: warm-up, adaptive repetitions, interleaved blocks.

Every alternative of one comparison is timed in the same loop, in rounds: each round runs a block
of every alternative's calls back to back. Drift on a shared machine (another job starting, CPU
frequency changing) hits them all alike, so their ratio stays honest even when the absolute times
move; and within a block an alternative runs warm, as it would in a service of its own.
Interleaving single calls instead would time each call right after another alternative's, with
its caches filled by that one: measured here, a 10.6 us onnxruntime call took 31.7 us straight
after a pickled XGBoost `predict_proba`.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Budget:
    """How long to time each alternative: warm-up calls, then about `seconds` of calls."""

    seconds: float
    warmup: int = 3
    min_reps: int = 5
    max_reps: int = 2000

    def reps_for(self, call_ns: float) -> int:
        """Repetitions filling the budget for a call of `call_ns`, clamped to [min, max]."""
        return int(min(max(self.seconds * 1e9 / max(call_ns, 1.0), self.min_reps), self.max_reps))


@dataclass(frozen=True)
class Timing:
    """Per-call wall times of one alternative, in nanoseconds."""

    samples_ns: tuple[int, ...]

    @property
    def reps(self) -> int:
        return len(self.samples_ns)

    @property
    def median_s(self) -> float:
        return float(np.median(self.samples_ns)) / 1e9

    @property
    def p99_s(self) -> float:
        return float(np.percentile(self.samples_ns, 99)) / 1e9


def _time_call(call: Callable[[], object]) -> int:
    start = time.perf_counter_ns()
    call()
    return time.perf_counter_ns() - start


ROUNDS = 50  # blocks per alternative: drift is shared at this grain


def interleaved(calls: Mapping[str, Callable[[], object]], budget: Budget) -> dict[str, Timing]:
    """Time every call: warm it up, size its repetitions to the budget, interleave the runs.

    A call's repetitions are `budget.seconds` over its warm-up median, clamped to
    [min_reps, max_reps]; a slow call makes fewer calls than a fast one, but each alternative's
    calls are spread evenly over the same rounds (at most `ROUNDS`), a block of them back to back
    per round. The garbage collector is off while timing (as `timeit` does), so one
    alternative's garbage is not collected during another's call.
    """
    warm: dict[str, list[int]] = {name: [] for name in calls}
    for _ in range(max(budget.warmup, 1)):
        for name, call in calls.items():
            warm[name].append(_time_call(call))
    reps = {name: budget.reps_for(float(np.median(times))) for name, times in warm.items()}
    rounds = min(max(reps.values()), ROUNDS)
    samples: dict[str, list[int]] = {name: [] for name in calls}
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for round_index in range(rounds):
            for name, call in calls.items():
                due = (round_index + 1) * reps[name] // rounds
                while len(samples[name]) < due:
                    samples[name].append(_time_call(call))
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: Timing(tuple(times)) for name, times in samples.items()}
