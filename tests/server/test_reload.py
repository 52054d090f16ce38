"""Hot reload: the repository extension (index, load, unload) and polling, in process."""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.server.artifact_builder import BINARY, build_graph, write_artifact
from tests.server.test_metrics import sample
from tests.server.test_repository import _edit, _flip_a_byte, _replace_graph

FEATURES = {"features": [0.0] * 78}


@pytest.fixture
def root(repository: Path, tmp_path: Path) -> Path:
    """A writable copy of the test repository (models at versions 1 and 2)."""
    return Path(shutil.copytree(repository, tmp_path / "artifacts"))


@pytest.fixture
def served(root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(artifacts_path=root))) as client:
        yield client


def version_used(client: TestClient, model: str = "random_forest") -> str:
    answer = client.post("/predict", json={**FEATURES, "model_name": model})
    assert answer.status_code == 200, answer.text
    version: str = answer.json()["model_version"]
    return version


def index(client: TestClient, body: Any = None) -> list[dict[str, Any]]:
    answer = client.post("/v2/repository/index", json=body)
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()
    return entries


def entry(client: TestClient, name: str, version: str) -> dict[str, Any]:
    return next(e for e in index(client) if (e["name"], e.get("version")) == (name, version))


def test_index_lists_every_version_ready(served: TestClient) -> None:
    entries = index(served)
    assert len(entries) == 6
    assert entries[0] == {"name": "decision_tree", "version": "1", "state": "READY", "reason": ""}
    assert index(served, {"ready": True}) == entries
    assert served.post("/v2/repository/index").status_code == 200  # no body at all
    answer = served.post("/v2/repository/index", json={"ready": "yes"})
    assert answer.status_code == 400
    assert answer.json() == {"error": "ready: must be true or false"}


def test_load_serves_a_new_version(
    served: TestClient, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_artifact(root, "random_forest", 3)
    assert version_used(served) == "2"  # nothing changes before the call
    with caplog.at_level(logging.INFO, logger="server"):
        answer = served.post("/v2/repository/models/random_forest/load")
    assert answer.status_code == 200
    assert answer.json() == {"name": "random_forest", "versions": ["1", "2", "3"]}
    assert version_used(served) == "3"
    assert entry(served, "random_forest", "3")["state"] == "READY"
    loaded = [r for r in caplog.records if getattr(r, "event", "") == "model_loaded"]
    assert {r.fields["version"] for r in loaded} == {"1", "2", "3"}  # type: ignore[attr-defined]
    metrics = served.get("/metrics").text
    assert sample(metrics, "ids_model_loads_total", model="random_forest", result="loaded") == 3


BREAKAGES = [
    pytest.param(_flip_a_byte, "sha256 .* does not match the manifest's", id="bad sha256"),
    pytest.param(_replace_graph(b"not an onnx graph"), "onnxruntime cannot load it",
                 id="broken graph"),
    pytest.param(_replace_graph(build_graph(BINARY, n_features=77)),
                 "input 'features' is FP64 \\[-1, 77\\] in the graph", id="manifest mismatch"),
    pytest.param(_edit(lambda m: m.update(version=9)), "names 'random_forest' version 9",
                 id="manifest of another version"),
]  # fmt: skip


@pytest.mark.parametrize(("breakage", "reason"), BREAKAGES)
def test_a_broken_new_version_is_refused_and_the_old_keeps_serving(
    served: TestClient,
    root: Path,
    caplog: pytest.LogCaptureFixture,
    breakage: Callable[[Path], None],
    reason: str,
) -> None:
    breakage(write_artifact(root, "random_forest", 3))
    with caplog.at_level(logging.INFO, logger="server"):
        answer = served.post("/v2/repository/models/random_forest/load")
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("failed to load 'random_forest': version 3: ")
    assert re.search(reason, answer.json()["error"])
    assert version_used(served) == "2"
    broken = entry(served, "random_forest", "3")
    assert broken["state"] == "UNAVAILABLE"
    assert broken["reason"] in answer.json()["error"]
    failed = [r for r in caplog.records if getattr(r, "event", "") == "model_load_failed"]
    assert [r.fields["version"] for r in failed] == ["3"]  # type: ignore[attr-defined]
    metrics = served.get("/metrics").text
    assert sample(metrics, "ids_model_loads_total", model="random_forest", result="failed") == 1


def test_a_corrupted_replacement_leaves_the_loaded_version_serving(
    served: TestClient, root: Path
) -> None:
    before = served.post("/predict", json={**FEATURES, "model_version": "2"}).json()
    _flip_a_byte(root / "random_forest" / "2")
    answer = served.post("/v2/repository/models/random_forest/load")
    assert answer.status_code == 400
    after = served.post("/predict", json={**FEATURES, "model_version": "2"}).json()
    assert after["probabilities"] == before["probabilities"]
    loaded = entry(served, "random_forest", "2")
    assert loaded["state"] == "READY"
    assert loaded["reason"].startswith("serving the version loaded before; ")
    assert "sha256" in loaded["reason"]


def test_a_deleted_model_folder_keeps_its_sessions_serving(served: TestClient, root: Path) -> None:
    shutil.rmtree(root / "xgboost")
    answer = served.post("/v2/repository/models/xgboost/load")
    assert answer.status_code == 400
    assert "no such model folder" in answer.json()["error"]
    assert version_used(served, "xgboost") == "2"
    versions = [e for e in index(served) if e["name"] == "xgboost"]
    assert [(e["version"], e["state"]) for e in versions] == [("1", "READY"), ("2", "READY")]
    assert "no such model folder" in versions[0]["reason"]


def test_a_version_folder_removed_stops_being_served_on_load(
    served: TestClient, root: Path
) -> None:
    shutil.rmtree(root / "xgboost" / "2")
    assert served.post("/v2/repository/models/xgboost/load").status_code == 200
    assert version_used(served, "xgboost") == "1"
    assert served.get("/v2/models/xgboost/versions/2/ready").status_code == 404


def test_unload_and_load_again(served: TestClient) -> None:
    answer = served.post("/v2/repository/models/decision_tree/unload", json={"parameters": {}})
    assert answer.json() == {"name": "decision_tree", "versions": []}
    refused = served.post("/predict", json={**FEATURES, "model_name": "decision_tree"})
    assert refused.status_code == 400
    assert served.get("/v2/models/decision_tree/ready").status_code == 404
    assert {e["state"] for e in index(served) if e["name"] == "decision_tree"} == {"UNAVAILABLE"}
    assert entry(served, "decision_tree", "1")["reason"] == "unloaded"
    assert index(served, {"ready": True}) == [e for e in index(served) if e["state"] == "READY"]
    again = served.post("/v2/repository/models/decision_tree/unload")
    assert again.status_code == 404
    assert served.post("/v2/repository/models/decision_tree/load").status_code == 200
    assert version_used(served, "decision_tree") == "2"


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        pytest.param("random_forest", {"parameters": {"config": "{}"}},
                     "parameters ['config'] are not supported", id="config override"),
        pytest.param("random_forest", {"parameters": {"file:1/model.onnx": "AAAA"}},
                     "are not supported", id="file override"),
        pytest.param("random_forest", [1], "the body must be a JSON object", id="not an object"),
        pytest.param("%2E%2E", None, "'..' is not a model name", id="parent folder"),
        pytest.param(".cache", None, "'.cache' is not a model name", id="hidden folder"),
        pytest.param("svm", None, "no such model folder", id="unknown model"),
    ],
)  # fmt: skip
def test_load_refusals(served: TestClient, name: str, body: Any, message: str) -> None:
    content = b"" if body is None else json.dumps(body).encode()
    answer = served.post(f"/v2/repository/models/{name}/load", content=content)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert version_used(served) == "2"


def test_polling_loads_new_versions_and_reports_broken_ones_once(
    root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(artifacts_path=root, poll_seconds=0.05)

    def load_failures() -> list[tuple[str, str | None]]:
        return [
            (r.fields["model"], r.fields.get("version"))  # type: ignore[attr-defined]
            for r in caplog.records
            if getattr(r, "event", "") == "model_load_failed"
        ]

    with (
        caplog.at_level(logging.INFO, logger="server"),
        TestClient(create_app(settings)) as client,
    ):
        client.post("/v2/repository/models/decision_tree/unload")
        # Each version appears whole, as convert writes them: a poll that caught one half
        # written (on a loaded machine) would report that, then the finished version, again.
        for name, broken in (("random_forest", False), ("xgboost", True), ("decision_tree", False)):
            folder = write_artifact(tmp_path / "staging", name, 3)
            if broken:
                _flip_a_byte(folder)
            folder.rename(root / name / "3")
        wait_until(lambda: version_used(client) == "3")
        time.sleep(0.3)  # several more polls, which must not report the broken version again
        # Taken away whole: a poll in the middle of rmtree would see the broken version's
        # files change (one gone, then the other) and rightly report it again.
        (root / "xgboost").rename(tmp_path / "xgboost-removed")
        # However slow the machine, the poll that sees the folder gone comes: wait for it
        # rather than for a fixed time.
        wait_until(lambda: ("xgboost", None) in load_failures())
        time.sleep(0.3)  # several more polls
        assert version_used(client, "xgboost") == "2"  # loaded sessions keep serving
        assert client.get("/v2/models/decision_tree/ready").status_code == 404  # stays unloaded
        reasons = [e["reason"] for e in index(client) if e["name"] == "xgboost"]
    assert load_failures() == [("xgboost", "3"), ("xgboost", None)]
    assert all("no such model folder" in reason for reason in reasons)


def wait_until(condition: Callable[[], bool], seconds: float = 60) -> None:
    """Poll `condition`; the deadline only guards against a hang, it times nothing."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
