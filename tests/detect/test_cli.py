"""`ids-inference detect` on recorded captures: alerts, the summary, and bad input."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from benchmarks.processes import free_port
from detect.alerts import FLOW_ID_MASK
from detect.cli import main
from tests.detect.port_model import LOW_PORTS

EVE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d{4}$")


def _detect(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().err


def _flows(stderr: str) -> int:
    found = re.search(r"detect: ([\d,]+) flows from", stderr)
    assert found, stderr
    return int(found.group(1).replace(",", ""))


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _reference_rows(pcaps_dir: Path, name: str) -> int:
    with (pcaps_dir / f"{name}.cicflowmeter.csv").open(newline="") as file:
        return sum(1 for _ in csv.reader(file)) - 1


def test_portscan_alerts_carry_eve_fields(
    pcaps_dir: Path, repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a.jsonl"
    pcap = str(pcaps_dir / "portscan.pcap")
    status, stderr = _detect(
        capsys, pcap, "--artifacts", str(repository), "--model", "ports", "--alerts", str(out)
    )
    assert status == 0, stderr
    assert _flows(stderr) == _reference_rows(pcaps_dir, "portscan")
    alerts = _lines(out)
    # nmap scanned ports 1-1000: the port rule calls every flow an attack
    assert len(alerts) == _flows(stderr)
    assert f"{len(alerts):,} alerts written to {out}" in stderr
    for alert in alerts:
        assert alert["event_type"] == "alert"
        assert EVE_TIME.match(alert["timestamp"]), alert["timestamp"]
        assert EVE_TIME.match(alert["flow"]["start"])
        assert isinstance(alert["flow_id"], int)
        assert 0 <= alert["flow_id"] <= FLOW_ID_MASK
        assert alert["proto"] == "TCP"
        assert {alert["src_ip"], alert["dest_ip"]} == {"127.0.0.1", "127.0.0.2"}
        assert isinstance(alert["src_port"], int)
        assert isinstance(alert["dest_port"], int)
        assert min(alert["src_port"], alert["dest_port"]) < LOW_PORTS
        assert alert["alert"] | {"signature_id": 0} == {
            "action": "allowed",
            "gid": 1,
            "signature_id": 0,
            "rev": 1,
            "signature": "ATTACK",
            "category": "Potentially Bad Traffic",
            "severity": 2,
        }
        assert alert["ids_inference"]["model"] == "ports"
        assert alert["ids_inference"]["model_version"] == "1"
        assert alert["ids_inference"]["probabilities"] == {"ATTACK": 0.9, "BENIGN": 0.1}
        flow = alert["ids_inference"]["flow"]
        assert flow.endswith("-6")
        assert flow.startswith(f"{alert['src_ip']}-{alert['dest_ip']}-{alert['src_port']}-")
    assert len({alert["flow_id"] for alert in alerts}) == len(alerts)


def test_benign_flows_raise_no_alert_and_the_table_counts_them(
    pcaps_dir: Path, repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a.jsonl"
    pcaps = [str(pcaps_dir / f"{name}.pcap") for name in ("web", "udp")]
    status, stderr = _detect(
        capsys, *pcaps, "--artifacts", str(repository), "--model", "ports", "--alerts", str(out)
    )
    assert status == 0, stderr
    expected = _reference_rows(pcaps_dir, "web") + _reference_rows(pcaps_dir, "udp")
    assert _flows(stderr) == expected
    assert out.read_text() == ""
    assert re.search(rf"BENIGN\s+{expected:,}\s+100.0%\s+127.0.0.1 -> 127.0.0.2", stderr)


def test_flow_ids_are_the_same_in_every_run(
    pcaps_dir: Path, repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = []
    for name in ("first.jsonl", "second.jsonl"):
        pcap = str(pcaps_dir / "portscan.pcap")
        args = ("--artifacts", str(repository), "--model", "ports", "--alerts")
        assert _detect(capsys, pcap, *args, str(tmp_path / name))[0] == 0
        runs.append([alert["flow_id"] for alert in _lines(tmp_path / name)])
    assert runs[0] == runs[1]


def test_alerts_to_stdout(
    pcaps_dir: Path, repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pcap = str(pcaps_dir / "portscan.pcap")
    status = main([pcap, "--artifacts", str(repository), "--model", "ports", "--alerts", "-"])
    captured = capsys.readouterr()
    assert status == 0
    lines = captured.out.splitlines()
    assert len(lines) == _reference_rows(pcaps_dir, "portscan")
    assert json.loads(lines[0])["event_type"] == "alert"


def _no_alerts_file(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir() if p.name != "bad.pcap") == []


@pytest.mark.parametrize(
    ("case", "message"),
    [
        pytest.param("unreadable pcap", "not a pcap or pcapng file", id="unreadable pcap"),
        pytest.param("truncated pcap", "bad.pcap", id="a damaged capture among good ones"),
        pytest.param("missing artifacts", "is not a folder", id="missing artifacts"),
        pytest.param("unknown model", "unknown model 'nonesuch'", id="unknown model"),
        pytest.param("server down", "cannot reach the server at", id="server down"),
    ],
)
def test_bad_input_is_a_clear_error_and_leaves_no_alerts_file(
    case: str,
    message: str,
    pcaps_dir: Path,
    repository: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    pcaps = [str(pcaps_dir / "portscan.pcap")]
    options = ["--artifacts", str(repository), "--model", "ports"]
    if case == "unreadable pcap":
        (folder / "bad.pcap").write_text("Flow ID,Source IP\n")
        pcaps = [str(folder / "bad.pcap")]
    elif case == "truncated pcap":
        (folder / "bad.pcap").write_bytes((pcaps_dir / "web.pcap").read_bytes()[:10])
        pcaps.append(str(folder / "bad.pcap"))
    elif case == "missing artifacts":
        options = ["--artifacts", str(tmp_path / "nowhere"), "--model", "ports"]
    elif case == "unknown model":
        options = ["--artifacts", str(repository), "--model", "nonesuch"]
    else:
        options = ["--server", f"http://127.0.0.1:{free_port()}", "--model", "ports"]
    status, stderr = _detect(capsys, *pcaps, *options, "--alerts", str(folder / "a.jsonl"))
    assert status == 1
    assert message in stderr
    assert "Traceback" not in stderr
    _no_alerts_file(folder)


def test_an_unknown_model_names_the_ones_there(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, stderr = _detect(
        capsys, "x.pcap", "--artifacts", str(repository), "--model", "nonesuch"
    )
    assert status == 1
    assert "'ports'" in stderr
    assert "'random_forest'" in stderr


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([], id="no input"),
        pytest.param(["a.pcap", "--interface", "lo"], id="files and an interface"),
        pytest.param(["a.pcap", "--filter", "tcp"], id="a filter without an interface"),
        pytest.param(
            ["a.pcap", "--server", "http://x", "--artifacts", "a"], id="server and artifacts"
        ),
    ],
)
def test_contradictory_options_are_refused(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
