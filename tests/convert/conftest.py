"""Fixtures of the conversion room's tests: small pickle sets fitted directly on flow-like data.

The data is heavy-tailed like CICIDS2017 features (lognormal, sigma 6, some negatives, many
zeros), with exact repeats carrying different labels so that leaves are impure and near-ties
occur, and with the extractor's inf and NaN values.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from sklearn.ensemble import RandomForestClassifier
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from xgboost import XGBClassifier

from convert.check_data import CheckData
from convert.conversion import convert_model, publish
from convert.forest import Forest
from convert.pickle_set import load_pickle_set, read_model
from models.features import FEATURE_NAMES
from models.pickle_set import (
    FEATURE_NAMES_FILE,
    LABEL_ENCODER_FILE,
    MODEL_FILES,
    SCALER_FILE,
    PickleSet,
)

BINARY = ("ATTACK", "BENIGN")
MULTICLASS = (
    "BENIGN",
    "DDoS",
    "PortScan",
    "Web Attack - Brute Force",
    "Web Attack - Sql Injection",
    "Web Attack - XSS",
)
ROWS = 3000
SMALL_FOREST = 8
SMALL_ROUNDS = 8


def flow_like(rows: int, seed: int) -> np.ndarray:
    """Raw flow-like features: heavy tails, negatives, zeros, repeats, inf and NaN."""
    rng = np.random.default_rng(seed)
    x = np.exp(rng.normal(0.0, 6.0, (rows, len(FEATURE_NAMES))))
    x *= rng.choice([1.0, -1.0], x.shape, p=[0.9, 0.1])
    x[:, :20] = np.round(x[:, :20])  # counters and ports are whole numbers
    x[rng.random(x.shape) < 0.3] = 0.0
    x[rng.integers(0, rows, rows // 10)] = x[rng.integers(0, rows, rows // 10)]
    x[rng.random(rows) < 0.02, 14] = np.inf  # Flow Bytes/s
    x[rng.random(rows) < 0.01, 15] = np.nan  # Flow Packets/s
    return x


def labels_for(x: np.ndarray, classes: tuple[str, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    clean = np.where(np.isfinite(x), x, 0.0)
    score = np.log1p(np.abs(clean[:, 0])) + 0.5 * np.log1p(np.abs(clean[:, 5]))
    score += rng.normal(0.0, 1.0, len(x))
    cuts = np.quantile(score, np.linspace(0, 1, len(classes) + 1)[1:-1])
    return np.array(classes, dtype=object)[np.digitize(score, cuts)]


def with_nearest_float32_splits(graph: onnx.ModelProto, forest: Forest) -> onnx.ModelProto:
    """`graph` with one deliberate error: splits rounded to the nearest float32 instead of
    toward -inf, as a naive float32 conversion does."""
    trees = next(node for node in graph.graph.node if node.op_type == "TreeEnsemble")
    splits = next(a for a in trees.attribute if a.name == "nodes_splits")
    splits.t.CopyFrom(numpy_helper.from_array(forest.threshold.astype(np.float32)))
    return graph


@dataclass(frozen=True)
class FixtureSet:
    """A pickle set on disk and raw flows to check it with."""

    folder: Path
    flows: np.ndarray

    def load(self) -> PickleSet:
        return load_pickle_set(self.folder)

    def check_data(self) -> CheckData:
        return CheckData.from_array(self.flows, "fixture flows")


def dump(obj: object, path: Path) -> None:
    path.write_bytes(pickle.dumps(obj))


def fit_pickle_set(folder: Path, raw: np.ndarray, names: np.ndarray) -> None:
    """Clean raw flows as training does, fit the service's three models (small) and write the
    six pickles."""
    keep = ~np.isnan(raw).any(axis=1)
    clean, names = raw[keep], names[keep]
    clean[np.isinf(clean)] = 0.0
    encoder = LabelEncoder().fit(names)
    y = encoder.transform(names)
    scaler = StandardScaler().fit(clean)
    scaled = scaler.transform(clean)
    objective: dict[str, object] = {"objective": "multi:softprob"}
    if len(encoder.classes_) == 2:
        weight = float((y == 0).sum() / max((y == 1).sum(), 1))
        objective = {"objective": "binary:logistic", "scale_pos_weight": weight}
    models = {
        "random_forest": RandomForestClassifier(
            n_estimators=SMALL_FOREST, class_weight="balanced", random_state=42, n_jobs=-1
        ),
        "xgboost": XGBClassifier(
            n_estimators=SMALL_ROUNDS, max_depth=10, random_state=42, n_jobs=1, **objective
        ),
        "decision_tree": DecisionTreeClassifier(
            max_depth=20, class_weight="balanced", random_state=42
        ),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, model in models.items():
        model.fit(scaled, y)
        dump(model, folder / MODEL_FILES[name])
    dump(scaler, folder / SCALER_FILE)
    dump(encoder, folder / LABEL_ENCODER_FILE)
    dump(list(FEATURE_NAMES), folder / FEATURE_NAMES_FILE)


def write_pickle_set(folder: Path, classes: tuple[str, ...], seed: int = 0) -> FixtureSet:
    """A pickle set fitted on flow-like data, with other flow-like data to check it."""
    x = flow_like(ROWS, seed)
    fit_pickle_set(folder, x, labels_for(x, classes, seed))
    return FixtureSet(folder, flow_like(1000, seed + 1))


@pytest.fixture(scope="session")
def binary_pickles(tmp_path_factory: pytest.TempPathFactory) -> FixtureSet:
    return write_pickle_set(tmp_path_factory.mktemp("binary-pickles"), BINARY)


@pytest.fixture(scope="session")
def multiclass_pickles(tmp_path_factory: pytest.TempPathFactory) -> FixtureSet:
    return write_pickle_set(tmp_path_factory.mktemp("multiclass-pickles"), MULTICLASS, seed=1)


@pytest.fixture(params=["binary", "multiclass"])
def pickles(request: pytest.FixtureRequest) -> FixtureSet:
    """Each fixture pickle set in turn."""
    fixture: FixtureSet = request.getfixturevalue(f"{request.param}_pickles")
    return fixture


@dataclass(frozen=True)
class Repository:
    """A model repository converted from the binary fixture set, as version 1."""

    out: Path
    pickles: FixtureSet


@pytest.fixture(scope="session")
def repository(binary_pickles: FixtureSet, tmp_path_factory: pytest.TempPathFactory) -> Repository:
    out = tmp_path_factory.mktemp("repository") / "artifacts"
    pickle_set = binary_pickles.load()
    check = binary_pickles.check_data()
    for name in MODEL_FILES:
        done = convert_model(pickle_set, name, read_model(pickle_set, name), check)
        publish(out, pickle_set, done, 1)
    return Repository(out, binary_pickles)
