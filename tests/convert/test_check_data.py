"""Check data: the synthetic default, CICIDS2017 CSV files, and the real excerpts."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from convert.check_data import read_check_data
from convert.cli import main
from flows import columns
from models import csv_layout, dataset, labels, synthetic
from models.features import FEATURE_NAMES
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


def _renamed(source: Path, naming: str, target: Path) -> Path:
    """`source` (78 features + Label, CICIDS2017's names) as `naming`'s tool writes it: its names,
    and the second Fwd Header Length only where that naming writes it."""
    with source.open(newline="") as handle:
        rows = list(csv.reader(handle))
    names = [columns.canonical(name) or name for name in rows[0]]
    second = len(names) - 1 - names[::-1].index("Fwd Header Length")  # written twice
    names[second] = "Fwd Header Length.1"
    keep = [i for i, name in enumerate(names) if columns.name_in(name, naming) is not None]
    with target.open("w", newline="") as handle:
        csv.writer(handle).writerows(
            [[columns.name_in(names[i], naming) or "" for i in keep]]
            + [[row[i] for i in keep] for row in rows[1:]]
        )
    return target


NAMINGS = [
    pytest.param(columns.CICIDS2017, id="CICIDS2017"),
    pytest.param(columns.CICFLOWMETER, id="CICFlowMeter"),
    pytest.param(columns.CICIDS2018, id="CSE-CIC-IDS2018"),
]


@pytest.mark.parametrize("naming", NAMINGS)
def test_check_data_in_any_naming(tmp_path: Path, naming: str) -> None:
    flows = synthetic.generate_flows(300, seed=9)
    original = tmp_path / "flows.csv"
    with original.open("w", newline="") as handle:
        csv_layout.write_csv(flows, handle)
    renamed = _renamed(original, naming, tmp_path / f"{naming}.csv")
    expected = read_check_data([original], FEATURE_NAMES)
    data = read_check_data([renamed], FEATURE_NAMES)
    np.testing.assert_array_equal(data.features, expected.features)
    assert data.describe(299) == f"{renamed} flow 300"


@pytest.mark.parametrize("naming", NAMINGS)
def test_a_pickle_set_whose_features_are_named_in_any_naming(tmp_path: Path, naming: str) -> None:
    flows = synthetic.generate_flows(50, seed=9)
    path = tmp_path / "flows.csv"
    with path.open("w", newline="") as handle:
        csv_layout.write_csv(flows, handle)
    names = columns.feature_names(naming)[::-1]  # any order, as the pickle set has them
    data = read_check_data([path], names)
    in_order = [FEATURE_NAMES.index(columns.canonical(name) or name) for name in names]
    np.testing.assert_array_equal(data.features, flows.features[:, in_order])


def test_cicflowmeter_output_is_check_data(
    binary_pickles: FixtureSet, pcaps_dir: Path, tmp_path: Path
) -> None:
    """What `cfm` writes, as it is (labels `NeedManualLabel`), gates a conversion."""
    files = sorted(pcaps_dir.glob("*.cicflowmeter.csv"))
    out = tmp_path / "artifacts"
    argv = ["--models", str(binary_pickles.folder), "--out", str(out), "--check-data"]
    assert main([*argv, *map(str, files)]) == 0
    rows = sum(len(dataset.load_flows([f])) for f in files)
    for manifest in _manifests(out).values():
        assert manifest["parity"]["rows"] == rows
        assert manifest["parity"]["label_mismatches"] == 0
