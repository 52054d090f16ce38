"""`server.openapi.openapi_document` assembled by apispec instead of as one dict: the same
served schemas, operations and common answers (apispec builds no schema from our decoders,
which are plain functions, so those stay ours), registered as components and paths of an
`APISpec`, then `to_dict()`."""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from ids_inference import __version__
from server.openapi import SCHEMAS, _legacy_paths, _v2_paths
from server.openapi_examples import examples_for
from server.openapi_operations import OPERATIONS_SCHEMAS, common_answers, operations_paths
from server.openapi_served import served_schemas
from server.repository import Registry
from server.settings import Settings


def apispec_document(registry: Registry, settings: Settings) -> dict[str, Any]:
    models = list(registry)
    default = next((model for model in models if model.name == settings.default_model), None)
    examples = examples_for(default or (models[0] if models else None))
    paths = {**_legacy_paths(examples, settings), **_v2_paths(examples)}
    for path, item in paths.items():
        tag = "Open Inference Protocol (v2)" if path.startswith("/v2") else "Existing API"
        for operation in item.values():
            operation["tags"] = [tag]
    paths.update(operations_paths())
    auth = bool(settings.auth_tokens)
    common = common_answers(paths, auth, settings.metrics_require_auth)
    spec = APISpec(
        title="ids-inference",
        version=__version__,
        openapi_version="3.1.0",
        info={
            "description": "CICIDS2017 intrusion detection models served from ONNX: the "
            "existing API, field for field, and the Open Inference Protocol (v2)."
        },
        **({"security": [{"bearer": []}]} if auth else {}),  # type: ignore[arg-type]
    )
    served = served_schemas(registry, settings.default_model, settings.max_batch_rows)
    for name, schema in {**SCHEMAS, **served, **OPERATIONS_SCHEMAS}.items():
        spec.components.schema(name, schema)
    for name, header in common.get("headers", {}).items():
        spec.components.header(name, header)
    for name, scheme in common.get("securitySchemes", {}).items():
        spec.components.security_scheme(name, scheme)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
