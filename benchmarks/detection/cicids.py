"""One CICIDS2017 test split, held out by the benchmark itself, the same rows for both model sets.

The CICIDS2017 files are read and cleaned as `ids-inference train` does (rows holding a NaN
dropped, +/-inf set to 0), and each flow published in two files (the XSS and Sql Injection flows
of the TrafficLabelling excerpts, also in the MachineLearningCVE sample) is kept once
(`models.overlap`), so no flow can sit on both sides. A stratified 20% of the rest is the test
split; the other 80% is written as one MachineLearningCVE CSV that both model sets train on (the
second beside the labelled recordings). The test rows are written too, for the parity gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from models.csv_layout import write_csv
from models.dataset import Flows, clean_flows_counted, label_counts, load_flows
from models.labels import BENIGN
from models.overlap import drop_cross_file_repeats

SEED = 42
TEST_SIZE = 0.2


@dataclass(frozen=True)
class HeldOut:
    train_csv: Path  # the 80% both model sets train on
    test_csv: Path  # the 20% they are scored on
    features: np.ndarray[Any, np.dtype[np.float64]]  # the test rows, cleaned
    attack: np.ndarray[Any, np.dtype[np.bool_]]  # per test row: not BENIGN
    summary: dict[str, Any]


def hold_out(cicids: Path, folder: Path) -> HeldOut:
    """Split the CICIDS2017 files under `cicids` once; the CSVs go to `folder`."""
    cleaned, counts = clean_flows_counted(load_flows([cicids]))
    kept, repeats = drop_cross_file_repeats(cleaned)
    rows = np.arange(len(kept))
    # Stratified by class, so each attack class (21 Sql Injection flows, say) is on both sides.
    train_rows, test_rows = train_test_split(
        rows, test_size=TEST_SIZE, stratify=kept.labels, random_state=SEED
    )
    train = kept.select(np.isin(rows, train_rows))
    test = kept.select(np.isin(rows, test_rows))
    folder.mkdir(parents=True, exist_ok=True)
    train_csv, test_csv = folder / "cicids2017-train.csv", folder / "cicids2017-test.csv"
    for flows, path in ((train, train_csv), (test, test_csv)):
        _write_exactly(flows, path)
    return HeldOut(
        train_csv,
        test_csv,
        test.features,
        test.labels != BENIGN,
        {
            "seed": SEED,
            "test_size": TEST_SIZE,
            "stratified_by": "class",
            "rows_read": len(cleaned) + counts.rows_with_nan_dropped,
            "rows_with_nan_dropped": counts.rows_with_nan_dropped,
            "repeated_from_an_earlier_file": repeats,
            "train_rows_per_class": label_counts(train.labels),
            "test_rows_per_class": label_counts(test.labels),
        },
    )


def _write_exactly(flows: Flows, path: Path) -> None:
    """Write `flows` as a MachineLearningCVE CSV and check that it reads back to the same values
    and labels: the models must train and be scored on exactly these rows."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_csv(flows, handle)
    back = load_flows([path])
    if not (
        np.array_equal(back.features, flows.features) and np.array_equal(back.labels, flows.labels)
    ):
        raise RuntimeError(f"{path}: the rows written do not read back to the same values")
