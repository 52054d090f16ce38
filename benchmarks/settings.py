"""What one benchmark run does and for how long: the full run and `--quick`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.http_load import Load
from benchmarks.scaling import FOREST_SIZES, SCALING_BATCHES
from benchmarks.timing import Budget

PARTS = ("compute", "http", "scaling", "footprint")


@dataclass(frozen=True)
class Settings:
    quick: bool
    parts: tuple[str, ...]
    data_dir: Path | None
    synthetic_rows: int
    out_dir: Path
    work_dir: Path
    threads: int
    compute_budget: Budget
    scaling_budget: Budget
    load: Load
    scaling_batches: tuple[int, ...]
    forest_sizes: tuple[int, ...]
    forest_batches: tuple[int, ...]
    forest_train_rows: int
    footprint_starts: int


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
    if quick:
        return Settings(
            quick=True,
            parts=parts,
            data_dir=data_dir,
            synthetic_rows=20_000,
            out_dir=out_dir,
            work_dir=work_dir,
            threads=threads,
            compute_budget=Budget(seconds=0.25, warmup=2, min_reps=3, max_reps=1000),
            scaling_budget=Budget(seconds=0.25, warmup=1, min_reps=2, max_reps=500),
            load=Load(duration_s=3, warmup_s=1, max_duration_s=15),
            scaling_batches=SCALING_BATCHES[:5],
            forest_sizes=(10, 30, 100),
            forest_batches=(1, 1_000),
            forest_train_rows=5_000,
            footprint_starts=1,
        )
    return Settings(
        quick=False,
        parts=parts,
        data_dir=data_dir,
        synthetic_rows=100_000,
        out_dir=out_dir,
        work_dir=work_dir,
        threads=threads,
        compute_budget=Budget(seconds=2.0, warmup=5, min_reps=5, max_reps=5000),
        scaling_budget=Budget(seconds=1.0, warmup=2, min_reps=3, max_reps=2000),
        load=Load(duration_s=15, warmup_s=3, max_duration_s=120),
        scaling_batches=SCALING_BATCHES,
        forest_sizes=FOREST_SIZES,
        forest_batches=(1, 10_000),
        forest_train_rows=50_000,
        footprint_starts=5,
    )
