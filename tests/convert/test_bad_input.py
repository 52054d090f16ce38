"""Every unusable input: a one-line error naming the file, exit status 2, nothing written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from xgboost import XGBClassifier

from convert.cli import main
from tests.convert.conftest import FixtureSet, dump

Breakage = Callable[[Path], None]


def _remove(*names: str) -> Breakage:
    def apply(folder: Path) -> None:
        for name in names:
            (folder / name).unlink()

    return apply


def _replace(name: str, make: Callable[[], object]) -> Breakage:
    return lambda folder: dump(make(), folder / name)


def _fitted_on(model: Any, width: int) -> Callable[[], object]:
    def fit() -> object:
        rng = np.random.default_rng(0)
        return model.fit(rng.normal(size=(60, width)), np.arange(60) % 2)

    return fit


def _corrupt(name: str) -> Breakage:
    def apply(folder: Path) -> None:
        (folder / name).write_bytes(b"these bytes are not a pickle")

    return apply


CASES = [
    pytest.param(
        _remove("xgboost_ids.pkl", "scaler.pkl"),
        "missing xgboost_ids.pkl, scaler.pkl (a pickle set is random_forest_ids.pkl, "
        "xgboost_ids.pkl, decision_tree_ids.pkl, scaler.pkl, label_encoder.pkl, "
        "feature_names.pkl)",
        id="missing files",
    ),
    pytest.param(
        _replace("scaler.pkl", lambda: {"mean": 0}),
        "scaler.pkl: holds builtins.dict, expected a fitted sklearn.preprocessing.StandardScaler",
        id="scaler of the wrong type",
    ),
    pytest.param(
        _replace("scaler.pkl", lambda: StandardScaler()),
        "scaler.pkl: holds sklearn.preprocessing._data.StandardScaler, expected a fitted",
        id="unfitted scaler",
    ),
    pytest.param(
        _replace("label_encoder.pkl", lambda: ["ATTACK", "BENIGN"]),
        "label_encoder.pkl: holds builtins.list, expected a fitted "
        "sklearn.preprocessing.LabelEncoder",
        id="label encoder of the wrong type",
    ),
    pytest.param(
        _replace("label_encoder.pkl", lambda: LabelEncoder().fit([0, 1])),
        "label_encoder.pkl: classes [0, 1] are not two or more class names",
        id="label encoder without class names",
    ),
    pytest.param(
        _replace("label_encoder.pkl", lambda: LabelEncoder().fit(["A", "B", "C"])),
        "random_forest_ids.pkl: the model predicts classes [0, 1], but label_encoder.pkl "
        "encodes 3 classes as 0..2",
        id="models and label encoder disagree on classes",
    ),
    pytest.param(
        _replace("feature_names.pkl", lambda: [f"f{i}" for i in range(77)]),
        "feature_names.pkl: 77 names, but scaler.pkl scales 78 features",
        id="feature names do not match the scaler's width",
    ),
    pytest.param(
        _replace("feature_names.pkl", lambda: list(range(78))),
        "feature_names.pkl: holds builtins.list, expected a list of str",
        id="feature names that are not strings",
    ),
    pytest.param(
        _replace("xgboost_ids.pkl", _fitted_on(LogisticRegression(), 78)),
        "xgboost_ids.pkl: holds sklearn.linear_model._logistic.LogisticRegression, an "
        "estimator convert does not support (supported: DecisionTreeClassifier, "
        "RandomForestClassifier, XGBClassifier)",
        id="unsupported estimator",
    ),
    pytest.param(
        _replace("decision_tree_ids.pkl", lambda: "a tree"),
        "decision_tree_ids.pkl: holds builtins.str, an object convert does not support",
        id="a model file holding no model",
    ),
    pytest.param(
        _replace("random_forest_ids.pkl", lambda: RandomForestClassifier()),
        "random_forest_ids.pkl: holds an unfitted RandomForestClassifier",
        id="unfitted model",
    ),
    pytest.param(
        _replace("decision_tree_ids.pkl", _fitted_on(DecisionTreeClassifier(), 10)),
        "decision_tree_ids.pkl: the model takes 10 features, but the scaler gives 78",
        id="model of another width",
    ),
    pytest.param(
        _replace(
            "xgboost_ids.pkl",
            _fitted_on(XGBClassifier(n_estimators=2, objective="binary:logitraw"), 78),
        ),
        "xgboost_ids.pkl: XGBClassifier objective 'binary:logitraw' (supported: "
        "binary:logistic, multi:softprob)",
        id="unsupported XGBoost objective",
    ),
    pytest.param(
        _corrupt("label_encoder.pkl"),
        "label_encoder.pkl: cannot be unpickled (UnpicklingError:",
        id="corrupt pickle",
    ),
]


@pytest.mark.parametrize(("breakage", "message"), CASES)
def test_bad_pickle_set_is_one_clear_line_and_writes_nothing(
    binary_pickles: FixtureSet,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    breakage: Breakage,
    message: str,
) -> None:
    folder = tmp_path / "models"
    shutil.copytree(binary_pickles.folder, folder)
    breakage(folder)
    out = tmp_path / "artifacts"
    assert main(["--models", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("ids-inference convert: error: ")
    assert message in err
    assert not out.exists()


def test_missing_models_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--models", str(tmp_path / "nowhere"), "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nowhere: no such folder (expected the pickle set: random_forest_ids.pkl" in err


def test_models_folder_defaults_to_model_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODEL_PATH", str(tmp_path / "from-env"))
    assert main(["--out", str(tmp_path / "a")]) == 2
    assert "from-env: no such folder" in capsys.readouterr().err


def test_taken_version_is_refused(
    binary_pickles: FixtureSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "xgboost" / "3").mkdir(parents=True)
    argv = ["--models", str(binary_pickles.folder), "--out", str(tmp_path), "--version", "3"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{tmp_path / 'xgboost' / '3'} already exists: choose another --version" in err
    assert not (tmp_path / "random_forest").exists()


@pytest.mark.parametrize("value", [pytest.param("0", id="zero"), pytest.param("v2", id="text")])
def test_bad_version_value(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version", value])
    assert exit_.value.code == 2
    assert f"expected a positive whole number, got '{value}'" in capsys.readouterr().err


def test_entry_points_run() -> None:
    for command in (["-m", "convert"], ["-m", "ids_inference", "convert"]):
        done = subprocess.run(
            [sys.executable, *command, "--help"], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        text = " ".join(done.stdout.split())  # argparse wraps lines to the terminal's width
        assert "--check-data PATH [PATH ...]" in text
        assert "convert only pickle sets you trust" in text
