"""Scaling: cost against batch size, and against the size of the random forest.

The forest sweep retrains the pickle set's random forest with the same hyperparameters but
`n_estimators` trees of unlimited depth, on the same scaled training rows, converts each one
to ONNX and times the same peers as the compute benchmark at a single row and a large batch.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone

from benchmarks.compute import Measurement, compare, take_rows
from benchmarks.predictors import Rows, latest_onnx, predictors_for
from benchmarks.timing import Budget
from models.pickle_set import MODEL_FILES, PickleSet, load_pickle_set

SCALING_BATCHES = (1, 10, 100, 1_000, 10_000, 100_000)
FOREST_SIZES = (10, 30, 100, 300, 1000)
FOREST_MODEL = "random_forest"

# (pickle set folder, model repository to write) -> the repository, every model converted
Converter = Callable[[Path, Path], Path]


@dataclass(frozen=True)
class ForestMeasurement:
    trees: int
    measurement: Measurement


def encoded_targets(pickles: PickleSet, labels: NDArray[np.str_]) -> NDArray[np.int_]:
    """Training targets for the pickle set's label encoder, binary or per class.

    Labels the encoder knows are encoded as they are; with a BENIGN/ATTACK encoder, every
    other class is an attack, as in the binary task the set was trained for.
    """
    classes = set(pickles.class_labels)
    if not set(labels.tolist()) <= classes and classes == {"ATTACK", "BENIGN"}:
        labels = np.where(labels == "BENIGN", "BENIGN", "ATTACK")
    encoded: NDArray[np.int_] = pickles.label_encoder.transform(labels)
    return encoded


def forest_set(pickles: PickleSet, forest: object, folder: Path) -> Path:
    """A pickle set folder equal to `pickles` but for its random forest."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in pickles.folder.glob("*.pkl"):
        shutil.copyfile(source, folder / source.name)
    with (folder / MODEL_FILES[FOREST_MODEL]).open("wb") as out:
        pickle.dump(forest, out)
    return folder


def run_forest_scaling(
    pickles: PickleSet,
    train_rows: Rows,
    train_labels: NDArray[np.str_],
    rows: Rows,
    convert: Converter,
    work_dir: Path,
    *,
    sizes: Sequence[int],
    batches: Sequence[int],
    budget: Budget,
    threads: int,
) -> list[ForestMeasurement]:
    """Train, convert and time one forest per size; the pickled forest's other settings stay."""
    scaled = pickles.scaler.transform(train_rows)
    targets = encoded_targets(pickles, train_labels)
    results: list[ForestMeasurement] = []
    for trees in sizes:
        forest = clone(pickles.models[FOREST_MODEL]).set_params(n_estimators=trees, max_depth=None)
        forest.fit(scaled, targets)
        folder = forest_set(pickles, forest, work_dir / f"forest-{trees}" / "pickles")
        artifacts = convert(folder, work_dir / f"forest-{trees}" / "artifacts")
        sized = load_pickle_set(folder)
        predictors = predictors_for(
            sized, FOREST_MODEL, latest_onnx(artifacts, FOREST_MODEL), threads
        )
        for batch in batches:
            for measurement in compare(FOREST_MODEL, predictors, take_rows(rows, batch), budget):
                results.append(ForestMeasurement(trees, measurement))
    return results
