"""The Open Inference Protocol's model repository extension (Triton's): the index, load and
unload, with the reasons a model or version is unavailable."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response

from server.codecs.json_body import decode_json
from server.errors import BadRequest
from server.reloading import Reloader
from server.requests import JSON, read_body, require_media_type
from server.responses import ORJSONResponse
from server.routes.templated import Route
from server.state import ServingState


async def _options(request: Request, limit: int) -> dict[str, Any]:
    """The request body: absent, or a JSON object (tritonclient sends one)."""
    require_media_type(request, JSON)
    body = await read_body(request, limit)
    if not body.strip():
        return {}
    payload = decode_json(body)
    if not isinstance(payload, dict):
        raise BadRequest("the body must be a JSON object")
    return payload


def repository_routes(state: ServingState, reloader: Reloader) -> list[Route]:
    limit = state.settings.max_body_bytes

    async def index(request: Request) -> Response:
        ready = (await _options(request, limit)).get("ready", False)
        if not isinstance(ready, bool):
            raise BadRequest("ready: must be true or false")
        return ORJSONResponse(await to_thread.run_sync(reloader.index, ready))

    async def load(request: Request) -> Response:
        parameters = (await _options(request, limit)).get("parameters", {})
        if not isinstance(parameters, dict):
            raise BadRequest("parameters: must be an object")
        overrides = sorted(key for key in parameters if key == "config" or key.startswith("file:"))
        if overrides:
            raise BadRequest(
                f"parameters {overrides} are not supported: the server loads the model's "
                "folder as it is in the repository"
            )
        name = request.path_params["name"]
        outcome = await reloader.load(name)
        if outcome.failed:
            raise BadRequest(outcome.message())
        return ORJSONResponse({"name": name, "versions": state.registry.versions(name)})

    async def unload(request: Request) -> Response:
        # unload_dependents is moot: models depend on no other model
        if not isinstance((await _options(request, limit)).get("parameters", {}), dict):
            raise BadRequest("parameters: must be an object")
        name = request.path_params["name"]
        await reloader.unload(name)
        return ORJSONResponse({"name": name, "versions": []})

    models = "/v2/repository/models/{name}"
    return [
        Route("/v2/repository/index", index, methods=["POST"]),
        Route(f"{models}/load", load, methods=["POST"]),
        Route(f"{models}/unload", unload, methods=["POST"]),
    ]
