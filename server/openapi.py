"""The OpenAPI 3.1 document: every route, its bodies, answers and examples.

Written by hand rather than generated: there are no request models to generate it from (the
decoders are plain functions), and a fuzzer checks each response against these schemas.
"""

from __future__ import annotations

from typing import Any

from ids_inference import __version__
from server.openapi_operations import OPERATIONS_SCHEMAS, common_answers, operations_paths

EXAMPLE_FEATURES = [
    80, 5021059, 6, 5, 703, 1414, 356, 0, 117.1666667, 181.5361305, 1050, 0, 282.8, 456.923626,
    421.6242032, 2.190772903, 502105.9, 1568379.157, 4965658, 19, 55401, 11080.2, 17612.66701,
    41863, 19, 5020928, 1255232, 2499939.593, 5005133, 1053, 0, 0, 0, 0, 200, 168, 1.194967038,
    0.995805865, 0, 1050, 176.4166667, 317.4711034, 100787.9015, 0, 0, 0, 1, 0, 0, 0, 0, 0,
    192.4545455, 117.1666667, 282.8, 200, 0, 0, 0, 0, 0, 0, 6, 703, 5, 1414, 29200, 243, 2, 32,
    0, 0, 0, 0, 0, 0, 0, 0,
]  # fmt: skip
EXAMPLE_PREDICTION = {
    "prediction": "BENIGN",
    "confidence": 0.97,
    "probabilities": {"ATTACK": 0.03, "BENIGN": 0.97},
    "model_used": "random_forest",
    "model_version": "1",
    "inference_time_ms": 0.021,
    "timestamp": "2026-11-27T18:55:00.123456",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _answer(description: str, schema: str, example: Any = None) -> dict[str, Any]:
    return {"description": description, "content": _json(_ref(schema), example)}


LEGACY_ERRORS = {
    "400": _answer("Unknown model_name", "LegacyError"),
    "413": _answer("Body or batch too large", "LegacyError"),
    "415": _answer("Unsupported Content-Type or Content-Encoding", "LegacyError"),
    "422": _answer("Invalid input: the message names the field or index", "LegacyError"),
    "500": _answer("Unexpected error (logged with the request id)", "InternalError"),
}
V2_ERRORS = {
    "400": _answer("Invalid request", "V2Error"),
    "404": _answer("Unknown model or version", "V2Error"),
    "413": _answer("Body or rows too large", "V2Error"),
    "415": _answer("Unsupported Content-Type or Content-Encoding", "V2Error"),
    "500": _answer("Unexpected error (logged with the request id)", "InternalError"),
}
NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
VERSION = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}

_NUMBER_MAP = {"type": "object", "additionalProperties": {"type": "number"}}
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
    "Features": {
        "description": "78 numbers in the model's feature order, or an object of feature name "
        "(the CSV header names; whitespace is ignored) -> number. Numbers may also be written "
        "as strings, as the old service accepted; NaN and Infinity are read as the flow "
        "extractor writes them.",
        "oneOf": [
            {"type": "array", "items": {"type": "number"}, "minItems": 1},
            {"type": "object", "additionalProperties": {"type": "number"}, "minProperties": 1},
        ],
    },
    "PredictRequest": {
        "type": "object",
        "required": ["features"],
        "properties": {
            "features": _ref("Features"),
            "model_name": {"type": "string", "default": "random_forest"},
            "model_version": {
                "type": ["string", "integer", "null"],
                "description": "a version of the model (see /models); its latest when absent",
            },
        },
    },
    "Prediction": {
        "type": "object",
        "required": list(EXAMPLE_PREDICTION),
        "properties": {
            "prediction": _STRING,
            "confidence": {"type": "number"},
            "probabilities": _NUMBER_MAP,
            "model_used": _STRING,
            "model_version": _STRING,
            "inference_time_ms": {"type": "number"},
            "timestamp": _STRING,
        },
    },
    "BatchPrediction": {
        "type": "object",
        "required": ["total_predictions", "total_time_ms", "avg_time_per_prediction_ms", "results"],
        "properties": {
            "total_predictions": {"type": "integer"},
            "total_time_ms": {"type": "number"},
            "avg_time_per_prediction_ms": {"type": "number"},
            "results": {"type": "array", "items": _ref("Prediction")},
        },
    },
    "LegacyError": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": _STRING,
            "detail": {
                "description": "FastAPI's field: the message, or for 422 a list of locations",
                "oneOf": [
                    _STRING,
                    {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["loc", "msg", "type"],
                            "properties": {
                                "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                                "msg": _STRING,
                                "type": _STRING,
                            },
                        },
                    },
                ],
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
            "inputs": {"type": "array", "items": _ref("TensorMetadata")},
            "outputs": {"type": "array", "items": _ref("TensorMetadata")},
        },
    },
    "InferRequest": {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "id": _STRING,
            "parameters": _parameters("binary_data_output", "boolean"),
            "inputs": {
                "type": "array",
                "items": _tensor(
                    {"type": "string", "enum": ["features"]},
                    {"type": "string", "enum": ["FP64", "FP32"]},
                    parameters=_parameters("binary_data_size", "integer"),
                    data={"type": "array", "description": "row-major, flat or nested"},
                ),
            },
            "outputs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "enum": ["label", "probabilities"]},
                        "parameters": _parameters("binary_data", "boolean"),
                    },
                },
            },
        },
    },
    "InferResponse": {
        "type": "object",
        "required": ["model_name", "model_version", "outputs"],
        "properties": {
            "model_name": _STRING,
            "model_version": _STRING,
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
_INFER_EXAMPLE = {
    "id": "flow-42",
    "inputs": [
        {"name": "features", "datatype": "FP64", "shape": [1, 78], "data": EXAMPLE_FEATURES}
    ],
    "outputs": [{"name": "label"}, {"name": "probabilities"}],
}
_INFER_ANSWER = {
    "model_name": "random_forest",
    "model_version": "1",
    "id": "flow-42",
    "outputs": [
        {"name": "label", "datatype": "BYTES", "shape": [1], "data": ["BENIGN"]},
        {"name": "probabilities", "datatype": "FP32", "shape": [1, 2], "data": [0.03, 0.97]},
    ],
}


def _infer(parameters: list[dict[str, Any]]) -> dict[str, Any]:
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
                    **_json(_ref("InferRequest"), _INFER_EXAMPLE),
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                },
            },
            "responses": {
                "200": {
                    "description": "Outputs (JSON, or JSON header + binary data)",
                    "content": {
                        **_json(_ref("InferResponse"), _INFER_ANSWER),
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


def _model_paths(prefix: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    not_found = {"404": V2_ERRORS["404"]}
    ready = {"name": "random_forest", "version": "1", "ready": True}
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
                            "name": _STRING,
                            "version": _STRING,
                            "ready": {"type": "boolean"},
                        },
                    },
                    ready,
                ),
            },
            not_found,
        ),
        f"{prefix}/infer": _infer(parameters),
    }


def _with_parameters(paths: dict[str, Any], parameters: list[dict[str, Any]]) -> dict[str, Any]:
    for item in paths.values():
        for operation in item.values():
            operation.setdefault("parameters", list(parameters))
    return paths


def _legacy_paths() -> dict[str, Any]:
    csv_text = {"text/csv": {"schema": {"type": "string"}}}
    batch_example = [{"features": EXAMPLE_FEATURES, "model_name": "random_forest"}]
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
                        _ref("PredictRequest"),
                        {"features": EXAMPLE_FEATURES, "model_name": "random_forest"},
                    ),
                },
                "responses": {
                    "200": _answer("The prediction", "Prediction", EXAMPLE_PREDICTION),
                    **LEGACY_ERRORS,
                },
            }
        },
        "/predict/batch": {
            "post": {
                "summary": "Predict many flows (JSON list, or a flow extractor's CSV)",
                "description": "Rows for the same model run as one onnxruntime call. A CSV body "
                "needs a header line; columns are matched by name in any order and other "
                "columns are ignored. Answers CSV when the client sends `Accept: text/csv`.",
                "parameters": [
                    {
                        "name": "model_name",
                        "in": "query",
                        "required": False,
                        "description": "the model for a CSV body",
                        "schema": {"type": "string", "default": "random_forest"},
                    },
                    {
                        "name": "model_version",
                        "in": "query",
                        "required": False,
                        "description": "its version for a CSV body (the latest when absent)",
                        "schema": {"type": "string"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        **_json({"type": "array", "items": _ref("PredictRequest")}, batch_example),
                        **csv_text,
                    },
                },
                "responses": {
                    "200": {
                        "description": "One result per flow, in input order",
                        "content": {**_json(_ref("BatchPrediction")), **csv_text},
                    },
                    **LEGACY_ERRORS,
                },
            }
        },
    }


def _v2_paths() -> dict[str, Any]:
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
        **_with_parameters(_model_paths("/v2/models/{name}", [NAME]), [NAME]),
        **_with_parameters(
            _model_paths("/v2/models/{name}/versions/{version}", [NAME, VERSION]),
            [NAME, VERSION],
        ),
    }


def openapi_document(auth: bool = False, metrics_require_auth: bool = False) -> dict[str, Any]:
    """The whole document (built once per app), stating bearer authentication when `auth`."""
    paths = {**_legacy_paths(), **_v2_paths()}
    for path, item in paths.items():
        tag = "Open Inference Protocol (v2)" if path.startswith("/v2") else "Existing API"
        for operation in item.values():
            operation["tags"] = [tag]
    paths.update(operations_paths())
    components: dict[str, Any] = {"schemas": {**SCHEMAS, **OPERATIONS_SCHEMAS}}
    components.update(common_answers(paths, auth, metrics_require_auth))
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
