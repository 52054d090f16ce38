"""A model in the converter's terms: its trees, and how the graph turns leaves into answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from convert.forest import Forest
from convert.graph import GraphBuilder

# (builder, float32 scaled features [N, F], name for the probabilities output) -> class index [N]
HeadBuilder = Callable[[GraphBuilder, str, str], str]
# (builder, float64 raw features [N, F], the StandardScaler, name for the probabilities output)
# -> class index [N]: the batch graph does its own cleaning and scaling.
BatchHeadBuilder = Callable[[GraphBuilder, str, Any, str], str]


@dataclass(frozen=True)
class BatchHead:
    """How the batch graph (`model.batch.onnx`) builds the head, and the opsets it imports."""

    add_head: BatchHeadBuilder
    opsets: dict[str, int]


@dataclass(frozen=True)
class TreeModel:
    """What every converter hands to the graph assembly and the parity gate."""

    type_name: str
    forest: Forest
    n_classes: int
    # The trees and what follows them: leaves to class index and probabilities.
    add_head: HeadBuilder
    # The same answers with the leaf values summed inside the tree operator, for large batches
    # run on one intra-op thread per run (`convert.graph_batch_trees`).
    batch: BatchHead
    hyperparameters: dict[str, Any]
    # How the graph reproduces the library's arithmetic: recorded in the graph and the manifest.
    options: dict[str, str]
    # The estimator the parity gate calls: the pickled one, with any nondeterminism pinned down.
    reference: Any
