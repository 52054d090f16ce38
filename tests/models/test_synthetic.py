"""The synthetic generator: deterministic, calibrated, and true to CICFlowMeter's relations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.calibrate import CALIBRATION_FILE, calibrate
from models.dataset import load_flows
from models.features import FEATURE_NAMES, INTEGER_FEATURES
from models.make_csv import write_synthetic_csv
from models.synthetic import class_counts, generate_flows, load_calibration

ROWS = 20_000


@pytest.fixture(scope="module")
def columns() -> dict[str, np.ndarray]:
    flows = generate_flows(ROWS, seed=11)
    return {name: flows.features[:, i] for i, name in enumerate(FEATURE_NAMES)}


def test_same_seed_same_flows_other_seed_other_flows() -> None:
    first, again, other = generate_flows(500), generate_flows(500), generate_flows(500, seed=1)
    np.testing.assert_array_equal(first.features, again.features)
    assert first.labels.tolist() == again.labels.tolist()
    assert not np.array_equal(first.features, other.features, equal_nan=True)


def test_classes_follow_the_calibrated_shares() -> None:
    flows = generate_flows(10_000)
    shares = {name: spec["share"] for name, spec in load_calibration()["classes"].items()}
    assert flows.class_counts() == class_counts(10_000, shares)
    assert set(flows.class_counts()) == {
        "BENIGN",
        "DDoS",
        "PortScan",
        "Web Attack - Brute Force",
        "Web Attack - XSS",
        "Web Attack - Sql Injection",
    }


@pytest.mark.parametrize(
    ("rows", "smallest"),
    [pytest.param(12, 2, id="two of each"), pytest.param(5, 0, id="too few for all")],
)
def test_small_sets_keep_two_rows_per_class_when_they_can(rows: int, smallest: int) -> None:
    counts = generate_flows(rows).class_counts()
    assert sum(counts.values()) == rows
    assert min(counts.get(name, 0) for name in load_calibration()["classes"]) == smallest


def test_whole_number_features_are_whole(columns: dict[str, np.ndarray]) -> None:
    for name in INTEGER_FEATURES:
        assert np.array_equal(columns[name], np.rint(columns[name])), name


def test_header_length_is_written_twice(columns: dict[str, np.ndarray]) -> None:
    np.testing.assert_array_equal(columns["Fwd Header Length"], columns["Fwd Header Length.1"])


@pytest.mark.parametrize(
    "side", [pytest.param("Fwd", id="forward"), pytest.param("Bwd", id="backward")]
)
def test_packet_lengths_are_consistent(columns: dict[str, np.ndarray], side: str) -> None:
    count = columns["Total Fwd Packets" if side == "Fwd" else "Total Backward Packets"]
    total = columns[f"Total Length of {side} Packets"]
    low, mean, high = (columns[f"{side} Packet Length {s}"] for s in ("Min", "Mean", "Max"))
    assert (low <= mean + 1e-9).all()
    assert (mean <= high + 1e-9).all()
    np.testing.assert_allclose(mean * count, total, rtol=1e-12)
    several = count >= 2
    # a sample with this min and max exists: the others fit between them
    assert ((count - 1) * low + high <= total + 1e-6)[several].all()
    assert (total <= low + (count - 1) * high + 1e-6)[several].all()
    np.testing.assert_array_equal(columns[f"Avg {side} Segment Size"], mean)
    np.testing.assert_array_equal(columns[f"Subflow {side} Bytes"], total)


def test_rates_are_counts_per_second_of_duration(columns: dict[str, np.ndarray]) -> None:
    timed = columns["Flow Duration"] > 0
    seconds = columns["Flow Duration"][timed] / 1e6
    nf, nb = columns["Total Fwd Packets"][timed], columns["Total Backward Packets"][timed]
    size = (columns["Total Length of Fwd Packets"] + columns["Total Length of Bwd Packets"])[timed]
    np.testing.assert_allclose(columns["Flow Bytes/s"][timed], size / seconds)
    np.testing.assert_allclose(columns["Flow Packets/s"][timed], (nf + nb) / seconds)
    np.testing.assert_allclose(columns["Fwd Packets/s"][timed], nf / seconds)
    np.testing.assert_allclose(columns["Bwd Packets/s"][timed], nb / seconds)
    np.testing.assert_allclose(columns["Flow IAT Mean"][timed], seconds * 1e6 / (nf + nb - 1))
    np.testing.assert_array_equal(columns["Down/Up Ratio"][timed], np.floor(nb / nf))


def test_infinity_and_nan_appear_only_for_zero_durations_at_the_real_rate(
    columns: dict[str, np.ndarray],
) -> None:
    duration = columns["Flow Duration"]
    rates = np.column_stack([columns["Flow Bytes/s"], columns["Flow Packets/s"]])
    not_finite = ~np.isfinite(rates).all(axis=1)
    assert not_finite.any()
    np.testing.assert_array_equal(not_finite, duration == 0)
    benign_rate = load_calibration()["classes"]["BENIGN"]["duration_zero_rate"]
    assert 0.2 * benign_rate < not_finite.mean() < 3 * benign_rate
    size = columns["Total Length of Fwd Packets"] + columns["Total Length of Bwd Packets"]
    np.testing.assert_array_equal(np.isnan(rates[:, 0]), (duration == 0) & (size == 0))
    assert set(np.unique(duration[duration <= 0])) <= {-1.0, 0.0}


def test_times_are_ordered_and_within_the_flow(columns: dict[str, np.ndarray]) -> None:
    duration = np.maximum(columns["Flow Duration"], 0)
    for prefix in ("Flow IAT", "Fwd IAT", "Bwd IAT", "Idle", "Active"):
        low, mean, high = (columns[f"{prefix} {s}"] for s in ("Min", "Mean", "Max"))
        assert (low <= mean + 1e-6).all(), prefix
        assert (mean <= high + 1e-6).all(), prefix
    assert (columns["Fwd IAT Total"] <= duration).all()
    assert (columns["Flow IAT Max"] <= duration).all()
    assert (columns["Idle Max"] <= np.maximum(columns["Flow IAT Max"], 0)).all()


def test_all_packet_statistics(columns: dict[str, np.ndarray]) -> None:
    np.testing.assert_allclose(columns["Packet Length Variance"], columns["Packet Length Std"] ** 2)
    assert (columns["Min Packet Length"] <= columns["Packet Length Mean"] + 1e-9).all()
    assert (columns["Packet Length Mean"] <= columns["Max Packet Length"] + 1e-9).all()
    assert (columns["act_data_pkt_fwd"] <= columns["Total Fwd Packets"]).all()
    assert (columns["Total Fwd Packets"] + columns["Total Backward Packets"] >= 2).all()


def test_calibration_file_is_what_the_script_derives(cicids_dir: Path) -> None:
    derived = calibrate(load_flows([cicids_dir]))
    stored = json.loads(CALIBRATION_FILE.read_text())
    assert json.loads(json.dumps(derived)) == stored


def test_calibration_holds_aggregates_only() -> None:
    for spec in load_calibration()["classes"].values():
        for key in ("destination_port", "init_win_forward", "init_win_backward"):
            assert len(spec[key]["top"]) <= 8


def test_large_csv_writer_is_deterministic_and_loads(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_synthetic_csv(first, 250, seed=5, crlf=True)
    write_synthetic_csv(second, 250, seed=5, crlf=True)
    assert first.read_bytes() == second.read_bytes()
    assert b"\r\n" in first.read_bytes()
    assert len(load_flows([first])) == 250
