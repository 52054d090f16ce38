"""A model in the converter's terms: its trees, and how the graph turns leaves into answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from convert.forest import Forest
from convert.graph import GraphBuilder

# (builder, leaf ids [N, *layout] int32, name for the probabilities output) -> class index [N]
HeadBuilder = Callable[[GraphBuilder, str, str], str]


@dataclass(frozen=True)
class TreeModel:
    """What every converter hands to the graph assembly and the parity gate."""

    type_name: str
    forest: Forest
    n_classes: int
    # How the head wants the trees' leaf ids arranged: an array of tree numbers.
    layout: np.ndarray
    add_head: HeadBuilder
    hyperparameters: dict[str, Any]
    # How the graph reproduces the library's arithmetic: recorded in the graph and the manifest.
    options: dict[str, str]
    # The estimator the parity gate calls: the pickled one, with any nondeterminism pinned down.
    reference: Any
