"""The parity gate on exact graphs: every model, binary and multiclass, on check rows and on
boundary inputs built from the model."""

from __future__ import annotations

import numpy as np
import pytest

import convert.boundary
from convert.boundary import KINDS, all_boundary_points, boundary_points
from convert.conversion import convert_model
from convert.pickle_set import MODEL_FILES, read_model
from tests.convert.conftest import FixtureSet

MODELS = [pytest.param(name, id=name) for name in MODEL_FILES]


@pytest.mark.parametrize("name", MODELS)
def test_graph_matches_the_pickle_on_every_row_and_boundary_input(
    pickles: FixtureSet, name: str
) -> None:
    pickle_set = pickles.load()
    done = convert_model(pickle_set, name, read_model(pickle_set, name), pickles.check_data())
    report = done.report
    assert report.failures == ()
    assert report.passed
    assert report.label_mismatches == 0
    assert report.max_probability_difference <= 1e-6
    assert report.rows == len(pickles.flows)
    # Up to seven probes per split, all of them kept unless two kinds coincide.
    assert report.boundary_points >= 5 * done.model.forest.n_nodes
    assert report.non_finite_probes == 3 * len(pickle_set.feature_names) + 3


def _forest_paths(pickles: FixtureSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the forest's boundary points (made in batches of a few trees): whether scikit-learn's
    own decision path goes through the split each probes, and then to its left child."""
    pickle_set = pickles.load()
    forest = pickle_set.models["random_forest"]
    model = read_model(pickle_set, "random_forest")
    clean = np.where(np.isfinite(pickles.flows), pickles.flows, 0.0)
    points = all_boundary_points(model.forest, pickle_set.scaler, clean)
    scaled = pickle_set.scaler.transform(points.rows).astype(np.float32)
    reached = np.zeros(len(points), dtype=bool)
    went_left = np.zeros(len(points), dtype=bool)
    for t, tree in enumerate(forest.estimators_):
        mine = np.flatnonzero(points.tree == t)
        split = points.node[mine] - model.forest.node_offsets[t]
        node = np.flatnonzero(tree.tree_.children_left != -1)[split]
        path = tree.decision_path(scaled[mine]).toarray().astype(bool)
        rows = np.arange(len(mine))
        reached[mine] = path[rows, node]
        went_left[mine] = path[rows, tree.tree_.children_left[node]]
    return points.kind, reached, went_left


def test_boundary_points_reach_their_split_and_straddle_it(
    pickles: FixtureSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(convert.boundary, "CHUNK_NODES", 150)
    kind, reached, went_left = _forest_paths(pickles)
    assert reached.all()
    assert went_left[kind == KINDS.index("last raw value sent left")].all()
    assert not went_left[kind == KINDS.index("first raw value sent right")].any()
    assert went_left[kind == KINDS.index("float32 step further left")].all()
    assert not went_left[kind == KINDS.index("float32 step further right")].any()


def test_batches_hold_every_split_once(
    binary_pickles: FixtureSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    pickle_set = binary_pickles.load()
    forest = read_model(pickle_set, "random_forest").forest
    bases = np.where(np.isfinite(binary_pickles.flows), binary_pickles.flows, 0.0)
    whole = all_boundary_points(forest, pickle_set.scaler, bases)
    monkeypatch.setattr(convert.boundary, "CHUNK_NODES", 100)
    batches = list(boundary_points(forest, pickle_set.scaler, bases))
    assert len(batches) == forest.n_trees  # each tree has more than 100 splits
    joined = all_boundary_points(forest, pickle_set.scaler, bases)
    assert np.array_equal(joined.rows, whole.rows)
    assert np.array_equal(joined.node, whole.node)
    assert np.unique(joined.node).tolist() == list(range(forest.n_nodes))


def test_boundary_points_land_exactly_on_splits(pickles: FixtureSet) -> None:
    pickle_set = pickles.load()
    forest = read_model(pickle_set, "random_forest").forest
    bases = np.zeros((1, len(pickle_set.feature_names)))
    points = all_boundary_points(forest, pickle_set.scaler, bases)
    on = points.kind == KINDS.index("raw value scaling onto the split")
    feature = forest.feature[points.node[on]]
    raw = points.rows[on][np.arange(on.sum()), feature]
    scaled = (raw - pickle_set.scaler.mean_[feature]) / pickle_set.scaler.scale_[feature]
    # Not every split is reachable exactly (scaling rounds), but most are.
    assert np.mean(scaled == forest.threshold[points.node[on]]) > 0.5
