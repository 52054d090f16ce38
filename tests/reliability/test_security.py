"""Security properties of the real server process and the image: limits hold over the wire,
nothing is ever unpickled, the image runs as a non-root user."""

from __future__ import annotations

import gzip
import json
import re
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from benchmarks.payloads import batch_csv, batch_json, v2_binary, v2_json
from benchmarks.processes import PROJECT_ROOT, ServerProcess, serving
from benchmarks.reliability.traffic import Request, Traffic, tally
from models.features import FEATURE_NAMES
from tests.reliability.payloads import batch_request, binary_request, single_requests
from tests.server.processes import tracer_env

BODY_LIMIT = 4096
ROW_LIMIT = 3
LIMITS = {"IDS_MAX_BODY_BYTES": str(BODY_LIMIT), "IDS_MAX_BATCH_ROWS": str(ROW_LIMIT)}
JSON = {"content-type": "application/json"}


def rows(count: int) -> np.ndarray:
    return np.ones((count, len(FEATURE_NAMES)))


def v2_binary_request(count: int) -> tuple[bytes, dict[str, str]]:
    return v2_binary(rows(count))


def chunks(size: int) -> Iterator[bytes]:
    for _ in range(size // 512):
        yield b" " * 512


LIMIT_CASES = [
    pytest.param("/predict/batch", b"[" + b" " * BODY_LIMIT + b"]", JSON, 413,
                 id="body over the limit"),
    pytest.param("/predict/batch", chunks(BODY_LIMIT + 512), JSON, 413,
                 id="chunked body over the limit"),
    pytest.param("/predict/batch", gzip.compress(b" " * (BODY_LIMIT + 1)),
                 {**JSON, "content-encoding": "gzip"}, 413, id="gzip inflating past the limit"),
    pytest.param("/predict/batch", batch_json(rows(ROW_LIMIT + 1), "xgboost"), JSON, 413,
                 id="JSON batch over the row limit"),
    pytest.param("/predict/batch", batch_csv(rows(ROW_LIMIT + 1), FEATURE_NAMES),
                 {"content-type": "text/csv"}, 413, id="CSV over the row limit"),
    pytest.param("/v2/models/xgboost/infer", v2_json(rows(ROW_LIMIT + 1)), JSON, 413,
                 id="v2 JSON over the row limit"),
    pytest.param("/v2/models/xgboost/infer", *v2_binary_request(ROW_LIMIT + 1), 413,
                 id="v2 binary over the row limit"),
    pytest.param("/predict/batch", batch_json(rows(ROW_LIMIT), "xgboost"), JSON, 200,
                 id="JSON batch at the row limit"),
    pytest.param("/v2/models/xgboost/infer", *v2_binary_request(ROW_LIMIT), 200,
                 id="v2 binary at the row limit"),
]  # fmt: skip


@pytest.fixture(scope="module")
def limited(test_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("limits") / "server.log"
    with serving({"ARTIFACTS_PATH": str(test_repository), **LIMITS}, log) as server:
        yield server.url


@pytest.mark.parametrize(("path", "body", "headers", "status"), LIMIT_CASES)
def test_size_and_row_limits_hold_over_the_wire(
    limited: str, path: str, body: bytes | Iterator[bytes], headers: dict[str, str], status: int
) -> None:
    answer = httpx.post(limited + path, content=body, headers=headers, timeout=10)
    assert answer.status_code == status, answer.text
    if status == 413:
        assert answer.json()["error"].startswith(("Maximum", "Request body larger than"))


def test_a_declared_length_over_the_limit_is_refused_before_the_body(limited: str) -> None:
    port = int(limited.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(
            b"POST /predict/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000000\r\n\r\n"
        )
        answer = raw.recv(65536)  # no body sent: the answer cannot have waited for it
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_oversized_headers_are_refused_and_the_server_keeps_serving(limited: str) -> None:
    headers = {**JSON, "x-padding": "a" * 200_000}
    try:
        status = httpx.post(limited + "/predict", content=b"{}", headers=headers, timeout=10)
        assert status.status_code < 500
    except httpx.RemoteProtocolError:
        pass  # the server closed the connection: refused as well
    assert httpx.get(limited + "/health", timeout=10).status_code == 200


@pytest.mark.parametrize("workers", [pytest.param(1, id="one worker"), pytest.param(2, id="two")])
def test_the_server_never_unpickles_whatever_it_is_sent(
    start: Callable[..., ServerProcess], repository: Path, tmp_path: Path, workers: int
) -> None:
    """The server room's import tracer and unpickling audit hook (tests/server/processes.py) in
    every process of the server, here under traffic through every decoder, good and bad, and a
    reload, rather than a few predictions."""
    env = tracer_env(tmp_path)
    server = start(
        {"ARTIFACTS_PATH": str(repository), "IDS_WORKERS": str(workers), **env, **LIMITS}
    )
    csv = batch_csv(rows(ROW_LIMIT), FEATURE_NAMES)
    pickled = b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94."  # a pickle stream
    requests = [
        *single_requests(3, "decision_tree"),
        batch_request(ROW_LIMIT, "xgboost"),
        binary_request(ROW_LIMIT, "random_forest"),
        Request("POST", "/predict/batch", csv, {"content-type": "text/csv"}),
        Request("POST", "/predict", pickled, {"content-type": "application/octet-stream"}),
        Request("POST", "/predict", pickled, JSON),
        Request(
            "POST", "/v2/models/xgboost/infer", pickled, {"content-type": "application/pickle"}
        ),
        Request("POST", "/v2/repository/models/xgboost/load"),
        Request("GET", "/models"),
        Request("GET", "/v2/models/xgboost"),
    ]
    counted = tally(Traffic(server.port, requests, connections=4, per_connection=50).start().join())
    server.signal(signal.SIGTERM)
    assert server.wait_exit(60) == 0, server.output()
    assert counted.lost == 0, counted
    reports = [json.loads(path.read_text()) for path in Path(env["IMPORT_REPORT_DIR"]).iterdir()]
    assert len(reports) >= 1 + (workers > 1) * workers  # the supervisor and every worker
    for seen in reports:
        assert seen["unpickled"] == [], seen["argv"]
        loaded = {name.partition(".")[0] for name in seen["modules"]}
        assert not loaded & {"sklearn", "xgboost", "pandas", "joblib", "skl2onnx", "onnx"}


def dockerfile_final_user(text: str) -> str | None:
    """The USER in force in the Dockerfile's last stage (None: root by default)."""
    user = None
    for line in re.sub(r"\\\n", " ", text).splitlines():
        words = line.split()
        if not words:
            continue
        if words[0].upper() == "FROM":
            user = None
        elif words[0].upper() == "USER":
            user = words[1]
    return user


def test_the_dockerfile_runs_the_server_as_a_numeric_non_root_user() -> None:
    user = dockerfile_final_user((PROJECT_ROOT / "Dockerfile").read_text())
    assert user is not None, "the runtime stage sets no USER: it would run as root"
    uid, _, gid = user.partition(":")
    # Numeric, so Kubernetes' runAsNonRoot can verify it without the image's /etc/passwd.
    assert uid.isdigit(), user
    assert int(uid) != 0, user
    assert not gid or (gid.isdigit() and int(gid) != 0), user


@pytest.mark.reliability_full
def test_the_built_image_runs_as_non_root(record: Callable[..., None]) -> None:
    """scripts/image-smoke builds the image and runs it as its user; its checks fail unless
    every process of the image runs as that uid. Needs root and podman."""
    script = PROJECT_ROOT / "scripts" / "image-smoke"
    if subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() != "0":
        pytest.skip("scripts/image-smoke needs root")
    if subprocess.run(["which", "podman"], capture_output=True).returncode != 0:
        pytest.skip("scripts/image-smoke needs podman (apt-get install podman debootstrap)")
    done = subprocess.run([str(script)], capture_output=True, text=True, timeout=1800)
    output = done.stdout + done.stderr
    processes = re.findall(r"pid (\d+) (\S+) uid\(real eff saved fs\)=([\d ]+)", output)
    runs_as = re.search(r"runs as uid \d+ gid \d+", output)
    record(
        "image",
        passed=done.returncode == 0,
        runs_as=runs_as.group(0) if processes and runs_as else None,
        processes=[f"{name} uid {uids}" for _, name, uids in processes],
        command="scripts/image-smoke",
    )
    assert done.returncode == 0, output[-5000:]
    assert processes, output[-5000:]
    assert all("0" not in uids.split() for _, _, uids in processes), processes
