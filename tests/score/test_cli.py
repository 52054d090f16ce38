"""`ids-inference score` as a user runs it: formats in and out, bad rows, errors, jobs."""

from __future__ import annotations

import csv
import gzip
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from flows.columns import NAMING_TITLES, NAMINGS, name_in
from ids_inference.cli import main as ids_inference
from models.make_csv import write_synthetic_csv
from tests.flows.build import Packet, capture
from tests.score.conftest import Score

ROWS = 300


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CICIDS2017 MachineLearningCVE-layout file of synthetic flows (Infinity and NaN rates
    included)."""
    path = tmp_path_factory.mktemp("flows") / "flows.csv"
    write_synthetic_csv(path, ROWS, seed=3)
    # A NaN rate, as zero-duration flows have: a value, not a bad row (Parquet writes it null).
    text = lines(path)
    fields = text[3].split(",")
    fields[14] = "NaN"
    text[3] = ",".join(fields)
    path.write_text("\n".join(text) + "\n")
    return path


def read(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    return pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(strings_can_be_null=True))


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_a_run_writes_identifiers_then_one_column_set_and_a_summary(
    flows: Path, score: Score, tmp_path: Path
) -> None:
    done = score(flows, "-o", tmp_path / "out.parquet")
    assert done.code == 0, done.err
    table = read(tmp_path / "out.parquet")
    assert table.column_names == [
        "Destination Port",
        "Label",
        "prediction",
        "probability_ATTACK",
        "probability_BENIGN",
        "model",
        "model_version",
    ]
    assert table.num_rows == ROWS
    assert set(table["model"].to_pylist()) == {"random_forest"}
    assert set(table["model_version"].to_pylist()) == {"2"}
    assert f"scored {ROWS} rows from 1 file(s)" in done.out
    assert "random_forest: " in done.out
    assert "0 rows rejected" in done.out
    assert not list(tmp_path.glob(".*partial"))


def test_several_models_get_one_prefixed_column_set_each(
    flows: Path, score: Score, tmp_path: Path
) -> None:
    output = tmp_path / "out.parquet"
    done = score(flows, "-o", output, "--model", "xgboost", "--model", "xgboost:1")
    assert done.code == 0, done.err
    names = read(output).column_names
    assert names[2:4] == ["xgboost_prediction", "xgboost_probability_BENIGN"]
    assert "xgboost_v1_prediction" in names
    assert "xgboost_v1_model_version" in names
    assert read(output)["xgboost_v1_model_version"].to_pylist()[0] == "1"


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("csv", id="CSV"),
        pytest.param("gzip", id="gzip'd CSV"),
        pytest.param("gzip-named-csv", id="gzip'd CSV named .csv (found by content)"),
        pytest.param("parquet", id="Parquet"),
        pytest.param("crlf", id="CSV with CRLF line ends"),
    ],
)
def test_every_input_format_gives_the_same_verdicts(
    kind: str, flows: Path, score: Score, tmp_path: Path
) -> None:
    expected_out = tmp_path / "expected.parquet"
    assert score(flows, "-o", expected_out).code == 0
    source = tmp_path / {"gzip": "f.csv.gz", "parquet": "f.parquet"}.get(kind, "f.csv")
    if kind.startswith("gzip"):
        source.write_bytes(gzip.compress(flows.read_bytes()))
    elif kind == "parquet":
        # The header's repeated name becomes `Fwd Header Length.1`, as pandas and the models say.
        table = pa_csv.read_csv(flows)
        pq.write_table(table, source, row_group_size=70)
    elif kind == "crlf":
        source.write_bytes(flows.read_bytes().replace(b"\n", b"\r\n"))
    else:
        shutil.copy(flows, source)
    output = tmp_path / "out.parquet"
    done = score(source, "-o", output, "--chunk-rows", "64")
    assert done.code == 0, done.err
    assert (
        read(output)
        .drop_columns(["Destination Port"])
        .equals(read(expected_out).drop_columns(["Destination Port"]))
    )


def test_csv_and_parquet_outputs_hold_the_same_rows(
    flows: Path, score: Score, tmp_path: Path
) -> None:
    assert score(flows, "-o", tmp_path / "out.csv").code == 0
    assert score(flows, "-o", tmp_path / "out.parquet").code == 0
    as_csv, as_parquet = read(tmp_path / "out.csv"), read(tmp_path / "out.parquet")
    assert as_csv.column_names == as_parquet.column_names
    assert as_csv["prediction"].to_pylist() == as_parquet["prediction"].to_pylist()
    assert as_csv["probability_ATTACK"].cast(pa.float32()).equals(as_parquet["probability_ATTACK"])


def with_lines(flows: Path, target: Path, changes: dict[int, str]) -> Path:
    """`flows` with some lines (numbered from 1, the header) replaced."""
    text = lines(flows)
    for number, line in changes.items():
        text[number - 1] = line
    target.write_text("\n".join(text) + "\n")
    return target


def bad_lines(flows: Path) -> dict[int, str]:
    fields = lines(flows)[5].split(",")
    short = ",".join(fields[:-3])
    text = ",".join([*fields[:14], "abc", *fields[15:]])
    empty = ",".join([*fields[:2], "", *fields[3:]])
    return {4: short, 9: text, 20: empty}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param(4, "line 4: 76 fields, the header has 79", id="wrong column count"),
        pytest.param(9, "line 9: column 'Flow Bytes/s' holds 'abc', not a number", id="text"),
        pytest.param(20, "line 20: column 'Total Fwd Packets' is empty", id="empty value"),
    ],
)
def test_a_bad_row_stops_the_run_naming_file_and_line(
    line: int, message: str, flows: Path, score: Score, tmp_path: Path
) -> None:
    source = with_lines(flows, tmp_path / "bad.csv", {line: bad_lines(flows)[line]})
    done = score(source, "-o", tmp_path / "out.parquet", "--chunk-rows", "7")
    assert done.code == 1
    assert f"{source}: {message}" in done.err
    assert "--on-bad-row skip" in done.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_skipped_rows_are_counted_and_listed_beside_the_output(
    flows: Path, score: Score, tmp_path: Path
) -> None:
    bad = bad_lines(flows)
    # An empty line and a line of bare commas are blank; the bad line after them keeps its number.
    changes = {**bad, 30: "," * 78, 31: "", 40: bad[9]}
    source = with_lines(flows, tmp_path / "bad.csv", changes)
    output = tmp_path / "out.parquet"
    done = score(source, "-o", output, "--on-bad-row", "skip", "--chunk-rows", "7")
    assert done.code == 0, done.err
    assert read(output).num_rows == ROWS - 6
    with (tmp_path / "out.parquet.rejected.csv").open(newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert [(row["file"], row["line"]) for row in rejected] == [
        (str(source), "4"),
        (str(source), "9"),
        (str(source), "20"),
        (str(source), "40"),
    ]
    assert [row["raw line"] for row in rejected] == [changes[n] for n in (4, 9, 20, 40)]
    assert rejected[1]["reason"] == "column 'Flow Bytes/s' holds 'abc', not a number"
    assert "4 row(s) rejected (empty numeric value 1, text in a numeric column 2, " in done.out
    assert "wrong column count 1)" in done.out
    assert "2 blank line(s) skipped" in done.out


@pytest.mark.parametrize(
    "ends",
    [
        pytest.param("lf", id="LF line ends"),
        pytest.param("crlf", id="CRLF line ends"),
        pytest.param("quoted", id="quoted labels"),
    ],
)
def test_rejected_rows_keep_their_line_numbers_across_chunks(
    ends: str, score: Score, tmp_path: Path
) -> None:
    # 1,000 rows: five chunks of at least 64 KB, whatever --chunk-rows asks.
    flows = tmp_path / "flows.csv"
    write_synthetic_csv(flows, 1_000, seed=5)
    bad = bad_lines(flows)
    changes = {**bad, 30: "", 31: "," * 78, 450: bad[9], 451: "", 700: bad[4], 990: bad[20]}
    source = with_lines(flows, tmp_path / "bad.csv", changes)
    if ends == "crlf":
        source.write_bytes(source.read_bytes().replace(b"\n", b"\r\n"))
    elif ends == "quoted":
        source.write_text(source.read_text().replace(",BENIGN\n", ',"BENIGN"\n'))
    output = tmp_path / "out.parquet"
    done = score(source, "-o", output, "--on-bad-row", "skip", "--chunk-rows", "7")
    assert done.code == 0, done.err
    with (tmp_path / "out.parquet.rejected.csv").open(newline="") as handle:
        rejected = [int(row["line"]) for row in csv.DictReader(handle)]
    assert rejected == [4, 9, 20, 450, 700, 990]
    assert read(output).num_rows == 1_000 - 9
    assert "3 blank line(s) skipped" in done.out


def test_a_clean_run_removes_an_old_rejected_file(
    flows: Path, score: Score, tmp_path: Path
) -> None:
    (tmp_path / "out.csv.rejected.csv").write_text("file,line,reason,raw line\n")
    assert score(flows, "-o", tmp_path / "out.csv").code == 0
    assert not (tmp_path / "out.csv.rejected.csv").exists()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        pytest.param(
            "missing columns", "missing 2 of the 78 feature columns", id="missing columns"
        ),
        pytest.param("no such file", "cannot read it (No such file or directory)", id="no file"),
        pytest.param("folder", "is a folder, not a flow file", id="a folder as input"),
        pytest.param(
            "capture", "a packet capture (pcap), not a flow file: `ids-inference flows`", id="pcap"
        ),
        pytest.param("unknown model", "unknown model 'nope': the repository", id="unknown model"),
        pytest.param("no version", "model 'xgboost' has no version 9", id="unknown version"),
        pytest.param("no artifacts", "is not a folder (pass --artifacts", id="no artifacts"),
        pytest.param("broken artifact", "cannot load model 'random_forest'", id="broken artifact"),
        pytest.param("output folder", "cannot write", id="output folder not writable"),
        pytest.param("no output folder", "/verdicts.parquet': no folder", id="no output folder"),
        pytest.param("output is a folder", ".parquet': it is a folder", id="output is a folder"),
        pytest.param("output format", "name it .csv or .parquet", id="output extension"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(
    case: str, message: str, flows: Path, repository: Path, score: Score, tmp_path: Path
) -> None:
    source, output, extra = flows, tmp_path / "out" / "verdicts.parquet", []
    output.parent.mkdir()
    if case == "missing columns":
        text = lines(flows)
        header = text[0].replace(" Flow Duration", " Duration").replace("Idle Min", "Idle Minimum")
        source = tmp_path / "in.csv"
        source.write_text("\n".join([header, *text[1:]]))
    elif case == "no such file":
        source = tmp_path / "absent.csv"
    elif case == "folder":
        source = tmp_path
    elif case == "capture":
        source = tmp_path / "capture.pcap"
        source.write_bytes(capture([Packet(0), Packet(0).reversed(0.001)]))
    elif case == "unknown model":
        extra = ["--model", "nope"]
    elif case == "no version":
        extra = ["--model", "xgboost:9"]
    elif case == "no artifacts":
        extra = ["--artifacts", str(tmp_path / "none")]
    elif case == "broken artifact":
        broken = tmp_path / "broken"
        shutil.copytree(repository / "random_forest", broken / "random_forest")
        (broken / "random_forest" / "2" / "model.onnx").write_bytes(b"not a graph")
        extra = ["--artifacts", str(broken)]
    elif case == "output folder":
        (tmp_path / "a-file").write_text("")
        output = tmp_path / "a-file" / "verdicts.parquet"
    elif case == "no output folder":
        output = tmp_path / "nowhere" / "verdicts.parquet"
    elif case == "output is a folder":
        output.mkdir()
    elif case == "output format":
        output = output.with_suffix(".json")
    done = score(source, "-o", output, *extra)
    assert done.code == 1
    assert done.err.startswith("ids-inference score: ")
    assert message in done.err
    written = output.parent.glob("*verdicts*") if output.parent.is_dir() else []
    assert not [path for path in written if path.is_file()]


@pytest.mark.parametrize("workers", [pytest.param(w, id=w) for w in ("threads", "processes")])
def test_jobs_score_chunks_in_parallel_and_keep_the_input_order(
    workers: str, flows: Path, score: Score, tmp_path: Path
) -> None:
    assert score(flows, flows, "-o", tmp_path / "one.parquet").code == 0
    done = score(
        flows, flows, "-o", tmp_path / "two.parquet", "--jobs", "2", "--chunk-rows", "16",
        "--workers", workers,
    )  # fmt: skip
    assert done.code == 0, done.err
    assert read(tmp_path / "two.parquet").equals(read(tmp_path / "one.parquet"))


def test_the_console_script_lists_and_runs_score(
    flows: Path, repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ids_inference(["--help"]) == 0
    assert "score " in capsys.readouterr().out
    argv = ["score", str(flows), "-o", str(tmp_path / "o.csv"), "--artifacts", str(repository)]
    assert ids_inference([*argv, "--jobs", "1", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert len(lines(tmp_path / "o.csv")) == ROWS + 1


@pytest.mark.parametrize("quiet", ["--quiet", "-q"])
def test_quiet_writes_nothing_but_the_output(
    quiet: str, flows: Path, score: Score, tmp_path: Path
) -> None:
    done = score(flows, "-o", tmp_path / "o.csv", quiet)
    assert (done.code, done.out, done.err) == (0, "", "")
    assert len(lines(tmp_path / "o.csv")) == ROWS + 1


@pytest.mark.parametrize(
    "naming", [pytest.param(naming, id=NAMING_TITLES[naming]) for naming in NAMINGS]
)
def test_every_naming_of_the_column_table_gives_the_same_verdicts(
    naming: str, flows: Path, score: Score, tmp_path: Path
) -> None:
    """A file in CICFlowMeter's or CSE-CIC-IDS2018's names (the second `Fwd Header Length`
    absent, as they write it) scores as the CICIDS2017 file does."""
    assert score(flows, "-o", tmp_path / "expected.parquet").code == 0
    text = lines(flows)
    header = [cell.strip() for cell in text[0].split(",")]
    header[header.index("Fwd Header Length", header.index("Fwd Header Length") + 1)] += ".1"
    renamed = [name_in(name, naming) for name in header]
    keep = [i for i, name in enumerate(renamed) if name is not None]
    names = [name for name in renamed if name is not None]
    rows = [[line.split(",")[i] for i in keep] for line in text[1:]]
    source = tmp_path / f"{naming}.csv"
    source.write_text("\n".join(",".join(row) for row in [names, *rows]) + "\n")
    done = score(source, "-o", tmp_path / "out.parquet")
    assert done.code == 0, done.err
    assert read(tmp_path / "out.parquet").equals(read(tmp_path / "expected.parquet"))


def test_a_missing_extra_is_named_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing(name: str) -> None:
        raise ModuleNotFoundError("No module named 'pyarrow'", name="pyarrow")

    monkeypatch.setattr("ids_inference.cli.importlib.import_module", missing)
    assert ids_inference(["score", "x.csv", "-o", "y.csv"]) == 1
    assert "pip install 'ids-inference[score]'" in capsys.readouterr().err


def test_a_parquet_file_names_its_bad_rows_by_row_number(
    flows: Path, score: Score, tmp_path: Path
) -> None:
    table = pa_csv.read_csv(flows)
    # Flow Bytes/s as text; Arrow's CSV reader made the fixture's NaN a null, kept as one
    values = [None if v is None else str(v) for v in table.column(14).to_pylist()]
    values[41] = "abc"
    source = tmp_path / "bad.parquet"
    pq.write_table(table.set_column(14, table.column_names[14], pa.array(values)), source)
    output = tmp_path / "out.csv"
    done = score(source, "-o", output, "--chunk-rows", "16")
    assert done.code == 1
    assert f"{source}: row 42: column 'Flow Bytes/s' holds 'abc', not a number" in done.err
    assert score(source, "-o", output, "--on-bad-row", "skip", "--chunk-rows", "16").code == 0
    assert len(lines(output)) == ROWS
    with (tmp_path / "out.csv.rejected.csv").open(newline="") as handle:
        (rejected,) = list(csv.DictReader(handle))
    assert (rejected["file"], rejected["line"]) == (str(source), "42")
    assert rejected["raw line"].split(",")[14] == "abc"
