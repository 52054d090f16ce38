"""Loading the repository: the latest version of each model, every way an artifact is refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.cli import main as serve
from server.errors import ArtifactError, ModelNotFound, VersionNotFound
from server.model import session_options
from server.repository import load_repository
from tests.server.artifact_builder import BINARY, MULTICLASS, build_graph, write_artifact
from tests.server.conftest import Rows

OPTIONS = session_options(1, False)


def test_every_version_of_every_model_is_loaded(repository: Path) -> None:
    registry = load_repository(repository, OPTIONS)
    assert registry.names() == ["decision_tree", "random_forest", "xgboost"]
    assert [model.version for model in registry] == ["2", "2", "2"]  # the latest of each
    assert registry.get("xgboost").class_labels == MULTICLASS
    assert registry.versions("xgboost") == ["1", "2"]
    assert registry.get("xgboost", "1").manifest.version == 1
    assert [(m.name, m.version) for m in registry.every_version()][:2] == [
        ("decision_tree", "1"),
        ("decision_tree", "2"),
    ]


def test_large_batches_answer_as_on_the_single_row_session(repository: Path, flows: Rows) -> None:
    """Large batches run on a session with more threads: the same answers, bit for bit."""
    registry = load_repository(repository, OPTIONS, session_options(2, False))
    for model in registry.every_version():
        small, large = model.predict(flows), model.predict(flows, large=True)
        assert large.labels.tolist() == small.labels.tolist()
        assert large.probabilities.tobytes() == small.probabilities.tobytes()


def test_unknown_model_and_version_are_named(repository: Path) -> None:
    registry = load_repository(repository, OPTIONS)
    with pytest.raises(ModelNotFound, match=r"'svm' not available. Choose from: \['decision"):
        registry.get("svm")
    with pytest.raises(VersionNotFound, match="'xgboost' has no version '7'"):
        registry.get("xgboost", "7")


def test_folders_that_are_not_versions_are_ignored(tmp_path: Path) -> None:
    write_artifact(tmp_path, "random_forest", 3)
    (tmp_path / "random_forest" / "draft").mkdir()
    (tmp_path / "random_forest" / "config.pbtxt").write_text('platform: "onnxruntime_onnx"')
    (tmp_path / "README.md").write_text("notes")
    assert [model.version for model in load_repository(tmp_path, OPTIONS)] == ["3"]


def _flip_a_byte(folder: Path) -> None:
    graph = bytearray((folder / "model.onnx").read_bytes())
    graph[-1] ^= 0xFF
    (folder / "model.onnx").write_bytes(bytes(graph))


def _edit(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        change(manifest)
        (folder / "manifest.json").write_text(json.dumps(manifest))

    return edit


def _replace_graph(graph: bytes) -> Callable[[Path], None]:
    """Swap in another graph and fix up the checksum, so only the contract check can object."""

    def replace(folder: Path) -> None:
        import hashlib

        (folder / "model.onnx").write_bytes(graph)
        _edit(
            lambda m: m["onnx"].update(sha256=hashlib.sha256(graph).hexdigest(), bytes=len(graph))
        )(folder)

    return replace


BROKEN = [
    pytest.param(_flip_a_byte, "sha256 .* does not match the manifest's", id="bad sha256"),
    pytest.param(lambda f: (f / "model.onnx").unlink(), "cannot read the graph", id="no graph"),
    pytest.param(lambda f: (f / "manifest.json").unlink(), "cannot read the manifest",
                 id="no manifest"),
    pytest.param(lambda f: (f / "manifest.json").write_text("{"), "not valid JSON",
                 id="manifest not JSON"),
    pytest.param(_edit(lambda m: m.pop("class_labels")), "'class_labels' is missing",
                 id="field missing"),
    pytest.param(_edit(lambda m: m.update(schema=2)), "'schema' is 2; this server reads 1",
                 id="newer schema"),
    pytest.param(_edit(lambda m: m.update(version=9)), "names 'random_forest' version 9",
                 id="version differs from folder"),
    pytest.param(_edit(lambda m: m.update(name="other")), "names 'other' version 1",
                 id="name differs from folder"),
    pytest.param(_edit(lambda m: m["onnx"].update(file="../../model.onnx")),
                 "'onnx.file' must be a file name inside", id="file outside the folder"),
    pytest.param(_edit(lambda m: m["onnx"].update(bytes=1)), "bytes, but the manifest says 1",
                 id="size differs"),
    pytest.param(_edit(lambda m: m["outputs"].pop()), "'outputs' must be", id="output missing"),
    pytest.param(_edit(lambda m: m["inputs"][0].update(datatype="FP32")), "'inputs' must be",
                 id="input not FP64"),
    pytest.param(_edit(lambda m: m.update(class_labels=list(MULTICLASS),
                                          outputs=[{"name": "label", "datatype": "BYTES",
                                                    "shape": [-1]},
                                                   {"name": "probabilities", "datatype": "FP32",
                                                    "shape": [-1, 6]}])),
                 "probabilities. is FP32 \\[-1, 2\\] in the graph but FP32 \\[-1, 6\\]",
                 id="manifest has more classes than the graph"),
    pytest.param(_replace_graph(build_graph(BINARY, input_name="x")),
                 "the graph's inputs \\['x'\\] differ from the manifest's \\['features'\\]",
                 id="graph input named differently"),
    pytest.param(_replace_graph(build_graph(BINARY, n_features=77)),
                 "input 'features' is FP64 \\[-1, 77\\] in the graph", id="graph takes 77"),
    pytest.param(_replace_graph(b"not an onnx graph"), "onnxruntime cannot load it",
                 id="not a graph"),
    pytest.param(_edit(lambda m: m.update(feature_names=["a b", "ab", *m["feature_names"][2:]])),
                 "names 'a b' and 'ab' are the same column", id="ambiguous names"),
    pytest.param(_edit(lambda m: m.update(
                     feature_names=["Dst Port", *m["feature_names"][1:-1], "Destination Port"])),
                 "names 'Dst Port' and 'Destination Port' are the same column",
                 id="one column in two namings"),
]  # fmt: skip


@pytest.mark.parametrize(("breakage", "message"), BROKEN)
def test_broken_artifact_stops_the_load(
    tmp_path: Path, breakage: Callable[[Path], None], message: str
) -> None:
    write_artifact(tmp_path, "xgboost", 1, MULTICLASS)
    breakage(write_artifact(tmp_path, "random_forest", 1))
    with pytest.raises(ArtifactError, match=message):
        load_repository(tmp_path, OPTIONS)


def test_probe_catches_labels_that_are_not_class_names(tmp_path: Path) -> None:
    graph = build_graph(("attack", "benign"))
    write_artifact(tmp_path, "random_forest", 1, BINARY, graph=graph)
    with pytest.raises(ArtifactError, match=r"labels come out as .*'benign'"):
        load_repository(tmp_path, OPTIONS)


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        pytest.param(lambda root: None, "holds no models", id="empty repository"),
        pytest.param(lambda root: (root / "random_forest").mkdir(), "no version folders",
                     id="model without versions"),
        pytest.param(lambda root: root.rmdir(), "is not a folder", id="no repository"),
    ],
)  # fmt: skip
def test_command_line_refuses_to_start(
    tmp_path: Path,
    prepare: Callable[[Path], None],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "artifacts"
    root.mkdir()
    prepare(root)
    assert serve(["--artifacts", str(root), "--port", "0"]) == 1
    assert message in capsys.readouterr().err


def test_command_line_refuses_a_bad_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IDS_MAX_BATCH_ROWS", "many")
    assert serve([]) == 2
    assert "IDS_MAX_BATCH_ROWS has value 'many': not a valid integer" in capsys.readouterr().err


def test_ids_inference_serve_is_the_same_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ids_inference.cli import main as ids_inference

    assert ids_inference(["serve", "--artifacts", str(tmp_path)]) == 1
    assert "holds no models" in capsys.readouterr().err
