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


def _tree_ensemble(
    b: GraphBuilder, x32: str, forest: Forest, output: np.ndarray, radix: np.ndarray
) -> str:
    """The `TreeEnsemble` node, `[N, outputs]` float32 mixed-radix sums of leaf numbers.

    One-leaf trees are left out: their leaf number is always 0, which adds nothing. (Spelled
    as a node whose branches both reach the leaf, they come out wrong in onnxruntime 1.22 and
    1.23 when they follow other trees.)
    """
    leaf_tree = forest.leaf_tree
    kept = (forest.roots >= 0)[leaf_tree]
    # Leaves are renumbered without the dropped ones; internal nodes keep their numbers.
    renumber = np.cumsum(kept) - 1
    true_id = np.where(forest.true_leaf == 1, renumber[forest.true_id], forest.true_id)
    false_id = np.where(forest.false_leaf == 1, renumber[forest.false_id], forest.false_id)
    local = np.arange(forest.n_leaves, dtype=np.int64) - forest.leaf_offsets[leaf_tree]
    return b.op(
        "TreeEnsemble",
        [x32],
        domain=ML_DOMAIN,
        n_targets=int(output[-1]) + 1,
        aggregate_function=AGGREGATE_SUM,
        tree_roots=forest.roots[forest.roots >= 0].tolist(),
        nodes_featureids=forest.feature.tolist(),
        nodes_modes=numpy_helper.from_array(np.full(forest.n_nodes, BRANCH_LEQ, dtype=np.uint8)),
        nodes_splits=numpy_helper.from_array(forest.left_max.astype(np.float32)),
        nodes_truenodeids=true_id.tolist(),
        nodes_trueleafs=forest.true_leaf.tolist(),
        nodes_falsenodeids=false_id.tolist(),
        nodes_falseleafs=forest.false_leaf.tolist(),
        leaf_targetids=output[leaf_tree][kept].tolist(),
        leaf_weights=numpy_helper.from_array((local * radix[leaf_tree])[kept].astype(np.float32)),
    )


def add_leaf_ids(b: GraphBuilder, x32: str, forest: Forest, layout: np.ndarray) -> str:
    """int32 `[*layout.shape, N]`: the global leaf each row reaches in tree `layout[...]`.

    Rows come last so that the heads' sums over trees run over whole slices of rows.

    One `TreeEnsemble` finds the leaves; trees share its outputs (`pack_trees`) because its
    cost grows with their number; integer division and modulo take the leaves back out. Leaves
    are looked up rather than summed by the operator so that the model's own arithmetic
    (probability sums, margins) can follow, in its own precision and order.
    """

    def per_tree(hint: str, values: np.ndarray) -> str:
        return b.constant(hint, values[layout][..., np.newaxis].astype(np.int32))

    first_leaf = per_tree("tree_first_leaf", forest.leaf_offsets)
    if forest.n_nodes == 0:
        # Every tree is one leaf: the answer is the same for every row.
        rows = b.op("Shape", [x32], start=0, end=1)
        shape = b.constant("layout_shape", np.array(layout.shape, dtype=np.int64))
        return b.op("Expand", [first_leaf, b.op("Concat", [shape, rows], axis=0)])
    counts = np.diff(np.append(forest.leaf_offsets, forest.n_leaves))
    output, radix = pack_trees(counts)
    sums = _tree_ensemble(b, x32, forest, output, radix)
    # int32 holds every sum (< 2**24) and leaf number, in half the memory of int64.
    ids = b.op("Transpose", [b.op("Cast", [sums], to=INT32)], perm=[1, 0])
    ids = b.op("Gather", [ids, b.constant("tree_output", output[layout].astype(np.int32))], axis=0)
    if (radix > 1).any():
        # digit = (sum // radix) % count; Mod is spelled out as it is slow on int32 in onnxruntime.
        shifted = b.op("Div", [ids, per_tree("tree_radix", radix)])
        count = per_tree("tree_leaves", counts)
        ids = b.op("Sub", [shifted, b.op("Mul", [b.op("Div", [shifted, count]), count])])
    return b.op("Add", [ids, first_leaf])
