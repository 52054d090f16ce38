"""`--server`: the same verdicts through a running server (v2 binary batches) as in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.processes import ServerProcess, serving
from detect.cli import main
from detect.remote import RemoteScorer


@pytest.fixture(scope="module")
def server(repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {"IDS_ARTIFACTS_PATH": str(repository), "IDS_MAX_BATCH_ROWS": "1000"}
    with serving(env, log) as running:
        yield running


@pytest.mark.parametrize(
    ("model", "pcaps"),
    [
        pytest.param("ports", ("portscan", "web"), id="port rule, scan and web"),
        pytest.param("xgboost", ("flood", "slowloris"), id="multiclass, more rows than a batch"),
        pytest.param("random_forest", ("udp",), id="binary"),
    ],
)
def test_the_server_gives_the_in_process_verdicts(
    model: str,
    pcaps: tuple[str, ...],
    server: ServerProcess,
    repository: Path,
    pcaps_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = [str(pcaps_dir / f"{name}.pcap") for name in pcaps]
    local, remote = tmp_path / "local.jsonl", tmp_path / "remote.jsonl"
    assert (
        main([*files, "--artifacts", str(repository), "--model", model, "--alerts", str(local)])
        == 0
    )
    in_process = capsys.readouterr().err
    assert main([*files, "--server", server.url, "--model", model, "--alerts", str(remote)]) == 0
    through_server = capsys.readouterr().err
    assert remote.read_text() == local.read_text()
    assert f"({server.url})" in through_server
    # the same table: flows per label and top talkers
    assert _table(through_server) == _table(in_process)


def _table(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("detect:")]


def test_the_server_splits_large_batches(server: ServerProcess, repository: Path) -> None:
    scorer = RemoteScorer(server.url, "ports", rows_per_request=7)
    import numpy as np

    rows = np.zeros((20, 78))
    rows[:, 0] = np.arange(1015, 1035)
    verdicts = scorer.score(rows)
    assert verdicts.labels == ["ATTACK"] * 9 + ["BENIGN"] * 11
    assert verdicts.probabilities.shape == (20, 2)


def test_a_model_the_server_lacks_is_named(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a.jsonl"
    assert (
        main(["x.pcap", "--server", server.url, "--model", "nonesuch", "--alerts", str(out)]) == 1
    )
    stderr = capsys.readouterr().err
    assert f"unknown model 'nonesuch': the server at {server.url} serves" in stderr
    assert "'ports'" in stderr
    assert not out.exists()


def test_a_server_error_stops_the_run(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scorer = RemoteScorer(server.url, "ports")
    scorer._path = "/v2/models/nonesuch/versions/1"  # the model is gone, as after a reload
    import numpy as np

    from detect.errors import DetectError

    with pytest.raises(DetectError, match="answered 404"):
        scorer.score(np.zeros((2, 78)))
