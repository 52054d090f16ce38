"""Models to measure: the pickle set trained by `models`, its ONNX repository made by `convert`.

Both steps run through the rooms' own command lines, exactly as a user would run them, so the
benchmark measures what the product ships.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from benchmarks import shared
from benchmarks.predictors import Rows
from models.pickle_set import MODEL_FILES

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ROW_SEED = 7  # not the training generator's seed: benchmark rows are fresh synthetic flows


class PrepareError(RuntimeError):
    """Training or conversion failed; the message carries the tool's own output."""


@dataclass(frozen=True)
class Prepared:
    pickles_dir: Path
    artifacts_dir: Path
    rows: Rows
    labels: NDArray[np.str_]
    data: str


def find_data(explicit: Path | None) -> Path | None:
    """`--data`, else `CICIDS2017_DIR`, else `../shared/data/cicids2017` when it has CSV files."""
    if explicit is not None:
        if not explicit.is_dir():
            raise PrepareError(f"--data {explicit}: not a folder")
        return explicit
    folder = shared.cicids2017_dir()
    return folder if folder.is_dir() and any(folder.glob("*.csv")) else None


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()[-30:]
        raise PrepareError(f"{' '.join(command)} failed ({done.returncode}):\n" + "\n".join(output))


def convert(pickles_dir: Path, artifacts_dir: Path) -> Path:
    """Convert a pickle set with `python -m convert`; returns the model repository."""
    _run(
        [sys.executable, "-m", "convert", "--models", str(pickles_dir), "--out", str(artifacts_dir)]
    )
    return artifacts_dir


def _cleaned(features: NDArray[np.float64]) -> Rows:
    # The training's cleaning, which the ONNX graph also applies: ±inf and NaN become 0.
    return np.ascontiguousarray(np.where(np.isfinite(features), features, 0.0), dtype=np.float64)


def benchmark_rows(data_dir: Path | None, synthetic_rows: int) -> tuple[Rows, NDArray[np.str_]]:
    """The flows every path is timed on, shuffled so that any slice mixes files and classes."""
    if data_dir is not None:
        from models.dataset import load_flows

        flows = load_flows([data_dir])
    else:
        from models.synthetic import generate_flows

        flows = generate_flows(synthetic_rows, seed=ROW_SEED)
    order = np.random.default_rng(ROW_SEED).permutation(len(flows.features))
    return _cleaned(flows.features[order]), np.asarray(flows.labels)[order].astype(str)


def prepare(work_dir: Path, data_dir: Path | None, synthetic_rows: int, *, reuse: bool) -> Prepared:
    """Train and convert into `work_dir` (or reuse what is there), and load benchmark rows."""
    pickles_dir, artifacts_dir = work_dir / "models", work_dir / "artifacts"
    trained = all((pickles_dir / f).is_file() for f in MODEL_FILES.values())
    if not (reuse and trained):
        source = ["--data", str(data_dir)] if data_dir else ["--synthetic", str(synthetic_rows)]
        _run([sys.executable, "-m", "models.train", *source, "--out", str(pickles_dir)])
    if not (reuse and trained and any(artifacts_dir.glob("*/*/model.onnx"))):
        convert(pickles_dir, artifacts_dir)
    rows, labels = benchmark_rows(data_dir, synthetic_rows)
    data = (
        f"CICIDS2017 excerpts in {data_dir} ({len(rows):,} flows)"
        if data_dir
        else f"synthetic flows (`models.synthetic`, {synthetic_rows:,} for training, "
        f"{len(rows):,} fresh ones for timing)"
    )
    return Prepared(pickles_dir, artifacts_dir, rows, labels, data)
