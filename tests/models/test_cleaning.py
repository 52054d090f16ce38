"""The existing training's cleaning, and flows repeated across input files."""

from __future__ import annotations

import numpy as np
import pytest

from models.dataset import Flows, SourceFile, clean_flows, clean_flows_counted
from models.overlap import drop_cross_file_repeats


def flows_of(rows: list[list[float]], labels: list[str], sources: list[int]) -> Flows:
    features = np.zeros((len(rows), 78))
    features[:, : len(rows[0])] = rows
    names = tuple(f"file{i}.csv" for i in range(max(sources) + 1))
    return Flows(
        features=features,
        labels=np.array(labels, dtype=object),
        sources=names,
        source_index=np.array(sources, dtype=np.int32),
        files=tuple(SourceFile(path=n, layout="test", rows=0, labelled=True) for n in names),
    )


def test_nan_rows_go_then_infinities_become_zero() -> None:
    flows = flows_of(
        [[1, np.inf], [np.nan, 5], [-1, -np.inf], [2, np.nan]],
        ["BENIGN", "DDoS", "PortScan", "BENIGN"],
        [0, 0, 0, 0],
    )
    cleaned, counts = clean_flows_counted(flows)
    assert cleaned.features[:, :2].tolist() == [[1, 0], [-1, 0]]
    assert cleaned.labels.tolist() == ["BENIGN", "PortScan"]
    assert (counts.rows_with_nan_dropped, counts.infinite_values_zeroed) == (2, 2)
    assert np.isinf(flows.features).sum() == 2  # the input is untouched


def test_clean_flows_without_nan_copies() -> None:
    flows = flows_of([[1, np.inf]], ["BENIGN"], [0])
    cleaned = clean_flows(flows)
    assert cleaned.features[0, 1] == 0
    assert flows.features[0, 1] == np.inf


@pytest.mark.parametrize(
    ("rows", "labels", "sources", "kept"),
    [
        pytest.param([[1, 2], [1, 2]], ["XSS", "XSS"], [0, 1], [0], id="same flow in two files"),
        pytest.param(
            [[1, 2], [1, 2]], ["BENIGN", "BENIGN"], [0, 0], [0, 1], id="repeat within a file"
        ),
        pytest.param(
            [[1, 2], [1, 2]], ["BENIGN", "DDoS"], [0, 1], [0, 1], id="same values, other label"
        ),
        pytest.param(
            [[1, 2], [1, 2], [1, 2], [3, 4]],
            ["BENIGN"] * 4,
            [1, 0, 1, 1],
            [1, 3],
            id="the earliest file keeps it",
        ),
        pytest.param([[0.0, 1], [-0.0, 1]], ["BENIGN"] * 2, [0, 1], [0], id="zero is -zero"),
    ],
)
def test_rows_repeated_from_an_earlier_file_are_dropped(
    rows: list[list[float]], labels: list[str], sources: list[int], kept: list[int]
) -> None:
    flows = flows_of(rows, labels, sources)
    result, dropped = drop_cross_file_repeats(flows)
    assert dropped == len(rows) - len(kept)
    np.testing.assert_array_equal(result.features, flows.features[kept])
    assert result.source_index.tolist() == [sources[i] for i in kept]


def test_flows_checks_its_shapes() -> None:
    with pytest.raises(ValueError, match=r"features must be \[n, 78\]"):
        Flows(features=np.zeros((2, 77)), labels=np.array(["a", "b"]), sources=("x",))
    with pytest.raises(ValueError, match=r"labels must be \[2\]"):
        Flows(features=np.zeros((2, 78)), labels=np.array(["a"]), sources=("x",))
    single = Flows(features=np.zeros((2, 78)), labels=np.array(["a", "b"]), sources=("x",))
    assert single.source_index.tolist() == [0, 0]
