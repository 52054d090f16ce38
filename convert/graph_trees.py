"""The trees: one `TreeEnsemble` node giving, per row and tree, the weight of the leaf reached."""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from convert.forest import Forest
from convert.graph import INT32, ML_DOMAIN, GraphBuilder

BRANCH_LEQ = 0
AGGREGATE_SUM = 1
# Every integer up to 2**24 is a float32.
EXACT_FLOAT32 = 1 << 24


def _tree_ensemble(
    b: GraphBuilder, x32: str, forest: Forest, weights: np.ndarray, target: np.ndarray
) -> str:
    """The `TreeEnsemble` node: `[N, trees]` float32, tree t's leaf weight in output target[t].

    Each output receives one tree, so its sum is one leaf weight, exactly, in any runtime.
    One-leaf trees are left out (their outputs stay 0): spelled as a node whose branches both
    reach the leaf, they come out wrong in onnxruntime 1.22 and 1.23 when they follow other trees.
    """
    leaf_tree = forest.leaf_tree
    kept = (forest.roots >= 0)[leaf_tree]
    # Leaves are renumbered without the dropped ones; internal nodes keep their numbers.
    renumber = np.cumsum(kept) - 1
    true_id = np.where(forest.true_leaf == 1, renumber[forest.true_id], forest.true_id)
    false_id = np.where(forest.false_leaf == 1, renumber[forest.false_id], forest.false_id)
    return b.op(
        "TreeEnsemble",
        [x32],
        domain=ML_DOMAIN,
        n_targets=forest.n_trees,
        aggregate_function=AGGREGATE_SUM,
        tree_roots=forest.roots[forest.roots >= 0].tolist(),
        nodes_featureids=forest.feature.tolist(),
        nodes_modes=numpy_helper.from_array(np.full(forest.n_nodes, BRANCH_LEQ, dtype=np.uint8)),
        nodes_splits=numpy_helper.from_array(forest.left_max.astype(np.float32)),
        nodes_truenodeids=true_id.tolist(),
        nodes_trueleafs=forest.true_leaf.tolist(),
        nodes_falsenodeids=false_id.tolist(),
        nodes_falseleafs=forest.false_leaf.tolist(),
        leaf_targetids=target[leaf_tree][kept].tolist(),
        leaf_weights=numpy_helper.from_array(weights[kept]),
    )


def add_leaf_weights(
    b: GraphBuilder, x32: str, forest: Forest, weights: np.ndarray, layout: np.ndarray
) -> str:
    """float32 `[*layout.shape, N]`: `weights` of the leaf each row reaches in tree `layout[...]`.

    `weights` hold one float32 value per global leaf. Rows come last so that the heads' sums
    over trees run over whole slices of rows. One output per tree costs onnxruntime no more
    than packing several trees into one output, and leaves nothing to decode.
    """
    weights = np.asarray(weights, dtype=np.float32)
    # Output k of the operator holds tree layout.flat[k].
    order = layout.reshape(-1)
    target = np.empty(forest.n_trees, dtype=np.int64)
    target[order] = np.arange(len(order))
    one_leaf = forest.roots < 0
    # What each one-leaf tree always answers (0 for the other trees), in layout order.
    constant = np.where(one_leaf, weights[forest.leaf_offsets], np.float32(0))
    constant = constant[order][:, np.newaxis]
    if forest.n_nodes == 0:
        # Every tree is one leaf: the answer is the same for every row.
        rows = b.op("Shape", [x32], start=0, end=1)
        trees = b.constant("tree_count", np.array([len(order)], dtype=np.int64))
        size = b.op("Concat", [trees, rows], axis=0)
        per_tree = b.op("Expand", [b.constant("one_leaf_weights", constant), size])
    else:
        outputs = _tree_ensemble(b, x32, forest, weights, target)
        per_tree = b.op("Transpose", [outputs], perm=[1, 0])
        if one_leaf.any():
            # x + 0 is x: only the one-leaf trees' outputs change.
            per_tree = b.op("Add", [per_tree, b.constant("one_leaf_weights", constant)])
    if layout.ndim > 1:
        shape = b.constant("layout_shape", np.array([*layout.shape, -1], dtype=np.int64))
        per_tree = b.op("Reshape", [per_tree, shape])
    return per_tree


def add_leaf_ids(b: GraphBuilder, x32: str, forest: Forest, layout: np.ndarray) -> str:
    """int32 `[*layout.shape, N]`: the global leaf each row reaches in tree `layout[...]`.

    Leaves are looked up rather than summed by the operator so that the model's own arithmetic
    (probability sums) can follow, in its own precision and order. Leaf numbers travel as
    float32 weights: global ones when every one is a float32 integer, else numbers within each
    tree (below 2**24, `MAX_LEAVES_PER_TREE`) with the tree's first leaf added after the cast.
    """
    leaf_tree = forest.leaf_tree
    exact = forest.n_leaves <= EXACT_FLOAT32
    numbers = np.arange(forest.n_leaves, dtype=np.int64)
    weights = numbers if exact else numbers - forest.leaf_offsets[leaf_tree]
    ids = b.op("Cast", [add_leaf_weights(b, x32, forest, weights, layout)], to=INT32)
    if not exact:
        first = forest.leaf_offsets[layout][..., np.newaxis].astype(np.int32)
        ids = b.op("Add", [ids, b.constant("tree_first_leaf", first)])
    return ids
