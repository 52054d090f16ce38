"""The OpenAPI document's examples, made from a served model so that the server accepts each one
(a test sends them): its name, version, feature count, input and output names, class labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.manifest import LABEL, PROBABILITIES
from server.model import Model

# A CICIDS2017 flow (a benign HTTPS connection), in the dataset's column order.
EXAMPLE_FEATURES = [
    80, 5021059, 6, 5, 703, 1414, 356, 0, 117.1666667, 181.5361305, 1050, 0, 282.8, 456.923626,
    421.6242032, 2.190772903, 502105.9, 1568379.157, 4965658, 19, 55401, 11080.2, 17612.66701,
    41863, 19, 5020928, 1255232, 2499939.593, 5005133, 1053, 0, 0, 0, 0, 200, 168, 1.194967038,
    0.995805865, 0, 1050, 176.4166667, 317.4711034, 100787.9015, 0, 0, 0, 1, 0, 0, 0, 0, 0,
    192.4545455, 117.1666667, 282.8, 200, 0, 0, 0, 0, 0, 0, 6, 703, 5, 1414, 29200, 243, 2, 32,
    0, 0, 0, 0, 0, 0, 0, 0,
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Examples:
    predict: dict[str, Any] | None = None
    batch: list[dict[str, Any]] | None = None
    prediction: dict[str, Any] | None = None
    infer: dict[str, Any] | None = None
    infer_answer: dict[str, Any] | None = None
    ready: dict[str, Any] | None = None


def examples_for(model: Model | None) -> Examples:
    """Examples for `model` (the default one); none when no model is served."""
    if model is None:
        return Examples()
    count = model.schema.count
    features: list[float] = EXAMPLE_FEATURES if count == len(EXAMPLE_FEATURES) else [0.0] * count
    labels = model.class_labels
    # The first class at 0.97, the rest sharing what is left: a plausible answer's shape.
    rest = len(labels) - 1
    scores = [0.97] + [round(0.03 / rest, 6)] * rest if rest else [1.0]
    predict = {"features": features, "model_name": model.name}
    identity = {"model_name": model.name, "model_version": model.version}
    outputs = [spec.name for spec in model.manifest.outputs]
    datatypes = {spec.name: spec.datatype for spec in model.manifest.outputs}
    values = {LABEL: ([1], [labels[0]]), PROBABILITIES: ([1, len(labels)], scores)}
    return Examples(
        predict=predict,
        batch=[predict, {**predict, "model_version": model.version}],
        prediction={
            "prediction": labels[0],
            "confidence": scores[0],
            "probabilities": dict(zip(labels, scores, strict=True)),
            "model_used": model.name,
            "model_version": model.version,
            "inference_time_ms": 0.021,
            "timestamp": "2026-11-27T18:55:00.123456",
        },
        infer={
            "id": "flow-42",
            "inputs": [
                {
                    "name": model.manifest.inputs[0].name,
                    "datatype": "FP64",
                    "shape": [1, count],
                    "data": features,
                }
            ],
            "outputs": [{"name": name} for name in outputs],
        },
        infer_answer={
            **identity,
            "id": "flow-42",
            "outputs": [
                {
                    "name": name,
                    "datatype": datatypes[name],
                    "shape": values[name][0],
                    "data": values[name][1],
                }
                for name in outputs
                if name in values
            ],
        },
        ready={"name": model.name, "version": model.version, "ready": True},
    )
