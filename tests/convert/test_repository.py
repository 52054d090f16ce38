"""Artifacts appear whole or not at all; a model failing the gate gets none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx
import pytest
from onnx import numpy_helper

import convert.cli
import convert.conversion
import convert.graph_model
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


@pytest.fixture
def cli_argv(
    binary_pickles: FixtureSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Arguments converting the binary fixture set into `tmp_path/artifacts`, with the CLI
    checking the fixture's flows instead of generating synthetic ones."""

    def fixture_data(feature_names: Any, rows: int = 0) -> CheckData:
        return binary_pickles.check_data()

    monkeypatch.setattr(convert.cli, "synthetic_check_data", fixture_data)
    return ["--models", str(binary_pickles.folder), "--out", str(tmp_path / "artifacts")]


def with_scaled_splits_before_the_scaler(graph: onnx.ModelProto, forest: Any) -> onnx.ModelProto:
    """A batch graph with one deliberate error: the raw-value splits replaced by the model's
    own split values, which are in scaled units."""
    trees = next(n for n in graph.graph.node if n.op_type == "TreeEnsembleRegressor")
    splits = next(a for a in trees.attribute if a.name == "nodes_values_as_tensor")
    values = numpy_helper.to_array(splits.t).copy()
    values[: forest.n_nodes] = forest.threshold  # one tree: its internal nodes come first
    splits.t.CopyFrom(numpy_helper.from_array(values))
    return graph


@pytest.mark.parametrize(
    ("broken", "verdict"),
    [
        pytest.param(False, "FAILED: no artifact written", id="self-contained graph broken"),
        pytest.param(
            True, "FAILED (model.batch.onnx): no artifact written", id="batch graph broken"
        ),
    ],
)
def test_failing_model_gets_no_artifact_and_the_run_fails(
    cli_argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    broken: bool,
    verdict: str,
) -> None:
    real_build = convert.graph_model.build_graph

    def build_breaking_the_tree(
        name: str, model: TreeModel, *args: Any, batch: bool = False
    ) -> onnx.ModelProto:
        graph = real_build(name, model, *args, batch=batch)
        if name != "decision_tree" or batch != broken:
            return graph
        if batch:
            return with_scaled_splits_before_the_scaler(graph, model.forest)
        return with_nearest_float32_splits(graph, model.forest)

    monkeypatch.setattr(convert.conversion, "build_graph", build_breaking_the_tree)
    assert main(cli_argv) == 1
    captured = capsys.readouterr()
    out = Path(cli_argv[-1])
    assert _entries(out) == ["random_forest", "xgboost"]
    assert _entries(out / "xgboost") == ["1", "config.pbtxt"]
    assert _entries(out / "xgboost" / "1") == ["manifest.json", "model.batch.onnx", "model.onnx"]
    [tree_line] = [line for line in captured.out.splitlines() if line.startswith("decision_tree")]
    assert tree_line.endswith(verdict)
    assert "pickle 'ATTACK'" in captured.err or "pickle 'BENIGN'" in captured.err


def test_runs_print_the_parity_table_and_take_the_next_version(
    cli_argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = Path(cli_argv[-1])
    assert main(cli_argv) == 0
    assert main(cli_argv) == 0
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


def test_check_rows_the_pickle_rejects_fail_that_model_clearly(
    cli_argv: list[str],
    binary_pickles: FixtureSet,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    flows = binary_pickles.flows.copy()
    flows[3, 0] = 1e300  # beyond float32 once scaled: scikit-learn's trees refuse it

    def huge_data(feature_names: Any, rows: int = 0) -> CheckData:
        return CheckData.from_array(flows, "huge flows")

    monkeypatch.setattr(convert.cli, "synthetic_check_data", huge_data)
    assert main(cli_argv) == 1
    out = capsys.readouterr().out
    assert "random_forest  FAILED: the pickle pipeline rejects rows 0-999: Input X contains" in out
    assert not (Path(cli_argv[-1]) / "random_forest").exists()
