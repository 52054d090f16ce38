"""The trees: one `TreeEnsemble` node finding the leaf each row reaches in each tree."""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from convert.forest import Forest
from convert.graph import INT64, ML_DOMAIN, GraphBuilder

BRANCH_LEQ = 0
AGGREGATE_SUM = 1


def add_leaf_ids(b: GraphBuilder, x32: str, forest: Forest) -> str:
    """`[N, n_trees]` int64: the global leaf each row reaches in each tree.

    Tree t is output t and its leaves weigh their number within the tree, so the summed output
    is that number (float32 holds it exactly); adding the tree's first global leaf gives an
    index into per-leaf tables. Leaves are looked up instead of summed so that the model's own
    arithmetic (probability sums, margins) can follow in its own precision and order.
    """
    feature, left_max = forest.feature, forest.left_max
    true_id, true_leaf = forest.true_id, forest.true_leaf
    false_id, false_leaf = forest.false_id, forest.false_leaf
    roots = forest.roots.copy()
    single = np.flatnonzero(roots < 0)
    if len(single):
        # A tree that is one leaf still needs a root node: both of its branches reach the leaf.
        roots[single] = forest.n_nodes + np.arange(len(single))
        leaf = forest.leaf_offsets[single]
        ones = np.ones(len(single), dtype=np.int64)
        feature = np.concatenate([feature, np.zeros(len(single), dtype=np.int64)])
        left_max = np.concatenate([left_max, np.zeros(len(single), dtype=np.float32)])
        true_id, true_leaf = np.concatenate([true_id, leaf]), np.concatenate([true_leaf, ones])
        false_id, false_leaf = np.concatenate([false_id, leaf]), np.concatenate([false_leaf, ones])
    leaf_tree = forest.leaf_tree
    local = np.arange(forest.n_leaves, dtype=np.int64) - forest.leaf_offsets[leaf_tree]
    leaves = b.op(
        "TreeEnsemble",
        [x32],
        domain=ML_DOMAIN,
        n_targets=forest.n_trees,
        aggregate_function=AGGREGATE_SUM,
        tree_roots=roots.tolist(),
        nodes_featureids=feature.tolist(),
        nodes_modes=numpy_helper.from_array(np.full(len(feature), BRANCH_LEQ, dtype=np.uint8)),
        nodes_splits=numpy_helper.from_array(left_max.astype(np.float32)),
        nodes_truenodeids=true_id.tolist(),
        nodes_trueleafs=true_leaf.tolist(),
        nodes_falsenodeids=false_id.tolist(),
        nodes_falseleafs=false_leaf.tolist(),
        leaf_targetids=leaf_tree.tolist(),
        leaf_weights=numpy_helper.from_array(local.astype(np.float32)),
    )
    offsets = b.constant("tree_first_leaf", forest.leaf_offsets.astype(np.int64))
    return b.op("Add", [b.op("Cast", [leaves], to=INT64), offsets])
