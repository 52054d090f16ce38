"""`python -m benchmarks.flows`: ours against the reference on a large capture, then the report.

    python -m benchmarks.flows [--pcap BIG.pcap] [--rounds N] [--cpu N] [--requests N]
                               [--no-double] [--no-live]

Without `--pcap`, records `REQUESTS=40000 ../shared/tools/traffic bulk` once into
benchmarks/results/tmp/ (git-ignored; needs root) and reuses it. Then: both tools on it,
interleaved, `--rounds` times each, one core each; our peak memory on a file holding the same
traffic twice (and the reference's, once); the live capture (`benchmarks/flows/live.py`) unless
`--no-live`. Writes benchmarks/results/flows-DATE-MACHINE.md and .json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.flows import capture, files, live
from benchmarks.flows.report import render
from benchmarks.flows.settings import CACHE, PROJECT_ROOT, RESULTS
from benchmarks.machine import describe_machine, git_revision

COMMAND = "python -m benchmarks.flows"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("--pcap", type=Path, help="the capture to time (default: record one)")
    parser.add_argument("--requests", type=int, default=40000, help="ab requests when recording")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each tool (default 3)")
    parser.add_argument("--cpu", type=int, default=0, help="the core both tools run on")
    parser.add_argument("--no-double", action="store_true", help="skip the twice-as-large file")
    parser.add_argument("--no-live", action="store_true", help="skip the live capture part")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the report goes")
    return parser.parse_args(argv)


def _shown(path: Path) -> str:
    """A path as the report shows it: relative to the checkout when inside it."""
    path = path.resolve()
    return str(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    pcap = args.pcap or capture.record_bulk(CACHE / f"bulk-{args.requests}.pcap", args.requests)
    packets = capture.count_packets(pcap)
    print(f"{pcap}: {packets:,} packets; {args.rounds} rounds of each tool on core {args.cpu}")
    ours, cfm = files.compare(pcap, args.rounds, args.cpu)
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "revision": git_revision(),
        "machine": describe_machine().__dict__,
        "command": COMMAND,
        "capture": {"path": _shown(pcap), "packets": packets, "bytes": pcap.stat().st_size},
        "ours": files.as_dict(ours, packets),
        "cfm": files.as_dict(cfm, packets),
    }
    result["ratio"] = result["ours"]["packets_per_second"] / result["cfm"]["packets_per_second"]
    result["cpu_ratio"] = (
        result["ours"]["packets_per_cpu_second"] / result["cfm"]["packets_per_cpu_second"]
    )
    if not args.no_double:
        big = capture.doubled(pcap, CACHE / f"{pcap.stem}-twice.pcap")
        with tempfile.TemporaryDirectory(prefix="flows-bench-") as work:
            out = Path(work)
            twice = files.memory_only(files.ours_command(big, out / "ours.csv"), args.cpu)
            reference = files.memory_only(files.cfm_command(big, out / "cfm"), args.cpu)
        result["twice"] = {
            "path": _shown(big),
            "packets": 2 * packets,
            "ours_peak_rss_bytes": twice.peak_rss_bytes,
            "ours_seconds": twice.seconds,
            "cfm_peak_rss_bytes": reference.peak_rss_bytes,
            "cfm_seconds": reference.seconds,
        }
    if not args.no_live:
        result["live"] = live.measure(args)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"flows-{result['when'][:10]}-{describe_machine().slug}"
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = render(result)
    if "live" in result:
        lines += live.render(result["live"])
    (args.out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0
