"""Training: the pickle set's files, types, attributes, and the report."""

from __future__ import annotations

import hashlib
import inspect
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from xgboost import XGBClassifier

from ids_inference.cli import main as cli_main
from models.estimators import build_models
from models.features import FEATURE_NAMES
from models.pickle_set import MODEL_FILES, PICKLE_FILES, REPORT_FILE
from models.synthetic import generate_flows
from models.train import TrainingDataError, main, train_pickle_set

PickleSetFixture = tuple[Path, dict[str, Any]]


def unpickle(path: Path) -> Any:
    with path.open("rb") as handle:
        return pickle.load(handle)  # our own test fixture


def test_the_six_files_load_with_plain_pickle_into_the_services_types(
    binary_set: PickleSetFixture,
) -> None:
    folder, _ = binary_set
    assert sorted(p.name for p in folder.iterdir()) == sorted([*PICKLE_FILES, REPORT_FILE])
    expected = {
        "random_forest_ids.pkl": RandomForestClassifier,
        "xgboost_ids.pkl": XGBClassifier,
        "decision_tree_ids.pkl": DecisionTreeClassifier,
        "scaler.pkl": StandardScaler,
        "label_encoder.pkl": LabelEncoder,
        "feature_names.pkl": list,
    }
    for name, kind in expected.items():
        assert type(unpickle(folder / name)) is kind, name


def test_binary_set_attributes(binary_set: PickleSetFixture) -> None:
    folder, _ = binary_set
    forest = unpickle(folder / "random_forest_ids.pkl")
    # The fixture trains with one job; training's own default is the service's -1.
    assert (forest.class_weight, forest.random_state, forest.n_jobs) == ("balanced", 42, 1)
    assert inspect.signature(train_pickle_set).parameters["n_jobs"].default == -1
    assert forest.warm_start is False
    assert forest.n_features_in_ == 78
    booster = unpickle(folder / "xgboost_ids.pkl")
    assert (booster.max_depth, booster.objective, booster.random_state) == (
        10,
        "binary:logistic",
        42,
    )
    assert booster.get_params()["callbacks"] is None
    tree = unpickle(folder / "decision_tree_ids.pkl")
    assert (tree.max_depth, tree.class_weight, tree.random_state) == (20, "balanced", 42)
    scaler = unpickle(folder / "scaler.pkl")
    assert scaler.mean_.shape == scaler.scale_.shape == (78,)
    encoder = unpickle(folder / "label_encoder.pkl")
    assert encoder.classes_.tolist() == ["ATTACK", "BENIGN"]
    assert unpickle(folder / "feature_names.pkl") == list(FEATURE_NAMES)
    for model in (forest, booster, tree):
        assert model.classes_.tolist() == [0, 1]


def test_scale_pos_weight_balances_xgboosts_positive_class(binary_set: PickleSetFixture) -> None:
    folder, report = binary_set
    train = report["data"]["split"]["train_rows_per_class"]
    booster = unpickle(folder / "xgboost_ids.pkl")
    # label 1 (BENIGN) is XGBoost's positive class: weight = count(label 0) / count(label 1)
    assert booster.scale_pos_weight == pytest.approx(train["ATTACK"] / train["BENIGN"])


def test_the_pickles_predict_the_reported_test_figures(binary_set: PickleSetFixture) -> None:
    folder, report = binary_set
    flows = generate_flows(300, seed=99)
    scaler = unpickle(folder / "scaler.pkl")
    encoder = unpickle(folder / "label_encoder.pkl")
    features = np.where(np.isfinite(flows.features), flows.features, 0)
    for name, file in MODEL_FILES.items():
        predicted = encoder.inverse_transform(
            unpickle(folder / file).predict(scaler.transform(features))
        )
        assert set(predicted) <= {"ATTACK", "BENIGN"}
        assert report["models"][name]["accuracy"] > 0.9


def test_service_hyperparameters_are_the_issues() -> None:
    y = np.array([0, 0, 0, 1])
    models = build_models("binary", y, seed=42, n_estimators=None, n_jobs=-1)
    forest, booster, tree = models["random_forest"], models["xgboost"], models["decision_tree"]
    assert (forest.n_estimators, forest.class_weight, forest.random_state, forest.n_jobs) == (
        100,
        "balanced",
        42,
        -1,
    )
    assert booster.max_depth == 10
    assert booster.objective == "binary:logistic"
    assert booster.scale_pos_weight == 3 / 1
    assert booster.random_state == 42
    assert (tree.max_depth, tree.class_weight, tree.random_state) == (20, "balanced", 42)
    multi = build_models("multiclass", y, seed=42, n_estimators=None, n_jobs=-1)["xgboost"]
    assert multi.objective == "multi:softprob"


def test_report_contents(binary_set: PickleSetFixture) -> None:
    folder, report = binary_set
    assert json.loads((folder / REPORT_FILE).read_text()) == report
    for name in PICKLE_FILES:
        data = (folder / name).read_bytes()
        assert report["files"][name] == {
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
        }
    split = report["data"]["split"]
    assert split["train_rows"] + split["test_rows"] == report["data"]["rows_used"]
    assert split["test_rows"] == pytest.approx(0.2 * report["data"]["rows_used"], abs=1)
    assert sum(report["data"]["rows_per_class_read"].values()) == report["data"]["rows_read"]
    for name, figures in report["models"].items():
        assert figures["file"] == MODEL_FILES[name]
        assert figures["train_seconds"] >= 0
        for key in ("accuracy", "precision", "recall", "f1", "false_positive_rate"):
            assert 0 <= figures[key] <= 1, key
        matrix = np.array(figures["confusion_matrix"]["matrix"])
        assert figures["confusion_matrix"]["labels"] == ["ATTACK", "BENIGN"]
        assert matrix.sum() == split["test_rows"]
        assert matrix.sum(axis=1).tolist() == [
            split["test_rows_per_class"][c] for c in ("ATTACK", "BENIGN")
        ]
        benign = matrix[1]
        assert figures["false_positive_rate"] == pytest.approx(benign[0] / benign.sum(), abs=1e-6)
    assert set(report["libraries"]) == {"python", "numpy", "pandas", "scikit-learn", "xgboost"}


def test_multiclass_set_keeps_every_class(multiclass_set: PickleSetFixture) -> None:
    folder, report = multiclass_set
    classes = report["classes"]
    assert classes == sorted(generate_flows(100).class_counts())
    assert unpickle(folder / "label_encoder.pkl").classes_.tolist() == classes
    booster = unpickle(folder / "xgboost_ids.pkl")
    assert booster.objective == "multi:softprob"
    assert booster.predict_proba(np.zeros((1, 78))).shape == (1, len(classes))
    assert len(report["models"]["random_forest"]["per_class"]) == len(classes)


def test_training_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "models.train", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "--synthetic ROWS" in done.stdout


def test_without_data_the_cli_trains_on_synthetic_flows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("models.train.DEFAULT_SYNTHETIC_ROWS", 400)
    argv = ["train", "--n-estimators", "3", "--out", str(tmp_path)]
    assert cli_main(argv) == 0
    report = json.loads((tmp_path / REPORT_FILE).read_text())
    assert report["data"]["sources"][0]["path"] == "synthetic(rows=400, seed=42)"
    assert report["models"]["random_forest"]["hyperparameters"]["n_estimators"] == 3
    assert report["models"]["random_forest"]["size"]["trees"] == 3
    assert report["models"]["xgboost"]["size"]["boosting_rounds"] == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--data", "nowhere.csv"], "no such file or folder", id="missing file"),
        pytest.param(["--synthetic", "5"], "too few", id="too few rows"),
    ],
)
def test_cli_reports_bad_input_as_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([*argv, "--out", str(tmp_path)]) == 1
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing half-written


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--synthetic", "0"], id="zero rows"),
        pytest.param(["--task", "ternary"], id="unknown task"),
        pytest.param(["--data", "x.csv", "--synthetic", "10"], id="data and synthetic"),
    ],
)
def test_cli_refuses_bad_options(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2


def test_one_class_cannot_train(tmp_path: Path) -> None:
    flows = generate_flows(50, shares={"BENIGN": 1.0})
    with pytest.raises(TrainingDataError, match="at least two classes"):
        train_pickle_set(flows, tmp_path)
