"""Boundary inputs: raw flows that put a feature exactly on each split of a model, and one step
either side, with every other feature set so that the flow reaches that split.

The trees compare the float32 of the scaled value, so the scaler decides which raw values land
where. The scaling `(x - mean) / scale` in float64 and the float32 cast are both monotone, so
for any target the first raw float64 that reaches it can be found by bisection over the ordered
float64 values (64 halvings cover them all).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convert.forest import Forest

KINDS = (
    "raw value scaling onto the split",
    "float64 step below that",
    "float64 step above that",
    "last raw value sent left",
    "first raw value sent right",
    "float32 step further left",
    "float32 step further right",
)
_SIGN = np.int64(-(2**63))
_MAGNITUDE = np.int64(2**63 - 1)
_FLOAT32_UP = np.float32(np.inf)


def _key(values: np.ndarray) -> np.ndarray:
    """float64 -> int64 that orders like the values (-0.0 and 0.0 share 0)."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    return np.where(bits < 0, -(bits & _MAGNITUDE), bits)


def _value(keys: np.ndarray) -> np.ndarray:
    bits = np.where(keys < 0, (-keys) | _SIGN, keys)
    return np.ascontiguousarray(bits, dtype=np.int64).view(np.float64)


_TOP = int(_key(np.array([np.finfo(np.float64).max]))[0])


class Scaling:
    """The scaler's arithmetic on single features, exactly as `StandardScaler.transform`."""

    def __init__(self, scaler: Any) -> None:
        self.mean = np.asarray(scaler.mean_, np.float64) if scaler.with_mean else None
        self.scale = np.asarray(scaler.scale_, np.float64) if scaler.with_std else None

    def __call__(self, features: np.ndarray, raw: np.ndarray) -> np.ndarray:
        x = np.asarray(raw, dtype=np.float64)
        with np.errstate(over="ignore"):
            if self.mean is not None:
                x = x - self.mean[features]
            if self.scale is not None:
                x = x / self.scale[features]
        return x

    def float32(self, features: np.ndarray, raw: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return self(features, raw).astype(np.float32)

    def first_raw_at_least(
        self, features: np.ndarray, targets: np.ndarray, *, float32: bool
    ) -> np.ndarray:
        """Per target, the smallest finite raw value whose scaled value (as float32 when
        `float32`) is >= the target; NaN where no raw value gets there."""

        def holds(keys: np.ndarray) -> np.ndarray:
            raw = _value(keys)
            scaled = self.float32(features, raw) if float32 else self(features, raw)
            result: np.ndarray = scaled >= targets
            return result

        low = np.full(len(targets), -_TOP, dtype=np.int64)
        high = np.full(len(targets), _TOP, dtype=np.int64)
        reachable = holds(high)
        while (active := low < high).any():
            middle = (low >> 1) + (high >> 1) + (low & high & 1)  # floor((low + high) / 2)
            ok = holds(middle)
            high = np.where(active & ok, middle, high)
            low = np.where(active & ~ok, middle + 1, low)
        found = _value(high)
        found[~reachable] = np.nan
        return found

    def last_raw_at_most32(self, features: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        """Per bound, the largest raw value whose float32 scaled value is <= the bound."""
        above = self.first_raw_at_least(features, np.nextafter(bounds, _FLOAT32_UP), float32=True)
        below: np.ndarray = np.nextafter(above, -np.inf)
        return below


@dataclass(frozen=True)
class BoundaryPoints:
    """Raw flows probing the splits: row i probes internal node `node[i]` of tree `tree[i]`."""

    rows: np.ndarray
    tree: np.ndarray
    node: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def describe(self, i: int, forest: Forest, feature_names: list[str]) -> str:
        node = int(self.node[i])
        feature = int(forest.feature[node])
        return (
            f"tree {int(self.tree[i])} split on {feature_names[feature]!r} at "
            f"{float(forest.threshold[node])!r}: {KINDS[int(self.kind[i])]} "
            f"({float(self.rows[i, feature])!r})"
        )


@dataclass(frozen=True)
class _Paths:
    """For every internal node, the float32 interval each feature must lie in to reach it."""

    tree: np.ndarray
    node: np.ndarray  # per constraint
    feature: np.ndarray
    low: np.ndarray
    high: np.ndarray


def _paths(forest: Forest) -> _Paths:
    tree_of = np.zeros(forest.n_nodes, dtype=np.int64)
    node_ids: list[int] = []
    features: list[int] = []
    lows: list[float] = []
    highs: list[float] = []
    right_min = np.nextafter(forest.left_max, _FLOAT32_UP)
    for t, root in enumerate(forest.roots.tolist()):
        if root < 0:
            continue
        stack: list[tuple[int, dict[int, tuple[float, float]]]] = [(root, {})]
        while stack:
            node, bounds = stack.pop()
            tree_of[node] = t
            for feature, (low, high) in bounds.items():
                node_ids.append(node)
                features.append(feature)
                lows.append(low)
                highs.append(high)
            f = int(forest.feature[node])
            low, high = bounds.get(f, (-np.inf, np.inf))
            if not forest.true_leaf[node]:
                stack.append(
                    (
                        int(forest.true_id[node]),
                        {**bounds, f: (low, min(high, float(forest.left_max[node])))},
                    )
                )
            if not forest.false_leaf[node]:
                stack.append(
                    (
                        int(forest.false_id[node]),
                        {**bounds, f: (max(low, float(right_min[node])), high)},
                    )
                )
    return _Paths(
        tree=tree_of,
        node=np.array(node_ids, dtype=np.int64),
        feature=np.array(features, dtype=np.int64),
        low=np.array(lows, dtype=np.float32),
        high=np.array(highs, dtype=np.float32),
    )


def _bases_reaching_nodes(
    forest: Forest, scaling: Scaling, bases: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One base row per internal node (cycling through `bases`), moved onto the node's path."""
    paths = _paths(forest)
    rows = bases[np.arange(forest.n_nodes) % len(bases)].copy()
    # The split's own feature is overwritten by the probes; only the other ones need moving.
    other = paths.feature != forest.feature[paths.node]
    node, feature = paths.node[other], paths.feature[other]
    low, high = paths.low[other], paths.high[other]
    scaled = scaling.float32(feature, rows[node, feature])
    below, above = scaled < low, scaled > high
    rows[node[below], feature[below]] = scaling.first_raw_at_least(
        feature[below], low[below], float32=True
    )
    rows[node[above], feature[above]] = scaling.last_raw_at_most32(feature[above], high[above])
    # A NaN here means no raw value reaches that interval: nothing reaches the node, so any
    # value will do for the probes.
    rows[np.isnan(rows)] = 0.0
    return rows, paths.tree


def boundary_points(forest: Forest, scaler: Any, bases: np.ndarray) -> BoundaryPoints:
    """Seven probes per split (see `KINDS`), each on a flow that reaches the split.

    `bases` are finite raw flows (e.g. cleaned check data) lending values to unconstrained
    features, so that the probes also travel varied paths below the split.
    """
    if forest.n_nodes == 0:
        empty = np.zeros(0, dtype=np.int64)
        return BoundaryPoints(np.zeros((0, bases.shape[1])), empty, empty, empty)
    scaling = Scaling(scaler)
    rows, tree_of = _bases_reaching_nodes(forest, scaling, bases)
    f = forest.feature
    left, right = forest.left_max, np.nextafter(forest.left_max, _FLOAT32_UP)
    on = scaling.first_raw_at_least(f, forest.threshold, float32=False)
    first_right = scaling.first_raw_at_least(f, right, float32=True)
    first_at_left_max = scaling.first_raw_at_least(f, left, float32=True)
    beyond = scaling.first_raw_at_least(f, np.nextafter(right, _FLOAT32_UP), float32=True)
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
    node = np.repeat(np.arange(forest.n_nodes), len(KINDS))
    kind = np.tile(np.arange(len(KINDS)), forest.n_nodes)
    value = probes.reshape(-1)
    keep = np.isfinite(value)
    node, kind, value = node[keep], kind[keep], value[keep]
    # The same raw value can be two kinds at once (a split that is itself a float32): keep one.
    _, first = np.unique(np.stack([node.astype(np.float64), value]), axis=1, return_index=True)
    first.sort()
    node, kind, value = node[first], kind[first], value[first]
    points = rows[node]
    points[np.arange(len(node)), f[node]] = value
    return BoundaryPoints(rows=points, tree=tree_of[node], node=node, kind=kind)


def non_finite_probes(base: np.ndarray) -> np.ndarray:
    """`base` with NaN, +inf and -inf in each feature in turn, and in every feature at once."""
    n = len(base)
    rows = np.tile(base, (3 * n + 3, 1))
    for i, special in enumerate((np.nan, np.inf, -np.inf)):
        rows[i * n + np.arange(n), np.arange(n)] = special
        rows[3 * n + i] = special
    return rows
