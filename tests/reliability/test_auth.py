"""Auth, when enabled, covers every route but the health probes (and /metrics unless asked):
the route table of the app and the paths of its OpenAPI document are both walked against a real
server process, so neither a new route nor a new document entry can slip through. Tokens never
come back in an answer or a log line."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route

from benchmarks.processes import ServerProcess
from server.app import create_app
from server.settings import Settings
from tests.reliability.conftest import Record

TOKEN = "rel-Token_0123456789.abcdef~XYZ"
SECOND = "second/token+value=="


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


HEALTH = {"/health", "/v2/health/live", "/v2/health/ready"}
# No header, a wrong token, an empty one, the right token without its scheme.
REFUSED: tuple[dict[str, str], ...] = (
    {},
    bearer(TOKEN + "x"),
    {"authorization": "Bearer"},
    {"authorization": TOKEN},
)
# Path parameters filled in with something that exists (a model, a version, a docs asset).
FILL = {"name": "decision_tree", "version": "1", "path": "swagger-ui.css"}


def concrete(template: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda match: FILL[match.group(1)], template)


def route_table(repository: Path) -> set[tuple[str, str]]:
    """(method, path template) of every route the app serves, mounts included."""
    app = create_app(Settings(artifacts_path=repository, auth_tokens=(TOKEN,)))
    found = set()
    for route in app.routes:
        if isinstance(route, Mount):
            found.add(("GET", route.path + "/{path}"))
        elif isinstance(route, Route):
            found |= {(method, route.path) for method in route.methods or () if method != "HEAD"}
        else:
            raise AssertionError(f"a route of a kind this walk does not know: {route!r}")
    return found


def documented(url: str) -> set[tuple[str, str]]:
    document = httpx.get(url + "/openapi.json", headers=bearer(TOKEN), timeout=10).json()
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


@pytest.fixture
def protected(start: Callable[..., ServerProcess], test_repository: Path) -> str:
    server = start({"ARTIFACTS_PATH": str(test_repository), "IDS_AUTH_TOKENS": TOKEN})
    return server.url


def test_every_route_but_health_requires_a_token(
    protected: str, test_repository: Path, record: Record
) -> None:
    routes = route_table(test_repository)
    assert documented(protected) <= routes, documented(protected) - routes
    open_routes, checks = [], 0
    # The unload last: it takes a model away, which only changes answers from 200 to 404.
    for method, template in sorted(routes, key=lambda item: "unload" in item[1]):
        url = protected + concrete(template)
        if template in HEALTH or template == "/metrics":
            answer = httpx.request(method, url, timeout=30)
            assert answer.status_code == 200, (method, template, answer.text)
            open_routes.append(template)
            continue
        for headers in REFUSED:
            answer = httpx.request(method, url, headers=headers, timeout=30)
            checks += 1
            assert answer.status_code == 401, (method, template, headers, answer.text)
            assert answer.headers["www-authenticate"].startswith("Bearer"), answer.headers
        answer = httpx.request(method, url, headers=bearer(TOKEN), timeout=30)
        assert answer.status_code != 401, (method, template, answer.text)
    record(
        "auth",
        routes=len(routes),
        protected=len(routes) - len(open_routes),
        open=sorted(open_routes),
        checks=checks,
    )
    assert set(open_routes) == HEALTH | {"/metrics"}


def test_metrics_too_require_a_token_when_asked(
    start: Callable[..., ServerProcess], test_repository: Path
) -> None:
    server = start(
        {
            "ARTIFACTS_PATH": str(test_repository),
            "IDS_AUTH_TOKENS": TOKEN,
            "IDS_METRICS_REQUIRE_AUTH": "true",
        }
    )
    assert httpx.get(server.url + "/metrics", timeout=10).status_code == 401
    assert httpx.get(server.url + "/metrics", headers=bearer(TOKEN), timeout=10).status_code == 200
    assert httpx.get(server.url + "/v2/health/ready", timeout=10).status_code == 200


def test_tokens_never_reach_answers_or_logs(
    start: Callable[..., ServerProcess], test_repository: Path, tmp_path: Path, record: Record
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# the reliability suite's\n{TOKEN}\n{SECOND}\n")
    server = start(
        {
            "ARTIFACTS_PATH": str(test_repository),
            "IDS_AUTH_TOKENS_FILE": str(tokens),
            "IDS_METRICS_REQUIRE_AUTH": "true",
            "IDS_LOG_LEVEL": "debug",
        }
    )
    features = {"features": [1.0] * 78}
    calls: list[tuple[str, str, dict[str, str], Any]] = []
    for token in (TOKEN, SECOND, TOKEN + "x", "x" + SECOND, TOKEN.upper()):
        bodies: tuple[tuple[str, str, Any], ...] = (
            ("POST", "/predict", features),
            ("POST", "/predict", {"features": [TOKEN]}),  # a 422 naming the bad value
            ("POST", "/predict/batch", [features] * 2),
            ("POST", "/v2/models/xgboost/infer", {"inputs": []}),
            ("GET", "/models", None),
            ("GET", "/metrics", None),
            ("GET", "/nowhere", None),
            ("POST", "/v2/repository/index", None),
            ("POST", "/v2/repository/models/xgboost/load", None),
        )
        calls += [(method, path, bearer(token), body) for method, path, body in bodies]
    answers = []
    for method, path, headers, body in calls:
        request_id = {"x-request-id": "rel-secrets"}
        answer = httpx.request(
            method, server.url + path, headers={**headers, **request_id}, json=body, timeout=30
        )
        answers.append(f"{answer.status_code} {dict(answer.headers)} {answer.text}")
    server.signal(signal.SIGTERM)
    assert server.wait_exit(60) == 0
    log = server.output()
    seen = "\n".join(answers)
    # The one echo allowed: the 422 names the value the client sent in its own body.
    seen = seen.replace(f"got {TOKEN!r}", "got <the client's own value>")
    found = sum(text.count(token) for text in (seen, log) for token in (TOKEN, SECOND))
    record("secrets", requests=len(calls), log_lines=len(log.splitlines()), found=found)
    assert '"status":200' in log.replace(" ", "")  # the access log did record these requests
    assert found == 0
