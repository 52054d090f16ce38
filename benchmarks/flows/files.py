"""Ours and `cfm` on the same capture file: packets/s, one core each, and peak memory.

Each run is a fresh process pinned to one core (`taskset -c`), end to end: start, read the
capture, meter, write the CSV. The two tools alternate, round after round (who goes first
alternates too), so a noisy neighbour slows both alike; figures are medians over the rounds.
Each run's CPU time (user + system, GNU time) is kept beside its wall time: on a machine shared
with other work, wall times wait for a core and vary, CPU times much less.
Peak memory is the command's maximum resident set size (GNU time).
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.flows.settings import CFM

GNU_TIME = "/usr/bin/time"  # Debian's `time` package


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int


@dataclass
class ToolRuns:
    tool: str
    command: str
    runs: list[Run] = field(default_factory=list)

    def median_seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    def median_cpu_seconds(self) -> float:
        return statistics.median(run.cpu_seconds for run in self.runs)

    def peak_rss_bytes(self) -> int:
        return max(run.peak_rss_bytes for run in self.runs)


def _timed(command: list[str], cpu: int) -> Run:
    # GNU time reports the peak of the command alone: a child's ru_maxrss starts from its
    # parent's size at the fork, and this process may be large.
    if not Path(GNU_TIME).is_file():
        raise RuntimeError(f"{GNU_TIME} is missing: `apt-get install time` (GNU time)")
    began = time.perf_counter()
    done = subprocess.run(
        [GNU_TIME, "-f", "peak-kib %M cpu %U %S", "taskset", "-c", str(cpu), *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
    peak_kib, user, system = re.findall(
        r"^peak-kib (\d+) cpu ([\d.]+) ([\d.]+)$", done.stderr, flags=re.MULTILINE
    )[-1]
    return Run(
        seconds=seconds,
        cpu_seconds=float(user) + float(system),
        peak_rss_bytes=int(peak_kib) * 1024,
    )


def ours_command(pcap: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "ids_inference", "flows", str(pcap), "-o", str(out), "-q"]


def cfm_command(pcap: Path, out: Path) -> list[str]:
    return [str(CFM), str(pcap), str(out)]


def compare(pcap: Path, rounds: int, cpu: int) -> tuple[ToolRuns, ToolRuns]:
    """Both tools on `pcap`, interleaved, `rounds` times each."""
    with tempfile.TemporaryDirectory(prefix="flows-bench-") as work:
        out = Path(work)
        ours = ToolRuns("ours", " ".join(ours_command(pcap, out / "ours.csv")))
        cfm = ToolRuns("cfm", " ".join(cfm_command(pcap, out / "cfm")))
        subprocess.run(cfm_command(pcap, out / "warm"), check=True, capture_output=True)  # build
        for round_number in range(rounds):
            pair = [ours, cfm] if round_number % 2 == 0 else [cfm, ours]
            for tool in pair:
                if tool is ours:
                    tool.runs.append(_timed(ours_command(pcap, out / "ours.csv"), cpu))
                else:
                    tool.runs.append(_timed(cfm_command(pcap, out / "cfm"), cpu))
    return ours, cfm


def memory_only(command: list[str], cpu: int) -> Run:
    return _timed(command, cpu)


def as_dict(tool: ToolRuns, packets: int) -> dict[str, Any]:
    seconds = tool.median_seconds()
    cpu = tool.median_cpu_seconds()
    return {
        "tool": tool.tool,
        "command": tool.command,
        "runs": [asdict(run) for run in tool.runs],
        "median_seconds": seconds,
        "packets_per_second": packets / seconds,
        "median_cpu_seconds": cpu,
        "packets_per_cpu_second": packets / cpu,
        "peak_rss_bytes": tool.peak_rss_bytes(),
    }
