"""Bearer tokens: every route but the health probes (and, by a setting, /metrics) needs one. The
route table is walked, so a route added later cannot slip through unprotected."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings

TOKENS = ("alpha-token-1234", "beta/token==")
HEALTH = {"/health", "/v2/health/live", "/v2/health/ready"}
VALUES = {"name": "random_forest", "version": "2", "path": "swagger-ui.css"}


def every_request(app: object) -> list[tuple[str, str]]:
    """(method, concrete path) for every route and method of the app."""
    found = []
    for route in app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            found.append(("GET", route.path + "/swagger-ui.css"))
            continue
        assert isinstance(route, Route), route
        path = re.sub(r"\{(\w+)\}", lambda match: VALUES[match.group(1)], route.path)
        found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


@pytest.fixture(scope="module")
def guarded(repository: Path) -> Iterator[TestClient]:
    settings = Settings(artifacts_path=repository, auth_tokens=TOKENS)
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_walk_covers_every_route(guarded: TestClient) -> None:
    paths = {path for _, path in every_request(guarded.app)}
    assert {"/predict", "/v2/repository/index", "/metrics", "/openapi.json", "/docs"} <= paths
    assert len(paths) >= 20


def test_every_route_but_health_and_metrics_needs_a_token(
    guarded: TestClient, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        for method, path in every_request(guarded.app):
            bare = guarded.request(method, path)
            if path in HEALTH | {"/metrics"}:
                assert bare.status_code != 401, (method, path)
                continue
            assert bare.status_code == 401, (method, path)
            assert bare.headers["www-authenticate"] == 'Bearer realm="ids-inference"'
            assert "error" in bare.json()
            wrong = guarded.request(method, path, headers={"authorization": "Bearer nope"})
            assert wrong.status_code == 401
            assert wrong.headers["www-authenticate"].endswith(', error="invalid_token"')
            for token in TOKENS:
                right = guarded.request(method, path, headers={"authorization": f"Bearer {token}"})
                assert right.status_code != 401, (method, path, right.text)
    logged = capsys.readouterr().out + caplog.text
    assert logged.count('"status":401') >= 20  # the refusals are logged...
    assert not any(token in logged for token in TOKENS)  # ...and no token ever is


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic YWxwaGEtdG9rZW4tMTIzNA==", id="another scheme"),
        pytest.param("Bearer", id="no token"),
        pytest.param("Bearer alpha-token-123", id="a prefix of a token"),
        pytest.param("Bearer alpha-token-12345", id="a token and more"),
        pytest.param("alpha-token-1234", id="no scheme"),
    ],
)
def test_near_misses_are_refused(guarded: TestClient, authorization: str) -> None:
    answer = guarded.get("/models", headers={"authorization": authorization})
    assert answer.status_code == 401


def test_scheme_is_case_insensitive(guarded: TestClient) -> None:
    answer = guarded.get("/models", headers={"authorization": f"bearer  {TOKENS[0]}"})
    assert answer.status_code == 200


def test_unknown_paths_ask_for_a_token_before_saying_404(guarded: TestClient) -> None:
    assert guarded.get("/admin").status_code == 401
    assert (
        guarded.get("/admin", headers={"authorization": f"Bearer {TOKENS[1]}"}).status_code == 404
    )


def test_metrics_behind_auth_by_setting(repository: Path) -> None:
    settings = Settings(artifacts_path=repository, auth_tokens=TOKENS, metrics_require_auth=True)
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 401
        authorized = {"authorization": f"Bearer {TOKENS[0]}"}
        assert client.get("/metrics", headers=authorized).status_code == 200
        assert client.get("/v2/health/ready").status_code == 200


def test_openapi_declares_the_bearer_scheme(guarded: TestClient, client: TestClient) -> None:
    document = guarded.get("/openapi.json", headers={"authorization": f"Bearer {TOKENS[0]}"}).json()
    assert document["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer"}
    }
    assert document["security"] == [{"bearer": []}]
    assert document["paths"]["/v2/health/ready"]["get"]["security"] == []
    assert document["paths"]["/metrics"]["get"]["security"] == []
    assert "401" in document["paths"]["/predict"]["post"]["responses"]
    open_document = client.get("/openapi.json").json()  # a server without tokens says none
    assert "security" not in open_document
    assert "401" not in open_document["paths"]["/predict"]["post"]["responses"]
