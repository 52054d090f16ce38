"""XGBoost classifiers: gbtree boosters with `binary:logistic` or `multi:softprob`.

XGBoost casts inputs to float32, sends x left when `x < split`, and adds each class's leaf values
in float32, tree after tree, onto that class's base margin. The graph repeats the sum in the same
order (`CumSum`), so margins equal XGBoost's bit for bit. The label is taken from the margins (the
sign for binary, the first maximum for multiclass): XGBoost's probabilities are monotone in the
margins, so the two disagree only where XGBoost's own top two probabilities are exactly equal.
Probabilities follow XGBoost's float32 formulas; `exp` may differ by an ulp between libraries.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from xgboost import XGBClassifier

from convert.errors import UnsupportedModelError
from convert.forest import TreeArrays, flatten, float32_below, leaf_nodes
from convert.graph import FLOAT, INT64, OPSETS, GraphBuilder
from convert.graph_batch_trees import add_summed_leaf_weights, scaled_zero_left
from convert.graph_preprocess import add_non_finite_as_nan, add_scaling
from convert.graph_trees import add_leaf_weights
from convert.tree_model import BatchHead, TreeModel

OBJECTIVES = ("binary:logistic", "multi:softprob")
HYPERPARAMETERS = (
    "n_estimators",
    "max_depth",
    "learning_rate",
    "objective",
    "scale_pos_weight",
    "min_child_weight",
    "subsample",
    "colsample_bytree",
    "tree_method",
    "random_state",
)


def _unsupported(detail: str) -> UnsupportedModelError:
    return UnsupportedModelError(f"XGBClassifier {detail}")


def _base_margins(learner: dict[str, Any], objective: str, n_groups: int) -> np.ndarray:
    text = learner["learner_model_param"]["base_score"].strip()
    values = json.loads(text) if text.startswith("[") else [float(text)]
    base = np.broadcast_to(np.asarray(values, dtype=np.float32), (n_groups,)).copy()
    if objective == "binary:logistic":
        # XGBoost keeps base_score as a probability and turns it into a margin in float32.
        one = np.float32(1.0)
        base = (-np.log(one / base - one)).astype(np.float32)
    return base


def _tree(doc: dict[str, Any]) -> tuple[TreeArrays, np.ndarray]:
    if any(doc["split_type"]):
        raise _unsupported("with categorical splits")
    if int(doc["tree_param"].get("size_leaf_vector", "1")) > 1:
        raise _unsupported("with vector leaves (multi_strategy)")
    conditions = np.asarray(doc["split_conditions"], dtype=np.float32)
    arrays = TreeArrays(
        left=np.asarray(doc["left_children"], dtype=np.int64),
        right=np.asarray(doc["right_children"], dtype=np.int64),
        feature=np.asarray(doc["split_indices"], dtype=np.int64),
        threshold=conditions.astype(np.float64),
    )
    return arrays, conditions


def _rounds_used(model: XGBClassifier, n_trees: int, per_round: int) -> int:
    best = model.get_booster().attr("best_iteration")
    # predict() stops at the best iteration when the model was trained with early stopping.
    return n_trees // per_round if best is None else int(best) + 1


def read_xgboost(model: XGBClassifier) -> TreeModel:
    """A fitted `XGBClassifier` as a `TreeModel`."""
    missing = model.get_params().get("missing")
    if missing is not None and not (isinstance(missing, float) and math.isnan(missing)):
        raise _unsupported(f"that treats {missing!r} as missing (only NaN is supported)")
    learner = json.loads(model.get_booster().save_raw("json"))["learner"]
    objective = learner["objective"]["name"]
    if objective not in OBJECTIVES:
        raise _unsupported(f"objective {objective!r} (supported: {', '.join(OBJECTIVES)})")
    booster = learner["gradient_booster"]
    if booster["name"] != "gbtree":
        raise _unsupported(f"booster {booster['name']!r} (supported: gbtree)")
    n_groups = max(1, int(learner["learner_model_param"]["num_class"]))
    parallel = int(booster["model"]["gbtree_model_param"]["num_parallel_tree"])
    docs = booster["model"]["trees"]
    per_round = n_groups * parallel
    n_used = _rounds_used(model, len(docs), per_round) * per_round
    groups = np.asarray(booster["model"]["tree_info"][:n_used], dtype=np.int64)
    read = [_tree(doc) for doc in docs[:n_used]]
    trees = [arrays for arrays, _ in read]
    forest = flatten(trees, [float32_below(conditions) for _, conditions in read])
    values = [conditions[leaf_nodes(arrays)] for arrays, conditions in read]

    # order[g] lists class g's trees in the order XGBoost adds them.
    per_class = [np.flatnonzero(groups == g) for g in range(n_groups)]
    if len({len(trees_of_class) for trees_of_class in per_class}) != 1:
        raise _unsupported("whose classes have different numbers of trees")
    order = np.stack(per_class)
    base = _base_margins(learner, objective, n_groups)
    for g in range(n_groups):
        # Adding the base margin to the first tree's leaves is the very float32 addition
        # XGBoost makes first, so the running sum after one tree is unchanged.
        first = order[g, 0]
        values[first] = (base[g] + values[first]).astype(np.float32)
    table = np.concatenate(values).astype(np.float32)
    rounds = order.shape[1]
    binary = objective == "binary:logistic"

    def add_outputs(b: GraphBuilder, margin: str, probabilities: str) -> str:
        """From margins `[N, 1]` (binary) or `[N, classes]`: probabilities and class index."""
        if binary:
            one = b.constant("one", np.array(1.0, np.float32))
            denominator = b.op("Add", [one, b.op("Exp", [b.op("Neg", [margin])])])
            positive = b.op("Div", [one, denominator])
            negative = b.op("Sub", [one, positive])
            b.op("Concat", [negative, positive], axis=1, output=probabilities)
            zero = b.constant("zero_margin", np.array(0.0, np.float32))
            above = b.op("Cast", [b.op("Greater", [margin, zero])], to=INT64)
            return b.op("Squeeze", [above, b.constant("class_axis", np.array([1], np.int64))])
        axis = b.constant("class_axis", np.array([1], np.int64))
        shifted = b.op("Sub", [margin, b.op("ReduceMax", [margin, axis], keepdims=1)])
        exp = b.op("Exp", [shifted])
        # XGBoost adds the exponentials class after class; CumSum keeps that order.
        class_sums = b.op("CumSum", [exp, b.constant("class_axis_scalar", np.array(1, np.int64))])
        total = b.op(
            "Gather",
            [class_sums, b.constant("last_class", np.array([n_groups - 1], np.int64))],
            axis=1,
        )
        b.op("Div", [exp, total], output=probabilities)
        return b.op("ArgMax", [margin], axis=1, keepdims=0, select_last_index=0)

    def add_head(b: GraphBuilder, x32: str, probabilities: str) -> str:
        # Leaf values as [rounds, N] (binary) or [rounds, classes, N]: each class's trees in the
        # order XGBoost adds them.
        layout = order[0] if binary else order.T
        values = add_leaf_weights(b, x32, forest, table, layout)
        running = b.op("CumSum", [values, b.constant("round_axis", np.array(0, np.int64))])
        # [1, N] or [classes, N], then one row per flow.
        last = np.array([rounds - 1] if binary else rounds - 1, np.int64)
        totals = b.op("Gather", [running, b.constant("last_round", last)], axis=0)
        return add_outputs(b, b.op("Transpose", [totals], perm=[1, 0]), probabilities)

    def add_batch_head(b: GraphBuilder, features: str, scaler: Any, probabilities: str) -> str:
        scaled = add_scaling(b, add_non_finite_as_nan(b, features), scaler)
        x32 = b.op("Cast", [scaled], to=FLOAT)
        # Each class's trees come in the order XGBoost adds them (a class's trees ascend in
        # the booster's order), so the operator's sums are XGBoost's margins.
        tree_class = np.empty(forest.n_trees, dtype=np.int64)
        tree_class[order] = np.arange(n_groups)[:, np.newaxis]
        nan_left = scaled_zero_left(forest, scaler)
        margin = add_summed_leaf_weights(b, x32, forest, table, tree_class, nan_left)
        return add_outputs(b, margin, probabilities)

    params = model.get_params()
    hyper = {k: params[k] for k in HYPERPARAMETERS if params.get(k) is not None}
    hyper.update(rounds=rounds, base_margin=[float(v) for v in base])
    return TreeModel(
        type_name=type(model).__name__,
        forest=forest,
        n_classes=2 if binary else n_groups,
        add_head=add_head,
        batch=BatchHead(add_batch_head, OPSETS),
        hyperparameters=hyper,
        options={
            "splits": "float32 split s as the float32 just below s, BRANCH_LEQ (= x < s)",
            "margins": "float32 leaf values added tree by tree onto the base margin (CumSum)",
            "label": "margin > 0" if binary else "first maximum of the margins",
            "probabilities": "float32 1/(1+exp(-margin))"
            if binary
            else "float32 softmax: exp(margin - max) / sum in class order",
        },
        reference=model,
    )
