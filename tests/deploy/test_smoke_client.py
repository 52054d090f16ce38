"""scripts/smoke_client.py: what image-smoke reads from `podman image inspect`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.deploy.files import ROOT, load_script

SCRIPT = ROOT / "scripts" / "smoke_client.py"
# The shape of `podman image inspect` for a docker-format image (HEALTHCHECK at the top level).
INSPECT: list[dict[str, Any]] = [
    {
        "Size": 339250405,
        "Healthcheck": {"Test": ["CMD", "python3", "/usr/local/bin/ids-healthcheck"]},
        "Config": {
            "User": "10001:10001",
            "Env": ["PATH=/opt/venv/bin:/usr/bin", "ARTIFACTS_PATH=/app/artifacts"],
            "Entrypoint": ["/usr/local/bin/tini", "--"],
            "Cmd": ["ids-inference", "serve"],
            "WorkingDir": "/app",
        },
    }
]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("command", "/usr/local/bin/tini\0--\0ids-inference\0serve\0", id="command"),
        pytest.param(
            "env", "PATH=/opt/venv/bin:/usr/bin\0ARTIFACTS_PATH=/app/artifacts\0", id="env"
        ),
        pytest.param("healthcheck", "CMD\0python3\0/usr/local/bin/ids-healthcheck\0", id="check"),
        pytest.param("user", "10001:10001", id="user"),
        pytest.param("workdir", "/app", id="workdir"),
        pytest.param("size", "339250405", id="size"),
    ],
)
def test_config_prints_what_the_shell_reads(field: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "config", field],
        input=json.dumps(INSPECT),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == value


def test_an_image_without_workdir_runs_in_the_root() -> None:
    document = [{"Config": {"Cmd": ["python3"]}}]
    assert load_script("smoke_client").image_config(document, "workdir") == "/"


def test_running_tells_a_live_process_from_an_exited_one() -> None:
    module = load_script("smoke_client")
    assert module.running(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not module.running(child.pid)


def test_image_smoke_script_parses() -> None:
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "image-smoke")], check=True)
