"""Sustained load with wrk while the server's resident memory is sampled from /proc."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.processes import rss_bytes
from benchmarks.wrk import Payload, WrkResult, lua_script, run_wrk, wrk_command


@dataclass(frozen=True)
class HeldLoad:
    """One load run: wrk's figures, its command line and the server's RSS, sampled through the
    measured run (after the warm-up)."""

    result: WrkResult
    command: list[str]
    rss: list[int]

    @property
    def rss_start(self) -> int:
        """The median of the first quarter of the run: the level the warm-up left."""
        return int(statistics.median(self.rss[: max(1, len(self.rss) // 4)]))

    @property
    def rss_end(self) -> int:
        """The median of the last quarter of the run."""
        return int(statistics.median(self.rss[-max(1, len(self.rss) // 4) :]))

    @property
    def rss_growth(self) -> float:
        """A leak shows as a level that keeps rising; medians of a quarter each ignore the
        swings of the batches in flight at the moment of one sample."""
        return (self.rss_end - self.rss_start) / self.rss_start


class MemorySampler:
    """VmRSS of `pid` every `interval_s`, in a background thread."""

    def __init__(self, pid: int, interval_s: float = 0.25) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.samples: list[int] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)

    def __enter__(self) -> MemorySampler:
        self.samples.append(rss_bytes(self.pid))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.samples.append(rss_bytes(self.pid))

    def _run(self) -> None:
        while not self._done.wait(self.interval_s):
            self.samples.append(rss_bytes(self.pid))


def hold(
    url: str,
    pid: int,
    payloads: Sequence[Payload],
    *,
    connections: int,
    duration_s: float,
    warmup_s: float,
    work_dir: Path,
    timeout_s: float = 10.0,
) -> HeldLoad:
    """Warm up, then load `url` for `duration_s` with `connections` connections (two wrk
    threads), sampling the server's RSS throughout the measured run."""
    script = work_dir / f"load-{time.monotonic_ns()}.lua"
    script.write_text(lua_script(payloads))

    def command(seconds: float) -> list[str]:
        return wrk_command(
            url,
            script,
            connections=connections,
            duration_s=seconds,
            timeout_s=timeout_s,
            threads=2,
        )

    run_wrk(command(warmup_s))
    measured = command(duration_s)
    with MemorySampler(pid) as memory:
        result = run_wrk(measured)
    return HeldLoad(result, measured, memory.samples)
