"""A labelled recording trains beside CICIDS2017 files, and its models pass the parity gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convert.cli import main as convert
from flows.cli import main as flows
from models.train import main as train


def test_a_labelled_recording_trains_and_converts(
    cicids_dir: Path, pcaps_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scan, web = tmp_path / "scan.csv", tmp_path / "web.csv"
    label = ["--label", "ATTACK", "--attacker", "127.0.0.1", "--victim", "127.0.0.2"]
    assert flows([str(pcaps_dir / "portscan.pcap"), "-o", str(scan), "-q", *label]) == 0
    assert flows([str(pcaps_dir / "web.pcap"), "-o", str(web), "-q", "--label", "BENIGN"]) == 0
    data = [str(cicids_dir / "friday-portscan-trafficlabelling.csv"), str(scan), str(web)]
    data.append(str(cicids_dir / "friday-ddos-head-raw.csv"))
    models, artifacts = tmp_path / "models", tmp_path / "artifacts"
    assert train(["--data", *data, "--out", str(models), "--n-estimators", "5"]) == 0
    report = json.loads((models / "training_report.json").read_text())
    sources = {Path(source["path"]).name: source for source in report["data"]["sources"]}
    assert sources["scan.csv"]["rows"] == 1000
    assert sources["web.csv"]["rows"] == 219
    assert sources["scan.csv"]["labelled"]
    # the portscan excerpt's 1,000 PortScan rows and the recording's 1,000 ATTACK rows
    assert report["data"]["rows_per_class_read"]["PortScan"] == 1000
    assert report["data"]["rows_per_class_read"]["ATTACK"] == 1000
    # the parity gate, on the rows the models were trained on, pcaps_dir included
    assert convert(["--models", str(models), "--out", str(artifacts), "--check-data", *data]) == 0
    assert "mismatches" in capsys.readouterr().out
    for name in ("random_forest", "xgboost", "decision_tree"):
        manifest = json.loads((artifacts / name / "1" / "manifest.json").read_text())
        assert manifest["parity"]["passed"] is True
