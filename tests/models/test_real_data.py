"""The loader, cleaning and training on the real CICIDS2017 excerpts (`cicids_dir`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.csv_layout import (
    MACHINE_LEARNING_CVE,
    MACHINE_LEARNING_CVE_HEADER,
    TRAFFIC_LABELLING,
    read_header,
)
from models.dataset import clean_flows, clean_flows_counted, load_flows
from models.features import FEATURE_NAMES
from models.overlap import drop_cross_file_repeats
from models.train import train_pickle_set

BF, XSS, SQLI = "Web Attack - Brute Force", "Web Attack - XSS", "Web Attack - Sql Injection"

# The table of ../shared/data/cicids2017/README.md
FILES = [
    pytest.param(
        "thursday-webattacks-sample.csv",
        MACHINE_LEARNING_CVE,
        {"BENIGN": 8000, BF: 1507, XSS: 652, SQLI: 21},
        id="webattacks sample (BOM)",
    ),
    pytest.param(
        "thursday-webattacks-head-raw.csv",
        MACHINE_LEARNING_CVE,
        {"BENIGN": 999, XSS: 3, BF: 2, SQLI: 2},
        id="webattacks head (raw header)",
    ),
    pytest.param(
        "friday-ddos-head-raw.csv", MACHINE_LEARNING_CVE, {"BENIGN": 9998}, id="ddos head (CRLF)"
    ),
    pytest.param("friday-ddos-trafficlabelling.csv", TRAFFIC_LABELLING, {"DDoS": 1000}, id="ddos"),
    pytest.param(
        "friday-portscan-trafficlabelling.csv",
        TRAFFIC_LABELLING,
        {"PortScan": 1000},
        id="portscan",
    ),
    pytest.param(
        "thursday-xss-trafficlabelling.csv", TRAFFIC_LABELLING, {XSS: 652}, id="xss (floats)"
    ),
    pytest.param(
        "thursday-sqli-trafficlabelling.csv", TRAFFIC_LABELLING, {SQLI: 21}, id="sqli (floats)"
    ),
]


@pytest.mark.parametrize(("name", "layout", "classes"), FILES)
def test_each_shared_file_loads_with_its_rows_and_classes(
    cicids_dir: Path, name: str, layout: str, classes: dict[str, int]
) -> None:
    flows = load_flows([cicids_dir / name])
    assert len(flows) == sum(classes.values())
    assert flows.class_counts() == classes
    assert flows.files[0].layout == layout
    assert flows.features.dtype == np.float64
    assert flows.features.shape == (len(flows), 78)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("thursday-webattacks-sample.csv", id="MachineLearningCVE with BOM"),
        pytest.param("friday-ddos-head-raw.csv", id="MachineLearningCVE with CRLF"),
        pytest.param("thursday-xss-trafficlabelling.csv", id="TrafficLabelling"),
    ],
)
def test_values_are_kept_exactly_as_written(cicids_dir: Path, name: str) -> None:
    expected = pd.read_csv(cicids_dir / name, encoding="utf-8-sig")
    expected.columns = [column.strip() for column in expected.columns]
    flows = load_flows([cicids_dir / name])
    np.testing.assert_array_equal(flows.features, expected[list(FEATURE_NAMES)].to_numpy(float))


def test_the_folder_loads_every_file_with_the_raw_quirks_preserved(cicids_dir: Path) -> None:
    flows = load_flows([cicids_dir])
    assert len(flows.sources) == 7
    assert len(flows) == 23857
    assert np.isinf(flows.features).sum() == 33
    assert np.isnan(flows.features).sum() == 3
    assert (flows.features[:, FEATURE_NAMES.index("Flow Duration")] == -1).sum() == 1


def test_the_raw_header_is_the_original_one(cicids_dir: Path) -> None:
    assert read_header(cicids_dir / "friday-ddos-head-raw.csv") == list(MACHINE_LEARNING_CVE_HEADER)


def test_cleaning_drops_nan_rows_and_zeroes_infinities(cicids_dir: Path) -> None:
    flows = load_flows([cicids_dir])
    cleaned, counts = clean_flows_counted(flows)
    assert (counts.rows_with_nan_dropped, counts.infinite_values_zeroed) == (3, 30)
    assert len(cleaned) == len(flows) - 3
    assert np.isfinite(cleaned.features).all()
    assert np.isnan(flows.features).sum() == 3  # the input is left as it was
    np.testing.assert_array_equal(clean_flows(flows).features, cleaned.features)


def test_flows_published_in_both_layouts_are_counted_once(cicids_dir: Path) -> None:
    flows = clean_flows(load_flows([cicids_dir]))
    kept, dropped = drop_cross_file_repeats(flows)
    assert dropped == 795
    counts = kept.class_counts()
    assert (counts[XSS], counts[SQLI], counts[BF]) == (652, 21, 1507)
    xss_file = kept.sources.index(str(cicids_dir / "thursday-xss-trafficlabelling.csv"))
    assert not (kept.source_index == xss_file).any()  # every XSS flow was already in the sample


def test_binary_random_forest_reaches_f1_099_on_real_data(cicids_dir: Path, tmp_path: Path) -> None:
    report = train_pickle_set(load_flows([cicids_dir]), tmp_path)
    assert report["classes"] == ["ATTACK", "BENIGN"]
    assert report["models"]["random_forest"]["f1"] >= 0.99
    assert report["data"]["rows_dropped"]["repeated_from_an_earlier_file"] == 795
    assert report["data"]["repeated_rows_per_class"] == {
        "BENIGN": 115,
        XSS: 655,
        SQLI: 23,
        BF: 2,
    }


def test_multiclass_has_the_six_real_classes(cicids_dir: Path, tmp_path: Path) -> None:
    flows = load_flows([cicids_dir])
    report = train_pickle_set(flows, tmp_path, task="multiclass", n_estimators=5)
    assert report["classes"] == ["BENIGN", "DDoS", "PortScan", BF, SQLI, XSS]
