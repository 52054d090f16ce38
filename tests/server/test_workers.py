"""IDS_WORKERS=2: two processes on one port under the supervisor. Metrics are totals over both
(and survive a worker's death), load/unload calls reach every worker, auth holds, SIGTERM lets
requests in flight finish, and no process imports a training library or unpickles anything."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.processes import ServerProcess, python_server
from server.settings import Settings
from server.supervisor import Supervisor, Worker
from tests.server.processes import tracer_env
from tests.server.test_metrics import sample
from tests.server.test_process import check_imports

TOKEN = "workers-test-token-0123456789"
AUTH = {"authorization": f"Bearer {TOKEN}"}
ROW = [1.0] * 78


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workers")


@pytest.fixture(scope="module")
def server(repository: Path, slow_repository: Path, traced: Path) -> Iterator[ServerProcess]:
    root = Path(shutil.copytree(repository, traced / "artifacts"))
    shutil.copytree(slow_repository / "slow", root / "slow")
    env = {"ARTIFACTS_PATH": str(root), "IDS_WORKERS": "2", "IDS_AUTH_TOKENS": TOKEN,
           **tracer_env(traced)}  # fmt: skip
    server = python_server(env, traced / "server.log")
    server.wait_ready()
    wait_for(lambda: '"event":"ready"' in server.output())
    yield server
    server.stop()


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def events(server: ServerProcess, name: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == name]


def statuses(server: ServerProcess, path: str) -> set[int]:
    """The statuses every live worker answers `path` with."""
    return {answer.status_code for answer in each_worker(server, "GET", path).values()}


def worker_of(answer: httpx.Response) -> str:
    """Which process answered: the per-process prefix of the ids it makes."""
    return answer.headers["x-request-id"].partition("-")[0]


def each_worker(
    server: ServerProcess, method: str, path: str, **kwargs: Any
) -> dict[str, httpx.Response]:
    """The answer of every live worker (new connections until both have answered)."""
    answers: dict[str, httpx.Response] = {}
    for _ in range(400):
        answer = httpx.request(method, server.url + path, headers=AUTH, timeout=10, **kwargs)
        answers.setdefault(worker_of(answer), answer)
        if len(answers) == 2:
            return answers
    raise AssertionError(f"only {list(answers)} answered")


def test_metrics_are_totals_of_every_worker(server: ServerProcess) -> None:
    for _ in range(40):  # a new connection each: the kernel spreads them over the workers
        answer = httpx.post(server.url + "/predict", json={"features": ROW}, headers=AUTH)
        assert answer.status_code == 200

    # A worker adds up its requests every few milliseconds (later on a loaded machine): whichever
    # worker answers a scrape, it comes to show the 40 of both together.
    def scrapes() -> list[str]:
        return [answer.text for answer in each_worker(server, "GET", "/metrics").values()]

    def counted(text: str) -> float:
        return sample(text, "ids_request_duration_seconds_count", route="/predict")

    wait_for(lambda: all(counted(text) == 40 for text in scrapes()))
    for text in scrapes():
        assert sample(text, "ids_requests_total", route="/predict", model="random_forest",
                      status="200") == 40  # fmt: skip
        assert sample(text, "ids_request_duration_seconds_count", route="/predict") == 40
        assert sample(text, "ids_workers") == 2
        assert text.count('ids_model_info{model="slow"') == 1  # loaded in both, shown once


def test_auth_holds_on_every_worker(server: ServerProcess) -> None:
    for answer in each_worker(server, "POST", "/predict", json={"features": ROW}).values():
        assert answer.status_code == 200
    for _ in range(10):
        assert httpx.post(server.url + "/predict", json={"features": ROW}).status_code == 401
        assert httpx.get(server.url + "/v2/health/ready").status_code == 200


def test_load_and_unload_reach_every_worker(server: ServerProcess) -> None:
    unloaded = httpx.post(server.url + "/v2/repository/models/decision_tree/unload", headers=AUTH)
    assert unloaded.status_code == 200
    wait_for(lambda: statuses(server, "/v2/models/decision_tree/ready") == {404})  # 2 checks/s
    loaded = httpx.post(server.url + "/v2/repository/models/decision_tree/load", headers=AUTH)
    assert loaded.status_code == 200
    wait_for(lambda: statuses(server, "/v2/models/decision_tree/ready") == {200})


def test_a_dead_worker_is_replaced_and_its_counts_kept(server: ServerProcess) -> None:
    before = sample(httpx.get(server.url + "/metrics").text, "ids_request_duration_seconds_count",
                    route="/predict")  # fmt: skip
    victim = events(server, "worker_started")[0]["pid"]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(events(server, "worker_ready")) == 3)  # two at start, one replacement
    exited = events(server, "worker_exited")
    assert [(e["pid"], e["status"]) for e in exited] == [(victim, -signal.SIGKILL)]
    for answer in each_worker(server, "GET", "/metrics").values():
        text = answer.text
        assert sample(text, "ids_workers") == 2  # the dead one's gauge is gone
        assert sample(text, "ids_requests_in_flight") == 1  # this scrape, nothing stale
        assert sample(text, "ids_request_duration_seconds_count", route="/predict") == before


def test_sigterm_lets_requests_in_flight_finish(server: ServerProcess, traced: Path) -> None:
    batch = [{"features": ROW, "model_name": "slow"}] * 500

    def slow_call() -> int:
        answer = httpx.post(server.url + "/predict/batch", json=batch, headers=AUTH, timeout=60)
        return answer.status_code

    with ThreadPoolExecutor(4) as pool:
        calls = [pool.submit(slow_call) for _ in range(4)]
        wait_for(lambda: sample(httpx.get(server.url + "/metrics").text,
                                "ids_requests_in_flight") >= 5)  # fmt: skip
        server.process.send_signal(signal.SIGTERM)
        statuses = [call.result() for call in calls]
    assert statuses == [200] * 4
    assert server.process.wait(timeout=60) == 0
    output = server.output()
    assert len(events(server, "shutdown_started")) == 2  # each live worker drained
    assert events(server, "supervisor_stopped")[0]["status"] == 0
    assert TOKEN not in output  # the token reached every worker and no log line
    # The supervisor, the surviving worker and the replacement (a killed process reports none).
    check_imports(traced / "reports", processes=3)


def test_workers_gone_before_saying_ready_stop_the_start(tmp_path: Path) -> None:
    """Both workers exit before the supervisor looks: their ready pipes read as ended, not as
    ready (once taken for ready on a loaded machine, the supervisor respawned them forever)."""
    supervisor = Supervisor(Settings(artifacts_path=tmp_path, workers=2), dict(os.environ))
    for number in (1, 2):
        read_fd, write_fd = os.pipe()
        process = subprocess.Popen([sys.executable, "-c", "pass"], pass_fds=(write_fd,))
        os.close(write_fd)
        supervisor.workers.append(Worker(number, process, read_fd, 0, time.monotonic()))
    for worker in supervisor.workers:  # exited, not yet reaped: poll() still has to see it
        os.waitid(os.P_PID, worker.process.pid, os.WEXITED | os.WNOWAIT)
    assert supervisor._watch() == 1
    assert [worker.process.wait() for worker in supervisor.workers] == [0, 0]  # none respawned
