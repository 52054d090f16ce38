"""Why a model misses: which training flows the missed (or wrongly flagged) flows lie closest
to, and the features that tell the two apart, measured rather than guessed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.features import FEATURE_NAMES

Matrix = np.ndarray[Any, np.dtype[np.float64]]
# Features that show what a flow is at a glance (sizes, packet counts, duration, windows).
SHOWN = (
    "Total Fwd Packets",
    "Total Backward Packets",
    "Total Length of Fwd Packets",
    "Fwd Packet Length Max",
    "Total Length of Bwd Packets",
    "Flow Duration",
    "Init_Win_bytes_forward",
    "Init_Win_bytes_backward",
)


def _space(features: Matrix) -> Matrix:
    """Signed log magnitudes, so that byte counts and microsecond times weigh alike."""
    clean = np.nan_to_num(features, nan=0.0, posinf=0.0, neginf=0.0)
    return np.sign(clean) * np.log1p(np.abs(clean))


@dataclass(frozen=True)
class Reference:
    """Training flows, each with the name of the set it came from (`web (benign)`, ...)."""

    features: Matrix
    sources: np.ndarray[Any, np.dtype[np.object_]]

    def nearest(self, flows: Matrix, block: int = 256) -> list[str]:
        points = _space(self.features)
        squares = (points**2).sum(axis=1)
        found: list[str] = []
        for start in range(0, len(flows), block):
            query = _space(flows[start : start + block])
            distances = squares[None, :] - 2 * query @ points.T
            found += self.sources[np.argmin(distances, axis=1)].tolist()
        return found


def medians(features: Matrix) -> dict[str, float]:
    return {
        name: float(np.median(features[:, FEATURE_NAMES.index(name)])) if len(features) else 0.0
        for name in SHOWN
    }


def nearest_shares(reference: Reference, flows: Matrix) -> list[tuple[str, int]]:
    return Counter(reference.nearest(flows)).most_common()


# A flow's shape: packets and payload bytes each way, what tells a request from a bare ACK.
SHAPE = (
    "Total Fwd Packets",
    "Total Backward Packets",
    "Total Length of Fwd Packets",
    "Total Length of Bwd Packets",
)
_SHAPE = [FEATURE_NAMES.index(name) for name in SHAPE]


def shapes(features: Matrix) -> Counter[tuple[int, ...]]:
    return Counter(tuple(int(v) for v in row) for row in features[:, _SHAPE].tolist())


def same_shape(reference: Reference, shape: tuple[int, ...]) -> list[tuple[str, int]]:
    """How many training flows of each set have exactly `shape`."""
    mine = np.all(reference.features[:, _SHAPE] == np.array(shape, dtype=np.float64), axis=1)
    return Counter(reference.sources[mine].tolist()).most_common()
