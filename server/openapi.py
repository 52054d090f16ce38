"""The OpenAPI 3.1 document: every route, its bodies, answers and examples.

Written by hand rather than generated: there are no request models to generate it from (the
decoders are plain functions), and a fuzzer checks each response against these schemas.
"""

from __future__ import annotations

from typing import Any

from ids_inference import __version__
from server.openapi_examples import Examples, examples_for
from server.openapi_operations import OPERATIONS_SCHEMAS, common_answers, operations_paths
from server.openapi_served import ref, served_schemas
from server.repository import Registry
from server.settings import Settings


def _json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _answer(description: str, schema: str, example: Any = None) -> dict[str, Any]:
    return {"description": description, "content": _json(ref(schema), example)}


LEGACY_ERRORS = {
    "400": _answer("Unknown model_name, or no such model_version", "LegacyError"),
    "413": _answer("Body or batch too large", "LegacyError"),
    "415": _answer("Unsupported Content-Type or Content-Encoding", "LegacyError"),
    "422": _answer("Invalid input: the message names the field or index", "ValidationError"),
    "500": _answer("Unexpected error (logged with the request id)", "InternalError"),
}
V2_ERRORS = {
    "400": _answer("Invalid request", "V2Error"),
    "404": _answer("Unknown model or version", "V2Error"),
    "413": _answer("Body or rows too large", "V2Error"),
    "415": _answer("Unsupported Content-Type or Content-Encoding", "V2Error"),
    "500": _answer("Unexpected error (logged with the request id)", "InternalError"),
}
NAME = {"name": "name", "in": "path", "required": True, "schema": ref("ModelName")}
VERSION = {"name": "version", "in": "path", "required": True, "schema": ref("ModelVersion")}

_SHAPE = {"type": "array", "items": {"type": "integer"}}


def _parameters(name: str, kind: str) -> dict[str, Any]:
    return {"type": "object", "properties": {name: {"type": kind}}}


def _tensor(name: Any, datatype: Any, **more: Any) -> dict[str, Any]:
    """A v2 tensor object: name, datatype and shape, and any further properties."""
    return {
        "type": "object",
        "required": ["name", "datatype", "shape"],
        "properties": {"name": name, "datatype": datatype, "shape": _SHAPE, **more},
    }


_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": _STRING}

SCHEMAS: dict[str, Any] = {
    "BatchPrediction": {
        "type": "object",
        "required": ["total_predictions", "total_time_ms", "avg_time_per_prediction_ms", "results"],
        "properties": {
            "total_predictions": {"type": "integer", "minimum": 1},
            "total_time_ms": {"type": "number", "minimum": 0},
            "avg_time_per_prediction_ms": {"type": "number", "minimum": 0},
            "results": {"type": "array", "items": ref("Prediction"), "minItems": 1},
        },
    },
    "LegacyError": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {"error": _STRING, "detail": {"description": "the message again", **_STRING}},
    },
    "ValidationError": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": {"description": "the location and the reason, as one message", **_STRING},
            "detail": {
                "description": "FastAPI's validation-error list (the old service's 422 body)",
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["loc", "msg", "type"],
                    "properties": {
                        # Not `prefixItems` (first: "body"): schemathesis 4.32 rewrites it
                        # into a form its own check of response schemas then refuses.
                        "loc": {
                            "description": '"body", then the field names and list indexes',
                            "type": "array",
                            "items": {"type": ["string", "integer"]},
                            "minItems": 1,
                        },
                        "msg": _STRING,
                        "type": _STRING,
                    },
                },
            },
        },
    },
    "V2Error": {"type": "object", "required": ["error"], "properties": {"error": _STRING}},
    "InternalError": {
        "type": "object",
        "required": ["error", "request_id"],
        "properties": {"error": _STRING, "request_id": _STRING},
    },
    "TensorMetadata": _tensor(_STRING, _STRING),
    "ModelMetadata": {
        "type": "object",
        "required": ["name", "versions", "platform", "inputs", "outputs"],
        "properties": {
            "name": _STRING,
            "versions": _STRINGS,
            "platform": _STRING,
            "inputs": {"type": "array", "items": ref("TensorMetadata")},
            "outputs": {"type": "array", "items": ref("TensorMetadata")},
        },
    },
    "InferResponse": {
        "type": "object",
        "required": ["model_name", "model_version", "outputs"],
        "properties": {
            "model_name": ref("ModelName"),
            "model_version": ref("ModelVersion"),
            "id": _STRING,
            "outputs": {
                "type": "array",
                "items": _tensor(
                    _STRING,
                    _STRING,
                    parameters=_parameters("binary_data_size", "integer"),
                    data={"type": "array"},
                ),
            },
        },
    },
}

_BINARY_NOTE = (
    "Binary tensor data extension: a JSON header of `Inference-Header-Content-Length` bytes, "
    "then each binary input's little-endian bytes (sizes in `parameters.binary_data_size`). "
    "Outputs asked for with `parameters.binary_data: true` (or request parameter "
    "`binary_data_output: true`) come back the same way; BYTES elements are a 4-byte "
    "little-endian length followed by the bytes."
)


def _infer(parameters: list[dict[str, Any]], examples: Examples) -> dict[str, Any]:
    return {
        "post": {
            "summary": "Run inference (v2)",
            "description": _BINARY_NOTE,
            "parameters": [
                *parameters,
                {
                    "name": "Inference-Header-Content-Length",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 0},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {
                    **_json(ref("InferRequest"), examples.infer),
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                },
            },
            "responses": {
                "200": {
                    "description": "Outputs (JSON, or JSON header + binary data)",
                    "content": {
                        **_json(ref("InferResponse"), examples.infer_answer),
                        "application/octet-stream": {
                            "schema": {"type": "string", "format": "binary"}
                        },
                    },
                },
                **V2_ERRORS,
            },
        }
    }


def _get(summary: str, answer: dict[str, Any], errors: dict[str, Any] | None = None) -> Any:
    return {"get": {"summary": summary, "responses": {"200": answer, **(errors or {})}}}


def _model_paths(
    prefix: str, parameters: list[dict[str, Any]], examples: Examples
) -> dict[str, Any]:
    not_found = {"404": V2_ERRORS["404"]}
    return {
        prefix: {
            **_get("Model metadata (v2)", _answer("Metadata", "ModelMetadata"), not_found),
        },
        f"{prefix}/ready": _get(
            "Model readiness (v2)",
            {
                "description": "Ready",
                "content": _json(
                    {
                        "type": "object",
                        "required": ["name", "version", "ready"],
                        "properties": {
                            "name": ref("ModelName"),
                            "version": ref("ModelVersion"),
                            "ready": {"const": True},
                        },
                    },
                    examples.ready,
                ),
            },
            not_found,
        ),
        f"{prefix}/infer": _infer(parameters, examples),
    }


def _with_parameters(paths: dict[str, Any], parameters: list[dict[str, Any]]) -> dict[str, Any]:
    for item in paths.values():
        for operation in item.values():
            operation.setdefault("parameters", list(parameters))
    return paths


def _legacy_paths(examples: Examples, settings: Settings) -> dict[str, Any]:
    csv_text = {"text/csv": {"schema": {"type": "string"}}}
    return {
        "/": _get(
            "Service information",
            {
                "description": "Service, version, status, models_loaded, endpoints",
                "content": _json(
                    {
                        "type": "object",
                        "required": ["service", "version", "status", "models_loaded", "endpoints"],
                    }
                ),
            },
        ),
        "/health": _get(
            "Health (the existing service's)",
            {
                "description": "Healthy",
                "content": _json(
                    {
                        "type": "object",
                        "required": ["status", "models_loaded", "available_models"],
                        "properties": {
                            "status": _STRING,
                            "models_loaded": {"type": "integer"},
                            "available_models": _STRINGS,
                        },
                    }
                ),
            },
        ),
        "/models": _get(
            "Loaded models",
            {
                "description": "Per model: name, type, size, version (the latest), versions (every "
                "one served), loaded, feature_count, label_classes",
                "content": _json(
                    {"type": "object", "required": ["models", "feature_count", "label_classes"]}
                ),
            },
        ),
        "/predict": {
            "post": {
                "summary": "Predict one flow",
                "requestBody": {
                    "required": True,
                    "content": _json(
                        ref("PredictRequest"),
                        examples.predict,
                    ),
                },
                "responses": {
                    "200": _answer("The prediction", "Prediction", examples.prediction),
                    **LEGACY_ERRORS,
                },
            }
        },
        "/predict/batch": {
            "post": {
                "summary": "Predict many flows (JSON list, or a flow extractor's CSV)",
                "description": "Rows for the same model run as one onnxruntime call. A CSV body "
                "needs a header line; columns are matched by name in any order, named as "
                "CICIDS2017's files, CICFlowMeter (`cfm`'s 84 columns) or CSE-CIC-IDS2018's "
                "files name them, ignoring whitespace and case; other columns are ignored, two "
                "columns naming one feature are refused. Answers CSV when the client sends "
                "`Accept: text/csv`.",
                "parameters": [
                    {
                        "name": "model_name",
                        "in": "query",
                        "required": False,
                        "description": "the model for a CSV body",
                        "schema": {**ref("ModelName"), "default": settings.default_model},
                    },
                    {
                        "name": "model_version",
                        "in": "query",
                        "required": False,
                        "description": "its version for a CSV body (the latest when absent)",
                        "schema": ref("ModelVersion"),
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        **_json(ref("BatchRequest"), examples.batch),
                        **csv_text,
                    },
                },
                "responses": {
                    "200": {
                        "description": "One result per flow, in input order",
                        "content": {**_json(ref("BatchPrediction")), **csv_text},
                    },
                    **LEGACY_ERRORS,
                },
            }
        },
    }


def _v2_paths(examples: Examples) -> dict[str, Any]:
    flag = {"type": "object", "properties": {"live": {"type": "boolean"}}}
    ready = {"type": "object", "properties": {"ready": {"type": "boolean"}}}
    server = {
        "type": "object",
        "required": ["name", "version", "extensions"],
        "properties": {"name": _STRING, "version": _STRING, "extensions": _STRINGS},
    }
    return {
        "/v2": _get("Server metadata (v2)", {"description": "Metadata", "content": _json(server)}),
        "/v2/health/live": _get("Liveness (v2)", {"description": "Live", "content": _json(flag)}),
        "/v2/health/ready": _get(
            "Readiness (v2)",
            {"description": "Ready", "content": _json(ready)},
            {"503": _answer("Not ready", "V2Error")},
        ),
        **_with_parameters(_model_paths("/v2/models/{name}", [NAME], examples), [NAME]),
        **_with_parameters(
            _model_paths("/v2/models/{name}/versions/{version}", [NAME, VERSION], examples),
            [NAME, VERSION],
        ),
    }


def openapi_document(registry: Registry, settings: Settings) -> dict[str, Any]:
    """The whole document for the models in `registry`, stating bearer authentication when the
    settings require it."""
    models = list(registry)
    default = next((model for model in models if model.name == settings.default_model), None)
    examples = examples_for(default or (models[0] if models else None))
    paths = {**_legacy_paths(examples, settings), **_v2_paths(examples)}
    for path, item in paths.items():
        tag = "Open Inference Protocol (v2)" if path.startswith("/v2") else "Existing API"
        for operation in item.values():
            operation["tags"] = [tag]
    paths.update(operations_paths())
    served = served_schemas(registry, settings.default_model, settings.max_batch_rows)
    components: dict[str, Any] = {"schemas": {**SCHEMAS, **served, **OPERATIONS_SCHEMAS}}
    auth = bool(settings.auth_tokens)
    components.update(common_answers(paths, auth, settings.metrics_require_auth))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ids-inference",
            "version": __version__,
            "description": "CICIDS2017 intrusion detection models served from ONNX: the "
            "existing API, field for field, and the Open Inference Protocol (v2).",
        },
        "paths": paths,
        "components": components,
        **({"security": [{"bearer": []}]} if auth else {}),
    }
