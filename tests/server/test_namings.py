"""The server takes flows named as CICIDS2017, CICFlowMeter or CSE-CIC-IDS2018 name them, CSV and
named JSON alike, and answers exactly as for the same rows under CICIDS2017's names."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from flows.columns import (
    CICFLOWMETER,
    CICIDS2017,
    CICIDS2018,
    FEATURES,
    canonical,
    header,
    name_in,
)
from server.app import create_app
from server.settings import Settings
from tests.server.conftest import Rows, quiet
from tests.server.test_legacy_api import Reference, assert_matches_session

NAMINGS = [
    pytest.param(CICIDS2017, id="CICIDS2017"),
    pytest.param(CICFLOWMETER, id="CICFlowMeter"),
    pytest.param(CICIDS2018, id="CSE-CIC-IDS2018"),
]
CSV = {"content-type": "text/csv"}
# What a prediction depends on; the time it took and when do not.
SAME = ("prediction", "confidence", "probabilities", "model_used", "model_version")


@pytest.fixture(scope="module")
def roomy(settings: Settings) -> Iterator[TestClient]:
    """A client of a server that takes 20,000 rows per batch (flood.pcap has 3,000 flows)."""
    roomy = Settings(artifacts_path=settings.artifacts_path, max_batch_rows=20_000)
    with TestClient(create_app(quiet(roomy))) as test_client:
        yield test_client


def answers(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{field: result[field] for field in SAME} for result in results]


def as_written(value: float) -> str:
    if np.isnan(value):
        return "NaN"
    return ("Infinity" if value > 0 else "-Infinity") if np.isinf(value) else repr(float(value))


def cicids2017_copy(cfm_csv: bytes) -> tuple[bytes, Rows]:
    """A cfm CSV under CICIDS2017's names (the second Fwd Header Length added, holding the
    first's value, as in the dataset), and its 78 features read with the csv module."""
    rows = list(csv.reader(io.StringIO(cfm_csv.decode())))
    names = [name_in(name, CICIDS2017) or name for name in rows[0]]
    first = names.index("Fwd Header Length")
    at = header(CICIDS2017).index("Fwd Header Length.1")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*names[:at], "Fwd Header Length.1", *names[at:]])
    writer.writerows([*row[:at], row[first], *row[at:]] for row in rows[1:])
    position = {name: i for i, name in enumerate(names)}
    position["Fwd Header Length.1"] = first
    features = np.array([[float(row[position[name]]) for name in FEATURES] for row in rows[1:]])
    return out.getvalue().encode(), features


def test_the_reference_flow_meters_csv_posts_as_it_is(
    roomy: TestClient, pcaps_dir: Path, reference: Reference
) -> None:
    files = sorted(pcaps_dir.glob("*.cicflowmeter.csv"))
    assert files
    for path in files:
        body = path.read_bytes()
        renamed, features = cicids2017_copy(body)
        for model in ("random_forest", "xgboost"):
            url = f"/predict/batch?model_name={model}"
            answer = roomy.post(url, content=body, headers=CSV)
            assert answer.status_code == 200, (path.name, answer.text)
            results = answer.json()["results"]
            assert len(results) == len(features), path.name
            assert_matches_session(results, model, features, reference)
            expected = roomy.post(url, content=renamed, headers=CSV)
            assert answers(results) == answers(expected.json()["results"]), path.name
        # The same flows as named JSON, each row an object of the CSV's own names and text.
        batch = [{"features": named_row, "model_name": "xgboost"} for named_row in cfm_rows(body)]
        results = post_json(roomy, "/predict/batch", batch)["results"]
        assert_matches_session(results, "xgboost", features, reference)


def cfm_rows(body: bytes) -> list[dict[str, str]]:
    """A cfm CSV's rows as objects of its feature columns' names -> values as written."""
    reader = csv.DictReader(io.StringIO(body.decode()))
    names = [name for name in reader.fieldnames or [] if canonical(name) in FEATURES]
    return [{name: row[name] for name in names} for row in reader]


def flows_csv(rows: Rows, naming: str, *, short: bool = False) -> bytes:
    """Rows as `naming`'s tool writes them: its header, identifiers and label included, the
    second Fwd Header Length only where it writes it; `short`: from Dst Port on (most of
    CSE-CIC-IDS2018's files)."""
    names = header(naming)[4 if short else 0 :]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(names)
    identifiers = {
        "Flow ID": "10.0.0.1-10.0.0.2-40000-80-6",
        "Source IP": "10.0.0.1",
        "Source Port": "40000",
        "Destination IP": "10.0.0.2",
        "Protocol": "6",
        "Timestamp": "02/03/2018 08:47:38",
        "Label": "Benign",
    }
    for row in rows:
        values = {**identifiers, **{n: as_written(v) for n, v in zip(FEATURES, row, strict=True)}}
        writer.writerow(values[name_in(name, CICIDS2017) or name] for name in names)
    return out.getvalue().encode()


CSV_NAMINGS = [
    pytest.param(CICIDS2017, False, id="CICIDS2017"),
    pytest.param(CICFLOWMETER, False, id="CICFlowMeter"),
    pytest.param(CICIDS2018, False, id="CSE-CIC-IDS2018"),
    pytest.param(CICIDS2018, True, id="CSE-CIC-IDS2018 from Dst Port"),
]


def dataset_like(rows: Rows) -> Rows:
    """Rows whose two Fwd Header Length values agree, as in every flow file."""
    rows = rows.copy()
    rows[:, FEATURES.index("Fwd Header Length.1")] = rows[:, FEATURES.index("Fwd Header Length")]
    return rows


@pytest.mark.parametrize(("naming", "short"), CSV_NAMINGS)
def test_a_csv_batch_in_any_naming(
    client: TestClient, flows: Rows, reference: Reference, naming: str, short: bool
) -> None:
    rows = dataset_like(flows)
    body = flows_csv(rows, naming, short=short)
    answer = client.post("/predict/batch?model_name=xgboost", content=body, headers=CSV)
    assert answer.status_code == 200, answer.text
    assert_matches_session(answer.json()["results"], "xgboost", rows, reference)


def named(row: Rows, naming: str) -> dict[str, float]:
    """One row as a JSON object of `naming`'s names (77 but for CICIDS2017's)."""
    return {
        spelling: float(value)
        for name, value in zip(FEATURES, row, strict=True)
        if (spelling := name_in(name, naming)) is not None
    }


def post_json(client: TestClient, path: str, body: Any) -> Any:
    # NaN and Infinity as the bare literals the server reads (httpx's json= refuses them).
    content = json.dumps(body).encode()
    answer = client.post(path, content=content, headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("naming", NAMINGS)
def test_named_json_in_any_naming(
    client: TestClient, flows: Rows, reference: Reference, naming: str
) -> None:
    rows = dataset_like(flows)
    batch = [{"features": named(row, naming), "model_name": "xgboost"} for row in rows]
    results = post_json(client, "/predict/batch", batch)["results"]
    assert_matches_session(results, "xgboost", rows, reference)
    as_cicids2017 = [{**request, "features": named(row, CICIDS2017)} for request, row in
                     zip(batch, rows, strict=True)]  # fmt: skip
    assert answers(results) == answers(
        post_json(client, "/predict/batch", as_cicids2017)["results"]
    )
    single = post_json(client, "/predict", batch[0])
    assert answers([single]) == answers(results[:1])


def test_named_json_may_mix_namings(client: TestClient, flows: Rows, reference: Reference) -> None:
    rows = dataset_like(flows[:1])
    namings = [CICIDS2017, CICFLOWMETER, CICIDS2018]
    mixed: dict[str, float] = {}
    for i, name in enumerate(FEATURES):
        spelling = name_in(name, namings[i % 3])
        if spelling is not None:
            mixed[f"  {spelling.lower()}"] = float(rows[0, i])  # spacing and case do not matter
    answer = post_json(client, "/predict", {"features": mixed, "model_name": "random_forest"})
    assert_matches_session([answer], "random_forest", rows, reference)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"features": {**named(np.ones(78), CICIDS2017), "Dst Port": 1}},
                     "feature 'Destination Port' is given twice: 'Destination Port', 'Dst Port'",
                     id="JSON: one feature in two namings"),
        pytest.param({"features": {k: 1 for k in named(np.ones(78), CICFLOWMETER)
                                   if k != "Tot Fwd Pkts" and k != "Total Fwd Packet"}},
                     "missing features: 'Total Fwd Packets' (named as CICIDS2017, CICFlowMeter "
                     "or CSE-CIC-IDS2018 name them)", id="JSON: a feature missing"),
    ],
)  # fmt: skip
def test_named_json_errors(client: TestClient, body: dict[str, Any], message: str) -> None:
    answer = client.post("/predict", json=body)
    assert answer.status_code == 422
    assert message in answer.text


@pytest.mark.parametrize(
    ("names", "message"),
    [
        pytest.param(["Dst Port", *header(CICFLOWMETER)[5:-1], "Destination Port"],
                     "CSV header: columns 1 ('Dst Port') and 80 ('Destination Port') are both "
                     "'Destination Port': keep one", id="CSV: one feature in two namings"),
        pytest.param([n for n in header(CICIDS2018) if n != "Init Fwd Win Byts"],
                     "CSV header: missing features: 'Init_Win_bytes_forward' (named as "
                     "CICIDS2017, CICFlowMeter or CSE-CIC-IDS2018 name them)",
                     id="CSV: a feature missing"),
    ],
)  # fmt: skip
def test_csv_header_errors(client: TestClient, names: list[str], message: str) -> None:
    body = (",".join(names) + "\n" + ",".join(["1"] * len(names)) + "\n").encode()
    answer = client.post("/predict/batch", content=body, headers=CSV)
    assert answer.status_code == 422
    assert message in answer.json()["error"]
