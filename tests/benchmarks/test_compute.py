"""The compute benchmark's paths all give the same answers for the same rows.

A speed ratio between two paths only means something if they compute the same thing: the
pickle path as the old service calls it, the tuned pickle peer, XGBoost's inplace_predict and
the converted ONNX graph must agree on every label, and on probabilities to 1e-6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.compute import run_compute, run_large_batches, take_rows
from benchmarks.predictors import latest_onnx, predictors_for
from benchmarks.prepare import convert
from benchmarks.timing import Budget
from models.pickle_set import PickleSet, load_pickle_set
from tests.benchmarks.conftest import make_rows

MODELS = ["random_forest", "xgboost", "decision_tree"]


@pytest.fixture(scope="module")
def pickles(pickle_dir: Path) -> PickleSet:
    return load_pickle_set(pickle_dir)


@pytest.fixture(scope="module")
def artifacts(pickle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert(pickle_dir, tmp_path_factory.mktemp("artifacts"))


def rows_seen_and_unseen() -> np.ndarray:
    """Fresh rows and rows the models were trained on (which land deep in pure leaves)."""
    fresh, _ = make_rows(200, seed=21)
    trained, _ = make_rows(2000, seed=7)
    return np.concatenate([fresh, trained[:100]])


@pytest.mark.parametrize("model", [pytest.param(m, id=m) for m in MODELS])
def test_every_path_predicts_the_same(pickles: PickleSet, artifacts: Path, model: str) -> None:
    rows = rows_seen_and_unseen()
    predictors = predictors_for(pickles, model, latest_onnx(artifacts, model), threads=1)
    expected_paths = ["service", "tuned", "onnx", "onnx_batch"]
    if model == "xgboost":
        expected_paths.insert(2, "inplace_predict")
    assert [p.name for p in predictors] == expected_paths
    answers = {p.name: p.predict(p.prepare(rows)) for p in predictors}
    reference = answers["service"]
    assert set(reference.labels.tolist()) <= set(pickles.class_labels)
    for name, answer in answers.items():
        assert answer.labels.astype(str).tolist() == reference.labels.astype(str).tolist(), name
        np.testing.assert_allclose(answer.probabilities, reference.probabilities, atol=1e-6)


def test_run_compute_measures_every_path_and_finds_no_mismatch(
    pickles: PickleSet, artifacts: Path
) -> None:
    rows, _ = make_rows(50, seed=5)
    budget = Budget(seconds=0.001, warmup=1, min_reps=2, max_reps=3)
    found = run_compute(pickles, artifacts, rows, budget=budget, threads=1, batch_sizes=(1, 120))
    assert {(m.model, m.batch) for m in found} == {(m, b) for m in MODELS for b in (1, 120)}
    assert len(found) == 2 * (4 + 5 + 4)
    for m in found:
        assert m.label_mismatches == 0
        assert m.max_probability_difference <= 1e-6
        assert 2 <= m.reps <= 3
        assert 0 < m.median_s <= m.p99_s


def test_large_batches_run_every_path_at_each_thread_count(
    pickles: PickleSet, artifacts: Path
) -> None:
    rows, _ = make_rows(50, seed=6)
    budget = Budget(seconds=0.001, warmup=1, min_reps=2, max_reps=3)
    found = run_large_batches(pickles, artifacts, rows, budget=budget, batch=1200)
    assert {(m.model, m.threads) for m in found} == {(m, t) for m in MODELS for t in (1, 2)}
    assert sum(m.path == "onnx_batch" for m in found) == 2 * len(MODELS)
    for m in found:
        assert m.batch == 1200
        assert m.label_mismatches == 0
        assert m.max_probability_difference <= 1e-6


def test_take_rows_repeats_a_small_pool() -> None:
    rows, _ = make_rows(3, seed=1)
    taken = take_rows(rows, 7)
    assert taken.shape == (7, 78)
    assert taken.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(taken[3:6], rows)
