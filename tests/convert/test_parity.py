"""The parity gate on exact graphs: every model, binary and multiclass, on check rows and on
boundary inputs built from the model."""

from __future__ import annotations

import numpy as np
import pytest

from convert.boundary import KINDS, boundary_points
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


def _decision_tree_paths(pickles: FixtureSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the decision tree's boundary points: the sklearn node each probes, and whether
    sklearn's own decision path goes through it and then to its left child."""
    pickle_set = pickles.load()
    tree = pickle_set.models["decision_tree"]
    model = read_model(pickle_set, "decision_tree")
    clean = np.where(np.isfinite(pickles.flows), pickles.flows, 0.0)
    points = boundary_points(model.forest, pickle_set.scaler, clean)
    node = np.flatnonzero(tree.tree_.children_left != -1)[points.node]
    scaled = pickle_set.scaler.transform(points.rows).astype(np.float32)
    path = tree.decision_path(scaled).toarray().astype(bool)
    rows = np.arange(len(node))
    reached = path[rows, node]
    went_left = path[rows, tree.tree_.children_left[node]]
    return points.kind, reached, went_left


def test_boundary_points_reach_their_split_and_straddle_it(pickles: FixtureSet) -> None:
    kind, reached, went_left = _decision_tree_paths(pickles)
    assert reached.all()
    assert went_left[kind == KINDS.index("last raw value sent left")].all()
    assert not went_left[kind == KINDS.index("first raw value sent right")].any()
    assert went_left[kind == KINDS.index("float32 step further left")].all()
    assert not went_left[kind == KINDS.index("float32 step further right")].any()


def test_boundary_points_land_exactly_on_splits(pickles: FixtureSet) -> None:
    pickle_set = pickles.load()
    forest = read_model(pickle_set, "random_forest").forest
    bases = np.zeros((1, len(pickle_set.feature_names)))
    points = boundary_points(forest, pickle_set.scaler, bases)
    on = points.kind == KINDS.index("raw value scaling onto the split")
    feature = forest.feature[points.node[on]]
    raw = points.rows[on][np.arange(on.sum()), feature]
    scaled = (raw - pickle_set.scaler.mean_[feature]) / pickle_set.scaler.scale_[feature]
    # Not every split is reachable exactly (scaling rounds), but most are.
    assert np.mean(scaled == forest.threshold[points.node[on]]) > 0.5
