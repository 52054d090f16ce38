"""Per-request cost over HTTP: our server and the library variant's, both pinned to one core,
`wrk` on the other posting one single-row `/predict`, in alternating rounds."""

from __future__ import annotations

import os
import statistics
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from benchmarks.http_load import cpu_plan
from benchmarks.libraries.variants import VARIABLE
from benchmarks.payloads import JSON, single_json
from benchmarks.predictors import Rows
from benchmarks.processes import Running, ServiceSpec, free_port, rss_bytes, started
from benchmarks.wrk import Payload, lua_script, run_wrk, wrk_command


@dataclass(frozen=True)
class HttpComparison:
    variant: str
    rounds: int
    seconds: float
    ours_p50_us: tuple[float, ...]  # at one connection
    library_p50_us: tuple[float, ...]
    ours_rps: tuple[float, ...]  # at eight connections: the server's core saturated
    library_rps: tuple[float, ...]
    ours_cpu_us: tuple[float, ...]  # the server's CPU time (/proc) per request at eight
    library_cpu_us: tuple[float, ...]
    ours_rss_mb: float
    library_rss_mb: float
    errors: int

    def summary(self) -> dict[str, float]:
        cpu = sorted(1e6 / lib - 1e6 / ours for ours, lib in zip(self.ours_rps, self.library_rps,
                                                                 strict=True))  # fmt: skip
        p50 = sorted(lib - ours for ours, lib in zip(self.ours_p50_us, self.library_p50_us,
                                                      strict=True))  # fmt: skip
        proc = sorted(lib - ours for ours, lib in zip(self.ours_cpu_us, self.library_cpu_us,
                                                      strict=True))  # fmt: skip
        return {
            "proc_cpu_us_per_request_median": statistics.median(proc),
            "proc_cpu_us_per_request_min": proc[0],
            "proc_cpu_us_per_request_max": proc[-1],
            "ours_proc_cpu_us_median": statistics.median(self.ours_cpu_us),
            "library_proc_cpu_us_median": statistics.median(self.library_cpu_us),
            "ours_rps_median": statistics.median(self.ours_rps),
            "library_rps_median": statistics.median(self.library_rps),
            "cpu_us_per_request_median": statistics.median(cpu),
            "cpu_us_per_request_min": cpu[0],
            "cpu_us_per_request_max": cpu[-1],
            "ours_p50_us_median": statistics.median(self.ours_p50_us),
            "library_p50_us_median": statistics.median(self.library_p50_us),
            "p50_difference_us_median": statistics.median(p50),
            "p50_difference_us_min": p50[0],
            "p50_difference_us_max": p50[-1],
            "ours_rss_mb": self.ours_rss_mb,
            "library_rss_mb": self.library_rss_mb,
        }


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of the process so far, every thread's (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _spec(name: str, artifacts: Path, variant: str) -> ServiceSpec:
    port = free_port()
    argv = [sys.executable, "-m", "server", "--host", "127.0.0.1", "--port", str(port),
            "--artifacts", str(artifacts)]  # fmt: skip
    return ServiceSpec(name, argv, {VARIABLE: variant}, port, "/v2/health/ready")


def compare_http(
    variant: str, artifacts: Path, row: Rows, work: Path, rounds: int = 10, seconds: float = 3
) -> HttpComparison:
    """`rounds` rounds; in each, both servers get a wrk run at 1 and at 8 connections (which of
    the two goes first alternates)."""
    server_cpu, wrk_cpu = cpu_plan()
    work.mkdir(parents=True, exist_ok=True)
    body = work / "predict.json"
    body.write_bytes(single_json(row, "random_forest"))
    script = work / "predict.lua"
    script.write_text(lua_script([Payload(body, JSON)]))
    p50: dict[str, list[float]] = {"ours": [], "library": []}
    rps: dict[str, list[float]] = {"ours": [], "library": []}
    cpu: dict[str, list[float]] = {"ours": [], "library": []}
    errors = 0
    with ExitStack() as stack:
        servers: dict[str, Running] = {
            name: stack.enter_context(
                started(_spec(name, artifacts, chosen), work / f"{name}.log", cpu=server_cpu)
            )
            for name, chosen in (("ours", ""), ("library", variant))
        }
        for index in range(rounds + 1):  # round 0 warms both up and is not kept
            order = ["ours", "library"] if index % 2 else ["library", "ours"]
            for name in order:
                url = servers[name].base_url + "/predict"
                single = run_wrk(wrk_command(url, script, connections=1, duration_s=seconds,
                                             timeout_s=10, cpu=wrk_cpu))  # fmt: skip
                before = _cpu_seconds(servers[name].pid)
                loaded = run_wrk(wrk_command(url, script, connections=8, duration_s=seconds,
                                             timeout_s=10, cpu=wrk_cpu))  # fmt: skip
                errors += single.errors + loaded.errors
                used = _cpu_seconds(servers[name].pid) - before
                if index:
                    p50[name].append(single.latency_p50_s * 1e6)
                    rps[name].append(loaded.requests_per_s)
                    cpu[name].append(used / max(loaded.requests, 1) * 1e6)
        rss = {name: rss_bytes(running.pid) / 2**20 for name, running in servers.items()}
    return HttpComparison(
        variant, rounds, seconds, tuple(p50["ours"]), tuple(p50["library"]), tuple(rps["ours"]),
        tuple(rps["library"]), tuple(cpu["ours"]), tuple(cpu["library"]), rss["ours"],
        rss["library"], errors,
    )  # fmt: skip
