"""The command line: parts, data discovery and the forest sweep's training targets."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.preprocessing import LabelEncoder

from benchmarks.cli import parse_args, parse_parts
from benchmarks.prepare import PrepareError, find_data
from benchmarks.scaling import encoded_targets, forest_set
from benchmarks.settings import PARTS
from models.pickle_set import load_pickle_set
from tests.benchmarks.conftest import make_rows


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        pytest.param("compute", ("compute",), id="one part"),
        pytest.param("http, footprint", ("http", "footprint"), id="two with a space"),
    ],
)
def test_parts_are_parsed(text: str, parts: tuple[str, ...]) -> None:
    assert parse_parts(text) == parts


@pytest.mark.parametrize(
    "text", [pytest.param("compute,gpu", id="unknown part"), pytest.param(",", id="none")]
)
def test_bad_parts_are_refused_naming_the_choices(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="compute,http,scaling,footprint"):
        parse_parts(text)


def test_defaults_run_every_part_in_full() -> None:
    args = parse_args([])
    assert (args.parts, args.quick, args.threads) == (PARTS, False, 1)


def test_data_comes_from_the_flag_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "flows.csv").write_text("Destination Port\n80\n")
    monkeypatch.setenv("CICIDS2017_DIR", str(tmp_path))
    assert find_data(None) == tmp_path
    assert find_data(tmp_path / "..") == tmp_path / ".."
    monkeypatch.setenv("CICIDS2017_DIR", str(tmp_path / "absent"))
    assert find_data(None) is None
    with pytest.raises(PrepareError, match="not a folder"):
        find_data(tmp_path / "absent")


def test_forest_sweep_targets_and_pickle_set(pickle_dir: Path, tmp_path: Path) -> None:
    pickles = load_pickle_set(pickle_dir)
    labels = np.array(["PortScan", "BENIGN", "DDoS"])
    assert encoded_targets(pickles, labels).tolist() == [2, 0, 1]
    encoder = LabelEncoder().fit(["ATTACK", "BENIGN"])
    binary = replace(pickles, label_encoder=encoder, class_labels=("ATTACK", "BENIGN"))
    assert encoded_targets(binary, labels).tolist() == [0, 1, 0]
    rows, names = make_rows(200, seed=5)
    forest = clone(pickles.models["random_forest"]).set_params(n_estimators=3)
    forest.fit(pickles.scaler.transform(rows), encoded_targets(pickles, names))
    sized = load_pickle_set(forest_set(pickles, forest, tmp_path / "sized"))
    assert len(sized.models["random_forest"].estimators_) == 3
    assert type(sized.models["xgboost"]) is type(pickles.models["xgboost"])
