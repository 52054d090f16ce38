"""The service's three classifiers, with their exact hyperparameters, and fitting with progress."""

from __future__ import annotations

import logging
import math
import time
import warnings
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier
from xgboost import XGBClassifier
from xgboost.callback import TrainingCallback

log = logging.getLogger(__name__)

FOREST_TREES = 100
XGBOOST_MAX_DEPTH = 10
TREE_MAX_DEPTH = 20
# The forest grows in batches of this many trees so a long fit can report progress.
PROGRESS_BATCH = 10


def build_models(
    task: str, y_train: np.ndarray, *, seed: int, n_estimators: int | None, n_jobs: int
) -> dict[str, Any]:
    """The three unfitted models, keyed by the service's model names."""
    xgb_objective: dict[str, Any]
    if task == "binary":
        # XGBoost's positive class is label 1; the weight balances it against label 0.
        positives = int(np.count_nonzero(y_train == 1))
        negatives = int(np.count_nonzero(y_train == 0))
        xgb_objective = {
            "objective": "binary:logistic",
            "scale_pos_weight": negatives / max(positives, 1),
        }
    else:
        xgb_objective = {"objective": "multi:softprob"}
    return {
        "random_forest": RandomForestClassifier(
            n_estimators=FOREST_TREES if n_estimators is None else n_estimators,
            class_weight="balanced",
            random_state=seed,
            n_jobs=n_jobs,
        ),
        "xgboost": XGBClassifier(
            max_depth=XGBOOST_MAX_DEPTH,
            random_state=seed,
            n_estimators=n_estimators,
            **xgb_objective,
        ),
        "decision_tree": DecisionTreeClassifier(
            max_depth=TREE_MAX_DEPTH, class_weight="balanced", random_state=seed
        ),
    }


class _LogRounds(TrainingCallback):
    def __init__(self, every: int, total: int, started: float) -> None:
        super().__init__()
        self.every, self.total, self.started = every, total, started

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        if (epoch + 1) % self.every == 0:
            elapsed = time.perf_counter() - self.started
            log.info("  xgboost: %d/%d rounds (%.1f s)", epoch + 1, self.total, elapsed)
        return False


def _fit_forest(
    forest: RandomForestClassifier, x: np.ndarray, y: np.ndarray, started: float
) -> None:
    total = forest.n_estimators
    # warm_start grows the same trees as one fit (sklearn draws the skipped seeds), so the batches
    # only add progress reports; it is switched off again before the forest is pickled.
    forest.set_params(warm_start=True)
    with warnings.catch_warnings():
        # The warning is about refitting on different data; every batch sees the same rows.
        warnings.filterwarnings(
            "ignore", message='class_weight presets "balanced"', category=UserWarning
        )
        for grown in range(min(PROGRESS_BATCH, total), total + PROGRESS_BATCH, PROGRESS_BATCH):
            forest.set_params(n_estimators=min(grown, total))
            forest.fit(x, y)
            elapsed = time.perf_counter() - started
            log.info(
                "  random_forest: %d/%d trees (%.1f s)", len(forest.estimators_), total, elapsed
            )
            if grown >= total:
                break
    forest.set_params(warm_start=False)


def fit_with_progress(name: str, model: Any, x_train: np.ndarray, y_train: np.ndarray) -> float:
    """Fit one model, logging progress; returns the seconds it took."""
    log.info("training %s on %d rows x %d features", name, *x_train.shape)
    started = time.perf_counter()
    if isinstance(model, RandomForestClassifier):
        _fit_forest(model, x_train, y_train, started)
    elif isinstance(model, XGBClassifier):
        rounds = model.n_estimators or 100
        model.set_params(callbacks=[_LogRounds(max(rounds // 10, 1), rounds, started)])
        try:
            model.fit(x_train, y_train)
        finally:
            model.set_params(callbacks=None)  # the pickle carries no reference to this module
    else:
        model.fit(x_train, y_train)
    seconds = time.perf_counter() - started
    log.info("trained %s in %.1f s", name, seconds)
    return seconds


def hyperparameters(model: Any) -> dict[str, Any]:
    """The model's set parameters that JSON can hold (None and NaN left out)."""
    return {
        key: value
        for key, value in sorted(model.get_params().items())
        if isinstance(value, bool | int | str)
        or (isinstance(value, float) and math.isfinite(value))
    }


def model_size(model: Any) -> dict[str, int]:
    """How big the fitted model is (what a converted graph will have to hold)."""
    if isinstance(model, RandomForestClassifier):
        trees = model.estimators_
        return {"trees": len(trees), "nodes": sum(t.tree_.node_count for t in trees)}
    if isinstance(model, XGBClassifier):
        booster = model.get_booster()
        return {
            "boosting_rounds": booster.num_boosted_rounds(),
            "trees": len(booster.get_dump()),
        }
    return {"nodes": int(model.tree_.node_count), "depth": int(model.get_depth())}
