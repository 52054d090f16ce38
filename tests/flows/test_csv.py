"""The CSV writers: cfm's exact layout and number formats, and a default file the loader reads."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest

from flows.columns import CICFLOWMETER, CICIDS2017
from flows.csv_out import CsvWriter, header
from flows.javafmt import java_double, java_timestamp
from flows.meter import FlowMeter
from flows.records import FlowBatch
from models.dataset import load_flows
from models.features import FEATURE_NAMES
from tests.flows.build import T0_US, Packet, batch


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(88.0, "88.0", id="whole number"),
        pytest.param(17.6, "17.6", id="fraction"),
        pytest.param(0.0, "0.0", id="zero"),
        pytest.param(-0.0, "-0.0", id="negative zero"),
        pytest.param(0.001, "0.001", id="smallest plain"),
        pytest.param(0.0001, "1.0E-4", id="below 1e-3"),
        pytest.param(1.2345e-5, "1.2345E-5", id="small with digits"),
        pytest.param(9999999.5, "9999999.5", id="largest plain"),
        pytest.param(1e7, "1.0E7", id="1e7"),
        pytest.param(14212290.502793297, "1.4212290502793297E7", id="a rate"),
        pytest.param(-123456789.0, "-1.23456789E8", id="negative large"),
        pytest.param(1e16, "1.0E16", id="1e16"),
        pytest.param(2.5e300, "2.5E300", id="huge"),
        pytest.param(math.inf, "Infinity", id="infinity"),
        pytest.param(-math.inf, "-Infinity", id="minus infinity"),
        pytest.param(math.nan, "NaN", id="NaN"),
    ],
)
def test_doubles_are_written_as_java_writes_them(value: float, text: str) -> None:
    assert java_double(value) == text


def test_timestamps_are_local_12_hour_times(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    try:
        assert java_timestamp(T0_US) == "14/11/2023 10:13:20 PM"
        assert java_timestamp(T0_US + 1_800_000_000 + 999_999) == "14/11/2023 10:43:20 PM"
        assert java_timestamp(0) == "01/01/1970 12:00:00 AM"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_cicflowmeter_header_is_cfms(pcaps_dir: Path) -> None:
    for reference in pcaps_dir.glob("*.cicflowmeter.csv"):
        first_line = reference.read_text().split("\n", 1)[0]
        assert ",".join(header(CICFLOWMETER)) == first_line


def test_the_default_header_is_the_trafficlabelling_layout_without_label() -> None:
    names = header(CICIDS2017)
    assert names[:7] == (
        "Flow ID",
        "Source IP",
        "Source Port",
        "Destination IP",
        "Destination Port",
        "Protocol",
        "Timestamp",
    )
    assert names[7:] == FEATURE_NAMES[1:]


def _flows() -> FlowBatch:
    start = Packet(0, payload=100)
    packets = [
        start,
        start.reversed(0.5, payload=1460),
        Packet(7, payload=0),
        # one way, in no time: an empty backward direction, and Infinity bytes/s
        Packet(9, sport=5, payload=1),
        Packet(9, sport=5, payload=0),
    ]
    meter = FlowMeter()
    return FlowBatch.concat([meter.add(batch(packets)), meter.flush()])


def test_statistics_of_an_empty_direction_are_written_as_int_zero() -> None:
    out = io.StringIO()
    CsvWriter(out, CICFLOWMETER).write(_flows())
    lines = out.getvalue().splitlines()
    names = lines[0].split(",")
    rows = [dict(zip(names, line.split(","), strict=True)) for line in lines[1:]]
    empty = next(row for row in rows if row["Total Bwd packets"] == "0")
    assert empty["Bwd Packet Length Max"] == "0"  # `dump.append(0)`, not 0.0
    assert empty["Bwd IAT Mean"] == "0"
    assert empty["Bwd Segment Size Avg"] == "0.0"  # a double method returning 0
    assert empty["Flow Bytes/s"] == "Infinity"
    assert empty["Label"] == "NeedManualLabel"
    full = next(row for row in rows if row["Total Bwd packets"] == "1")
    assert full["Bwd Packet Length Max"] == "1460.0"
    assert full["Idle Max"] == "6500000.0"
    assert full["Active Max"] == "500000.0"


def test_the_training_loader_reads_the_default_csv_back(tmp_path: Path) -> None:
    flows = _flows()
    path = tmp_path / "flows.csv"
    with path.open("w", newline="") as file:
        CsvWriter(file).write(flows)
    loaded = load_flows([path])
    assert not loaded.labelled
    np.testing.assert_array_equal(loaded.features, flows.features)  # NaN == NaN here
