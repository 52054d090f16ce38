"""One real server process (`python -m server`): reloads while clients keep calling, the
repository extension through tritonclient, the keep-alive timeout, and SIGTERM with requests in
flight (the module's last test: it stops the server)."""

from __future__ import annotations

import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from benchmarks.processes import ServerProcess, python_server
from server.app import create_app
from server.settings import Settings
from server.worker import GracefulServer
from tests.server.artifact_builder import write_artifact
from tests.server.test_metrics import sample
from tests.server.test_repository import _flip_a_byte

ROW = [1.0] * 78
# Waits end when what they wait for happens; this bound only stops a hung test.
HANG = 300
INFER = {"inputs": [{"name": "features", "datatype": "FP64", "shape": [1, 78], "data": ROW}]}


@pytest.fixture(scope="module")
def root(repository: Path, slow_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A writable repository: three models at versions 1 and 2, and `slow`."""
    root = Path(shutil.copytree(repository, tmp_path_factory.mktemp("live") / "artifacts"))
    shutil.copytree(slow_repository / "slow", root / "slow")
    shutil.copytree(slow_repository / "fragile", root / "fragile")
    return root


@pytest.fixture(scope="module")
def server(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # No request timeout and a long grace: four slow batches (4 s of CPU) in flight at SIGTERM
    # must finish however loaded the machine is (with 13 to 17 jobs on 2 cores they ran past the
    # default 30 s, answering 504, and past the default 30 s grace, answering 500).
    env = {
        "ARTIFACTS_PATH": str(root),
        "IDS_KEEP_ALIVE_SECONDS": "1",
        "IDS_REQUEST_TIMEOUT_SECONDS": "0",
        "IDS_GRACEFUL_SHUTDOWN_SECONDS": str(HANG),
    }
    server = python_server(env, tmp_path_factory.mktemp("live_log") / "server.log")
    server.wait_ready()
    yield server
    server.stop()


def test_reloads_while_clients_keep_calling(server: ServerProcess, root: Path) -> None:
    stop = threading.Event()
    answers: list[tuple[int, str]] = []

    def hammer(path: str, body: object) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while not stop.is_set():
                answer = client.post(path, json=body)
                version = answer.json().get("model_version", "") if answer.is_success else ""
                answers.append((answer.status_code, version))

    legacy = ("/predict", {"features": ROW, "model_name": "random_forest"})
    v2 = ("/v2/models/random_forest/infer", INFER)
    threads = [threading.Thread(target=hammer, args=call) for call in (legacy, v2, legacy)]
    for thread in threads:
        thread.start()
    loads = []
    with httpx.Client(base_url=server.url, timeout=30) as admin:
        for version in range(3, 13):  # ten reloads: every other new version corrupted
            folder = write_artifact(root, "random_forest", version)
            if version % 2 == 0:
                _flip_a_byte(folder)
            loads.append(admin.post("/v2/repository/models/random_forest/load").status_code)
            if version % 2 == 0:
                shutil.rmtree(folder)  # refused: the operator takes it away again
            time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    assert loads == [200, 400] * 5
    assert len(answers) > 100
    assert {status for status, _ in answers} == {200}  # not one request failed
    assert answers[-1][1] == "11"  # the last good version; 12 was refused
    served_versions = {version for _, version in answers}
    assert not served_versions & {"4", "6", "8", "10", "12"}  # no corrupted version ever served


def test_repository_extension_through_tritonclient(server: ServerProcess) -> None:
    import tritonclient.http as triton

    client = triton.InferenceServerClient(url=server.url.removeprefix("http://"))
    try:
        index = client.get_model_repository_index()
        assert {"name": "xgboost", "version": "2", "state": "READY", "reason": ""} in index
        client.unload_model("decision_tree")
        assert not client.is_model_ready("decision_tree")
        client.load_model("decision_tree")
        assert client.is_model_ready("decision_tree", "1")
        with pytest.raises(triton.InferenceServerException, match="no such model folder"):
            client.load_model("svm")
    finally:
        client.close()


def test_an_unexpected_error_is_logged_once(server: ServerProcess) -> None:
    answer = httpx.post(
        server.url + "/predict",
        json={"features": ROW, "model_name": "fragile"},
        headers={"x-request-id": "boom-1"},
    )
    assert answer.status_code == 500
    assert answer.json() == {"error": "Internal server error", "request_id": "boom-1"}
    assert answer.headers["x-request-id"] == "boom-1"

    def lines_of_the_request() -> list[str]:
        return [line for line in server.output().splitlines() if "boom-1" in line]

    # Log lines are written every few milliseconds, later on a loaded machine: wait for the
    # request's own line, which comes last.
    deadline = time.monotonic() + 60
    while not any('"event":"request"' in line for line in lines_of_the_request()):
        assert time.monotonic() < deadline, server.output()[-3000:]
        time.sleep(0.05)
    lines = lines_of_the_request()
    assert len(lines) == 2  # the error with its traceback, and the request
    assert '"event":"unhandled_error"' in lines[0]
    assert '"exception":"Traceback' in lines[0]
    assert '"event":"request"' in lines[1]
    assert '"status":500' in lines[1]
    assert server.output().count("Traceback") == 1
    assert "Exception in ASGI application" not in server.output()


def test_idle_keep_alive_connections_are_closed(server: ServerProcess) -> None:
    port = int(server.url.rpartition(":")[2])
    request = b"GET /v2/health/live HTTP/1.1\r\nHost: test\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        for _ in range(2):  # kept alive between requests within the timeout
            connection.sendall(request)
            answer = b""
            while not answer.endswith(b'{"live":true}'):  # headers and body may come apart
                answer += connection.recv(4096)
            assert answer.startswith(b"HTTP/1.1 200")
            time.sleep(0.3)
        time.sleep(1.5)  # IDS_KEEP_ALIVE_SECONDS=1
        assert connection.recv(4096) == b""  # closed by the server


def test_readiness_turns_false_on_sigterm(repository: Path) -> None:
    app = create_app(Settings(artifacts_path=repository))
    with TestClient(app) as client:
        assert client.get("/v2/health/ready").status_code == 200
        graceful = GracefulServer(uvicorn.Config(app), app.state.serving)
        graceful.handle_exit(signal.SIGTERM, None)
        answer = client.get("/v2/health/ready")
        assert answer.status_code == 503
        assert answer.json() == {"error": "not ready: shutting down"}
        assert client.get("/v2/health/live").status_code == 200
        assert graceful.should_exit


def test_sigterm_lets_requests_in_flight_finish(server: ServerProcess) -> None:
    batch = [{"features": ROW, "model_name": "slow"}] * 1000  # about a second each

    def slow_call() -> int:
        return httpx.post(server.url + "/predict/batch", json=batch, timeout=HANG).status_code

    with ThreadPoolExecutor(4) as pool:
        calls = [pool.submit(slow_call) for _ in range(4)]
        deadline = time.monotonic() + 60
        while sample(httpx.get(server.url + "/metrics").text, "ids_requests_in_flight") < 5:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while True:  # the listening socket closes soon after the signal: no new connections
            try:
                httpx.get(server.url + "/v2/health/live", timeout=2)
            except httpx.ConnectError:
                break
            assert time.monotonic() < deadline, "still taking connections after SIGTERM"
            time.sleep(0.05)
        statuses = [call.result() for call in calls]
    assert statuses == [200] * 4
    assert server.process.wait(timeout=HANG) == 0
    output = server.output()
    assert '"event":"shutdown_started"' in output
    assert '"in_flight":4' in output
