"""Check data: the synthetic default, CICIDS2017 CSV files, and the real excerpts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from convert.cli import main
from models import csv_layout, dataset, labels, synthetic
from models.pickle_set import MODEL_FILES
from tests.convert.conftest import FixtureSet, fit_pickle_set


def _manifests(out: Path) -> dict[str, dict[str, Any]]:
    return {
        name: json.loads((out / name / "1" / "manifest.json").read_text()) for name in MODEL_FILES
    }


def test_default_check_data_is_synthetic_flows(
    binary_pickles: FixtureSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "artifacts"
    argv = ["--models", str(binary_pickles.folder), "--out", str(out), "--synthetic-rows", "300"]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "parity check data: synthetic:300 (300 flows)"
    )
    for manifest in _manifests(out).values():
        assert manifest["parity"]["rows"] == 300
        assert manifest["parity"]["check_data"] == ["synthetic:300"]


def test_every_row_of_csv_check_data(
    multiclass_pickles: FixtureSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = synthetic.generate_flows(400, seed=5)
    csv = tmp_path / "capture.csv"
    with csv.open("w", newline="") as handle:
        csv_layout.write_csv(flows, handle)
    out = tmp_path / "artifacts"
    argv = ["--models", str(multiclass_pickles.folder), "--out", str(out), "--check-data", str(csv)]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"parity check data: {csv} (400 flows)"
    for manifest in _manifests(out).values():
        assert manifest["parity"]["rows"] == 400
        assert manifest["parity"]["check_data"] == [str(csv)]


def test_unreadable_check_data_is_one_line(
    binary_pickles: FixtureSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("not,a,flow\n1,2,3\n")
    argv = ["--models", str(binary_pickles.folder), "--out", str(tmp_path / "a")]
    assert main([*argv, "--check-data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"ids-inference convert: error: check data: {bad}")
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("task", [pytest.param("binary", id="binary"), "multiclass"])
def test_models_of_real_flows_pass_on_every_real_row(
    cicids_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], task: str
) -> None:
    raw = dataset.load_flows([cicids_dir])
    training = dataset.clean_flows(raw)
    names = training.labels
    if task == "binary":
        names = np.array([labels.binary_label(label) for label in names], dtype=object)
    folder, out = tmp_path / "models", tmp_path / "artifacts"
    # fit_pickle_set cleans again; the real rows with NaN are already gone.
    fit_pickle_set(folder, training.features, names)
    argv = ["--models", str(folder), "--out", str(out), "--check-data", str(cicids_dir)]
    assert main(argv) == 0, capsys.readouterr().err
    for manifest in _manifests(out).values():
        parity = manifest["parity"]
        assert parity["rows"] == len(raw)
        assert parity["label_mismatches"] == 0
        assert parity["max_probability_difference"] <= 1e-6
        assert parity["boundary_points"] > 0
        assert len(parity["check_data"]) == len(list(cicids_dir.glob("*.csv")))
