"""Decision trees in one flat layout, whatever library grew them.

Every library's split test is rewritten as `float32(x) <= left_max` on the float32 value the
trees see, which is exact for float32 inputs:

- scikit-learn sends x left when `double(x32) <= t` for a float64 threshold t; that holds exactly
  when x32 <= the largest float32 not above t (`floor_float32`);
- XGBoost sends x left when `x32 < s` for a float32 split s; that holds exactly when x32 <= the
  float32 just below s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from convert.errors import UnsupportedModelError

# Leaf numbers travel through the graph as float32 tree outputs: exact up to 2**24.
MAX_LEAVES_PER_TREE = 1 << 24


def floor_float32(values: np.ndarray) -> np.ndarray:
    """The largest float32 not above each float64 value (round toward -inf)."""
    with np.errstate(over="ignore"):  # beyond float32's range: inf, stepped back below
        rounded = np.asarray(values, dtype=np.float64).astype(np.float32)
    above = rounded.astype(np.float64) > values
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


def float32_below(values: np.ndarray) -> np.ndarray:
    """The float32 just below each float32 value."""
    return np.nextafter(np.asarray(values, dtype=np.float32), np.float32(-np.inf))


@dataclass(frozen=True)
class TreeArrays:
    """One tree as scikit-learn and XGBoost both store it: `left[i] == -1` marks a leaf."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray


@dataclass(frozen=True)
class Forest:
    """Trees flattened into the arrays of ONNX's `TreeEnsemble` operator.

    Internal node i tests `feature[i]`: x takes the true branch when `float32(x) <= left_max[i]`.
    `threshold[i]` is the model's own split value, kept for boundary inputs. A child is the
    internal node `*_id` or, when `*_leaf` is 1, the global leaf `*_id`. Tree t's internal nodes
    are `node_offsets[t]` onwards and its leaves the global leaves `leaf_offsets[t]` onwards, both
    in the tree's own node order (a parent before its children); `roots[t]` is its root node, or
    -1 when the tree is a single leaf.
    """

    feature: np.ndarray
    threshold: np.ndarray
    left_max: np.ndarray
    true_id: np.ndarray
    true_leaf: np.ndarray
    false_id: np.ndarray
    false_leaf: np.ndarray
    roots: np.ndarray
    node_offsets: np.ndarray
    leaf_offsets: np.ndarray
    n_leaves: int

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    @property
    def n_nodes(self) -> int:
        return len(self.feature)

    @property
    def leaf_tree(self) -> np.ndarray:
        """The tree of each global leaf."""
        sizes = np.diff(np.append(self.leaf_offsets, self.n_leaves))
        return np.repeat(np.arange(self.n_trees, dtype=np.int64), sizes)


def leaf_nodes(tree: TreeArrays) -> np.ndarray:
    """A tree's leaves in node order: local leaf k is node `leaf_nodes(tree)[k]`."""
    return np.flatnonzero(tree.left == -1)


def flatten(trees: Sequence[TreeArrays], left_max: Sequence[np.ndarray]) -> Forest:
    """One `Forest` from trees and, per tree, the float32 `left_max` of its nodes."""
    parts: dict[str, list[np.ndarray]] = {
        key: [] for key in ("feature", "threshold", "left_max", "tid", "tleaf", "fid", "fleaf")
    }
    roots, node_offsets, offsets = [], [], []
    node_base = leaf_base = 0
    for tree, bounds in zip(trees, left_max, strict=True):
        is_leaf = tree.left == -1
        internal = np.flatnonzero(~is_leaf)
        leaves = np.flatnonzero(is_leaf)
        if len(leaves) > MAX_LEAVES_PER_TREE:
            raise UnsupportedModelError(
                f"a tree has {len(leaves)} leaves, more than {MAX_LEAVES_PER_TREE}"
            )
        position = np.full(len(is_leaf), -1, dtype=np.int64)
        position[internal] = node_base + np.arange(len(internal))
        position[leaves] = leaf_base + np.arange(len(leaves))
        for key, children in (("t", tree.left), ("f", tree.right)):
            child = children[internal]
            parts[f"{key}id"].append(position[child])
            parts[f"{key}leaf"].append(is_leaf[child].astype(np.int64))
        parts["feature"].append(tree.feature[internal].astype(np.int64))
        parts["threshold"].append(tree.threshold[internal].astype(np.float64))
        parts["left_max"].append(np.asarray(bounds, dtype=np.float32)[internal])
        roots.append(-1 if is_leaf[0] else int(position[0]))
        node_offsets.append(node_base)
        offsets.append(leaf_base)
        node_base += len(internal)
        leaf_base += len(leaves)
    if leaf_base >= 1 << 31:
        raise UnsupportedModelError(f"{leaf_base} leaves, more than int32 leaf numbers reach")
    joined = {key: np.concatenate(values) for key, values in parts.items()}
    return Forest(
        feature=joined["feature"],
        threshold=joined["threshold"],
        left_max=joined["left_max"],
        true_id=joined["tid"],
        true_leaf=joined["tleaf"],
        false_id=joined["fid"],
        false_leaf=joined["fleaf"],
        roots=np.array(roots, dtype=np.int64),
        node_offsets=np.array(node_offsets, dtype=np.int64),
        leaf_offsets=np.array(offsets, dtype=np.int64),
        n_leaves=leaf_base,
    )
