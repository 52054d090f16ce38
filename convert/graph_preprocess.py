"""The graph's first part: the training's cleaning and the StandardScaler, in float64."""

from __future__ import annotations

from typing import Any

import numpy as np

from convert.graph import GraphBuilder


def add_cleaning_and_scaling(b: GraphBuilder, features: str, scaler: Any) -> str:
    """Non-finite values become 0, then `(x - mean_) / scale_` exactly as `scaler.transform`.

    Both steps stay in float64 so every value equals scikit-learn's bit for bit: IEEE
    subtraction and division are correctly rounded in any runtime.
    """
    zero = b.constant("zero", np.array(0.0, dtype=np.float64))
    # x - x is 0 exactly when x is finite (inf - inf and NaN - NaN are NaN): one node fewer
    # than IsNaN, IsInf and Or.
    finite = b.op("Equal", [b.op("Sub", [features, features]), zero])
    return add_scaling(b, b.op("Where", [finite, features, zero]), scaler)


def add_non_finite_as_nan(b: GraphBuilder, features: str) -> str:
    """±inf and NaN become NaN, finite values stay as they are: `x + (x - x)`.

    Two plain additions instead of the cleaning's three nodes (one a `Where`, slow on large
    batches). The batch graphs' trees send NaN where the cleaned value 0 would go
    (`nodes_missing_value_tracks_true`), which is the cleaning's effect on them.
    """
    return b.op("Add", [features, b.op("Sub", [features, features])])


def add_scaling(b: GraphBuilder, x: str, scaler: Any) -> str:
    """`(x - mean_) / scale_` in float64, exactly as `scaler.transform`."""
    if scaler.with_mean:
        x = b.op("Sub", [x, b.constant("scaler_mean", np.asarray(scaler.mean_, np.float64))])
    if scaler.with_std:
        x = b.op("Div", [x, b.constant("scaler_scale", np.asarray(scaler.scale_, np.float64))])
    return x
