"""The tree machinery on its edge cases: leaf numbers, one-leaf trees, exact ties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from xgboost import XGBClassifier

from convert import graph_trees
from convert.check_data import CheckData
from convert.conversion import gate, session_for
from convert.graph import FLOAT, INT32, GraphBuilder, tensor
from convert.graph_model import build_graph
from convert.graph_trees import add_leaf_ids
from convert.parity import ParityReport
from convert.pickle_set import read_model
from convert.sklearn_trees import read_sklearn
from convert.tree_model import TreeModel
from models.pickle_set import PickleSet

# Both graphs of a model: the self-contained one and the batch layout, gated as they are run.
GRAPHS = [pytest.param(False, id="model.onnx"), pytest.param(True, id="model.batch.onnx")]


def _gate_graph(
    pickle_set: PickleSet, model: TreeModel, flows: np.ndarray, *, batch: bool
) -> ParityReport:
    graph = build_graph(
        "model",
        model,
        pickle_set.scaler,
        pickle_set.feature_names,
        pickle_set.class_labels,
        {},
        batch=batch,
    )
    check = CheckData.from_array(flows, "x")
    return gate(pickle_set, model, graph.SerializeToString(), check, threads=1 if batch else 0)


@pytest.mark.parametrize(
    "float32_integers",
    [
        pytest.param(graph_trees.EXACT_FLOAT32, id="global leaf numbers"),
        pytest.param(4, id="numbers within each tree, first leaf added"),
    ],
)
def test_leaf_ids_are_the_leaves_scikit_learn_reaches(
    monkeypatch: pytest.MonkeyPatch, float32_integers: int
) -> None:
    """Leaf numbers come out of the operator as float32: when a forest has more leaves than
    float32 counts exactly, each tree's own numbers travel instead."""
    monkeypatch.setattr(graph_trees, "EXACT_FLOAT32", float32_integers)
    rng = np.random.default_rng(0)
    x = rng.lognormal(0.0, 3.0, (40, 5)).astype(np.float32)
    # Bootstrap samples that miss both rare rows grow one-leaf trees.
    y = np.array([0] * 38 + [1] * 2)
    forest = RandomForestClassifier(n_estimators=6, random_state=3).fit(x, y)
    model = read_sklearn(forest)
    assert 0 < (model.forest.roots < 0).sum() < 6
    b = GraphBuilder()
    b.op("Identity", [add_leaf_ids(b, "x", model.forest, np.arange(6))], output="ids")
    graph = b.model(
        inputs=[tensor("x", FLOAT, ["N", 5])],
        outputs=[tensor("ids", INT32, [6, "N"])],
        name="leaf ids",
        doc="",
        metadata={},
    )
    (ids,) = session_for(graph.SerializeToString()).run(None, {"x": x})
    expected = [
        offset + np.searchsorted(np.flatnonzero(e.tree_.children_left == -1), e.apply(x))
        for e, offset in zip(forest.estimators_, model.forest.leaf_offsets, strict=True)
    ]
    assert ids.tolist() == np.array(expected).tolist()


@pytest.mark.parametrize("batch", GRAPHS)
def test_one_leaf_trees_and_exact_ties(tmp_path: Path, batch: bool) -> None:
    """Trees on constant features are single leaves; balanced weights make every probability
    exactly 0.5, where both sides must pick the first class."""
    x = np.ones((40, 78))
    names = np.array(["ATTACK", "BENIGN"] * 20)
    encoder = LabelEncoder().fit(names)
    y = encoder.transform(names)
    scaler = StandardScaler().fit(x)
    forest = RandomForestClassifier(n_estimators=3, class_weight="balanced", random_state=0)
    tree = DecisionTreeClassifier(class_weight="balanced")
    pickle_set = PickleSet(
        folder=tmp_path,
        models={"random_forest": forest.fit(x, y), "decision_tree": tree.fit(x, y)},
        scaler=scaler,
        label_encoder=encoder,
        feature_names=tuple(f"f{i}" for i in range(78)),
        class_labels=("ATTACK", "BENIGN"),
        sources={},
    )
    assert tree.predict_proba(scaler.transform(x[:1])).tolist() == [[0.5, 0.5]]
    flows = np.vstack([x[:5], np.full((1, 78), np.nan)])
    for name in ("random_forest", "decision_tree"):
        model = read_model(pickle_set, name)
        assert model.forest.n_nodes == 0
        report = _gate_graph(pickle_set, model, flows, batch=batch)
        assert report.passed
        assert report.exact_ties == 0  # ties broken the same way: no excuse needed
        assert report.boundary_points == 0


@pytest.mark.parametrize("batch", GRAPHS)
def test_one_leaf_trees_among_others(tmp_path: Path, batch: bool) -> None:
    """Bootstrap samples that miss the one rare row grow one-leaf trees between real ones."""
    rng = np.random.default_rng(0)
    x = rng.lognormal(0.0, 3.0, (40, 78))
    names = np.array(["BENIGN"] * 38 + ["ATTACK"] * 2)
    encoder = LabelEncoder().fit(names)
    scaler = StandardScaler().fit(x)
    forest = RandomForestClassifier(n_estimators=12, random_state=3)
    forest.fit(scaler.transform(x), encoder.transform(names))
    pickle_set = PickleSet(
        folder=tmp_path,
        models={"random_forest": forest},
        scaler=scaler,
        label_encoder=encoder,
        feature_names=tuple(f"f{i}" for i in range(78)),
        class_labels=("ATTACK", "BENIGN"),
        sources={},
    )
    model = read_model(pickle_set, "random_forest")
    one_leaf = model.forest.roots < 0
    assert one_leaf[1:].any()
    assert not one_leaf.all()
    report = _gate_graph(pickle_set, model, x, batch=batch)
    assert report.passed
    assert report.boundary_points > 0


def _xgboost_set(
    tmp_path: Path, model: XGBClassifier, early_stopping: bool, classes: int = 2
) -> PickleSet:
    rng = np.random.default_rng(1)
    x = rng.lognormal(0.0, 3.0, (600, 78))
    score = np.log(x[:, 0]) + rng.normal(0.0, 2.0, 600)
    names = np.array(["ATTACK", "BENIGN", "PortScan"])[
        np.digitize(score, [2.0, 4.0][: classes - 1])
    ]
    encoder = LabelEncoder().fit(names)
    scaler = StandardScaler().fit(x)
    scaled, y = scaler.transform(x), encoder.transform(names)
    if early_stopping:
        model.fit(scaled[:400], y[:400], eval_set=[(scaled[400:], y[400:])], verbose=False)
    else:
        model.fit(scaled, y)
    return PickleSet(
        folder=tmp_path,
        models={"xgboost": model},
        scaler=scaler,
        label_encoder=encoder,
        feature_names=tuple(f"f{i}" for i in range(78)),
        class_labels=tuple(encoder.classes_),
        sources={},
    )


@pytest.mark.parametrize(
    ("model", "early_stopping"),
    [
        pytest.param(
            XGBClassifier(n_estimators=20, max_depth=4), False, id="base score learnt from data"
        ),
        pytest.param(
            XGBClassifier(n_estimators=200, max_depth=6, early_stopping_rounds=3),
            True,
            id="early stopping: predict stops at the best round",
        ),
    ],
)
@pytest.mark.parametrize("batch", GRAPHS)
def test_xgboost_base_margin_and_rounds(
    tmp_path: Path, model: XGBClassifier, early_stopping: bool, batch: bool
) -> None:
    pickle_set = _xgboost_set(tmp_path, model, early_stopping)
    tree_model = read_model(pickle_set, "xgboost")
    hyper = tree_model.hyperparameters
    if early_stopping:
        assert hyper["rounds"] == model.best_iteration + 1 < 200
    else:
        assert hyper["base_margin"] != [0.0]
    flows = np.random.default_rng(2).lognormal(0.0, 3.0, (300, 78))
    report = _gate_graph(pickle_set, tree_model, flows, batch=batch)
    assert report.passed


@pytest.mark.parametrize("classes", [pytest.param(2, id="binary"), pytest.param(3, id="3 classes")])
@pytest.mark.parametrize("batch", GRAPHS)
def test_xgboost_one_leaf_trees_among_others(tmp_path: Path, classes: int, batch: bool) -> None:
    """A large split loss leaves some rounds without a split: one-leaf trees between others,
    added in their place (the batch graph spells them as stumps with two equal leaves)."""
    pickle_set = _xgboost_set(
        tmp_path, XGBClassifier(n_estimators=12, max_depth=3, gamma=5), False, classes
    )
    tree_model = read_model(pickle_set, "xgboost")
    one_leaf = tree_model.forest.roots < 0
    assert one_leaf.any()
    assert not one_leaf.all()
    flows = np.random.default_rng(2).lognormal(0.0, 3.0, (300, 78))
    flows[::7, 0] = np.inf
    report = _gate_graph(pickle_set, tree_model, flows, batch=batch)
    assert report.passed
    assert report.boundary_points > 0
