"""An unexpected failure answers a generic 500 with a request id; the traceback goes to the log."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.model import Model
from server.settings import Settings


def _explode(self: Model, rows: Any) -> Any:
    raise RuntimeError("secret detail at /srv/models/random_forest/1/model.onnx")


ROUTES = {"/predict": "/predict", "/v2/models/random_forest/infer": "/v2/models/{name}/infer"}


@pytest.mark.parametrize(
    ("path", "body", "request_id"),
    [
        pytest.param("/predict", {"features": [0.0] * 78}, "abc-123", id="legacy, client's id"),
        pytest.param("/v2/models/random_forest/infer",
                     {"inputs": [{"name": "features", "datatype": "FP64", "shape": [1, 78],
                                  "data": [0.0] * 78}]}, None, id="v2, generated id"),
    ],
)  # fmt: skip
def test_unexpected_error_is_a_generic_500(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    path: str,
    body: Any,
    request_id: str | None,
) -> None:
    headers = {"x-request-id": request_id} if request_id else {}
    with (
        TestClient(create_app(settings), raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR, logger="server"),
    ):
        monkeypatch.setattr(Model, "predict", _explode)  # after start-up's probe run
        answer = client.post(path, json=body, headers=headers)
    assert answer.status_code == 500
    given_id = answer.headers["x-request-id"]
    assert answer.json() == {"error": "Internal server error", "request_id": given_id}
    assert "secret" not in answer.text
    assert "RuntimeError" not in answer.text
    if request_id:
        assert answer.headers["x-request-id"] == request_id
    logged = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(logged) == 1  # once: not again by uvicorn or Starlette
    assert logged[0].event == "unhandled_error"  # type: ignore[attr-defined]
    assert logged[0].fields["request_id"] == given_id  # type: ignore[attr-defined]
    assert logged[0].fields["route"] == ROUTES[path]  # type: ignore[attr-defined]
    assert logged[0].exc_info is not None
    assert "secret detail" in str(logged[0].exc_info[1])
