"""`ids-inference detect --interface lo` inside the namespace of a running `traffic` scenario:
alerts arrive while the tool runs, the tool's SIGTERM ends the capture with exit 0, and every
flow of the recording the tool made beside it (as `cfm` meters it) is judged, the alerts being
exactly its flows to a port below 1024 (the `ports` model's rule)."""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT
from tests.detect.port_model import LOW_PORTS
from tests.detect.test_live import _lines
from tests.flows.netns import run_beside_traffic
from tests.flows.reference import cfm_path, run_cfm_folder

SCENARIO = "mixed"  # a SYN scan of ports 1-300 beside web pages and UDP exchanges
FILTER = "host 127.0.0.2"  # what the tool's tcpdump records


def test_live_detect_beside_a_traffic_scenario_judges_every_flow_of_its_recording(
    repository: Path, tmp_path: Path
) -> None:
    cfm_path()
    pcaps = tmp_path / "pcaps"
    pcaps.mkdir()
    alerts = tmp_path / "alerts.jsonl"
    during: list[int] = [0]

    def count_alerts() -> None:
        during[0] = max(during[0], len(_lines(alerts)))

    done = run_beside_traffic(
        SCENARIO,
        pcaps / f"{SCENARIO}.pcap",
        [
            *(sys.executable, "-m", "detect", "--interface", "lo", "--filter", FILTER),
            *("--artifacts", str(repository), "--model", "ports", "--per-flow"),
            *("--alerts", str(alerts)),
        ],
        ready="detect: capturing on lo",
        while_running=count_alerts,
        cwd=PROJECT_ROOT,
    )
    stderr = done.stderr
    assert done.status == 0, stderr
    assert during[0] > 0, "no alert was written while the scenario ran"

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
