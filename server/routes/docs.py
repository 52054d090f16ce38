"""`/openapi.json` and the interactive docs at `/docs`, whose assets come from a package
(openapi-ui-bundles), so the page works on a machine without internet access."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles

from server.openapi import openapi_document
from server.repository import Registry
from server.responses import ORJSONResponse
from server.routes.templated import Mount, Route
from server.state import ServingState

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>ids-inference API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    // validatorUrl null: Swagger UI would otherwise send the document to an online validator.
    window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null,
                                 deepLinking: true});
  </script>
</body>
</html>
"""


def docs_routes(state: ServingState) -> list[BaseRoute]:
    from openapi_ui_bundles import swagger_ui

    # The document lists the served models and their contracts, so it is made again when the
    # registry is replaced (a load, an unload, a new version); registries are never mutated.
    built: list[tuple[Registry, bytes]] = []

    async def openapi(request: Request) -> Response:
        registry = state.registry
        if not built or built[0][0] is not registry:
            body = ORJSONResponse(openapi_document(registry, state.settings)).body
            built[:] = [(registry, bytes(body))]
        return Response(built[0][1], media_type=ORJSONResponse.media_type)

    async def docs(request: Request) -> Response:
        return HTMLResponse(PAGE)

    return [
        Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
        Route("/docs", docs, methods=["GET"], include_in_schema=False),
        Mount("/docs/assets", StaticFiles(directory=swagger_ui.static_path), name="docs-assets"),
    ]
