"""The scaler's arithmetic run backwards: which raw values scale onto a given value.

`(x - mean) / scale` in float64 and the cast to float32 are both monotone, so for any target
the first raw float64 that reaches it can be found by bisection over the float64 values in
order (64 halvings cover them all).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_SIGN = np.int64(-(2**63))
_MAGNITUDE = np.int64(2**63 - 1)
FLOAT32_UP = np.float32(np.inf)


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
        above = self.first_raw_at_least(features, np.nextafter(bounds, FLOAT32_UP), float32=True)
        below: np.ndarray = np.nextafter(above, -np.inf)
        return below
