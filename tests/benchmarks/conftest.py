"""Fixtures for the benchmark tests: a small pickle set built the way the old service's was."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.ensemble import RandomForestClassifier
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from xgboost import XGBClassifier

from models.features import FEATURE_NAMES
from models.pickle_set import FEATURE_NAMES_FILE, LABEL_ENCODER_FILE, MODEL_FILES, SCALER_FILE

CLASSES = ("BENIGN", "DDoS", "PortScan")


def make_rows(n_rows: int, seed: int) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
    """Flow-like rows (non-negative, wide ranges) whose class depends on a few features."""
    rng = np.random.default_rng(seed)
    features = rng.lognormal(mean=3.0, sigma=2.0, size=(n_rows, len(FEATURE_NAMES)))
    features[:, 0] = rng.integers(0, 65536, size=n_rows)
    score = np.log1p(features[:, 1]) - np.log1p(features[:, 4]) + rng.normal(0, 0.5, n_rows)
    labels = np.where(score > 1.0, CLASSES[1], np.where(score < -1.0, CLASSES[2], CLASSES[0]))
    return features, labels


@pytest.fixture(scope="session")
def pickle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The six pickles of the old service, trained on 2,000 rows, in a temporary folder."""
    folder = tmp_path_factory.mktemp("pickles")
    features, labels = make_rows(2000, seed=7)
    encoder = LabelEncoder().fit(labels)
    targets = encoder.transform(labels)
    scaler = StandardScaler().fit(features)
    scaled = scaler.transform(features)
    models = {
        "random_forest": RandomForestClassifier(n_estimators=20, n_jobs=-1, random_state=0),
        "xgboost": XGBClassifier(n_estimators=20, max_depth=4, n_jobs=-1, random_state=0),
        "decision_tree": DecisionTreeClassifier(random_state=0),
    }
    objects = {MODEL_FILES[name]: model.fit(scaled, targets) for name, model in models.items()}
    objects |= {SCALER_FILE: scaler, LABEL_ENCODER_FILE: encoder}
    objects[FEATURE_NAMES_FILE] = list(FEATURE_NAMES)
    for file, obj in objects.items():
        with (folder / file).open("wb") as out:
            pickle.dump(obj, out)
    return folder
