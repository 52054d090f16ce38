"""One self-contained graph per model: raw flows in, class names and probabilities out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import onnx

from convert.graph import DOUBLE, FLOAT, OPSETS, STRING, GraphBuilder, tensor
from convert.graph_preprocess import add_cleaning_and_scaling
from convert.tree_model import TreeModel

INPUT = "features"
LABEL = "label"
PROBABILITIES = "probabilities"
DOC = (
    "Input `features`: float64 [N, F] raw flow features in feature_names order. Outputs `label`: "
    "string [N] class names; `probabilities`: float32 [N, C] in class_labels order. Non-finite "
    "values become 0 and the StandardScaler is applied inside the graph."
)

BATCH_DOC = (
    " Batch layout: leaf values are summed inside the tree operator, which onnxruntime does in "
    "the trees' order only on one intra-op thread; run it with intra_op_num_threads=1 (split "
    "rows between concurrent runs for more cores). model.onnx is the self-contained graph."
)


def build_graph(
    name: str,
    model: TreeModel,
    scaler: Any,
    feature_names: Sequence[str],
    class_labels: Sequence[str],
    metadata: dict[str, str],
    *,
    batch: bool = False,
) -> onnx.ModelProto:
    """The whole pipeline of one pickled model as an ONNX model: the self-contained graph, or
    with `batch` the batch-layout graph (the same inputs and outputs; to be run on one
    intra-op thread, see `convert.graph_batch_trees`)."""
    b = GraphBuilder()
    if batch:
        index = model.batch.add_head(b, INPUT, scaler, PROBABILITIES)
    else:
        scaled = add_cleaning_and_scaling(b, INPUT, scaler)
        # The trees see float32, as both scikit-learn and XGBoost cast before comparing.
        index = model.add_head(b, b.op("Cast", [scaled], to=FLOAT), PROBABILITIES)
    names = b.constant("class_labels", list(class_labels))
    b.op("Gather", [names, index], axis=0, output=LABEL)
    props = {
        "feature_names": json.dumps(list(feature_names)),
        "class_labels": json.dumps(list(class_labels)),
        "model_kind": name,
        "model_type": model.type_name,
        "converter_options": json.dumps(model.options, sort_keys=True),
        **metadata,
    }
    return b.model(
        inputs=[tensor(INPUT, DOUBLE, ["N", len(feature_names)])],
        outputs=[
            tensor(LABEL, STRING, ["N"]),
            tensor(PROBABILITIES, FLOAT, ["N", len(class_labels)]),
        ],
        name=name,
        doc=DOC + (BATCH_DOC if batch else ""),
        metadata=props,
        opsets=model.batch.opsets if batch else OPSETS,
    )
