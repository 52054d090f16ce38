"""Each quirk of the CICIDS2017 files, in small hand-written CSV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.csv_layout import (
    IDENTIFIER_COLUMNS,
    MACHINE_LEARNING_CVE,
    MACHINE_LEARNING_CVE_HEADER,
    TRAFFIC_LABELLING,
    MissingColumnsError,
    write_csv,
)
from models.dataset import UNLABELLED, CsvFormatError, load_flows
from models.features import FEATURE_NAMES
from models.labels import UnknownLabelError
from models.synthetic import generate_flows
from models.train import TrainingDataError, train_pickle_set

FWD_HEADER, FWD_HEADER_2 = FEATURE_NAMES.index("Fwd Header Length"), 55
DURATION, BYTES_RATE, PACKETS_RATE = 1, 14, 15


def values(first: int) -> list[str]:
    """78 distinct whole numbers, both Fwd Header Length columns equal as in the dataset."""
    row = [str(first + i) for i in range(len(FEATURE_NAMES))]
    row[FWD_HEADER_2] = row[FWD_HEADER]
    return row


def write(path: Path, header: list[str], rows: list[list[str]], newline: str = "\n") -> Path:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
    return path


RAW_HEADER = list(MACHINE_LEARNING_CVE_HEADER)  # leading spaces, Fwd Header Length twice
CLEAN_HEADER = [*FEATURE_NAMES, "Label"]


def test_bom_and_leading_spaces(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (",".join(RAW_HEADER) + "\n").encode())
    with path.open("a") as out:
        out.write(",".join([*values(1), "BENIGN"]) + "\n")
    flows = load_flows([path])
    assert flows.features[0].tolist() == [float(v) for v in values(1)]
    assert flows.files[0].layout == MACHINE_LEARNING_CVE


def test_the_repeated_fwd_header_length_reads_the_second_column(tmp_path: Path) -> None:
    row = values(1)
    row[FWD_HEADER_2] = "999"
    flows = load_flows([write(tmp_path / "dup.csv", RAW_HEADER, [[*row, "BENIGN"]])])
    assert flows.features[0, FWD_HEADER] == FWD_HEADER + 1
    assert flows.features[0, FWD_HEADER_2] == 999
    assert flows.files[0].restored_columns == ()


def test_a_missing_second_fwd_header_length_is_restored_from_the_first(tmp_path: Path) -> None:
    header = [name for name in CLEAN_HEADER if name != "Fwd Header Length.1"]
    row = [v for i, v in enumerate(values(1)) if i != FWD_HEADER_2]
    flows = load_flows([write(tmp_path / "one.csv", header, [[*row, "BENIGN"]])])
    assert flows.features[0, FWD_HEADER_2] == flows.features[0, FWD_HEADER] == FWD_HEADER + 1
    assert flows.files[0].restored_columns == ("Fwd Header Length.1",)


def test_traffic_labelling_identifier_columns_are_skipped(tmp_path: Path) -> None:
    # Destination Port sits among the identifiers in this layout, as in the dataset.
    header = [*IDENTIFIER_COLUMNS[:4], "Destination Port", "Protocol", "Timestamp"]
    header += [*FEATURE_NAMES[1:], "Label"]
    identifiers = ["172.16.0.1-192.168.10.50-49650-80-6", "172.16.0.1", "49650", "192.168.10.50"]
    row = values(1)
    row = [*identifiers, row[0], "6", "7/7/2017 3:56", *row[1:], "DDoS"]
    flows = load_flows([write(tmp_path / "traffic.csv", header, [row])])
    assert flows.files[0].layout == TRAFFIC_LABELLING
    assert flows.features[0].tolist() == [float(v) for v in values(1)]
    assert flows.labels.tolist() == ["DDoS"]


def test_infinity_and_nan_are_kept(tmp_path: Path) -> None:
    rows = []
    for rate, packets in (("Infinity", "Infinity"), ("NaN", "Infinity"), ("-Infinity", "5")):
        row = values(1)
        row[BYTES_RATE], row[PACKETS_RATE] = rate, packets
        rows.append([*row, "BENIGN"])
    flows = load_flows([write(tmp_path / "inf.csv", RAW_HEADER, rows)])
    assert flows.features[:, BYTES_RATE].tolist()[::2] == [np.inf, -np.inf]
    assert np.isnan(flows.features[1, BYTES_RATE])
    assert flows.features[:, PACKETS_RATE].tolist() == [np.inf, np.inf, 5.0]


def test_mis_encoded_dashes_including_a_lone_cp1252_byte(tmp_path: Path) -> None:
    header = ",".join(RAW_HEADER).encode()
    features = ",".join(values(1)).encode()
    labels = [
        b"Web Attack \x96 XSS",  # cp1252 en dash: not valid UTF-8
        b"Web Attack \xef\xbf\xbd Brute Force",  # U+FFFD
        b"Web Attack \xc3\xaf\xc2\xbf\xc2\xbd Sql Injection",  # U+FFFD decoded as latin-1
        b"Web Attack \xc2\x96 XSS",  # cp1252 byte decoded as latin-1
        b"Web Attack \xe2\x80\x93 Brute Force",  # en dash
    ]
    path = tmp_path / "dashes.csv"
    path.write_bytes(b"\n".join([header, *(features + b"," + label for label in labels)]) + b"\n")
    assert load_flows([path]).labels.tolist() == [
        "Web Attack - XSS",
        "Web Attack - Brute Force",
        "Web Attack - Sql Injection",
        "Web Attack - XSS",
        "Web Attack - Brute Force",
    ]


def test_crlf_line_endings(tmp_path: Path) -> None:
    rows = [[*values(1), "BENIGN"], [*values(2), "PortScan"]]
    flows = load_flows([write(tmp_path / "crlf.csv", RAW_HEADER, rows, newline="\r\n")])
    assert flows.labels.tolist() == ["BENIGN", "PortScan"]
    assert flows.features[1, -1] == 2 + 77


def test_floats_written_for_integers(tmp_path: Path) -> None:
    row = [f"{v}.0" for v in values(51885)]
    flows = load_flows([write(tmp_path / "floats.csv", CLEAN_HEADER, [[*row, "BENIGN"]])])
    assert flows.features[0, 0] == 51885
    assert flows.features[0].tolist() == [float(v) for v in values(51885)]


def test_lines_of_bare_commas_are_skipped_and_counted(tmp_path: Path) -> None:
    rows = [[*values(1), "BENIGN"], [""] * 79, [*values(2), "DDoS"], [""] * 79]
    flows = load_flows([write(tmp_path / "blank.csv", RAW_HEADER, rows)])
    assert flows.labels.tolist() == ["BENIGN", "DDoS"]
    assert flows.files[0].blank_rows_skipped == 2


def test_a_file_lacking_features_is_refused_naming_file_and_columns(tmp_path: Path) -> None:
    header = [n for n in CLEAN_HEADER if n not in {"Flow Duration", "Idle Min"}]
    path = write(tmp_path / "short.csv", header, [])
    with pytest.raises(MissingColumnsError) as caught:
        load_flows([path])
    message = str(caught.value)
    assert str(path) in message
    assert "'Flow Duration'" in message
    assert "'Idle Min'" in message
    assert caught.value.missing == ("Flow Duration", "Idle Min")


def test_a_file_without_labels_loads_unlabelled_and_cannot_train(tmp_path: Path) -> None:
    path = write(tmp_path / "capture.csv", list(FEATURE_NAMES), [values(1), values(2)])
    flows = load_flows([path])
    assert flows.labels.tolist() == [UNLABELLED, UNLABELLED]
    assert not flows.labelled
    assert flows.files[0].labelled is False
    with pytest.raises(TrainingDataError, match=r"capture\.csv"):
        train_pickle_set(flows, tmp_path / "out")


@pytest.mark.parametrize(
    ("rows", "error", "match"),
    [
        pytest.param(
            [[*values(1)[:-1], "abc", "BENIGN"]],
            CsvFormatError,
            "could not convert string to float: 'abc'",
            id="text in a number column",
        ),
        pytest.param(
            [[*values(1), "BENIGN"], [*values(2), ""]],
            CsvFormatError,
            "data row 2 has no label",
            id="missing label",
        ),
        pytest.param(
            [[*values(1), "Web Attack - CSRF"]],
            UnknownLabelError,
            "unknown label 'Web Attack - CSRF'",
            id="unknown label",
        ),
    ],
)
def test_bad_rows_are_clear_errors_naming_the_file(
    tmp_path: Path, rows: list[list[str]], error: type[Exception], match: str
) -> None:
    path = write(tmp_path / "bad.csv", RAW_HEADER, rows)
    with pytest.raises(error, match=match) as caught:
        load_flows([path])
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("name", "error", "match"),
    [
        pytest.param("nowhere.csv", FileNotFoundError, "no such file or folder", id="no file"),
        pytest.param("empty-folder", FileNotFoundError, "holds no .csv files", id="no csv"),
        pytest.param("empty.csv", CsvFormatError, "empty file", id="empty file"),
    ],
)
def test_missing_inputs_are_clear_errors(
    tmp_path: Path, name: str, error: type[Exception], match: str
) -> None:
    (tmp_path / "empty-folder").mkdir()
    (tmp_path / "empty-folder" / "notes.txt").write_text("not a csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(error, match=match):
        load_flows([tmp_path / name])


def test_a_header_without_rows_loads_no_flows(tmp_path: Path) -> None:
    flows = load_flows([write(tmp_path / "header.csv", RAW_HEADER, [])])
    assert flows.features.shape == (0, 78)
    assert flows.files[0].rows == 0


def test_folders_expand_to_their_csv_files_each_read_once(tmp_path: Path) -> None:
    write(tmp_path / "b.csv", RAW_HEADER, [[*values(2), "DDoS"]])
    write(tmp_path / "a.CSV", CLEAN_HEADER, [[*values(1), "BENIGN"]])
    (tmp_path / "README.md").write_text("not data")
    flows = load_flows([tmp_path, tmp_path / "b.csv"])
    assert [Path(s).name for s in flows.sources] == ["a.CSV", "b.csv"]
    assert flows.labels.tolist() == ["BENIGN", "DDoS"]
    assert flows.source_index.tolist() == [0, 1]
    assert load_flows(str(tmp_path)).sources == flows.sources  # a lone path is one path


def test_generated_flows_survive_a_write_and_read_exactly(tmp_path: Path) -> None:
    flows = generate_flows(3_000, seed=3)
    assert np.isinf(flows.features).any()  # the round trip covers Infinity
    path = tmp_path / "synthetic.csv"
    with path.open("w", newline="") as out:
        write_csv(flows, out)
    again = load_flows([path])
    np.testing.assert_array_equal(again.features, flows.features)
    assert again.labels.tolist() == flows.labels.tolist()
