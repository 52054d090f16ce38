"""The table of flow column names: each naming against real headers, lookups, header matching."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from flows import columns
from flows.columns import (
    CICFLOWMETER,
    CICIDS2017,
    CICIDS2018,
    FEATURES,
    NAMINGS,
    AmbiguousColumnsError,
    NameLookup,
    canonical,
    feature_names,
    header,
    name_in,
    naming_of,
    spellings,
)

EVERY_NAMING = [
    pytest.param(CICIDS2017, id="CICIDS2017"),
    pytest.param(CICFLOWMETER, id="CICFlowMeter"),
    pytest.param(CICIDS2018, id="CSE-CIC-IDS2018"),
]

# CSE-CIC-IDS2018's header, as its `*_TrafficForML_CICFlowMeter.csv` files write it (all but
# Tuesday 20-02-2018's, which adds Flow ID, Src IP, Src Port, Dst IP in front): copied from the
# sources cited in flows/columns.py, to pin the table to them (no such file is in ../shared).
CICIDS2018_LINE = (
    "Dst Port,Protocol,Timestamp,Flow Duration,Tot Fwd Pkts,Tot Bwd Pkts,TotLen Fwd Pkts,"
    "TotLen Bwd Pkts,Fwd Pkt Len Max,Fwd Pkt Len Min,Fwd Pkt Len Mean,Fwd Pkt Len Std,"
    "Bwd Pkt Len Max,Bwd Pkt Len Min,Bwd Pkt Len Mean,Bwd Pkt Len Std,Flow Byts/s,Flow Pkts/s,"
    "Flow IAT Mean,Flow IAT Std,Flow IAT Max,Flow IAT Min,Fwd IAT Tot,Fwd IAT Mean,Fwd IAT Std,"
    "Fwd IAT Max,Fwd IAT Min,Bwd IAT Tot,Bwd IAT Mean,Bwd IAT Std,Bwd IAT Max,Bwd IAT Min,"
    "Fwd PSH Flags,Bwd PSH Flags,Fwd URG Flags,Bwd URG Flags,Fwd Header Len,Bwd Header Len,"
    "Fwd Pkts/s,Bwd Pkts/s,Pkt Len Min,Pkt Len Max,Pkt Len Mean,Pkt Len Std,Pkt Len Var,"
    "FIN Flag Cnt,SYN Flag Cnt,RST Flag Cnt,PSH Flag Cnt,ACK Flag Cnt,URG Flag Cnt,CWE Flag Count,"
    "ECE Flag Cnt,Down/Up Ratio,Pkt Size Avg,Fwd Seg Size Avg,Bwd Seg Size Avg,Fwd Byts/b Avg,"
    "Fwd Pkts/b Avg,Fwd Blk Rate Avg,Bwd Byts/b Avg,Bwd Pkts/b Avg,Bwd Blk Rate Avg,"
    "Subflow Fwd Pkts,Subflow Fwd Byts,Subflow Bwd Pkts,Subflow Bwd Byts,Init Fwd Win Byts,"
    "Init Bwd Win Byts,Fwd Act Data Pkts,Fwd Seg Size Min,Active Mean,Active Std,Active Max,"
    "Active Min,Idle Mean,Idle Std,Idle Max,Idle Min,Label"
)
CICIDS2018_HEADER = CICIDS2018_LINE.split(",")


def real_header(path: Path) -> tuple[str, ...]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return tuple(name.strip() for name in next(csv.reader(handle)))


def test_cicflowmeter_header_is_what_cfm_writes(pcaps_dir: Path) -> None:
    files = sorted(pcaps_dir.glob("*.cicflowmeter.csv"))
    assert files
    for path in files:
        assert real_header(path) == header(CICFLOWMETER), path.name
    assert len(header(CICFLOWMETER)) == 84


def test_cicids2017_header_is_the_traffic_labelling_files(cicids_dir: Path) -> None:
    files = sorted(cicids_dir.glob("*trafficlabelling.csv"))
    assert files
    for path in files:
        assert real_header(path) == header(CICIDS2017), path.name


def test_cicids2017_features_are_the_machine_learning_cve_files(cicids_dir: Path) -> None:
    written = real_header(cicids_dir / "thursday-webattacks-head-raw.csv")
    # The raw files write the second Fwd Header Length without pandas' suffix.
    assert written == tuple(
        name.removesuffix(".1") for name in (*feature_names(CICIDS2017), "Label")
    )


def test_cicids2018_header_is_its_files() -> None:
    leading = columns.CICIDS2018_LEADING_IDENTIFIERS
    assert header(CICIDS2018) == (*(name_in(n, CICIDS2018) for n in leading), *CICIDS2018_HEADER)


def test_the_features_are_the_models_in_model_order() -> None:
    from models.features import FEATURE_NAMES

    assert FEATURE_NAMES == FEATURES
    assert len(FEATURES) == 78


@pytest.mark.parametrize("naming", EVERY_NAMING)
def test_every_name_of_a_naming_maps_to_its_canonical_name(naming: str) -> None:
    for column in columns.COLUMNS:
        name = getattr(column, naming)
        if name is None:
            continue
        assert canonical(name) == column.cicids2017
        assert name_in(column.cicids2017, naming) == name
        assert name_in(name, CICIDS2017) == column.cicids2017
        assert name in spellings(column.cicids2017)


@pytest.mark.parametrize("naming", EVERY_NAMING)
def test_a_naming_writes_every_feature_but_the_restored_one(naming: str) -> None:
    names = feature_names(naming)
    if naming == CICIDS2017:
        assert names == FEATURES
    else:
        assert len(names) == 77
        assert name_in("Fwd Header Length.1", naming) is None
    assert [canonical(name) for name in names] == [
        name for name in FEATURES if naming == CICIDS2017 or name != "Fwd Header Length.1"
    ]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param(" Flow Duration", "Flow Duration", id="a leading space"),
        pytest.param("\ufeffDst Port", "Destination Port", id="a byte-order mark"),
        pytest.param("fwd init win bytes", "Init_Win_bytes_forward", id="case"),
        pytest.param("TotLen  Fwd Pkts", "Total Length of Fwd Packets", id="two spaces"),
        pytest.param("CWR Flag Count", "CWE Flag Count", id="CICIDS2017's typo"),
        pytest.param("Src IP", "Source IP", id="an identifier"),
        pytest.param("Label", "Label", id="the label"),
        pytest.param("Bogus", None, id="no such column"),
    ],
)
def test_names_compare_ignoring_whitespace_and_case(written: str, expected: str | None) -> None:
    assert canonical(written) == expected


def test_no_two_columns_share_a_name_in_any_naming() -> None:
    seen: dict[str, str] = {}
    for column in columns.COLUMNS:
        for name in spellings(column.cicids2017):
            assert seen.setdefault(columns.key(name), column.cicids2017) == column.cicids2017


def test_unknown_naming_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown naming 'cicids2019': one of cicids2017"):
        header("cicids2019")
    with pytest.raises(KeyError, match="'Bogus' is no flow column"):
        name_in("Bogus", CICFLOWMETER)


@pytest.mark.parametrize("naming", EVERY_NAMING)
def test_naming_of_a_header(naming: str) -> None:
    assert naming_of(header(naming)) == naming
    assert naming_of(feature_names(naming)) == naming


def test_a_header_common_to_every_naming_is_read_as_cicids2017() -> None:
    assert naming_of(["Flow Duration", "Idle Min"]) == CICIDS2017


@pytest.mark.parametrize("naming", EVERY_NAMING)
def test_a_header_in_any_naming_and_order_is_located(naming: str) -> None:
    written = list(header(naming))
    random.Random(3).shuffle(written)
    lookup = NameLookup((*FEATURES, "Label"))
    positions, restored = lookup.locate([f" {name} " for name in written])
    for name, position in zip(lookup.names, positions, strict=True):
        assert position is not None
        written_as = columns.RESTORED_FROM[name] if name in restored else name
        assert canonical(written[position]) == written_as
    assert restored == (() if naming == CICIDS2017 else ("Fwd Header Length.1",))


def test_the_repeated_fwd_header_length_is_the_second_column() -> None:
    written = [name.removesuffix(".1") for name in FEATURES]
    positions, restored = NameLookup(FEATURES).locate(written)
    assert positions == list(range(78))
    assert restored == ()


@pytest.mark.parametrize(
    ("written", "message"),
    [
        pytest.param(["Dst Port", "Flow Duration", "Destination Port"],
                     "columns 1 \\('Dst Port'\\) and 3 \\('Destination Port'\\) are both "
                     "'Destination Port'", id="one feature in two namings"),
        pytest.param(["Flow Duration", " flow duration"], "columns 1 .* and 2 .* are both",
                     id="a name written twice"),
        pytest.param(["Fwd Header Length"] * 3, "columns 1 .* and 3 .* are both "
                     "'Fwd Header Length'", id="Fwd Header Length three times"),
        pytest.param(["Fwd Header Len", "Fwd Header Length"], "are both 'Fwd Header Length'",
                     id="Fwd Header Length in two namings"),
    ],
)  # fmt: skip
def test_two_columns_for_one_name_are_an_error(written: list[str], message: str) -> None:
    with pytest.raises(AmbiguousColumnsError, match=message):
        NameLookup(FEATURES).locate(written)


def test_columns_nobody_asked_for_may_repeat() -> None:
    positions, _ = NameLookup(["Flow Duration"]).locate(["Label", "Label", "Flow Duration"])
    assert positions == [2]


def test_a_lookup_finds_names_the_table_does_not_know_by_themselves() -> None:
    lookup = NameLookup(["f0", "Flow Duration", "Dst Port"])
    assert lookup.find("f0") == lookup.find(" F0") == 0
    assert lookup.find("Destination Port") == lookup.find("dst port") == 2
    assert lookup.find("f1") is None
    assert lookup.restore == ()  # Fwd Header Length.1 is not among the names


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(["a b", "ab"], id="names differing in whitespace"),
        pytest.param(["Flow IAT Min", "flow iat min"], id="names differing in case"),
        pytest.param(["Tot Fwd Pkts", "Total Fwd Packets"], id="one column in two namings"),
    ],
)
def test_a_lookup_refuses_names_that_are_one_column(names: list[str]) -> None:
    with pytest.raises(ValueError, match="are the same column"):
        NameLookup(names)


def test_the_table_imports_nothing_beyond_the_standard_library() -> None:
    """The server imports it, and the serving image has no packet (or other) libraries for it."""
    code = (
        "import json, sys; before = set(sys.modules); import flows.columns; "
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert set(json.loads(out)) - set(sys.stdlib_module_names) == {"flows"}


DOC = Path(__file__).resolve().parents[2] / "docs" / "columns.md"


def markdown_table() -> str:
    """The namings side by side, as docs/columns.md shows them."""
    titles = [columns.NAMING_TITLES[naming] for naming in NAMINGS]
    lines = ["| input | " + " | ".join(titles) + " |", "|---|" + "---|" * len(titles)]
    feature = 0
    for column in columns.COLUMNS:
        if column.role == columns.FEATURE:
            feature += 1
        role = str(feature) if column.role == columns.FEATURE else column.role
        cells = [
            f"`{name}`" if (name := getattr(column, naming)) is not None else "(restored)"
            for naming in NAMINGS
        ]
        lines.append(f"| {role} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def test_the_documentation_shows_the_table() -> None:
    table = markdown_table()
    assert table in DOC.read_text(), "docs/columns.md's table differs; it should read:\n" + table
