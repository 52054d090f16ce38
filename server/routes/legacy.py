"""The existing service's routes: `/`, `/health`, `/models`, `/predict`, `/predict/batch`."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server import legacy
from server.codecs.features import Matrix
from server.codecs.flows_csv import decode_csv, encode_csv
from server.codecs.json_body import decode_json
from server.requests import JSON, prefers_csv, read_body, require_media_type
from server.responses import CSVResponse, ORJSONResponse
from server.routes.templated import Route
from server.state import ServingState

JSON_OR_CSV = JSON | {"text/csv"}


def legacy_routes(state: ServingState) -> list[Route]:
    settings = state.settings

    async def root(request: Request) -> Response:
        return ORJSONResponse(legacy.service_info(state.registry))

    async def health(request: Request) -> Response:
        return ORJSONResponse(legacy.health(state.registry))

    async def models(request: Request) -> Response:
        return ORJSONResponse(legacy.models_info(state.registry, settings.default_model))

    async def predict(request: Request) -> Response:
        require_media_type(request, JSON)
        payload = decode_json(await read_body(request, settings.max_body_bytes))
        model, rows = legacy.decode_predict(payload, state.registry, settings.default_model)
        prediction = await state.predict(model, rows, request.scope)
        return ORJSONResponse(legacy.prediction_results(model, prediction)[0])

    async def predict_batch(request: Request) -> Response:
        kind = require_media_type(request, JSON_OR_CSV)
        body = await read_body(request, settings.max_body_bytes)
        if kind == "text/csv":
            return await _csv_batch(request, body)
        start = time.perf_counter()
        registry = state.registry
        groups = legacy.decode_batch(
            decode_json(body), registry, settings.default_model, settings.max_batch_rows
        )
        results: list[Any] = [None] * sum(len(group.positions) for group in groups)
        for group in groups:
            prediction = await state.predict(group.model, group.matrix(), request.scope)
            for position, result in zip(
                group.positions, legacy.prediction_results(group.model, prediction), strict=True
            ):
                results[position] = result
        return ORJSONResponse(legacy.batch_response(results, time.perf_counter() - start))

    async def _csv_batch(request: Request, body: bytes) -> Response:
        start = time.perf_counter()
        query = request.query_params
        version = legacy.model_version(query.get("model_version"), ("model_version",))
        model = state.registry.get(query.get("model_name", settings.default_model), version)
        rows: Matrix = decode_csv(body, model.schema, settings.max_batch_rows)
        prediction = await state.predict(model, rows, request.scope)
        if prefers_csv(request):
            return CSVResponse(encode_csv(*legacy.csv_records(model, prediction)))
        results = legacy.prediction_results(model, prediction)
        return ORJSONResponse(legacy.batch_response(results, time.perf_counter() - start))

    return [
        Route("/predict", predict, methods=["POST"]),
        Route("/predict/batch", predict_batch, methods=["POST"]),
        Route("/", root, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/models", models, methods=["GET"]),
    ]
