"""Where the flow meter's CPU time goes, stage by stage, on one capture file.

    python -m benchmarks.flows.stages big.pcap [--rounds 5] [--names cicids2017|cicflowmeter]

Stages, each timed in CPU seconds of this process (`time.process_time`), best of `--rounds`
interleaved rounds: reading the capture into packet batches (`flows.capture.read_packets`), the
meter on those batches (`flows.meter.FlowMeter`, features included), writing the CSV of those
flows to a file (`flows.csv_out.CsvWriter`), and starting the command (a fresh interpreter that
imports what `ids-inference flows` imports, timed by the kernel: user + system). The sum is
what one `ids-inference flows` run costs, give or take the gaps between the stages.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STARTUP = "import flows.cli"


def _startup() -> float:
    """CPU seconds of a fresh interpreter importing the command's module (children's rusage)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", STARTUP], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(pcap: Path, rounds: int, naming: str) -> dict[str, Any]:
    from flows.capture import read_packets
    from flows.csv_out import CsvWriter
    from flows.meter import FlowMeter
    from flows.packets import PacketBatch
    from flows.records import FlowBatch
    from flows.stream import FILE_EMIT_EVERY

    batches: list[PacketBatch] = []
    flows: list[FlowBatch] = []

    def read() -> None:
        batches.clear()
        batches.extend(read_packets(pcap))

    def meter() -> None:
        flows.clear()
        flow_meter = FlowMeter(emit_every=FILE_EMIT_EVERY)
        for batch in batches:
            flows.append(flow_meter.add(batch))
        flows.append(flow_meter.flush())

    def write() -> None:
        with tempfile.TemporaryFile("w", prefix="flows-stages-", suffix=".csv") as file:
            writer = CsvWriter(file, naming)
            for batch in flows:
                writer.write(batch)

    stages: dict[str, Callable[[], None]] = {"read": read, "meter": meter, "write": write}
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, stage in stages.items():
            began = time.process_time()
            stage()
            best[name] = min(best.get(name, float("inf")), time.process_time() - began)
        best["startup"] = min(best.get("startup", float("inf")), _startup())
    packets = sum(len(batch) for batch in batches)
    written = sum(len(batch) for batch in flows)
    return {
        "file": str(pcap),
        "packets": packets,
        "flows": written,
        "naming": naming,
        "rounds": rounds,
        "load_average": os.getloadavg()[0],
        "cpu_seconds": {name: round(seconds, 3) for name, seconds in best.items()},
        "total_cpu_seconds": round(sum(best.values()), 3),
        "us_per_row_written": round(best["write"] / max(written, 1) * 1e6, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pcap", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--names", default="cicids2017", choices=("cicids2017", "cicflowmeter"))
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.pcap, args.rounds, args.names), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
