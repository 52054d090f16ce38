"""`ids-inference detect` on recorded captures: alerts, the summary, and bad input."""

from __future__ import annotations

import csv
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.processes import free_port
from detect.alerts import FLOW_ID_MASK
from detect.cli import main
from detect.remote import TOKEN_VARIABLE
from flows import live
from flows.packets import PacketBatch, Skipped
from tests.detect.port_model import LOW_PORTS
from tests.flows.build import Packet, batch

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


def test_a_capture_cut_short_reports_its_skipped_record(
    pcaps_dir: Path, repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes((pcaps_dir / "web.pcap").read_bytes()[:-3])
    options = ("--artifacts", str(repository), "--model", "ports", "--alerts", str(tmp_path / "a"))
    status, stderr = _detect(capsys, str(cut), *options)
    assert status == 0, stderr
    assert re.search(
        r"^detect: [\d,]+ frames read in [\d.]+ s: [\d,]+ IP packets metered, 1 skipped \(the "
        r"file ends inside a packet record \(the capture was cut short\) 1\)$",
        stderr,
        re.MULTILINE,
    ), stderr


def test_a_live_capture_reports_the_kernel_drops_counted_at_its_close(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class OneBatchThenDrops:
        """A capture of one batch whose close finds 7 packets dropped, as libpcap's stats do."""

        def __init__(self, interface: str, bpf_filter: str | None) -> None:
            self.skipped = Skipped()

        def __iter__(self) -> Iterator[PacketBatch]:
            yield batch((Packet(0, payload=10), Packet(0, payload=10).reversed(0.001)))

        def close(self) -> None:
            self.skipped[live.KERNEL_DROPS] += 7

    monkeypatch.setattr(live, "LiveCapture", OneBatchThenDrops)
    status, stderr = _detect(
        capsys, "--interface", "eth9", "--artifacts", str(repository), "--model", "ports"
    )
    assert status == 0, stderr
    assert f"2 IP packets metered, 7 skipped ({live.KERNEL_DROPS} 7)\n" in stderr


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        pytest.param(
            "nowhere/a.jsonl", "cannot write '{tmp}/nowhere/a.jsonl': no folder", id="no folder"
        ),
        pytest.param("", "cannot write '{tmp}': it is a folder", id="a folder"),
    ],
)
@pytest.mark.parametrize("live_input", [False, True], ids=["files", "interface"])
def test_an_unwritable_alerts_file_stops_before_any_input_opens(
    alerts: str,
    message: str,
    live_input: bool,
    pcaps_dir: Path,
    repository: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def never(*args: object) -> None:
        raise AssertionError("the capture opened before the alerts file was checked")

    monkeypatch.setattr(live, "LiveCapture", never)
    source = ["--interface", "eth9"] if live_input else [str(pcaps_dir / "udp.pcap")]
    options = ["--artifacts", str(repository), "--model", "ports"]
    status, stderr = _detect(capsys, *source, *options, "--alerts", str(tmp_path / alerts))
    assert status == 1
    assert stderr.startswith(f"ids-inference detect: {message.format(tmp=tmp_path)}")
    assert len(stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("token", [None, "wrong"], ids=["no token", "a refused token"])
@pytest.mark.parametrize("code", [401, 403])
def test_a_refusing_server_points_at_the_token_variable(
    code: int,
    token: str | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Refusing(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"error": "no valid bearer token"}'
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    if token is None:
        monkeypatch.delenv(TOKEN_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(TOKEN_VARIABLE, token)
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_port}"
            status, stderr = _detect(capsys, "x.pcap", "--server", url, "--model", "ports")
        finally:
            server.shutdown()
            thread.join()
    assert status == 1
    told = "it is not set" if token is None else "the server refuses it"
    assert stderr == (
        f"ids-inference detect: the server at {url} answered {code} to {url}/models: no valid "
        f"bearer token (the bearer token is read from IDS_DETECT_TOKEN: {told})\n"
    )


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
