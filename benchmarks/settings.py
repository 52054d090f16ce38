"""What one benchmark run does and for how long: the full run and `--quick`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.http_load import Load
from benchmarks.scaling import FOREST_SIZES, SCALING_BATCHES
from benchmarks.timing import Budget

PARTS = ("compute", "http", "scaling", "footprint")


@dataclass(frozen=True)
class Settings:
    quick: bool
    parts: tuple[str, ...]
    data_dir: Path | None
    out_dir: Path
    work_dir: Path
    threads: int
    synthetic_rows: int
    compute_budget: Budget
    scaling_budget: Budget
    load: Load
    scaling_batches: tuple[int, ...]
    forest_sizes: tuple[int, ...]
    forest_batches: tuple[int, ...]
    forest_train_rows: int
    footprint_starts: int


# setting -> (value with --quick, value in the full run)
SIZES: dict[str, tuple[Any, Any]] = {
    "synthetic_rows": (20_000, 100_000),
    "compute_budget": (Budget(0.25, warmup=2, min_reps=3, max_reps=1000), Budget(2.0, 5, 5, 5000)),
    "scaling_budget": (Budget(0.25, warmup=1, min_reps=2, max_reps=500), Budget(1.0, 2, 3, 2000)),
    "load": (Load(duration_s=3, warmup_s=1, max_duration_s=15), Load(15, 3, 120)),
    "scaling_batches": (SCALING_BATCHES[:5], SCALING_BATCHES),
    "forest_sizes": ((10, 30, 100), FOREST_SIZES),
    "forest_batches": ((1, 1_000), (1, 10_000)),
    "forest_train_rows": (5_000, 50_000),
    "footprint_starts": (1, 5),
}


def make_settings(
    *,
    quick: bool,
    parts: tuple[str, ...],
    data_dir: Path | None,
    out_dir: Path,
    work_dir: Path,
    threads: int,
) -> Settings:
    """The full run, or a `--quick` one that keeps every part but shortens each."""
    sizes = {name: values[0 if quick else 1] for name, values in SIZES.items()}
    return Settings(
        quick, parts, data_dir, out_dir=out_dir, work_dir=work_dir, threads=threads, **sizes
    )
