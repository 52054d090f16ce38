"""The worker supervisors side by side: `ids-inference serve --workers 2` with ours, uvicorn's
and gunicorn's, on the same repository. Start-up to ready, resident memory of the supervisor and
of the workers, what happens when a worker is killed and on SIGTERM, and whether any process
unpickled anything (an audit hook in every process notes `pickle.find_class`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.libraries.variants import VARIABLE
from benchmarks.processes import free_port, http, rss_bytes

AUDIT = """
import os, sys
def _audit(event, args):
    if event == "pickle.find_class":
        with open(os.path.join(os.environ["UNPICKLE_DIR"], str(os.getpid())), "a") as out:
            out.write(f"{args[0]}.{args[1]}\\n")
sys.addaudithook(_audit)
"""


@dataclass
class WorkersRun:
    variant: str
    ready_s: float = float("nan")
    supervisor_rss_mb: float = float("nan")
    workers_rss_mb: list[float] = field(default_factory=list)
    replaced_after_kill_s: float | None = None  # None: not replaced within 20 s
    ready_answers_during_replacement: str = ""
    sigterm_exit_status: int | None = None
    sigterm_exit_s: float = float("nan")
    unpickled: list[str] = field(default_factory=list)
    log_tail: str = ""


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _ready(url: str) -> bool:
    try:
        return http(url + "/v2/health/ready", timeout_s=1).status == 200
    except OSError:
        return False


def probe_workers(variant: str, artifacts: Path, work: Path) -> WorkersRun:
    run = WorkersRun(variant or "ours")
    folder = work / (variant or "ours")
    (folder / "unpickled").mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(AUDIT)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, VARIABLE: variant, "PYTHONPATH": str(folder),
           "UNPICKLE_DIR": str(folder / "unpickled")}  # fmt: skip
    log = folder / "server.log"
    with log.open("wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "--host", "127.0.0.1", "--port", str(port),
             "--artifacts", str(artifacts), "--workers", "2"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            while not _ready(url) and time.perf_counter() - start < 60:
                time.sleep(0.01)
            run.ready_s = time.perf_counter() - start
            time.sleep(3)  # both workers up and idle
            workers = [pid for pid in _children(process.pid) if _is_worker(pid)]
            run.supervisor_rss_mb = rss_bytes(process.pid) / 2**20
            run.workers_rss_mb = [rss_bytes(pid) / 2**20 for pid in workers]
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                killed = time.perf_counter()
                answers = [_ready(url) for _ in range(20)]
                run.ready_answers_during_replacement = f"{sum(answers)}/{len(answers)}"
                while time.perf_counter() - killed < 20:
                    now = [pid for pid in _children(process.pid) if _is_worker(pid)]
                    if len(now) == 2 and workers[0] not in now:
                        run.replaced_after_kill_s = time.perf_counter() - killed
                        break
                    time.sleep(0.05)
            time.sleep(3)
            process.send_signal(signal.SIGTERM)
            stopping = time.perf_counter()
            run.sigterm_exit_status = process.wait(timeout=60)
            run.sigterm_exit_s = time.perf_counter() - stopping
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    for path in sorted((folder / "unpickled").iterdir()):
        run.unpickled += sorted(set(path.read_text().split()))
    run.log_tail = "\n".join(log.read_text(errors="replace").splitlines()[-8:])
    return run


def _is_worker(pid: int) -> bool:
    """A server process (not a helper such as multiprocessing's resource tracker)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    return b"resource_tracker" not in command
