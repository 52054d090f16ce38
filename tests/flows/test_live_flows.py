"""`ids-inference flows --interface` against the reference: a `traffic` scenario runs in its own
network namespace, our capture runs inside it on `lo` beside the tool's tcpdump, SIGTERM stops
it, and its flows are `cfm`'s flows of the pcap that tcpdump recorded at the same time.

Two capture sockets stamp the same packet each with its own kernel time (a few microseconds
apart), so features made of times are compared to within `TIME_TOLERANCE_US`; every other
feature, the flow count, the Flow IDs and the start times are compared as in the file parity
tests.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import shared
from models.features import FEATURE_NAMES
from tests.conftest import PROJECT_ROOT
from tests.flows.build import Flow
from tests.flows.netns import require_namespaces
from tests.flows.parity import RELATIVE, reference_flows, run_cfm_folder
from tests.flows.reference import cfm_path

SCENARIO = "mixed"  # web pages, UDP exchanges and a SYN scan at once: TCP, UDP, FIN, RST
FILTER = "host 127.0.0.2"  # what the tool's tcpdump records
TIME_TOLERANCE_US = 2_000.0
# Features that are times (microseconds, or statistics of them): within the tolerance.
TIMES = frozenset(
    name
    for name in FEATURE_NAMES
    if name == "Flow Duration" or " IAT " in name or name.startswith(("Active ", "Idle "))
)
# Rates divide by a duration that may be a few microseconds long: they follow the durations,
# which are compared, and are left out here.
RATES = frozenset(name for name in FEATURE_NAMES if name.endswith("/s") or "Bulk Rate" in name)


def _namespace_of(tool: subprocess.Popen[str]) -> str:
    """The tool's namespace (`ids-traffic-<its pid>`), once its loopback is up."""
    name = f"ids-traffic-{tool.pid}"
    deadline = time.monotonic() + 120  # the first run may apt-get install the tools
    while time.monotonic() < deadline:
        up = subprocess.run(
            ["ip", "netns", "exec", name, "ip", "-o", "link", "show", "lo", "up"],
            capture_output=True,
            text=True,
            check=False,
        )
        if "LOOPBACK" in up.stdout:
            return name
        assert tool.poll() is None, f"traffic ended early: {tool.communicate()[0]}"
        time.sleep(0.01)
    raise AssertionError("the traffic tool's namespace never came up")


def _differences(ours: list[Flow], theirs: list[Flow]) -> list[str]:
    def key(flow: Flow) -> tuple[str, str, int, int]:
        fwd, bwd = flow["Total Fwd Packets"], flow["Total Backward Packets"]
        return flow.flow_id, str(flow.extra["Timestamp"]), int(fwd), int(bwd)

    mine = sorted(ours, key=key)
    reference = sorted(theirs, key=key)
    if [key(f) for f in mine] != [key(f) for f in reference]:
        only_ours = sorted(set(map(key, mine)) - set(map(key, reference)))[:10]
        only_theirs = sorted(set(map(key, reference)) - set(map(key, mine)))[:10]
        return [f"flows only ours: {only_ours}", f"flows only the reference's: {only_theirs}"]
    found = []
    for a, b in zip(mine, reference, strict=True):
        for name in FEATURE_NAMES:
            if name in RATES:
                continue
            x, y = a[name], b[name]
            if name in TIMES:
                same = abs(x - y) <= TIME_TOLERANCE_US
            else:
                same = x == y or math.isclose(x, y, rel_tol=RELATIVE)
            if not same:
                found.append(f"{a.flow_id} at {a.extra['Timestamp']}: {name} {x!r} ({y!r})")
    return found


def test_live_capture_gives_the_reference_flows_of_a_recording_made_beside_it(
    tmp_path: Path,
) -> None:
    require_namespaces()
    traffic = shared.traffic()
    if not traffic.is_file():
        pytest.skip(f"the traffic recorder is not at {traffic}: set TRAFFIC to ../shared's")
    cfm_path()
    pcaps = tmp_path / "pcaps"
    pcaps.mkdir()
    live_csv = tmp_path / "live.csv"
    tool = subprocess.Popen(
        [str(traffic), SCENARIO, str(pcaps / f"{SCENARIO}.pcap")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    capture: subprocess.Popen[str] | None = None
    try:
        # Hold the tool (it has not started its tcpdump or its scenario yet) until our capture
        # listens in its namespace; the tool removes the namespace when it ends.
        namespace = _namespace_of(tool)
        tool.send_signal(signal.SIGSTOP)
        capture = subprocess.Popen(
            [
                *("ip", "netns", "exec", namespace),
                *(sys.executable, "-m", "ids_inference", "flows", "--interface", "lo"),
                *("--filter", FILTER, "--names", "cicflowmeter", "-o", str(live_csv)),
            ],
            cwd=PROJECT_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert capture.stderr is not None
        first = capture.stderr.readline()
        assert "flows: capturing on lo" in first, first + capture.stderr.read()
        tool.send_signal(signal.SIGCONT)
        output, _ = tool.communicate(timeout=600)
        assert tool.returncode == 0, output
        # The tool's own exit stops what runs in its namespace (SIGTERM), our capture included;
        # send ours only if it has not ended by then (a second SIGTERM sent at once can land
        # after the capture has restored the default handler, on its way out).
        try:
            status = capture.wait(timeout=60)
        except subprocess.TimeoutExpired:
            capture.send_signal(signal.SIGTERM)
            status = capture.wait(timeout=120)
        assert status == 0, capture.stderr.read()
        summary = capture.stderr.read()
    finally:
        for process in (tool, capture):
            if process is not None and process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
                process.kill()
                process.wait()
        if capture is not None and capture.stderr is not None:
            capture.stderr.close()
    run_cfm_folder(pcaps, tmp_path / "out")
    theirs = reference_flows(tmp_path / "out" / f"{SCENARIO}.pcap_Flow.csv")
    ours = reference_flows(live_csv)
    assert len(theirs) > 100, summary  # web pages, UDP exchanges and 300 scanned ports
    found = _differences(ours, theirs)
    assert not found, "\n".join(found[:20])
