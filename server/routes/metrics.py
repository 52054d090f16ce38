"""`/metrics`: the Prometheus text format, every worker's series added up."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.metrics.exposition import CONTENT_TYPE
from server.routes.templated import Route
from server.state import ServingState


def metrics_routes(state: ServingState) -> list[Route]:
    async def metrics(request: Request) -> Response:
        # Read on the loop: a scrape reads a few small files from a memory-backed folder.
        state.records.flush()  # this process's requests of the last few milliseconds too
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)

    return [Route("/metrics", metrics, methods=["GET"])]
