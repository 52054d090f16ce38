"""Consecutive trees grafted into product trees, so that onnxruntime walks fewer, larger trees.

Grafting tree u under every leaf of tree t gives one tree whose leaves each name one leaf of t
and one of u. A row walks it with the comparisons of both trees, minus those its path already
decides (a split on a feature whose range the path has narrowed, pruned here), and onnxruntime
pays its per-tree and per-output costs once per group instead of once per tree. A product leaf
still names the leaf of every member tree, so each tree's own value reaches the graph alone and
the sums that follow keep the model's order, whatever thread runs which tree.

Pruning stays exact for NaN too: NaN fails every `x <= s`, so it never takes a true branch and
always takes the false branch a narrowed range implies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from convert.forest import Forest

Bounds = dict[int, tuple[float, float]]


@dataclass(frozen=True)
class _Leaf:
    leaves: tuple[int, ...]  # the global leaf reached in each member tree so far
    bounds: Bounds  # per feature, the range (lo, hi] the path to here allows


@dataclass(frozen=True)
class _Split:
    feature: int
    left_max: np.float32
    true: _Leaf | _Split
    false: _Leaf | _Split


class _OverBudget(Exception):
    pass


@dataclass(frozen=True)
class ProductTrees:
    """Groups of trees as product trees: `forest` holds one product tree per group (its
    `threshold` is its float32 `left_max`: the models' own splits stay with the original
    trees). Product leaf l reaches, in its group's i-th tree, global leaf `members[l, i]` (-1
    past the group's last tree); `trees[g]` lists group g's trees."""

    forest: Forest
    members: np.ndarray
    trees: list[list[int]]


class _Grafter:
    def __init__(self, forest: Forest, max_leaves: int) -> None:
        self.forest = forest
        self.max_leaves = max_leaves
        self.count = 0

    def tree(self, t: int, prefix: tuple[int, ...], bounds: Bounds) -> _Leaf | _Split:
        """Tree t walked under a path that allows `bounds`."""
        root = int(self.forest.roots[t])
        if root < 0:
            return self._leaf((*prefix, int(self.forest.leaf_offsets[t])), bounds)
        return self._walk(root, prefix, bounds)

    def _leaf(self, leaves: tuple[int, ...], bounds: Bounds) -> _Leaf:
        self.count += 1
        if self.count > self.max_leaves:
            raise _OverBudget
        return _Leaf(leaves, bounds)

    def _walk(self, node: int, prefix: tuple[int, ...], bounds: Bounds) -> _Leaf | _Split:
        f = self.forest
        feature, split = int(f.feature[node]), f.left_max[node]
        lo, hi = bounds.get(feature, (-np.inf, np.inf))
        if hi <= split or lo >= split:
            # The path already decides this split (x <= hi <= split, or x > lo >= split).
            go_true = hi <= split
            child = int(f.true_id[node] if go_true else f.false_id[node])
            is_leaf = f.true_leaf[node] if go_true else f.false_leaf[node]
            return self._child(child, bool(is_leaf), prefix, bounds)
        true_bounds = {**bounds, feature: (lo, float(split))}
        false_bounds = {**bounds, feature: (float(split), hi)}
        return _Split(
            feature,
            split,
            self._child(int(f.true_id[node]), bool(f.true_leaf[node]), prefix, true_bounds),
            self._child(int(f.false_id[node]), bool(f.false_leaf[node]), prefix, false_bounds),
        )

    def _child(
        self, child: int, is_leaf: bool, prefix: tuple[int, ...], bounds: Bounds
    ) -> _Leaf | _Split:
        if is_leaf:
            return self._leaf((*prefix, child), bounds)
        return self._walk(child, prefix, bounds)

    def graft(self, node: _Leaf | _Split, t: int) -> _Leaf | _Split:
        """`node` with tree t grafted under each of its leaves."""
        if isinstance(node, _Leaf):
            return self.tree(t, node.leaves, node.bounds)
        return _Split(
            node.feature, node.left_max, self.graft(node.true, t), self.graft(node.false, t)
        )


def _grouped(
    forest: Forest, order: Sequence[int], max_leaves: int, max_total: int
) -> list[tuple[list[int], _Leaf | _Split]] | None:
    """Consecutive trees of `order` grafted together while a product stays within `max_leaves`
    leaves (a tree larger than that alone is its own group); None past `max_total` leaves in
    all."""
    groups: list[tuple[list[int], _Leaf | _Split]] = []
    done = 0  # leaves of the groups before the last
    for t in order:
        if groups:
            trees, product = groups[-1]
            grafter = _Grafter(forest, max_leaves)
            try:
                groups[-1] = ([*trees, t], grafter.graft(product, t))
                if done + grafter.count > max_total:
                    return None
                continue
            except _OverBudget:
                done += _count(product)
        groups.append(([t], _Grafter(forest, forest.n_leaves).tree(t, (), {})))
    return groups


def _count(node: _Leaf | _Split) -> int:
    if isinstance(node, _Leaf):
        return 1
    return _count(node.true) + _count(node.false)


def product_trees(
    forest: Forest, order: Sequence[int], max_leaves: int, max_total: int
) -> ProductTrees | None:
    """The trees of `order` (every tree, each once) grafted into groups of consecutive trees,
    or None when the products would hold more than `max_total` leaves."""
    groups = _grouped(forest, order, max_leaves, max_total)
    if groups is None:
        return None
    width = max(len(trees) for trees, _ in groups)
    nodes: list[tuple[int, np.float32]] = []
    children: list[tuple[int, int, int, int]] = []
    leaves: list[tuple[int, ...]] = []

    def flatten(node: _Leaf | _Split) -> tuple[int, int]:
        """(number, is_leaf) of `node`, its subtree numbered in preorder."""
        if isinstance(node, _Leaf):
            leaves.append(node.leaves)
            return len(leaves) - 1, 1
        number = len(nodes)
        nodes.append((node.feature, node.left_max))
        children.append((0, 0, 0, 0))
        children[number] = (*flatten(node.true), *flatten(node.false))
        return number, 0

    node_offsets, leaf_offsets, roots = [], [], []
    for product in (product for _, product in groups):
        node_offsets.append(len(nodes))
        leaf_offsets.append(len(leaves))
        # A group has a tree with splits: one-leaf trees never overflow, so never start one.
        root, is_leaf = flatten(product)
        assert not is_leaf, "a product tree with no split"
        roots.append(root)
    members = np.full((len(leaves), width), -1, dtype=np.int64)
    for number, reached in enumerate(leaves):
        members[number, : len(reached)] = reached
    links = np.array(children, dtype=np.int64).reshape(-1, 4)
    left_max = np.array([s for _, s in nodes], dtype=np.float32)
    forest = Forest(
        feature=np.array([f for f, _ in nodes], dtype=np.int64),
        threshold=left_max.astype(np.float64),
        left_max=left_max,
        true_id=links[:, 0],
        true_leaf=links[:, 1],
        false_id=links[:, 2],
        false_leaf=links[:, 3],
        roots=np.array(roots, dtype=np.int64),
        node_offsets=np.array(node_offsets, dtype=np.int64),
        leaf_offsets=np.array(leaf_offsets, dtype=np.int64),
        n_leaves=len(leaves),
    )
    return ProductTrees(forest, members, [trees for trees, _ in groups])
