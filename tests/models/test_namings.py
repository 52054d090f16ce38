"""The loader reads flow files in every naming of `flows.columns`, to the same numbers."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest

from flows.columns import CICFLOWMETER, CICIDS2017, CICIDS2018, FEATURES, canonical, header
from models.csv_layout import AmbiguousColumnsError, MissingColumnsError
from models.dataset import UNLABELLED, load_flows
from models.train import TrainingDataError, train_pickle_set

SECOND_FWD_HEADER = header(CICIDS2017).index("Fwd Header Length.1")
LEADING_IDENTIFIERS = 4  # Flow ID, Src IP, Src Port, Dst IP: absent from most 2018 files

# (naming, drop the leading identifiers): how each file in the test is written.
NAMINGS = [
    pytest.param(CICIDS2017, False, id="CICIDS2017"),
    pytest.param(CICFLOWMETER, False, id="CICFlowMeter"),
    # No CSE-CIC-IDS2018 file is in ../shared: its files are built from the table's header (its
    # names pinned to the dataset's in tests/flows/test_columns.py) over real CICIDS2017 rows.
    pytest.param(CICIDS2018, False, id="CSE-CIC-IDS2018 with identifiers"),
    pytest.param(CICIDS2018, True, id="CSE-CIC-IDS2018 from Dst Port"),
]


def real_rows(cicids_dir: Path) -> list[list[str]]:
    """Rows of two TrafficLabelling files (85 columns; integers written as floats in the second)."""
    rows = []
    for name in ("friday-portscan-trafficlabelling.csv", "thursday-xss-trafficlabelling.csv"):
        with (cicids_dir / name).open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            rows += [row for _, row in zip(range(30), reader, strict=False)]
    return rows


def rewrite(rows: list[list[str]], naming: str, short: bool) -> tuple[list[str], list[list[str]]]:
    """The rows, with `naming`'s header and only the columns it writes."""
    names = list(header(naming))
    if naming != CICIDS2017:  # one Fwd Header Length only
        rows = [row[:SECOND_FWD_HEADER] + row[SECOND_FWD_HEADER + 1 :] for row in rows]
    if short:
        names, rows = names[LEADING_IDENTIFIERS:], [row[LEADING_IDENTIFIERS:] for row in rows]
    return names, rows


def write(path: Path, names: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([names, *rows])
    return path


@pytest.mark.parametrize(("naming", "short"), NAMINGS)
def test_a_file_in_any_naming_reads_as_its_cicids2017_copy(
    cicids_dir: Path, tmp_path: Path, naming: str, short: bool
) -> None:
    rows = real_rows(cicids_dir)
    expected = load_flows([write(tmp_path / "cicids2017.csv", list(header(CICIDS2017)), rows)])
    names, written = rewrite(rows, naming, short)
    flows = load_flows([write(tmp_path / f"{naming}.csv", names, written)])
    np.testing.assert_array_equal(flows.features, expected.features)
    assert flows.labels.tolist() == expected.labels.tolist()
    assert set(flows.labels) == {"PortScan", "Web Attack - XSS"}
    assert flows.files[0].naming == naming
    restored = () if naming == CICIDS2017 else ("Fwd Header Length.1",)
    assert flows.files[0].restored_columns == restored


@pytest.mark.parametrize(("naming", "short"), NAMINGS)
def test_columns_in_any_order_and_spacing(
    cicids_dir: Path, tmp_path: Path, naming: str, short: bool
) -> None:
    rows = real_rows(cicids_dir)[:5]
    expected = load_flows([write(tmp_path / "cicids2017.csv", list(header(CICIDS2017)), rows)])
    names, written = rewrite(rows, naming, short)
    order = list(range(len(names)))
    random.Random(1).shuffle(order)
    shuffled = [f" {names[i].upper()}" for i in order]
    flows = load_flows(
        [write(tmp_path / "shuffled.csv", shuffled, [[row[i] for i in order] for row in written])]
    )
    np.testing.assert_array_equal(flows.features, expected.features)


def cfm_features(path: Path) -> np.ndarray:
    """The 78 features of a cfm CSV, read with the csv module (the second Fwd Header Length
    is the first's value)."""
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        position = {canonical(name): i for i, name in enumerate(next(reader))}
        position["Fwd Header Length.1"] = position["Fwd Header Length"]
        return np.array([[float(row[position[name]]) for name in FEATURES] for row in reader])


def test_cicflowmeter_output_loads_unlabelled(pcaps_dir: Path, tmp_path: Path) -> None:
    files = sorted(pcaps_dir.glob("*.cicflowmeter.csv"))
    flows = load_flows(files)
    np.testing.assert_array_equal(flows.features, np.vstack([cfm_features(f) for f in files]))
    assert set(flows.labels) == {UNLABELLED}  # every Label is cfm's `NeedManualLabel`
    for source in flows.files:
        assert (source.naming, source.labelled) == (CICFLOWMETER, False)
        assert source.restored_columns == ("Fwd Header Length.1",)
    with pytest.raises(TrainingDataError, match=r"\.cicflowmeter\.csv"):
        train_pickle_set(flows, tmp_path / "out")


@pytest.mark.parametrize(
    ("names", "error", "message"),
    [
        pytest.param([*header(CICIDS2017), "Dst Port"], AmbiguousColumnsError,
                     r"bad\.csv: columns 5 \('Destination Port'\) and 86 \('Dst Port'\) are "
                     "both 'Destination Port'", id="one feature in two namings"),
        pytest.param([n for n in header(CICFLOWMETER) if n != "Total Fwd Packet"],
                     MissingColumnsError, r"bad\.csv: missing 1 of the 78 feature columns: "
                     "'Total Fwd Packets' \\(CICIDS2017's names; CICFlowMeter's and "
                     "CSE-CIC-IDS2018's are read too\\)", id="a feature missing"),
    ],
)  # fmt: skip
def test_bad_headers_name_the_file_and_columns(
    tmp_path: Path, names: list[str], error: type[Exception], message: str
) -> None:
    path = write(tmp_path / "bad.csv", names, [["1"] * len(names)])
    with pytest.raises(error, match=message):
        load_flows([path])
