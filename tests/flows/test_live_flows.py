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
import sys
from pathlib import Path

from models.features import FEATURE_NAMES
from tests.conftest import PROJECT_ROOT
from tests.flows.build import Flow
from tests.flows.netns import run_beside_traffic
from tests.flows.parity import RELATIVE, reference_flows
from tests.flows.reference import cfm_path, run_cfm_folder

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
    cfm_path()
    pcaps = tmp_path / "pcaps"
    pcaps.mkdir()
    live_csv = tmp_path / "live.csv"
    done = run_beside_traffic(
        SCENARIO,
        pcaps / f"{SCENARIO}.pcap",
        [
            *(sys.executable, "-m", "ids_inference", "flows", "--interface", "lo"),
            *("--filter", FILTER, "--names", "cicflowmeter", "-o", str(live_csv)),
        ],
        ready="flows: capturing on lo",
        cwd=PROJECT_ROOT,
    )
    assert done.status == 0, done.stderr
    run_cfm_folder(pcaps, tmp_path / "out")
    theirs = reference_flows(tmp_path / "out" / f"{SCENARIO}.pcap_Flow.csv")
    ours = reference_flows(live_csv)
    assert len(theirs) > 100, done.stderr  # web pages, UDP exchanges and 300 scanned ports
    found = _differences(ours, theirs)
    assert not found, "\n".join(found[:20])
