"""Hot reloads and broken repositories under load: the repository extension's load, a corrupted
artifact, the whole folder gone, and the concurrency limit. Clients keep calling throughout and
every request is counted."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.processes import ServerProcess
from benchmarks.reliability.traffic import Outcome, Traffic, receive_response, tally
from benchmarks.reliability.trickle import Trickle
from tests.reliability.conftest import Record, profiles
from tests.reliability.payloads import batch_request, binary_request, single_requests
from tests.reliability.versions import add_version, drop_oldest, flip_byte
from tests.server.artifact_builder import write_artifact

QUIET = {"IDS_LOG_LEVEL": "warning"}
MODEL = "random_forest"
SLOW = "slow"  # tests.server.artifact_builder's slow model, added where a test needs it


def steady_traffic(server: ServerProcess, connections: int = 16) -> Traffic:
    requests = [*single_requests(8, MODEL), batch_request(200, MODEL), binary_request(50, MODEL)]
    return Traffic(server.port, requests, connections=connections).start()


def load(server: ServerProcess, name: str = MODEL) -> httpx.Response:
    return httpx.post(f"{server.url}/v2/repository/models/{name}/load", timeout=120)


def served_version(server: ServerProcess) -> str:
    body = {"features": [1.0] * 78, "model_name": MODEL}
    answer = httpx.post(server.url + "/predict", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    version: str = answer.json()["model_version"]
    return version


def assert_none_failed(outcomes: list[Outcome]) -> dict[str, Any]:
    counted = tally(outcomes)
    assert counted.sent > 0
    assert counted.lost == 0, counted
    assert counted.statuses == {200: counted.sent}, counted
    return {"requests": counted.sent, "failed": counted.lost + counted.non_2xx}


@pytest.mark.parametrize("pause_s", profiles(0.1, 2.0))
def test_ten_hot_reloads_under_load_fail_no_request(
    start: Callable[..., ServerProcess], repository: Path, record: Record, pause_s: float
) -> None:
    server = start({"ARTIFACTS_PATH": str(repository), **QUIET})
    traffic = steady_traffic(server)
    versions = [served_version(server)]
    for _ in range(10):
        version = add_version(repository, MODEL)
        drop_oldest(repository, MODEL, keep=2)  # a rolling deployment: the previous one stays
        answer = load(server)
        assert answer.status_code == 200, answer.text
        assert version in answer.json()["versions"]
        versions.append(served_version(server))
        time.sleep(pause_s)
    counted = assert_none_failed(traffic.stop())
    record("reloads", reloads=10, versions=versions, **counted)
    assert versions[1:] == [str(int(versions[0]) + n) for n in range(1, 11)]


def test_a_flipped_byte_is_refused_and_the_old_version_keeps_serving(
    start: Callable[..., ServerProcess], repository: Path, record: Record
) -> None:
    server = start({"ARTIFACTS_PATH": str(repository), **QUIET})
    traffic = steady_traffic(server)
    before = served_version(server)
    # A new version whose graph lost a byte in transit, then the served version's own file.
    bad = add_version(repository, MODEL, corrupt=True)
    refused_new = load(server)
    flip_byte(repository / MODEL / before / "model.onnx")
    refused_current = load(server)
    after = served_version(server)
    index = httpx.post(server.url + "/v2/repository/index", timeout=10).json()
    counted = assert_none_failed(traffic.stop())
    record(
        "corrupt_artifact",
        reload_status=[refused_new.status_code, refused_current.status_code],
        reason=refused_new.json()["error"],
        served_version=after,
        **counted,
    )
    for refused in (refused_new, refused_current):
        assert refused.status_code == 400, refused.text
        assert "sha256" in refused.json()["error"]
        assert str(repository) not in refused.text  # reasons name the version, not server paths
    assert after == before
    states = {(e["name"], e.get("version")): e for e in index}
    assert states[(MODEL, bad)]["state"] == "UNAVAILABLE"
    assert str(repository) not in str(index)
    assert "sha256" in states[(MODEL, bad)]["reason"]
    assert states[(MODEL, before)]["state"] == "READY"


def test_the_repository_deleted_while_serving_keeps_the_loaded_models_serving(
    start: Callable[..., ServerProcess], repository: Path, record: Record
) -> None:
    server = start({"ARTIFACTS_PATH": str(repository), "IDS_POLL_SECONDS": "0.2", **QUIET})
    traffic = steady_traffic(server)
    models = httpx.get(server.url + "/health", timeout=10).json()["available_models"]
    shutil.rmtree(repository)
    time.sleep(1.0)  # several polls see it gone
    refused = load(server)
    index = httpx.post(server.url + "/v2/repository/index", timeout=10)
    still = {
        name: httpx.post(
            server.url + "/predict", json={"features": [1.0] * 78, "model_name": name}, timeout=10
        ).status_code
        for name in models
    }
    counted = assert_none_failed(traffic.stop())
    record("deleted_repository", reload_status=refused.status_code,
           reason=refused.json()["error"], **counted)  # fmt: skip
    assert refused.status_code == 400, refused.text
    assert "random_forest" in refused.json()["error"]
    assert str(repository) not in refused.text  # the reason, not the server's paths
    assert index.status_code == 200, index.text
    assert still == dict.fromkeys(models, 200)
    assert "model_load_failed" in server.output()  # the poll reported it


class HeldRequest:
    """A batch for the `slow` model (about a millisecond a row), sent whole: it holds a
    concurrency slot while it runs, for seconds; `finish()` waits for its answer. (A request
    whose body is still coming holds none: test_slow_bodies_... below.)"""

    def __init__(self, port: int, rows: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.socket.sendall(binary_request(rows, SLOW).encode())

    def finish(self) -> int:
        with self.socket:
            return receive_response(self.socket)[0]


def wait_until_refused(server: ServerProcess) -> None:
    body = {"features": [1.0] * 78}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if httpx.post(server.url + "/predict", json=body, timeout=10).status_code == 503:
            return
        time.sleep(0.05)
    raise AssertionError("the held requests never filled the concurrency limit")


@pytest.mark.parametrize(("extra", "held_rows"), profiles((40, 600), (2000, 3000)))
def test_overload_beyond_the_concurrency_limit_answers_503_at_once(
    start: Callable[..., ServerProcess],
    repository: Path,
    record: Record,
    extra: int,
    held_rows: int,
) -> None:
    limit = 4
    write_artifact(repository, SLOW, 1, slow=128)
    env = {
        "IDS_MAX_CONCURRENCY": str(limit),
        "IDS_MAX_BATCH_ROWS": str(held_rows),
        # The held batches run one after another on two cores: give them time to finish.
        "IDS_REQUEST_TIMEOUT_SECONDS": "110",
    }
    server = start({"ARTIFACTS_PATH": str(repository), **env, **QUIET})
    held = [HeldRequest(server.port, held_rows) for _ in range(limit)]
    wait_until_refused(server)  # every held request runs: no slot is free
    connections = 8
    more = Traffic(
        server.port, single_requests(4), connections, per_connection=extra // connections
    )
    outcomes = more.start().join()
    ready = httpx.get(server.url + "/v2/health/ready", timeout=10).status_code
    finished = [request.finish() for request in held]
    counted = tally(outcomes)
    retry_after = sum(1 for o in outcomes if o.status == 503 and "retry-after" in o.headers)
    record(
        "overload",
        limit=limit,
        held=limit,
        extra=counted.sent,
        refused=counted.statuses.get(503, 0),
        retry_after=retry_after,
        refused_p99_ms=counted.latency_p99_s * 1000,
        held_ok=finished.count(200),
    )
    assert counted.lost == 0, counted
    assert counted.statuses == {503: counted.sent}, counted
    assert retry_after == counted.sent
    assert ready == 200  # probes are not counted against the limit
    assert finished == [200] * limit  # answered after every refusal: the 503s did not wait


def test_slow_bodies_beyond_the_concurrency_limit_do_not_refuse_other_clients(
    start: Callable[..., ServerProcess], repository: Path
) -> None:
    limit = 4
    server = start({"ARTIFACTS_PATH": str(repository), "IDS_MAX_CONCURRENCY": str(limit), **QUIET})
    slow = Trickle(server.port, single_requests(1)[0], sockets=4 * limit).start()
    time.sleep(1.5)  # every body trickler has sent its head
    others = tally(Traffic(server.port, single_requests(4), 2, per_connection=10).start().join())
    slow.stop()
    assert others.statuses == {200: others.sent}, others
