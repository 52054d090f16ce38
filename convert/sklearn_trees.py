"""scikit-learn decision trees and random forests.

A tree's `predict_proba` is the value row of the leaf a row reaches; a forest's is the sum of its
trees' rows, added one tree after another from zeros in float64, divided by the number of trees;
`predict` is the first class of highest probability. The graph looks the rows up per leaf and
repeats that sum in the same order (`CumSum` adds sequentially), so probabilities and labels
equal scikit-learn's bit for bit, near-ties included.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from convert.errors import UnsupportedModelError
from convert.forest import TreeArrays, flatten, floor_float32, leaf_nodes
from convert.graph import FLOAT, INT64, ML3_OPSETS, GraphBuilder
from convert.graph_batch_trees import add_averaged_rows, add_leaf_ids_v3, raw_splits
from convert.graph_preprocess import add_non_finite_as_nan
from convert.graph_trees import add_leaf_ids
from convert.tree_model import BatchHead, TreeModel

HYPERPARAMETERS = (
    "n_estimators",
    "criterion",
    "max_depth",
    "min_samples_split",
    "min_samples_leaf",
    "max_features",
    "bootstrap",
    "class_weight",
    "random_state",
)


def _arrays(estimator: DecisionTreeClassifier) -> TreeArrays:
    tree = estimator.tree_
    return TreeArrays(tree.children_left, tree.children_right, tree.feature, tree.threshold)


def _json_safe(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    return repr(value)


def read_sklearn(model: RandomForestClassifier | DecisionTreeClassifier) -> TreeModel:
    """A fitted `RandomForestClassifier` or `DecisionTreeClassifier` as a `TreeModel`."""
    if model.n_outputs_ != 1:
        raise UnsupportedModelError(f"{type(model).__name__} with {model.n_outputs_} outputs")
    forest_like = isinstance(model, RandomForestClassifier)
    estimators: list[DecisionTreeClassifier] = model.estimators_ if forest_like else [model]
    trees = [_arrays(e) for e in estimators]
    forest = flatten(trees, [floor_float32(t.threshold) for t in trees])
    n_classes = int(model.n_classes_)
    # predict_proba returns the leaf's value row as stored (fractions since scikit-learn 1.4).
    table = np.concatenate(
        [
            e.tree_.value[leaf_nodes(t), 0, :n_classes]
            for e, t in zip(estimators, trees, strict=True)
        ]
    ).astype(np.float64)

    def exact_probabilities(b: GraphBuilder, leaf_ids: str) -> str:
        """float64 `[N, C]` from the leaves `[trees, N]`: scikit-learn's sums, in its order."""
        rows = b.op("Gather", [b.constant("leaf_probabilities", table), leaf_ids], axis=0)
        # [trees, N, C] -> running sums over trees, in tree order -> the last one is the total.
        if forest_like:
            rows = b.op("CumSum", [rows, b.constant("tree_axis", np.array(0, np.int64))])
        last = b.constant("last_tree", np.array(len(estimators) - 1, np.int64))
        proba = b.op("Gather", [rows, last], axis=0)
        if forest_like:
            n_trees = b.constant("n_trees", np.array(float(len(estimators)), np.float64))
            proba = b.op("Div", [proba, n_trees])
        return proba

    def add_head(b: GraphBuilder, x32: str, probabilities: str) -> str:
        leaf_ids = add_leaf_ids(b, x32, forest, np.arange(forest.n_trees))
        proba = exact_probabilities(b, leaf_ids)
        b.op("Cast", [proba], to=FLOAT, output=probabilities)
        # ArgMax keeps the first of equal maxima, as numpy.argmax does.
        return b.op("ArgMax", [proba], axis=1, keepdims=0, select_last_index=0)

    def add_batch_head(b: GraphBuilder, features: str, scaler: Any, probabilities: str) -> str:
        # The splits are moved before the scaler (`raw_splits`): the trees read the raw rows.
        bounds, nan_left = raw_splits(forest, scaler)
        x = add_non_finite_as_nan(b, features)
        # The operator adds the float64 rows tree by tree and divides by the number of trees,
        # as scikit-learn does, but answers float32: the same probabilities as `add_head`.
        averaged = add_averaged_rows(b, x, forest, table, bounds, nan_left)
        proba = b.op("Identity", [averaged], output=probabilities)
        index = b.op("ArgMax", [proba], axis=1, keepdims=0, select_last_index=0)
        # A float32 maximum held by one class is the float64 maximum too (rounding keeps
        # order); rows where several classes share it are decided on the float64 sums.
        classes = b.constant("class_axis", np.array([1], np.int64))
        top = b.op("ReduceMax", [proba, classes], keepdims=1)
        sharing = b.op("Cast", [b.op("Equal", [proba, top])], to=INT64)
        shared = b.op(
            "Greater",
            [
                b.op("ReduceSum", [sharing, classes], keepdims=0),
                b.constant("one_class", np.array(1, np.int64)),
            ],
        )
        axis_0 = b.constant("axis_0", np.array([0], np.int64))
        rows = b.op("Squeeze", [b.op("NonZero", [shared]), axis_0])
        tied = b.op("Gather", [x, rows], axis=0)
        exact = exact_probabilities(b, add_leaf_ids_v3(b, tied, forest, bounds, nan_left))
        exact_index = b.op("ArgMax", [exact], axis=1, keepdims=0, select_last_index=0)
        return b.op("ScatterElements", [index, rows, exact_index], axis=0)

    reference = model
    if forest_like and model.n_jobs not in (None, 1):
        # With threads the forest adds its trees in whatever order they finish, so its own last
        # bits vary from call to call; the gate compares against its sequential order.
        reference = copy.copy(model)
        reference.n_jobs = 1
    params = model.get_params()
    return TreeModel(
        type_name=type(model).__name__,
        forest=forest,
        n_classes=n_classes,
        add_head=add_head,
        batch=BatchHead(add_batch_head, ML3_OPSETS),
        hyperparameters={k: _json_safe(params[k]) for k in HYPERPARAMETERS if k in params},
        options={
            "splits": "float32 rounded toward -inf, BRANCH_LEQ (exact for float32 inputs)",
            "probabilities": "per-leaf float64 rows, summed tree by tree (CumSum), divided by "
            "the number of trees"
            if forest_like
            else "per-leaf float64 rows",
            "label": "first maximum of the float64 probabilities",
        },
        reference=reference,
    )
