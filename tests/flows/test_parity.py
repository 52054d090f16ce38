"""The meter against the reference on real traffic: the same flows, every feature within 1e-9.

Two sources: the recordings in ../shared/data/pcaps with the CSV `cfm` wrote for each, and fresh
recordings of every `traffic` scenario but `bulk` (made once per session, in network namespaces
of their own, then run through `cfm` in one JVM). Integers must be equal; any difference fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from benchmarks import shared
from flows.records import FlowBatch
from flows.stream import read_flows
from tests.flows.build import Flow, flows_of
from tests.flows.parity import differences, reference_flows
from tests.flows.reference import cfm_path, run_cfm_folder

SCENARIOS = ("web", "portscan", "connectscan", "slowloris", "flood", "synflood", "udp", "mixed")
SHARED = sorted(path.stem for path in shared.pcaps_dir().glob("*.pcap")) or ["web"]


def ours(pcap: Path) -> list[Flow]:
    return flows_of(FlowBatch.concat(list(read_flows(pcap))))


def assert_same_flows(pcap: Path, reference_csv: Path) -> None:
    mine, theirs = ours(pcap), reference_flows(reference_csv)
    found = differences(mine, theirs)
    assert not found, f"{pcap.name}: {len(mine)} flows of ours, {len(theirs)} of cfm\n" + "\n".join(
        found
    )
    assert len(mine) == len(theirs)


@pytest.mark.parametrize("name", SHARED)
def test_shared_recording_matches_the_reference(pcaps_dir: Path, name: str) -> None:
    pcap = pcaps_dir / f"{name}.pcap"
    reference = pcaps_dir / f"{name}.cicflowmeter.csv"
    if not reference.is_file():
        pytest.skip(f"no reference CSV beside {pcap}")
    assert_same_flows(pcap, reference)


@pytest.fixture(scope="session")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each scenario recorded once into pcaps/, and cfm's CSVs for them in out/."""
    traffic = shared.traffic()
    if not traffic.is_file():
        pytest.skip(f"the traffic recorder is not at {traffic}: set TRAFFIC to ../shared's")
    if os.geteuid() != 0:
        pytest.skip("recording traffic needs root (network namespaces, tcpdump)")
    if shutil.which("ip") is None:
        pytest.skip("recording traffic needs iproute2's `ip` (network namespaces)")
    cfm_path()
    folder = tmp_path_factory.mktemp("recordings")
    pcaps = folder / "pcaps"
    pcaps.mkdir()

    def record(scenario: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(traffic), scenario, str(pcaps / f"{scenario}.pcap")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def finish(scenario: str, run: subprocess.Popen[str]) -> bool:
        try:
            output, _ = run.communicate(timeout=900)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        failures[scenario] = output
        return run.returncode == 0

    # The first run installs the tools it lacks; the others then run two at a time, each in a
    # network namespace of its own; a run that fails under that load (a server not up in time)
    # is tried once more alone.
    failures: dict[str, str] = {}
    first = SCENARIOS[0]
    left = [] if finish(first, record(first)) else [first]
    for pair in (SCENARIOS[i : i + 2] for i in range(1, len(SCENARIOS), 2)):
        runs = [(scenario, record(scenario)) for scenario in pair]
        left += [scenario for scenario, run in runs if not finish(scenario, run)]
    for scenario in left:
        assert finish(scenario, record(scenario)), f"traffic {scenario}: {failures[scenario]}"
    run_cfm_folder(pcaps, folder / "out")
    return folder


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_fresh_recording_matches_the_reference(recordings: Path, scenario: str) -> None:
    pcap = recordings / "pcaps" / f"{scenario}.pcap"
    assert_same_flows(pcap, recordings / "out" / f"{pcap.name}_Flow.csv")
