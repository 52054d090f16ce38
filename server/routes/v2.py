"""Open Inference Protocol (v2) REST routes, with the binary tensor data extension."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server import openinference
from server.codecs.v2 import HEADER_LENGTH
from server.errors import ServiceUnavailable
from server.requests import JSON, header_int, read_body, require_media_type
from server.responses import ORJSONResponse, v2_infer_response
from server.routes.templated import Route
from server.state import ServingState

JSON_OR_BINARY = JSON | {"application/octet-stream"}


def v2_routes(state: ServingState) -> list[Route]:
    settings = state.settings

    async def infer(request: Request) -> Response:
        params = request.path_params
        model = state.registry.get(params["name"], params.get("version"))
        require_media_type(request, JSON_OR_BINARY)
        header_length = header_int(request, HEADER_LENGTH)
        body = await read_body(request, settings.max_body_bytes)
        decoded = openinference.decode(model, body, header_length, settings.max_batch_rows)
        prediction = await state.predict(model, decoded.features, request.scope)
        return v2_infer_response(*openinference.encode(model, decoded, prediction))

    async def server_metadata(request: Request) -> Response:
        return ORJSONResponse(openinference.server_metadata())

    async def live(request: Request) -> Response:
        return ORJSONResponse({"live": True})

    async def ready(request: Request) -> Response:
        if state.stopping:
            raise ServiceUnavailable("not ready: shutting down")
        if not (state.ready and len(state.registry)):
            raise ServiceUnavailable("not ready: no model is loaded")
        return ORJSONResponse({"ready": True})

    async def model_metadata(request: Request) -> Response:
        params = request.path_params
        registry = state.registry
        model = registry.get(params["name"], params.get("version"))
        return ORJSONResponse(openinference.model_metadata(registry, model))

    async def model_ready(request: Request) -> Response:
        params = request.path_params
        model = state.registry.get(params["name"], params.get("version"))
        return ORJSONResponse({"name": model.name, "version": model.version, "ready": True})

    model = "/v2/models/{name}"
    version = "/v2/models/{name}/versions/{version}"
    return [
        Route(f"{model}/infer", infer, methods=["POST"]),
        Route(f"{version}/infer", infer, methods=["POST"]),
        Route("/v2", server_metadata, methods=["GET"]),
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route(model, model_metadata, methods=["GET"]),
        Route(version, model_metadata, methods=["GET"]),
        Route(f"{model}/ready", model_ready, methods=["GET"]),
        Route(f"{version}/ready", model_ready, methods=["GET"]),
    ]
