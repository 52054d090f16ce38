"""Running the scaler backwards: the first raw value reaching a target, exactly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from convert.scaling import Scaling


@pytest.mark.parametrize(
    ("with_mean", "with_std"),
    [
        pytest.param(True, True, id="centred and scaled"),
        pytest.param(False, True, id="scaled only"),
        pytest.param(True, False, id="centred only"),
    ],
)
@pytest.mark.parametrize(
    "float32", [pytest.param(False, id="float64"), pytest.param(True, id="float32")]
)
def test_first_raw_value_reaching_a_target(with_mean: bool, with_std: bool, float32: bool) -> None:
    rng = np.random.default_rng(0)
    raw = np.exp(rng.normal(0.0, 6.0, (500, 4))) * rng.choice([1.0, -1.0], (500, 4))
    scaler = StandardScaler(with_mean=with_mean, with_std=with_std).fit(raw)
    scaling = Scaling(scaler)
    features = rng.integers(0, 4, 300)
    targets = scaler.transform(raw)[rng.integers(0, 500, 300), features]
    targets = targets * rng.uniform(0.5, 1.5, 300)  # on, between and beyond the data
    if float32:
        targets = targets.astype(np.float32)
    found = scaling.first_raw_at_least(features, targets, float32=float32)

    def scaled(x: np.ndarray) -> np.ndarray:
        full = np.zeros((len(x), 4))
        full[np.arange(len(x)), features] = x
        values: np.ndarray = scaler.transform(full)[np.arange(len(x)), features]
        return values.astype(np.float32) if float32 else values

    assert (scaled(found) >= targets).all()
    assert (scaled(np.nextafter(found, -np.inf)) < targets).all()
