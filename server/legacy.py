"""The existing service's API, field for field, as plain functions over the registry.

Fields beyond the old service's are additive (old clients ignore them): `model_version` in every
request (optional: the latest version when absent) and every prediction, per-model `versions`,
`feature_count` and `label_classes` in `/models`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from ids_inference import __version__
from server.codecs.features import Matrix, describe, row, whole
from server.errors import InvalidInput, Location, ModelNotFound, PayloadTooLarge, VersionNotFound
from server.model import Model, Prediction
from server.repository import Registry

SERVICE_NAME = "Network Intrusion Detection API"
ENDPOINTS = {
    "health": "/health",
    "models": "/models",
    "predict": "/predict",
    "batch_predict": "/predict/batch",
    "docs": "/docs",
}


def service_info(registry: Registry) -> dict[str, Any]:
    return {
        "service": SERVICE_NAME,
        "version": __version__,
        "status": "running",
        "models_loaded": len(registry),
        "endpoints": ENDPOINTS,
    }


def health(registry: Registry) -> dict[str, Any]:
    return {
        "status": "healthy",
        "models_loaded": len(registry),
        "available_models": registry.names(),
    }


def models_info(registry: Registry, default_model: str) -> dict[str, Any]:
    models = list(registry)
    main = next((model for model in models if model.name == default_model), None)
    main = main or (models[0] if models else None)
    return {
        "models": [
            {
                "name": model.name,
                "type": model.manifest.type,
                "size": model.manifest.size,
                "version": model.version,
                "versions": registry.versions(model.name),
                "loaded": True,
                "feature_count": model.schema.count,
                "label_classes": list(model.class_labels),
            }
            for model in models
        ],
        # The old service had one feature list and one label encoder for all its models; these
        # are the default model's (each model's own are in its entry).
        "feature_count": main.schema.count if main else 0,
        "label_classes": list(main.class_labels) if main else [],
    }


def _model(registry: Registry, request: dict[str, Any], default: str, loc: Location) -> Model:
    name = request.get("model_name", default)
    if not isinstance(name, str):
        raise InvalidInput(f"expected a string, got {describe(name)}", (*loc, "model_name"))
    return registry.get(name, model_version(request.get("model_version"), (*loc, "model_version")))


def model_version(value: Any, loc: Location) -> str | None:
    """A requested version: a string or an integer (`"2"`, `2` or `2.0`); None or absent for the
    latest."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    number = whole(value)
    if number is not None:
        return str(number)
    raise InvalidInput(f"expected a string or an integer, got {describe(value)}", loc)


def _request(value: Any, loc: Location) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(
            f"expected an object with features and model_name, got {describe(value)}",
            loc,
            "model_attributes_type",
        )
    if "features" not in value:
        raise InvalidInput("field required", (*loc, "features"), "missing")
    return value


def decode_predict(payload: Any, registry: Registry, default_model: str) -> tuple[Model, Matrix]:
    """The model and its single row `[1, n_features]` from a `/predict` body."""
    request = _request(payload, ())
    model = _model(registry, request, default_model, ())
    return model, row(request["features"], model.schema, ("features",)).reshape(1, -1)


@dataclass(slots=True)
class Group:
    """The rows of a batch that go to one model: one onnxruntime call."""

    model: Model
    positions: list[int] = field(default_factory=list)  # where each row's result goes
    rows: list[Matrix] = field(default_factory=list)

    def matrix(self) -> Matrix:
        return np.stack(self.rows)


def decode_batch(
    payload: Any, registry: Registry, default_model: str, max_rows: int
) -> list[Group]:
    """A `/predict/batch` JSON body, grouped by model."""
    if not isinstance(payload, list):
        raise InvalidInput(
            f"expected a list of prediction requests, got {describe(payload)}", (), "list_type"
        )
    if len(payload) > max_rows:
        raise PayloadTooLarge(f"Maximum {max_rows} flows per batch")
    if not payload:
        raise InvalidInput("Empty batch")
    groups: dict[tuple[str, str], Group] = {}
    for position, item in enumerate(payload):
        request = _request(item, (position,))
        try:
            model = _model(registry, request, default_model, (position,))
        except VersionNotFound as error:
            raise VersionNotFound(f"[{position}].model_version: {error.message}") from None
        except ModelNotFound as error:
            raise ModelNotFound(f"[{position}].model_name: {error.message}") from None
        group = groups.get((model.name, model.version))
        if group is None:
            group = groups[model.name, model.version] = Group(model)
        group.positions.append(position)
        group.rows.append(row(request["features"], model.schema, (position, "features")))
    return list(groups.values())


def prediction_results(model: Model, prediction: Prediction) -> list[dict[str, Any]]:
    """One result object per row, in the old response's field order."""
    timestamp = datetime.now().isoformat()
    milliseconds = prediction.seconds * 1000 / len(prediction.labels)
    classes = model.class_labels
    results = []
    # Iterating a float32 row yields numpy scalars, which orjson writes in their shortest form
    # (0.7, not 0.699999988079071); plain Python over a handful of classes is cheaper here than
    # a numpy reduction, and this is the single-prediction hot path.
    for label, scores in zip(prediction.labels.tolist(), prediction.probabilities, strict=True):
        values = list(scores)
        results.append(
            {
                "prediction": label,
                "confidence": max(values),
                "probabilities": dict(zip(classes, values, strict=True)),
                "model_used": model.name,
                "model_version": model.version,
                "inference_time_ms": milliseconds,
                "timestamp": timestamp,
            }
        )
    return results


def batch_response(results: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    total_ms = seconds * 1000
    return {
        "total_predictions": len(results),
        "total_time_ms": total_ms,
        "avg_time_per_prediction_ms": total_ms / len(results),
        "results": results,
    }


def csv_records(model: Model, prediction: Prediction) -> tuple[list[str], list[list[object]]]:
    """The CSV answer: one line per input row, in input order."""
    header = ["row", "prediction", "confidence", "model_used", "model_version"]
    header += [f"probability_{label}" for label in model.class_labels]
    # str() of a float32 array gives each number's shortest form, in one vectorised call.
    confidences = prediction.probabilities.max(axis=1).astype(str).tolist()
    probabilities = prediction.probabilities.astype(str).tolist()
    records: list[list[object]] = [
        [number, label, confidence, model.name, model.version, *columns]
        for number, label, confidence, columns in zip(
            range(1, len(confidences) + 1),
            prediction.labels.tolist(),
            confidences,
            probabilities,
            strict=True,
        )
    ]
    return header, records
