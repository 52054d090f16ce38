"""The two model sets: trained on CICIDS2017 alone, and on CICIDS2017 plus labelled recordings;
each converted through `ids-inference convert` and its parity gate, checked on its own data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ModelSet:
    name: str
    artifacts: Path
    pickles: Path
    report: dict[str, Any]  # training_report.json
    conversion: str  # convert's table: the parity gate's figures
    seconds: float


def _run(arguments: list[str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ids_inference", *arguments], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"ids-inference {' '.join(arguments[:1])} failed (exit {result.returncode}):\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return result.stdout


def train_and_convert(
    name: str, data: list[Path], folder: Path, also_check: list[Path] | None = None
) -> ModelSet:
    """Train the three binary models on `data` and convert them, parity-gated on `data` and
    `also_check` (the rows they will be scored on)."""
    began = time.monotonic()
    pickles, artifacts = folder / f"models-{name}", folder / f"artifacts-{name}"
    shutil.rmtree(pickles, ignore_errors=True)
    shutil.rmtree(artifacts, ignore_errors=True)
    paths = [str(path) for path in data]
    print(f"detection: training the {name} models on {len(paths)} inputs", file=sys.stderr)
    _run(["train", "--data", *paths, "--out", str(pickles)])
    check = paths + [str(path) for path in also_check or []]
    table = _run(
        ["convert", "--models", str(pickles), "--out", str(artifacts), "--check-data", *check]
    )
    report = json.loads((pickles / "training_report.json").read_text())
    table = table.strip().replace(f"{ROOT}/", "")  # paths in the checkout, as the report shows them
    return ModelSet(name, artifacts, pickles, report, table, time.monotonic() - began)
