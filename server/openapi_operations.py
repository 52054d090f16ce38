"""The OpenAPI parts of operations: `/metrics`, the repository extension, and the answers every
route may give (401 with auth on, 503 when busy, 504 past the request timeout, `X-Request-ID`)."""

from __future__ import annotations

from typing import Any

from server.auth import HEALTH, METRICS

_STRING = {"type": "string"}
_ERROR = {"$ref": "#/components/schemas/V2Error"}
_ID_HEADER = {"$ref": "#/components/headers/X-Request-ID"}
_NAME = {"name": "name", "in": "path", "required": True, "schema": _STRING}

OPERATIONS_SCHEMAS: dict[str, Any] = {
    "RepositoryIndexEntry": {
        "type": "object",
        "required": ["name", "state", "reason"],
        "properties": {
            "name": _STRING,
            "version": _STRING,
            "state": {"type": "string", "enum": ["READY", "UNAVAILABLE"]},
            "reason": {"type": "string", "description": "why it is not plainly ready; or empty"},
        },
    },
    "RepositoryModel": {
        "type": "object",
        "required": ["name", "versions"],
        "properties": {"name": _STRING, "versions": {"type": "array", "items": _STRING}},
    },
    "AnyError": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": _STRING, "detail": {}, "request_id": _STRING},
    },
}


def _json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _v2_error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json(_ERROR)}


def _repository_call(summary: str, description: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "description": description,
            "parameters": [_NAME],
            "requestBody": {"required": False, "content": _json(body)},
            "responses": {
                "200": {
                    "description": "Done: the versions now served",
                    "content": _json({"$ref": "#/components/schemas/RepositoryModel"}),
                },
                "400": _v2_error("The load failed (the reasons); what was served still is"),
                "404": _v2_error("The model is not loaded (unload)"),
                "413": _v2_error("Body too large"),
                "415": _v2_error("Unsupported Content-Type or Content-Encoding"),
            },
        }
    }


def operations_paths() -> dict[str, Any]:
    repository = "Model repository (v2 extension)"
    paths: dict[str, Any] = {
        METRICS: {
            "get": {
                "summary": "Prometheus metrics, summed over every worker process",
                "tags": ["Operations"],
                "responses": {
                    "200": {
                        "description": "The Prometheus text format, version 0.0.4",
                        "content": {"text/plain": {"schema": _STRING}},
                    }
                },
            }
        },
        "/v2/repository/index": {
            "post": {
                "summary": "Every model and version in the repository, with state and reason",
                "tags": [repository],
                "requestBody": {
                    "required": False,
                    "content": _json(
                        {"type": "object", "properties": {"ready": {"type": "boolean"}}},
                        {"ready": False},
                    ),
                },
                "responses": {
                    "200": {
                        "description": "The index (only READY entries when `ready` is true)",
                        "content": _json(
                            {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/RepositoryIndexEntry"},
                            }
                        ),
                    },
                    "400": _v2_error("Invalid request"),
                    "413": _v2_error("Body too large"),
                    "415": _v2_error("Unsupported Content-Type or Content-Encoding"),
                },
            }
        },
        "/v2/repository/models/{name}/load": _repository_call(
            "Load (or reload) a model from its folder",
            "Every version folder of the model is loaded; versions whose folder is gone stop "
            "being served. A version that fails to load (bad sha256, broken graph, manifest "
            "mismatch) leaves the one served before in place; the answer is then 400 with the "
            "reasons. With several workers, the others follow within a second.",
            {"type": "object", "properties": {"parameters": {"type": "object"}}},
        ),
        "/v2/repository/models/{name}/unload": _repository_call(
            "Stop serving every version of a model",
            "The model stays unloaded (polling included) until it is loaded again.",
            {"type": "object", "properties": {"parameters": {"type": "object"}}},
        ),
    }
    for item in paths.values():
        for operation in item.values():
            operation.setdefault("tags", [repository])
    return paths


def common_answers(paths: dict[str, Any], auth: bool, metrics_require_auth: bool) -> dict[str, Any]:
    """Add the answers any route may give to every operation; the components they refer to."""
    public = HEALTH if metrics_require_auth else HEALTH | {METRICS}
    error = {"$ref": "#/components/schemas/AnyError"}
    for path, item in paths.items():
        for operation in item.values():
            responses: dict[str, Any] = operation["responses"]
            if path not in HEALTH | {METRICS}:
                responses.setdefault(
                    "503",
                    {
                        "description": "Too many requests in progress (IDS_MAX_CONCURRENCY)",
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        "content": _json(error),
                    },
                )
                responses.setdefault(
                    "504",
                    {
                        "description": "Took longer than IDS_REQUEST_TIMEOUT_SECONDS",
                        "content": _json(error),
                    },
                )
            if auth and path not in public:
                responses["401"] = {
                    "description": "A valid bearer token is required",
                    "headers": {"WWW-Authenticate": {"schema": _STRING}},
                    "content": _json(error),
                }
            elif auth:
                operation["security"] = []  # probes (and metrics, by setting) need no token
            for response in responses.values():
                response.setdefault("headers", {})["X-Request-ID"] = _ID_HEADER
    components: dict[str, Any] = {
        "headers": {
            "X-Request-ID": {
                "description": "The request's id: the client's X-Request-ID when it is 1-128 "
                "characters of letters, digits and ._:-, else one the server made. Logged "
                "with the request.",
                "required": True,
                "schema": _STRING,
            }
        }
    }
    if auth:
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    return components
