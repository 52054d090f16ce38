"""Boundary inputs: raw flows that put a feature exactly on each split of a model, and one step
either side, with every other feature set so that the flow reaches that split.

The trees compare the float32 of the scaled value, so the scaler decides which raw values land
where; `Scaling` finds them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from convert.forest import Forest
from convert.scaling import FLOAT32_UP, Scaling

KINDS = (
    "raw value scaling onto the split",
    "float64 step below that",
    "float64 step above that",
    "last raw value sent left",
    "first raw value sent right",
    "float32 step further left",
    "float32 step further right",
)


@dataclass(frozen=True)
class BoundaryPoints:
    """Raw flows probing the splits: row i probes internal node `node[i]` of tree `tree[i]`."""

    rows: np.ndarray
    tree: np.ndarray
    node: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def describe(self, i: int, *, forest: Forest, feature_names: list[str]) -> str:
        node = int(self.node[i])
        feature = int(forest.feature[node])
        return (
            f"tree {int(self.tree[i])} split on {feature_names[feature]!r} at "
            f"{float(forest.threshold[node])!r}: {KINDS[int(self.kind[i])]} "
            f"({float(self.rows[i, feature])!r})"
        )


# Splits per batch of probes: bounds the memory a large forest's boundary inputs take.
CHUNK_NODES = 20_000


def _tree_groups(forest: Forest) -> Iterator[tuple[int, int]]:
    """Consecutive trees, `[first, stop)`, with at most CHUNK_NODES splits (or one tree)."""
    ends = np.append(forest.node_offsets, forest.n_nodes)
    first = 0
    while first < forest.n_trees:
        stop = int(np.searchsorted(ends, ends[first] + CHUNK_NODES, side="right")) - 1
        stop = min(max(stop, first + 1), forest.n_trees)
        yield first, stop
        first = stop


def _intervals(forest: Forest, start: int, stop: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """For splits `start..stop-1` (whole trees): per feature, the float32 interval `[low, high]`
    a flow's value must lie in to reach the split. Filled level by level from the roots."""
    n = stop - start
    low = np.full((n, width), -np.inf, dtype=np.float32)
    high = np.full((n, width), np.inf, dtype=np.float32)
    right_min = np.nextafter(forest.left_max, FLOAT32_UP)
    roots = forest.roots[(forest.roots >= start) & (forest.roots < stop)]
    level = roots - start
    while len(level):
        parents = level + start
        f = forest.feature[parents]
        next_level = []
        for child_id, child_leaf, true_side in (
            (forest.true_id, forest.true_leaf, True),
            (forest.false_id, forest.false_leaf, False),
        ):
            inner = child_leaf[parents] == 0
            parent, kid, feature = (
                parents[inner] - start,
                child_id[parents[inner]] - start,
                f[inner],
            )
            low[kid], high[kid] = low[parent], high[parent]
            if true_side:
                high[kid, feature] = np.minimum(high[kid, feature], forest.left_max[parents[inner]])
            else:
                low[kid, feature] = np.maximum(low[kid, feature], right_min[parents[inner]])
            next_level.append(kid)
        level = np.concatenate(next_level)
    return low, high


def _bases_reaching(
    forest: Forest, scaling: Scaling, bases: np.ndarray, start: int, stop: int
) -> np.ndarray:
    """One base row per split (cycling through `bases`), moved onto the split's path."""
    low, high = _intervals(forest, start, stop, bases.shape[1])
    rows = bases[np.arange(start, stop) % len(bases)].copy()
    constrained = (low > -np.inf) | (high < np.inf)
    # The split's own feature is overwritten by the probes; only the other ones need moving.
    constrained[np.arange(stop - start), forest.feature[start:stop]] = False
    node, feature = np.nonzero(constrained)
    low, high = low[node, feature], high[node, feature]
    scaled = scaling.float32(feature, rows[node, feature])
    below, above = scaled < low, scaled > high
    rows[node[below], feature[below]] = scaling.first_raw_at_least(
        feature[below], low[below], float32=True
    )
    rows[node[above], feature[above]] = scaling.last_raw_at_most32(feature[above], high[above])
    # A NaN here means no raw value reaches that interval: nothing reaches the split, so any
    # value will do for the probes.
    rows[np.isnan(rows)] = 0.0
    return rows


def _probes(forest: Forest, scaling: Scaling, rows: np.ndarray, start: int) -> BoundaryPoints:
    """Seven probes (see `KINDS`) on each split from `start`, each on its row of `rows`."""
    nodes = np.arange(start, start + len(rows))
    f = forest.feature[nodes]
    left = forest.left_max[nodes]
    right = np.nextafter(left, FLOAT32_UP)
    on = scaling.first_raw_at_least(f, forest.threshold[nodes], float32=False)
    first_right = scaling.first_raw_at_least(f, right, float32=True)
    first_at_left_max = scaling.first_raw_at_least(f, left, float32=True)
    beyond = scaling.first_raw_at_least(f, np.nextafter(right, FLOAT32_UP), float32=True)
    probes = np.stack(
        [
            on,
            np.nextafter(on, -np.inf),
            np.nextafter(on, np.inf),
            np.nextafter(first_right, -np.inf),
            first_right,
            np.nextafter(first_at_left_max, -np.inf),
            beyond,
        ],
        axis=1,
    )
    local = np.repeat(np.arange(len(nodes)), len(KINDS))
    kind = np.tile(np.arange(len(KINDS)), len(nodes))
    value = probes.reshape(-1)
    keep = np.isfinite(value)
    local, kind, value = local[keep], kind[keep], value[keep]
    # The same raw value can be two kinds at once (a split that is itself a float32): keep one.
    _, first = np.unique(np.stack([local.astype(np.float64), value]), axis=1, return_index=True)
    first.sort()
    local, kind, value = local[first], kind[first], value[first]
    points = rows[local]
    points[np.arange(len(local)), f[local]] = value
    tree = np.searchsorted(forest.node_offsets, nodes[local], side="right") - 1
    return BoundaryPoints(rows=points, tree=tree, node=nodes[local], kind=kind)


def boundary_points(forest: Forest, scaler: Any, bases: np.ndarray) -> Iterator[BoundaryPoints]:
    """Seven probes per split (see `KINDS`), each on a flow that reaches the split, in batches
    of whole trees.

    `bases` are finite raw flows (e.g. cleaned check data) lending values to unconstrained
    features, so that the probes also travel varied paths below the split.
    """
    scaling = Scaling(scaler)
    for first, stop in _tree_groups(forest):
        start = int(forest.node_offsets[first])
        end = int(forest.node_offsets[stop]) if stop < forest.n_trees else forest.n_nodes
        if end > start:
            yield _probes(
                forest, scaling, _bases_reaching(forest, scaling, bases, start, end), start
            )


def all_boundary_points(forest: Forest, scaler: Any, bases: np.ndarray) -> BoundaryPoints:
    """Every batch of `boundary_points` in one (for small models)."""
    batches = list(boundary_points(forest, scaler, bases))
    if not batches:
        empty = np.zeros(0, dtype=np.int64)
        return BoundaryPoints(np.zeros((0, bases.shape[1])), empty, empty, empty)
    return BoundaryPoints(
        *(
            np.concatenate([getattr(b, key) for b in batches])
            for key in ("rows", "tree", "node", "kind")
        )
    )


def non_finite_probes(base: np.ndarray) -> np.ndarray:
    """`base` with NaN, +inf and -inf in each feature in turn, and in every feature at once."""
    n = len(base)
    rows = np.tile(base, (3 * n + 3, 1))
    for i, special in enumerate((np.nan, np.inf, -np.inf)):
        rows[i * n + np.arange(n), np.arange(n)] = special
        rows[3 * n + i] = special
    return rows
