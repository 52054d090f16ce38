"""Train the existing service's pickle set from CICIDS2017 CSV files or synthetic flows.

    python -m models.train --data ../shared/data/cicids2017 --out models
    python -m models.train --synthetic 50000 --task multiclass

Writes the six pickles the service loads (see `models.pickle_set`) and `training_report.json`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder, StandardScaler

from models.csv_layout import AmbiguousColumnsError, MissingColumnsError
from models.dataset import (
    CsvFormatError,
    Flows,
    clean_flows_counted,
    label_counts,
    load_flows,
)
from models.estimators import build_models, fit_with_progress, hyperparameters, model_size
from models.evaluation import DEFINITIONS, evaluate
from models.features import FEATURE_NAMES
from models.labels import UnknownLabelError, binary_label
from models.overlap import drop_cross_file_repeats
from models.pickle_set import (
    FEATURE_NAMES_FILE,
    LABEL_ENCODER_FILE,
    MODEL_FILES,
    PICKLE_FILES,
    REPORT_FILE,
    SCALER_FILE,
    dump_pickle,
    sha256_file,
    write_atomically,
)
from models.synthetic import generate_flows

log = logging.getLogger(__name__)

TASKS = ("binary", "multiclass")
DEFAULT_OUT = Path("models")
DEFAULT_SYNTHETIC_ROWS = 50_000
SEED = 42
TEST_SIZE = 0.2
DROPPED_WHY = {
    "with_nan": "the existing training's cleaning: rows holding a NaN are dropped "
    "(then +/-inf become 0)",
    "repeated_from_an_earlier_file": "the same flow (all 78 features and the label) is already "
    "in an earlier input file, e.g. a TrafficLabelling copy of a MachineLearningCVE flow; kept "
    "once so it cannot fall on both sides of the split (repeats within one file are kept, as "
    "the existing training did)",
    "blank_lines": "lines of bare commas, as at the end of some original files",
}
LIBRARIES = (
    ("numpy", "numpy"),
    ("pandas", "pandas"),
    ("scikit-learn", "sklearn"),
    ("xgboost", "xgboost"),
)


class TrainingDataError(ValueError):
    """Flows that cannot train the pickle set (unlabelled, too few rows of a class, ...)."""


def _require_labels(flows: Flows, task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if not flows.labelled:
        unlabelled = sorted({f.path for f in flows.files if not f.labelled}) or list(flows.sources)
        raise TrainingDataError(f"cannot train on flows without labels: {', '.join(unlabelled)}")


def _task_labels(flows: Flows, task: str) -> np.ndarray:
    if task == "multiclass":
        return flows.labels
    codes, names = pd.factorize(flows.labels)
    mapped: np.ndarray = np.array([binary_label(str(n)) for n in names], dtype=object)[codes]
    return mapped


def _check_split(counts: dict[str, int], test_size: float) -> None:
    if len(counts) < 2:
        raise TrainingDataError(f"need at least two classes to train, got {counts or 'no rows'}")
    scarce = {name: n for name, n in counts.items() if n < 2}
    if scarce:
        raise TrainingDataError(f"a stratified split needs >= 2 rows per class; too few: {scarce}")
    rows = sum(counts.values())
    if min(round(rows * test_size), rows - round(rows * test_size)) < len(counts):
        raise TrainingDataError(
            f"{rows} rows are too few to hold all {len(counts)} classes on both sides of the split"
        )


def _libraries() -> dict[str, str]:
    # Module versions, not distributions: XGBoost comes as `xgboost` or `xgboost-cpu`.
    versions = {name: importlib.import_module(module).__version__ for name, module in LIBRARIES}
    return {"python": platform.python_version()} | versions


def _write_report(report: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    text = json.dumps(report, indent=2, allow_nan=False) + "\n"
    write_atomically(out_dir / REPORT_FILE, text.encode("utf-8"))
    written: dict[str, Any] = json.loads(text)  # the caller gets exactly what the file holds
    return written


@dataclass(frozen=True)
class _Split:
    """Scaled train and test halves, with what fitted them."""

    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    encoder: LabelEncoder
    scaler: StandardScaler


def _read_summary(flows: Flows) -> dict[str, Any]:
    return {
        "sources": [vars(source) for source in flows.files]
        or [{"path": source} for source in flows.sources],
        "rows_read": len(flows),
        "rows_per_class_read": flows.class_counts(),
    }


def _clean(flows: Flows) -> tuple[Flows, dict[str, Any]]:
    """The existing training's cleaning, then one copy of each flow repeated across files."""
    cleaned, counts = clean_flows_counted(flows)
    before = cleaned.class_counts()
    cleaned, repeats = drop_cross_file_repeats(cleaned)
    after = cleaned.class_counts()
    return cleaned, {
        "rows_dropped": {
            "with_nan": counts.rows_with_nan_dropped,
            "repeated_from_an_earlier_file": repeats,
            "blank_lines": sum(f.blank_rows_skipped for f in flows.files),
        },
        "rows_dropped_why": DROPPED_WHY,
        "repeated_rows_per_class": {
            name: n - after.get(name, 0) for name, n in before.items() if n != after.get(name)
        },
        "infinite_values_replaced_by_0": counts.infinite_values_zeroed,
        "rows_used": len(cleaned),
    }


def _split(flows: Flows, task: str, seed: int, test_size: float) -> tuple[_Split, dict[str, Any]]:
    """The stratified split, scaled with a StandardScaler fitted on the train half.

    Takes the only reference to `flows` (see train_pickle_set) and drops it once the halves are
    copied out, before the scaler's own temporaries need memory.
    """
    y_names = _task_labels(flows, task)
    per_class = label_counts(y_names)
    _check_split(per_class, test_size)
    log.info("%d flows to train on: %s", len(flows), per_class)
    encoder = LabelEncoder().fit(y_names)
    y = encoder.transform(y_names)
    # Split row numbers, not the matrix, so only the two halves are ever copied.
    train_rows, test_rows = train_test_split(
        np.arange(len(flows)), test_size=test_size, stratify=y, random_state=seed
    )
    x_train, x_test = flows.features[train_rows], flows.features[test_rows]
    del flows, y_names
    scaler = StandardScaler().fit(x_train)
    split = _Split(
        # the halves are fresh copies: scale them in place
        x_train=scaler.transform(x_train, copy=False),
        x_test=scaler.transform(x_test, copy=False),
        y_train=y[train_rows],
        y_test=y[test_rows],
        encoder=encoder,
        scaler=scaler,
    )
    return split, {
        "rows_per_class": per_class,
        "split": {
            "test_size": test_size,
            "stratified": True,
            "random_state": seed,
            "train_rows": len(train_rows),
            "test_rows": len(test_rows),
            "train_rows_per_class": label_counts(encoder.classes_[split.y_train]),
            "test_rows_per_class": label_counts(encoder.classes_[split.y_test]),
        },
        "scaler": "StandardScaler fitted on the train split; models trained on scaled data",
    }


def _train_and_pickle(models: dict[str, Any], split: _Split, out_dir: Path) -> dict[str, Any]:
    classes = [str(name) for name in split.encoder.classes_]
    reports: dict[str, Any] = {}
    for name, model in models.items():
        seconds = fit_with_progress(name, model, split.x_train, split.y_train)
        started = time.perf_counter()
        predicted = model.predict(split.x_test)
        reports[name] = {
            "file": MODEL_FILES[name],
            "type": type(model).__name__,
            "hyperparameters": hyperparameters(model),
            "size": model_size(model),
            "train_seconds": round(seconds, 3),
            "test_predict_seconds": round(time.perf_counter() - started, 3),
        } | evaluate(split.y_test, predicted, classes)
        log.info(
            "%s: accuracy %.4f, f1 %.4f, false-positive rate %.4f",
            name,
            reports[name]["accuracy"],
            reports[name]["f1"],
            reports[name]["false_positive_rate"],
        )
        dump_pickle(model, out_dir / MODEL_FILES[name])
    dump_pickle(split.scaler, out_dir / SCALER_FILE)
    dump_pickle(split.encoder, out_dir / LABEL_ENCODER_FILE)
    dump_pickle(list(FEATURE_NAMES), out_dir / FEATURE_NAMES_FILE)
    return reports


def train_pickle_set(
    flows: Flows,
    out_dir: Path,
    *,
    task: str = "binary",
    seed: int = SEED,
    test_size: float = TEST_SIZE,
    n_estimators: int | None = None,
    n_jobs: int = -1,
) -> dict[str, Any]:
    """Clean the flows, split them, train the three models and write the pickle set.

    Cleaning is the existing training's (NaN rows dropped, +/-inf -> 0); rows that an earlier
    source file already holds are dropped as well, so a flow published twice cannot sit on both
    sides of the split. `n_estimators` overrides the forest's 100 trees and XGBoost's rounds
    (small values make quick test fixtures; the defaults are the service's). Returns the report,
    also written to `out_dir/training_report.json`.
    """
    _require_labels(flows, task)
    data = _read_summary(flows)
    cleaned, cleaning = _clean(flows)
    # Each matrix goes as soon as the next exists, when the caller holds no other reference
    # (the CLI keeps none): with the full dataset that takes gigabytes off the peak.
    del flows
    # Hand the cleaned flows over without keeping a name for them here, so that _split can
    # free their matrix once it has copied out the two halves.
    handover = [cleaned]
    del cleaned
    split, split_summary = _split(handover.pop(), task, seed, test_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    models = build_models(task, split.y_train, seed=seed, n_estimators=n_estimators, n_jobs=n_jobs)
    model_reports = _train_and_pickle(models, split, out_dir)
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "task": task,
        "classes": [str(name) for name in split.encoder.classes_],
        "seed": seed,
        "features": len(FEATURE_NAMES),
        "data": data | cleaning | split_summary,
        "models": model_reports,
        "definitions": DEFINITIONS,
        "files": {
            name: {"sha256": sha256_file(out_dir / name), "bytes": (out_dir / name).stat().st_size}
            for name in PICKLE_FILES
        },
        "libraries": _libraries(),
    }
    written = _write_report(report, out_dir)
    log.info("wrote %s and %s to %s", ", ".join(PICKLE_FILES), REPORT_FILE, out_dir)
    return written


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ids-inference train",
        description="Train the service's pickle set (random forest, XGBoost, decision tree, "
        "scaler, label encoder, feature names) and write training_report.json.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--data",
        nargs="+",
        metavar="PATH",
        help="CICIDS2017 CSV files or folders of them (MachineLearningCVE or TrafficLabelling)",
    )
    source.add_argument(
        "--synthetic",
        type=_positive_int,
        metavar="ROWS",
        help=f"train on ROWS synthetic flows (the default, {DEFAULT_SYNTHETIC_ROWS} rows, "
        "when no --data is given)",
    )
    parser.add_argument("--task", choices=TASKS, default="binary", help="default: binary")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help="default: models/"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=SEED,
        help=f"random_state of the split, the models and the synthetic flows (default {SEED})",
    )
    parser.add_argument(
        "--n-estimators",
        type=_positive_int,
        metavar="N",
        help="trees of the forest and XGBoost rounds, for quick trials (default: the "
        "service's 100)",
    )
    return parser


def _input_flows(args: argparse.Namespace) -> Flows:
    if args.data:
        return load_flows(args.data)
    rows = args.synthetic or DEFAULT_SYNTHETIC_ROWS
    log.info("generating %d synthetic flows (seed %d)", rows, args.seed)
    return generate_flows(rows, seed=args.seed)


def main(argv: list[str] | None = None) -> int:
    """`ids-inference train` / `python -m models.train`."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    started = time.perf_counter()
    try:
        # No local name keeps the flows: train_pickle_set can free the raw matrix once cleaned.
        report = train_pickle_set(
            _input_flows(args),
            args.out,
            task=args.task,
            seed=args.seed,
            n_estimators=args.n_estimators,
        )
    except (
        OSError,
        MissingColumnsError,
        AmbiguousColumnsError,
        UnknownLabelError,
        CsvFormatError,
        TrainingDataError,
    ) as error:
        print(f"ids-inference train: error: {error}", file=sys.stderr)
        return 1
    for name, figures in report["models"].items():
        print(
            f"{name:<14} accuracy {figures['accuracy']:.4f}  f1 {figures['f1']:.4f}  "
            f"false-positive rate {figures['false_positive_rate']:.4f}  "
            f"trained in {figures['train_seconds']:.1f} s"
        )
    seconds = time.perf_counter() - started
    print(f"wrote the pickle set and {REPORT_FILE} to {args.out} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
