"""The trees: one `TreeEnsemble` node finding the leaf each row reaches in each tree."""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from convert.forest import Forest
from convert.graph import INT32, ML_DOMAIN, GraphBuilder

BRANCH_LEQ = 0
AGGREGATE_SUM = 1
# Every integer up to 2**24 is a float32.
EXACT_FLOAT32 = 1 << 24


def pack_trees(leaf_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share outputs between consecutive trees: (output of each tree, radix of each tree).

    Leaf k of tree t weighs `k * radix[t]`, so an output's sum is a mixed-radix number whose
    digits are its trees' leaves. The product of the leaf counts of one output's trees stays
    within 2**24, so every partial sum is an integer float32 holds exactly, in any order.
    """
    output = np.empty(len(leaf_counts), dtype=np.int64)
    radix = np.empty(len(leaf_counts), dtype=np.int64)
    current, product = 0, 1
    for t, count in enumerate(leaf_counts.tolist()):
        if product > 1 and product * count > EXACT_FLOAT32:
            current, product = current + 1, 1
        output[t], radix[t] = current, product
        product *= count
    return output, radix


def add_leaf_ids(b: GraphBuilder, x32: str, forest: Forest, layout: np.ndarray) -> str:
    """int32 `[*layout.shape, N]`: the global leaf each row reaches in tree `layout[...]`.

    Rows come last so that the heads' sums over trees run over whole slices of rows.

    One `TreeEnsemble` finds the leaves; trees share its outputs (`pack_trees`) because its
    cost grows with their number; integer division and modulo take the leaves back out. Leaves
    are looked up rather than summed by the operator so that the model's own arithmetic
    (probability sums, margins) can follow, in its own precision and order.
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
    counts = np.diff(np.append(forest.leaf_offsets, forest.n_leaves))
    output, radix = pack_trees(counts)
    local = np.arange(forest.n_leaves, dtype=np.int64) - forest.leaf_offsets[leaf_tree]
    sums = b.op(
        "TreeEnsemble",
        [x32],
        domain=ML_DOMAIN,
        n_targets=int(output[-1]) + 1,
        aggregate_function=AGGREGATE_SUM,
        tree_roots=roots.tolist(),
        nodes_featureids=feature.tolist(),
        nodes_modes=numpy_helper.from_array(np.full(len(feature), BRANCH_LEQ, dtype=np.uint8)),
        nodes_splits=numpy_helper.from_array(left_max.astype(np.float32)),
        nodes_truenodeids=true_id.tolist(),
        nodes_trueleafs=true_leaf.tolist(),
        nodes_falsenodeids=false_id.tolist(),
        nodes_falseleafs=false_leaf.tolist(),
        leaf_targetids=output[leaf_tree].tolist(),
        leaf_weights=numpy_helper.from_array((local * radix[leaf_tree]).astype(np.float32)),
    )
    # int32 holds every sum (< 2**24) and leaf number, in half the memory of int64.
    ids = b.op("Transpose", [b.op("Cast", [sums], to=INT32)], perm=[1, 0])
    ids = b.op("Gather", [ids, b.constant("tree_output", output[layout].astype(np.int32))], axis=0)

    def per_tree(hint: str, values: np.ndarray) -> str:
        return b.constant(hint, values[layout][..., np.newaxis].astype(np.int32))

    if (radix > 1).any():
        # digit = (sum // radix) % count; Mod is spelled out as it is slow on int32 in onnxruntime.
        shifted = b.op("Div", [ids, per_tree("tree_radix", radix)])
        count = per_tree("tree_leaves", counts)
        ids = b.op("Sub", [shifted, b.op("Mul", [b.op("Div", [shifted, count]), count])])
    return b.op("Add", [ids, per_tree("tree_first_leaf", forest.leaf_offsets)])
