"""The OpenAPI document covers every route, its references resolve, and /docs works offline."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings

UNDOCUMENTED = {"/openapi.json", "/docs"}


def test_every_route_and_method_is_documented(client: TestClient, settings: Settings) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    for route in create_app(settings).routes:
        if isinstance(route, Mount):
            continue
        assert isinstance(route, Route)
        if route.path in UNDOCUMENTED:
            continue
        operations = document["paths"][route.path]
        for method in route.methods or ():
            if method != "HEAD":
                assert "200" in operations[method.lower()]["responses"], (route.path, method)


def test_references_resolve(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    text = str(document)
    for kind, name in set(re.findall(r"#/components/(\w+)/([\w-]+)", text)):
        assert name in document["components"][kind], (kind, name)
    assert "X-Request-ID" in document["components"]["headers"]


def test_every_answer_documents_the_request_id(client: TestClient) -> None:
    for item in client.get("/openapi.json").json()["paths"].values():
        for operation in item.values():
            for answer in operation["responses"].values():
                assert "X-Request-ID" in answer["headers"]


def test_documented_fields_are_what_the_server_answers(client: TestClient) -> None:
    schemas: dict[str, Any] = client.get("/openapi.json").json()["components"]["schemas"]
    answer = client.post("/predict", json={"features": [0.0] * 78}).json()
    assert set(answer) == set(schemas["Prediction"]["required"])
    error = client.post("/predict", json={"features": []}).json()
    assert set(error) == set(schemas["LegacyError"]["required"])


def test_docs_page_loads_its_assets_from_the_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text
    assert not re.search(r"(src|href)=\"https?://", page.text)  # nothing from a CDN
    for asset in re.findall(r"(?:src|href)=\"(/docs/assets/[^\"]+)\"", page.text):
        assert client.get(asset).status_code == 200, asset
