"""`ids-inference detect --interface lo` inside the namespace of a running `traffic` scenario:
alerts arrive while the tool runs, the tool's SIGTERM ends the capture with exit 0, and every
flow of the recording the tool made beside it (as `cfm` meters it) is judged, the alerts being
exactly its flows to a port below 1024 (the `ports` model's rule)."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import shared
from tests.conftest import PROJECT_ROOT
from tests.detect.port_model import LOW_PORTS
from tests.detect.test_live import _lines
from tests.flows.netns import require_namespaces, traffic_namespace
from tests.flows.parity import run_cfm_folder
from tests.flows.reference import cfm_path

SCENARIO = "mixed"  # a SYN scan of ports 1-300 beside web pages and UDP exchanges
FILTER = "host 127.0.0.2"  # what the tool's tcpdump records


def test_live_detect_beside_a_traffic_scenario_judges_every_flow_of_its_recording(
    repository: Path, tmp_path: Path
) -> None:
    require_namespaces()
    traffic = shared.traffic()
    if not traffic.is_file():
        pytest.skip(f"the traffic recorder is not at {traffic}: set TRAFFIC to ../shared's")
    cfm_path()
    pcaps = tmp_path / "pcaps"
    pcaps.mkdir()
    alerts = tmp_path / "alerts.jsonl"
    tool = subprocess.Popen(
        [str(traffic), SCENARIO, str(pcaps / f"{SCENARIO}.pcap")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    detect: subprocess.Popen[str] | None = None
    try:
        # Hold the tool until detect captures in its namespace (removed by the tool at its end).
        namespace = traffic_namespace(tool)
        tool.send_signal(signal.SIGSTOP)
        detect = subprocess.Popen(
            [
                *("ip", "netns", "exec", namespace),
                *(sys.executable, "-m", "detect", "--interface", "lo", "--filter", FILTER),
                *("--artifacts", str(repository), "--model", "ports", "--per-flow"),
                *("--alerts", str(alerts)),
            ],
            cwd=PROJECT_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert detect.stderr is not None
        first = detect.stderr.readline()
        assert "detect: capturing on lo" in first, first + detect.stderr.read()
        tool.send_signal(signal.SIGCONT)
        during = 0
        while tool.poll() is None:
            during = max(during, len(_lines(alerts)))
            time.sleep(0.05)
        output, _ = tool.communicate()
        assert tool.returncode == 0, output
        # The tool's exit sends SIGTERM to what runs in its namespace; ours only if still there.
        try:
            status = detect.wait(timeout=60)
        except subprocess.TimeoutExpired:
            detect.send_signal(signal.SIGTERM)
            status = detect.wait(timeout=120)
        stderr = detect.stderr.read()
    finally:
        for process in (tool, detect):
            if process is not None and process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
                process.kill()
                process.wait()
        if detect is not None and detect.stderr is not None:
            detect.stderr.close()
    assert status == 0, stderr
    assert during > 0, "no alert was written while the scenario ran"

    summary = re.search(
        r"detect: ([\d,]+) flows from lo \(live\).*the flow meter ended ([\d,]+)", stderr
    )
    assert summary, stderr
    judged, ended = (int(group.replace(",", "")) for group in summary.groups())
    run_cfm_folder(pcaps, tmp_path / "out")
    with (tmp_path / "out" / f"{SCENARIO}.pcap_Flow.csv").open(newline="") as file:
        reference = list(csv.DictReader(file))
    assert judged == ended == len(reference), stderr
    low = sorted(
        (row["Flow ID"], int(row["Dst Port"]))
        for row in reference
        if int(row["Dst Port"]) < LOW_PORTS
    )
    written = _lines(alerts)
    assert len(low) >= 300  # the scanned ports, at least
    assert sorted((str(a["ids_inference"]["flow"]), a["dest_port"]) for a in written) == low  # type: ignore[index]
