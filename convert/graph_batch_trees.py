"""The trees of the batch graphs: leaf values summed inside the tree operator.

The single-row graph (`graph_trees`) has the operator give one output per tree, so that its sums
are one leaf value each and exact in any runtime at any thread count; the sums follow in
separate nodes. For large batches those outputs and their sums cost as much as the tree walk.
Here the operator adds the leaf values itself. onnxruntime adds them tree after tree, in the
trees' order and in the leaves' own precision, whenever the operator runs on one thread (its
sequential loops); with more threads and more than 50 rows it splits the *trees* between the
threads and adds the partial sums, which is not the libraries' order. A batch graph is
therefore run with one intra-op thread, its rows split between concurrent runs instead
(`server.model`); tests prove its answers bit-identical to the single-row graph's.

Non-finite inputs reach these trees as NaN (`add_non_finite_as_nan`), and every split sends NaN
the way the training's cleaned value, 0, goes (`nodes_missing_value_tracks_true`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import numpy_helper

from convert.errors import UnsupportedModelError
from convert.forest import Forest
from convert.graph import INT32, ML_DOMAIN, GraphBuilder
from convert.graph_trees import AGGREGATE_SUM, BRANCH_LEQ, EXACT_FLOAT32
from convert.scaling import Scaling


def scaled_zero_left(forest: Forest, scaler: Any) -> np.ndarray:
    """Per split: whether a cleaned value (0, scaled, as float32) takes the true branch."""
    zero = Scaling(scaler).float32(forest.feature, np.zeros(forest.n_nodes))
    result: np.ndarray = zero <= forest.left_max
    return result


def raw_splits(forest: Forest, scaler: Any) -> tuple[np.ndarray, np.ndarray]:
    """The splits moved before the scaler: per split, the largest raw float64 value R whose
    scaled float32 value is at most `left_max`, so that `raw <= R` is the graph's own test
    (scaling and the cast are monotone); and whether a cleaned raw value, 0, goes left."""
    above = Scaling(scaler).first_raw_at_least(
        forest.feature, np.nextafter(forest.left_max, np.float32(np.inf)), float32=True
    )
    # NaN: no finite raw value scales above the split, so every one goes left.
    bounds = np.where(np.isnan(above), np.inf, np.nextafter(above, -np.inf))
    return bounds, bounds >= 0.0


def add_summed_leaf_weights(
    b: GraphBuilder,
    x32: str,
    forest: Forest,
    weights: np.ndarray,
    tree_target: np.ndarray,
    nan_left: np.ndarray,
) -> str:
    """float32 `[N, targets]`: per target, the float32 `weights` of the leaves a row reaches,
    added from 0 in tree order (`TreeEnsemble`, ai.onnx.ml 5).

    A one-leaf tree becomes a stump whose two leaves carry its weight, so that it is added in
    its place in the order (the single-row graph adds such trees afterwards, which only works
    when each output holds one tree).
    """
    weights = np.asarray(weights, dtype=np.float32)
    one_leaf = np.flatnonzero(forest.roots < 0)
    stumps = np.arange(forest.n_nodes, forest.n_nodes + len(one_leaf))
    twins = np.arange(forest.n_leaves, forest.n_leaves + len(one_leaf))
    first_leaf = forest.leaf_offsets[one_leaf]
    roots = forest.roots.copy()
    roots[one_leaf] = stumps
    ones, zeros = np.ones(len(one_leaf), np.int64), np.zeros(len(one_leaf), np.int64)
    return b.op(
        "TreeEnsemble",
        [x32],
        domain=ML_DOMAIN,
        n_targets=int(tree_target.max()) + 1,
        aggregate_function=AGGREGATE_SUM,
        tree_roots=roots.tolist(),
        nodes_featureids=np.concatenate([forest.feature, zeros]).tolist(),
        nodes_modes=numpy_helper.from_array(
            np.full(forest.n_nodes + len(one_leaf), BRANCH_LEQ, dtype=np.uint8)
        ),
        nodes_splits=numpy_helper.from_array(
            np.concatenate([forest.left_max, np.zeros(len(one_leaf))]).astype(np.float32)
        ),
        nodes_missing_value_tracks_true=np.concatenate([nan_left.astype(np.int64), ones]).tolist(),
        nodes_truenodeids=np.concatenate([forest.true_id, first_leaf]).tolist(),
        nodes_trueleafs=np.concatenate([forest.true_leaf, ones]).tolist(),
        nodes_falsenodeids=np.concatenate([forest.false_id, twins]).tolist(),
        nodes_falseleafs=np.concatenate([forest.false_leaf, ones]).tolist(),
        leaf_targetids=tree_target[np.concatenate([forest.leaf_tree, one_leaf])].tolist(),
        leaf_weights=numpy_helper.from_array(np.concatenate([weights, weights[first_leaf]])),
    )


def _regressor_nodes(
    forest: Forest, bounds: np.ndarray, nan_left: np.ndarray
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """The node attributes of `TreeEnsembleRegressor` (ai.onnx.ml 3) for float64 inputs: each
    tree's internal nodes (root first) then its leaves, numbered within the tree, splits
    `x <= bounds`; and each global leaf's tree and number within it."""
    n_internal = np.diff(np.append(forest.node_offsets, forest.n_nodes))
    node_tree = np.repeat(np.arange(forest.n_trees), n_internal)
    leaf_tree = forest.leaf_tree
    internal_local = np.arange(forest.n_nodes) - forest.node_offsets[node_tree]
    leaf_local = n_internal[leaf_tree] + np.arange(forest.n_leaves) - forest.leaf_offsets[leaf_tree]

    def local(ids: np.ndarray, is_leaf: np.ndarray) -> np.ndarray:
        leaf = is_leaf == 1
        found = np.empty(len(ids), dtype=np.int64)
        found[leaf] = leaf_local[ids[leaf]]
        found[~leaf] = internal_local[ids[~leaf]]
        return found

    tree = np.concatenate([node_tree, leaf_tree])
    node = np.concatenate([internal_local, leaf_local])
    order = np.lexsort((node, tree))
    leaf_zeros = np.zeros(forest.n_leaves, np.int64)
    columns = {
        "nodes_treeids": tree,
        "nodes_nodeids": node,
        "nodes_featureids": np.concatenate([forest.feature, leaf_zeros]),
        "nodes_truenodeids": np.concatenate([local(forest.true_id, forest.true_leaf), leaf_zeros]),
        "nodes_falsenodeids": np.concatenate(
            [local(forest.false_id, forest.false_leaf), leaf_zeros]
        ),
        "nodes_missing_value_tracks_true": np.concatenate([nan_left.astype(np.int64), leaf_zeros]),
    }
    attributes: dict[str, Any] = {key: values[order].tolist() for key, values in columns.items()}
    modes = np.array(["BRANCH_LEQ"] * forest.n_nodes + ["LEAF"] * forest.n_leaves, dtype=object)
    attributes["nodes_modes"] = modes[order].tolist()
    splits = np.concatenate([np.asarray(bounds, np.float64), np.zeros(forest.n_leaves)])
    attributes["nodes_values_as_tensor"] = numpy_helper.from_array(splits[order])
    return attributes, leaf_tree, leaf_local


def add_averaged_rows(
    b: GraphBuilder,
    x: str,
    forest: Forest,
    table: np.ndarray,
    bounds: np.ndarray,
    nan_left: np.ndarray,
) -> str:
    """float32 `[N, C]` from float64 rows `x`: the float64 rows `table[leaf]` of the leaves a
    row reaches, added from 0 in tree order in float64, divided by the number of trees, then
    cast to float32 (`TreeEnsembleRegressor`, ai.onnx.ml 3, which adds in float64 for float64
    inputs only)."""
    attributes, leaf_tree, leaf_local = _regressor_nodes(forest, bounds, nan_left)
    table = np.asarray(table, dtype=np.float64)
    # Zero weights are left out: adding +0.0 to a sum of non-negative values changes nothing,
    # and a pure leaf then holds one weight instead of one per class (memory, time).
    leaf, target = np.nonzero(table)
    if len(np.unique(leaf)) != forest.n_leaves:
        raise UnsupportedModelError("a leaf whose class probabilities are all zero")
    return b.op(
        "TreeEnsembleRegressor",
        [x],
        domain=ML_DOMAIN,
        n_targets=table.shape[1],
        aggregate_function="AVERAGE",
        target_treeids=leaf_tree[leaf].tolist(),
        target_nodeids=leaf_local[leaf].tolist(),
        target_ids=target.tolist(),
        target_weights_as_tensor=numpy_helper.from_array(table[leaf, target]),
        **attributes,
    )


def add_leaf_ids_v3(
    b: GraphBuilder, x: str, forest: Forest, bounds: np.ndarray, nan_left: np.ndarray
) -> str:
    """int32 `[trees, N]` from float64 rows `x`: the global leaf each row reaches in each tree,
    as `graph_trees.add_leaf_ids` gives them, from `TreeEnsembleRegressor` with one output per
    tree."""
    attributes, leaf_tree, leaf_local = _regressor_nodes(forest, bounds, nan_left)
    exact = forest.n_leaves <= EXACT_FLOAT32
    numbers = np.arange(forest.n_leaves, dtype=np.int64)
    weights = numbers if exact else numbers - forest.leaf_offsets[leaf_tree]
    outputs = b.op(
        "TreeEnsembleRegressor",
        [x],
        domain=ML_DOMAIN,
        n_targets=forest.n_trees,
        aggregate_function="SUM",
        target_treeids=leaf_tree.tolist(),
        target_nodeids=leaf_local.tolist(),
        target_ids=leaf_tree.tolist(),
        target_weights_as_tensor=numpy_helper.from_array(weights.astype(np.float64)),
        **attributes,
    )
    ids = b.op("Cast", [b.op("Transpose", [outputs], perm=[1, 0])], to=INT32)
    if not exact:
        first = forest.leaf_offsets[:, np.newaxis].astype(np.int32)
        ids = b.op("Add", [ids, b.constant("tree_first_leaf", first)])
    return ids
