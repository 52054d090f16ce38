"""Artifacts appear whole or not at all; a model failing the gate gets none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx
import pytest

import convert.cli
import convert.conversion
import convert.repository
from convert.check_data import CheckData
from convert.cli import main
from convert.repository import next_version, write_version
from convert.tree_model import TreeModel
from tests.convert.conftest import FixtureSet, with_nearest_float32_splits


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_interrupted_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = convert.repository._write

    def failing_write(path: Path, data: bytes) -> None:
        if path.name == "manifest.json":
            raise OSError("disk full")
        real_write(path, data)

    monkeypatch.setattr(convert.repository, "_write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        write_version(tmp_path, "xgboost", 1, b"onnx", {"name": "xgboost"}, "config")
    assert _entries(tmp_path / "xgboost") == []


def test_version_folder_holds_both_files_and_config_sits_beside(tmp_path: Path) -> None:
    folder = write_version(tmp_path, "xgboost", 4, b"onnx", {"name": "xgboost"}, "config\n")
    assert folder == tmp_path / "xgboost" / "4"
    assert _entries(folder) == ["manifest.json", "model.onnx"]
    assert _entries(tmp_path / "xgboost") == ["4", "config.pbtxt"]
    assert json.loads((folder / "manifest.json").read_text()) == {"name": "xgboost"}
    assert next_version(tmp_path, ["xgboost", "random_forest"]) == 5


def _cli_with_fixture_data(monkeypatch: pytest.MonkeyPatch, pickles: FixtureSet) -> None:
    """The CLI checking the fixture's flows instead of generating synthetic ones."""

    def fixture_data(feature_names: Any, rows: int = 0) -> CheckData:
        return pickles.check_data()

    monkeypatch.setattr(convert.cli, "synthetic_check_data", fixture_data)


def test_failing_model_gets_no_artifact_and_the_run_fails(
    binary_pickles: FixtureSet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _cli_with_fixture_data(monkeypatch, binary_pickles)
    real_build = convert.conversion.build_graph

    def build_breaking_the_tree(name: str, model: TreeModel, *args: Any) -> onnx.ModelProto:
        graph = real_build(name, model, *args)
        return (
            with_nearest_float32_splits(graph, model.forest) if name == "decision_tree" else graph
        )

    monkeypatch.setattr(convert.conversion, "build_graph", build_breaking_the_tree)
    out = tmp_path / "artifacts"
    assert main(["--models", str(binary_pickles.folder), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert _entries(out) == ["random_forest", "xgboost"]
    assert _entries(out / "xgboost") == ["1", "config.pbtxt"]
    [tree_line] = [line for line in captured.out.splitlines() if line.startswith("decision_tree")]
    assert tree_line.endswith("FAILED: no artifact written")
    assert "pickle 'ATTACK'" in captured.err or "pickle 'BENIGN'" in captured.err


def test_runs_print_the_parity_table_and_take_the_next_version(
    binary_pickles: FixtureSet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _cli_with_fixture_data(monkeypatch, binary_pickles)
    out = tmp_path / "artifacts"
    argv = ["--models", str(binary_pickles.folder), "--out", str(out)]
    assert main(argv) == 0
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "parity check data: fixture flows (1000 flows)"
    assert lines[1].split() == [
        "model", "type", "rows", "boundary", "probes", "mismatches", "ties", "max", "diff",
        "tolerance", "seconds", "result",
    ]  # fmt: skip
    rows = [line.split() for line in lines if line.startswith(("random_forest", "xgboost"))]
    assert all(row[5] == "0" and row[-2] == "ok:" for row in rows)
    assert {row[-1] for row in rows} >= {str(out / "xgboost" / "2")}
    for name in ("random_forest", "xgboost", "decision_tree"):
        assert _entries(out / name) == ["1", "2", "config.pbtxt"]
        assert json.loads((out / name / "2" / "manifest.json").read_text())["version"] == 2
