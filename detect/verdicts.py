"""What a model says about a batch of flows, however it was asked (in-process or a server)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

Features = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True, slots=True)
class Verdicts:
    """One label per flow and its class probabilities, `class_labels` order."""

    labels: list[str]
    probabilities: np.ndarray[Any, np.dtype[np.float32]]  # [n, len(class_labels)]


class Scorer(Protocol):
    """A model ready to judge flows: `score` takes float64 `[n, 78]` rows in
    `models.features.FEATURE_NAMES` order (as the flow meter yields them)."""

    name: str
    version: str
    class_labels: tuple[str, ...]
    where: str  # for the summary: "in-process" or the server's URL

    def score(self, features: Features) -> Verdicts: ...

    def close(self) -> None: ...
